r"""The compromise model: the capability × salience weighted mean of the positions.

On each dimension ``d`` independently, with capability :math:`c_i`, salience
:math:`s_{id}` and position :math:`x_{id}` of actor :math:`i`,

.. math::

    \hat x_d = \frac{\sum_i c_i\, s_{id}\, x_{id}}{\sum_i c_i\, s_{id}} .

It is closed form and its per-actor lever is exact: moving actor :math:`i`'s position
by :math:`\Delta` moves the forecast by :math:`c_i s_{id} / \sum_k c_k s_{kd} \cdot \Delta`
(reported as ``influence`` in the result's extras). The scale of the capabilities and
of the saliences cancels, so both may be given on any common scale (the
:class:`~stepdeal.forecast.actors.ActorTable` uses 0–100 for saliences).

It is the baseline every richer model must be reported against: Thomson, Stokman,
Achen & König (eds.), *The European Union Decides* (CUP 2006), found that the
compromise model predicts EU Council outcomes as well as or better than the
bargaining (exchange, challenge) and procedural models; on the open DEU III data
(Arregui & Perarnaud 2021, doi:10.34810/data53, 351 issues with an outcome) a public
backtest (``hamzagul07/schelling``, ``BACKTEST.md``) reports a mean absolute error of
22.99 on the 0–100 scale for the compromise model against 26.8–28.3 for BDM-style
challenge solvers and 28.37 for the median actor (project notes
``forecast-models.md`` §3.1).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from stepdeal.forecast.actors import ActorTable
from stepdeal.forecast.result import ForecastResult

F64 = NDArray[np.float64]


def weights(table: ActorTable) -> F64:
    """The ``(n, D)`` weights :math:`c_i s_{id}`; raise if a dimension has none."""
    c = np.asarray(table.capability, dtype=float)
    w: F64 = c[:, None] * np.asarray(table.salience, dtype=float)
    empty = [table.dimensions[d] for d in np.flatnonzero(w.sum(axis=0) <= 0.0)]
    if empty:
        raise ValueError(
            f"{table.source}: no actor has both capability and salience on "
            f"{', '.join(empty)}; give at least one actor a positive capability and salience"
        )
    return w


def weighted_mean(position: F64, w: F64) -> F64:
    r"""Column-wise :math:`\sum_i w_{id} x_{id} / \sum_i w_{id}` of ``(n, D)`` arrays."""
    out: F64 = np.asarray((w * position).sum(axis=0) / w.sum(axis=0), dtype=float)
    return out


def compromise(table: ActorTable) -> ForecastResult:
    r"""Forecast each dimension as the capability × salience weighted mean of positions.

    One round (the initial state); ``forecast[d]`` is the weighted mean on dimension
    ``d``. Extras: ``influence[actor][d]`` = :math:`c_i s_{id} / \sum_k c_k s_{kd}`,
    the exact shift of the forecast per unit shift of that actor's position.
    """
    table.validate()
    x = np.asarray(table.position, dtype=float)
    w = weights(table)
    share = w / w.sum(axis=0)
    return ForecastResult(
        model="compromise",
        dimensions=table.dimensions,
        actors=table.actors,
        rounds=[x.copy()],
        forecast=weighted_mean(x, w),
        extras={"influence": {a: [float(v) for v in share[i]] for i, a in enumerate(table.actors)}},
    )

r"""Experimental designs in the unit hypercube :math:`[0, 1]^d`.

* ``mc``: independent uniform draws;
* ``lhs``: a Latin hypercube (``scipy.stats.qmc.LatinHypercube``): each of the
  :math:`N` equal slices of every axis holds exactly one point;
* ``sobol``: Saltelli's scheme for Sobol indices (``SALib.sample.sobol``):
  :math:`N(2d + 2)` rows (with second-order indices) from a base of :math:`N`
  scrambled Sobol points; ``-n`` is the base :math:`N` and must be a power of 2.

Every design comes from one seed: ``numpy.random.SeedSequence(seed)`` makes the
generator (or the integer seed SALib needs), so the same seed gives the same rows
whatever the number of workers that later evaluate them. The variables' values are
the inverse CDFs at these points (:meth:`UncertaintySpace.values`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

DESIGNS = ("mc", "lhs", "sobol")


@dataclass(frozen=True)
class Design:
    kind: str
    n: int  # base size as given by the user
    rows: int  # rows of the design (n, or n(2d+2) for sobol)
    second_order: bool
    unit: NDArray[np.float64]  # (rows, d)


def make_design(kind: str, n: int, d: int, seed: int, second_order: bool = True) -> Design:
    """The design matrix for ``d`` variables; raises ``ValueError`` with a fix."""
    if kind not in DESIGNS:
        raise ValueError(f"unknown design {kind!r}. Fix: use one of {', '.join(DESIGNS)}")
    if n < 1:
        raise ValueError("the number of samples must be at least 1. Fix: give -n 1 or more")
    ss = np.random.SeedSequence(seed)
    if d == 0:
        return Design(kind, n, n, False, np.zeros((n, 0)))
    if kind == "mc":
        unit = np.random.default_rng(ss).random((n, d))
        return Design(kind, n, n, False, unit)
    if kind == "lhs":
        from scipy.stats import qmc

        unit = qmc.LatinHypercube(d=d, rng=np.random.default_rng(ss)).random(n)
        return Design(kind, n, n, False, np.asarray(unit, dtype=np.float64))
    if n & (n - 1):
        raise ValueError(
            f"a Sobol design needs a power of 2 as its base size (got {n}). "
            f"Fix: use -n {1 << (n.bit_length() - 1)} or {1 << n.bit_length()}"
        )
    from SALib.sample import sobol

    problem = {"num_vars": d, "names": [f"x{i}" for i in range(d)], "bounds": [[0.0, 1.0]] * d}
    salib_seed = int(ss.generate_state(1)[0] % (2**31 - 1))
    unit = sobol.sample(problem, n, calc_second_order=second_order, seed=salib_seed)
    return Design(kind, n, int(unit.shape[0]), second_order, np.asarray(unit, dtype=np.float64))

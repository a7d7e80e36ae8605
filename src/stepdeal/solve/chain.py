r"""Exact equilibrium of strict step-by-step roadmaps, vectorised over many designs.

A *design* is a strict order :math:`\sigma` of the concerns and, for every measure
:math:`m`, a relief *staircase* :math:`L_m(k) \in \{0, 1, 2\}` (none, curtailed,
frozen) reached once the first :math:`k` steps of the order are verified,
non-decreasing in :math:`k`. Every strict ``step_by_step`` policy is one (relief is
the strongest action of the verified concerns, and freeze and lift have the same
payoffs).

When the scenario has one step per period, no reversible concern and no strategic
voter, the state of the game at the start of a period is :math:`(k, p)`: the first
:math:`k` steps are verified and :math:`p \in \{0, 1\}` says whether step
:math:`k+1` is pending. The measures' status is a function :math:`S(k)` of
:math:`k` alone: votes by fixed rules depend only on the measure's status, the
proposal and :math:`k`, so a proposal that fails at :math:`k` fails every period
at :math:`k` (:func:`measure_path`). With :math:`a(k)` the target's payoff of a
period ending in :math:`(k, 0)`, :math:`\bar u_{k+1}` the upkeep of the pending
step, :math:`c_{k+1}` its cost and :math:`v_{k+1}` its verification probability,

.. math::

    P_t(k) = v_{k+1}\,[a(k+1) + \delta V_{t+1}(k+1, 0)]
             + (1 - v_{k+1})\,[a(k) - \bar u_{k+1} + \delta V_{t+1}(k, 1)]

    V_t(k, 1) = P_t(k),\qquad
    V_t(k, 0) = \max\bigl(a(k) + \delta V_{t+1}(k, 0),\; -c_{k+1} + P_t(k)\bigr)

with the tail values of the full solver at :math:`t = H` and its tie rule (wait
unless taking is better by more than :math:`10^{-9}\max(1, |Q|)`). The powers'
values and the expected number of steps verified by the horizon follow the chosen
actions backwards in the same loop. This is the full solver's recursion on the
reachable graph of these games, so the values are equal
(``tests/test_design.py`` checks it on random scenarios); the gain is that one numpy pass
solves thousands of designs at once, :math:`O(D\,H\,n)` work for :math:`D`
designs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from ..mechanisms.game import (
    ACTIVE,
    CURTAILED,
    F64,
    FROZEN,
    I64,
    KIND_RELIEVE,
    U8,
    VOTE_STRATEGIC,
    B,
    Game,
)
from ..mechanisms.rules import fixed_votes, passes
from .best_response import TIE_TOLERANCE

NONE, CURTAIL, FREEZE = 0, 1, 2
LEVEL_STATUS = np.array([ACTIVE, CURTAILED, FROZEN], dtype=np.uint8)


class NotAChain(ValueError):
    """The game is not a strict one-step-per-period roadmap with fixed votes."""


def chain_refusal(game: Game) -> str | None:
    """Why :func:`solve_chain` cannot solve designs of ``game``'s scenario, or ``None``."""
    if game.max_steps != 1:
        return "max_steps_per_period is above 1 (two steps could be pending at once)"
    if game.reversible.any():
        return "a concern is reversible (the target could undo a step)"
    if (game.vote_rule[:, KIND_RELIEVE] == VOTE_STRATEGIC).any():
        return "a member votes strategically on relief (votes then depend on the whole game)"
    if (game.veto_cost[:, :, KIND_RELIEVE] != 0.0).any():
        # a strict roadmap tables relief only (no tranches, and no snapback: concerns are
        # irreversible here), so a cost of voting no on escalation is never paid
        return "a member has a veto_cost on relief (the chain recursion does not count it)"
    if game.grit:
        return "the policy is grit (its relief follows a schedule, not a step order)"
    return None


@dataclass(frozen=True)
class Designs:
    """A batch of ``D`` designs: ``order`` (D, n) concern indices, ``levels`` (D, nm, n+1)."""

    order: I64
    levels: NDArray[np.int8]

    @property
    def size(self) -> int:
        return int(self.order.shape[0])


def pass_table(game: Game) -> B:
    """``table[m, k, b, a]``: a relief proposal from level ``b`` to level ``a`` on measure
    ``m`` passes when ``k`` steps are verified (fixed vote rules, :func:`fixed_votes`)."""
    n, nm = game.n_concerns, game.n_measures
    out = np.zeros((nm, n + 1, 3, 3), dtype=bool)
    ks = np.arange(n + 1, dtype=np.int64)
    for m in range(nm):
        for b in (NONE, CURTAIL):
            for a in (CURTAIL, FREEZE):
                if a <= b:
                    continue
                before = np.full(n + 1, LEVEL_STATUS[b], dtype=np.uint8)
                after = np.full(n + 1, LEVEL_STATUS[a], dtype=np.uint8)
                _, votes, strategic = fixed_votes(game, KIND_RELIEVE, m, before, after, ks)
                if strategic.any():
                    raise NotAChain("a member votes strategically")
                out[m, :, b, a] = passes(game, m, votes)
    return out


def measure_path(game: Game, designs: Designs, table: B | None = None) -> U8:
    """``(D, n+1, nm)`` measure status after ``k`` verified steps, for each design."""
    table = pass_table(game) if table is None else table
    D, n, nm = designs.size, game.n_concerns, game.n_measures
    S = np.empty((D, n + 1, nm), dtype=np.uint8)
    S[:, 0, :] = game.initial_measures[None, :]
    m_idx = np.arange(nm)[None, :]
    for k in range(1, n + 1):
        prev = S[:, k - 1, :]
        want = designs.levels[:, :, k].astype(np.int64)
        cur = np.where(prev == CURTAILED, CURTAIL, np.where(prev == ACTIVE, NONE, FREEZE + 1))
        tabled = (cur <= CURTAIL) & (want > cur)
        ok = table[m_idx, k, np.minimum(cur, CURTAIL), want]
        S[:, k, :] = np.where(tabled & ok, LEVEL_STATUS[want], prev)
    return S


@dataclass(frozen=True)
class ChainValues:
    """Solved designs: the target's value, the powers' values ``(D, n_powers)`` and the
    expected number of steps verified by the horizon, all from period 0."""

    value: F64
    power_value: F64
    expected_resolved: F64


def solve_chain(game: Game, designs: Designs, table: B | None = None) -> ChainValues:
    """Solve every design of the batch exactly (see the module docstring)."""
    why = chain_refusal(game)
    if why is not None:
        raise NotAChain(why)
    n = game.n_concerns
    S = measure_path(game, designs, table)
    f = np.where(S == ACTIVE, 1.0, np.where(S == CURTAILED, game.curtail[None, None, :], 0.0))
    o = designs.order
    upkeep, cost, verify = game.upkeep[o], game.cost[o], game.verify[o]  # (D, n)
    cum_upkeep = np.concatenate([np.zeros((o.shape[0], 1)), np.cumsum(upkeep, axis=1)], axis=1)
    a = -(f @ game.impact) - cum_upkeep  # (D, n+1)
    value = game.value.T[o]  # (D, n, npw)
    cum_value = np.concatenate(
        [np.zeros((o.shape[0], 1, game.n_powers)), np.cumsum(value, axis=1)], axis=1
    )
    b = cum_value - f @ game.burden.T  # (D, n+1, npw)
    d, dp = game.target_discount, game.power_discount[None, None, :]
    if game.tail_persist:
        V0 = a / (1.0 - d)
        V1 = (a[:, :n] - upkeep) / (1.0 - d)
        W0 = b / (1.0 - dp)
        W1 = b[:, :n] / (1.0 - dp)
    else:
        V0, V1 = np.zeros_like(a), np.zeros_like(upkeep)
        W0, W1 = np.zeros_like(b), np.zeros_like(b[:, :n])
    N0, N1 = np.zeros_like(a), np.zeros_like(upkeep)
    v, vp = verify, verify[:, :, None]
    for _ in range(game.horizon):
        P = v * (a[:, 1:] + d * V0[:, 1:]) + (1.0 - v) * (a[:, :n] - upkeep + d * V1)
        WP = vp * (b[:, 1:] + dp * W0[:, 1:]) + (1.0 - vp) * (b[:, :n] + dp * W1)
        NP = v * (1.0 + N0[:, 1:]) + (1.0 - v) * N1
        wait = a + d * V0
        take = P - cost
        go = wait[:, :n] < take - TIE_TOLERANCE * np.maximum(1.0, np.abs(take))
        V0n = wait.copy()
        V0n[:, :n] = np.where(go, take, wait[:, :n])
        W0n = b + dp * W0
        W0n[:, :n] = np.where(go[:, :, None], WP, W0n[:, :n])
        N0n = N0.copy()
        N0n[:, :n] = np.where(go, NP, N0[:, :n])
        V0, V1, W0, W1, N0, N1 = V0n, P, W0n, WP, N0n, NP
    return ChainValues(value=V0[:, 0], power_value=W0[:, 0, :], expected_resolved=N0[:, 0])


def designs_of_game(game: Game) -> Designs:
    """The design of ``game``'s own (strict step-by-step) policy, as a batch of one."""
    n, nm = game.n_concerns, game.n_measures
    levels = np.zeros((1, nm, n + 1), dtype=np.int8)
    rank = np.minimum(game.relief_rank, 2)  # lift pays as freeze
    for k in range(1, n + 1):
        levels[0, :, k] = np.maximum(levels[0, :, k - 1], rank[game.order[k - 1]])
    return Designs(order=game.order[None, :].copy(), levels=levels)

"""Self-enforcement table: is every step and vote on the equilibrium path a best reply?

For a run of the optimal target (a :class:`~stepdeal.sim.timeline.Timeline` and its
:class:`~stepdeal.solve.best_response.BestResponse`):

* **steps** — for each step ``c`` taken in period ``t`` from state ``s``:
  ``gain_vs_wait`` = Q_t(s, take) − Q_t(s, take the same set without c) (waiting one
  more period, then playing optimally), and ``gain_vs_never`` = Q_t(s, take) − the
  target's best value from ``(t, s)`` when it may never take ``c``. Both are in the
  scenario's unit, discounted to period ``t``; ≥ 0 means the step is self-enforcing.
* **votes** — for each vote on the path: the member's continuation value (its payoff
  this period plus its discounted value from the next) with its vote minus with the
  opposite vote, the other votes fixed; 0 when the vote is not pivotal. Both sides
  include the member's ``veto_cost`` for each no vote of the period, so a non-pivotal
  vote's gain is the veto cost it saves or pays. A negative gain marks a vote the
  member would rather not cast (its rule binds it).
* **reversals** — for a reversible concern: each reversal on the path, with
  ``gain`` = Q_t(s, reverse c) − the best Q_t(s, a) over actions that keep ``c``
  (≥ 0: reversing is the target's best reply); and for each reversible concern that
  is verified on the path and never reversed, the smallest margin of keeping it,
  min over the periods it stands of [best Q keeping c − Q(reverse c)], with the
  period where it is smallest (> 0: keeping the step is self-enforcing all along).
* **hold-up** — the first period after the last step in which a step is allowed but
  the target takes none; the concern it stops at (the next in a strict order, else
  the one it values most) and ``extra_relief``: the smallest extra relief per period,
  paid to the target while that concern is verified, that makes it take the step
  there (found by regula falsi to a relative precision of 1e-4 and rounded *up* to
  4 significant digits, so the reported relief suffices; at the exact threshold the
  target is indifferent and the tie rule makes it wait; ``None`` if even a
  relief of 1e9 per period does not).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np

from ..mechanisms.game import F64, U8, VERIFIED, Game
from ..mechanisms.rules import power_payoffs, resolve, vote_costs
from ..sim.timeline import Timeline
from .best_response import BestResponse, power_tail_values, solve_best_response
from .explain import explain_stall, state_at_start

RELIEF_CAP = 1e9
RELIEF_PRECISION = 1e-4  # relative; extra_relief is reported to 4 significant digits


@dataclass(frozen=True)
class StepCheck:
    concern: str
    period: int
    gain_vs_wait: float
    gain_vs_never: float


@dataclass(frozen=True)
class VoteCheck:
    period: int
    institution: str
    member: str
    proposal: str
    vote: str
    gain_vs_opposite: float | None  # None: the counterfactual leaves the solved graph


@dataclass(frozen=True)
class ReversalCheck:
    concern: str
    period: int
    action: str  # "reverse" (a reversal on the path) or "keep" (the tightest period)
    gain: float  # Q(action) - best Q of the alternative, discounted to ``period``


@dataclass(frozen=True)
class Holdup:
    concern: str
    period: int
    extra_relief: float | None


@dataclass
class CheckResult:
    """The self-enforcement table of one run."""

    scenario: str
    policy: str
    seed: int | None
    unit: str
    period: str
    steps: list[StepCheck] = field(default_factory=list)
    votes: list[VoteCheck] = field(default_factory=list)
    holdup: Holdup | None = None
    reversals: list[ReversalCheck] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The ``check --json`` contract (keys ``steps``, ``votes``, ``holdup``) plus context."""
        return {
            "scenario": self.scenario,
            "policy": self.policy,
            "seed": self.seed,
            "unit": self.unit,
            "period": self.period,
            "steps": [asdict(s) for s in self.steps],
            "votes": [asdict(v) for v in self.votes],
            "holdup": None if self.holdup is None else asdict(self.holdup),
            "reversals": [asdict(r) for r in self.reversals],
        }

    def frames(self) -> dict[str, Any]:
        """``{"steps": DataFrame, "votes": DataFrame}`` (needs pandas)."""
        import pandas as pd

        return {
            "steps": pd.DataFrame(
                [asdict(s) for s in self.steps],
                columns=[f.name for f in StepCheck.__dataclass_fields__.values()],
            ),
            "votes": pd.DataFrame(
                [asdict(v) for v in self.votes],
                columns=[f.name for f in VoteCheck.__dataclass_fields__.values()],
            ),
        }


def _ceil_sig(x: float, digits: int) -> float:
    """``x`` rounded up to ``digits`` significant digits (so it still suffices)."""
    if x <= 0:
        return 0.0
    q = 10.0 ** (math.floor(math.log10(x)) - digits + 1)
    return float(f"{math.ceil(x / q - 1e-9) * q:.{digits}g}")


def _r(x: float) -> float:
    return round(float(x), 9)


def _continuation(sol: BestResponse, t: int, C: U8, M_end: U8) -> F64:
    """Powers' continuation values at the end of period ``t`` in state ``(C, M_end)``."""
    game = sol.game
    now = power_payoffs(game, C[None, :], M_end[None, :])[0]
    if t + 1 >= game.horizon:
        nxt = power_tail_values(game, C[None, :], M_end[None, :])[0]
    else:
        try:
            v = sol.values(t + 1, C, M_end)
            nxt = np.array([v[p] for p in game.power_ids])
        except KeyError:  # off the reachable graph: solve the sub-game
            sub = solve_best_response(game, start=(t + 1, C, M_end))
            nxt = np.array([sub.power_value[p] for p in game.power_ids])
    out: F64 = now + game.power_discount * nxt
    return out


def _step_checks(sol: BestResponse, tl: Timeline) -> list[StepCheck]:
    game = sol.game
    out = []
    by_t: dict[int, list[int]] = {}
    for e in tl.events:
        if e.kind == "step":
            by_t.setdefault(e.t, []).append(game.concern_ids.index(e.data["concern"]))
    for t, taken in sorted(by_t.items()):
        C, M = state_at_start(game, tl, t)
        q = sol.q_values(t, C, M)
        act = tuple(sorted(taken))
        for c in act:
            rest = tuple(i for i in act if i != c)
            wait = q.get(rest, q[()])
            never = solve_best_response(game, start=(t, C, M), forbid=c).value
            out.append(StepCheck(game.concern_ids[c], t, _r(q[act] - wait), _r(q[act] - never)))
    return out


def _vote_checks(sol: BestResponse, tl: Timeline) -> list[VoteCheck]:
    game = sol.game
    out = []
    by_t: dict[int, list[dict[str, Any]]] = {}
    for e in tl.events:
        if e.kind in ("proposal", "vote"):
            by_t.setdefault(e.t, []).append({"kind": e.kind, **e.data})
    for t, evs in sorted(by_t.items()):
        _, M_start = state_at_start(game, tl, t)
        rec = tl.periods[t]
        C = np.array(
            [("open", "pending", "verified").index(rec.concerns[c]) for c in game.concern_ids],
            dtype=np.uint8,
        )
        oracle = sol.vote_oracle if game.has_strategic else None
        M_end, recs = resolve(game, t, C[None, :], M_start[None, :], record=True, oracle=oracle)
        actual = _continuation(sol, t, C, M_end[0])
        paid = vote_costs(game, recs, 1)[0]  # veto costs of the period's no votes
        k = -1
        for ev in evs:
            if ev["kind"] == "proposal":
                k += 1
                continue
            p = game.power_ids.index(ev["member"])
            try:
                M_alt, recs_alt = resolve(
                    game, t, C[None, :], M_start[None, :], record=True, flip=(k, p), oracle=oracle
                )
            except KeyError:  # the flip leaves the solved graph before a strategic vote
                out.append(
                    VoteCheck(t, ev["institution"], ev["member"], ev["proposal"], ev["vote"], None)
                )
                continue
            # the flipped vote also changes the veto costs the member pays this period
            extra = float(vote_costs(game, recs_alt, 1)[0, p] - paid[p])
            if (M_alt == M_end).all():
                gain = extra
            else:
                gain = float(actual[p] - _continuation(sol, t, C, M_alt[0])[p]) + extra
            out.append(
                VoteCheck(t, ev["institution"], ev["member"], ev["proposal"], ev["vote"], _r(gain))
            )
    return out


def _reversal_checks(sol: BestResponse, tl: Timeline) -> list[ReversalCheck]:
    game = sol.game
    n = game.n_concerns
    if not game.reversible.any():
        return []
    out: list[ReversalCheck] = []
    ever_reversed: set[int] = set()
    tightest: dict[int, tuple[float, int]] = {}
    for t in range(min(game.horizon, len(tl.periods))):
        C, M = state_at_start(game, tl, t)
        q = sol.q_values(t, C, M)
        chosen = sol.action(t, C, M)
        for ci in np.flatnonzero(game.reversible & (C == VERIFIED)):
            c = int(ci)
            rev = (n + c,)
            if rev not in q:
                continue
            keep = max(v for a, v in q.items() if n + c not in a)
            if rev == tuple(chosen):
                ever_reversed.add(c)
                out.append(ReversalCheck(game.concern_ids[c], t, "reverse", _r(q[rev] - keep)))
            else:
                margin = keep - q[rev]
                if c not in tightest or margin < tightest[c][0]:
                    tightest[c] = (margin, t)
    for c, (margin, t) in sorted(tightest.items()):
        if c not in ever_reversed:
            out.append(ReversalCheck(game.concern_ids[c], t, "keep", _r(margin)))
    return out


def _gap(game: Game, t: int, C: U8, M: U8, c: int, relief: float) -> float:
    """Q(take c) − best Q without c at ``(t, C, M)`` when ``relief`` is added for ``c``.

    Non-negative exactly when the target takes ``c`` there (up to the tie tolerance).
    """
    bonus = game.bonus.copy()
    bonus[c] += relief
    sol = solve_best_response(replace(game, bonus=bonus), start=(t, C, M))
    q = sol.q_values(t, C, M)
    gap = max(v for a, v in q.items() if c in a) - max(v for a, v in q.items() if c not in a)
    # inside the tie tolerance the solver's choice decides the sign
    return max(gap, 0.0) if c in sol.action(t, C, M) else min(gap, -1e-300)


def _holdup(sol: BestResponse, tl: Timeline) -> Holdup | None:
    game = sol.game
    why = explain_stall(sol, tl)
    if not why.get("stalled") or why.get("period") is None or not why["options"]:
        return None
    t = int(why["period"])
    best = max(why["options"], key=lambda o: o["gain_vs_wait"])
    if getattr(game.policy, "strict", False):
        best = why["options"][0]
    concern = best["concerns"][0]
    c = game.concern_ids.index(concern)
    C, M = state_at_start(game, tl, t)
    # bracket: gap(lo) < 0 <= gap(hi)
    lo, g_lo = 0.0, _gap(game, t, C, M, c, 0.0)
    hi = max(1e-6, -float(best["gain_vs_wait"]) * (1.0 - game.target_discount))
    g_hi = _gap(game, t, C, M, c, hi)
    while g_hi < 0:
        lo, g_lo, hi = hi, g_hi, hi * 2.0
        if hi > RELIEF_CAP:
            return Holdup(concern, t, None)
        g_hi = _gap(game, t, C, M, c, hi)
    # Illinois regula falsi: the gap is piecewise linear in the relief
    side = 0
    while hi - lo > RELIEF_PRECISION * max(1e-3, hi):
        x = hi - g_hi * (hi - lo) / (g_hi - g_lo) if g_hi != g_lo else 0.5 * (lo + hi)
        x = min(max(x, lo + 0.01 * (hi - lo)), hi - 0.01 * (hi - lo))
        g = _gap(game, t, C, M, c, x)
        if g >= 0:
            hi, g_hi = x, g
            if side == 1:
                g_lo *= 0.5
            side = 1
        else:
            lo, g_lo = x, g
            if side == -1:
                g_hi *= 0.5
            side = -1
    return Holdup(concern, t, _ceil_sig(hi, 4))


def check(solution: BestResponse, timeline: Timeline) -> CheckResult:
    """The self-enforcement table of ``timeline`` (a run of the optimal target)."""
    game = solution.game
    s = game.scenario
    return CheckResult(
        scenario=s.name,
        policy=game.policy.id,
        seed=timeline.seed,
        unit=s.unit,
        period=s.period,
        steps=_step_checks(solution, timeline),
        votes=_vote_checks(solution, timeline),
        holdup=_holdup(solution, timeline),
        reversals=_reversal_checks(solution, timeline),
    )

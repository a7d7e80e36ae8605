"""Self-enforcement with target types: the check of one type's equilibrium path, with
the powers' belief before and after every step.

For a game whose rules never read the belief (belief-free), the true type's problem is
a complete-information problem, so the whole table of :func:`stepdeal.solve.check.check`
applies to it unchanged (steps, votes, reversals, hold-up with the relief that would
unlock it); the belief columns are added. For a belief-dependent game the steps are
checked against the equilibrium belief map: ``gain_vs_wait`` is the true type's value of
its action minus the value of the same action without the step, each followed by the
belief the equilibrium assigns to it (Bayes' rule on path, the refinement off path).
Votes, reversals and the relief search need the complete-information solver and are
left out there (stated in ``notes``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..mechanisms.game import Game
from ..sim.timeline import Timeline
from .check import CheckResult, StepCheck, check
from .explain import state_at_start
from .pbe import AnyTypedSolution, BeliefFreeSolution, TypedSolution, belief_of, support, types_in


@dataclass(frozen=True)
class BeliefStep:
    """One step on the true type's path and what the powers learn from it."""

    concern: str
    period: int
    kind: str  # pooling | separating | partial | known (the node's profile)
    belief_before: dict[str, float]
    belief_after: dict[str, float]
    others: dict[str, str]  # what each other type the powers still suspect does here


@dataclass
class TypedCheck:
    """A :class:`~stepdeal.solve.check.CheckResult` for one type, with beliefs."""

    base: CheckResult
    true_type: str
    beliefs: list[BeliefStep] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The ``check --json`` contract plus ``true_type``, ``beliefs`` and ``notes``."""
        out = self.base.to_dict()
        out["true_type"] = self.true_type
        out["beliefs"] = [
            {
                "concern": b.concern,
                "period": b.period,
                "kind": b.kind,
                "belief_before": {k: round(v, 9) for k, v in b.belief_before.items()},
                "belief_after": {k: round(v, 9) for k, v in b.belief_after.items()},
                "others": b.others,
            }
            for b in self.beliefs
        ]
        out["notes"] = list(self.notes)
        return out


def _action_index(game: Game, tl: Timeline, t: int) -> int:
    n = game.n_concerns
    act: list[int] = []
    for e in tl.events:
        if e.t != t:
            continue
        if e.kind == "step":
            act.append(game.concern_ids.index(e.data["concern"]))
        elif e.kind == "reversed":
            act.append(n + game.concern_ids.index(e.data["concern"]))
    return game.actions.index(tuple(sorted(act)))


def _r(x: float) -> float:
    return round(float(x), 9)


def check_typed(solution: AnyTypedSolution, timeline: Timeline, true_type: str) -> TypedCheck:
    """The self-enforcement table of ``timeline``, a run of type ``true_type``'s
    equilibrium strategy (see the module docstring)."""
    game = solution.game
    k = game.type_ids.index(true_type)
    s = game.scenario
    notes: list[str] = []
    if isinstance(solution, BeliefFreeSolution):
        base = check(solution.per_type[k], timeline)
    else:
        base = CheckResult(s.name, game.policy.id, timeline.seed, s.unit, s.period)
        notes.append(
            "belief-dependent game: votes, reversals and the relief search are not checked "
            "(they need the complete-information solver); steps are checked against the "
            "equilibrium belief map, gain_vs_never holds the other types' strategies and "
            "that map fixed"
        )
    out = TypedCheck(base, true_type, notes=notes)
    b = support(game)
    for t in range(min(game.horizon, len(timeline.periods))):
        C, M = state_at_start(game, timeline, t)
        a = _action_index(game, timeline, t)
        after = solution.posterior(t, C, M, b, a)
        act = game.actions[a]
        kind = solution.node_kind(t, C, M, b)
        others = {
            game.type_ids[j]: game.action_label(solution.choose(t, C, M, b, j))
            for j in types_in(b, game.n_types)
            if j != k
        }
        if isinstance(solution, TypedSolution):
            q = solution.q_values(t, C, M, b, k)
        for c in act:
            if c >= game.n_concerns:
                continue
            out.beliefs.append(
                BeliefStep(
                    game.concern_ids[c],
                    t,
                    kind,
                    _named(game, belief_of(game, b)),
                    _named(game, belief_of(game, after)),
                    others,
                )
            )
            if isinstance(solution, TypedSolution):
                rest = tuple(i for i in act if i != c)
                never = solution.never_value(t, C, M, b, k, c)
                base.steps.append(
                    StepCheck(
                        game.concern_ids[c], t, _r(q[act] - q.get(rest, q[()])), _r(q[act] - never)
                    )
                )
        b = after
    return out


def _named(game: Game, mu: np.ndarray) -> dict[str, float]:
    return {tid: float(mu[j]) for j, tid in enumerate(game.type_ids)}


__all__ = ["BeliefStep", "TypedCheck", "check_typed"]

"""The Python API in a few functions: load, run, compare.

>>> from stepdeal.api import compare
>>> results = compare("holdup-demo", rng=0)
>>> sorted(results)  # doctest: +SKIP
['dual-track', 'step-by-step']
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .mechanisms.game import Game, compile_game
from .scenario import Scenario, load_scenario, scenario_hash
from .sim import Timeline, by_name, simulate
from .solve import BestResponse, Optimal, solve_best_response
from .solve.explain import explain_stall
from .solve.pbe import AnyTypedSolution, BeliefFreeSolution, TypedOptimal, separation, solve_typed


@dataclass
class Run:
    """One policy's result: the game, the solved best response and a simulated timeline."""

    game: Game
    solution: BestResponse | None
    timeline: Timeline
    #: the perfect Bayesian equilibrium, when the scenario declares target types
    typed: AnyTypedSolution | None = None

    def to_dict(self) -> dict[str, Any]:
        """The ``run --json`` contract (see :meth:`Timeline.to_dict`)."""
        return self.timeline.to_dict()


def as_scenario(scenario: Scenario | str | Path) -> Scenario:
    return scenario if isinstance(scenario, Scenario) else load_scenario(scenario)


def run(
    scenario: Scenario | str | Path,
    policy: str | None = None,
    strategy: str | None = None,
    rng: int | np.random.Generator | None = 0,
    true_type: str | None = None,
) -> Run:
    """Run ``scenario`` under ``policy`` (default: its first) with the target's ``strategy``.

    ``strategy`` defaults to the scenario's ``strategies.target``. ``rng`` seeds the
    verification draws (an int seed, a Generator, or ``None`` for fresh entropy).
    With ``types`` in the scenario the target is of type ``true_type`` (default: the
    first listed) and the optimal target plays the perfect Bayesian equilibrium.
    """
    s = as_scenario(scenario)
    game = compile_game(s, policy)
    name = strategy or s.strategies.target
    if game.n_types:
        return _run_typed(s, game, name, rng, true_type)
    solution: BestResponse | None = None
    if name == "optimal" or game.has_strategic:
        # strategic voters play their equilibrium strategies whatever the target does
        solution = solve_best_response(game)
    strat: Any = Optimal(game, solution) if name == "optimal" else by_name(name)
    oracle = solution.vote_oracle if (solution is not None and game.has_strategic) else None
    tl = simulate(game, strat, rng, oracle)
    tl.extras["scenario_hash"] = scenario_hash(s)
    if solution is not None and name == "optimal":
        tl.extras["expected_target_utility"] = round(solution.value, 12)
        tl.extras["solver"] = solution.stats()
        tl.extras["why"] = explain_stall(solution, tl)
    return Run(game, solution, tl)


def _run_typed(
    s: Scenario,
    game: Game,
    name: str,
    rng: int | np.random.Generator | None,
    true_type: str | None,
) -> Run:
    tid = true_type or game.type_ids[0]
    if tid not in game.type_ids:
        raise ValueError(
            f"scenario {s.name!r} has no type {tid!r}; it has: {', '.join(game.type_ids)}"
        )
    k = game.type_ids.index(tid)
    played = game.for_type(k)
    typed: AnyTypedSolution | None = None
    solution: BestResponse | None = None
    if name == "optimal":
        typed = solve_typed(game)
        play = TypedOptimal(typed, k)
        tl = simulate(played, play, rng, None, beliefs=play)
        if isinstance(typed, BeliefFreeSolution):
            solution = typed.per_type[k]
            tl.extras["why"] = explain_stall(solution, tl)
        tl.extras["expected_target_utility"] = round(typed.value[tid], 12)
        sep = separation(typed)
        stats = typed.stats()
        if stats["status"] == "approximate" and sep["exact_on_path"]:
            stats["status"] = "exact on the path"  # flagged nodes are all off the path
        tl.extras["solver"] = stats
        tl.extras["types"] = {
            "true_type": tid,
            "expected_utility_by_type": {t: round(v, 12) for t, v in typed.value.items()},
            "separation": sep,
        }
    else:  # a fixed strategy: the powers' belief stays at the prior
        tl = simulate(played, by_name(name), rng, None)
        tl.extras["types"] = {"true_type": tid}
    tl.extras["scenario_hash"] = scenario_hash(s)
    return Run(game, solution, tl, typed)


def check_run(result: Run, true_type: str | None = None) -> Any:
    """The self-enforcement table of a run of the optimal target: a
    :class:`~stepdeal.solve.check.CheckResult`, or with target types a
    :class:`~stepdeal.solve.check_typed.TypedCheck` (with the beliefs per step)."""
    from .solve.check import check

    if result.typed is not None:
        from .solve.check_typed import check_typed

        tid = true_type or result.typed.game.type_ids[0]
        return check_typed(result.typed, result.timeline, tid)
    if result.solution is None:
        raise ValueError("check needs a run of the optimal target")
    return check(result.solution, result.timeline)


def compare(
    scenario: Scenario | str | Path,
    strategy: str | None = None,
    rng: int | None = 0,
    true_type: str | None = None,
) -> dict[str, Run]:
    """Run every policy of ``scenario`` with the same seed; keyed by policy id."""
    s = as_scenario(scenario)
    return {p.id: run(s, p.id, strategy, rng, true_type) for p in s.policies}


__all__ = ["Run", "as_scenario", "check_run", "compare", "run"]

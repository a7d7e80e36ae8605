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


@dataclass
class Run:
    """One policy's result: the game, the solved best response and a simulated timeline."""

    game: Game
    solution: BestResponse | None
    timeline: Timeline

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
) -> Run:
    """Run ``scenario`` under ``policy`` (default: its first) with the target's ``strategy``.

    ``strategy`` defaults to the scenario's ``strategies.target``. ``rng`` seeds the
    verification draws (an int seed, a Generator, or ``None`` for fresh entropy).
    """
    s = as_scenario(scenario)
    game = compile_game(s, policy)
    name = strategy or s.strategies.target
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


def compare(
    scenario: Scenario | str | Path,
    strategy: str | None = None,
    rng: int | None = 0,
) -> dict[str, Run]:
    """Run every policy of ``scenario`` with the same seed; keyed by policy id."""
    s = as_scenario(scenario)
    return {p.id: run(s, p.id, strategy, rng) for p in s.policies}


__all__ = ["Run", "as_scenario", "compare", "run"]

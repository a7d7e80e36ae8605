"""The fast solver against brute force, on random small scenarios.

The reference (tests/reference.py) re-implements the rules from the spec in
scalar Python and enumerates every action sequence (the full expectimax tree).
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import HealthCheck, given, settings

from stepdeal.mechanisms import compile_game
from stepdeal.scenario import Scenario
from stepdeal.sim import simulate
from stepdeal.solve import Optimal, solve_best_response
from stepdeal.solve.explain import state_at_start

from . import reference
from .strategies import scenarios


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_backward_induction_equals_brute_force(s: Scenario) -> None:
    game = compile_game(s, "pol")
    fast = solve_best_response(game)
    ref_value, ref_q = reference.best_response(s, "pol")
    assert _close(fast.value, ref_value), (fast.value, ref_value)
    # every first-period action is valued the same
    C0, M0 = game.initial_state()
    fast_q = {
        tuple(game.concern_label(i) for i in a): v for a, v in fast.q_values(0, C0, M0).items()
    }
    assert fast_q.keys() == ref_q.keys()
    for a, v in ref_q.items():
        assert _close(fast_q[a], v), (a, fast_q[a], v)
    # and the same action is chosen (same tie-breaking)
    best = max(ref_q.values())
    ref_choice = next(a for a, v in ref_q.items() if v >= best - 1e-9 * max(1.0, abs(best)))
    assert tuple(game.concern_label(i) for i in fast.action(0, C0, M0)) == ref_choice


@settings(max_examples=100, deadline=None)
@given(scenarios())
def test_simulated_optimal_utility_averages_to_solver_value(s: Scenario) -> None:
    """With deterministic verification the simulated utility equals the solved value."""
    game = compile_game(s, "pol")
    sol = solve_best_response(game)
    if np.all((game.verify == 0) | (game.verify == 1)):
        tl = simulate(game, Optimal(game, sol), rng=1)
        assert _close(tl.utilities["tgt"], sol.value)
        for p, v in sol.power_value.items():
            assert _close(tl.utilities[p], v), (p, tl.utilities[p], v)


@settings(max_examples=100, deadline=None)
@given(scenarios())
def test_subgame_values_equal_full_solve(s: Scenario) -> None:
    """Solving from a state on the path gives the same values as the full solve there."""
    game = compile_game(s, "pol")
    sol = solve_best_response(game)
    tl = simulate(game, Optimal(game, sol), rng=2)
    t = s.horizon // 2
    C, M = state_at_start(game, tl, t)
    sub = solve_best_response(game, start=(t, C, M))
    full = sol.values(t, C, M)
    assert _close(sub.value, full["tgt"])
    for p, v in sub.power_value.items():
        assert _close(v, full[p])
    assert sub.action(t, C, M) == sol.action(t, C, M)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios(max_concerns=3, max_measures=3, max_horizon=4, strategic=True))
def test_strategic_voter_equilibrium_equals_brute_force(s: Scenario) -> None:
    """Subgame-perfect equilibrium with strategic voters vs full tree search."""
    game = compile_game(s, "pol")
    fast = solve_best_response(game)
    ref = reference.all_values(s, "pol")
    assert _close(fast.value, ref["tgt"]), (fast.value, ref["tgt"])
    for p, v in fast.power_value.items():
        assert _close(v, ref[p]), (p, v, ref[p])
    # a simulated run with the equilibrium votes reproduces the values when deterministic
    if np.all((game.verify == 0) | (game.verify == 1)):
        tl = simulate(game, Optimal(game, fast), rng=0, oracle=fast.vote_oracle)
        assert _close(tl.utilities["tgt"], fast.value)
        for p, v in fast.power_value.items():
            assert _close(tl.utilities[p], v)

"""The batched solver against the single-sample solver and the forward pass, on random
small scenarios with random parameter draws."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stepdeal.mechanisms import compile_game
from stepdeal.scenario import Scenario
from stepdeal.solve import solve_best_response
from stepdeal.solve.batch import BatchParams, NotBatchable, solve_batch, structure_keys
from stepdeal.solve.outcomes import path_outcomes

from .strategies import scenario_dicts


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


def _perturbed(game: Any, seed: int, n: int) -> BatchParams:
    """``n`` random parameter sets around the game's own (signs and verify classes may
    change, so several graph structures occur)."""
    rng = np.random.default_rng(seed)
    P = BatchParams.of_game(game, n)

    def jitter(x: np.ndarray) -> np.ndarray:
        return np.asarray(x * rng.choice([0.0, 0.5, 1.0, 2.0, -1.0], size=x.shape), float)

    verify = np.where(
        rng.random(P.verify.shape) < 0.3, rng.choice([0.0, 0.3, 1.0], P.verify.shape), P.verify
    )
    return BatchParams(
        cost=jitter(P.cost),
        upkeep=np.abs(jitter(P.upkeep)),
        verify=verify,
        reversal_cost=np.abs(jitter(P.reversal_cost)),
        value=jitter(P.value),
        impact=jitter(P.impact),
        burden=jitter(P.burden),
        curtail=rng.choice([0.0, 0.25, 0.5, 1.0], P.curtail.shape),
        target_discount=rng.choice([0.5, 0.9, 0.95], n),
        power_discount=rng.choice([0.5, 0.9], P.power_discount.shape),
    )


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    scenario_dicts(max_horizon=4),
    st.integers(0, 2**32 - 1),
    st.lists(st.sampled_from([0.0, 0.0, 0.25, 1.0, 3.0]), min_size=6, max_size=6),
)
def test_batch_equals_one_by_one(d: dict[str, Any], seed: int, costs: list[float]) -> None:
    # random costs of voting no (per member, per kind) on the first institution
    inst = d["institutions"][0]
    inst["veto_cost"] = {
        who: {"escalate": costs[2 * i], "relieve": costs[2 * i + 1]}
        for i, who in enumerate(inst["members"])
    }
    s = Scenario.model_validate(d)
    game = compile_game(s, "pol")
    P = _perturbed(game, seed, 4)
    try:
        res = solve_batch(game, P)
    except NotBatchable:
        raise AssertionError("non-strategic scenarios must batch") from None
    for k in range(P.size):
        sol = solve_best_response(P.game(game, k))
        ref = path_outcomes(sol)
        assert _close(res.target_utility[k], sol.value)
        for j, p in enumerate(game.power_ids):
            assert _close(res.power_utility[k, j], sol.power_value[p])
        assert np.allclose(res.p_verified[k], ref.p_verified, rtol=1e-9, atol=1e-9)
        assert np.allclose(res.periods_to[k], ref.periods_to, rtol=1e-9, atol=1e-9)
        assert _close(res.expected_pressure[k], ref.expected_pressure)
        assert _close(res.expected_vetoes[k], ref.expected_vetoes)


def test_a_sample_does_not_depend_on_its_batch() -> None:
    """Bit-for-bit: the same sample solved alone or among others gives the same numbers."""
    from stepdeal.scenario import load_scenario

    game = compile_game(load_scenario("iran-2011"), "hybrid")
    P = _perturbed(game, 7, 12)
    P = BatchParams(**{**P.__dict__, "verify": np.clip(np.abs(P.verify), 0.1, 0.9)})
    together = solve_batch(game, P)
    for k in (0, 5, 11):
        alone = solve_batch(game, P.take(np.array([k])))
        assert together.target_utility[k] == alone.target_utility[0]
        assert (together.p_verified[k] == alone.p_verified[0]).all()
        assert (together.power_utility[k] == alone.power_utility[0]).all()


def test_structure_keys_split_verify_classes_and_vote_signs() -> None:
    from stepdeal.scenario import load_scenario

    game = compile_game(load_scenario("holdup-demo"), "step-by-step")
    P = BatchParams.of_game(game, 3)
    P.verify[1, 0] = 0.5  # certain -> uncertain: a new chance stage
    keys = structure_keys(game, P)
    assert keys[0] == keys[2] != keys[1]


def test_strategic_voters_are_refused() -> None:
    from stepdeal.scenario import load_scenario

    s = load_scenario("holdup-demo")
    data = s.model_dump(mode="json", by_alias=True, exclude_none=True)
    data["votes"]["russia"]["escalate"] = "strategic"
    game = compile_game(Scenario.model_validate(data), "dual-track")
    try:
        solve_batch(game, BatchParams.of_game(game, 2))
    except NotBatchable as exc:
        assert "strategic" in str(exc)
    else:
        raise AssertionError("expected NotBatchable")

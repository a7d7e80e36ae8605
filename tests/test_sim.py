"""The simulator: reproducible, follows strategies, fills the JSON contract."""

from __future__ import annotations

import numpy as np
import pytest

from stepdeal.api import run
from stepdeal.mechanisms import compile_game
from stepdeal.scenario import parse_scenario
from stepdeal.sim import Compliant, Defiant, discounted, simulate

from .conftest import CONTRACT, DEMO

STOCHASTIC = DEMO.replace("{id: a, cost: 1,", "{id: a, cost: 1, verify: 0.4,").replace(
    "{id: b, cost: 2,", "{id: b, cost: 2, verify: 0.5,"
)


def test_contract_keys_and_types(tiny) -> None:
    d = run(tiny, "step-by-step", rng=3).to_dict()
    assert d.keys() >= CONTRACT
    assert d["seed"] == 3
    assert len(d["pressure"]) == tiny.horizon
    assert set(d["measures"]) == {m.id for m in tiny.measures}
    assert set(d["measures"].values()) <= {"active", "curtailed", "frozen", "lifted", "potential"}
    assert set(d["utilities"]) == {a.id for a in tiny.actors}
    for step in d["steps"]:
        assert set(step) == {"concern", "taken", "verified"}


def test_same_seed_same_timeline() -> None:
    s = parse_scenario(STOCHASTIC, "s.yaml")
    a = run(s, "dual-track", "compliant", rng=11).to_dict()
    b = run(s, "dual-track", "compliant", rng=11).to_dict()
    assert a == b


def test_different_seeds_can_differ() -> None:
    s = parse_scenario(STOCHASTIC, "s.yaml")
    outs = {str(run(s, "dual-track", "compliant", rng=k).to_dict()["steps"]) for k in range(20)}
    assert len(outs) > 1


def test_generator_is_accepted_and_seed_recorded_as_none() -> None:
    s = parse_scenario(STOCHASTIC, "s.yaml")
    d = run(s, "dual-track", "compliant", rng=np.random.default_rng(5)).to_dict()
    assert d["seed"] is None


def test_defiant_and_compliant(tiny) -> None:
    g = compile_game(tiny, "step-by-step")
    assert simulate(g, Defiant(), 0).steps() == []
    tl = simulate(g, Compliant(), 0)
    assert [s["concern"] for s in tl.steps()] == ["a", "b", "c"]
    assert [s["taken"] for s in tl.steps()] == [0, 1, 2]


def test_defiant_under_dual_track_gets_tranches(tiny) -> None:
    d = run(tiny, "dual-track", "defiant", rng=0).to_dict()
    assert d["measures"]["n1"] == "active" and d["measures"]["n2"] == "active"
    assert d["pressure"][0] == 2.0 and d["pressure"][-1] == 3.5
    assert d["vetoes"] == []


def test_veto_recorded_and_step_timed_just_in_time(tiny) -> None:
    d = run(tiny, "dual-track", rng=0).to_dict()
    # the optimal target delays its one step until the review that it blocks
    assert d["steps"] == [{"concern": "a", "taken": 2, "verified": 2}]
    assert {"period": 2, "institution": "unsc", "member": "russia", "proposal": "impose:n1"} in d[
        "vetoes"
    ]


def test_utilities_match_definition(tiny) -> None:
    r = run(tiny, "step-by-step", "compliant", rng=0)
    tl = r.timeline
    u = [p.payoffs["target"] for p in tl.periods]
    tail = u[-1]  # no step is taken in the last period here, so the stationary payoff equals it
    assert tl.utilities["target"] == pytest.approx(discounted(u, 0.9, tail))


def test_optimal_matches_expected_value_when_deterministic(tiny) -> None:
    r = run(tiny, "step-by-step", rng=0)
    assert r.solution is not None
    assert r.timeline.utilities["target"] == pytest.approx(r.solution.value)


def test_unknown_policy_is_clear(tiny) -> None:
    with pytest.raises(KeyError, match="has no policy"):
        run(tiny, "nope")

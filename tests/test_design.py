"""The roadmap designer: its chain solver against the full solver, exhaustive search
against brute force, the bound's soundness, and the CLI/YAML round trip."""

from __future__ import annotations

import json
import math
from itertools import permutations, product
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from stepdeal.cli.main import app
from stepdeal.mechanisms import compile_game
from stepdeal.scenario import Scenario, load_scenario, parse_scenario
from stepdeal.solve import solve_best_response
from stepdeal.solve.chain import Designs, designs_of_game, solve_chain
from stepdeal.solve.design import (
    DESIGN_ID,
    DesignRefused,
    _p_resolved,
    _policy_dict,
    _space,
    _with_policy,
    design,
    resolved_bound,
)

from .strategies import scenario_dicts

runner = CliRunner()


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


@st.composite
def roadmap_dicts(draw: st.DrawFn, max_concerns: int = 4, max_measures: int = 3) -> dict[str, Any]:
    """Random scenarios whose policy is a strict step-by-step roadmap with fixed votes."""
    d = draw(
        scenario_dicts(
            max_concerns=max_concerns,
            max_measures=max_measures,
            max_horizon=6,
            strategic=False,
            reversible=False,
        )
    )
    d["max_steps_per_period"] = 1
    cids = [c["id"] for c in d["concerns"]]
    mids = [m["id"] for m in d["measures"]]
    relief: dict[str, Any] = {}
    for c in cids:
        if mids and draw(st.booleans()):
            relief[c] = [
                {
                    "measure": draw(st.sampled_from(mids)),
                    "action": draw(st.sampled_from(["curtail", "freeze", "lift"])),
                }
            ]
    d["policies"] = [
        {
            "id": "pol",
            "kind": "step_by_step",
            "order": draw(st.permutations(cids).map(list)),
            "strict": True,
            "relief": relief,
        }
    ]
    return d


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(roadmap_dicts())
def test_chain_equals_full_solver(d: dict[str, Any]) -> None:
    s = Scenario.model_validate(d)
    game = compile_game(s, "pol")
    full = solve_best_response(game)
    chain = solve_chain(game, designs_of_game(game))
    assert _close(full.value, float(chain.value[0]))
    for k, p in enumerate(game.power_ids):
        assert _close(full.power_value[p], float(chain.power_value[0, k]))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(roadmap_dicts(), st.randoms(use_true_random=False))
def test_random_designs_round_trip_through_policies(d: dict[str, Any], rnd: Any) -> None:
    """A random design written as a policy and solved by the full solver gives the chain's
    values, and the chain's expected count equals a forward pass over the full graph."""
    s = Scenario.model_validate(d)
    try:
        space = _space(s)
    except DesignRefused:
        return
    order = np.array(rnd.sample(range(space.n), space.n), dtype=np.int64)
    relief = np.zeros((len(space.relievable), space.n + 1), dtype=np.int8)
    for i, m in enumerate(space.relievable):
        st_ = space.stairs[m]
        relief[i] = st_[rnd.randrange(len(st_))]
    levels = np.zeros((1, space.game.n_measures, space.n + 1), dtype=np.int8)
    levels[0, space.relievable] = relief
    chain = solve_chain(space.game, Designs(order[None], levels))
    policy = _policy_dict(space, order, relief, "test")
    game = compile_game(_with_policy(s, policy), DESIGN_ID)
    full = solve_best_response(game)
    assert _close(full.value, float(chain.value[0]))
    probs = _p_resolved(game, order)
    assert _close(float(probs.sum()), float(chain.expected_resolved[0]))


def _reference_design(s: Scenario) -> tuple[float, float]:
    """Brute force: every order x every relief staircase, each solved by the full solver."""
    space = _space(s)
    best = (-math.inf, -math.inf)
    stairs = [space.stairs[m] for m in space.relievable]
    for order in permutations(range(space.n)):
        o = np.array(order, dtype=np.int64)
        for pick in product(*[range(len(x)) for x in stairs]):
            relief = np.array([stairs[i][j] for i, j in enumerate(pick)], dtype=np.int8).reshape(
                len(stairs), space.n + 1
            )
            game = compile_game(_with_policy(s, _policy_dict(space, o, relief, "")), DESIGN_ID)
            full = solve_best_response(game)
            count = float(_p_resolved(game, o, full).sum())
            key = (round(count, 9), sum(full.power_value.values()))
            best = max(best, key)
    return best


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(roadmap_dicts(max_concerns=3, max_measures=2))
def test_exhaustive_design_matches_brute_force(d: dict[str, Any]) -> None:
    s = Scenario.model_validate(d)
    result = design(s)
    assert result.status == "exact"
    count, powers = _reference_design(s)
    assert _close(result.objective, count)
    assert _close(result.powers_total, powers)
    assert result.bound == result.objective


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(roadmap_dicts(max_concerns=4, max_measures=3))
def test_resolved_bound_is_sound(d: dict[str, Any]) -> None:
    s = Scenario.model_validate(d)
    result = design(s)
    assert result.objective <= resolved_bound(_space(s)) + 1e-9


def test_heuristic_is_seeded_and_bounded() -> None:
    s = load_scenario("iran-2011")
    a = design(s, rng=3, max_exact=1000)
    b = design(s, rng=3, max_exact=1000)
    assert a.policy == b.policy and a.objective == b.objective
    assert a.status == "bounded"
    assert a.objective <= a.bound


def test_iran_design_beats_lavrov_and_is_the_builtin_designed_policy() -> None:
    s = load_scenario("iran-2011")
    result = design(s)
    lavrov = solve_chain(*(lambda g: (g, designs_of_game(g)))(compile_game(s, "step-by-step")))
    assert result.objective >= float(lavrov.expected_resolved[0]) + 1.0
    builtin = s.policy(DESIGN_ID).model_dump(mode="json", exclude_none=True)
    for key in ("kind", "order", "strict", "relief"):
        assert builtin[key] == result.policy[key], key


def test_designer_refuses_strategic_voters() -> None:
    s = load_scenario("holdup-demo")
    data = s.model_dump(mode="json", by_alias=True, exclude_none=True)
    data["votes"]["russia"]["relieve"] = "strategic"
    with pytest.raises(DesignRefused, match="strategically on relief"):
        design(Scenario.model_validate(data))
    # strategic escalation votes never come up in a step-by-step roadmap: not refused
    data["votes"]["russia"]["relieve"] = "yes"
    data["votes"]["russia"]["escalate"] = "strategic"
    assert design(Scenario.model_validate(data)).status == "exact"


def test_cli_design_json_contract_and_round_trip(tmp_path: Path) -> None:
    out = tmp_path / "designed.yaml"
    res = runner.invoke(app, ["design", "holdup-demo", "--json", "-o", str(out)])
    assert res.exit_code == 0, res.output
    d = json.loads(res.stdout)
    for key in ("policy", "resolved", "objective", "status", "bound"):
        assert key in d
    assert d["status"] == "exact" and d["bound"] == d["objective"] == 3.0
    assert d["resolved"] == d["policy"]["order"]
    assert d["check"]["holdup"] is None
    # the YAML block parses as a policy and the written file validates and runs
    s = parse_scenario(out.read_text(encoding="utf-8"), str(out))
    assert (
        s.policy(DESIGN_ID).model_dump(mode="json", exclude_none=True)["order"]
        == d["policy"]["order"]
    )
    assert runner.invoke(app, ["validate", str(out)]).exit_code == 0
    ran = runner.invoke(app, ["run", str(out), "--policy", DESIGN_ID, "--json"])
    assert ran.exit_code == 0, ran.output
    r = json.loads(ran.stdout)
    assert _close(r["expected_target_utility"], d["target_utility"])
    assert set(r["resolved"]) == set(d["resolved"])


def test_cli_design_readable_and_errors() -> None:
    res = runner.invoke(app, ["design", "holdup-demo"])
    assert res.exit_code == 0, res.output
    assert "Designed roadmap" in res.stdout and "- id: designed" in res.stdout
    bad = runner.invoke(app, ["design", "holdup-demo", "--objective", "nonsense"])
    assert bad.exit_code == 2 and "Fix:" in bad.output

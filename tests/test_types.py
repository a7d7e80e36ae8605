"""Target types, beliefs and the perfect Bayesian equilibrium solver."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stepdeal.mechanisms import compile_game
from stepdeal.scenario import Scenario, load_scenario
from stepdeal.scenario.loader import ScenarioError
from stepdeal.solve import solve_best_response
from stepdeal.solve.pbe import (
    BeliefFreeSolution,
    TypedSolution,
    TypesNotSupported,
    solve_typed,
    type_path,
)

from .reference_pbe import ReferencePBE
from .strategies import scenario_dicts

DATA = Path(__file__).parent / "data"


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


def kydd(s_cost: float, g_t: float = 3.0, g_u: float = 1.0, theta: float = 0.9) -> Scenario:
    raw = yaml.safe_load((DATA / "kydd.yaml").read_text())
    raw["concerns"][0]["cost"] = s_cost
    raw["types"][0]["impact"]["sanction"] = g_t
    raw["types"][1]["impact"]["sanction"] = g_u
    raw["policies"][0]["relief_if_belief"]["at_least"] = theta
    return Scenario.model_validate(raw)


# --------------------------------------------------------------------------- Kydd B5


@pytest.mark.parametrize("s_cost", [0.25, 0.5, 0.99, 1.01, 1.5, 2.0, 2.99, 3.01, 3.5, 5.0])
def test_kydd_costly_gesture_separates_iff_between_the_gains(s_cost: float) -> None:
    """Kydd (2000), domain file B5: a gesture of cost s separates iff G_U < s <= G_T.

    G_k is type k's gain from being believed trustworthy (here: the lifted sanction,
    3 for the trustworthy type, 1 for the other). Away from the two boundaries the
    selected equilibrium separates exactly inside the interval, and outside it no
    separating equilibrium exists at all."""
    sol = solve_typed(compile_game(kydd(s_cost)))
    assert isinstance(sol, TypedSolution)
    C, M = sol.game.initial_state()
    inside = 1.0 < s_cost < 3.0
    assert (sol.node_kind(0, C, M, 3) == "separating") is inside
    kinds = {e["kind"] for e in sol.equilibria(0, C, M, 3)}
    assert ("separating" in kinds) is inside
    if inside:  # the trustworthy type gestures and is then known
        assert sol.game.action_label(sol.choose(0, C, M, 3, 0)) == "gesture"
        assert sol.game.action_label(sol.choose(0, C, M, 3, 1)) == "none"
        assert type_path(sol, 0).p_certain == [1.0]


def test_kydd_boundaries_are_indifference_points() -> None:
    """At s = G_T the trustworthy type is indifferent: a separating PBE exists (Kydd's
    weak inequality) but the solver's tie rule (no step first) selects pooling. At
    s = G_U the untrustworthy type is indifferent; the intuitive criterion does not
    count it as a possible sender, so separation is selected (Kydd's convention puts
    this point outside)."""
    for s_cost, selected in ((3.0, "pooling"), (1.0, "separating")):
        sol = solve_typed(compile_game(kydd(s_cost)))
        assert isinstance(sol, TypedSolution)
        C, M = sol.game.initial_state()
        assert sol.node_kind(0, C, M, 3) == selected
        assert "separating" in {e["kind"] for e in sol.equilibria(0, C, M, 3)}


def test_kydd_relief_that_ignores_beliefs_lets_both_types_gesture() -> None:
    """Without the belief condition the cheap gesture is taken by both types: relief for
    any verified step buys compliance but no information."""
    raw = yaml.safe_load((DATA / "kydd.yaml").read_text())
    raw["concerns"][0]["cost"] = 0.5
    del raw["policies"][0]["relief_if_belief"]
    sol = solve_typed(compile_game(Scenario.model_validate(raw)))
    assert isinstance(sol, BeliefFreeSolution)
    C, M = sol.game.initial_state()
    assert sol.node_kind(0, C, M, 3) == "pooling"
    assert sol.game.action_label(sol.choose(0, C, M, 3, 1)) == "gesture"


# --------------------------------------------------------------------------- Fearon B9


def fearon(x: float, n_types: int = 60, p: float = 0.5, c_a: float = 0.1, c_bar: float = 0.3):
    """Fearon's risk-return trade-off in stepdeal's format (domain file B9).

    A (the power) offers B (the target) a settlement x on an issue [0, 1]; B's cost
    of war c_B is private, uniform on [0, c_bar], here n_types equally likely types at
    the midpoints of a grid. The step "accept" costs B the concession x - p (its war
    payoff is 1 - p - c_B); not accepting keeps the measure "war" in force, which
    costs B its c_B (type-specific impact) and gives A p - c_A (a negative burden);
    acceptance lifts it and gives A the value x. One period, no tail.
    """
    types = []
    for i in range(n_types):
        c_b = (i + 0.5) * c_bar / n_types
        types.append({"id": f"c{i}", "prior": 1.0 / n_types, "impact": {"war": c_b}})
    types[-1]["prior"] = 1.0 - sum(t["prior"] for t in types[:-1])
    raw: dict[str, Any] = {
        "name": "fearon-1995",
        "period": "crisis",
        "horizon": 1,
        "tail": "none",
        "actors": [
            {"id": "B", "role": "target", "discount": 0.9},
            {"id": "A", "role": "power", "discount": 0.9},
        ],
        "institutions": [{"id": "A-decides", "members": ["A"], "rule": "veto"}],
        "concerns": [{"id": "accept", "cost": x - p, "value": {"A": x}}],
        "measures": [
            {
                "id": "war",
                "issuer": "A-decides",
                "status": "active",
                "impact": c_bar / 2,
                "burden": {"A": -(p - c_a)},
            }
        ],
        "types": types,
        "policies": [
            {
                "id": "offer",
                "kind": "step_by_step",
                "relief": {"accept": [{"measure": "war", "action": "lift"}]},
            }
        ],
        "votes": {"A": {"relieve": "yes"}},
    }
    return Scenario.model_validate(raw)


def test_fearon_bargaining_range_with_known_costs() -> None:
    """Complete information (one type, c_B = 0.2): B accepts any x < p + c_B."""
    for x, accepts in ((0.55, True), (0.69, True), (0.71, False), (0.8, False)):
        s = fearon(x, n_types=2)
        raw = s.model_dump(mode="json", by_alias=True, exclude_none=True)
        raw["types"] = []
        raw["measures"][0]["impact"] = 0.2
        game = compile_game(Scenario.model_validate(raw))
        sol = solve_best_response(game)
        C, M = game.initial_state()
        assert (sol.action(0, C, M) == (0,)) is accepts


def test_fearon_risk_return_tradeoff() -> None:
    """p = 0.5, c_A = 0.1, c_B ~ U[0, 0.3]: x* = 0.6 and P(war) = 1/3 (domain file B9).

    The offer is not a lever inside the game (powers do not choose offers), so the
    sweep over x is done here; the solver gives each type's reply and A's expected
    utility. With 60 types the grid error of x* is at most one step of 0.005."""
    xs = np.round(np.arange(0.5, 0.8001, 0.005), 6)
    utility = []
    for x in xs:
        sol = solve_typed(compile_game(fearon(float(x))))
        utility.append(sol.power_value["A"])
    best = int(np.argmax(utility))
    assert abs(xs[best] - 0.6) <= 0.005 + 1e-12
    sol = solve_typed(compile_game(fearon(float(xs[best]))))
    assert isinstance(sol, BeliefFreeSolution)
    C, M = sol.game.initial_state()
    war = sum(
        sol.game.prior[k]
        for k in range(sol.game.n_types)
        if sol.game.action_label(sol.choose(0, C, M, 0, k)) == "none"
    )
    assert abs(war - 1 / 3) <= 0.02
    assert _close(max(utility), utility[best])


# --------------------------------------------------------------------------- consistency


def _typed(raw: dict[str, Any], types: list[dict[str, Any]]) -> Scenario:
    raw = dict(raw)
    raw["types"] = types
    return Scenario.model_validate(raw)


def test_belief_free_types_equal_each_complete_information_game() -> None:
    raw = yaml.safe_load((DATA / "kydd.yaml").read_text())
    del raw["policies"][0]["relief_if_belief"]
    game = compile_game(Scenario.model_validate(raw))
    sol = solve_typed(game)
    for k, tid in enumerate(game.type_ids):
        alone = solve_best_response(game.for_type(k))
        assert _close(sol.value[tid], alone.value)


def test_identical_types_pool_and_match_complete_information() -> None:
    """Two types with the same payoffs: the joint solver pools everywhere and every type
    gets the complete-information value, even with belief-conditional relief."""
    raw = yaml.safe_load((DATA / "kydd.yaml").read_text())
    raw["horizon"] = 3
    raw["tail"] = "persist"
    raw["types"][1]["impact"]["sanction"] = 3.0
    raw["policies"][0]["relief_if_belief"]["at_least"] = 0.5
    game = compile_game(Scenario.model_validate(raw))
    sol = solve_typed(game)
    assert isinstance(sol, TypedSolution)
    base = solve_best_response(game.for_type(0))
    assert _close(sol.value["trustworthy"], base.value)
    assert _close(sol.value["untrustworthy"], base.value)
    assert {k for L in sol.layers[:-1] for k in L.kind} <= {"pooling", "known"}


def test_validation_names_the_field_and_fix(tmp_path: Path) -> None:
    raw = yaml.safe_load((DATA / "kydd.yaml").read_text())
    raw["types"][0]["prior"] = 0.7
    raw["types"][1]["impact"] = {"nope": 1.0}
    raw["policies"][0]["relief_if_belief"]["type"] = "saint"
    f = tmp_path / "bad.yaml"
    f.write_text(yaml.safe_dump(raw))
    with pytest.raises(ScenarioError) as err:
        load_scenario(f)
    text = str(err.value)
    assert "priors sum to 1.2" in text and "types" in text
    assert "unknown measure 'nope'" in text
    assert "unknown type 'saint'" in text and "relief_if_belief" in text


def test_strategic_voters_with_types_are_refused_clearly() -> None:
    raw = yaml.safe_load((DATA / "kydd.yaml").read_text())
    raw["votes"]["power"]["relieve"] = "strategic"
    with pytest.raises(TypesNotSupported, match="strategic voters"):
        solve_typed(compile_game(Scenario.model_validate(raw)))


# --------------------------------------------------------------------------- brute force


@st.composite
def typed_scenarios(draw: st.DrawFn) -> Scenario:
    raw = draw(scenario_dicts(max_concerns=2, max_measures=2, max_horizon=2, max_uncertain=1))
    raw["max_steps_per_period"] = 1
    n_types = draw(st.sampled_from([2, 2, 3]))
    priors = draw(st.sampled_from([[0.5, 0.5], [0.3, 0.7], [0.8, 0.2]]))
    if n_types == 3:
        priors = [0.25, 0.25, 0.5]
    cids = [c["id"] for c in raw["concerns"]]
    mids = [m["id"] for m in raw["measures"]]
    types = []
    for k in range(n_types):
        types.append(
            {
                "id": f"t{k}",
                "prior": priors[k],
                "cost": {c: draw(st.sampled_from([0.0, 0.5, 1.0, 2.0, 3.0])) for c in cids},
                "impact": {m: draw(st.sampled_from([0.0, 0.5, 1.0, 2.0])) for m in mids},
            }
        )
    raw["types"] = types
    for inst in raw["institutions"]:
        if draw(st.booleans()):
            inst["veto_cost"] = {
                m: draw(st.sampled_from([0.0, 0.25, 1.0])) for m in inst["members"]
            }
    pol = raw["policies"][0]
    if pol["kind"] in ("step_by_step", "hybrid") and draw(st.booleans()):
        pol["relief_if_belief"] = {
            "type": "t0",
            "at_least": draw(st.sampled_from([0.3, 0.5, 0.6, 0.9])),
        }
    powers = [a["id"] for a in raw["actors"] if a["role"] == "power"]
    if draw(st.booleans()):
        who = draw(st.sampled_from(powers))
        raw["votes"].setdefault(who, {})
        raw["votes"][who][draw(st.sampled_from(["escalate", "relieve"]))] = {
            "if_belief": "t0",
            "at_least": draw(st.sampled_from([0.3, 0.5, 0.9])),
            "then": draw(st.sampled_from(["yes", "no"])),
            "else": draw(st.sampled_from(["yes", "no"])),
        }
    return Scenario.model_validate(raw)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(typed_scenarios())
def test_typed_solver_equals_brute_force(s: Scenario) -> None:
    game = compile_game(s, "pol")
    fast = solve_typed(game)
    ref = ReferencePBE(game).root()
    for k, tid in enumerate(game.type_ids):
        assert _close(fast.value[tid], ref["V"][k]), (tid, fast.value[tid], ref["V"][k])
        for j, p in enumerate(game.power_ids):
            assert _close(fast.power_value_by_type[tid][p], float(ref["VP"][k][j]))
    C, M = game.initial_state()
    b0 = sum(1 << k for k in range(game.n_types))
    for k in range(game.n_types):
        assert fast.choose(0, C, M, b0, k) == ref["choice"][k]
    if isinstance(fast, TypedSolution):
        assert bool(fast.layers[0].epsilon[0] == 0.0) is ref["exact"]


def test_joint_solver_and_belief_free_path_agree_when_beliefs_do_not_matter() -> None:
    """A belief condition that is always met (threshold 0) makes the game belief-dependent
    in form only: the joint solver must reproduce the per-type solutions."""
    raw = yaml.safe_load((DATA / "kydd.yaml").read_text())
    raw["horizon"] = 3
    raw["tail"] = "persist"
    raw["policies"][0]["relief_if_belief"]["at_least"] = 0.0
    joint = solve_typed(compile_game(Scenario.model_validate(raw)))
    del raw["policies"][0]["relief_if_belief"]
    free = solve_typed(compile_game(Scenario.model_validate(raw)))
    assert isinstance(joint, TypedSolution) and isinstance(free, BeliefFreeSolution)
    for tid in joint.value:
        assert _close(joint.value[tid], free.value[tid])


def test_solution_is_reproducible() -> None:
    g = compile_game(kydd(2.0))
    a, b = solve_typed(g), solve_typed(dataclasses.replace(g))
    assert a.value == b.value


# --------------------------------------------------------------------------- interfaces


def _two_step(horizon: int = 1) -> Scenario:
    """Easy-first roadmap where only the hard step tells the types apart."""
    raw = {
        "name": "two-step",
        "period": "month",
        "horizon": horizon,
        "tail": "persist",
        "actors": [
            {"id": "tgt", "role": "target", "discount": 0.9},
            {"id": "p", "role": "power", "discount": 0.9},
        ],
        "institutions": [{"id": "council", "members": ["p"], "rule": "veto"}],
        "concerns": [
            {"id": "easy", "cost": 1.0, "value": {"p": 1.0}},
            {"id": "hard", "cost": 4.0, "value": {"p": 2.0}},
        ],
        "measures": [
            {"id": "m1", "issuer": "council", "status": "active", "impact": 1.0},
            {"id": "m2", "issuer": "council", "status": "active", "impact": 1.0},
        ],
        "types": [
            {"id": "good", "prior": 0.5},
            {"id": "bad", "prior": 0.5, "cost": {"hard": 40.0}},
        ],
        "policies": [
            {
                "id": "easy-first",
                "kind": "step_by_step",
                "order": ["easy", "hard"],
                "strict": True,
                "relief": {
                    "easy": [{"measure": "m1", "action": "freeze"}],
                    "hard": [{"measure": "m2", "action": "freeze"}],
                },
            }
        ],
        "votes": {"p": {"relieve": "yes"}},
    }
    return Scenario.model_validate(raw)


def test_design_for_posterior_puts_the_separating_step_first() -> None:
    from stepdeal.solve.design_types import design_for_posterior

    result = design_for_posterior(_two_step(1), "good", 0.9)
    assert result.policy["order"][0] == "hard"
    assert result.posterior is not None
    assert result.posterior["p_reached"] == 1.0
    assert result.status == "local"
    d = result.to_dict()
    assert d["posterior"]["type"] == "good" and d["objective_name"] == "posterior"


def test_easy_first_pools_then_separates() -> None:
    from stepdeal.api import run
    from stepdeal.solve.check_typed import check_typed

    r = run(_two_step(4), true_type="good")
    assert r.typed is not None
    table = check_typed(r.typed, r.timeline, "good").to_dict()
    kinds = [(b["concern"], b["kind"]) for b in table["beliefs"]]
    assert kinds == [("easy", "pooling"), ("hard", "separating")]
    assert table["beliefs"][1]["belief_after"] == {"good": 1.0, "bad": 0.0}
    assert all(s["gain_vs_wait"] >= 0 and s["gain_vs_never"] >= 0 for s in table["steps"])
    sep = r.timeline.to_dict()["types"]["separation"]
    assert sep["verdict"] == "separating" and sep["types"]["good"]["first_known"] == 1


def test_joint_check_gain_vs_never_matches_a_forbidden_resolve() -> None:
    """In the Kydd game the trustworthy type's only alternative to the gesture is never
    taking it: gain_vs_never equals gain_vs_wait equals G_T - s."""
    from stepdeal.api import run
    from stepdeal.solve.check_typed import check_typed

    r = run(kydd(2.0), true_type="trustworthy")
    assert r.typed is not None
    steps = check_typed(r.typed, r.timeline, "trustworthy").to_dict()["steps"]
    assert steps == [{"concern": "gesture", "period": 0, "gain_vs_wait": 1.0, "gain_vs_never": 1.0}]


def test_cli_type_option_and_errors(tmp_path: Path) -> None:
    import json

    from typer.testing import CliRunner

    from stepdeal.cli.main import app

    runner = CliRunner()
    out = runner.invoke(app, ["run", str(DATA / "kydd.yaml"), "--type", "untrustworthy", "--json"])
    assert out.exit_code == 0, out.output
    d = json.loads(out.output)
    assert d["types"]["true_type"] == "untrustworthy"
    assert d["beliefs"] == [{"trustworthy": 0.0, "untrustworthy": 1.0}]
    bad = runner.invoke(app, ["compare", str(DATA / "kydd.yaml"), "--type", "saint"])
    assert bad.exit_code == 2 and "no type 'saint'" in bad.output
    chk = runner.invoke(app, ["check", str(DATA / "kydd.yaml"), "--json"])
    assert chk.exit_code == 0 and json.loads(chk.output)["beliefs"][0]["kind"] == "separating"
    table = runner.invoke(app, ["compare", str(DATA / "kydd.yaml")])
    assert "types revealed" in table.output and "separating" in table.output


# --------------------------------------------------------------------------- iran-2011


def test_iran_2011_types_what_each_roadmap_reveals() -> None:
    """The claims of docs/explanation/types.md about reassurance in 2011."""
    from stepdeal.api import compare

    s = load_scenario("iran-2011")
    assert [t.id for t in s.types] == ["latency", "weapon"]
    results = compare(s)
    sep = {pid: r.timeline.to_dict()["types"]["separation"] for pid, r in results.items()}
    # Lavrov's easy-first order: both types take the two cheap steps, then only the
    # latency type continues: separation from the third step on
    lavrov = sep["step-by-step"]["types"]
    assert lavrov["latency"]["first_known"] == 2 and lavrov["weapon"]["first_known"] == 2
    assert lavrov["weapon"]["verified_at_end"] < lavrov["latency"]["verified_at_end"]
    # the designed (hard-first) roadmap separates at once; dual track never does
    assert sep["designed"]["verdict"] == "separating"
    assert sep["designed"]["types"]["latency"]["first_known"] == 0
    assert sep["dual-track"]["verdict"] == "pooling"


def test_iran_2011_relief_conditioned_on_reassurance_stalls_the_easy_first_roadmap() -> None:
    """Relief only once P(latency) >= 0.9, on Lavrov's order: the cheap first steps do not
    reassure (both types would take them), so neither type starts: pooling on no step."""
    from stepdeal.api import run

    s = load_scenario("iran-2011")
    raw = s.model_dump(mode="json", by_alias=True, exclude_none=True)
    pol = next(p for p in raw["policies"] if p["id"] == "step-by-step")
    pol = dict(pol, id="reassure", relief_if_belief={"type": "latency", "at_least": 0.9})
    raw["policies"].append(pol)
    r = run(Scenario.model_validate(raw), "reassure")
    assert isinstance(r.typed, TypedSolution) and r.typed.status == "exact"
    assert r.timeline.resolved() == []
    assert r.timeline.to_dict()["types"]["separation"]["verdict"] == "pooling"


def _assert_nodes_match_the_definition(sol: TypedSolution) -> None:
    from stepdeal.solve.pbe import _node_payoffs, belief_of, submasks

    from .reference_pbe import node_equilibrium

    game = sol.game
    K = game.n_types
    for L in sol.layers[:-1]:
        for node in range(L.n_nodes):
            b = int(L.b[node])
            U, p0, p1 = _node_payoffs(L, node, K)
            acts, post, kind, eps = node_equilibrium(U, b, belief_of(game, b), K)
            assert [int(L.pair_action[p0 + j]) for j in acts] == L.best[node].tolist()
            assert post == L.pair_post[p0:p1].tolist()
            assert kind == L.kind[node]
            assert math.isclose(eps, float(L.epsilon[node]), abs_tol=1e-12)
            subs = submasks(b)
            for j in range(p1 - p0):
                assert int(L.pair_cand[p0 + j]) == int(
                    np.searchsorted(L.cand_pair, p0 + j)
                ) + subs.index(post[j])


def test_vectorised_node_solver_equals_the_one_node_definition() -> None:
    """The layer solver handles nodes in groups; every node's profile, beliefs, label and
    epsilon must equal the one-node definition, including nodes without a pure PBE."""
    s = load_scenario("iran-2011")
    raw = s.model_dump(mode="json", by_alias=True, exclude_none=True)
    pol = next(p for p in raw["policies"] if p["id"] == "designed")
    raw["policies"].append(
        dict(pol, id="reassure", relief_if_belief={"type": "latency", "at_least": 0.9})
    )
    sol = solve_typed(compile_game(Scenario.model_validate(raw), "reassure"))
    assert isinstance(sol, TypedSolution) and sol.flagged_nodes > 0
    _assert_nodes_match_the_definition(sol)
    for cost in (0.5, 1.0, 2.0, 3.0):
        k = solve_typed(compile_game(kydd(cost)))
        assert isinstance(k, TypedSolution)
        _assert_nodes_match_the_definition(k)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(typed_scenarios())
def test_vectorised_node_solver_on_random_games(s: Scenario) -> None:
    sol = solve_typed(compile_game(s, "pol"))
    if isinstance(sol, TypedSolution):
        _assert_nodes_match_the_definition(sol)

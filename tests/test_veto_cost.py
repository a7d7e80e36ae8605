"""A member's political cost of voting no: ``institutions[].veto_cost`` (model spec 4.4)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stepdeal.mechanisms import compile_game, resolve
from stepdeal.mechanisms.game import ACTIVE, KIND_ESCALATE, KIND_RELIEVE, POTENTIAL, VERIFIED
from stepdeal.mechanisms.rules import vote_costs
from stepdeal.scenario import Scenario, ScenarioError, parse_scenario
from stepdeal.sim import simulate
from stepdeal.sim.strategies import Defiant
from stepdeal.solve import Optimal, solve_best_response
from stepdeal.solve.batch import BatchParams, solve_batch
from stepdeal.solve.check import check

from . import reference
from .strategies import scenario_dicts

BASE = """\
name: vc
period: month
horizon: 4
tail: TAIL
actors:
  - {id: target, role: target, discount: 0.9}
  - {id: usa, role: power, discount: 0.95}
  - {id: russia, role: power, discount: DELTA}
institutions:
  - {id: unsc, members: [usa, russia], rule: veto, veto_cost: {COST}}
concerns:
  - {id: a, cost: 5, value: {usa: 1}}
measures:
  - {id: m1, issuer: unsc, status: potential, impact: 1, burden: {russia: BURDEN}}
policies:
  - id: esc
    kind: escalation
    review_every: 1
    tranches: [m1]
votes:
  usa: {escalate: yes, relieve: yes}
  russia: {escalate: RULE, relieve: yes}
"""


def scenario(
    cost: str = "",
    burden: float = 0.3,
    delta: float = 0.95,
    rule: str = "sincere",
    tail: str = "persist",
) -> Scenario:
    text = (
        BASE.replace("COST", cost)
        .replace("BURDEN", str(burden))
        .replace("DELTA", str(delta))
        .replace("RULE", rule)
        .replace("TAIL", tail)
    )
    return parse_scenario(text, "vc.yaml")


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


# ----------------------------------------------------------------------------- validation


def test_veto_cost_of_a_non_member_is_an_error_naming_path_and_fix() -> None:
    text = BASE.replace("COST", "usa: 1, china: 2").replace("BURDEN", "0.3")
    text = text.replace("DELTA", "0.95").replace("RULE", "sincere").replace("TAIL", "none")
    with pytest.raises(ScenarioError) as exc:
        parse_scenario(text, "vc.yaml")
    problems = exc.value.problems
    assert len(problems) == 1
    p = problems[0]
    assert p.path == "institutions[0].veto_cost.china"
    assert "not a member of institution 'unsc'" in p.message
    assert "usa, russia" in p.fix


@pytest.mark.parametrize(
    ("cost", "where"),
    [
        ("russia: -1", "institutions[0].veto_cost.russia"),
        ("russia: {escalate: -2}", "institutions[0].veto_cost.russia.escalate"),
        ("russia: {block: 2}", "institutions[0].veto_cost.russia.block"),
        ("russia: high", "institutions[0].veto_cost.russia"),
    ],
)
def test_bad_veto_costs_are_reported_at_their_path(cost: str, where: str) -> None:
    with pytest.raises(ScenarioError) as exc:
        scenario(cost)
    assert [p.path for p in exc.value.problems] == [where]


def test_compiled_array_by_kind() -> None:
    g = compile_game(scenario("russia: {escalate: 2}, usa: 0.5"), "esc")
    assert g.veto_cost.shape == (1, 2, 2)
    assert g.veto_cost[0, 1, KIND_ESCALATE] == 2 and g.veto_cost[0, 1, KIND_RELIEVE] == 0
    assert (g.veto_cost[0, 0] == 0.5).all()
    assert (compile_game(scenario(), "esc").veto_cost == 0).all()


# ----------------------------------------------------------------------------- zero cost


def test_zero_cost_changes_nothing() -> None:
    base = solve_best_response(compile_game(scenario(), "esc"))
    zero = solve_best_response(compile_game(scenario("russia: 0, usa: {relieve: 0}"), "esc"))
    assert base.value == zero.value
    assert base.power_value == zero.power_value


# ----------------------------------------------------------------------------- sincere


def _sincere_vote(cost: float, burden: float, delta: float) -> bool:
    """Russia's sincere vote on imposing m1 (delta f = 1) at t = 1 with no step."""
    g = compile_game(scenario(f"russia: {cost!r}", burden=burden, delta=delta), "esc")
    C = np.zeros((1, 1), dtype=np.uint8)
    M = np.array([[POTENTIAL]], dtype=np.uint8)
    _, recs = resolve(g, 1, C, M, record=True)
    assert len(recs) == 1
    return bool(recs[0].votes[0, 1])


@pytest.mark.parametrize(("burden", "delta"), [(0.3, 0.95), (0.5, 0.9), (1.0, 0.5)])
def test_sincere_member_flips_to_yes_exactly_at_the_discounted_burden(
    burden: float, delta: float
) -> None:
    threshold = burden * 1.0 / (1.0 - delta)  # b * delta_f / (1 - delta)
    assert not _sincere_vote(0.0, burden, delta)
    assert not _sincere_vote(threshold * 0.999, burden, delta)
    assert _sincere_vote(threshold, burden, delta)  # blocking no longer beats the cost
    assert _sincere_vote(threshold * 1.001, burden, delta)


def test_sincere_member_that_gains_votes_yes_whatever_the_cost() -> None:
    # relief is a gain for a burdened member: it votes yes, so it never pays
    g = compile_game(scenario("russia: 100"), "esc")
    C = np.full((1, 1), VERIFIED, dtype=np.uint8)
    M = np.array([[ACTIVE]], dtype=np.uint8)
    _, recs = resolve(g, 1, C, M, record=True)
    assert recs and recs[0].votes.all()


# ----------------------------------------------------------------------------- strategic


def test_strategic_member_flips_at_its_value_difference_and_matches_reference() -> None:
    """A strategic Russia blocks m1 iff its gain from blocking exceeds the cost."""
    kw: dict[str, Any] = {"rule": "strategic", "tail": "none"}
    free = scenario(**kw)
    g = compile_game(free, "esc")
    sol = solve_best_response(g)
    # the value of blocking, measured from the vote at t=1 (pass vs fail, cost 0)
    stage = next(s for s in sol.layer(1).stages if hasattr(s, "strategic_votes"))
    assert not stage.strategic_votes.any()  # without a cost Russia blocks
    for cost, yes in ((0.0, False), (0.5, False), (2.0, True), (50.0, True)):
        s = scenario(f"russia: {{escalate: {cost}}}", **kw)
        fast = solve_best_response(compile_game(s, "esc"))
        ref = reference.all_values(s, "esc")
        assert _close(fast.value, ref["target"])
        for p, v in fast.power_value.items():
            assert _close(v, ref[p]), (cost, p, v, ref[p])
        st1 = next(x for x in fast.layer(1).stages if hasattr(x, "strategic_votes"))
        assert bool(st1.strategic_votes.all()) is yes, cost


def test_strategic_threshold_is_the_value_difference() -> None:
    kw: dict[str, Any] = {"rule": "strategic", "tail": "none", "burden": 0.4}
    s0 = scenario(**kw)
    sol = solve_best_response(compile_game(s0, "esc"))
    # Russia's value of m1 failing minus passing at t=1 (no step is ever taken: cost 5)
    gain = 0.4 * sum(0.95**k for k in range(3))  # burden saved at t=1,2,3
    assert sol.power_value["russia"] == pytest.approx(0.0)
    below = compile_game(scenario(f"russia: {gain * 0.99}", **kw), "esc")
    above = compile_game(scenario(f"russia: {gain * 1.01}", **kw), "esc")
    # values are discounted to t=0: below the threshold Russia blocks and pays at t=1
    assert solve_best_response(below).power_value["russia"] == pytest.approx(-0.95 * gain * 0.99)
    # above it Russia lets m1 pass and bears the burden instead of the cost
    assert solve_best_response(above).power_value["russia"] == pytest.approx(-0.95 * gain)


# ----------------------------------------------------------------------------- payoffs


def test_simulated_power_utility_falls_by_the_cost_of_each_no_vote() -> None:
    """Russia (conditional rule: always no) vetoes the tranche at t=1: it pays once."""
    rule = "{if_verified_at_least: 0, then: no, else: no}"
    free = simulate(compile_game(scenario(rule=rule), "esc"), Defiant(), rng=0)
    costly = simulate(compile_game(scenario("russia: 1.5", rule=rule), "esc"), Defiant(), rng=0)
    vetoes = [e for e in costly.events if e.kind == "vote" and e.data["vote"] == "no"]
    assert [e.t for e in vetoes] == [1]
    assert costly.periods[1].payoffs["russia"] == free.periods[1].payoffs["russia"] - 1.5
    assert costly.utilities["russia"] == pytest.approx(free.utilities["russia"] - 0.95 * 1.5)
    assert costly.utilities["usa"] == free.utilities["usa"]
    assert costly.utilities["target"] == free.utilities["target"]


def test_vote_costs_helper_counts_each_no_vote() -> None:
    g = compile_game(scenario("russia: 2, usa: 3", rule="no"), "esc")
    C = np.zeros((2, 1), dtype=np.uint8)
    M = np.full((2, 1), POTENTIAL, dtype=np.uint8)
    _, recs = resolve(g, 1, C, M, record=True)
    assert vote_costs(g, recs, 2).tolist() == [[0.0, 2.0], [0.0, 2.0]]


def test_check_counts_the_veto_cost_in_the_vote_margin() -> None:
    rule = "{if_verified_at_least: 0, then: no, else: no}"
    for cost in (0.0, 1.5):
        s = scenario(f"russia: {cost}", rule=rule)
        g = compile_game(s, "esc")
        sol = solve_best_response(g)
        tl = simulate(g, Optimal(g, sol), rng=0)
        votes = [v for v in check(sol, tl).votes if v.member == "russia"]
        assert len(votes) == 1
        # Russia's veto is pivotal: blocking saves the burden of t=1 (had m1 passed, the
        # target would take step a at t=2 and completion would lift m1), minus the cost
        assert votes[0].gain_vs_opposite == pytest.approx(0.3 - cost)


def test_batch_counts_veto_costs_like_the_full_solver() -> None:
    """The batched solver charges the costs of the no votes in each state and splits
    samples whose discounts flip a sincere vote (gain / (1 - delta) vs the cost)."""
    g = compile_game(scenario("russia: 1"), "esc")
    P = BatchParams.of_game(g, 3)
    P.power_discount[1, 1] = 0.5  # blocking worth 0.3 / 0.5 = 0.6 < 1: russia votes yes
    P.power_discount[2, 1] = 0.9  # 0.3 / 0.1 = 3 > 1: russia blocks and pays
    res = solve_batch(g, P)
    assert res.n_graphs == 2
    for k in range(P.size):
        sol = solve_best_response(P.game(g, k))
        assert math.isclose(res.target_utility[k], sol.value, rel_tol=1e-9, abs_tol=1e-9)
        for j, p in enumerate(g.power_ids):
            assert math.isclose(
                res.power_utility[k, j], sol.power_value[p], rel_tol=1e-9, abs_tol=1e-9
            )


# ----------------------------------------------------------------------------- property

COSTS = st.sampled_from([0.0, 0.25, 1.0, 3.0, 20.0])


@st.composite
def costly_scenarios(draw: st.DrawFn, strategic: bool = False) -> Scenario:
    d = draw(
        scenario_dicts(
            max_concerns=3, max_measures=3, max_horizon=4, strategic=strategic, max_uncertain=1
        )
    )
    for inst in d["institutions"]:
        cost: dict[str, Any] = {}
        for who in inst["members"]:
            shape = draw(st.sampled_from(["none", "number", "kind"]))
            if shape == "number":
                cost[who] = draw(COSTS)
            elif shape == "kind":
                cost[who] = {k: draw(COSTS) for k in ("escalate", "relieve") if draw(st.booleans())}
        inst["veto_cost"] = cost
    return Scenario.model_validate(d)


def _compare(s: Scenario) -> None:
    game = compile_game(s, "pol")
    fast = solve_best_response(game)
    ref = reference.all_values(s, "pol")
    assert _close(fast.value, ref["tgt"]), (fast.value, ref["tgt"])
    for p, v in fast.power_value.items():
        assert _close(v, ref[p]), (p, v, ref[p])
    if np.all((game.verify == 0) | (game.verify == 1)):
        oracle = fast.vote_oracle if game.has_strategic else None
        tl = simulate(game, Optimal(game, fast), rng=0, oracle=oracle)
        assert _close(tl.utilities["tgt"], fast.value)
        for p, v in fast.power_value.items():
            assert _close(tl.utilities[p], v), (p, tl.utilities[p], v)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(costly_scenarios())
def test_fast_solver_equals_reference_with_random_veto_costs(s: Scenario) -> None:
    _compare(s)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(costly_scenarios(strategic=True))
def test_strategic_equilibrium_equals_reference_with_random_veto_costs(s: Scenario) -> None:
    _compare(s)

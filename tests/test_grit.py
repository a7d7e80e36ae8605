"""GRIT as a policy kind (Osgood 1962; model spec 4.9)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stepdeal.mechanisms import compile_game
from stepdeal.mechanisms.game import ACTIVE, OPEN, U8, VERIFIED, Game
from stepdeal.mechanisms.rules import measure_factors
from stepdeal.scenario import Scenario, ScenarioError, load_scenario, parse_scenario
from stepdeal.sim import simulate
from stepdeal.sim.strategies import Compliant, Defiant
from stepdeal.sim.timeline import Timeline
from stepdeal.solve import Optimal, solve_best_response
from stepdeal.solve.check import check

from . import reference
from .strategies import scenario_dicts

EXAMPLE = Path(__file__).parent / "data" / "grit-example.yaml"

BASE = """\
name: grit
period: month
horizon: HORIZON
tail: persist
actors:
  - {id: target, role: target, discount: 0.9}
  - {id: usa, role: power, discount: 0.95}
institutions:
  - {id: gov, members: [usa], rule: veto}
concerns:
  - {id: a, cost: 1, value: {usa: 1}, reversible: true}
  - {id: b, cost: 2, value: {usa: 1}}
  - {id: c, cost: 3, value: {usa: 1}}
measures:
  - {id: m1, issuer: gov, status: active, impact: 1}
  - {id: m2, issuer: gov, status: active, impact: 1}
policies:
  - id: g
    kind: grit
    initiatives: INITIATIVES
    every: EVERY
    patience: PATIENCE
    retaliate: RETALIATE
votes:
  usa: {escalate: yes, relieve: yes}
"""
FOUR = (
    "[{measure: m1, action: curtail}, {measure: m2, action: curtail}, "
    "{measure: m1, action: lift}, {measure: m2, action: lift}]"
)


def scenario(
    every: int = 2,
    patience: int = 2,
    retaliate: bool = True,
    initiatives: str = FOUR,
    horizon: int = 12,
) -> Scenario:
    text = (
        BASE.replace("INITIATIVES", initiatives)
        .replace("EVERY", str(every))
        .replace("PATIENCE", str(patience))
        .replace("RETALIATE", "true" if retaliate else "false")
        .replace("HORIZON", str(horizon))
    )
    return parse_scenario(text, "grit.yaml")


def relief_events(tl: Timeline) -> list[tuple[int, str]]:
    """(t, proposal) of every proposal that passed."""
    out = []
    for e in tl.events:
        if e.kind == "decision" and e.data["passed"]:
            out.append((e.t, str(e.data["proposal"])))
    return out


class Script:
    """A scripted target: ``plan[t]`` is the step set (concern ids, or ``"-id"`` for a
    reversal) it takes in period ``t``."""

    name = "script"

    def __init__(self, plan: dict[int, list[str]]) -> None:
        self.plan = plan

    def choose(self, game: Game, t: int, C: U8, M: U8) -> tuple[int, ...]:
        n = game.n_concerns
        out = []
        for x in self.plan.get(t, []):
            if x.startswith("-"):
                out.append(n + game.concern_ids.index(x[1:]))
            else:
                out.append(game.concern_ids.index(x))
        return tuple(sorted(out))


# ----------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("initiatives", "extra", "path", "words"),
    [
        ("[{measure: zz, action: lift}]", "", "policies[0].initiatives[0].measure", "unknown"),
        (
            "[{measure: m1, action: freeze}, {measure: m1, action: curtail}]",
            "",
            "policies[0].initiatives[1].action",
            "does not go beyond initiative 1",
        ),
        (
            "[{measure: m1, action: lift}, {measure: m1, action: lift}]",
            "",
            "policies[0].initiatives[1].action",
            "strictly increasing",
        ),
        ("[{measure: m3, action: lift}]", "", "policies[0].initiatives[0].measure", "potential"),
        ("[{measure: m4, action: curtail}]", "", "policies[0].initiatives[0].action", "before"),
        ("[]", "", "policies[0].initiatives", "at least 1"),
        ("[{measure: m1, action: lift}]", "snapback: {rule: issuer}", "policies[0].snapback", ""),
    ],
)
def test_validation(initiatives: str, extra: str, path: str, words: str) -> None:
    text = (
        BASE.replace("INITIATIVES", initiatives)
        .replace("EVERY", "1")
        .replace("PATIENCE", "0")
        .replace("RETALIATE", "true")
        .replace("HORIZON", "3")
        .replace(
            "  - {id: m2, issuer: gov, status: active, impact: 1}\n",
            "  - {id: m2, issuer: gov, status: active, impact: 1}\n"
            "  - {id: m3, issuer: gov, status: potential, impact: 1}\n"
            "  - {id: m4, issuer: gov, status: frozen, impact: 1}\n",
        )
    )
    if extra:
        text = text.replace("    retaliate: true\n", f"    retaliate: true\n    {extra}\n")
    with pytest.raises(ScenarioError) as exc:
        parse_scenario(text, "grit.yaml")
    found = [p for p in exc.value.problems if p.path == path]
    assert found, [(p.path, p.message) for p in exc.value.problems]
    assert words in found[0].message + " " + found[0].fix
    assert found[0].fix


@pytest.mark.parametrize(("field", "value"), [("EVERY", "0"), ("PATIENCE", "-1")])
def test_every_and_patience_bounds(field: str, value: str) -> None:
    text = BASE.replace("INITIATIVES", FOUR).replace("RETALIATE", "true")
    text = text.replace("HORIZON", "3").replace("EVERY", "1").replace("PATIENCE", "0")
    text = text.replace(f"{'every' if field == 'EVERY' else 'patience'}: ", "X: ", 1)
    text = text.replace("X: 1" if field == "EVERY" else "X: 0", f"{field.lower()}: {value}")
    with pytest.raises(ScenarioError) as exc:
        parse_scenario(text, "grit.yaml")
    assert exc.value.problems[0].path == f"policies[0].{field.lower()}"


def test_compiled_arrays() -> None:
    g = compile_game(scenario(every=3, patience=1, retaliate=False), "g")
    assert g.grit and g.grit_every == 3 and g.grit_patience == 1 and not g.grit_retaliate
    assert g.grit_measure.tolist() == [0, 1, 0, 1]
    assert g.grit_rank.tolist() == [1, 1, 3, 3]
    # a withdrawal restores the earlier initiative on the measure, else its initial status
    assert g.grit_restore.tolist() == [ACTIVE, ACTIVE, 2, 2]


# ----------------------------------------------------------------------------- schedule


@pytest.mark.parametrize(("patience", "times"), [(0, [0]), (1, [0]), (2, [0, 2]), (3, [0, 2, 4])])
def test_schedule_runs_on_time_without_reciprocation_up_to_patience(
    patience: int, times: list[int]
) -> None:
    """A defiant target: initiative k is tabled at (k-1)*every while fewer than
    ``patience`` stand unreciprocated (the first is tabled at t=0 in any case: nothing is
    unreciprocated yet), then the schedule pauses."""
    g = compile_game(scenario(every=2, patience=patience), "g")
    tl = simulate(g, Defiant(), rng=0)
    assert [t for t, _ in relief_events(tl)] == times
    assert [p for _, p in relief_events(tl)] == ["curtail:m1", "curtail:m2", "lift:m1"][
        : len(times)
    ]


def test_reciprocation_brings_the_next_initiative_forward() -> None:
    """every 5: initiative 2 is due at t=5, but a verified step at t=1 brings it to t=1;
    the target's second step at t=3 brings initiative 3 (due t=10) to t=3."""
    g = compile_game(scenario(every=5, patience=1), "g")
    tl = simulate(g, Script({1: ["a"], 3: ["b"]}), rng=0)
    assert relief_events(tl) == [(0, "curtail:m1"), (1, "curtail:m2"), (3, "lift:m1")]
    # without the steps only the first initiative is made (patience 1)
    assert relief_events(simulate(g, Defiant(), rng=0)) == [(0, "curtail:m1")]


def test_two_steps_at_once_bring_two_initiatives() -> None:
    s = scenario(every=5, patience=1)
    s = s.model_copy(update={"max_steps_per_period": 2})
    g = compile_game(s, "g")
    tl = simulate(g, Script({1: ["a", "b"]}), rng=0)
    assert relief_events(tl) == [(0, "curtail:m1"), (1, "curtail:m2"), (1, "lift:m1")]


@pytest.mark.parametrize("retaliate", [True, False])
def test_reversal_triggers_withdrawal_only_with_retaliate(retaliate: bool) -> None:
    """patience 1: a at t=0 brings initiatives 1 and 2 (n=2, v=1); reversing a at t=2
    leaves n - v = 2 > max(patience, 1): the latest initiative (curtail m2) is withdrawn."""
    g = compile_game(scenario(every=5, patience=1, retaliate=retaliate), "g")
    tl = simulate(g, Script({0: ["a"], 2: ["-a"]}), rng=0)
    passed = relief_events(tl)
    assert passed[:2] == [(0, "curtail:m1"), (0, "curtail:m2")]
    if retaliate:
        assert passed[2:] == [(2, "withdraw:m2")]
        assert tl.periods[2].measures == {"m1": "curtailed", "m2": "active"}
    else:
        assert passed[2:] == []
        assert tl.periods[-1].measures == {"m1": "curtailed", "m2": "curtailed"}


def test_withdrawal_restores_the_earlier_initiative_on_the_same_measure() -> None:
    ini = "[{measure: m1, action: curtail}, {measure: m1, action: freeze}]"
    g = compile_game(scenario(every=5, patience=1, initiatives=ini), "g")
    tl = simulate(g, Script({0: ["a"], 2: ["-a"]}), rng=0)
    assert relief_events(tl) == [(0, "curtail:m1"), (0, "freeze:m1"), (2, "withdraw:m1")]
    assert tl.periods[2].measures["m1"] == "curtailed"


def test_failed_initiative_is_retabled() -> None:
    s = scenario(every=1, patience=1)
    s = s.model_copy(update={"votes": {}})  # sincere: yes on relief (no burden)
    g = compile_game(s, "g")
    tl = simulate(g, Defiant(), rng=0)
    assert relief_events(tl) == [(0, "curtail:m1")]


# ----------------------------------------------------------------------------- solver


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


@st.composite
def grit_scenarios(draw: st.DrawFn, strategic: bool = False) -> Scenario:
    d = draw(
        scenario_dicts(
            max_concerns=3, max_measures=3, max_horizon=4, strategic=strategic, max_uncertain=1
        )
    )
    relievable = [m["id"] for m in d["measures"] if m["status"] == "active"]
    if not relievable:
        d["measures"].append(
            {"id": "mx", "issuer": d["institutions"][0]["id"], "status": "active", "impact": 1.0}
        )
        relievable = ["mx"]
    raw = draw(
        st.lists(
            st.tuples(st.sampled_from(relievable), st.sampled_from(["curtail", "freeze", "lift"])),
            min_size=1,
            max_size=4,
        )
    )
    rank = {"curtail": 1, "freeze": 2, "lift": 3}
    last: dict[str, int] = {}
    initiatives: list[dict[str, str]] = []
    for m, a in raw:
        if rank[a] > last.get(m, 0):
            initiatives.append({"measure": m, "action": a})
            last[m] = rank[a]
    d["policies"] = [
        {
            "id": "pol",
            "kind": "grit",
            "initiatives": initiatives,
            "every": draw(st.integers(1, 3)),
            "patience": draw(st.integers(0, 2)),
            "retaliate": draw(st.booleans()),
        }
    ]
    return Scenario.model_validate(d)


def _compare(s: Scenario) -> None:
    game = compile_game(s, "pol")
    fast = solve_best_response(game)
    ref_value, ref_q = reference.best_response(s, "pol")
    assert _close(fast.value, ref_value), (fast.value, ref_value)
    C0, M0 = game.initial_state()
    fast_q = {
        tuple(game.concern_label(i) for i in a): v for a, v in fast.q_values(0, C0, M0).items()
    }
    assert fast_q.keys() == ref_q.keys()
    for a, v in ref_q.items():
        assert _close(fast_q[a], v), (a, fast_q[a], v)
    ref = reference.all_values(s, "pol")
    for p, v in fast.power_value.items():
        assert _close(v, ref[p]), (p, v, ref[p])
    if np.all((game.verify == 0) | (game.verify == 1)):
        oracle = fast.vote_oracle if game.has_strategic else None
        tl = simulate(game, Optimal(game, fast), rng=0, oracle=oracle)
        assert _close(tl.utilities["tgt"], fast.value)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(grit_scenarios())
def test_solver_equals_reference_on_random_grit_games(s: Scenario) -> None:
    _compare(s)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(grit_scenarios(strategic=True))
def test_strategic_voters_under_grit_equal_reference(s: Scenario) -> None:
    _compare(s)


# ----------------------------------------------------------------------------- Osgood


class Reciprocator:
    """Takes the cheapest open concern once the relief in force pays for it.

    Relief in force is the target's per-period pressure removed since t=0; valued for
    good at its discount, r / (1 - delta). The target reciprocates with its next step
    when that value is at least the total one-off cost of all its steps including
    this one (it never reverses).
    """

    name = "reciprocator"

    def choose(self, game: Game, t: int, C: U8, M: U8) -> tuple[int, ...]:
        start = measure_factors(game, game.initial_measures[None, :])[0] @ game.impact
        now = measure_factors(game, M[None, :])[0] @ game.impact
        relief = (start - now) / (1.0 - game.target_discount)
        open_ = [int(i) for i in np.argsort(game.cost, kind="stable") if C[i] == OPEN]
        if not open_ or (C == 1).any():  # one step at a time: wait for verification
            return ()
        spent = float(game.cost[C != OPEN].sum())
        return (open_[0],) if relief >= spent + game.cost[open_[0]] - 1e-12 else ()


def _verified(game: Game, strategy: Any) -> int:
    tl = simulate(game, strategy, rng=0)
    return sum(1 for v in tl.periods[-1].concerns.values() if v == "verified")


def test_osgood_patience_wins_reciprocation_the_impatient_schedule_does_not() -> None:
    """The same initiatives with patience 2 vs 0, against a target that reciprocates
    once the relief in force pays for its steps (costs 6, 7, 8; discount 0.9): with
    patience 2 both initiatives stand by t=1, worth 1.0/(1-0.9) = 10 >= 6, and the
    target takes its first step; with patience 0 the first initiative alone is worth
    0.5/(1-0.9) = 5 < 6, nothing is reciprocated and the schedule never moves on."""
    ini = "[{measure: m1, action: curtail}, {measure: m2, action: curtail}]"

    def build(patience: int) -> Game:
        s = scenario(every=1, patience=patience, initiatives=ini)
        d = s.model_dump(mode="json", by_alias=True, exclude_none=True)
        for c, x in zip(d["concerns"], (6.0, 7.0, 8.0), strict=True):
            c["cost"], c["reversible"] = x, False
        return compile_game(Scenario.model_validate(d), "g")

    assert _verified(build(2), Reciprocator()) == 1
    assert _verified(build(0), Reciprocator()) == 0


@settings(max_examples=150, deadline=None)
@given(
    costs=st.lists(st.sampled_from([0.5, 1.0, 2.0, 4.0, 8.0]), min_size=3, max_size=3),
    impacts=st.lists(st.sampled_from([0.1, 0.2, 0.5, 1.0]), min_size=2, max_size=2),
    every=st.integers(1, 3),
    patience=st.integers(1, 3),
)
def test_osgood_patience_never_reaches_fewer_steps(
    costs: list[float], impacts: list[float], every: int, patience: int
) -> None:
    """Against the reciprocating target, patience >= 1 verifies at least as many steps
    by the horizon as patience 0 with the same initiatives and ``every``."""
    verified = []
    for p in (0, patience):
        s = scenario(every=every, patience=p)
        d = s.model_dump(mode="json", by_alias=True, exclude_none=True)
        for c, x in zip(d["concerns"], costs, strict=True):
            c["cost"], c["reversible"] = x, False
        for m, x in zip(d["measures"], impacts, strict=True):
            m["impact"] = x
        verified.append(_verified(compile_game(Scenario.model_validate(d), "g"), Reciprocator()))
    assert verified[1] >= verified[0]


def test_example_file_optimal_target_verifies_more_under_patience() -> None:
    s = load_scenario(str(EXAMPLE))
    out = {}
    for pid in ("grit", "grit-impatient"):
        g = compile_game(s, pid)
        sol = solve_best_response(g)
        out[pid] = _verified(g, Optimal(g, sol))
    assert out == {"grit": 2, "grit-impatient": 1}


def test_check_and_compliant_run_on_the_example() -> None:
    s = load_scenario(str(EXAMPLE))
    g = compile_game(s, "grit")
    sol = solve_best_response(g)
    tl = simulate(g, Optimal(g, sol), rng=3)
    res = check(sol, tl)
    assert res.steps and all(v.gain_vs_opposite is not None for v in res.votes)
    tl2 = simulate(g, Compliant(), rng=0)
    assert tl2.periods[-1].concerns == {
        "declare": "verified",
        "inspect": "verified",
        "dismantle": "verified",
    }
    assert VERIFIED == 2

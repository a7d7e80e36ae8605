"""Stakeholders in scenario files and the links from a forecast to the game."""

from __future__ import annotations

import numpy as np
import pytest

from stepdeal.forecast.link import apply_links, table_from_scenario
from stepdeal.forecast.result import ForecastResult
from stepdeal.scenario import ScenarioError, load_scenario, parse_scenario
from stepdeal.scenario.loader import builtin_text


def _result(table, final: np.ndarray) -> ForecastResult:
    return ForecastResult(
        model="test",
        dimensions=table.dimensions,
        actors=table.actors,
        rounds=[table.position, final],
        forecast=final.mean(axis=0),
    )


def test_iran_stakeholders_table() -> None:
    table = table_from_scenario(load_scenario("iran-2011"))
    assert table.n == 8 and table.dimensions == (
        "accept-plan",
        "relief-per-step",
        "further-un-sanctions",
    )
    assert (table.salience.sum(axis=1) <= 100).all()


@pytest.mark.parametrize(
    ("lavrov", "expected"),
    [(10.0, "no"), (50.0, "conditional"), (90.0, "yes")],
)
def test_vote_link_picks_the_rule_by_threshold(lavrov: float, expected: str) -> None:
    s = load_scenario("iran-2011")
    table = table_from_scenario(s)
    final = table.position.copy()
    final[table.actors.index("lavrov"), 2] = lavrov
    new, changes = apply_links(s, _result(table, final))
    rule = new.votes["russia"].escalate
    if expected == "conditional":
        assert rule.if_verified_at_least == 1  # type: ignore[union-attr]
    else:
        assert rule == expected
    assert any("russia escalate vote" in c for c in changes)


def test_cost_link_scales_costs_by_the_majles_position() -> None:
    s = load_scenario("iran-2011")
    table = table_from_scenario(s)
    final = table.position.copy()
    for who in ("boroujerdi", "karami-rad"):
        final[table.actors.index(who), 0] = 0.0
    new, _ = apply_links(s, _result(table, final))
    old = {c.id: c.cost for c in s.concerns}
    assert all(c.cost == pytest.approx(1.5 * old[c.id]) for c in new.concerns)
    final[:, 0] = 100.0
    new, _ = apply_links(s, _result(table, final))
    assert all(c.cost == pytest.approx(0.75 * old[c.id]) for c in new.concerns)


def _with_stakeholders(block: str) -> str:
    return builtin_text("holdup-demo") + "\nstakeholders:\n" + block


GOOD_ACTORS = """  dimensions:
    - {id: d1}
  actors:
    - {id: a, capability: 1, position: {d1: 10}, salience: {d1: 50}}
    - {id: b, capability: 2, position: {d1: 60}, salience: {d1: 50}}
    - {id: c, capability: 3, position: {d1: 90}, salience: {d1: 50}}
"""


def test_stakeholder_block_parses_and_bad_ones_name_line_and_fix() -> None:
    s = parse_scenario(_with_stakeholders(GOOD_ACTORS), "x.yaml")
    assert table_from_scenario(s).n == 3
    bad = GOOD_ACTORS.replace(
        "salience: {d1: 50}}\n    - {id: b", "salience: {d1: 150}}\n    - {id: b"
    )
    with pytest.raises(ScenarioError) as info:
        parse_scenario(_with_stakeholders(bad), "x.yaml")
    assert "Fix:" in str(info.value) and "x.yaml:" in str(info.value)
    two = "\n".join(GOOD_ACTORS.splitlines()[:-1]) + "\n"
    with pytest.raises(ScenarioError, match="at least 3"):
        parse_scenario(_with_stakeholders(two), "x.yaml")
    missing = GOOD_ACTORS.replace("position: {d1: 60}", "position: {d2: 60}")
    with pytest.raises(ScenarioError, match="unknown dimension 'd2'"):
        parse_scenario(_with_stakeholders(missing), "x.yaml")
    link = GOOD_ACTORS + (
        "  links:\n    - {kind: vote_rule, dimension: d1, stakeholder: zz, power: usa, "
        "vote: escalate, thresholds: [30, 70], below: no, between: sincere, above: yes}\n"
    )
    with pytest.raises(ScenarioError, match="unknown stakeholder 'zz'"):
        parse_scenario(_with_stakeholders(link), "x.yaml")


def test_an_outcome_only_model_puts_every_stakeholder_at_the_forecast() -> None:
    s = load_scenario("iran-2011")
    table = table_from_scenario(s)
    one_round = ForecastResult(
        model="compromise",
        dimensions=table.dimensions,
        actors=table.actors,
        rounds=[table.position],
        forecast=np.array([40.0, 60.0, 50.0]),
    )
    new, changes = apply_links(s, one_round)
    assert new.votes["russia"].escalate.if_verified_at_least == 1  # type: ignore[union-attr]
    old = {c.id: c.cost for c in s.concerns}
    factor = 1.5 + (0.75 - 1.5) * 0.40
    assert all(c.cost == pytest.approx(factor * old[c.id]) for c in new.concerns)
    assert len(changes) == 2


def test_total_salience_error_names_the_rule() -> None:
    bad = GOOD_ACTORS.replace(
        "salience: {d1: 50}}\n    - {id: b", "salience: {d1: 100, d2: 20}}\n    - {id: b"
    )
    bad = bad.replace(
        "  dimensions:\n    - {id: d1}\n", "  dimensions:\n    - {id: d1}\n    - {id: d2}\n"
    )
    with pytest.raises(ScenarioError) as info:
        parse_scenario(_with_stakeholders(bad), "x.yaml")
    assert "total salience 120 exceeds 100" in str(info.value)

"""scenario_at: one point of the uncertainty space as an ordinary scenario."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stepdeal.scenario import load_scenario, scenario_hash
from stepdeal.scenario.point import scenario_at

IRAN = load_scenario("iran-2011")


def _field(s, path):  # type: ignore[no-untyped-def]
    section, ident, field, *rest = path
    item = next(x for x in getattr(s, section) if x.id == ident)
    value = getattr(item, field)
    return value[rest[0]] if rest else value


@settings(max_examples=40, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["step-costs", "sanctions-bite", "russia-trade", "suspension-cost"]),
        st.floats(0.05, 3.0),
        min_size=1,
    )
)
def test_every_target_field_is_scale_times_value(values: dict[str, float]) -> None:
    space = IRAN.uncertainty
    moved = scenario_at(IRAN, values)
    medians = dict(zip(space.names, space.medians(), strict=True))
    for tg in space.targets:
        name = space.names[tg.variable]
        want = tg.scale * values.get(name, medians[name])
        assert _field(moved, tg.path) == pytest.approx(want, rel=1e-12), tg.path
    assert moved.uncertainty is space
    assert moved.policies == IRAN.policies and moved.actors[1:] == IRAN.actors[1:]


def test_no_values_is_the_point_scenario() -> None:
    assert scenario_at(IRAN, {}) is IRAN
    at_median = scenario_at(IRAN, {"russia-trade": 1.0})
    assert scenario_hash(at_median) == scenario_hash(IRAN)
    assert scenario_hash(scenario_at(IRAN, {"russia-trade": 2.0})) != scenario_hash(IRAN)


def test_unknown_or_out_of_range_values_are_refused_with_the_field() -> None:
    with pytest.raises(ValueError, match="Fix: use one of step-costs"):
        scenario_at(IRAN, {"nope": 1.0})
    with pytest.raises(ValueError, match=r"actors\.iran\.discount"):
        scenario_at(IRAN, {"iran-patience": 2.0})
    with pytest.raises(ValueError, match="not finite"):
        scenario_at(IRAN, {"russia-trade": float("nan")})
    plain = load_scenario("holdup-demo")
    with pytest.raises(ValueError, match="has none"):
        scenario_at(plain, {"x": 1.0})

"""The loader: every error names the file, the line, the field and a fix."""

from __future__ import annotations

import json

import pytest

from stepdeal.scenario import (
    ScenarioError,
    builtin_names,
    json_schema,
    load_scenario,
    parse_scenario,
)

from .conftest import DEMO


def problems(text: str) -> list[str]:
    with pytest.raises(ScenarioError) as exc:
        parse_scenario(text, "bad.yaml")
    return [str(p) for p in exc.value.problems]


def test_demo_parses(tiny) -> None:
    assert [c.id for c in tiny.concerns] == ["a", "b", "c"]
    assert tiny.concerns[0].verify == 1.0  # documented default
    assert tiny.measures[0].curtail == 0.5
    assert tiny.max_steps_per_period == 1


def test_yes_no_booleans_are_read_as_votes(tiny) -> None:
    # YAML 1.1 reads unquoted yes/no as booleans
    assert tiny.votes["usa"].escalate == "yes"
    assert tiny.votes["russia"].escalate.then == "no"
    assert tiny.votes["russia"].escalate.else_ == "yes"


def test_out_of_range_names_line_field_and_fix() -> None:
    text = DEMO.replace("{id: a, cost: 1,", "{id: a, cost: 1, verify: 1.5,")
    [p] = problems(text)
    line = next(i for i, s in enumerate(text.splitlines(), 1) if "verify: 1.5" in s)
    assert p.startswith(f"bad.yaml:{line}: concerns[0].verify:")
    assert "Fix:" in p and "1" in p.split("Fix:")[1]


def test_unknown_key_is_an_error() -> None:
    [p] = problems(DEMO.replace("  - {id: b, cost: 2,", "  - {id: b, cots: 3, cost: 2,"))
    assert "concerns[1].cots" in p and "unknown key" in p and "spelling" in p


def test_missing_required_key() -> None:
    [p] = problems(DEMO.replace("horizon: 6\n", ""))
    assert "horizon" in p and "missing" in p and "add the key horizon" in p


def test_cross_reference_error_points_at_line() -> None:
    text = DEMO.replace("{id: m2, issuer: us,", "{id: m2, issuer: nato,")
    [p] = problems(text)
    line = next(i for i, s in enumerate(text.splitlines(), 1) if "issuer: nato" in s)
    assert p.startswith(f"bad.yaml:{line}: measures[1].issuer:")
    assert "unsc" in p  # the fix lists what exists


def test_several_problems_reported_at_once() -> None:
    text = DEMO.replace("tranches: [n1, n2]", "tranches: [n1, m1, zz]")
    ps = problems(text)
    assert any("m1" in p and "potential" in p for p in ps)
    assert any("zz" in p for p in ps)


def test_duplicate_yaml_key() -> None:
    [p] = problems(DEMO.replace("period: month\n", "period: month\nperiod: week\n"))
    assert "appears twice" in p and "period" in p


def test_invalid_yaml_reports_line() -> None:
    [p] = problems(DEMO.replace("horizon: 6", "horizon: [6"))
    assert p.startswith("bad.yaml:") and "not valid YAML" in p


def test_wrong_policy_kind() -> None:
    ps = problems(DEMO.replace("kind: escalation", "kind: carrots"))
    assert any("policies[1]" in p and "kind" in p for p in ps)


def test_two_targets() -> None:
    ps = problems(DEMO.replace("{id: usa, role: power", "{id: usa, role: target"))
    assert any("exactly one" in p and p.startswith("bad.yaml:") for p in ps)


def test_not_a_mapping() -> None:
    [p] = problems("- just\n- a list\n")
    assert "not a mapping" in p


def test_missing_file_names_builtins() -> None:
    with pytest.raises(ScenarioError) as exc:
        load_scenario("/no/such/file.yaml")
    assert "iran-2011" in str(exc.value)


def test_builtins_load_and_have_sources() -> None:
    names = builtin_names()
    assert {"iran-2011", "holdup-demo"} <= set(names)
    for n in names:
        s = load_scenario(n)
        assert s.sources, n
        # every built-in datum traceable: each entity has a note or sources
        for group in (s.actors, s.concerns, s.measures, s.policies):
            for item in group:
                assert item.note or item.sources, (n, item.id)


def test_schema_is_json_and_names_contract_keys() -> None:
    schema = json.loads(json.dumps(json_schema()))
    assert schema["additionalProperties"] is False
    for key in (
        "name",
        "horizon",
        "tail",
        "actors",
        "institutions",
        "concerns",
        "measures",
        "policies",
        "votes",
    ):
        assert key in schema["properties"]


def test_hash_ignores_fields_at_their_defaults() -> None:
    import yaml

    from stepdeal.scenario import parse_scenario, scenario_hash

    s = load_scenario("holdup-demo")
    explicit = yaml.safe_dump(s.model_dump(mode="json", by_alias=True))  # every default spelt out
    assert scenario_hash(parse_scenario(explicit, "explicit")) == scenario_hash(s)
    changed = explicit.replace("horizon: 24", "horizon: 23")
    assert scenario_hash(parse_scenario(changed, "changed")) != scenario_hash(s)

"""Uncertain fields in scenario files: parsing, medians, errors with lines and fixes."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from stepdeal.scenario import ScenarioError, load_scenario, parse_scenario
from stepdeal.scenario.loader import builtin_text
from stepdeal.scenario.uncertainty import Dist


def _demo(replace: dict[str, str], extra: str = "") -> str:
    text = builtin_text("holdup-demo")
    for old, new in replace.items():
        assert old in text, old
        text = text.replace(old, new, 1)
    return text + extra


def test_point_scenario_uses_medians_and_space_lists_fields() -> None:
    text = _demo(
        {"    cost: 3\n": "    cost: {dist: triangular, low: 1, mode: 3, high: 5}\n"},
        extra=(
            "\nuncertainties:\n  - id: bite\n    dist: lognormal\n    median: 1\n    sigma: 0.3\n"
        ),
    )
    text = text.replace("impact: 1\n", "impact: {uncertainty: bite, scale: 1}\n", 1)
    s = parse_scenario(text, "demo.yaml")
    assert s.concerns[0].cost == 3.0  # symmetric triangular: median = mode
    space = s.uncertainty
    assert space.names == ["bite", "concerns.a.cost"]
    paths = {t.path for t in space.targets}
    assert ("concerns", "a", "cost") in paths
    assert any(p[0] == "measures" and p[2] == "impact" for p in paths)


@pytest.mark.parametrize(
    ("spec", "dist"),
    [
        ({"dist": "uniform", "low": 2, "high": 5}, stats.uniform(2, 3)),
        ({"dist": "normal", "mean": 1, "sd": 2}, stats.norm(1, 2)),
        ({"dist": "lognormal", "median": 3, "sigma": 0.4}, stats.lognorm(0.4, scale=3)),
        ({"dist": "triangular", "low": 0, "mode": 1, "high": 4}, stats.triang(0.25, 0, 4)),
        ({"dist": "beta", "a": 2, "b": 5}, stats.beta(2, 5)),
    ],
)
def test_ppf_matches_scipy(spec: dict[str, float], dist: object) -> None:
    u = np.linspace(0.01, 0.99, 25)
    assert np.allclose(Dist.model_validate(spec).ppf(u), dist.ppf(u))  # type: ignore[attr-defined]


def test_truncated_normal_stays_in_bounds_and_choice_uses_weights() -> None:
    d = Dist.model_validate({"dist": "normal", "mean": 0.5, "sd": 1, "low": 0, "high": 1})
    x = d.ppf(np.random.default_rng(0).random(1000))
    assert x.min() >= 0 and x.max() <= 1
    c = Dist.model_validate({"dist": "choice", "values": [1, 2, 3], "weights": [1, 0, 3]})
    got = c.ppf(np.random.default_rng(1).random(4000))
    assert set(np.unique(got)) == {1.0, 3.0}
    assert abs((got == 3).mean() - 0.75) < 0.03


@pytest.mark.parametrize(
    ("old", "new", "needle"),
    [
        ("    verify: 1.0\n", "    verify: {dist: normal, mean: 0.9, sd: 0.1}\n", "outside [0, 1]"),
        ("    cost: 3\n", "    cost: {dist: gamma, shape: 2}\n", "unknown"),
        ("    cost: 3\n", "    cost: {dist: uniform, low: 4, high: 2}\n", "low must be below high"),
        ("    cost: 3\n", "    cost: {dist: triangular, low: 1, high: 5}\n", "missing mode"),
        ("    cost: 3\n", "    cost: {uncertainty: nowhere}\n", "unknown uncertainty"),
        ("horizon: 24\n", "horizon: {dist: uniform, low: 10, high: 30}\n", "cannot be uncertain"),
    ],
)
def test_bad_uncertainty_names_line_field_and_fix(old: str, new: str, needle: str) -> None:
    text = _demo({old: new})
    line = text[: text.index(new)].count("\n") + 1
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, "demo.yaml")
    msg = str(info.value)
    assert needle in msg and "Fix:" in msg
    assert f"demo.yaml:{line}:" in msg


def test_iran_uncertainties_keep_the_point_numbers() -> None:
    s = load_scenario("iran-2011")
    assert len(s.uncertainty.variables) == 6
    assert np.allclose(s.uncertainty.medians(), 1.0)
    assert s.concerns[0].cost == 2.0 and s.actors[0].discount == 0.98
    for v in s.uncertainties:
        assert v.sources, v.id


def test_choice_median_uses_sorted_values() -> None:
    assert Dist.model_validate({"dist": "choice", "values": [3, 1, 2]}).median_value() == 2.0


def test_a_broken_named_uncertainty_is_reported_once() -> None:
    text = _demo(
        {"    cost: 3\n": "    cost: {uncertainty: bite}\n"},
        extra="\nuncertainties:\n  - id: bite\n    dist: lognormal\n    median: 1\n    sd: 0.3\n",
    )
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, "demo.yaml")
    assert len(info.value.problems) == 1
    assert "unknown uncertainty" not in str(info.value)

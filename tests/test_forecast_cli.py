"""The `stepdeal forecast` command: JSON contract, KTAB CSV input, --apply-to round trip."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from stepdeal.cli.main import app
from stepdeal.scenario import load_scenario

runner = CliRunner()
KTAB_CSV = Path(__file__).resolve().parent / "data" / "ktab" / "dummyData_3Dim.csv"
CONTRACT = {"model", "dimensions", "actors", "rounds", "forecast"}


@pytest.mark.parametrize("model", ["compromise", "bdm", "smp"])
def test_json_contract_on_iran(model: str) -> None:
    res = runner.invoke(app, ["forecast", "iran-2011", "--model", model, "--json"])
    assert res.exit_code == 0, res.output
    d = json.loads(res.stdout)
    assert set(d) >= CONTRACT and d["model"] == model
    assert d["dimensions"] == ["accept-plan", "relief-per-step", "further-un-sanctions"]
    assert d["actors"][0] == "lavrov" and len(d["actors"]) == 8
    first = d["rounds"][0]
    assert first["lavrov"] == [95.0, 85.0, 5.0]  # the initial state, on the input scale
    assert len(d["forecast"]) == 3 and all(0 <= v <= 100 for v in d["forecast"])
    if model == "smp":
        assert len(d["probabilities"]) == len(d["rounds"])
        assert sum(d["probabilities"][0].values()) == pytest.approx(1.0)


def test_compromise_forecast_is_the_weighted_mean() -> None:
    d = json.loads(
        runner.invoke(app, ["forecast", "iran-2011", "--model", "compromise", "--json"]).stdout
    )
    sh = load_scenario("iran-2011").stakeholders
    assert sh is not None
    w = [a.capability * a.salience["accept-plan"] for a in sh.actors]
    x = [a.position["accept-plan"] for a in sh.actors]
    assert d["forecast"][0] == pytest.approx(sum(a * b for a, b in zip(w, x, strict=True)) / sum(w))


def test_ktab_csv_loads_as_is() -> None:
    res = runner.invoke(app, ["forecast", str(KTAB_CSV), "--model", "smp", "--json"])
    assert res.exit_code == 0, res.output
    d = json.loads(res.stdout)
    assert len(d["actors"]) == 7 and len(d["dimensions"]) == 3


def test_all_models_table_plot_and_apply_to(tmp_path: Path) -> None:
    png = tmp_path / "fc.png"
    new = tmp_path / "iran-fc.yaml"
    res = runner.invoke(
        app,
        ["forecast", "iran-2011", "--plot", str(png), "--apply-to", "iran-2011", "-o", str(new)],
    )
    assert res.exit_code == 0, res.output
    for model in ("compromise", "bdm", "smp"):
        assert model in res.stdout
    assert png.stat().st_size > 10_000
    assert "applied: russia escalate vote" in res.stdout
    assert runner.invoke(app, ["validate", str(new)]).exit_code == 0
    ran = runner.invoke(app, ["run", str(new), "--policy", "dual-track", "--json"])
    assert ran.exit_code == 0, ran.output


def test_forecast_errors_are_clear() -> None:
    bad = runner.invoke(app, ["forecast", "holdup-demo"])
    assert bad.exit_code == 2 and "stakeholders" in bad.output and "Fix:" in bad.output
    bad = runner.invoke(app, ["forecast", "iran-2011", "--model", "oracle"])
    assert bad.exit_code == 2 and "Fix:" in bad.output
    bad = runner.invoke(app, ["forecast", "iran-2011", "--apply-to", "iran-2011"])
    assert bad.exit_code == 2 and "-o" in bad.output

"""The CLI: verbs, exit codes, the JSON contracts, no tracebacks on bad input."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from stepdeal.cli.main import app

from .conftest import CONTRACT

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args))


def test_list_names_builtins() -> None:
    r = invoke("list")
    assert r.exit_code == 0
    assert "iran-2011" in r.output and "holdup-demo" in r.output


def test_validate_ok(tiny_file: Path) -> None:
    r = invoke("validate", str(tiny_file))
    assert r.exit_code == 0 and "ok" in r.output


def test_validate_bad_file_exit_2_no_traceback(tmp_path: Path, tiny_file: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(tiny_file.read_text().replace("horizon: 6", "horizon: six"))
    r = invoke("validate", str(bad))
    assert r.exit_code == 2
    assert "Traceback" not in r.output
    assert "bad.yaml:4: horizon:" in r.output.replace("\n", "") and "Fix:" in r.output


def test_schema_is_json() -> None:
    r = invoke("schema")
    assert r.exit_code == 0
    assert json.loads(r.output)["title"] == "stepdeal scenario"


def test_run_json_contract(tiny_file: Path) -> None:
    r = invoke("run", str(tiny_file), "--policy", "step-by-step", "--seed", "4", "--json")
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    assert d.keys() >= CONTRACT
    assert d["policy"] == "step-by-step" and d["seed"] == 4 and d["scenario"] == "tiny"


def test_run_table(tiny_file: Path) -> None:
    r = invoke("run", str(tiny_file), "--policy", "dual-track")
    assert r.exit_code == 0 and "dual-track" in r.output


def test_unknown_policy_exit_2(tiny_file: Path) -> None:
    r = invoke("run", str(tiny_file), "--policy", "carrots")
    assert r.exit_code == 2 and "step-by-step" in r.output and "Traceback" not in r.output


def test_unknown_strategy_exit_2(tiny_file: Path) -> None:
    r = invoke("run", str(tiny_file), "--strategy", "sly")
    assert r.exit_code == 2 and "optimal" in r.output


def test_compare_json_is_keyed_by_policy(tiny_file: Path) -> None:
    r = invoke("compare", str(tiny_file), "--json")
    assert r.exit_code == 0
    d = json.loads(r.output)
    assert set(d) == {"step-by-step", "dual-track"}
    for pid, obj in d.items():
        assert obj.keys() >= CONTRACT and obj["policy"] == pid


def test_compare_table_iran() -> None:
    r = invoke("compare", "iran-2011")
    assert r.exit_code == 0
    assert "step-by-step" in r.output and "dual-track" in r.output and "resolved" in r.output


def test_report_writes_html_and_png(tmp_path: Path, tiny_file: Path) -> None:
    out = tmp_path / "r.html"
    png = tmp_path / "r.png"
    r = invoke("report", str(tiny_file), "-o", str(out), "--png", str(png))
    assert r.exit_code == 0, r.output
    html = out.read_text()
    assert "<html" in html and "data:image/png;base64," in html
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_report_unwritable_path_exit_2(tiny_file: Path) -> None:
    r = invoke("report", str(tiny_file), "-o", str(tiny_file / "r.html"))  # parent is a file
    assert r.exit_code == 2 and "cannot write" in r.output


def test_missing_scenario_exit_2() -> None:
    r = invoke("run", "no-such-scenario")
    assert r.exit_code == 2 and "iran-2011" in r.output


def test_state_graph_budget_is_a_clear_error(tmp_path: Path) -> None:
    import sys

    sys.path.insert(0, str(Path(__file__).parents[1] / "benchmarks"))
    from generate import benchmark_scenario

    from stepdeal.mechanisms import compile_game
    from stepdeal.solve import StateGraphTooLarge, solve_best_response

    g = compile_game(benchmark_scenario(8, 6, 12), "grand-bargain")
    try:
        solve_best_response(g, max_size=1000)
    except StateGraphTooLarge as exc:
        assert "strict" in str(exc) and "1,000" in str(exc)
    else:
        raise AssertionError("expected StateGraphTooLarge")


def test_check_json_contract() -> None:
    r = invoke("check", "holdup-demo", "--policy", "step-by-step", "--json")
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    assert {"steps", "votes", "holdup"} <= d.keys()
    for s in d["steps"]:
        assert set(s) >= {"concern", "period", "gain_vs_wait", "gain_vs_never"}
    for v in d["votes"]:
        assert set(v) >= {"period", "institution", "member", "proposal", "vote", "gain_vs_opposite"}
    assert set(d["holdup"]) == {"concern", "period", "extra_relief"}


def test_check_table() -> None:
    r = invoke("check", "holdup-demo", "--policy", "step-by-step")
    assert r.exit_code == 0 and "Hold-up at c" in r.output


def test_negative_seed_is_a_clear_error(tiny_file: Path) -> None:
    r = invoke("run", str(tiny_file), "--seed", "-1")
    assert r.exit_code == 2 and "Traceback" not in r.output


def test_report_lists_assumptions(tmp_path: Path, tiny_file: Path) -> None:
    text = tiny_file.read_text().replace(
        "  - {id: c, cost: 30, value: {usa: 2}}",
        "  - {id: c, cost: 30, value: {usa: 2}, note: 'ASSUMPTION: hardest & last'}",
    )
    f = tmp_path / "noted.yaml"
    f.write_text(text)
    out = tmp_path / "r.html"
    assert invoke("report", str(f), "-o", str(out)).exit_code == 0
    html = out.read_text()
    assert "ASSUMPTION: hardest &amp; last" in html and 'id="assumptions"' in html


def test_export_efg(tmp_path: Path) -> None:
    out = tmp_path / "g.efg"
    r = invoke("export", "holdup-demo", "--policy", "step-by-step", "-o", str(out))
    assert r.exit_code == 0, r.output
    assert out.read_text().startswith("EFG 2 R")


def test_export_refuses_large_trees() -> None:
    r = invoke("export", "iran-2011", "--policy", "dual-track", "--max-nodes", "1000")
    assert r.exit_code == 2 and "horizon" in r.output and "Traceback" not in r.output

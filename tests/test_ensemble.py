"""Ensembles: same seed, same numbers on every executor; kill -9 and resume; failed
samples recorded; the store refuses to mix runs; DuckDB queries; the CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from stepdeal.cli.main import app
from stepdeal.ensemble.evaluate import evaluate, invalid_draws, params_for
from stepdeal.ensemble.run import run_ensemble
from stepdeal.ensemble.sampling import make_design
from stepdeal.ensemble.store import StoreError, load, query
from stepdeal.mechanisms import compile_game
from stepdeal.scenario import load_scenario, parse_scenario
from stepdeal.scenario.loader import builtin_text

runner = CliRunner()
POLICIES = ["step-by-step", "hybrid"]


@pytest.fixture(scope="module")
def local_run() -> pd.DataFrame:
    return run_ensemble("iran-2011", 24, "lhs", POLICIES, seed=5, chunk_size=7).results


def test_processes_give_identical_results(local_run: pd.DataFrame) -> None:
    res = run_ensemble(
        "iran-2011", 24, "lhs", POLICIES, seed=5, executor="processes", workers=2, chunk_size=7
    ).results
    pd.testing.assert_frame_equal(res, local_run, check_exact=True)


def test_dask_local_cluster_gives_identical_results(local_run: pd.DataFrame) -> None:
    pytest.importorskip("distributed")
    res = run_ensemble(
        "iran-2011", 24, "lhs", POLICIES, seed=5, executor="dask", workers=2, chunk_size=7
    ).results
    pd.testing.assert_frame_equal(res, local_run, check_exact=True)


def test_chunk_size_does_not_change_numbers(local_run: pd.DataFrame) -> None:
    res = run_ensemble("iran-2011", 24, "lhs", POLICIES, seed=5, chunk_size=24).results
    pd.testing.assert_frame_equal(res, local_run, check_exact=True)


def test_designs_are_seeded_and_shaped() -> None:
    a = make_design("lhs", 16, 3, seed=1).unit
    assert (a == make_design("lhs", 16, 3, seed=1).unit).all()
    assert not (a == make_design("lhs", 16, 3, seed=2).unit).all()
    # Latin hypercube: one point in each of the 16 slices of every axis
    assert all(sorted((a[:, j] * 16).astype(int)) == list(range(16)) for j in range(3))
    s = make_design("sobol", 8, 3, seed=1)
    assert s.unit.shape == (8 * (2 * 3 + 2), 3)
    with pytest.raises(ValueError, match="power of 2"):
        make_design("sobol", 10, 3, seed=1)


def test_outcomes_change_with_the_draws(local_run: pd.DataFrame) -> None:
    sbs = local_run[local_run["policy"] == "step-by-step"]
    assert sbs["ok"].all()
    assert sbs["target_utility"].nunique() > 10
    # the point scenario's value lies within the sampled range
    point = run_ensemble("holdup-demo", 1, "mc", ["step-by-step"], seed=0).results
    assert point["ok"].all() and point["expected_resolved"].iloc[0] == pytest.approx(2.0)


def test_graph_refusal_is_recorded_per_sample() -> None:
    text = builtin_text("holdup-demo").replace(
        "    verify: 1.0\n", "    verify: {dist: choice, values: [1.0, 0.5]}\n", 1
    )
    s = parse_scenario(text, "demo.yaml")
    values = np.array([[1.0], [0.5], [1.0], [0.5]])
    small = evaluate(s, ["dual-track"], values, np.arange(4), max_size=1)
    assert not small["ok"].any()
    assert small["error"].str.contains("exceeds the budget").all()
    game = compile_game(s, "dual-track")
    from stepdeal.solve.batch import BatchParams
    from stepdeal.solve.best_response import _Budget, forward_graph

    P = params_for(game, s.uncertainty, values)
    used = []
    for k in (0, 1):
        b = _Budget(game, 10**9)
        forward_graph(P.game(game, k), budget=b)
        used.append(b.used)
    assert used[0] < used[1]
    budget = used[0]  # exactly the certain sample's graph
    mixed = evaluate(s, ["dual-track"], values, np.arange(4), max_size=budget)
    assert list(mixed["ok"]) == [True, False, True, False]
    assert mixed.loc[~mixed["ok"], "expected_resolved"].isna().all()
    bad = BatchParams.of_game(game, 2)
    bad.verify[1, 0] = np.nan
    assert invalid_draws(game, bad) == [None, "verify is not a finite number"]


def test_store_refuses_a_different_run_and_queries(tmp_path: Path) -> None:
    out = tmp_path / "run"
    first = run_ensemble("holdup-demo", 6, "mc", None, seed=1, out=out, chunk_size=4)
    assert (out / "manifest.json").exists() and len(list((out / "results").iterdir())) == 2
    again = run_ensemble("holdup-demo", 6, "mc", None, seed=1, out=out, chunk_size=4)
    assert again.skipped_chunks == [0, 1]
    pd.testing.assert_frame_equal(again.results, first.results)
    with pytest.raises(StoreError, match="different run"):
        run_ensemble("holdup-demo", 6, "mc", None, seed=2, out=out, chunk_size=4)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(StoreError, match="not empty"):
        run_ensemble("holdup-demo", 6, "mc", None, seed=1, out=tmp_path / "other")
    assert (tmp_path / "other" / "notes.txt").read_text(encoding="utf-8") == "mine"
    q = query(out, "SELECT policy, count(*) AS n FROM results GROUP BY policy ORDER BY policy")
    pols = sorted(p.id for p in load_scenario("holdup-demo").policies)
    assert q.to_dict("list") == {"policy": pols, "n": [6] * len(pols)}


def test_kill_9_and_resume_lose_and_duplicate_nothing(tmp_path: Path) -> None:
    out = tmp_path / "run"
    cmd = [
        sys.executable,
        "-m",
        "stepdeal",
        "ensemble",
        "iran-2011",
        "-n",
        "60",
        "--policies",
        "step-by-step,dual-track",
        "--chunk-size",
        "5",
        "--seed",
        "3",
        "--out",
        str(out),
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while time.time() < deadline:
        if len(list((out / "results").glob("chunk-*.parquet"))) >= 2 if out.exists() else False:
            break
        time.sleep(0.2)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done_before = sorted(p.name for p in (out / "results").glob("chunk-*.parquet"))
    assert 2 <= len(done_before) < 12
    res = runner.invoke(app, cmd[3:])
    assert res.exit_code == 0, res.output
    _, _, results = load(out)
    assert len(results) == 60 * 2
    assert not results.duplicated(["sample", "policy"]).any()
    assert sorted(results["sample"].unique()) == list(range(60))
    runs = json.loads((out / "runs.json").read_text(encoding="utf-8"))
    assert runs[-1]["chunks_skipped"] == [int(n[6:11]) for n in done_before]
    assert not list((out / "results").glob(".chunk-*"))
    clean = run_ensemble(
        "iran-2011", 60, "lhs", ["step-by-step", "dual-track"], seed=3, chunk_size=60
    ).results
    pd.testing.assert_frame_equal(results, clean, check_exact=True)


def test_cli_ensemble_analyze_and_errors(tmp_path: Path) -> None:
    out = tmp_path / "sob"
    res = runner.invoke(
        app,
        [
            "ensemble",
            "iran-2011",
            "-n",
            "4",
            "--design",
            "sobol",
            "--policies",
            "step-by-step",
            "--out",
            str(out),
        ],
    )
    assert res.exit_code == 0, res.output
    a = runner.invoke(app, ["analyze", str(out), "--sobol", "--json"])
    assert a.exit_code == 0, a.output
    d = json.loads(a.stdout)
    assert {"distributions", "robustness", "sobol", "prim"} <= set(d)
    names = {row["name"] for row in d["sobol"]["step-by-step"]}
    assert names == set(load_scenario("iran-2011").uncertainty.names)
    lhs = tmp_path / "lhs"
    assert (
        runner.invoke(app, ["ensemble", "holdup-demo", "-n", "5", "--out", str(lhs)]).exit_code == 0
    )
    bad = runner.invoke(app, ["analyze", str(lhs), "--sobol"])
    assert bad.exit_code == 2 and "Fix:" in bad.output
    bad = runner.invoke(app, ["ensemble", "holdup-demo", "-n", "5", "--policies", "nope"])
    assert bad.exit_code == 2 and "Fix:" in bad.output
    bad = runner.invoke(app, ["analyze", str(tmp_path / "missing")])
    assert bad.exit_code == 2 and "Fix:" in bad.output
    q = runner.invoke(app, ["query", str(lhs), "SELECT count(*) AS n FROM results", "--json"])
    assert q.exit_code == 0 and json.loads(q.stdout) == [{"n": 15}]


def test_cli_report_of_an_ensemble_run(tmp_path: Path) -> None:
    run = tmp_path / "run"
    assert (
        runner.invoke(app, ["ensemble", "holdup-demo", "-n", "6", "--out", str(run)]).exit_code == 0
    )
    page = tmp_path / "page" / "report.html"
    res = runner.invoke(app, ["report", str(run), "-o", str(page), "--threshold", "2"])
    assert res.exit_code == 0, res.output
    text = page.read_text(encoding="utf-8")
    assert "Content-Security-Policy" in text and "holdup-demo" in text

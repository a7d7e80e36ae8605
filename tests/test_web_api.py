"""The web app's JSON API: every endpoint, bad input gets 4xx (never 500), the token."""

from __future__ import annotations

import io
import json
import sqlite3
import time
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from stepdeal.cli.main import app as cli
from stepdeal.scenario.loader import builtin_text
from stepdeal.web.app import MAX_BODY, create_app


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> TestClient:
    db = tmp_path_factory.mktemp("web") / "app.db"
    return TestClient(create_app(db=db), raise_server_exceptions=False)


def test_scenarios_and_openapi(client: TestClient) -> None:
    names = [s["name"] for s in client.get("/api/scenarios").json()]
    assert {"iran-2011", "holdup-demo"} <= set(names)
    assert "step-by-step" in client.get("/api/scenarios/holdup-demo").json()["yaml"]
    assert client.get("/api/scenarios/nope").status_code == 404
    assert "/api/compare" in client.get("/openapi.json").json()["paths"]


def test_compare_check_design_forecast(client: TestClient) -> None:
    r = client.post("/api/compare", json={"name": "holdup-demo"})
    assert r.status_code == 200 and set(r.json()) == {"step-by-step", "dual-track", "grand-bargain"}
    r = client.post("/api/check", json={"name": "holdup-demo", "policy": "step-by-step"})
    assert r.status_code == 200 and {"steps", "votes", "holdup"} <= set(r.json())
    r = client.post("/api/design", json={"name": "holdup-demo"})
    assert r.status_code == 200 and r.json()["status"] == "exact"
    r = client.post("/api/forecast", json={"name": "iran-2011", "model": "compromise"})
    assert r.status_code == 200 and len(r.json()["forecast"]) == 3


def test_changed_parameter_changes_the_result(client: TestClient) -> None:
    text = builtin_text("holdup-demo")
    base = client.post("/api/compare", json={"yaml": text}).json()
    cheaper = text.replace("    cost: 25\n", "    cost: 2\n", 1)
    new = client.post("/api/compare", json={"yaml": cheaper}).json()
    assert base["step-by-step"]["resolved"] != new["step-by-step"]["resolved"]


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"yaml": "name: [unclosed"}, 422),
        ({"yaml": "horizon: 3\n"}, 422),
        ({}, 422),
        ({"name": "holdup-demo", "yaml": "x"}, 422),
        ({"name": "../../etc/passwd"}, 404),
        ({"name": 12}, 422),
    ],
)
def test_bad_input_is_4xx_with_problems(client: TestClient, body: dict, status: int) -> None:
    r = client.post("/api/validate", json=body)
    assert r.status_code == status
    if status != 422 or "problems" in r.json():
        assert r.json().get("problems") or r.json().get("detail")


def test_validate_reports_line_and_fix(client: TestClient) -> None:
    text = builtin_text("holdup-demo").replace("horizon: 24", "horizon: -1", 1)
    problems = client.post("/api/validate", json={"yaml": text}).json()["problems"]
    assert problems[0]["path"] == "horizon" and problems[0]["line"] and problems[0]["fix"]


def test_huge_body_is_refused(client: TestClient) -> None:
    r = client.post("/api/validate", json={"yaml": "x" * (MAX_BODY + 10)})
    assert r.status_code == 413


def test_token_is_required_when_set() -> None:
    c = TestClient(create_app(token="s3cret"), raise_server_exceptions=False)
    assert c.get("/api/scenarios").status_code == 401
    ok = c.get("/api/scenarios", headers={"Authorization": "Bearer s3cret"})
    assert ok.status_code == 200


def test_serve_refuses_public_host_without_token() -> None:
    res = CliRunner().invoke(cli, ["serve", "--host", "0.0.0.0"], env={"STEPDEAL_TOKEN": ""})
    assert res.exit_code == 2 and "Fix:" in res.output


def test_save_reload_and_compare_a_saved_scenario(tmp_path) -> None:  # type: ignore[no-untyped-def]
    db = tmp_path / "app.db"
    c = TestClient(create_app(db=db), raise_server_exceptions=False)
    text = builtin_text("holdup-demo").replace("    cost: 25\n", "    cost: 2\n", 1)
    r = c.post("/api/saved", json={"yaml": text})
    assert r.status_code == 201
    sid = r.json()["id"]
    assert c.post("/api/saved", json={"yaml": "horizon: nope"}).status_code == 422
    assert [s["id"] for s in c.get("/api/saved").json()] == [sid]
    assert c.get(f"/api/saved/{sid}").json()["yaml"] == text
    assert c.get("/api/saved/999").status_code == 404
    ran = c.post("/api/compare", json={"saved": sid}).json()
    direct = c.post("/api/compare", json={"yaml": text}).json()
    for pid, r in ran.items():  # the same numbers (timings aside)
        for key in ("resolved", "steps", "pressure", "expected_target_utility"):
            assert r[key] == direct[pid][key], (pid, key)
    # a fresh app on the same file (a restart) still has it, and migrations ran once
    c2 = TestClient(create_app(db=db), raise_server_exceptions=False)
    assert c2.get(f"/api/saved/{sid}").json()["name"] == "holdup-demo"
    from stepdeal.web.store import MIGRATIONS, Store

    assert Store(db).version == len(MIGRATIONS)


def _wait(c: TestClient, rid: int, timeout: float = 120.0) -> dict:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        row = c.get(f"/api/runs/{rid}").json()
        if row["status"] in ("done", "failed"):
            return row
        time.sleep(0.1)
    raise AssertionError(f"run {rid} did not finish")


def test_version_schema_and_inspect(client: TestClient) -> None:
    assert client.get("/api/version").json()["version"]
    schema = client.get("/api/schema").json()
    assert "concerns" in schema["properties"] and "$defs" in schema
    info = client.post("/api/inspect", json={"name": "iran-2011"}).json()
    sliders = {u["id"]: u for u in info["uncertainties"]}
    assert {"sanctions-bite", "russia-trade"} <= set(sliders)
    for u in sliders.values():
        assert u["low"] <= u["median"] <= u["high"] and u["step"] > 0
    assert info["unit"] == "USD bn-equivalent" and info["period"] == "month"
    assert [p["id"] for p in info["policies"]][:2] == ["step-by-step", "dual-track"]


def test_values_move_the_uncertain_fields(client: TestClient) -> None:
    base = client.post("/api/compare", json={"name": "iran-2011"}).json()
    same = client.post("/api/compare", json={"name": "iran-2011", "values": {}}).json()
    assert base["dual-track"]["resolved"] == same["dual-track"]["resolved"]
    bite = {"name": "iran-2011", "values": {"sanctions-bite": 2.0}}
    moved = client.post("/api/compare", json=bite).json()
    assert len(moved["dual-track"]["resolved"]) > len(base["dual-track"]["resolved"])
    bad = client.post("/api/compare", json={"name": "iran-2011", "values": {"nope": 1}})
    assert bad.status_code == 422 and "sanctions-bite" in bad.json()["problems"][0]["message"]
    out = {"name": "iran-2011", "values": {"verification-pace": 3.0}}
    problems = client.post("/api/compare", json=out).json()["problems"]
    assert "verify" in problems[0]["message"] and "concerns." in problems[0]["message"]


def test_yaml_parse_and_dump_round_trip(client: TestClient) -> None:
    text = builtin_text("holdup-demo")
    data = client.post("/api/yaml/parse", json={"yaml": text}).json()["data"]
    back = client.post("/api/yaml/dump", json={"data": data}).json()["yaml"]
    assert client.post("/api/validate", json={"yaml": back}).status_code == 200
    assert list(data) == list(client.post("/api/yaml/parse", json={"yaml": back}).json()["data"])
    bad = client.post("/api/yaml/parse", json={"yaml": "a: 1\nb: [2,\n"})
    assert bad.status_code == 422 and bad.json()["problems"][0]["line"] == 3
    assert client.post("/api/yaml/parse", json={"yaml": "- 1"}).status_code == 422


def test_table_and_report_downloads(client: TestClient) -> None:
    r = client.post("/api/compare/table", json={"name": "holdup-demo", "format": "csv"})
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    frame = pd.read_csv(io.StringIO(r.text))
    run = client.post("/api/compare", json={"name": "holdup-demo"}).json()
    sbs = frame[frame["policy"] == "step-by-step"]
    col = "pressure (USD bn-equivalent per month)"
    assert sbs[col].tolist() == pytest.approx(run["step-by-step"]["pressure"])
    r = client.post("/api/compare/table", json={"name": "holdup-demo", "format": "parquet"})
    assert pd.read_parquet(io.BytesIO(r.content)).shape == frame.shape
    html = client.post("/api/report", json={"name": "holdup-demo"})
    assert html.status_code == 200 and "<!DOCTYPE html>" in html.text


def test_saved_runs_record_hash_seed_version_and_results(tmp_path) -> None:  # type: ignore[no-untyped-def]
    c = TestClient(create_app(db=tmp_path / "app.db"), raise_server_exceptions=False)
    r = c.post("/api/runs", json={"kind": "compare", "name": "holdup-demo", "seed": 3})
    assert r.status_code == 202
    row = _wait(c, r.json()["id"])
    direct = c.post("/api/compare", json={"name": "holdup-demo", "seed": 3}).json()
    assert row["status"] == "done" and row["seed"] == 3 and row["version"]
    assert row["scenario_hash"] == direct["step-by-step"]["scenario_hash"]
    assert row["result"]["step-by-step"]["resolved"] == direct["step-by-step"]["resolved"]
    assert row["yaml"] == builtin_text("holdup-demo")
    csv = c.get(f"/api/runs/{row['id']}/download?format=csv")
    assert csv.status_code == 200 and "pressure" in csv.text
    e = c.post("/api/runs", json={"kind": "ensemble", "name": "iran-2011", "n": 8, "seed": 1})
    ens = _wait(c, e.json()["id"])
    assert ens["status"] == "done", ens["error"]
    assert ens["progress"] == {"done": 8, "total": 8}
    vals = ens["result"]["values"]["step-by-step"]["expected_resolved"]
    assert len(vals) == 8 and all(0 <= v <= 8 for v in vals)
    pq = c.get(f"/api/runs/{ens['id']}/download?format=parquet")
    frame = pd.read_parquet(io.BytesIO(pq.content))
    assert len(frame) == 8 * 5 and set(frame["policy"]) >= {"step-by-step", "dual-track"}
    got = frame[frame["policy"] == "step-by-step"].sort_values("sample")["expected_resolved"]
    assert got.tolist() == pytest.approx(vals)
    listed = c.get("/api/runs").json()
    assert [x["kind"] for x in listed] == ["compare", "ensemble"] and "result" not in listed[0]


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"kind": "ensemble", "name": "iran-2011", "n": 0}, 422),
        ({"kind": "ensemble", "name": "iran-2011", "n": 10**6}, 422),
        ({"kind": "ensemble", "name": "iran-2011", "n": 100, "design": "sobol"}, 422),
        ({"kind": "ensemble", "name": "iran-2011", "policies": ["nope"]}, 404),
        ({"kind": "ensemble", "name": "iran-2011", "values": {"sanctions-bite": 2}}, 422),
        ({"kind": "shell", "name": "iran-2011"}, 422),
        ({"kind": "check", "name": "iran-2011", "policy": "nope"}, 404),
    ],
)
def test_bad_runs_are_refused(client: TestClient, body: dict, status: int) -> None:
    r = client.post("/api/runs", json=body)
    assert r.status_code == status and r.json()["problems"]


def test_unknown_run_and_failed_download(client: TestClient) -> None:
    assert client.get("/api/runs/999").status_code == 404
    assert client.get("/api/runs/999/download").status_code == 404


def test_interrupted_runs_are_kept_and_marked(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from stepdeal.web.store import Store

    db = tmp_path / "app.db"
    s = Store(db)
    rid = s.add_run("ensemble", "x", "h", "yaml", 0, "0.1.0", {"n": 5})
    s.set_progress(rid, 2, 5)
    s.close()  # the app stops mid-run
    row = Store(db).run(rid)
    assert row is not None and row["status"] == "interrupted"
    assert row["progress"] == {"done": 2, "total": 5}


def test_upgrade_from_schema_1_keeps_saved_scenarios(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from stepdeal.web.store import MIGRATIONS, Store

    db = tmp_path / "old.db"
    con = sqlite3.connect(db)  # a database written by the first release
    con.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    con.execute(MIGRATIONS[0])
    con.execute("INSERT INTO schema_version VALUES (1)")
    con.execute("INSERT INTO scenarios (name, yaml, sha256, created) VALUES ('a', 'y', 'h', 't')")
    con.commit()
    con.close()
    s = Store(db)
    assert s.version == len(MIGRATIONS) and s.list()[0]["name"] == "a"
    assert s.runs() == []


def test_security_headers_content_type_and_host(tmp_path) -> None:  # type: ignore[no-untyped-def]
    app = create_app(db=tmp_path / "a.db", local_only=True)
    local = TestClient(app, base_url="http://127.0.0.1:8000", raise_server_exceptions=False)
    r = local.get("/api/version")
    assert r.status_code == 200 and "script-src 'self'" in r.headers["content-security-policy"]
    form = local.post(
        "/api/saved",
        content="yaml=x",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert form.status_code == 415  # a cross-site form cannot post JSON
    rebound = TestClient(app, base_url="http://attacker.example", raise_server_exceptions=False)
    assert rebound.get("/api/version").status_code == 400
    assert local.get("/docs").status_code == 404  # Swagger UI would load from a CDN


def test_streamed_body_over_the_limit_is_refused(client: TestClient) -> None:
    def chunks():  # type: ignore[no-untyped-def]
        for _ in range(30):
            yield b" " * 50_000

    r = client.post("/api/validate", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413 and r.json()["problems"]


def test_static_files_and_no_paths_from_requests(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and "app.js" in page.text
    assert client.get("/static/app.js").status_code == 200
    assert client.get("/static/vendor/plotly.min.js").status_code == 200
    for bad in ("/static/..%2Fapp.py", "/static/%2E%2E/store.py", "/static/nope.js"):
        assert client.get(bad).status_code == 404
    assert json.loads(client.get("/openapi.json").text)["info"]["title"] == "stepdeal"


def test_serve_command_starts_the_app(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import os
    import socket
    import subprocess
    import sys
    import urllib.request

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    cmd = [sys.executable, "-m", "stepdeal", "serve", "--port", str(port)]
    cmd += ["--db", str(tmp_path / "s.db")]
    proc = subprocess.Popen(
        cmd, stderr=subprocess.PIPE, env={**os.environ, "STEPDEAL_TOKEN": ""}, text=True
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                with urllib.request.urlopen(f"{base}/api/version", timeout=1) as r:
                    assert json.loads(r.read())["version"]
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise AssertionError("stepdeal serve did not answer")
        with urllib.request.urlopen(f"{base}/", timeout=5) as r:
            assert "stepdeal" in r.read().decode()
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=20)
    assert f"open http://127.0.0.1:{port}/" in err


def test_types_in_inspect_compare_and_check(client: TestClient) -> None:
    """A scenario with target types: the true type is a parameter, beliefs come back."""
    text = (Path(__file__).parent / "data" / "kydd.yaml").read_text()
    info = client.post("/api/inspect", json={"yaml": text}).json()
    assert [t["id"] for t in info["types"]] == ["trustworthy", "untrustworthy"]
    r = client.post("/api/compare", json={"yaml": text, "type": "untrustworthy"}).json()
    assert r["reassure"]["types"]["true_type"] == "untrustworthy"
    assert r["reassure"]["types"]["separation"]["verdict"] == "separating"
    assert r["reassure"]["beliefs"] == [{"trustworthy": 0.0, "untrustworthy": 1.0}]
    c = client.post("/api/check", json={"yaml": text, "type": "trustworthy"}).json()
    assert c["true_type"] == "trustworthy" and c["beliefs"][0]["kind"] == "separating"
    bad = client.post("/api/compare", json={"yaml": text, "type": "saint"})
    assert bad.status_code == 422
    problem = bad.json()["problems"][0]
    assert problem["path"] == "type" and "untrustworthy" in problem["fix"]
    none = client.post("/api/check", json={"name": "holdup-demo", "type": "x"})
    assert none.status_code == 422 and "has none" in none.json()["problems"][0]["fix"]

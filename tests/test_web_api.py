"""The web app's JSON API: every endpoint, bad input gets 4xx (never 500), the token."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from stepdeal.cli.main import app as cli
from stepdeal.scenario.loader import builtin_text
from stepdeal.web.app import MAX_BODY, create_app


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(create_app(), raise_server_exceptions=False)


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

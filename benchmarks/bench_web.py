"""Benchmark: the web app's API and the back-tests (run on demand, not in CI).

Times, through the in-process ASGI client (no network), the endpoints the pages call
most (gallery, inspect, compare cold and cached, a slider move) and a 200-sample
ensemble launched as a saved run; then ``stepdeal backtest`` per built-in case with
200 samples. Usage: ``python benchmarks/bench_web.py``.
"""

from __future__ import annotations

import platform
import tempfile
import time
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from stepdeal.backtest import backtest
from stepdeal.scenario import builtin_names, load_scenario
from stepdeal.web.app import create_app


def timed(fn: Any) -> tuple[float, Any]:
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def main() -> None:
    print(
        f"machine: {platform.machine()}, {platform.processor() or '?'}, "
        f"Python {platform.python_version()}"
    )
    c = TestClient(create_app(db=Path(tempfile.mkdtemp()) / "bench.db"))
    src = {"name": "iran-2011"}
    rows = [
        ("GET /api/scenarios (first, loads the built-ins)", lambda: c.get("/api/scenarios")),
        ("GET /api/scenarios (again)", lambda: c.get("/api/scenarios")),
        ("POST /api/inspect iran-2011", lambda: c.post("/api/inspect", json=src)),
        ("POST /api/compare iran-2011 (cold)", lambda: c.post("/api/compare", json=src)),
        ("POST /api/compare iran-2011 (cached)", lambda: c.post("/api/compare", json=src)),
        (
            "POST /api/compare iran-2011, slider moved (cold)",
            lambda: c.post("/api/compare", json={**src, "values": {"russia-trade": 2.0}}),
        ),
    ]
    for label, fn in rows:
        s, r = timed(fn)
        assert r.status_code == 200, r.text
        print(f"{label:55s} {s:8.3f} s")

    def ensemble() -> dict[str, Any]:
        rid = c.post("/api/runs", json={**src, "kind": "ensemble", "n": 200}).json()["id"]
        while True:
            row = c.get(f"/api/runs/{rid}").json()
            if row["status"] in ("done", "failed"):
                return row
            time.sleep(0.05)

    s, row = timed(ensemble)
    print(
        f"{'ensemble run, iran-2011, 200 LHS samples x 5 policies':55s} {s:8.3f} s "
        f"({row['status']})"
    )
    for name in builtin_names():
        sc = load_scenario(name)
        if sc.history is None:
            continue
        s, r = timed(lambda sc=sc: backtest(sc, n=200))
        share = r.sensitivity["share"]["matches"] if r.sensitivity else None
        print(
            f"{'backtest ' + name + ' (-n 200)':55s} {s:8.3f} s  verdict {r.score.verdict}, "
            f"share matching {share}"
        )


if __name__ == "__main__":
    main()

"""What the web app computes, and the queue that runs saved runs in the background.

:func:`compute` is the one place that turns (kind, scenario, parameters) into the
JSON the pages show, so a run answered at once (``POST /api/compare``) and a saved
run (``POST /api/runs``) give the same numbers. :class:`Jobs` runs saved runs one at
a time in a background thread and records each in the :class:`~.store.Store` with
the scenario text and hash, seed, version, progress and result.
"""

from __future__ import annotations

import shutil
import time
import traceback
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__
from ..scenario import Scenario, scenario_hash
from .store import Store

Progress = Callable[[int, int], None]

#: kinds of run; ``ensemble`` is the only one that reports progress chunk by chunk
KINDS = ("compare", "check", "design", "forecast", "ensemble")

#: outcomes whose per-sample values an ensemble result carries for the plots
SAMPLE_OUTCOMES = ("expected_resolved", "target_utility", "powers_total_utility")


def compute(kind: str, s: Scenario, params: dict[str, Any]) -> dict[str, Any]:
    """The JSON result of ``kind`` on scenario ``s`` (not ``ensemble``: see :class:`Jobs`)."""
    seed = int(params.get("seed", 0))
    if kind == "compare":
        from ..api import compare

        ttype = params.get("type")
        return {pid: r.to_dict() for pid, r in compare(s, rng=seed, true_type=ttype).items()}
    if kind == "check":
        from ..api import check_run, run

        ttype = params.get("type")
        r = run(s, params.get("policy") or s.policies[0].id, "optimal", seed, ttype)
        out: dict[str, Any] = check_run(r, ttype).to_dict()
        return out
    if kind == "design":
        from ..solve.design import design

        result = design(s, params.get("objective", "resolved"), seed)
        out = result.to_dict()
        out["yaml"] = result.to_yaml()
        return out
    if kind == "forecast":
        from ..forecast.link import table_from_scenario
        from ..forecast.run import run_model

        return run_model(table_from_scenario(s), params.get("model", "compromise")).to_dict()
    raise ValueError(f"unknown kind {kind!r}. Fix: use one of {', '.join(KINDS)}")


def run_ensemble_dir(
    yaml_text: str, folder: Path, params: dict[str, Any], progress: Progress
) -> dict[str, Any]:
    """Run an ensemble into ``folder`` (its Parquet store) and return its analysis with
    the per-sample values of :data:`SAMPLE_OUTCOMES` per policy."""
    from ..ensemble.analyze import analyze_run, json_safe
    from ..ensemble.run import run_ensemble
    from ..ensemble.store import load

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "scenario.yaml"
    path.write_text(yaml_text, encoding="utf-8")
    run_ensemble(
        path,
        int(params["n"]),
        design=str(params.get("design", "lhs")),
        policies=params.get("policies") or None,
        seed=int(params.get("seed", 0)),
        out=folder / "store",
        progress=progress,
        collect=False,
    )
    manifest, inputs, results = load(folder / "store")
    analysis = analyze_run(manifest, inputs, results).to_dict()
    values: dict[str, dict[str, list[float | None]]] = {}
    for pid in manifest["policies"]:
        rows = results[results["policy"] == pid].sort_values("sample")
        values[pid] = {
            o: json_safe([float(x) for x in np.asarray(rows[o], dtype=float)])
            for o in SAMPLE_OUTCOMES
        }
    return {"analysis": analysis, "values": values, "inputs": json_safe(inputs.to_dict("list"))}


class Jobs:
    """Saved runs, executed one at a time in a background thread."""

    def __init__(self, store: Callable[[], Store]) -> None:
        self._store = store
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="stepdeal-run")
        self.futures: dict[int, Future[None]] = {}

    def folder(self, rid: int) -> Path:
        return self._store().runs_dir / str(rid)

    def submit(self, kind: str, s: Scenario, yaml_text: str, params: dict[str, Any]) -> int:
        """Record a queued run of ``kind`` and start it; returns the run id."""
        if kind not in KINDS:
            raise ValueError(f"unknown kind {kind!r}. Fix: use one of {', '.join(KINDS)}")
        store = self._store()
        rid = store.add_run(
            kind,
            s.name,
            scenario_hash(s),
            yaml_text,
            int(params.get("seed", 0)),
            __version__,
            params,
        )
        self.futures[rid] = self._pool.submit(self._execute, rid, kind, s, yaml_text, params)
        return rid

    def _execute(
        self, rid: int, kind: str, s: Scenario, yaml_text: str, params: dict[str, Any]
    ) -> None:
        store = self._store()
        try:
            store.set_progress(rid, 0, 1)
            if kind == "ensemble":
                folder = self.folder(rid)
                if folder.exists():  # left by a database that was replaced: keep it aside
                    shutil.move(folder, folder.with_name(f"{rid}.moved-{time.time_ns()}"))
                result = run_ensemble_dir(
                    yaml_text, folder, params, lambda d, t: store.set_progress(rid, d, t)
                )
            else:
                result = compute(kind, s, params)
                store.set_progress(rid, 1, 1)
            store.finish_run(rid, result=result)
        except Exception as exc:  # recorded for the user, never lost in a thread
            message = str(exc) or type(exc).__name__
            if not isinstance(exc, ValueError):
                message += "\n" + "".join(traceback.format_exception_only(exc)).strip()
            store.finish_run(rid, error=message)

    def wait(self, rid: int, timeout: float | None = None) -> None:
        """Block until run ``rid`` (submitted by this process) has finished."""
        fut = self.futures.get(rid)
        if fut is not None:
            fut.result(timeout)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

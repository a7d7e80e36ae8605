"""Run an ensemble: design, chunks, executors, store.

The samples are split into chunks of a fixed size (``chunk_size``, never the number
of workers), each chunk is evaluated by one call of
:func:`~stepdeal.ensemble.evaluate.evaluate_task` and its rows are written as one
Parquet file by the calling process. Evaluation draws no random numbers (outcomes
are exact expectations) and uses no multi-threaded BLAS, so the same seed gives the
same numbers, bit for bit, whichever executor runs the chunks:

* ``local``: in this process, one chunk after another (the default);
* ``processes``: a ``concurrent.futures.ProcessPoolExecutor`` of ``workers`` processes;
* ``dask``: a Dask distributed ``Client`` on ``scheduler`` (``tcp://host:port``) or,
  without one, on a ``LocalCluster`` of ``workers`` single-threaded processes.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import __version__
from ..mechanisms.game import compile_game
from ..scenario import Scenario, parse_scenario, scenario_hash
from ..scenario.loader import resolve_source
from .evaluate import evaluate_task, outcome_columns
from .sampling import make_design
from .store import chunk_path, load, open_store, sort_results, write_json, write_parquet

EXECUTORS = ("local", "processes", "dask")
DEFAULT_CHUNK = 1000


@dataclass
class EnsembleResult:
    """What a run produced (in memory, or read back from ``out``)."""

    manifest: dict[str, Any]
    inputs: pd.DataFrame
    results: pd.DataFrame
    out: Path | None = None
    seconds: float = 0.0
    skipped_chunks: list[int] = field(default_factory=list)


def ensemble_hash(s: Scenario) -> str:
    """Hash of the scenario and its uncertainties (what the samples are drawn from)."""
    space = [
        {"name": v.name, "dist": v.dist.model_dump(exclude_none=True)}
        for v in s.uncertainty.variables
    ]
    targets = [[t.variable, list(t.path), t.scale] for t in s.uncertainty.targets]
    payload = json.dumps([scenario_hash(s), space, targets], sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


def _run_tasks(
    tasks: list[dict[str, Any]],
    executor: str,
    workers: int,
    scheduler: str | None,
) -> Iterator[tuple[int, pd.DataFrame]]:
    if executor == "local":
        for task in tasks:
            yield task["chunk"], evaluate_task(task)
        return
    if executor == "processes":
        with ProcessPoolExecutor(max_workers=workers) as pool:
            futures = {pool.submit(evaluate_task, task): task["chunk"] for task in tasks}
            for fut in as_completed(futures):
                yield futures[fut], fut.result()
        return
    yield from _run_dask(tasks, workers, scheduler)


def _run_dask(
    tasks: list[dict[str, Any]], workers: int, scheduler: str | None
) -> Iterator[tuple[int, pd.DataFrame]]:
    import importlib

    dd: Any = importlib.import_module("distributed")
    cluster: Any = None
    if scheduler:
        client: Any = dd.Client(scheduler)
    else:
        cluster = dd.LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
        )
        client = dd.Client(cluster)
    try:
        futures: list[Any] = [
            client.submit(evaluate_task, task, key=f"stepdeal-chunk-{task['chunk']}", pure=False)
            for task in tasks
        ]
        chunk_of = {f.key: t["chunk"] for f, t in zip(futures, tasks, strict=True)}
        for fut in dd.as_completed(futures):
            yield chunk_of[fut.key], fut.result()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def run_ensemble(
    scenario: str | Path,
    n: int,
    design: str = "lhs",
    policies: list[str] | None = None,
    seed: int = 0,
    executor: str = "local",
    workers: int = 2,
    scheduler: str | None = None,
    out: Path | None = None,
    chunk_size: int = DEFAULT_CHUNK,
    second_order: bool = True,
    progress: Callable[[int, int], None] | None = None,
    collect: bool = True,
) -> EnsembleResult:
    """Evaluate ``n`` samples of ``scenario`` (built-in name or file) under ``policies``.

    ``progress(done, total)`` is called after each chunk (rows of the design).
    With ``out`` the results are stored (and a re-run resumes); without, kept in memory.
    ``collect=False`` (with ``out``) does not read the results back into memory, so
    memory stays that of one chunk however large ``n`` is (the design matrix aside).
    """
    if executor not in EXECUTORS:
        raise ValueError(f"unknown executor {executor!r}. Fix: use one of {', '.join(EXECUTORS)}")
    if chunk_size < 1 or workers < 1:
        raise ValueError("chunk size and workers must be at least 1. Fix: give 1 or more")
    clock = time.perf_counter()
    text, label = resolve_source(scenario)
    s = parse_scenario(text, label)
    known = [p.id for p in s.policies]
    policies = list(policies) if policies else known
    unknown = [p for p in policies if p not in known]
    if unknown:
        raise ValueError(
            f"{label}: no policy {', '.join(map(repr, unknown))}. "
            f"Fix: use some of {', '.join(known)}"
        )
    space = s.uncertainty
    d = make_design(design, n, space.dimension, seed, second_order)
    values = space.values(d.unit) if space.dimension else np.zeros((d.rows, 0))
    manifest = {
        "scenario": s.name,
        "scenario_source": label,
        "scenario_hash": ensemble_hash(s),
        "seed": seed,
        "design": design,
        "n": n,
        "rows": d.rows,
        "second_order": d.second_order,
        "policies": policies,
        "variables": space.names,
        "chunk_size": chunk_size,
        "version": __version__,
        "columns": outcome_columns(compile_game(s, policies[0])),
        "unit": s.unit,
        "period": s.period,
        "horizon": s.horizon,
    }
    inputs = pd.DataFrame(values, columns=space.names)
    inputs.insert(0, "sample", np.arange(d.rows, dtype=np.int64))
    n_chunks = (d.rows + chunk_size - 1) // chunk_size
    done: set[int] = set()
    if out is not None:
        done = open_store(out, manifest)
        if not (out / "inputs.parquet").exists():
            write_parquet(out / "inputs.parquet", inputs)
    tasks = []
    for i in range(n_chunks):
        if i in done:
            continue
        lo, hi = i * chunk_size, min(d.rows, (i + 1) * chunk_size)
        tasks.append(
            {
                "chunk": i,
                "text": text,
                "label": label,
                "policies": policies,
                "samples": np.arange(lo, hi, dtype=np.int64),
                "values": values[lo:hi],
            }
        )
    frames: dict[int, pd.DataFrame] = {}
    finished = sum(min(d.rows, (i + 1) * chunk_size) - i * chunk_size for i in done)
    if progress:
        progress(finished, d.rows)
    for i, frame in _run_tasks(tasks, executor, workers, scheduler):
        if out is not None:
            write_parquet(chunk_path(out, i), frame)
        else:
            frames[i] = frame
        finished += min(d.rows, (i + 1) * chunk_size) - i * chunk_size
        if progress:
            progress(finished, d.rows)
    seconds = time.perf_counter() - clock
    if out is not None:
        runs_path = out / "runs.json"
        runs = json.loads(runs_path.read_text(encoding="utf-8")) if runs_path.exists() else []
        runs.append(
            {
                "executor": executor,
                "workers": workers if executor != "local" else 1,
                "chunks_run": len(tasks),
                "chunks_skipped": sorted(done),
                "seconds": round(seconds, 3),
                "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            }
        )
        write_json(runs_path, runs)
        if not collect:
            return EnsembleResult(manifest, inputs, pd.DataFrame(), out, seconds, sorted(done))
        manifest, inputs, results = load(out)
        return EnsembleResult(manifest, inputs, results, out, seconds, sorted(done))
    results = sort_results(
        pd.concat([frames[i] for i in sorted(frames)], ignore_index=True), policies
    )
    return EnsembleResult(manifest, inputs, results, None, seconds, [])

"""The results store of an ensemble run: Parquet chunks, a JSON manifest, DuckDB queries.

Layout of ``OUT``::

    OUT/manifest.json              what was run: scenario hash, seed, design, version, ...
    OUT/inputs.parquet             one row per sample: its variable values
    OUT/results/chunk-00000.parquet  one file per finished chunk (rows: sample x policy)
    OUT/runs.json                  timings of each invocation (appended)

Every file is written to a temporary name in the same folder and renamed into place
(``os.replace`` is atomic), so a run killed at any moment leaves only whole chunks;
a re-run with the same ``OUT`` skips them. Nothing a user saved is overwritten: an
``OUT`` that holds a different run is refused.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

MANIFEST = "manifest.json"
#: manifest keys that must match for a run to resume into an existing OUT
IDENTITY = (
    "scenario_hash",
    "seed",
    "design",
    "n",
    "rows",
    "policies",
    "chunk_size",
    "version",
    "columns",
)


class StoreError(ValueError):
    """OUT cannot be used as asked; the message names the folder and the fix."""


def _atomic_write(path: Path, write: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)  # mkstemp makes 0600; give the usual mode
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_json(path: Path, data: Any) -> None:
    def w(tmp: str) -> None:
        Path(tmp).write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")

    _atomic_write(path, w)


def write_parquet(path: Path, frame: pd.DataFrame) -> None:
    _atomic_write(path, lambda tmp: frame.to_parquet(tmp, index=False))


def chunk_path(out: Path, i: int) -> Path:
    return out / "results" / f"chunk-{i:05d}.parquet"


def open_store(out: Path, manifest: dict[str, Any]) -> set[int]:
    """Create ``out`` for ``manifest`` or check that it holds the same run; return the
    indices of the chunks already finished."""
    path = out / MANIFEST
    if out.exists() and not out.is_dir():
        raise StoreError(f"{out}: is a file. Fix: give a folder path with --out")
    if path.exists():
        try:
            old = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise StoreError(
                f"{path}: unreadable manifest ({exc}). Fix: choose another --out folder"
            ) from None
        diff = [k for k in IDENTITY if old.get(k) != manifest.get(k)]
        if diff:
            raise StoreError(
                f"{out}: holds a different run ({', '.join(diff)} differ). "
                "Fix: choose another --out folder, or repeat the same options to resume"
            )
    elif out.exists() and any(out.iterdir()):
        raise StoreError(
            f"{out}: folder is not empty and has no {MANIFEST}. "
            "Fix: choose a new or empty folder for --out"
        )
    else:
        write_json(path, manifest)
    for stale in (out / "results").glob(".chunk-*"):  # temp files of a killed run
        stale.unlink(missing_ok=True)
    done = set()
    for f in (out / "results").glob("chunk-*.parquet"):
        try:
            done.add(int(f.stem.split("-")[1]))
        except ValueError:
            continue
    return done


def read_manifest(out: Path) -> dict[str, Any]:
    path = out / MANIFEST
    if not path.exists():
        raise StoreError(
            f"{out}: no {MANIFEST} here. Fix: give the --out folder of a `stepdeal ensemble` run"
        )
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def load(out: Path) -> tuple[dict[str, Any], pd.DataFrame, pd.DataFrame]:
    """``(manifest, inputs, results)`` of a run (results sorted by sample, policy)."""
    manifest = read_manifest(out)
    inputs = pd.read_parquet(out / "inputs.parquet")
    files = sorted((out / "results").glob("chunk-*.parquet"))
    if not files:
        raise StoreError(f"{out}: no finished chunk yet. Fix: run `stepdeal ensemble` to the end")
    results = pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
    return manifest, inputs, sort_results(results, list(manifest["policies"]))


def sort_results(results: pd.DataFrame, policies: list[str]) -> pd.DataFrame:
    """Rows by sample, then policy in the run's order (independent of chunking)."""
    order = {p: i for i, p in enumerate(policies)}
    out: pd.DataFrame = results.sort_values(
        ["sample", "policy"], key=lambda c: c.map(order) if c.name == "policy" else c
    ).reset_index(drop=True)
    return out


def query(out: Path, sql: str) -> pd.DataFrame:
    """Run ``sql`` with DuckDB over views ``inputs`` and ``results`` of ``out``."""
    import duckdb

    read_manifest(out)
    con = duckdb.connect()
    try:
        con.read_parquet(str(out / "inputs.parquet")).create_view("inputs")
        con.read_parquet(str(out / "results" / "chunk-*.parquet"), union_by_name=True).create_view(
            "results"
        )
        frame: pd.DataFrame = con.execute(sql).df()
    finally:
        con.close()
    return frame


def summary(out: Path, outcome: str = "expected_resolved") -> pd.DataFrame:
    """Per policy: ok and failed counts, mean and 5/50/95th percentiles of ``outcome``,
    computed by DuckDB over the Parquet files (nothing is loaded into memory)."""
    manifest = read_manifest(out)
    if not outcome.replace("_", "").replace(":", "").replace("-", "").isalnum():
        raise StoreError(f"bad outcome name {outcome!r}. Fix: use an outcome column name")
    col = '"' + outcome.replace('"', "") + '"'
    sql = (
        f"SELECT policy, sum(CASE WHEN ok THEN 1 ELSE 0 END) AS n_ok, "
        f"sum(CASE WHEN ok THEN 0 ELSE 1 END) AS n_error, avg({col}) AS mean, "
        f"quantile_cont({col}, 0.05) AS p5, quantile_cont({col}, 0.5) AS p50, "
        f"quantile_cont({col}, 0.95) AS p95 FROM results GROUP BY policy"
    )
    frame = query(out, sql).set_index("policy")
    return frame.reindex([p for p in manifest["policies"] if p in frame.index])

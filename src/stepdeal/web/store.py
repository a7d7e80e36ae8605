"""Saved scenarios of the web app in an embedded SQLite database, with migrations.

The database lives in the user's data folder (``$XDG_DATA_HOME/stepdeal/stepdeal.db``,
else ``~/.local/share/stepdeal/stepdeal.db``) unless a path is given. Migrations are
numbered SQL scripts applied in order inside one transaction each, and the
``schema_version`` table records the last one applied, so an upgrade never loses
what was saved. The database runs in WAL mode: a crash loses at most the
transaction in flight, never an earlier save.
"""

from __future__ import annotations

import builtins
import hashlib
import json
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

#: migrations, in order; never edit one that has shipped — append a new one
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE scenarios (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL,
        yaml TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        created TEXT NOT NULL
    );
    """,
    """
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        kind TEXT NOT NULL,
        scenario TEXT NOT NULL,
        scenario_hash TEXT NOT NULL,
        yaml TEXT NOT NULL,
        seed INTEGER NOT NULL,
        version TEXT NOT NULL,
        params TEXT NOT NULL,
        status TEXT NOT NULL,
        done INTEGER NOT NULL DEFAULT 0,
        total INTEGER NOT NULL DEFAULT 0,
        result TEXT,
        error TEXT,
        created TEXT NOT NULL,
        finished TEXT
    );
    """,
)

#: run states; ``interrupted`` marks a run that was in flight when the app stopped
RUN_STATES = ("queued", "running", "done", "failed", "interrupted")


def default_path() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "stepdeal" / "stepdeal.db"


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


class Store:
    """Saved scenarios (each save is a new row: nothing is overwritten) and runs.

    One connection shared by the app's threads behind a lock. On opening, runs that
    were queued or running when the app last stopped are marked ``interrupted`` (kept,
    with what they had, never silently dropped).
    """

    def __init__(self, path: Path | None = None) -> None:
        self.path = default_path() if path is None else path
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._lock = threading.RLock()
        self._db.execute("PRAGMA journal_mode=WAL")
        self._migrate()
        self._execute(
            "UPDATE runs SET status = 'interrupted', finished = ? "
            "WHERE status IN ('queued', 'running')",
            (_now(),),
        )

    def _execute(self, sql: str, args: tuple[object, ...] = ()) -> sqlite3.Cursor:
        with self._lock:
            return self._db.execute(sql, args)

    def _rows(self, sql: str, args: tuple[object, ...] = ()) -> builtins.list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    @property
    def runs_dir(self) -> Path:
        """Folder for the files of runs (ensemble Parquet stores), beside the database."""
        return self.path.parent / f"{self.path.stem}-runs"

    def _migrate(self) -> None:
        self._db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        row = self._db.execute("SELECT max(version) FROM schema_version").fetchone()
        current = int(row[0] or 0)
        for number, sql in enumerate(MIGRATIONS[current:], start=current + 1):
            self._db.execute("BEGIN")
            try:
                self._db.execute(sql)
                self._db.execute("INSERT INTO schema_version (version) VALUES (?)", (number,))
                self._db.execute("COMMIT")
            except Exception:
                self._db.execute("ROLLBACK")
                raise

    @property
    def version(self) -> int:
        rows = self._rows("SELECT max(version) FROM schema_version")
        return int(rows[0][0] or 0)

    def save(self, name: str, yaml_text: str) -> int:
        """Store a (validated) scenario; returns its id."""
        digest = hashlib.sha256(yaml_text.encode()).hexdigest()
        cur = self._execute(
            "INSERT INTO scenarios (name, yaml, sha256, created) VALUES (?, ?, ?, ?)",
            (name, yaml_text, digest, _now()),
        )
        return int(cur.lastrowid or 0)

    def list(self) -> list[dict[str, Any]]:
        rows = self._rows("SELECT id, name, sha256, created FROM scenarios ORDER BY id")
        return [dict(r) for r in rows]

    def get(self, sid: int) -> dict[str, Any] | None:
        rows = self._rows(
            "SELECT id, name, yaml, sha256, created FROM scenarios WHERE id = ?", (sid,)
        )
        row = rows[0] if rows else None
        return None if row is None else dict(row)

    # ------------------------------------------------------------------ runs

    def add_run(
        self,
        kind: str,
        scenario: str,
        scenario_hash: str,
        yaml_text: str,
        seed: int,
        version: str,
        params: dict[str, Any],
    ) -> int:
        """Record a new queued run; returns its id."""
        cur = self._execute(
            "INSERT INTO runs (kind, scenario, scenario_hash, yaml, seed, version, params, "
            "status, created) VALUES (?, ?, ?, ?, ?, ?, ?, 'queued', ?)",
            (kind, scenario, scenario_hash, yaml_text, seed, version, json.dumps(params), _now()),
        )
        return int(cur.lastrowid or 0)

    def set_progress(self, rid: int, done: int, total: int) -> None:
        self._execute(
            "UPDATE runs SET status = 'running', done = ?, total = ? WHERE id = ?",
            (done, total, rid),
        )

    def finish_run(
        self, rid: int, result: dict[str, Any] | None = None, error: str | None = None
    ) -> None:
        """Store a run's result (status ``done``) or its error (status ``failed``)."""
        self._execute(
            "UPDATE runs SET status = ?, result = ?, error = ?, finished = ? WHERE id = ?",
            (
                "failed" if error is not None else "done",
                None if result is None else json.dumps(result, allow_nan=False),
                error,
                _now(),
                rid,
            ),
        )

    def _run(self, row: sqlite3.Row, full: bool) -> dict[str, Any]:
        out = dict(row)
        out["params"] = json.loads(out["params"])
        out["progress"] = {"done": out.pop("done"), "total": out.pop("total")}
        if full:
            out["result"] = None if out["result"] is None else json.loads(out["result"])
        return out

    def runs(self) -> builtins.list[dict[str, Any]]:
        """Every run without its result and scenario text, oldest first."""
        rows = self._rows(
            "SELECT id, kind, scenario, scenario_hash, seed, version, params, status, done, "
            "total, error, created, finished FROM runs ORDER BY id"
        )
        return [self._run(r, full=False) for r in rows]

    def run(self, rid: int) -> dict[str, Any] | None:
        """One run with its result and the scenario text it ran on."""
        rows = self._rows("SELECT * FROM runs WHERE id = ?", (rid,))
        row = rows[0] if rows else None
        return None if row is None else self._run(row, full=True)

    def close(self) -> None:
        with self._lock:
            self._db.close()

"""Saved scenarios of the web app in an embedded SQLite database, with migrations.

The database lives in the user's data folder (``$XDG_DATA_HOME/stepdeal/stepdeal.db``,
else ``~/.local/share/stepdeal/stepdeal.db``) unless a path is given. Migrations are
numbered SQL scripts applied in order inside one transaction each, and the
``schema_version`` table records the last one applied, so an upgrade never loses
what was saved. The database runs in WAL mode: a crash loses at most the
transaction in flight, never an earlier save.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
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
)


def default_path() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "stepdeal" / "stepdeal.db"


class Store:
    """Saved scenarios (each save is a new row: nothing is overwritten)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = default_path() if path is None else path
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._migrate()

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
        row = self._db.execute("SELECT max(version) FROM schema_version").fetchone()
        return int(row[0] or 0)

    def save(self, name: str, yaml_text: str) -> int:
        """Store a (validated) scenario; returns its id."""
        digest = hashlib.sha256(yaml_text.encode()).hexdigest()
        cur = self._db.execute(
            "INSERT INTO scenarios (name, yaml, sha256, created) VALUES (?, ?, ?, ?)",
            (name, yaml_text, digest, time.strftime("%Y-%m-%dT%H:%M:%S%z")),
        )
        return int(cur.lastrowid or 0)

    def list(self) -> list[dict[str, Any]]:
        rows = self._db.execute(
            "SELECT id, name, sha256, created FROM scenarios ORDER BY id"
        ).fetchall()
        return [dict(r) for r in rows]

    def get(self, sid: int) -> dict[str, Any] | None:
        row = self._db.execute(
            "SELECT id, name, yaml, sha256, created FROM scenarios WHERE id = ?", (sid,)
        ).fetchone()
        return None if row is None else dict(row)

    def close(self) -> None:
        self._db.close()

"""Runs persisted in SQLite under the server's home, so that a restart loses nothing.

Status moves only along the edges in TRANSITIONS; every change is one conditional UPDATE, so two callers
racing (a cancel and the process exiting, say) cannot both win.
"""
from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from ictal_backend.private_files import open_private

STATUSES = ("queued", "running", "succeeded", "failed", "cancelled", "interrupted")
TERMINAL = frozenset({"succeeded", "failed", "cancelled"})
# `interrupted` is where a run rests after a server restart: it ends an event stream but can be resumed.
STREAM_ENDS = TERMINAL | {"interrupted"}

TRANSITIONS: dict[str, frozenset[str]] = {
    "queued": frozenset({"running", "cancelled"}),
    "running": frozenset({"succeeded", "failed", "cancelled", "interrupted"}),
    "interrupted": frozenset({"queued", "cancelled"}),
    "succeeded": frozenset(),
    "failed": frozenset(),
    "cancelled": frozenset(),
}

SCHEMA_VERSION = 1
SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    created_at REAL NOT NULL,
    started_at REAL,
    finished_at REAL,
    graph_json TEXT NOT NULL,      -- a summary of the graph (name, version, sizes); the IR itself is on disk
    train_json TEXT NOT NULL,
    data_json TEXT NOT NULL,
    has_weights INTEGER NOT NULL,
    metrics_json TEXT NOT NULL DEFAULT '{}',
    error TEXT,
    worker_ref TEXT,               -- what the launcher needs to find the run's process again (a pid, a call id)
    attempts INTEGER NOT NULL DEFAULT 0,
    resume_next INTEGER NOT NULL DEFAULT 0,
    cancel_requested_at REAL
);
CREATE INDEX IF NOT EXISTS runs_by_status ON runs(status, created_at);
"""


@dataclass(frozen=True)
class RunRecord:
    id: str
    status: str
    created_at: float
    started_at: float | None
    finished_at: float | None
    graph: dict[str, Any]
    train: dict[str, Any]
    data: dict[str, Any]
    has_weights: bool
    metrics: dict[str, Any]
    error: str | None
    worker_ref: str | None
    attempts: int
    resume_next: bool
    cancel_requested_at: float | None


def _record(row: sqlite3.Row) -> RunRecord:
    return RunRecord(
        id=row["id"], status=row["status"], created_at=row["created_at"], started_at=row["started_at"],
        finished_at=row["finished_at"], graph=json.loads(row["graph_json"]), train=json.loads(row["train_json"]),
        data=json.loads(row["data_json"]), has_weights=bool(row["has_weights"]),
        metrics=json.loads(row["metrics_json"]), error=row["error"], worker_ref=row["worker_ref"],
        attempts=row["attempts"], resume_next=bool(row["resume_next"]), cancel_requested_at=row["cancel_requested_at"],
    )


class RunStore:
    """Thread-safe access to the runs table. `on_write` runs after every committed change, still holding the
    store's lock (Modal commits its Volume there)."""

    def __init__(self, path: Path, on_write: Callable[[], None] | None = None):
        path.parent.mkdir(parents=True, exist_ok=True)
        os.close(open_private(path, os.O_RDWR))  # 0600 before SQLite opens it (its journal copies the mode)
        self._lock = threading.Lock()
        self._on_write = on_write
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        # One connection behind a lock, so SQLite's default rollback journal suffices (WAL's shared-memory
        # file would not survive on network file systems such as Modal Volumes).
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version not in (0, SCHEMA_VERSION):
            raise RuntimeError(f"{path}: schema version {version}, this server knows {SCHEMA_VERSION}")
        self._db.executescript(SCHEMA)
        self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _write(self, sql: str, args: tuple[Any, ...]) -> int:
        with self._lock:
            changed = self._db.execute(sql, args).rowcount
            # Under the lock: a Volume commit must not snapshot the file halfway through another write.
            if changed and self._on_write:
                self._on_write()
        return changed

    def create(self, run_id: str, graph: dict[str, Any], train: dict[str, Any], data: dict[str, Any],
               has_weights: bool) -> RunRecord:
        self._write(
            "INSERT INTO runs (id, status, created_at, graph_json, train_json, data_json, has_weights) "
            "VALUES (?, 'queued', ?, ?, ?, ?, ?)",
            (run_id, time.time(), json.dumps(graph), json.dumps(train), json.dumps(data), int(has_weights)),
        )
        return self.get(run_id)  # type: ignore[return-value]

    def get(self, run_id: str) -> RunRecord | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        return _record(row) if row else None

    def list(self, status: str | None = None, limit: int = 100) -> list[RunRecord]:
        sql, args = "SELECT * FROM runs", ()
        if status:
            sql, args = sql + " WHERE status = ?", (status,)
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY created_at DESC LIMIT ?", (*args, limit)).fetchall()
        return [_record(r) for r in rows]

    def count(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM runs").fetchone()[0]

    def delete(self, run_id: str, only_from: tuple[str, ...]) -> bool:
        """Removes the run's row if its status is one of `only_from` (one conditional DELETE, so a resume or a
        start racing with it cannot both win). False if it was not."""
        marks = ", ".join("?" for _ in only_from)
        return bool(self._write(f"DELETE FROM runs WHERE id = ? AND status IN ({marks})", (run_id, *only_from)))

    def oldest_queued(self) -> RunRecord | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM runs WHERE status = 'queued' ORDER BY created_at LIMIT 1").fetchone()
        return _record(row) if row else None

    def transition(self, run_id: str, to: str, only_from: tuple[str, ...] | None = None, **fields: Any) -> bool:
        """Moves the run to `to` if its current status allows it (and is in `only_from`, when given); sets
        `fields` in the same UPDATE. False if the run was not in a state that allows the move."""
        sources = [s for s, targets in TRANSITIONS.items() if to in targets and (only_from is None or s in only_from)]
        if not sources:
            return False
        sets = {"status": to, **fields}
        if to == "running":
            sets.setdefault("started_at", time.time())
        if to in STREAM_ENDS:
            sets.setdefault("finished_at", time.time())
        if to == "queued":
            sets.setdefault("finished_at", None)
        columns = ", ".join(f"{k} = ?" for k in sets)
        marks = ", ".join("?" for _ in sources)
        values = tuple(json.dumps(v) if k.endswith("_json") else v for k, v in sets.items())
        return bool(self._write(f"UPDATE runs SET {columns} WHERE id = ? AND status IN ({marks})",
                                (*values, run_id, *sources)))

    def update(self, run_id: str, **fields: Any) -> None:
        """Sets fields without touching the status (metrics while running, the cancel request)."""
        columns = ", ".join(f"{k} = ?" for k in fields)
        values = tuple(json.dumps(v) if k.endswith("_json") else v for k, v in fields.items())
        self._write(f"UPDATE runs SET {columns} WHERE id = ?", (*values, run_id))

"""One run's folder: its request, its event log, its worker's output, its checkpoints.

The event log (events.jsonl, one JSON object a line) has a single writer, the run's worker; the server
only reads it, except when it resumes a run: then no worker runs, and it cuts the log back to the checkpoint
the run continues from (`rewind_events`), so replayed steps are not logged twice. A line is an event once its
newline is written, so a reader never sees half of one. Folders are 0700, files 0600 (private_files).
"""
from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from typing import Any

from ictal_backend.private_files import atomic_write, open_private, private_dir, write_private

# Artifact names as they appear in URLs: one plain file name, no separators, no leading dot.
ARTIFACT_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,127}$")


class ArtifactNameError(ValueError):
    pass


class RunDir:
    def __init__(self, path: Path):
        self.path = path

    graph = property(lambda self: self.path / "graph.json")
    init_weights = property(lambda self: self.path / "init.safetensors")
    train_config = property(lambda self: self.path / "train.json")
    data_spec = property(lambda self: self.path / "data.json")
    events = property(lambda self: self.path / "events.jsonl")
    worker_log = property(lambda self: self.path / "worker.log")
    result = property(lambda self: self.path / "result.json")
    checkpoints = property(lambda self: self.path / "checkpoints")

    def write_request(self, graph: dict[str, Any], train: dict[str, Any], data: dict[str, Any],
                      weights: bytes | None) -> None:
        self.path.mkdir(exist_ok=False)  # a fresh id: an existing folder is a bug, not something to reuse
        private_dir(self.path)
        private_dir(self.checkpoints)
        write_private(self.graph, json.dumps(graph).encode())
        write_private(self.train_config, json.dumps(train, indent=1).encode())
        write_private(self.data_spec, json.dumps(data, indent=1).encode())
        if weights is not None:
            write_private(self.init_weights, weights)

    # -- event log -------------------------------------------------------------------------------------
    def append_event(self, event: dict[str, Any]) -> None:
        """One write() of one whole line, with O_APPEND: concurrent appenders never interleave inside a line."""
        line = json.dumps({"time": time.time(), **event}, default=str) + "\n"
        fd = open_private(self.events, os.O_WRONLY | os.O_APPEND)
        try:
            os.write(fd, line.encode())
        finally:
            os.close(fd)

    def read_events(self, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
        """Complete events from byte `offset` on, and the offset after the last one read."""
        try:
            with open(self.events, "rb") as f:
                f.seek(offset)
                chunk = f.read()
        except FileNotFoundError:
            return [], offset
        end = chunk.rfind(b"\n") + 1
        events = []
        for line in chunk[:end].splitlines():
            try:
                events.append(json.loads(line))
            except json.JSONDecodeError:
                events.append({"type": "log", "level": "warning", "message": f"unreadable log line: {line[:200]!r}"})
        return events, offset + end

    def rewind_events(self, step: int) -> int:
        """Cuts the log before its first event of a step after `step` (the checkpoint a resume continues
        from): those steps are trained again and logged anew. Atomic; returns how many lines were dropped.
        Only while no worker writes the log."""
        try:
            lines = self.events.read_bytes().splitlines(keepends=True)
        except FileNotFoundError:
            return 0
        for i, line in enumerate(lines):
            try:
                event_step = json.loads(line).get("step")
            except (ValueError, AttributeError):
                continue  # an unreadable line is kept (and shown as such)
            if isinstance(event_step, int) and not isinstance(event_step, bool) and event_step > step:
                atomic_write(self.events, b"".join(lines[:i]))
                return len(lines) - i
        return 0

    # -- artifacts -------------------------------------------------------------------------------------
    def artifact_names(self) -> list[str]:
        if not self.checkpoints.is_dir():
            return []
        return sorted(p.name for p in self.checkpoints.iterdir()
                      if p.is_file() and p.suffix == ".safetensors" and ARTIFACT_NAME.match(p.name))

    def artifact(self, name: str) -> Path | None:
        """The artifact's path, or None if there is none by that name. A name that tries to leave the
        checkpoints folder is an error, not a miss."""
        if not ARTIFACT_NAME.match(name) or ".." in name:
            raise ArtifactNameError(f"artifact name {name!r} is not a plain file name (letters, digits, '_', '-', '.')")
        root = self.checkpoints.resolve()
        path = (root / name).resolve()
        if path.parent != root:
            raise ArtifactNameError(f"artifact name {name!r} leaves the run's checkpoints folder")
        return path if path.is_file() and path.suffix == ".safetensors" else None

    def worker_log_tail(self, max_bytes: int = 4000) -> str:
        try:
            with open(self.worker_log, "rb") as f:
                f.seek(max(0, f.seek(0, 2) - max_bytes))
                return f.read().decode(errors="replace")
        except FileNotFoundError:
            return ""

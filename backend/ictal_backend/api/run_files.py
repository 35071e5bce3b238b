"""One run's folder: its request, its event log, its worker's output, its checkpoints.

The event log (events.jsonl, one JSON object a line) has a single writer, the run's worker; the server
only reads it. A line is an event once its newline is written, so a reader never sees half of one.
"""
from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from typing import Any

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
        self.path.mkdir(parents=True, exist_ok=False)
        self.checkpoints.mkdir()
        self.graph.write_text(json.dumps(graph))
        self.train_config.write_text(json.dumps(train, indent=1))
        self.data_spec.write_text(json.dumps(data, indent=1))
        if weights is not None:
            self.init_weights.write_bytes(weights)

    # -- event log -------------------------------------------------------------------------------------
    def append_event(self, event: dict[str, Any]) -> None:
        """One write() of one whole line, with O_APPEND: concurrent appenders never interleave inside a line."""
        line = json.dumps({"time": time.time(), **event}, default=str) + "\n"
        fd = os.open(self.events, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
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

    def latest_checkpoint(self) -> Path | None:
        found = [self.checkpoints / n for n in self.artifact_names()]
        return max(found, key=lambda p: p.stat().st_mtime_ns) if found else None

    def worker_log_tail(self, max_bytes: int = 4000) -> str:
        try:
            with open(self.worker_log, "rb") as f:
                f.seek(max(0, f.seek(0, 2) - max_bytes))
                return f.read().decode(errors="replace")
        except FileNotFoundError:
            return ""

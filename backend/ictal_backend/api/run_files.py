"""One run's folder: its request, its event log, its worker's output, its checkpoints.

The event log (events.jsonl, one JSON object a line) has a single writer, the run's worker; the server
only reads it, except when it resumes a run: then no worker runs, and it cuts the log back to the checkpoint
the run continues from (`rewind_events`), so replayed steps are not logged twice. A line is an event once its
newline is written, so a reader never sees half of one. Folders are 0700, files 0600 (private_files).

Event ids never repeat, across rewinds too: line k has id k until a rewind, which ends the kept lines with a
`rewind` event whose `id` is one past the last id ever given out; ids go on from there. So a reader that saw
lines the rewind dropped (a live stream, a client reconnecting with Last-Event-ID) is told which
(`first_dropped_id`) and gets everything after, and a reconnect never lands on a reused id.
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

    def rewind_events(self, step: int) -> int:
        """Cuts the log before its first event of a step after `step` (the checkpoint a resume continues
        from): those steps are trained again and logged anew. The kept lines end with a `rewind` event (see
        the module's docstring). A killed writer's unfinished last line goes too (it is no event, and the next
        worker's first line would be glued to it). Atomic; returns how many events were dropped. Only while no
        worker writes the log."""
        try:
            lines = self.events.read_bytes().splitlines(keepends=True)
        except FileNotFoundError:
            return 0
        complete = lines if not lines or lines[-1].endswith(b"\n") else lines[:-1]
        ids = EventIds()
        numbered = [(ids.next(event), event) for event in map(_parse, complete)]
        cut = next((i for i, (_, event) in enumerate(numbered) if _step(event) > step), len(complete))
        kept = b"".join(complete[:cut])
        if cut < len(complete):
            dropped = len(complete) - cut
            kept += (json.dumps({"time": time.time(), "type": "rewind", "id": ids.following,
                                 "first_dropped_id": numbered[cut][0], "to_step": step, "dropped": dropped,
                                 "message": f"log cut back to step {step} for a resume: {dropped} later line(s) dropped"})
                     + "\n").encode()
        if len(complete) < len(lines) or cut < len(complete):
            atomic_write(self.events, kept)
        return len(complete) - cut

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


class EventIds:
    """Gives each line of the log its event id, in order (see the module's docstring)."""

    def __init__(self) -> None:
        self.following = 0  # the id the next line gets

    def next(self, event: dict[str, Any]) -> int:
        if event.get("type") == "rewind" and isinstance(event.get("id"), int):
            self.following = max(self.following, event["id"])
        self.following += 1
        return self.following - 1


class EventCursor:
    """Reads a run's log as (id, event) pairs, each once, following it across rewinds: when the file was
    replaced (or is shorter than what was read) it reads the new one from its start and returns only ids
    it has not returned yet: the rewind event, then what came after it."""

    def __init__(self, run_dir: RunDir):
        self.run_dir = run_dir
        self.offset = 0
        self.file: tuple[int, int] | None = None  # (device, inode) of the file read so far
        self.ids = EventIds()
        self.returned = -1  # the highest id returned so far

    def read(self) -> list[tuple[int, dict[str, Any]]]:
        try:
            with open(self.run_dir.events, "rb") as f:
                stat = os.fstat(f.fileno())
                if (stat.st_dev, stat.st_ino) != self.file or stat.st_size < self.offset:
                    self.file, self.offset, self.ids = (stat.st_dev, stat.st_ino), 0, EventIds()
                f.seek(self.offset)
                chunk = f.read()
        except FileNotFoundError:
            return []
        complete = chunk[: chunk.rfind(b"\n") + 1]  # a line is an event once its newline is written
        self.offset += len(complete)
        out = []
        for event in map(_parse, complete.splitlines()):
            event_id = self.ids.next(event)
            if event_id > self.returned:
                out.append((event_id, event))
                self.returned = event_id
        return out


def _step(event: dict[str, Any]) -> int:
    """The event's step, or -1 for an event of no step (a log line, a rewind)."""
    step = event.get("step")
    return step if isinstance(step, int) and not isinstance(step, bool) else -1


def _parse(line: bytes) -> dict[str, Any]:
    try:
        event = json.loads(line)
    except json.JSONDecodeError:
        event = None
    if not isinstance(event, dict):
        return {"type": "log", "level": "warning", "message": f"unreadable log line: {line[:200]!r}"}
    return event

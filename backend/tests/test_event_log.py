"""A run's event log across a resume's rewind: ids never repeat, and a reader that saw the dropped lines (a
live stream, a client reconnecting with Last-Event-ID) is told what was dropped and misses nothing new.
Real files; the SSE generator driven directly."""
from __future__ import annotations

import asyncio
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from ictal_backend.api.events import stream_events
from ictal_backend.api.run_files import EventCursor, RunDir


def _run_dir(tmp_path: Path) -> RunDir:
    run_dir = RunDir(tmp_path / "run")
    run_dir.path.mkdir()
    return run_dir


def _train(run_dir: RunDir, steps: range, attempt: str) -> None:
    for step in steps:
        run_dir.append_event({"type": "metrics", "split": "train", "step": step, "loss": 1.0 / step, "attempt": attempt})
        run_dir.append_event({"type": "checkpoint", "name": f"epoch-{step:04d}", "step": step})


def _lines(run_dir: RunDir) -> list[dict[str, Any]]:
    return [json.loads(line) for line in run_dir.events.read_bytes().splitlines()]


def test_a_rewind_cuts_later_steps_and_ends_the_kept_lines_with_a_rewind_event(tmp_path: Path) -> None:
    run_dir = _run_dir(tmp_path)
    run_dir.append_event({"type": "log", "message": "start"})
    _train(run_dir, range(1, 5), "first")  # lines 1..8
    assert run_dir.rewind_events(2) == 4
    lines = _lines(run_dir)
    assert [e.get("step") for e in lines[:-1]] == [None, 1, 1, 2, 2]
    assert lines[-1]["type"] == "rewind"
    assert (lines[-1]["id"], lines[-1]["first_dropped_id"], lines[-1]["to_step"]) == (9, 5, 2)
    assert "step" not in lines[-1]  # the marker belongs to no step: a step still appears once in the log
    assert run_dir.rewind_events(2) == 0  # nothing after step 2 any more
    assert _lines(run_dir) == lines


def test_ids_never_repeat_across_two_rewinds(tmp_path: Path) -> None:
    run_dir = _run_dir(tmp_path)
    _train(run_dir, range(1, 4), "first")  # ids 0..5
    run_dir.rewind_events(1)               # keeps 0, 1; rewind = 6
    _train(run_dir, range(2, 5), "second")  # ids 7..12
    run_dir.rewind_events(3)               # keeps up to step 3 (ids 7..10); rewind = 13
    _train(run_dir, range(4, 5), "third")  # ids 14, 15
    ids = [event_id for event_id, _ in EventCursor(run_dir).read()]
    assert ids == [0, 1, 6, 7, 8, 9, 10, 13, 14, 15]
    steps = [e["step"] for e in _lines(run_dir) if e["type"] == "metrics"]
    assert steps == [1, 2, 3, 4]


def test_a_killed_writers_unfinished_last_line_is_not_glued_to_the_next_workers_first(tmp_path: Path) -> None:
    run_dir = _run_dir(tmp_path)
    _train(run_dir, range(1, 3), "first")
    with open(run_dir.events, "ab") as f:
        f.write(b'{"type": "metrics", "step": 2, "lo')  # SIGKILL mid-write
    assert run_dir.rewind_events(2) == 0
    run_dir.append_event({"type": "log", "message": "resumed from step 2"})
    assert _lines(run_dir)[-1]["message"] == "resumed from step 2"


def test_a_cursor_that_read_the_dropped_lines_gets_the_rewind_then_every_new_line(tmp_path: Path) -> None:
    run_dir = _run_dir(tmp_path)
    cursor = EventCursor(run_dir)
    _train(run_dir, range(1, 4), "first")  # ids 0..5: the killed attempt got to step 3
    assert [i for i, _ in cursor.read()] == list(range(6))
    run_dir.rewind_events(2)  # drops step 3 (ids 4, 5); the rewind event is id 6
    run_dir.append_event({"type": "log", "message": "resumed from step 2"})
    _train(run_dir, range(3, 5), "second")
    got = cursor.read()
    assert [i for i, _ in got] == [6, 7, 8, 9, 10, 11]
    assert got[0][1]["type"] == "rewind" and got[0][1]["first_dropped_id"] == 4
    assert got[1][1]["message"] == "resumed from step 2"
    assert all(e.get("attempt") != "first" for _, e in got)
    assert cursor.read() == []


def _stream(run_dir: RunDir, first_id: int, act: Any) -> list[tuple[str, Any, str | None]]:
    """The SSE events of a run whose log `act(poll)` changes between polls; it ends after act returns True."""
    run = SimpleNamespace(status="running", error=None, metrics={})

    async def collect() -> list[bytes]:
        polls = 0

        def sync() -> None:
            nonlocal polls
            if act(polls):
                run.status = "interrupted"
            polls += 1

        async def connected() -> bool:
            return False
        return [chunk async for chunk in stream_events(run_dir, lambda: run, first_id, connected, sync)]
    out = []
    for chunk in asyncio.run(collect()):
        fields = dict(line.split(": ", 1) for line in chunk.decode().strip().splitlines())
        out.append((fields["event"], json.loads(fields["data"]), fields.get("id")))
    return out


def test_a_live_stream_open_across_a_resume_sends_the_rewind_and_the_resumed_runs_lines(tmp_path: Path) -> None:
    run_dir = _run_dir(tmp_path)
    _train(run_dir, range(1, 4), "first")

    def resume_on_the_second_poll(poll: int) -> bool:
        if poll == 1:
            run_dir.rewind_events(2)
            run_dir.append_event({"type": "log", "message": "resumed from step 2"})
            _train(run_dir, range(3, 5), "second")
        return poll == 2
    sent = [(e, d, i) for e, d, i in _stream(run_dir, 0, resume_on_the_second_poll) if e not in ("status", "end")]
    ids = [int(i) for _, _, i in sent]
    assert ids == sorted(set(ids)) and ids == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]
    assert sent[6][0] == "rewind" and sent[6][1]["first_dropped_id"] == 4
    assert sent[7][1]["message"] == "resumed from step 2"
    assert [d["attempt"] for e, d, _ in sent[8:] if e == "metrics"] == ["second", "second"]


def test_a_reconnect_from_a_dropped_id_gets_the_rewind_first(tmp_path: Path) -> None:
    run_dir = _run_dir(tmp_path)
    _train(run_dir, range(1, 4), "first")
    run_dir.rewind_events(2)
    _train(run_dir, range(3, 4), "second")
    sent = [(e, d, i) for e, d, i in _stream(run_dir, 5, lambda poll: True) if e not in ("status", "end")]
    assert [(e, int(i)) for e, _, i in sent] == [("rewind", 6), ("metrics", 7), ("checkpoint", 8)]
    assert sent[0][1]["first_dropped_id"] == 4  # the client drops what it has from id 4 on

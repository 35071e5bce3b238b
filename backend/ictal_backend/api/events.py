"""A run's events as server-sent events: the log replayed from the start (or from Last-Event-ID), then
followed live, ending with an `end` event once the run has ended.

Each log line becomes one SSE event: `id` its event id (its line number until the log is first rewound for a
resume; see run_files), `event` its type (log, metrics, checkpoint, heartbeat, rewind, ...), `data` the JSON
object. A stream open across a rewind sends the `rewind` event and goes on with the new lines. Status changes
the server sees are sent as `status` events (no id: they are not in the log). A comment line keeps idle
connections open through proxies.
"""
from __future__ import annotations

import asyncio
import json
import time
from typing import Any, AsyncIterator, Callable

from .run_files import EventCursor, RunDir
from .store import STREAM_ENDS, RunRecord

POLL_S = 0.2
KEEPALIVE_S = 15.0


def sse(data: dict[str, Any], event: str, event_id: int | None = None) -> bytes:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\ndata: {json.dumps(data, separators=(',', ':'), default=str)}\n\n".encode()


async def stream_events(run_dir: RunDir, get_run: Callable[[], RunRecord | None], first_id: int,
                        is_disconnected: Callable[[], Any], sync: Callable[[], None] = lambda: None) -> AsyncIterator[bytes]:
    cursor = EventCursor(run_dir)
    last_status: str | None = None
    last_sent = time.monotonic()
    while True:
        run = get_run()
        if run is None:
            return
        if run.status != last_status:
            last_status = run.status
            yield sse({"status": run.status, "error": run.error}, "status")
            last_sent = time.monotonic()
        await asyncio.to_thread(sync)
        for frame in _log_frames(cursor, first_id):
            yield frame
            last_sent = time.monotonic()
        if run.status in STREAM_ENDS:
            # The worker has exited before the status settled: one more read drains whatever it wrote last.
            for frame in _log_frames(cursor, first_id):
                yield frame
            yield sse({"status": run.status, "error": run.error, "metrics": run.metrics}, "end")
            return
        if await is_disconnected():
            return
        if time.monotonic() - last_sent > KEEPALIVE_S:
            yield b": keepalive\n\n"
            last_sent = time.monotonic()
        await asyncio.sleep(POLL_S)


def _log_frames(cursor: EventCursor, first_id: int) -> list[bytes]:
    """The log's new events from id `first_id` on, as SSE frames."""
    return [sse(event, str(event.get("type", "log")), event_id) for event_id, event in cursor.read() if event_id >= first_id]

"""Starts queued runs, follows the running ones, and settles each run's final status.

One asyncio task polls (each tick in a worker thread: launchers may block, Modal's do): it starts queued runs while there are free slots, folds new metrics events into
the store, notices workers that ended, and kills cancelled ones that outstay their grace period.
"""
from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from .launcher import Launcher, RunHandle, WorkerUnreachable
from ictal_backend.checkpoint_index import newest_checkpoint

from .run_files import EventCursor, RunDir
from .settings import ApiSettings
from .store import RunStore

log = logging.getLogger("ictal_backend.api")
POLL_S = 0.2
UNREACHABLE_LOG_S = 60.0  # while a worker cannot be polled, one warning a minute


@dataclass
class ActiveRun:
    handle: RunHandle
    run_dir: RunDir
    metrics: dict[str, Any] = field(default_factory=dict)
    kill_at: float | None = None
    unreachable_logged: float | None = None  # when the last "cannot poll" warning was logged

    def __post_init__(self) -> None:
        self.events = EventCursor(self.run_dir)  # reads the log events not yet folded into the store


class RunSupervisor:
    def __init__(self, settings: ApiSettings, store: RunStore, launcher: Launcher):
        self.settings = settings
        self.store = store
        self.launcher = launcher
        self.active: dict[str, ActiveRun] = {}
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._loop_ref: asyncio.AbstractEventLoop | None = None
        # Ticks run in a thread, requests (cancel, resume) in FastAPI's: one at a time touches `active`.
        self._lock = threading.RLock()

    def run_dir(self, run_id: str) -> RunDir:
        return RunDir(self.settings.runs_dir / run_id)

    # -- lifecycle -------------------------------------------------------------------------------------
    def recover(self) -> None:
        """After a (re)start: runs the previous server left `running` are followed again if their worker can
        be, and become `interrupted` otherwise. Queued runs simply wait their turn again."""
        self.launcher.sync(now=True)
        for run in self.store.list(status="running", limit=1_000_000):
            run_dir = self.run_dir(run.id)
            handle = self.launcher.reattach(run.worker_ref, run_dir) if run.worker_ref else None
            active = ActiveRun(handle, run_dir, metrics=dict(run.metrics))  # type: ignore[arg-type]
            self._ingest(run.id, active)  # what the worker logged after the last server's final look
            if handle is not None:
                self.active[run.id] = active
            elif self.store.transition(run.id, "interrupted", error="the server stopped while this run was running; "
                                       "POST /api/runs/{id}/resume continues it from its last checkpoint"):
                log.warning("run %s: interrupted by a server restart", run.id)

    def start(self) -> None:
        self.recover()
        self._loop_ref = asyncio.get_running_loop()
        self._task = self._loop_ref.create_task(self._loop(), name="run-supervisor")

    async def shutdown(self) -> None:
        """The server stops: its runs are left to stop themselves (they notice) and are `interrupted` on the
        next start. Nothing is killed here, so a quick restart does not lose more than a step."""
        if self._task:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass

    def poke(self) -> None:
        """Wakes the supervisor now (a run was queued or cancelled); callable from any thread."""
        if self._loop_ref is not None:
            self._loop_ref.call_soon_threadsafe(self._wake.set)

    async def _loop(self) -> None:
        while True:
            try:
                await asyncio.to_thread(self.tick)
            except Exception:  # noqa: BLE001 - one bad run must not stop the supervision of the others
                log.exception("run supervisor tick failed")
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), POLL_S)
            except asyncio.TimeoutError:
                pass

    # -- one step --------------------------------------------------------------------------------------
    def tick(self) -> None:
        with self._lock:
            if self.active:
                self.launcher.sync()
            for run_id, active in list(self.active.items()):
                self._follow(run_id, active)
            while len(self.active) < self.settings.max_concurrent_runs:
                run = self.store.oldest_queued()
                if run is None or not self._launch(run.id, run.resume_next):
                    break

    def _launch(self, run_id: str, resume: bool) -> bool:
        run_dir = self.run_dir(run_id)
        run = self.store.get(run_id)
        if run is None or not self.store.transition(run_id, "running", attempts=run.attempts + 1, error=None):
            return False
        if resume:
            self._rewind(run_id, run_dir)
        try:
            handle = self.launcher.start(run_id, run_dir, resume)
        except Exception as e:  # noqa: BLE001 - the launcher's fault (a process or an RPC), not the run's
            self.store.transition(run_id, "interrupted", error=f"could not start the run's worker ({e}); "
                                  "POST /api/runs/{id}/resume tries again")
            return True
        self.store.update(run_id, worker_ref=handle.ref, resume_next=0)
        # Metrics are folded in again from the log's start: a resume may have cut steps off it.
        self.active[run_id] = ActiveRun(handle, run_dir)
        log.info("run %s: started (%s)%s", run_id, handle.ref, " resuming" if resume else "")
        return True

    def _rewind(self, run_id: str, run_dir: RunDir) -> None:
        """Before a resumed run's worker starts (no writer): cut its log back to the checkpoint the trainer
        will continue from, so the steps it trains again are not logged twice."""
        self.launcher.sync(now=True)
        found = newest_checkpoint(run_dir.checkpoints)
        dropped = run_dir.rewind_events(found.step if found else 0)
        if dropped:
            log.info("run %s: resuming from step %s; %d log line(s) after it dropped", run_id,
                     found.step if found else 0, dropped)

    def _follow(self, run_id: str, active: ActiveRun) -> None:
        try:
            code = active.handle.exit_code()
        except WorkerUnreachable as e:
            # Not the run's failure: the launcher could not ask (a transient RPC error). Ask again next tick.
            now = time.monotonic()
            if active.unreachable_logged is None or now - active.unreachable_logged > UNREACHABLE_LOG_S:
                log.warning("run %s: cannot poll its worker now (%s); still following it", run_id, e)
                active.unreachable_logged = now
            code = None
        else:
            active.unreachable_logged = None
        self._ingest(run_id, active)
        if code is None:
            if active.kill_at is not None and time.monotonic() > active.kill_at:
                log.warning("run %s: did not stop within %.0f s of its cancel; killing it", run_id,
                            self.settings.cancel_grace_s)
                active.handle.kill()
            return
        # The worker's last events and result were published as it ended: see them before settling.
        self.launcher.sync(now=True)
        self._ingest(run_id, active)
        del self.active[run_id]
        self._settle(run_id, active, code)

    def _ingest(self, run_id: str, active: ActiveRun) -> None:
        changed = False
        for _, event in active.events.read():
            if event.get("type") == "metrics":
                split = str(event.get("split", "train"))
                active.metrics[split] = {k: v for k, v in event.items() if k not in ("type", "time", "split")}
                changed = True
        if changed:
            self.store.update(run_id, metrics_json=active.metrics)

    def _settle(self, run_id: str, active: ActiveRun, code: int) -> None:
        run = self.store.get(run_id)
        # The call's own return value where the launcher has one (Modal), so a result file not yet visible
        # on this side of a Volume cannot turn a completed run into a failed one.
        outcome = active.handle.outcome() or _read_json(active.run_dir.result.read_text) or {}
        result = outcome.get("result") if isinstance(outcome.get("result"), dict) else {}
        if isinstance(result.get("val"), dict) and result["val"]:
            active.metrics["val"] = {**active.metrics.get("val", {}), **result["val"]}
        self.store.update(run_id, metrics_json=active.metrics)
        if run is not None and run.cancel_requested_at is not None:
            self.store.transition(run_id, "cancelled")
        elif code == 0 and outcome.get("outcome") == "completed":
            self.store.transition(run_id, "succeeded")
        elif code == 0 and outcome.get("outcome") == "stopped":
            self.store.transition(run_id, "interrupted", error=f"the worker stopped: {outcome.get('stop_reason')}")
        elif code < 0:  # killed by a signal (the OOM killer, an operator): what it checkpointed can go on
            self.store.transition(run_id, "interrupted", error=f"the worker was killed by signal {-code}; "
                                  "POST /api/runs/{id}/resume continues it from its last complete checkpoint")
        else:
            reason = outcome.get("error") or _last_line(active.run_dir.worker_log_tail()) or "no output"
            self.store.transition(run_id, "failed", error=f"worker exited with status {code}: {reason}")
        log.info("run %s: worker exited with %s -> %s", run_id, code, self.store.get(run_id).status)  # type: ignore[union-attr]

    # -- requests --------------------------------------------------------------------------------------
    def cancel(self, run_id: str) -> None:
        """Queued and interrupted runs are cancelled at once; a running one is asked to stop (SIGTERM, then
        killed after the grace period) and becomes `cancelled` when its worker has exited."""
        if self.store.transition(run_id, "cancelled", only_from=("queued", "interrupted"), cancel_requested_at=time.time()):
            return
        with self._lock:
            self.store.update(run_id, cancel_requested_at=time.time())
            active = self.active.get(run_id)
            if active is not None:
                active.handle.stop()
                active.kill_at = time.monotonic() + self.settings.cancel_grace_s
        self.poke()

    def resume(self, run_id: str) -> bool:
        ok = self.store.transition(run_id, "queued", resume_next=1, error=None, cancel_requested_at=None)
        self.poke()
        return ok


def _read_json(read: Any) -> dict[str, Any] | None:
    try:
        value = json.loads(read())
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""

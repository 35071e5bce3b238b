"""Stand-ins for Modal's Volume and function calls with the semantics its documentation gives, so that the
real supervisor, ModalLauncher and `train_in_container` can run here (Modal cannot be reached from here).

Volume (docs: modal.Volume): each container has its own view of the files. A change becomes durable and
visible to other containers only when that container commits; another container sees it only after it
reloads. Commit and reload are whole-view operations; concurrent writers of one file: the last commit wins.
A reload is refused while a file of the Volume is open in the container, and may commit local changes
first. A container's last changes are committed when it shuts down.

Function calls (docs: preemption, timeouts, FunctionCall.get): `spawn` returns a call at once; `get(timeout=0)`
raises the builtin TimeoutError while the call runs and returns the function's return value once it has
ended, or raises what ended it (FunctionTimeoutError, InternalFailure, ...). A preempted input receives SIGINT
and is then run again with the same arguments in a fresh container; only the last attempt's result counts.
"""
from __future__ import annotations

import builtins
import os
import queue
import shutil
import signal
import threading
import time
import uuid
from pathlib import Path
from types import ModuleType
from typing import Any, Callable

import grpclib
from grpclib.const import Status


class FakeVolume:
    def __init__(self) -> None:
        self.files: dict[str, bytes | None] = {}  # committed state: relative path -> bytes (None: a folder)
        self.lock = threading.Lock()
        self.commits = 0

    def mount(self, root: Path) -> "VolumeView":
        return VolumeView(self, root)


class VolumeView:
    """One container's view of a FakeVolume: a real folder, synchronised only by commit() and reload()."""

    def __init__(self, volume: FakeVolume, root: Path):
        self.volume, self.root = volume, root
        root.mkdir(parents=True, exist_ok=True)
        self.base: dict[str, bytes | None] = {}
        self._pull()

    def _scan(self) -> dict[str, bytes | None]:
        out: dict[str, bytes | None] = {}
        for path in sorted(self.root.rglob("*")):
            rel = str(path.relative_to(self.root))
            out[rel] = None if path.is_dir() else path.read_bytes()
        return out

    def _push(self) -> None:
        local = self._scan()
        with self.volume.lock:
            for rel, data in local.items():
                if self.base.get(rel, b"\0missing") != data:
                    self.volume.files[rel] = data
            for rel in self.base.keys() - local.keys():
                self.volume.files.pop(rel, None)
            self.volume.commits += 1

    def _pull(self) -> None:
        with self.volume.lock:
            state = dict(self.volume.files)
        local = self._scan()
        for rel in sorted(local.keys() - state.keys(), reverse=True):
            path = self.root / rel
            shutil.rmtree(path) if path.is_dir() else path.unlink()
        for rel, data in sorted(state.items()):
            path = self.root / rel
            if data is None:
                path.mkdir(parents=True, exist_ok=True)
            elif local.get(rel) != data:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
        self.base = state

    def open_files(self) -> list[str]:
        found = []
        for fd in os.listdir("/proc/self/fd"):
            try:
                target = os.readlink(f"/proc/self/fd/{fd}")
            except OSError:
                continue
            if target.startswith(str(self.root) + os.sep):
                found.append(target)
        return found

    def commit(self) -> None:
        self._push()
        self._pull()  # Modal reloads after a successful commit

    def reload(self) -> None:
        if self.open_files():
            raise RuntimeError(f"there are open files preventing the operation: {self.open_files()[0]}")
        self._push()  # "uncommitted changes ... may implicitly be committed when reloading"
        self._pull()

    def shutdown(self) -> None:
        self._push()  # the final commit when a container stops


class FakeCall:
    def __init__(self, run_id: str, heartbeat_s: float):
        self.object_id = "fc-" + uuid.uuid4().hex[:12]
        self.run_id, self.heartbeat_s = run_id, heartbeat_s
        self.ended = threading.Event()
        self.value: Any = None
        self.error: BaseException | None = None
        self.poll_errors = 0  # the next this-many polls fail with an RPC error (the client's, not the call's)
        self.polls = 0
        self.cancels: list[bool] = []

    def finish(self, value: Any = None, error: BaseException | None = None) -> None:
        self.value, self.error = value, error
        self.ended.set()

    def get(self, timeout: float | None = None) -> Any:
        assert timeout == 0, "the supervisor must never block on a call"
        self.polls += 1
        if self.poll_errors > 0:
            self.poll_errors -= 1
            raise grpclib.GRPCError(Status.UNAVAILABLE, "connection reset by peer")
        if not self.ended.is_set():
            raise builtins.TimeoutError()
        if self.error is not None:
            raise self.error
        return self.value

    def cancel(self, terminate_containers: bool = False) -> None:
        self.cancels.append(terminate_containers)


class FakeModal:
    """`train_run` as Modal would run it: spawned calls wait here until the test runs them (in the main
    thread, where SIGINT lands, as in a Modal container), each attempt in a fresh container view."""

    def __init__(self, modal_app: ModuleType, volume: FakeVolume, tmp: Path):
        self.m, self.volume, self.tmp = modal_app, volume, tmp
        self.triton = FakeVolume()
        self.calls: dict[str, FakeCall] = {}
        self.pending: queue.Queue[FakeCall] = queue.Queue()
        self.attempt_logs: list[list[str]] = []

    # the parts of modal.Function / modal.FunctionCall that ModalLauncher uses
    def spawn(self, run_id: str, heartbeat_s: float) -> FakeCall:
        call = FakeCall(run_id, heartbeat_s)
        self.calls[call.object_id] = call
        self.pending.put(call)
        return call

    def lookup(self, call_id: str) -> FakeCall:
        return self.calls[call_id]

    def next_call(self, timeout: float = 60) -> FakeCall:
        return self.pending.get(timeout=timeout)

    def run(self, call: FakeCall, stop_after_s: float = 3600,
            preempt_when: Callable[[VolumeView], bool] | None = None) -> dict[str, Any]:
        """Runs the call to its end in the main thread; with `preempt_when`, the first attempt gets SIGINT
        once that holds of its container's files, and Modal runs the input again."""
        attempt = 0
        while True:
            view = self.volume.mount(self.tmp / f"{call.object_id}-{attempt}")
            running = threading.Event()
            preempted = threading.Event()
            if preempt_when is not None and attempt == 0:
                threading.Thread(target=self._preempt, args=(view, preempt_when, running, preempted), daemon=True).start()
            running.set()
            outcome = self.m.train_in_container(call.run_id, call.heartbeat_s, view, self.triton.mount(view.root.with_name(view.root.name + "-triton")),
                                                view.root / "runs", stop_after_s)
            running.clear()
            view.shutdown()
            events = (view.root / "runs" / call.run_id / "events.jsonl")
            self.attempt_logs.append(events.read_text().splitlines() if events.exists() else [])
            if preempted.is_set():
                attempt += 1  # the interrupted attempt's result is dropped; same input, fresh container
                continue
            call.finish(outcome)
            return outcome

    @staticmethod
    def _preempt(view: VolumeView, when: Callable[[VolumeView], bool], running: threading.Event,
                 preempted: threading.Event) -> None:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            if running.is_set() and when(view):
                preempted.set()
                os.kill(os.getpid(), signal.SIGINT)
                return
            time.sleep(0.05)

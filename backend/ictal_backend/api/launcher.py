"""Where a run's worker executes. The server asks a Launcher to start a run and later polls the handle;
locally that is an OS process per run, on Modal a GPU function call (backend/modal_app.py)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Protocol

import ictal_backend

from ictal_backend.private_files import open_private

from .run_files import RunDir


class WorkerUnreachable(Exception):
    """Raised by `RunHandle.exit_code` when the launcher cannot tell right now whether the worker runs (a
    Modal RPC that failed): the run stays `running` and is asked again at the next poll, never `failed`."""


class RunHandle(Protocol):
    ref: str  # persisted, so that a restarted server can find the worker again

    def exit_code(self) -> int | None:
        """None while the worker runs; its exit status once it has ended (0 = completed or stopped cleanly).
        Raises WorkerUnreachable when that cannot be known now."""

    def outcome(self) -> dict[str, Any] | None:
        """Once ended: the outcome the worker returned (as in RUN_DIR/result.json), when the launcher received
        it directly (a Modal call's return value); None means: read RUN_DIR/result.json."""

    def stop(self) -> None:
        """Asks the worker to stop at its next step (the trainer's should_stop)."""

    def kill(self) -> None:
        """Ends the worker now."""


class Launcher(Protocol):
    def start(self, run_id: str, run_dir: RunDir, resume: bool) -> RunHandle: ...

    def reattach(self, ref: str, run_dir: RunDir) -> RunHandle | None:
        """The worker a previous server started, if it can still be followed; None makes the run `interrupted`."""

    def sync(self, now: bool = False) -> None:
        """Called before the server reads run folders (Modal reloads its Volume, at most every few seconds);
        `now`: at once, before the server settles an ended run or checks a data path. Nothing to do locally."""


class ProcessHandle:
    def __init__(self, process: subprocess.Popen[bytes]):
        self.process = process
        self.ref = f"pid:{process.pid}"

    def exit_code(self) -> int | None:
        return self.process.poll()

    def outcome(self) -> None:
        return None  # the worker wrote RUN_DIR/result.json on this machine

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


class LocalProcessLauncher:
    """Each run in its own Python process (`python -m ictal_backend.api.worker RUN_DIR`), its stdout and
    stderr in RUN_DIR/worker.log."""

    def __init__(self, heartbeat_s: float = 30.0, python: str = sys.executable):
        self.heartbeat_s = heartbeat_s
        self.python = python
        self.package_root = str(Path(ictal_backend.__file__).resolve().parent.parent)

    def start(self, run_id: str, run_dir: RunDir, resume: bool) -> ProcessHandle:
        env = dict(os.environ)
        env.pop("ICTAL_API_TOKEN", None)  # a run has no business with the server's token
        env["PYTHONPATH"] = os.pathsep.join(p for p in (self.package_root, env.get("PYTHONPATH")) if p)
        env["PYTHONUNBUFFERED"] = "1"
        argv = [self.python, "-m", "ictal_backend.api.worker", str(run_dir.path), "--heartbeat-s", str(self.heartbeat_s),
                "--server-pid", str(os.getpid())]  # a worker orphaned before it could look at its parent still sees it
        if resume:
            argv.append("--resume")
        with os.fdopen(open_private(run_dir.worker_log, os.O_WRONLY | os.O_APPEND), "ab") as log:
            log.write(f"\n== {time.strftime('%Y-%m-%d %H:%M:%S')} {' '.join(argv)}\n".encode())
            log.flush()
            # Its own session: a Ctrl-C meant for the server does not kill runs mid-write; the worker
            # notices the server's death by itself (see worker._watch_parent).
            process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                       env=env, cwd=run_dir.path, start_new_session=True)
        return ProcessHandle(process)

    def reattach(self, ref: str, run_dir: RunDir) -> None:
        """A local worker cannot outlive its server usefully (it stops itself when orphaned); make sure a
        straggler is gone before the run can be resumed, then report the run as interrupted."""
        pid = int(ref.split(":", 1)[1]) if ref.startswith("pid:") else 0
        if pid and _is_worker_of(pid, run_dir):
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 10
            while _is_worker_of(pid, run_dir) and time.monotonic() < deadline:
                time.sleep(0.1)
            if _is_worker_of(pid, run_dir):
                os.kill(pid, signal.SIGKILL)
        return None

    def sync(self, now: bool = False) -> None:
        pass


def _is_worker_of(pid: int, run_dir: RunDir) -> bool:
    """True only if `pid` is still this run's worker (pids get reused: check its command line)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z" and b"ictal_backend.api.worker" in cmdline and str(run_dir.path).encode() in cmdline

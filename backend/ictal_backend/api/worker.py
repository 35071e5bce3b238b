"""A run's own process: `python -m ictal_backend.api.worker RUN_DIR [--resume] [--heartbeat-s S] [--server-pid P]`.

Loads the request the server wrote into RUN_DIR, calls the trainer, and turns everything the trainer
reports into lines of RUN_DIR/events.jsonl. It stops cleanly (the trainer's `should_stop`) on SIGTERM (a
cancel) and when the server that started it goes away (its parent changes), so a restarted server never
finds two writers on one run. Its outcome lands in RUN_DIR/result.json.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any, Callable

from ictal_backend.private_files import atomic_write

from .run_files import RunDir

# How long a stop request may take before the worker gives up on the trainer and exits anyway.
STOP_DEADLINE_S = 60.0


class StopFlag:
    def __init__(self) -> None:
        self._event = threading.Event()
        self.reason = ""

    def set(self, reason: str) -> None:
        if not self._event.is_set():
            self.reason = reason
            self._event.set()

    def __call__(self) -> bool:
        return self._event.is_set()

    def wait(self, timeout: float) -> bool:
        return self._event.wait(timeout)


def _train_function() -> Callable[..., dict[str, Any]]:
    # Imported here: a bad trainer import is reported as the run's failure, not as a server crash.
    from ictal_backend.trainer import run_training
    return run_training


def execute(run_dir: RunDir, resume: bool, stop: StopFlag, heartbeat_s: float,
            after_event: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Runs the training of one run in this process; returns (and writes) the outcome."""
    started = time.monotonic()
    last: dict[str, Any] = {}

    def emit(event: dict[str, Any]) -> None:
        run_dir.append_event(event)
        if event.get("type") in ("metrics", "checkpoint"):
            last.update({k: v for k, v in event.items() if k in ("step", "epoch")})
        if after_event:
            after_event(event)

    def beat() -> None:
        while not stop.wait(heartbeat_s):
            if finished.is_set():
                return
            emit({"type": "heartbeat", "source": "worker", "elapsed_s": round(time.monotonic() - started, 1), **last})

    finished = threading.Event()
    threading.Thread(target=beat, name="heartbeat", daemon=True).start()
    outcome: dict[str, Any]
    try:
        ir = json.loads(run_dir.graph.read_text())
        config = json.loads(run_dir.train_config.read_text())
        data = json.loads(run_dir.data_spec.read_text())
        weights = run_dir.init_weights if run_dir.init_weights.exists() else None
        # The trainer picks the checkpoint (the newest complete one by recorded step) and says which.
        emit({"type": "log", "level": "info", "message": f"worker pid {os.getpid()}: {'resuming' if resume else 'starting'}"})
        run_training = _train_function()
        result = run_training(ir, config, data, run_dir.path, weights=weights, resume=resume,
                              on_event=emit, should_stop=stop)
        outcome = {"outcome": "stopped" if stop() else "completed", "stop_reason": stop.reason or None,
                   "result": result}
        emit({"type": "log", "level": "info", "message":
              f"stopped ({stop.reason})" if stop() else "training finished"})
    except BaseException as e:  # noqa: BLE001 - whatever it was, the run failed and the log must say why
        tb = traceback.format_exc()
        print(tb, file=sys.stderr, flush=True)
        message = f"{type(e).__name__}: {e}"
        emit({"type": "log", "level": "error", "message": message})
        outcome = {"outcome": "failed", "error": message, "traceback": tb}
    finally:
        finished.set()
    atomic_write(run_dir.result, json.dumps(outcome, default=str, indent=1).encode())
    return outcome


def _watch_parent(stop: StopFlag, parent: int) -> None:
    """The server that started us died (we were re-parented): stop, and if the trainer does not listen,
    leave anyway, so that the restarted server can resume the run without a second writer. `parent` is the
    server's pid as the server passed it: one that died while we were still importing has already left."""
    while os.getppid() == parent:
        time.sleep(0.5)
    stop.set("the server that started this run went away")
    time.sleep(STOP_DEADLINE_S)
    os._exit(3)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ictal_backend.api.worker", description=__doc__)
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--heartbeat-s", type=float, default=30.0)
    parser.add_argument("--server-pid", type=int, default=None,
                        help="the pid of the server that started this worker (default: the parent's pid now)")
    args = parser.parse_args(argv)
    os.umask(0o077)  # whatever the trainer or a library writes into the run folder is the owner's alone
    stop = StopFlag()
    signal.signal(signal.SIGTERM, lambda *_: stop.set("cancelled"))
    signal.signal(signal.SIGINT, lambda *_: stop.set("interrupted by SIGINT"))
    server = args.server_pid if args.server_pid is not None else os.getppid()
    threading.Thread(target=_watch_parent, args=(stop, server), daemon=True).start()
    outcome = execute(RunDir(args.run_dir), args.resume, stop, args.heartbeat_s)
    return 1 if outcome["outcome"] == "failed" else 0


if __name__ == "__main__":
    sys.exit(main())

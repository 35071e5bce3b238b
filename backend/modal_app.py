"""The run API on Modal: the API in a CPU container (`@modal.asgi_app`), each run's training in a GPU
function on an A100-80GB, run folders and the data cache on a Volume, raw EDF optionally from S3.

Deploy (README, "Remote runs on Modal"):
    modal secret create ictal-api-token ICTAL_API_TOKEN=<a long random string>
    modal deploy backend/modal_app.py
Optional, read when deploying: ICTAL_EDF_BUCKET (an S3 bucket of raw EDF, mounted read-only at /edf, with
AWS keys from the Modal secret `ictal-aws`), ICTAL_CORS_ORIGINS (comma-separated origins of the lab).
"""
from __future__ import annotations

import builtins
import os
import sys
import time
from pathlib import Path
from typing import Any

import modal

HERE = Path(__file__).resolve().parent
if modal.is_local() and str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))  # so that `ictal_backend` is importable (and shipped) from a checkout

APP_NAME = "ictal"
TRAIN_GPU = "A100-80GB"
TRAIN_TIMEOUT_S = 24 * 3600  # Modal's maximum; a longer run continues with POST /api/runs/{id}/resume
API_TIMEOUT_S = 3600  # one request (an event stream) at most this long; clients reconnect with Last-Event-ID
DATA_MOUNT = "/data"  # Volume `ictal-data`: runs/<id>/ (request, events, checkpoints) and cache/
STATE_MOUNT = "/state"  # Volume `ictal-state`: the API's SQLite file, written by the API container alone
EDF_MOUNT = "/edf"
TOKEN_SECRET = "ictal-api-token"  # must define ICTAL_API_TOKEN
AWS_SECRET = "ictal-aws"  # AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY for the EDF bucket
VOLUME_COMMIT_S = 15.0  # how often a training run publishes its event log; checkpoints are published at once

app = modal.App(APP_NAME)
data_volume = modal.Volume.from_name("ictal-data", create_if_missing=True)
state_volume = modal.Volume.from_name("ictal-state", create_if_missing=True)
EDF_BUCKET = os.environ.get("ICTAL_EDF_BUCKET", "")
CORS_ORIGINS = os.environ.get("ICTAL_CORS_ORIGINS", "")


def _torch_requirement() -> str:
    """The same torch version the CPU environment pins, as the full CUDA wheel here."""
    pins = HERE / "requirements-torch-cpu.txt"
    if pins.exists():
        for line in pins.read_text().splitlines():
            if line.startswith("torch=="):
                return line.strip()
    return "torch"


image = (
    modal.Image.debian_slim(python_version="3.11")
    .pip_install(_torch_requirement())
    .pip_install_from_requirements(str(HERE / "requirements.txt"))
    # Read when deploying, baked into the image: the container sees the same declarations.
    .env({"ICTAL_EDF_BUCKET": EDF_BUCKET, "ICTAL_CORS_ORIGINS": CORS_ORIGINS})
    .add_local_python_source("ictal_backend")
)

train_volumes: dict[str, Any] = {DATA_MOUNT: data_volume}
if EDF_BUCKET:
    train_volumes[EDF_MOUNT] = modal.CloudBucketMount(EDF_BUCKET, secret=modal.Secret.from_name(AWS_SECRET), read_only=True)


class _ThrottledCommit:
    """Commits the data Volume at most every VOLUME_COMMIT_S, or at once when asked (after a checkpoint)."""

    def __init__(self) -> None:
        self.last = time.monotonic()

    def __call__(self, now: bool = False) -> None:
        if now or time.monotonic() - self.last > VOLUME_COMMIT_S:
            data_volume.commit()
            self.last = time.monotonic()


@app.function(image=image, gpu=TRAIN_GPU, volumes=train_volumes, timeout=TRAIN_TIMEOUT_S)
def train_run(run_id: str, resume: bool, heartbeat_s: float) -> dict[str, Any]:
    """One run's worker (the same code as a local worker process), on the GPU."""
    from ictal_backend.api.run_files import RunDir
    from ictal_backend.api.worker import StopFlag, execute

    data_volume.reload()
    commit = _ThrottledCommit()
    outcome = execute(RunDir(Path(DATA_MOUNT) / "runs" / run_id), resume, StopFlag(), heartbeat_s,
                      after_event=lambda e: commit(now=e.get("type") == "checkpoint"))
    commit(now=True)
    if outcome["outcome"] == "failed":
        raise RuntimeError(outcome["error"])
    return outcome


class _CallHandle:
    def __init__(self, call: Any):
        self.call = call
        self.ref = f"modal:{call.object_id}"

    def exit_code(self) -> int | None:
        try:
            self.call.get(timeout=0)
        except builtins.TimeoutError:  # not finished (modal raises the builtin one for that)
            return None
        except Exception:  # noqa: BLE001 - the function raised, timed out or was cancelled
            return 1
        return 0

    def stop(self) -> None:
        self.call.cancel()

    def kill(self) -> None:
        self.call.cancel(terminate_containers=True)


class ModalLauncher:
    """Starts each run as a `train_run` call; a restarted API container finds the call again by its id."""

    def __init__(self, heartbeat_s: float):
        self.heartbeat_s = heartbeat_s
        self.last_reload = 0.0

    def start(self, run_id: str, run_dir: Any, resume: bool) -> _CallHandle:
        data_volume.commit()  # the request the API just wrote must be visible to the GPU container
        return _CallHandle(train_run.spawn(run_id, resume, self.heartbeat_s))

    def reattach(self, ref: str, run_dir: Any) -> _CallHandle | None:
        if not ref.startswith("modal:"):
            return None
        try:
            return _CallHandle(modal.FunctionCall.from_id(ref.split(":", 1)[1]))
        except Exception:  # noqa: BLE001 - an expired or unknown call: the run is interrupted
            return None

    def sync(self) -> None:
        if time.monotonic() - self.last_reload > 2.0:
            self.last_reload = time.monotonic()
            try:
                data_volume.reload()
            except Exception:  # noqa: BLE001 - a reload refused while a file is open is retried next time
                pass


@app.function(image=image, volumes={DATA_MOUNT: data_volume, STATE_MOUNT: state_volume},
              secrets=[modal.Secret.from_name(TOKEN_SECRET, required_keys=["ICTAL_API_TOKEN"])],
              max_containers=1, timeout=API_TIMEOUT_S)  # one container: SQLite has one writer
@modal.concurrent(max_inputs=100)
@modal.asgi_app()
def api() -> Any:
    from ictal_backend.api import ApiSettings, create_app
    from ictal_backend.api.settings import DEFAULT_LAB_ORIGINS

    origins = tuple(o.strip() for o in os.environ.get("ICTAL_CORS_ORIGINS", "").split(",") if o.strip())
    settings = ApiSettings(home=Path(DATA_MOUNT), token=os.environ["ICTAL_API_TOKEN"],
                           cors_origins=origins or DEFAULT_LAB_ORIGINS, db_file=Path(STATE_MOUNT) / "state.db",
                           data_dirs=(Path(DATA_MOUNT) / "cache", Path(EDF_MOUNT)))
    return create_app(settings, launcher=ModalLauncher(settings.heartbeat_s), on_store_write=_commit_state)


_last_state_commit = 0.0


def _commit_state() -> None:
    global _last_state_commit
    if time.monotonic() - _last_state_commit > 1.0:
        state_volume.commit()
        _last_state_commit = time.monotonic()

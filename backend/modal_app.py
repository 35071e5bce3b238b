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
import logging
import os
import signal
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any, Callable

import modal
import modal.exception

log = logging.getLogger("ictal_backend.modal")

HERE = Path(__file__).resolve().parent
if modal.is_local() and str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))  # so that `ictal_backend` is importable (and shipped) from a checkout

APP_NAME = "ictal"
TRAIN_GPU = "A100-80GB"
TRAIN_TIMEOUT_S = 24 * 3600  # Modal's maximum; a longer run continues with POST /api/runs/{id}/resume
# The worker stops itself this long before the timeout (checkpoint, then `interrupted`, resumable): validation
# does not poll the stop flag, so the margin covers a whole validation pass as well as the step in flight.
STOP_MARGIN_S = 45 * 60
API_TIMEOUT_S = 3600  # one request (an event stream) at most this long; clients reconnect with Last-Event-ID
DATA_MOUNT = "/data"  # Volume `ictal-data`: runs/<id>/ (request, events, checkpoints) and cache/
STATE_MOUNT = "/state"  # Volume `ictal-state`: the API's SQLite file, written by the API container alone
EDF_MOUNT = "/edf"
TOKEN_SECRET = "ictal-api-token"  # must define ICTAL_API_TOKEN
AWS_SECRET = "ictal-aws"  # AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY for the EDF bucket
TRITON_MOUNT = "/triton-cache"  # Volume `ictal-triton`: Triton's compiled kernels and autotune results
VOLUME_COMMIT_S = 15.0  # how often a training run publishes its event log; checkpoints are published at once
API_SYNC_S = 2.0  # the API reloads the data Volume at most this often while following runs
RELOAD_TRIES = 5  # a reload refused (open files, an RPC error) is retried this often, RELOAD_PAUSE_S apart
RELOAD_PAUSE_S = 0.5
CUDA_BASE = "nvidia/cuda:13.0.1-devel-ubuntu24.04"  # torch 2.11's wheels are CUDA 13.0 builds; nvcc for mamba_ssm
MAMBA_SSM = "mamba-ssm==2.3.2.post1"

app = modal.App(APP_NAME)
data_volume = modal.Volume.from_name("ictal-data", create_if_missing=True)
state_volume = modal.Volume.from_name("ictal-state", create_if_missing=True)
triton_volume = modal.Volume.from_name("ictal-triton", create_if_missing=True)
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


api_image = (
    modal.Image.debian_slim(python_version="3.11")
    .pip_install(_torch_requirement())
    .pip_install_from_requirements(str(HERE / "requirements.txt"))
    # Read when deploying, baked into the image: the container sees the same declarations.
    .env({"ICTAL_EDF_BUCKET": EDF_BUCKET, "ICTAL_CORS_ORIGINS": CORS_ORIGINS})
    .add_local_python_source("ictal_backend")
)

# The GPU image builds mamba_ssm as its docs say: a CUDA toolkit (nvcc) under it, torch installed first and the
# package built against that torch (--no-build-isolation), then an import of its Mamba2 scan as a build step,
# so that an image without it never deploys. Triton keeps its compiled kernels and autotune results in
# TRITON_CACHE_DIR, a Volume, so only the first container ever compiles and tunes them.
train_image = (
    modal.Image.from_registry(CUDA_BASE, add_python="3.11")
    .pip_install(_torch_requirement())
    .pip_install("packaging", "ninja", "wheel", "setuptools", "einops")
    .pip_install(MAMBA_SSM, extra_options="--no-build-isolation")
    .run_commands("python -c 'from mamba_ssm.ops.triton.ssd_combined import mamba_chunk_scan_combined'")
    .pip_install_from_requirements(str(HERE / "requirements.txt"))
    .env({"ICTAL_EDF_BUCKET": EDF_BUCKET, "ICTAL_CORS_ORIGINS": CORS_ORIGINS,
          "TRITON_CACHE_DIR": TRITON_MOUNT, "TRITON_CACHE_AUTOTUNING": "1",
          # batch 64 ran out of memory on an 80 GB H100 without it (fragmentation; issue #14)
          "PYTORCH_CUDA_ALLOC_CONF": "expandable_segments:True"})
    .add_local_python_source("ictal_backend")
)


def _edf_mount() -> dict[str, Any]:
    if not EDF_BUCKET:
        return {}
    return {EDF_MOUNT: modal.CloudBucketMount(EDF_BUCKET, secret=modal.Secret.from_name(AWS_SECRET), read_only=True)}


train_volumes: dict[str, Any] = {DATA_MOUNT: data_volume, TRITON_MOUNT: triton_volume, **_edf_mount()}
# The API checks that a data path exists before it accepts a run, so it sees the bucket too (read-only).
api_volumes: dict[str, Any] = {DATA_MOUNT: data_volume, STATE_MOUNT: state_volume, **_edf_mount()}


def _reload(volume: Any, what: str) -> None:
    """volume.reload(), retried: Modal refuses a reload while a file of the Volume is open, and RPCs fail."""
    for attempt in range(RELOAD_TRIES):
        try:
            volume.reload()
            return
        except Exception as e:  # noqa: BLE001 - RuntimeError for open files, modal.exception.* for RPCs
            if attempt == RELOAD_TRIES - 1:
                raise RuntimeError(f"could not reload the {what} Volume: {e}") from e
            time.sleep(RELOAD_PAUSE_S)


class _ThrottledCommit:
    """Commits the data Volume at most every VOLUME_COMMIT_S, or at once when asked (after a checkpoint, with
    the Triton cache: by then the first steps have compiled and tuned every kernel)."""

    def __init__(self, data: Any, triton: Any) -> None:
        self.data, self.triton = data, triton
        self.last = time.monotonic()

    def __call__(self, now: bool = False) -> None:
        if now or time.monotonic() - self.last > VOLUME_COMMIT_S:
            self.data.commit()
            if now and self.triton is not None:
                self.triton.commit()
            self.last = time.monotonic()


def train_in_container(run_id: str, heartbeat_s: float, data: Any, triton: Any, runs_root: Path,
                       stop_after_s: float, execute: Callable[..., dict[str, Any]] | None = None) -> dict[str, Any]:
    """The body of `train_run`, with its Volumes and clock as arguments (the tests pass fakes).

    Resume mode is decided here, from the run folder, not by the caller: Modal re-runs a preempted input with
    the same arguments, and that second attempt must continue from the checkpoint the first wrote on SIGINT,
    not start over (a fresh run has no checkpoint, so it starts from step 0). A timer sets the stop flag before Modal's timeout, so a long run
    ends `interrupted` (resumable) with a checkpoint, not killed. Never raises: the outcome, a failure's error
    text included, is the call's return value, so the API can tell a failed run from a failed RPC."""
    from ictal_backend.api.run_files import RunDir
    from ictal_backend.api.worker import StopFlag
    from ictal_backend.api.worker import execute as run_worker

    execute = execute or run_worker
    stop = StopFlag()
    timer = threading.Timer(stop_after_s, stop.set, args=(
        f"the call's {TRAIN_TIMEOUT_S / 3600:.0f} h limit is near; POST /api/runs/{{id}}/resume continues the run",))
    timer.daemon = True
    timer.start()
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGINT, lambda *_: stop.set(
            "preempted (SIGINT): Modal runs the call again, which resumes from the checkpoint written now"))
    commit = _ThrottledCommit(data, triton)
    try:
        _reload(data, "data")
        run_dir = RunDir(runs_root / run_id)
        run_dir.result.unlink(missing_ok=True)  # an earlier (preempted) attempt's outcome is not this one's
        # Resume whenever a checkpoint was written (the trainer picks the newest complete one): a re-run after
        # preemption, or a resumed run; a fresh run has none and starts without a "no checkpoint" warning.
        resume = run_dir.checkpoints.is_dir() and any(run_dir.checkpoints.iterdir())
        outcome = execute(run_dir, resume, stop, heartbeat_s,
                          after_event=lambda e: commit(now=e.get("type") == "checkpoint"))
    except BaseException as e:  # noqa: BLE001 - whatever it was, the API must get the text, not a crash
        outcome = {"outcome": "failed", "error": f"{type(e).__name__}: {e}", "traceback": traceback.format_exc()}
    finally:
        timer.cancel()
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
    try:
        commit(now=True)  # result.json and the last events, before the call's result is published
    except Exception as e:  # noqa: BLE001 - the outcome still reaches the API as the return value
        outcome.setdefault("warning", f"the last Volume commit failed: {type(e).__name__}: {e}")
    return outcome


@app.function(image=train_image, gpu=TRAIN_GPU, volumes=train_volumes, timeout=TRAIN_TIMEOUT_S,
              single_use_containers=True)  # each attempt in a fresh container: nothing left open, no stale view
def train_run(run_id: str, heartbeat_s: float) -> dict[str, Any]:
    """One run's worker (the same code as a local worker process), on the GPU."""
    return train_in_container(run_id, heartbeat_s, data_volume, triton_volume, Path(DATA_MOUNT) / "runs",
                              TRAIN_TIMEOUT_S - STOP_MARGIN_S)


def _rpc_errors() -> tuple[type[BaseException], ...]:
    """Exceptions of the client's own RPCs while polling, as opposed to a result the call delivered."""
    import grpclib
    import grpclib.exceptions

    return (grpclib.GRPCError, grpclib.exceptions.StreamTerminatedError, modal.exception.ConnectionError,
            modal.exception.ClientClosed, builtins.ConnectionError, OSError)


class _CallHandle:
    """A `train_run` call as the supervisor sees a worker: `exit_code` polls it without waiting."""

    def __init__(self, call: Any):
        self.call = call
        self.ref = f"modal:{call.object_id}"
        self._outcome: dict[str, Any] | None = None

    def exit_code(self) -> int | None:
        from ictal_backend.api.launcher import WorkerUnreachable

        try:
            value = self.call.get(timeout=0)
        except builtins.TimeoutError:  # not finished (modal raises the builtin one for that)
            return None
        except modal.exception.FunctionTimeoutError as e:
            return self._ended("stopped", stop_reason=f"Modal's timeout ended the call ({e}); resume continues "
                               "from the last checkpoint")
        except modal.exception.OutputExpiredError:
            return self._ended("stopped", stop_reason="the call's result expired before the API read it")
        except modal.exception.InputCancellation:
            return self._ended("stopped", stop_reason="the Modal call was cancelled")
        except modal.exception.InternalFailure as e:
            return self._ended("stopped", stop_reason=f"Modal's infrastructure failed the call ({e}); resume "
                               "continues from the last checkpoint")
        except _rpc_errors() as e:
            raise WorkerUnreachable(f"{type(e).__name__}: {e}") from e
        except Exception as e:  # noqa: BLE001 - the container died outside the function (out of memory, image)
            return self._ended("failed", error=f"the Modal call failed: {type(e).__name__}: {e}")
        if not isinstance(value, dict) or value.get("outcome") not in ("completed", "stopped", "failed"):
            return self._ended("failed", error=f"the Modal call returned {value!r}, not an outcome")
        self._outcome = value
        return 1 if value["outcome"] == "failed" else 0

    def _ended(self, outcome: str, **details: str) -> int:
        self._outcome = {"outcome": outcome, **details}
        return 1 if outcome == "failed" else 0

    def outcome(self) -> dict[str, Any] | None:
        return self._outcome

    def stop(self) -> None:
        self.call.cancel()

    def kill(self) -> None:
        self.call.cancel(terminate_containers=True)


class ModalLauncher:
    """Starts each run as a `train_run` call; a restarted API container finds the call again by its id.
    Its Volume, function and call lookup are arguments so that the tests can run it against fakes."""

    def __init__(self, heartbeat_s: float, volume: Any = None, function: Any = None,
                 lookup: Callable[[str], Any] | None = None):
        self.heartbeat_s = heartbeat_s
        self.volume = volume if volume is not None else data_volume
        self.function = function if function is not None else train_run
        self.lookup = lookup or modal.FunctionCall.from_id
        self.last_reload = 0.0

    def start(self, run_id: str, run_dir: Any, resume: bool) -> _CallHandle:
        # `resume` is not passed on: the call always resumes from a checkpoint when there is one (see
        # train_in_container), so a fresh run and a resumed one differ only in what is on the Volume.
        self.volume.commit()  # the request the API just wrote must be visible to the GPU container
        return _CallHandle(self.function.spawn(run_id, self.heartbeat_s))

    def reattach(self, ref: str, run_dir: Any) -> _CallHandle | None:
        if not ref.startswith("modal:"):
            return None
        try:
            return _CallHandle(self.lookup(ref.split(":", 1)[1]))
        except Exception:  # noqa: BLE001 - an expired or unknown call: the run is interrupted
            return None

    def sync(self, now: bool = False) -> None:
        if not now and time.monotonic() - self.last_reload < API_SYNC_S:
            return
        self.last_reload = time.monotonic()
        try:
            _reload(self.volume, "data") if now else self.volume.reload()
        except Exception as e:  # noqa: BLE001 - a refused reload is retried next time; the run is not at fault
            log.warning("data Volume reload failed: %s", e)


@app.function(image=api_image, volumes=api_volumes,
              secrets=[modal.Secret.from_name(TOKEN_SECRET, required_keys=["ICTAL_API_TOKEN"])],
              min_containers=1,  # the supervisor lives here: it must run while no request comes in
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


def _commit_state() -> None:
    """After every change of the runs table (the store holds its lock meanwhile, so the SQLite file is whole).
    Not throttled: a skipped commit would be lost if the container stopped before the next write."""
    try:
        state_volume.commit()
    except Exception as e:  # noqa: BLE001 - the change is in the file; the next write's commit carries it
        log.warning("state Volume commit failed: %s", e)

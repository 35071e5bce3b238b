"""backend/modal_app.py imported with the real `modal` package (no network, nothing deployed): what it
declares. The API it serves is the one test_api.py runs for real under uvicorn."""
from __future__ import annotations

import importlib.util
import inspect
import uuid
from pathlib import Path
from types import ModuleType
from typing import Any

import modal
import pytest

MODAL_APP = Path(__file__).resolve().parents[1] / "modal_app.py"


def load_modal_app(monkeypatch: pytest.MonkeyPatch, **env: str) -> ModuleType:
    for key in ("ICTAL_EDF_BUCKET", "ICTAL_CORS_ORIGINS"):
        monkeypatch.delenv(key, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    spec = importlib.util.spec_from_file_location(f"modal_app_{uuid.uuid4().hex}", MODAL_APP)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def declared(function: Any, name: str) -> Any:
    """A setting passed to @app.function, as modal keeps it until deployment (pinned modal version)."""
    inner = function._sync_synchronizer._translate_in(function)
    settings = inspect.getclosurevars(inner._load).nonlocals
    assert name in settings, f"modal {modal.__version__} keeps no {name!r} where this test looks; update the test"
    return settings[name]


def test_the_app_declares_a_gpu_trainer_and_a_cpu_api(monkeypatch: pytest.MonkeyPatch) -> None:
    m = load_modal_app(monkeypatch)
    assert isinstance(m.app, modal.App) and m.app.name == "ictal"

    train = m.train_run._spec_
    assert train.gpus == "A100-80GB"
    assert {k: repr(v) for k, v in train.volumes.items()} == {"/data": "modal.Volume.from_name('ictal-data')",
                                                              "/triton-cache": "modal.Volume.from_name('ictal-triton')"}
    assert declared(m.train_run, "timeout") == 24 * 3600
    assert m.TRAIN_TIMEOUT_S - m.STOP_MARGIN_S >= 20 * 3600, "the worker stops itself shortly before the timeout"
    assert declared(m.train_run, "single_use_containers") is True, "each attempt (a preemption's re-run) in a fresh container"

    api = m.api._spec_
    assert api.gpus is None, "the API container must not hold a GPU"
    assert m.api._is_web_endpoint() and not m.train_run._is_web_endpoint()
    assert m.api._sync_synchronizer._translate_in(m.api)._webhook_config.type == modal._utils.function_utils.api_pb2.WEBHOOK_TYPE_ASGI_APP
    assert {k: repr(v) for k, v in api.volumes.items()} == {"/data": "modal.Volume.from_name('ictal-data')",
                                                            "/state": "modal.Volume.from_name('ictal-state')"}
    assert declared(m.api, "max_containers") == 1, "one API container: SQLite has a single writer"
    assert declared(m.api, "min_containers") == 1, "the supervisor lives in the API container: keep it running"
    assert [repr(s) for s in api.secrets] == ["modal.Secret.from_name('ictal-api-token')"]


def test_volumes_and_the_optional_edf_bucket(monkeypatch: pytest.MonkeyPatch) -> None:
    m = load_modal_app(monkeypatch)
    assert repr(m.data_volume) == "modal.Volume.from_name('ictal-data')"
    assert repr(m.state_volume) == "modal.Volume.from_name('ictal-state')"
    assert "/edf" not in m.train_run._spec_.volumes and "/edf" not in m.api._spec_.volumes

    with_bucket = load_modal_app(monkeypatch, ICTAL_EDF_BUCKET="tusz-raw")
    # the API checks that a data path exists, so it mounts the bucket too
    for function in (with_bucket.train_run, with_bucket.api):
        mount = function._spec_.volumes["/edf"]
        assert type(mount).__name__ == "_CloudBucketMount"  # the spec keeps the unwrapped object
        assert mount.bucket_name == "tusz-raw" and mount.read_only
        assert repr(mount.secret) == "modal.Secret.from_name('ictal-aws')"


def test_modal_call_handle_maps_call_states(monkeypatch: pytest.MonkeyPatch) -> None:
    """The handle's view of a function call: running (the builtin TimeoutError modal raises), the outcome the
    call returned, what Modal ended it with, and an RPC error that says nothing about the run."""
    import grpclib
    from grpclib.const import Status

    from ictal_backend.api.launcher import WorkerUnreachable

    m = load_modal_app(monkeypatch)

    class Call:
        object_id = "fc-123"

        def __init__(self, outcome: Any):
            self.outcome = outcome
            self.cancelled: list[bool] = []

        def get(self, timeout: float) -> Any:
            assert timeout == 0
            if isinstance(self.outcome, BaseException):
                raise self.outcome
            return self.outcome

        def cancel(self, terminate_containers: bool = False) -> None:
            self.cancelled.append(terminate_containers)

    def ended(outcome: Any) -> tuple[int | None, dict[str, Any] | None]:
        handle = m._CallHandle(Call(outcome))
        return handle.exit_code(), handle.outcome()

    assert ended(TimeoutError()) == (None, None)
    assert ended({"outcome": "completed", "result": {}}) == (0, {"outcome": "completed", "result": {}})
    assert ended({"outcome": "failed", "error": "ValueError: loss is NaN"}) == (1, {"outcome": "failed", "error": "ValueError: loss is NaN"})
    code, outcome = ended(modal.exception.FunctionTimeoutError("24 h"))
    assert code == 0 and outcome["outcome"] == "stopped" and "timeout" in outcome["stop_reason"]
    code, outcome = ended(modal.exception.RemoteError("container exited (137)"))
    assert code == 1 and "container exited (137)" in outcome["error"]
    assert ended("not a dict")[0] == 1
    for rpc_error in (grpclib.GRPCError(Status.UNAVAILABLE, "down"), modal.exception.ConnectionError("reset"),
                      modal.exception.InternalError("oops")):
        with pytest.raises(WorkerUnreachable):
            m._CallHandle(Call(rpc_error)).exit_code()
    call = Call(TimeoutError())
    handle = m._CallHandle(call)
    assert handle.ref == "modal:fc-123"
    handle.stop()
    handle.kill()
    assert call.cancelled == [False, True]
    assert m.ModalLauncher(30.0).reattach("pid:42", None) is None

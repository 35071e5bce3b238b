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
    assert {k: repr(v) for k, v in train.volumes.items()} == {"/data": "modal.Volume.from_name('ictal-data')"}
    assert declared(m.train_run, "timeout") == 24 * 3600

    api = m.api._spec_
    assert api.gpus is None, "the API container must not hold a GPU"
    assert m.api._is_web_endpoint() and not m.train_run._is_web_endpoint()
    assert m.api._sync_synchronizer._translate_in(m.api)._webhook_config.type == modal._utils.function_utils.api_pb2.WEBHOOK_TYPE_ASGI_APP
    assert {k: repr(v) for k, v in api.volumes.items()} == {"/data": "modal.Volume.from_name('ictal-data')",
                                                            "/state": "modal.Volume.from_name('ictal-state')"}
    assert declared(m.api, "max_containers") == 1, "one API container: SQLite has a single writer"
    assert [repr(s) for s in api.secrets] == ["modal.Secret.from_name('ictal-api-token')"]


def test_volumes_and_the_optional_edf_bucket(monkeypatch: pytest.MonkeyPatch) -> None:
    m = load_modal_app(monkeypatch)
    assert repr(m.data_volume) == "modal.Volume.from_name('ictal-data')"
    assert repr(m.state_volume) == "modal.Volume.from_name('ictal-state')"
    assert "/edf" not in m.train_run._spec_.volumes

    with_bucket = load_modal_app(monkeypatch, ICTAL_EDF_BUCKET="tusz-raw")
    mount = with_bucket.train_run._spec_.volumes["/edf"]
    assert type(mount).__name__ == "_CloudBucketMount"  # the spec keeps the unwrapped object
    assert mount.bucket_name == "tusz-raw" and mount.read_only
    assert repr(mount.secret) == "modal.Secret.from_name('ictal-aws')"


def test_modal_call_handle_maps_call_states(monkeypatch: pytest.MonkeyPatch) -> None:
    """The handle's view of a function call: running (the builtin TimeoutError modal raises), done, failed."""
    m = load_modal_app(monkeypatch)

    class Call:
        object_id = "fc-123"

        def __init__(self, outcome: BaseException | None):
            self.outcome = outcome
            self.cancelled: list[bool] = []

        def get(self, timeout: float) -> dict[str, str]:
            assert timeout == 0
            if self.outcome:
                raise self.outcome
            return {"outcome": "completed"}

        def cancel(self, terminate_containers: bool = False) -> None:
            self.cancelled.append(terminate_containers)

    assert m._CallHandle(Call(TimeoutError())).exit_code() is None
    assert m._CallHandle(Call(None)).exit_code() == 0
    assert m._CallHandle(Call(RuntimeError("loss is NaN"))).exit_code() == 1
    assert m._CallHandle(Call(modal.exception.FunctionTimeoutError("24 h"))).exit_code() == 1
    call = Call(TimeoutError())
    handle = m._CallHandle(call)
    assert handle.ref == "modal:fc-123"
    handle.stop()
    handle.kill()
    assert call.cancelled == [False, True]
    assert m.ModalLauncher(30.0).reattach("pid:42", None) is None

"""The Modal deployment's run life cycle, end to end without Modal: the real RunSupervisor, RunStore and
ModalLauncher (backend/modal_app.py) in an "API container", the real `train_in_container` and trainer (v3-tiny
on the CPU) in "GPU containers", joined only by a fake Volume and fake function calls that behave as Modal
documents them (tests/modal_fakes.py): commit/reload visibility, a result published when the call ends,
preemption (SIGINT, then the same input again in a fresh container), timeouts, RPC errors while polling."""
from __future__ import annotations

import json
import signal
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import modal
import pytest

from graph_fixtures import ts_graph_doc
from ictal_backend.api.run_files import EventCursor, RunDir
from ictal_backend.api.settings import ApiSettings
from ictal_backend.api.store import RunStore
from ictal_backend.api.supervisor import RunSupervisor
from modal_fakes import FakeModal, FakeVolume, VolumeView
from test_modal_app import load_modal_app

# Every step an epoch (one training window): each ends with a validation and a checkpoint.
TRAIN = {"steps": 3, "batch_size": 1, "precision": "f32", "seed": 7, "log_every": 1}
DATA = {"kind": "synthetic", "seed": 3, "windows": 1, "val_windows": 1}
WAIT_S = 240


class ApiContainer:
    """The API side as modal_app.api builds it: its own Volume view, the store, the supervisor ticking in a
    thread of its own (as the server's asyncio task does), the ModalLauncher with the fakes plugged in."""

    def __init__(self, m: Any, volume: FakeVolume, fake: FakeModal, tmp: Path):
        self.view = volume.mount(tmp / "api")
        self.settings = ApiSettings(home=self.view.root, token="t", heartbeat_s=0.5, db_file=tmp / "state" / "state.db")
        self.settings.runs_dir.mkdir(parents=True, exist_ok=True)  # as create_app does
        self.lock_held_on_write: list[bool] = []
        self.store = RunStore(self.settings.db_path, on_write=self._on_write)
        self.launcher = m.ModalLauncher(self.settings.heartbeat_s, volume=self.view, function=fake, lookup=fake.lookup)
        self.supervisor = RunSupervisor(self.settings, self.store, self.launcher)
        self.errors: list[BaseException] = []
        self._halt = threading.Event()
        self._thread = threading.Thread(target=self._ticks, daemon=True)

    def _on_write(self) -> None:
        self.lock_held_on_write.append(self.store._lock.locked())

    def _ticks(self) -> None:
        while not self._halt.is_set():
            try:
                self.supervisor.tick()
            except BaseException as e:  # noqa: BLE001 - the test asserts there were none
                self.errors.append(e)
            time.sleep(0.05)

    def start(self) -> "ApiContainer":
        self.supervisor.recover()
        self._thread.start()
        return self

    def stop(self) -> None:
        self._halt.set()
        self._thread.join(10)
        self.store.close()

    def submit(self, graph: dict[str, Any], train: dict[str, Any] = TRAIN, data: dict[str, Any] = DATA) -> str:
        """What POST /api/runs does once the request is valid."""
        run_id = "r" + time.strftime("%H%M%S") + str(len(self.store.list()))
        RunDir(self.settings.runs_dir / run_id).write_request(graph, train, data, None)
        self.store.create(run_id, {"name": graph["name"]}, train, data, False)
        return run_id

    def wait(self, run_id: str, statuses: set[str], timeout: float = WAIT_S) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            run = self.store.get(run_id)
            if run is not None and run.status in statuses:
                return run
            time.sleep(0.05)
        raise AssertionError(f"run {run_id} is {self.store.get(run_id).status}, not {statuses}")  # type: ignore[union-attr]

    def events(self, run_id: str) -> list[dict[str, Any]]:
        return [event for _, event in EventCursor(RunDir(self.settings.runs_dir / run_id)).read()]


@pytest.fixture
def setup(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[tuple[Any, FakeModal, ApiContainer]]:
    m = load_modal_app(monkeypatch)
    volume = FakeVolume()
    fake = FakeModal(m, volume, tmp_path / "gpu")
    api = ApiContainer(m, volume, fake, tmp_path).start()
    yield m, fake, api
    api.stop()
    assert not api.errors, api.errors


@pytest.fixture(scope="module")
def graph() -> dict[str, Any]:
    return ts_graph_doc("v3-tiny")


def messages(events: list[dict[str, Any]]) -> list[str]:
    return [e["message"] for e in events if e.get("type") == "log"]


def train_steps(events: list[dict[str, Any]]) -> list[int]:
    return [e["step"] for e in events if e.get("type") == "metrics" and e.get("split") == "train"]


def test_a_completed_run_succeeds_with_its_last_events(setup: Any, graph: dict[str, Any]) -> None:
    """The call's end is seen by the API before any reload of its Volume view would have shown the last
    commit; the run must still be `succeeded`, with the final events and validation metrics folded in."""
    m, fake, api = setup
    run_id = api.submit(graph)
    call = fake.next_call()
    outcome = fake.run(call)
    assert outcome["outcome"] == "completed", outcome
    run = api.wait(run_id, {"succeeded", "failed", "interrupted"})
    assert run.status == "succeeded", run.error
    assert run.error is None
    assert "val" in run.metrics and run.metrics["train"]["step"] == TRAIN["steps"]
    events = api.events(run_id)
    assert "training finished" in messages(events), messages(events)
    assert train_steps(events) == [1, 2, 3]
    assert (api.settings.runs_dir / run_id / "result.json").exists()
    assert all(api.lock_held_on_write), "the state Volume must be committed under the store's lock"


def test_the_time_limit_stops_the_run_interrupted_and_resume_continues_it(setup: Any, graph: dict[str, Any]) -> None:
    """A timer sets the stop flag before Modal's timeout: checkpoint, `interrupted`, then a resume goes on
    from that checkpoint in a new call, not from step 0."""
    m, fake, api = setup
    run_id = api.submit(graph)
    first = fake.run(fake.next_call(), stop_after_s=0.01)  # the limit is "near" before the first step
    assert first["outcome"] == "stopped" and "limit is near" in first["stop_reason"]
    run = api.wait(run_id, {"interrupted", "failed", "succeeded"})
    assert run.status == "interrupted" and "limit is near" in run.error
    steps_before = train_steps(api.events(run_id))
    assert api.supervisor.resume(run_id)
    fake.run(fake.next_call())
    run = api.wait(run_id, {"succeeded", "failed", "interrupted"})
    assert run.status == "succeeded", run.error
    events = api.events(run_id)
    if steps_before:  # the limit may fall before the first step: then there is nothing to resume from
        assert any(msg.startswith(f"resumed from step {steps_before[-1]} ") for msg in messages(events)), messages(events)
    assert train_steps(events) == steps_before + list(range(len(steps_before) + 1, TRAIN["steps"] + 1))


def test_preemption_checkpoints_on_sigint_and_the_rerun_resumes(setup: Any, graph: dict[str, Any]) -> None:
    m, fake, api = setup
    run_id = api.submit(graph, train={**TRAIN, "steps": 4})

    def after_first_checkpoint(view: VolumeView) -> bool:
        events = view.root / "runs" / run_id / "events.jsonl"
        return events.exists() and '"type": "checkpoint"' in events.read_text()

    outcome = fake.run(fake.next_call(), preempt_when=after_first_checkpoint)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler, "the SIGINT handler must be restored"
    assert outcome["outcome"] == "completed", outcome
    first, second = fake.attempt_logs
    assert "preempted (SIGINT)" in first[-1] or any("preempted (SIGINT)" in line for line in first)
    run = api.wait(run_id, {"succeeded", "failed", "interrupted"})
    assert run.status == "succeeded", run.error
    steps = train_steps(api.events(run_id))
    assert steps == list(range(1, 5)), f"the second attempt must continue, not restart: {steps}"
    assert any(msg.startswith("resumed from step") for msg in messages(api.events(run_id)))
    assert not any("no complete checkpoint" in msg for msg in messages(api.events(run_id))), \
        "a fresh run must not be started in resume mode (only a re-run with checkpoints is)"


def test_rpc_errors_while_polling_are_not_the_runs_failure(setup: Any, graph: dict[str, Any]) -> None:
    m, fake, api = setup
    run_id = api.submit(graph, train={**TRAIN, "steps": 1})
    call = fake.next_call()
    call.poll_errors = 10**6  # the API cannot reach Modal while the run trains and after it has ended
    fake.run(call)
    polls = call.polls
    while call.polls < polls + 20:
        time.sleep(0.05)
    assert api.store.get(run_id).status == "running"  # type: ignore[union-attr]
    call.poll_errors = 0
    run = api.wait(run_id, {"succeeded", "failed", "interrupted"})
    assert run.status == "succeeded", run.error


def test_a_failed_run_keeps_its_error_text(setup: Any, graph: dict[str, Any], tmp_path: Path) -> None:
    m, fake, api = setup
    run_id = api.submit(graph, data={"kind": "npz", "path": str(tmp_path / "no-such-recordings")})
    outcome = fake.run(fake.next_call())
    assert outcome["outcome"] == "failed"
    run = api.wait(run_id, {"succeeded", "failed", "interrupted"})
    assert run.status == "failed"
    assert "no-such-recordings" in run.error and outcome["error"] in run.error


@pytest.mark.parametrize("ended_by, status", [
    (modal.exception.FunctionTimeoutError("Function timed out after 86400 s"), "interrupted"),
    (modal.exception.InternalFailure("worker lost"), "interrupted"),
    (modal.exception.OutputExpiredError(), "interrupted"),
    (modal.exception.RemoteError("container exited with status 137 (out of memory)"), "failed"),
])
def test_calls_ended_by_modal(setup: Any, graph: dict[str, Any], ended_by: BaseException, status: str) -> None:
    """What Modal raises from get() for a call it ended: resumable ones become `interrupted`; a dead
    container is a failure whose text is kept."""
    m, fake, api = setup
    run_id = api.submit(graph)
    fake.next_call().finish(error=ended_by)
    run = api.wait(run_id, {"succeeded", "failed", "interrupted"})
    assert run.status == status
    assert str(ended_by) in run.error or type(ended_by).__name__ == "OutputExpiredError"


def test_a_cancelled_call_is_cancelled(setup: Any, graph: dict[str, Any]) -> None:
    m, fake, api = setup
    run_id = api.submit(graph)
    call = fake.next_call()
    api.supervisor.cancel(run_id)
    assert call.cancels == [False]
    call.finish(error=modal.exception.InputCancellation("cancelled"))
    assert api.wait(run_id, {"cancelled", "failed", "interrupted"}).status == "cancelled"


def test_a_restarted_api_container_follows_the_call_again(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                           graph: dict[str, Any]) -> None:
    m = load_modal_app(monkeypatch)
    volume = FakeVolume()
    fake = FakeModal(m, volume, tmp_path / "gpu")
    api = ApiContainer(m, volume, fake, tmp_path).start()
    run_id = api.submit(graph, train={**TRAIN, "steps": 1})
    call = fake.next_call()
    api.wait(run_id, {"running"})
    api.stop()
    fake.run(call)
    again = ApiContainer(m, volume, fake, tmp_path).start()  # the same state file, a fresh Volume view
    try:
        run = again.wait(run_id, {"succeeded", "failed", "interrupted"})
        assert run.status == "succeeded", run.error
        assert "training finished" in messages(again.events(run_id))
    finally:
        again.stop()


def test_sync_now_shows_what_another_container_committed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A cache copied onto the Volume (modal volume put) is visible to the API's data-path check only after a
    reload; `sync(now=True)` does it at once, retrying while a file is open."""
    m = load_modal_app(monkeypatch)
    volume = FakeVolume()
    api_view, other = volume.mount(tmp_path / "api"), volume.mount(tmp_path / "cli")
    launcher = m.ModalLauncher(1.0, volume=api_view, function=object(), lookup=lambda _: None)
    (other.root / "cache" / "tusz").mkdir(parents=True)
    (other.root / "cache" / "tusz" / "manifest.json").write_text("{}")
    other.commit()
    assert not (api_view.root / "cache" / "tusz").exists()
    launcher.last_reload = time.monotonic()
    launcher.sync()
    assert not (api_view.root / "cache" / "tusz").exists(), "a plain sync is throttled"
    (api_view.root / "held").write_text("x")
    held = open(api_view.root / "held")
    threading.Timer(0.3, held.close).start()
    launcher.sync(now=True)
    assert (api_view.root / "cache" / "tusz" / "manifest.json").read_text() == "{}"


def test_fake_volume_semantics(tmp_path: Path) -> None:
    """The fake itself: nothing crosses containers without commit + reload; open files refuse a reload."""
    volume = FakeVolume()
    a, b = volume.mount(tmp_path / "a"), volume.mount(tmp_path / "b")
    (a.root / "f").write_text("1")
    b.reload()
    assert not (b.root / "f").exists()
    a.commit()
    assert not (b.root / "f").exists()
    b.reload()
    assert (b.root / "f").read_text() == "1"
    with open(b.root / "f"):
        with pytest.raises(RuntimeError, match="open files"):
            b.reload()
    assert json.dumps(sorted(volume.files)) == '["f"]'

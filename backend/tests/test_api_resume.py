"""A run's worker killed mid-run, and killed in the middle of writing a checkpoint (by a hook), resumes from
its last complete checkpoint with a readable log in which no step appears twice (issue #13 item 5)."""
from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest

from test_api import LONG_TRAIN, ApiServer, events, run_request, submit, v3_tiny, wait_status  # noqa: F401
from test_api_hardening import _worker_pid

# Kills the worker (SIGKILL, once per server) just before the named checkpoint file's temp is renamed into
# place: the weights of that step are on disk, its state is not, so that checkpoint is incomplete.
HOOK = '''
import os, signal
from pathlib import Path
_target, _mark = os.environ.get("ICTAL_TEST_KILL_AT"), os.environ.get("ICTAL_TEST_KILL_MARK")
if _target and _mark:
    import ictal_backend.private_files as _files
    _original = _files._commit
    def _commit(tmp, path):
        if path.name == _target and not Path(_mark).exists():
            Path(_mark).write_text(str(os.getpid()))
            os.kill(os.getpid(), signal.SIGKILL)
        _original(tmp, path)
    _files._commit = _commit
'''


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    root = tmp_path_factory.mktemp("resume")
    (root / "hook").mkdir()
    (root / "hook" / "sitecustomize.py").write_text(HOOK)
    # One training window: every step is an epoch and ends with a checkpoint (epoch-NNNN = step N).
    srv = ApiServer(root / "home", env={"PYTHONPATH": str(root / "hook"), "ICTAL_TEST_KILL_AT": "epoch-0003.state.pt",
                                        "ICTAL_TEST_KILL_MARK": str(root / "killed")})
    srv.start()
    yield srv
    srv.stop()


def _log(server: ApiServer, run_id: str) -> list[dict[str, Any]]:
    lines = (server.home / "runs" / run_id / "events.jsonl").read_bytes().splitlines()
    return [json.loads(line) for line in lines]  # every line readable JSON


def _resume_and_check(server: ApiServer, api: httpx.Client, run_id: str, complete_step: int) -> None:
    assert api.post(f"/api/runs/{run_id}/resume").status_code == 200
    stream = events(api, run_id, stop=lambda seen: seen[-1][0] == "checkpoint" and seen[-1][1]["step"] >= complete_step + 2)
    # The stream opened just after the resume may replay the killed attempt's lines before the server cuts
    # them; then it carries the rewind, and always the resumed worker's own lines, under ids never reused.
    resumed = [d["message"] for e, d, _ in stream if e == "log" and "resumed from" in d.get("message", "")]
    assert resumed and resumed[-1].startswith(f"resumed from step {complete_step} "), stream
    ids = [int(i) for _, _, i in stream if i is not None]
    assert ids == sorted(set(ids)), stream
    assert api.post(f"/api/runs/{run_id}/cancel").status_code == 200
    assert wait_status(api, run_id, {"cancelled"})["status"] == "cancelled"
    log = _log(server, run_id)
    train = [e["step"] for e in log if e.get("type") == "metrics" and e.get("split") == "train"]
    assert train == sorted(set(train)), f"a step was logged twice or out of order: {train}"
    assert train[: complete_step + 2] == list(range(1, complete_step + 3)), train
    at = next(i for i, e in enumerate(log) if "resumed from" in str(e.get("message")))
    after = [e["step"] for e in log[at:] if e.get("type") == "metrics" and e.get("split") == "train"]
    assert after[0] == complete_step + 1, after  # it continues from N + 1
    # (A cancel right after an epoch's checkpoint saves step-N beside epoch-N: two names, one step.)
    checkpoints = [(e["step"], e["name"]) for e in log if e.get("type") == "checkpoint"]
    assert checkpoints == sorted(set(checkpoints)), checkpoints


def test_killed_while_writing_a_checkpoint_resumes_from_the_last_complete_one(server: ApiServer,
                                                                               v3_tiny: dict[str, Any]) -> None:  # noqa: F811
    with server.client() as api:
        run_id = submit(api, run_request(v3_tiny, LONG_TRAIN))
        run = wait_status(api, run_id, {"interrupted", "failed", "succeeded", "cancelled"})
        assert run["status"] == "interrupted" and "signal 9" in run["error"], run
        folder = server.home / "runs" / run_id / "checkpoints"
        assert (folder / "epoch-0003.safetensors").is_file() and not (folder / "epoch-0003.state.pt").exists()
        assert (folder / "epoch-0002.state.pt").is_file()
        assert any(e.get("step") == 3 for e in _log(server, run_id)), "step 3 was trained and logged before the kill"
        _resume_and_check(server, api, run_id, complete_step=2)


def test_killed_mid_run_resumes_from_the_last_complete_checkpoint(server: ApiServer, v3_tiny: dict[str, Any]) -> None:  # noqa: F811
    with server.client() as api:
        run_id = submit(api, run_request(v3_tiny, LONG_TRAIN))
        events(api, run_id, stop=lambda seen: seen[-1][0] == "checkpoint" and seen[-1][1]["step"] >= 2)
        # Kill it during the next step's training (after its train metrics, before its checkpoint).
        events(api, run_id, stop=lambda seen: seen[-1][0] == "metrics" and seen[-1][1].get("split") == "train"
               and seen[-1][1]["step"] >= 3)
        os.kill(_worker_pid(server, run_id), signal.SIGKILL)
        run = wait_status(api, run_id, {"interrupted", "failed"})
        assert run["status"] == "interrupted", run
        from ictal_backend.checkpoint_index import newest_checkpoint
        newest = newest_checkpoint(server.home / "runs" / run_id / "checkpoints")
        assert newest is not None and newest.weights.name != "best.safetensors"
        logged = max(e["step"] for e in _log(server, run_id) if e.get("type") == "metrics")
        assert logged >= newest.step
        _resume_and_check(server, api, run_id, complete_step=newest.step)

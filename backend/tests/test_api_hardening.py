"""The run API refuses what would hurt it and keeps its secrets and data private (issue #13), against real
`python -m ictal_backend serve` processes: limits answered 413 before anything is written, odd input a 4xx
with a message, run deletion, the token only from the environment or a file, a private home whatever the
umask, the API docs behind the token."""
from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest

from ictal_backend.accounting import saved_activation_bytes
from ictal_backend.ir import parse_ir

from test_api import BACKEND, REPO, SYNTHETIC, TINY_TRAIN, TOKEN, ApiServer, events, run_request, submit, v3_tiny  # noqa: F401

# v3-tiny keeps 53.1 MB of f32 activations per window (the accounting); 40 MB is under it.
ACTIVATION_LIMIT = 40_000_000


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    """A server with small limits, started under umask 0 (its files must be private all the same)."""
    srv = ApiServer(tmp_path_factory.mktemp("hardening") / "home", "--max-runs", "3", "--max-windows", "100",
                    "--max-workers", "2", umask=0)
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
def api(server: ApiServer) -> Iterator[httpx.Client]:
    with server.client() as c:
        yield c


def _files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def linear_graph(features: int) -> dict[str, Any]:
    """x [B, 1, features] -> linear(features, features): features^2 parameters in a tiny document."""
    return {
        "ictal_ir": 1, "name": "big", "config": {}, "inputs": ["x"], "outputs": ["y"],
        "tensors": {"x": {"shape": ["B", 1, features]}, "y": {"shape": ["B", 1, features]}},
        "params": {"fc.weight": {"shape": [features, features], "dtype": "F32", "weight_decay": True,
                                 "init": {"dist": "uniform", "bound": 0.01}}},
        "buffers": {},
        "nodes": [{"id": "fc", "op": "linear", "inputs": ["x"], "outputs": ["y"],
                   "attrs": {"in_features": features, "out_features": features, "bias": False},
                   "params": {"weight": "fc.weight"}, "buffers": {}}],
    }


def _limit(api: httpx.Client, body: dict[str, Any], limit: str) -> dict[str, Any]:
    r = api.post("/api/runs", json=body)
    assert r.status_code == 413, r.text
    answer = r.json()
    assert answer["limit"] == limit and limit in answer["detail"], answer
    return answer


def test_a_10g_parameter_graph_is_refused_at_once_with_nothing_written(server: ApiServer, api: httpx.Client) -> None:
    before = _files(server.home)
    started = time.monotonic()
    r = api.post("/api/runs", json={"graph": linear_graph(100_000), "train": TINY_TRAIN, "data": SYNTHETIC})
    elapsed = time.monotonic() - started
    assert r.status_code == 413, r.text
    assert r.json()["limit"] == "max_parameters" and r.json()["value"] == 10_000_000_000, r.json()
    assert "10,000,000,000" in r.json()["detail"] and "--max-parameters" in r.json()["detail"]
    assert elapsed < 1.0, f"the refusal took {elapsed:.2f} s"
    assert _files(server.home) == before, "a refused run wrote to the run home"
    assert api.get("/api/runs").json()["runs"] == []


def test_every_limit_is_named_with_its_value(api: httpx.Client, v3_tiny: dict[str, Any]) -> None:  # noqa: F811
    body = run_request(v3_tiny, TINY_TRAIN)
    # A 1e9-sample window: one tensor far over the per-tensor limit (and no allocation to find out).
    window = _limit(api, {**body, "graph": linear_graph(1_000_000_000) | {"params": {}, "nodes": [
        {"id": "r", "op": "relu", "inputs": ["x"], "outputs": ["y"], "attrs": {}, "params": {}, "buffers": {}}]}},
        "max_tensor_elements")
    assert window["value"] == 1_000_000_000
    assert _limit(api, {**body, "train": {**TINY_TRAIN, "steps": 10**400}}, "max_steps")["value"] == "a 1329-bit integer"
    _limit(api, {**body, "train": {**TINY_TRAIN, "batch_size": 10**6}}, "max_batch_size")
    _limit(api, {**body, "train": {**TINY_TRAIN, "val_batch_size": 10**12}}, "max_batch_size")
    _limit(api, {**body, "train": {**TINY_TRAIN, "num_workers": 100_000}}, "max_workers")
    _limit(api, {**body, "data": {**SYNTHETIC, "windows": 10**7}}, "max_windows")


def test_activation_memory_per_window_comes_from_the_accounting(tmp_path: Path, v3_tiny: dict[str, Any]) -> None:  # noqa: F811
    """Just under v3-tiny's accounted activation memory: refused; the same server takes a smaller graph."""
    srv = ApiServer(tmp_path / "home", "--max-activation-bytes", str(ACTIVATION_LIMIT))
    srv.start()
    try:
        with srv.client() as api:
            answer = _limit(api, run_request(v3_tiny, TINY_TRAIN), "max_activation_bytes")
            # The accounting's own number (test_accounting.py: equal to the lab's graphSummary).
            assert answer["value"] == saved_activation_bytes(parse_ir(v3_tiny["graph"]), 1) > ACTIVATION_LIMIT
            r = api.post("/api/runs", json={"graph": linear_graph(64), "train": TINY_TRAIN, "data": SYNTHETIC})
            assert r.status_code != 413, r.text
    finally:
        srv.stop()


def test_odd_input_is_a_4xx_with_a_message(api: httpx.Client, v3_tiny: dict[str, Any]) -> None:  # noqa: F811
    body = run_request(v3_tiny, TINY_TRAIN)
    huge_dim = json.loads(json.dumps(body))
    huge_dim["graph"]["tensors"][huge_dim["graph"]["inputs"][0]]["shape"][1] = 10**400
    huge_attr = json.loads(json.dumps(body))
    huge_attr["graph"]["nodes"][3]["attrs"]["p"] = 10**400
    raw = json.dumps(body)
    cases: list[tuple[str, bytes]] = [
        ("400-digit dimension", json.dumps(huge_dim).encode()),
        ("400-digit attribute", json.dumps(huge_attr).encode()),
        ("400-digit seed", json.dumps({**body, "train": {**TINY_TRAIN, "seed": 10**400}}).encode()),
        ("400-digit clip_norm", json.dumps({**body, "train": {**TINY_TRAIN, "clip_norm": 10**400}}).encode()),
        ("NUL in a data path", json.dumps({**body, "data": {"kind": "npz", "path": "/tmp/a\x00b"}}).encode()),
        ("5000-digit number", raw.replace('"steps": 1', '"steps": 1' + "0" * 5000).encode()),
        ("nested 100,000 deep", b'{"graph": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"),
        ("not UTF-8", b'{"graph": "\xff"}'),
        ("NaN", raw.replace('"steps": 1', '"steps": NaN').encode()),
    ]
    for name, content in cases:
        r = api.post("/api/runs", content=content, headers={"Content-Type": "application/json"})
        assert 400 <= r.status_code < 500, (name, r.status_code, r.text[:300])
        detail = r.json()["detail"]
        assert isinstance(detail, str) and detail and "error parsing the body" not in detail, (name, detail)
    r = api.get("/api/runs/r000000000000/events", headers={"Last-Event-ID": "9" * 5000})
    assert r.status_code in (400, 404)
    assert api.get("/api/runs").json()["runs"] == []


def test_runs_are_deleted_with_their_files_and_the_run_count_is_limited(server: ApiServer, api: httpx.Client,
                                                                       v3_tiny: dict[str, Any]) -> None:  # noqa: F811
    body = run_request(v3_tiny, {**TINY_TRAIN, "steps": 10_000})
    ids = [submit(api, body) for _ in range(3)]  # --max-runs 3
    answer = _limit(api, body, "max_runs")
    assert answer["value"] == 4 and answer["max"] == 3
    assert api.delete(f"/api/runs/{ids[-1]}").status_code == 409  # queued: cancel first
    for run_id in ids:
        assert api.post(f"/api/runs/{run_id}/cancel").status_code == 200
    for run_id in ids:
        deadline = time.monotonic() + 120
        while api.get(f"/api/runs/{run_id}").json()["status"] != "cancelled":
            assert time.monotonic() < deadline
            time.sleep(0.2)
        folder = server.home / "runs" / run_id
        assert folder.is_dir()
        assert api.delete(f"/api/runs/{run_id}").status_code == 204
        assert not folder.exists(), "the run's files outlived it"
        assert api.get(f"/api/runs/{run_id}").status_code == 404
    assert api.delete("/api/runs/r000000000000").status_code == 404
    submit_id = submit(api, body)  # room again
    api.post(f"/api/runs/{submit_id}/cancel")


def test_home_and_files_are_private_under_umask_0(server: ApiServer, api: httpx.Client,
                                                  v3_tiny: dict[str, Any]) -> None:  # noqa: F811
    run_id = submit(api, run_request(v3_tiny, TINY_TRAIN, weights=True))
    stream = events(api, run_id)
    assert stream[-1][1]["status"] == "succeeded", stream[-1]
    run_dir = server.home / "runs" / run_id
    assert (run_dir / "checkpoints" / "best.safetensors").is_file()
    for path in [server.home, *server.home.rglob("*")]:
        mode = stat.S_IMODE(path.lstat().st_mode)
        assert mode == (0o700 if path.is_dir() else 0o600), f"{path}: {oct(mode)}"
    api.delete(f"/api/runs/{run_id}")


def test_api_docs_need_the_token_or_are_off(server: ApiServer) -> None:
    with server.client(token=None) as anonymous, server.client() as api:
        assert anonymous.get("/openapi.json").status_code == 401
        assert api.get("/openapi.json").json()["info"]["title"] == "Ictal run API"
        for path in ("/docs", "/redoc"):
            assert anonymous.get(path).status_code == 404 and api.get(path).status_code == 404


def _serve(home: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if k != "ICTAL_API_TOKEN"}
    full.update(PYTHONPATH=str(BACKEND), **env)
    return subprocess.run([sys.executable, "-m", "ictal_backend", "serve", "--home", str(home), "--port", "1", *args],
                          env=full, cwd=REPO, capture_output=True, text=True, timeout=60)


def test_the_token_never_comes_from_the_command_line(tmp_path: Path) -> None:
    refused = _serve(tmp_path / "h", "--token", "secret-on-the-command-line", env={})
    assert refused.returncode != 0 and "--token is refused" in refused.stderr
    assert "secret-on-the-command-line" not in refused.stderr + refused.stdout
    missing = _serve(tmp_path / "h", env={})
    assert missing.returncode != 0 and "ICTAL_API_TOKEN" in missing.stderr
    empty = tmp_path / "empty"
    empty.write_text("\n")
    assert "is empty" in _serve(tmp_path / "h", "--token-file", str(empty), env={}).stderr


def test_token_file_works_and_the_token_reaches_no_process_list_env_or_log(tmp_path: Path,
                                                                           v3_tiny: dict[str, Any]) -> None:  # noqa: F811
    secret = "file-token-" + os.urandom(8).hex()
    token_file = tmp_path / "token"
    token_file.write_text(secret + "\n")
    token_file.chmod(0o600)
    srv = ApiServer(tmp_path / "home", "--token-file", str(token_file))
    srv.start()  # ApiServer also sets ICTAL_API_TOKEN=TOKEN: the file wins
    try:
        with srv.client(token=secret) as api:
            assert api.get("/api/runs").status_code == 200
            with srv.client(token=TOKEN) as env_token:  # the file wins over the environment
                assert env_token.get("/api/runs").status_code == 401
            run_id = submit(api, run_request(v3_tiny, {**TINY_TRAIN, "steps": 10_000}))
            deadline = time.monotonic() + 120
            while api.get(f"/api/runs/{run_id}").json()["status"] != "running":
                assert time.monotonic() < deadline
                time.sleep(0.2)
            worker = _worker_pid(srv, run_id)
            assert srv.process is not None
            for pid in (srv.process.pid, worker):
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
                environ = Path(f"/proc/{pid}/environ").read_bytes()
                assert secret.encode() not in cmdline and TOKEN.encode() not in cmdline, pid
                assert b"ICTAL_API_TOKEN=" not in environ or pid == srv.process.pid, f"worker {pid} inherited the token"
            api.post(f"/api/runs/{run_id}/cancel")
            events(api, run_id)
        logs = [srv.log, *(srv.home / "runs").rglob("*.log"), *(srv.home / "runs").rglob("events.jsonl")]
        for log in logs:
            text = log.read_bytes()
            assert secret.encode() not in text and TOKEN.encode() not in text, f"the token is in {log}"
    finally:
        srv.stop()


def _worker_pid(srv: ApiServer, run_id: str) -> int:
    """The run's worker pid, once recorded: a run is `running` (claimed) a moment before its process exists."""
    import sqlite3
    deadline = time.monotonic() + 60
    while True:
        with sqlite3.connect(srv.home / "state.db") as db:
            (ref,) = db.execute("SELECT worker_ref FROM runs WHERE id = ?", (run_id,)).fetchone()
        if ref is not None:
            return int(ref.split(":")[1])
        assert time.monotonic() < deadline, f"run {run_id} has no worker after 60 s"
        time.sleep(0.1)


def test_a_worker_whose_server_died_while_it_started_stops_by_itself(tmp_path: Path, v3_tiny: dict[str, Any]) -> None:  # noqa: F811
    """A server stopped just after it launched a run: its worker, still importing, was re-parented before it
    could note its parent. Told the server's pid, it sees that the server is gone and stops (checkpointing),
    instead of training on unsupervised."""
    from ictal_backend.api.run_files import RunDir
    run_dir = RunDir(tmp_path / "run")
    run_dir.write_request(v3_tiny["graph"], {**TINY_TRAIN, "steps": 10_000}, SYNTHETIC, None)
    gone = subprocess.Popen(["true"])
    gone.wait()  # a server pid that is no longer our worker's parent
    env = {**os.environ, "PYTHONPATH": str(BACKEND)}
    done = subprocess.run([sys.executable, "-m", "ictal_backend.api.worker", str(run_dir.path), "--heartbeat-s", "0.5",
                           "--server-pid", str(gone.pid)], env=env, capture_output=True, timeout=300)
    outcome = json.loads(run_dir.result.read_text())
    assert done.returncode == 0 and outcome["outcome"] == "stopped", (outcome, done.stdout[-2000:])
    assert outcome["stop_reason"] == "the server that started this run went away"


def test_disk_use_is_limited(tmp_path: Path) -> None:
    srv = ApiServer(tmp_path / "home", "--max-disk-bytes", "20000")  # state.db alone takes some of it
    srv.start()
    try:
        with srv.client() as api:
            before = _files(srv.home)
            body = {"graph": linear_graph(64), "train": TINY_TRAIN, "data": SYNTHETIC}
            body["graph"]["config"] = {"note": "x" * 30_000}  # the request itself would not fit
            answer = _limit(api, body, "max_disk_bytes")
            assert answer["value"] > 20_000 and answer["max"] == 20_000
            assert _files(srv.home) == before
    finally:
        srv.stop()

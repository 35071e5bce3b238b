"""The run API against a real uvicorn process (`python -m ictal_backend serve`) with a temporary home:
auth, validation before compute, CORS, body limit, a synthetic v3-tiny run to `succeeded` with its
checkpoint, the SSE stream, cancel, and a restart (SIGKILL) that keeps every run and makes the running one
`interrupted`, then resumable. The v3-tiny IR and weights come from `npx ictal graph` (nothing committed)."""
from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import httpx
import pytest
from safetensors.numpy import load as load_safetensors
from safetensors.numpy import save as save_safetensors

REPO = Path(__file__).resolve().parents[2]
BACKEND = REPO / "backend"
TOKEN = "test-token-" + os.urandom(8).hex()
LAB_ORIGIN = "http://127.0.0.1:5173"
MAX_BODY_MB = 4
# One optimizer step of v3-tiny at batch 1 on the CPU (a step costs seconds there). One training window makes
# every step an epoch, so every step ends with a validation and a checkpoint (a run killed early has one
# to resume from).
TINY_TRAIN: dict[str, Any] = {"steps": 1, "batch_size": 1, "precision": "f32", "seed": 7, "log_every": 1}
SYNTHETIC = {"kind": "synthetic", "seed": 3, "windows": 1, "val_windows": 1}
# Long enough to be caught running (cancel, restart): it is never left to finish.
LONG_TRAIN: dict[str, Any] = {**TINY_TRAIN, "steps": 10_000}
RUN_TIMEOUT_S = 240
IN_CI = os.environ.get("CI", "") not in ("", "false")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ApiServer:
    """One real server process; `kill()` + `start()` is a crash and a restart on the same home."""

    def __init__(self, home: Path, *args: str, umask: int | None = None, env: dict[str, str] | None = None):
        self.home = home
        self.env = env or {}
        self.args = args  # more `serve` options (limits)
        self.umask = umask
        self.process: subprocess.Popen[bytes] | None = None
        self.log = home.parent / "server.log"
        self.url = ""

    def start(self) -> None:
        port = _free_port()
        self.url = f"http://127.0.0.1:{port}"
        env = dict(os.environ)
        env.update(self.env)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (env.get("PYTHONPATH"), str(BACKEND)) if p)
        env["ICTAL_API_TOKEN"] = TOKEN  # never on the command line (docs/api.md)
        argv = [sys.executable, "-m", "ictal_backend", "serve", "--host", "127.0.0.1", "--port", str(port),
                "--home", str(self.home), "--heartbeat-s", "0.5", "--max-body-mb", str(MAX_BODY_MB), *self.args]
        umask = self.umask
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=REPO,
                                            preexec_fn=None if umask is None else lambda: os.umask(umask))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"the server exited with {self.process.returncode}:\n{self.log.read_text()[-3000:]}")
            try:
                if httpx.get(self.url + "/api/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        pytest.fail(f"the server did not answer /api/health within 60 s:\n{self.log.read_text()[-3000:]}")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()

    def client(self, token: str | None = TOKEN) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)


@pytest.fixture(scope="module")
def v3_tiny(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The v3-tiny graph and its reference weights, written by the TypeScript side now."""
    npx = shutil.which("npx")
    if npx is None or not (REPO / "node_modules").is_dir():
        if IN_CI:
            pytest.fail("CI=true: npx and node_modules are needed to build the v3-tiny IR")
        pytest.skip("npx or node_modules missing: cannot build the v3-tiny IR (run npm install)")
    out = tmp_path_factory.mktemp("ir")
    ir, weights = out / "graph.json", out / "weights.safetensors"
    subprocess.run([npx, "ictal", "graph", "--preset", "v3-tiny", "--ir", str(ir), "--weights", str(weights)],
                   cwd=REPO, check=True, capture_output=True, timeout=300)
    return {"graph": json.loads(ir.read_text()), "weights": weights.read_bytes()}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    root = tmp_path_factory.mktemp("api")
    srv = ApiServer(root / "home")
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
def api(server: ApiServer) -> Iterator[httpx.Client]:
    with server.client() as c:
        yield c


def run_request(v3_tiny: dict[str, Any], train: dict[str, Any], weights: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {"graph": v3_tiny["graph"], "train": train, "data": SYNTHETIC}
    if weights:
        body["weights"] = base64.b64encode(v3_tiny["weights"]).decode()
    return body


def submit(api: httpx.Client, body: dict[str, Any]) -> str:
    r = api.post("/api/runs", json=body)
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "queued"
    return r.json()["id"]


Event = tuple[str, Any, "str | None"]


def events(api: httpx.Client, run_id: str, until: str = "end", last_event_id: int | None = None,
           stop: Callable[[list[Event]], bool] | None = None) -> list[Event]:
    """(event, data, id) of the run's SSE stream, read until an event of type `until`, until `stop(seen)`
    says so, or to the stream's end."""
    headers = {"Last-Event-ID": str(last_event_id)} if last_event_id is not None else {}
    out: list[tuple[str, Any, str | None]] = []
    with api.stream("GET", f"/api/runs/{run_id}/events", headers=headers,
                    timeout=httpx.Timeout(10, read=RUN_TIMEOUT_S)) as r:
        assert r.status_code == 200, r.read()
        assert r.headers["content-type"].startswith("text/event-stream")
        fields: dict[str, str] = {}
        for line in r.iter_lines():
            if line.startswith(":"):
                continue
            if line:
                key, _, value = line.partition(": ")
                fields[key] = value
                continue
            if "data" in fields:
                out.append((fields.get("event", "message"), json.loads(fields["data"]), fields.get("id")))
                if out[-1][0] == until or (stop is not None and stop(out)):
                    return out
            fields = {}
    return out


def wait_status(api: httpx.Client, run_id: str, statuses: set[str], timeout: float = RUN_TIMEOUT_S) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        run = api.get(f"/api/runs/{run_id}").json()
        if run["status"] in statuses:
            return run
        assert time.monotonic() < deadline, f"run {run_id} still {run['status']} after {timeout} s: {run}"
        time.sleep(0.2)


@pytest.fixture(scope="module")
def finished_run(server: ApiServer, v3_tiny: dict[str, Any]) -> dict[str, Any]:
    """A synthetic v3-tiny run from the TS weights, followed over SSE to its end."""
    with server.client() as api:
        run_id = submit(api, run_request(v3_tiny, TINY_TRAIN, weights=True))
        stream = events(api, run_id)
        return {"id": run_id, "events": stream, "info": api.get(f"/api/runs/{run_id}").json()}


# -- access ---------------------------------------------------------------------------------------------
def test_health_is_open_everything_else_needs_the_token(server: ApiServer) -> None:
    with server.client(token=None) as anonymous, server.client(token="wrong") as wrong:
        assert anonymous.get("/api/health").json()["status"] == "ok"
        for client in (anonymous, wrong):
            for method, path in [("GET", "/api/runs"), ("POST", "/api/runs"), ("GET", "/api/runs/r000000000000"),
                                 ("GET", "/api/runs/r000000000000/events"), ("POST", "/api/runs/r000000000000/cancel"),
                                 ("GET", "/api/runs/r000000000000/artifacts/x.safetensors")]:
                r = client.request(method, path, json={} if method == "POST" else None)
                assert r.status_code == 401, (method, path, r.status_code, r.text)
                assert r.headers["www-authenticate"] == "Bearer"
                assert "bearer token" in r.json()["detail"]


def test_cors_allows_the_lab_origin_only(server: ApiServer) -> None:
    with server.client(token=None) as c:
        preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization,content-type"}
        ok = c.options("/api/runs", headers={"Origin": LAB_ORIGIN, **preflight})
        assert ok.status_code == 200
        assert ok.headers["access-control-allow-origin"] == LAB_ORIGIN
        assert "authorization" in ok.headers["access-control-allow-headers"].lower()
        other = c.options("/api/runs", headers={"Origin": "http://evil.example", **preflight})
        assert "access-control-allow-origin" not in other.headers
        # An error answer still carries CORS headers, so the lab can show why it was refused.
        denied = c.get("/api/runs", headers={"Origin": LAB_ORIGIN})
        assert denied.status_code == 401 and denied.headers["access-control-allow-origin"] == LAB_ORIGIN


def test_cors_preflight_admits_every_method_the_api_serves(server: ApiServer, api: httpx.Client) -> None:
    # The served routes from the server's own document (openapi.json itself is a GET, already among them), so a
    # route added later with a new method fails here until CORS admits it.
    paths = api.get("/openapi.json").json()["paths"]
    served = {(path, method.upper()) for path, ops in paths.items() for method in ops}
    methods = {m for _, m in served}
    assert {"GET", "POST", "DELETE"} <= methods  # the lab lists, submits, cancels, resumes and deletes runs
    with server.client(token=None) as c:
        for path, method in sorted(served):
            concrete = path.replace("{run_id}", "r000000000000").replace("{name}", "x.safetensors")
            r = c.options(concrete, headers={"Origin": LAB_ORIGIN, "Access-Control-Request-Method": method,
                                             "Access-Control-Request-Headers": "authorization"})
            assert r.status_code == 200, (method, path, r.status_code, r.text)
            assert r.headers["access-control-allow-origin"] == LAB_ORIGIN
            allowed = {m.strip() for m in r.headers["access-control-allow-methods"].split(",")}
            assert allowed == methods, (method, path, allowed)  # exactly the methods served, no more
        # A method no route serves is refused at the preflight.
        put = c.options("/api/runs", headers={"Origin": LAB_ORIGIN, "Access-Control-Request-Method": "PUT"})
        assert put.status_code == 400, put.text


def test_body_over_the_limit_is_413(api: httpx.Client) -> None:
    big = b'{"graph": "' + b"x" * (MAX_BODY_MB * 2**20) + b'"}'
    r = api.post("/api/runs", content=big, headers={"Content-Type": "application/json"})
    assert r.status_code == 413
    assert "exceeds the server's limit" in r.json()["detail"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit must hold for a streamed body too
        yield b'{"graph": "'
        for _ in range(MAX_BODY_MB + 1):
            yield b"x" * 2**20
        yield b'"}'

    r = api.post("/api/runs", content=chunks(), headers={"Content-Type": "application/json"})
    assert r.status_code == 413, r.text


# -- validation before compute ------------------------------------------------------------------------
def _refused(api: httpx.Client, body: dict[str, Any]) -> str:
    before = len(api.get("/api/runs").json()["runs"])
    r = api.post("/api/runs", json=body)
    assert r.status_code == 422, r.text
    assert len(api.get("/api/runs").json()["runs"]) == before, "a refused request must not create a run"
    return r.json()["detail"]


def test_bad_graph_is_refused_naming_what_is_wrong(api: httpx.Client, v3_tiny: dict[str, Any]) -> None:
    good = v3_tiny["graph"]
    node = good["nodes"][3]
    unknown_op = json.loads(json.dumps(good))
    unknown_op["nodes"][3]["op"] = "convolution"
    assert "convolution" in (detail := _refused(api, {**run_request(v3_tiny, TINY_TRAIN), "graph": unknown_op}))
    assert node["id"] in detail, detail

    version = {**good, "ictal_ir": 99}
    assert "99" in _refused(api, {**run_request(v3_tiny, TINY_TRAIN), "graph": version})

    dangling = json.loads(json.dumps(good))
    dangling["nodes"][3]["inputs"] = ["no_such_tensor"]
    assert "no_such_tensor" in _refused(api, {**run_request(v3_tiny, TINY_TRAIN), "graph": dangling})


def test_bad_weights_train_and_data_are_refused(api: httpx.Client, v3_tiny: dict[str, Any]) -> None:
    body = run_request(v3_tiny, TINY_TRAIN)
    assert "base64" in _refused(api, {**body, "weights": "not base64!"})
    assert "safetensors" in _refused(api, {**body, "weights": base64.b64encode(b"\xff" * 64).decode()})
    # Weights of another graph: a parameter missing.
    tensors = load_safetensors(v3_tiny["weights"])
    dropped = sorted(tensors)[0]
    del tensors[dropped]
    assert dropped in _refused(api, {**body, "weights": base64.b64encode(save_safetensors(tensors)).decode()})

    assert "train.batch_size" in _refused(api, {**body, "train": {**TINY_TRAIN, "batch_size": 0}})
    # The trainer's own config check runs before the run is accepted.
    assert "no_such_option" in _refused(api, {**body, "train": {**TINY_TRAIN, "no_such_option": 1}})
    assert "data.synthetic.windows" in _refused(api, {**body, "data": {**SYNTHETIC, "windows": 0}})
    both = _refused(api, {**body, "train": {**TINY_TRAIN, "epochs": 2}})
    assert "steps" in both and "epochs" in both
    assert "data.path" in _refused(api, {**body, "data": {"kind": "npz", "path": "/etc/passwd"}})
    assert "data" in _refused(api, {**body, "data": {"kind": "edf", "path": "x"}})


# -- a run, end to end ----------------------------------------------------------------------------------
def test_synthetic_run_succeeds_with_a_safetensors_checkpoint(api: httpx.Client, finished_run: dict[str, Any],
                                                              v3_tiny: dict[str, Any]) -> None:
    info = finished_run["info"]
    assert info["status"] == "succeeded", info
    assert info["init"] == "weights" and info["attempts"] == 1
    assert info["graph"]["name"] == "v3-tiny"
    assert info["metrics"]["train"]["step"] == TINY_TRAIN["steps"]
    assert info["artifacts"], "no checkpoint listed"
    r = api.get(f"/api/runs/{info['id']}/artifacts/{info['artifacts'][-1]}")
    assert r.status_code == 200 and r.headers["content-type"] == "application/octet-stream"
    tensors = load_safetensors(r.content)
    params = v3_tiny["graph"]["params"]
    assert set(params) <= set(tensors)
    for name, p in params.items():
        assert list(tensors[name].shape) == p["shape"], name
    listed = [run["id"] for run in api.get("/api/runs").json()["runs"]]
    assert info["id"] in listed


def test_event_stream_replays_log_metrics_and_ends(api: httpx.Client, finished_run: dict[str, Any]) -> None:
    stream = finished_run["events"]
    kinds = [e for e, _, _ in stream]
    assert "log" in kinds and "metrics" in kinds and "checkpoint" in kinds and "heartbeat" in kinds, kinds
    assert kinds[-1] == "end" and stream[-1][1]["status"] == "succeeded"
    steps = [d["step"] for e, d, _ in stream if e == "metrics" and d.get("split", "train") == "train"]
    assert steps == sorted(steps) and steps[-1] == TINY_TRAIN["steps"]
    # Log-backed events carry consecutive ids; a reconnect with Last-Event-ID gets only what follows.
    ids = [int(i) for _, _, i in stream if i is not None]
    assert ids == list(range(len(ids)))
    again = events(api, finished_run["id"], last_event_id=ids[-3])
    assert [int(i) for _, _, i in again if i is not None] == ids[-2:]
    assert again[-1][0] == "end"


def test_artifact_names_cannot_leave_the_checkpoint_folder(api: httpx.Client, finished_run: dict[str, Any]) -> None:
    base = f"/api/runs/{finished_run['id']}/artifacts/"
    for name in ["..%2F..%2Fstate.db", "%2E%2E", ".hidden.safetensors", "%2Fetc%2Fpasswd", "a%5C..%5Cb"]:
        r = api.get(base + name)
        assert r.status_code in (400, 404), (name, r.status_code)
        assert r.headers["content-type"].startswith("application/json"), name
    assert api.get(base + "nope.safetensors").status_code == 404
    assert api.get("/api/runs/r000000000000").status_code == 404


def test_cancel_queued_and_running_runs(api: httpx.Client, v3_tiny: dict[str, Any]) -> None:
    running = submit(api, run_request(v3_tiny, LONG_TRAIN))
    queued = submit(api, run_request(v3_tiny, LONG_TRAIN))  # one run at a time: this one waits
    assert api.get(f"/api/runs/{queued}").json()["status"] == "queued"
    r = api.post(f"/api/runs/{queued}/cancel")
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert events(api, queued)[-1][1]["status"] == "cancelled"

    wait_status(api, running, {"running"})  # its worker process has started
    r = api.post(f"/api/runs/{running}/cancel")
    assert r.status_code == 200 and r.json()["cancel_requested"]
    stream = events(api, running)
    assert stream[-1][0] == "end" and stream[-1][1]["status"] == "cancelled"
    assert api.post(f"/api/runs/{running}/cancel").status_code == 409
    assert api.post(f"/api/runs/{running}/resume").status_code == 409


def test_restart_keeps_every_run_and_interrupts_the_running_one(server: ApiServer, finished_run: dict[str, Any],
                                                                v3_tiny: dict[str, Any]) -> None:
    with server.client() as api:
        run_id = submit(api, run_request(v3_tiny, LONG_TRAIN))
        events(api, run_id, until="checkpoint")
        before = {r["id"]: r for r in api.get("/api/runs").json()["runs"]}
    with sqlite3.connect(server.home / "state.db") as db:
        (ref,) = db.execute("SELECT worker_ref FROM runs WHERE id = ?", (run_id,)).fetchone()
    worker = int(ref.split(":")[1])

    server.kill()
    # The orphaned worker notices and stops by itself (checkpointing), well before any restart.
    deadline = time.monotonic() + 60
    while _alive(worker) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _alive(worker), "the worker outlived its server by 60 s"
    server.start()

    with server.client() as api:
        after = {r["id"]: r for r in api.get("/api/runs").json()["runs"]}
        assert set(after) == set(before)
        assert after[run_id]["status"] == "interrupted" and "resume" in after[run_id]["error"]
        done = after[finished_run["id"]]
        assert done["status"] == "succeeded" and done["artifacts"] == finished_run["info"]["artifacts"]
        assert api.get(f"/api/runs/{finished_run['id']}/artifacts/{done['artifacts'][-1]}").status_code == 200
        assert events(api, run_id)[-1][1]["status"] == "interrupted"

        r = api.post(f"/api/runs/{run_id}/resume")
        assert r.status_code == 200 and r.json()["status"] in ("queued", "running")

        # The trainer says where it continues: the checkpoint the stopped worker left, not the start.
        stream = events(api, run_id, stop=lambda seen: "resumed from" in str(seen[-1][1].get("message")))
        checkpointed = [d["step"] for e, d, _ in stream if e == "checkpoint"]
        resumed = stream[-1][1]["message"]
        assert checkpointed and f"resumed from step {max(checkpointed)} " in resumed, (resumed, checkpointed)
        trained = [d["step"] for e, d, _ in stream if e == "metrics" and d.get("split") == "train"]
        assert after[run_id]["metrics"]["train"]["step"] == max(trained)  # the restart folded the log in
        assert api.get(f"/api/runs/{run_id}").json()["attempts"] == 2
        assert api.post(f"/api/runs/{run_id}/cancel").status_code == 200
        assert wait_status(api, run_id, {"cancelled"})["status"] == "cancelled"


def _alive(pid: int) -> bool:
    """Running (a zombie nobody reaped yet counts as gone)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False

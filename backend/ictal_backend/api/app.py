"""The run API: FastAPI routes over the store, the supervisor and the run folders (docs/api.md)."""
from __future__ import annotations

import hmac
import json
import logging
import re
import secrets
import shutil
from contextlib import asynccontextmanager
from datetime import datetime, timezone
from typing import Any, AsyncIterator, Callable

from fastapi import Depends, FastAPI, Header, HTTPException, Query, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ictal_backend.private_files import private_dir

from .body_limit import BodySizeLimit
from .events import stream_events
from .launcher import Launcher, LocalProcessLauncher
from .limits import LimitExceeded, check_server_limits
from .run_files import ArtifactNameError
from .schemas import Health, RunCreated, RunInfo, RunList, RunRequest, RunStatus
from .settings import ApiSettings
from .store import TERMINAL, RunRecord, RunStore
from .supervisor import RunSupervisor
from .validation import RequestInvalid, check_request

log = logging.getLogger("ictal_backend.api")
API_VERSION = "1"
RUN_ID = re.compile(r"^r[0-9a-f]{12}$")


def _iso(t: float | None) -> str | None:
    return datetime.fromtimestamp(t, timezone.utc).isoformat(timespec="seconds") if t is not None else None


def create_app(settings: ApiSettings, launcher: Launcher | None = None,
               on_store_write: Callable[[], None] | None = None) -> FastAPI:
    for folder in (settings.home, settings.runs_dir):  # 0700: runs hold the users' graphs, weights and data paths
        try:
            private_dir(folder)
        except OSError as e:  # a mount that refuses chmod (a cloud volume): say so, serve anyway
            settings.runs_dir.mkdir(parents=True, exist_ok=True)
            log.warning("cannot make %s private (0700): %s", folder, e)
    store = RunStore(settings.db_path, on_write=on_store_write)
    supervisor = RunSupervisor(settings, store, launcher or LocalProcessLauncher(heartbeat_s=settings.heartbeat_s))

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        supervisor.start()
        yield
        await supervisor.shutdown()
        store.close()

    # No open explorer pages: /openapi.json is served below behind the token; /docs and /redoc are off (their
    # pages fetch the document without a token, so behind it they could not work).
    app = FastAPI(title="Ictal run API", version=API_VERSION, lifespan=lifespan, docs_url=None, redoc_url=None,
                  openapi_url=None,
                  description="Submit, follow and collect training runs of an Ictal graph (docs/api.md).")
    app.state.store, app.state.supervisor, app.state.settings = store, supervisor, settings
    # Outermost last: CORS headers also go on 401 and 413 answers, so the lab can read them.
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(CORSMiddleware, allow_origins=list(settings.cors_origins), allow_methods=["GET", "POST", "DELETE"],
                       allow_headers=["Authorization", "Content-Type", "Last-Event-ID"], max_age=600)

    @app.exception_handler(RequestValidationError)
    async def invalid_body(_: Request, exc: RequestValidationError) -> JSONResponse:
        # One readable line first (what the CLI prints), FastAPI's structured list after it.
        parts = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body",) and not str(p).startswith("function-"))
            parts.append(f"{where or 'body'}: {err.get('msg')}")
        return JSONResponse(status_code=422, content={"detail": "; ".join(parts), "errors": jsonable_errors(exc)})

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        # FastAPI answers a body its JSON parser gave up on (nested too deep, a number past 4300 digits, bytes
        # that are not UTF-8) with a bare "error parsing the body"; say which.
        cause = exc.__cause__
        if exc.status_code == 400 and isinstance(cause, (ValueError, RecursionError)):
            why = "nested too deeply" if isinstance(cause, RecursionError) else str(cause)[:200]
            return JSONResponse(status_code=400, content={"detail": f"the request body is not readable JSON: {why}"})
        return await http_exception_handler(request, exc)

    def authorized(authorization: str | None = Header(None, description="Bearer <token>")) -> None:
        scheme, _, given = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), settings.token.encode()):
            raise HTTPException(401, "missing or wrong bearer token (Authorization: Bearer <token>)",
                                headers={"WWW-Authenticate": "Bearer"})

    def run_or_404(run_id: str) -> RunRecord:
        run = store.get(run_id) if RUN_ID.match(run_id) else None
        if run is None:
            raise HTTPException(404, f"no run {run_id!r}")
        return run

    def info(run: RunRecord) -> RunInfo:
        return RunInfo(
            id=run.id, status=run.status, created_at=_iso(run.created_at), started_at=_iso(run.started_at),  # type: ignore[arg-type]
            finished_at=_iso(run.finished_at), graph=run.graph, train=run.train, data=run.data,  # type: ignore[arg-type]
            init="weights" if run.has_weights else "seed", metrics=run.metrics,
            artifacts=supervisor.run_dir(run.id).artifact_names(), error=run.error, attempts=run.attempts,
            cancel_requested=run.cancel_requested_at is not None)

    @app.get("/api/health", response_model=Health, tags=["server"])
    def health() -> Health:
        """Open to all (no token): the server is up."""
        return Health(status="ok", version=API_VERSION)

    auth = [Depends(authorized)]

    @app.get("/openapi.json", dependencies=auth, include_in_schema=False)
    def openapi() -> JSONResponse:
        return JSONResponse(app.openapi())

    @app.post("/api/runs", response_model=RunCreated, status_code=201, dependencies=auth, tags=["runs"])
    def submit(req: RunRequest) -> RunCreated | JSONResponse:
        """Validates the graph, weights and data reference, then queues the run."""
        supervisor.launcher.sync(now=True)  # a data folder just copied to a Modal Volume is visible after a reload
        try:
            summary, weights, train, data = check_request(req, settings.allowed_data_dirs, settings.limits)
            check_server_limits(store.count(), settings.home, len(weights or b"") + _json_size(req.graph),
                                settings.limits)
        except RequestInvalid as e:
            raise HTTPException(422, str(e)) from None
        except LimitExceeded as e:
            return JSONResponse(status_code=413, content={"detail": str(e), "limit": e.limit, "value": e.value,
                                                          "max": e.maximum})
        run_id = "r" + secrets.token_hex(6)
        run_dir = supervisor.run_dir(run_id)
        try:
            run_dir.write_request(req.graph, train, data, weights)
            store.create(run_id, summary.model_dump(), train, data, weights is not None)
        except Exception:
            shutil.rmtree(run_dir.path, ignore_errors=True)
            raise
        supervisor.poke()
        return RunCreated(id=run_id, status="queued")

    @app.get("/api/runs", response_model=RunList, dependencies=auth, tags=["runs"])
    def list_runs(status: RunStatus | None = None, limit: int = Query(100, ge=1, le=1000)) -> RunList:
        """Newest first."""
        return RunList(runs=[info(r) for r in store.list(status=status, limit=limit)])

    @app.get("/api/runs/{run_id}", response_model=RunInfo, dependencies=auth, tags=["runs"])
    def get_run(run_id: str) -> RunInfo:
        return info(run_or_404(run_id))

    @app.get("/api/runs/{run_id}/events", dependencies=auth, tags=["runs"],
             response_class=StreamingResponse, responses={200: {"content": {"text/event-stream": {}}}})
    async def events(run_id: str, request: Request, last_event_id: str | None = Header(None)) -> StreamingResponse:
        """Server-sent events: the run's log from the start (or after Last-Event-ID), then live; ends with
        an `end` event when the run ends."""
        run_or_404(run_id)
        try:
            first = int(last_event_id) + 1 if last_event_id else 0
        except ValueError:
            raise HTTPException(400, f"Last-Event-ID must be an event id (an integer), got {last_event_id!r}") from None
        stream = stream_events(supervisor.run_dir(run_id), lambda: store.get(run_id), first,
                               request.is_disconnected, supervisor.launcher.sync)
        return StreamingResponse(stream, media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    @app.post("/api/runs/{run_id}/cancel", response_model=RunInfo, dependencies=auth, tags=["runs"])
    def cancel(run_id: str) -> RunInfo:
        """Queued and interrupted runs are cancelled at once; a running one is asked to stop and shows
        `cancel_requested` until its worker has exited, then `cancelled`."""
        run = run_or_404(run_id)
        if run.status in TERMINAL:
            raise HTTPException(409, f"run {run_id} has already ended ({run.status}); nothing to cancel")
        supervisor.cancel(run_id)
        return info(run_or_404(run_id))

    @app.delete("/api/runs/{run_id}", status_code=204, dependencies=auth, tags=["runs"])
    def delete(run_id: str) -> Response:
        """An ended (or interrupted) run and its files are deleted; a queued or running one must be cancelled
        first (409)."""
        run = run_or_404(run_id)
        if not store.delete(run_id, only_from=tuple(TERMINAL | {"interrupted"})):
            raise HTTPException(409, f"run {run_id} is {run.status}; cancel it before deleting it")
        shutil.rmtree(supervisor.run_dir(run_id).path, ignore_errors=True)
        return Response(status_code=204)

    @app.post("/api/runs/{run_id}/resume", response_model=RunInfo, dependencies=auth, tags=["runs"])
    def resume(run_id: str) -> RunInfo:
        """An interrupted run is queued again and continues from its last checkpoint."""
        run = run_or_404(run_id)
        if run.status != "interrupted" or not supervisor.resume(run_id):
            raise HTTPException(409, f"run {run_id} is {run.status}; only an interrupted run can be resumed")
        return info(run_or_404(run_id))

    @app.get("/api/runs/{run_id}/artifacts/{name}", dependencies=auth, tags=["runs"], response_class=FileResponse,
             responses={200: {"content": {"application/octet-stream": {}}}})
    def artifact(run_id: str, name: str) -> FileResponse:
        """A checkpoint, as the safetensors file the trainer wrote."""
        run_or_404(run_id)
        supervisor.launcher.sync()
        try:
            path = supervisor.run_dir(run_id).artifact(name)
        except ArtifactNameError as e:
            raise HTTPException(400, str(e)) from None
        if path is None:
            raise HTTPException(404, f"run {run_id} has no artifact {name!r}")
        return FileResponse(path, media_type="application/octet-stream", filename=name)

    return app


def _json_size(doc: Any) -> int:
    return len(json.dumps(doc))


def jsonable_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    return [{"loc": list(e.get("loc", ())), "msg": e.get("msg"), "type": e.get("type")} for e in exc.errors()]

"""`python -m ictal_backend serve --host H --port P --token T --home DIR`: the run API under uvicorn."""
from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

from .settings import DEFAULT_LAB_ORIGINS, DEFAULT_MAX_BODY_BYTES, ApiSettings


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.description = "Serve the run API (docs/api.md) with uvicorn."
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--token", default=os.environ.get("ICTAL_API_TOKEN"),
                   help="bearer token clients must send (default: $ICTAL_API_TOKEN)")
    p.add_argument("--home", type=Path, required=True, help="folder for state.db and the runs")
    p.add_argument("--cors-origin", action="append", dest="cors_origins", metavar="ORIGIN",
                   help=f"an origin allowed to call from a browser; repeatable (default: {' '.join(DEFAULT_LAB_ORIGINS)})")
    p.add_argument("--max-body-mb", type=float, default=DEFAULT_MAX_BODY_BYTES / 2**20)
    p.add_argument("--max-concurrent-runs", type=int, default=1)
    p.add_argument("--heartbeat-s", type=float, default=30.0, help="seconds between a run worker's heartbeats")
    p.add_argument("--data-dir", action="append", dest="data_dirs", type=Path, metavar="DIR",
                   help="a folder npz/cache data references may point into; repeatable (default: HOME/data)")


def settings_from(args: argparse.Namespace) -> ApiSettings:
    return ApiSettings(
        home=args.home.resolve(), token=args.token or "",
        cors_origins=tuple(args.cors_origins or DEFAULT_LAB_ORIGINS),
        max_body_bytes=int(args.max_body_mb * 2**20), max_concurrent_runs=args.max_concurrent_runs,
        heartbeat_s=args.heartbeat_s, data_dirs=tuple(d.resolve() for d in args.data_dirs or ()))


def main(args: argparse.Namespace) -> int:
    import uvicorn

    from .app import create_app

    try:
        settings = settings_from(args)
    except ValueError as e:
        raise SystemExit(f"serve: {e}") from None
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    app = create_app(settings)
    uvicorn.run(app, host=args.host, port=args.port, log_level="info", timeout_graceful_shutdown=5)
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m ictal_backend.api.serve")
    add_arguments(parser)
    raise SystemExit(main(parser.parse_args()))

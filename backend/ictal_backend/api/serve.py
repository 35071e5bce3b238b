"""`python -m ictal_backend serve --host H --port P --home DIR`: the run API under uvicorn.

The token comes from $ICTAL_API_TOKEN or `--token-file FILE`, never from the command line: a command line is
visible to every local user (`ps`) and npm prints it into the server log. Once read, it is dropped from this
process's environment so that nothing the server starts (run workers) inherits it."""
from __future__ import annotations

import argparse
import logging
import os
from dataclasses import fields
from pathlib import Path

from .limits import OPTION, RunLimits
from .settings import DEFAULT_LAB_ORIGINS, DEFAULT_MAX_BODY_BYTES, ApiSettings


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.description = "Serve the run API (docs/api.md) with uvicorn."
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--token-file", type=Path, metavar="FILE",
                   help="a file holding the bearer token clients must send (default: $ICTAL_API_TOKEN)")
    # Kept only to refuse it with a reason: a token on the command line leaks through `ps` and npm's banner.
    p.add_argument("--token", help=argparse.SUPPRESS)
    p.add_argument("--home", type=Path, required=True, help="folder for state.db and the runs")
    p.add_argument("--cors-origin", action="append", dest="cors_origins", metavar="ORIGIN",
                   help=f"an origin allowed to call from a browser; repeatable (default: {' '.join(DEFAULT_LAB_ORIGINS)})")
    p.add_argument("--max-body-mb", type=float, default=DEFAULT_MAX_BODY_BYTES / 2**20)
    p.add_argument("--max-concurrent-runs", type=int, default=1)
    p.add_argument("--heartbeat-s", type=float, default=30.0, help="seconds between a run worker's heartbeats")
    p.add_argument("--data-dir", action="append", dest="data_dirs", type=Path, metavar="DIR",
                   help="a folder npz/cache data references may point into; repeatable (default: HOME/data)")
    defaults = RunLimits()
    for f in fields(RunLimits):
        p.add_argument(OPTION[f.name], type=int, default=getattr(defaults, f.name), metavar="N",
                       help=f"refuse runs over this (default {getattr(defaults, f.name)}; docs/api.md \"Limits\")")


def read_token(args: argparse.Namespace, environ: dict[str, str]) -> str:
    """The bearer token from --token-file or $ICTAL_API_TOKEN (the file wins); --token is refused."""
    if args.token is not None:
        raise ValueError("--token is refused: a token on the command line is visible to every local user (ps) "
                         "and npm prints it into the log; set ICTAL_API_TOKEN or pass --token-file FILE")
    if args.token_file is not None:
        try:
            token = args.token_file.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as e:
            raise ValueError(f"--token-file {args.token_file}: cannot read it ({e})") from None
        if not token:
            raise ValueError(f"--token-file {args.token_file} is empty")
        return token
    token = environ.get("ICTAL_API_TOKEN", "").strip()
    if not token:
        raise ValueError("no API token: set ICTAL_API_TOKEN or pass --token-file FILE")
    return token


def settings_from(args: argparse.Namespace, token: str) -> ApiSettings:
    return ApiSettings(
        home=args.home.resolve(), token=token,
        cors_origins=tuple(args.cors_origins or DEFAULT_LAB_ORIGINS),
        max_body_bytes=int(args.max_body_mb * 2**20), max_concurrent_runs=args.max_concurrent_runs,
        heartbeat_s=args.heartbeat_s, data_dirs=tuple(d.resolve() for d in args.data_dirs or ()),
        limits=RunLimits(**{f.name: getattr(args, f.name) for f in fields(RunLimits)}))


def main(args: argparse.Namespace) -> int:
    import uvicorn

    from .app import create_app

    try:
        settings = settings_from(args, read_token(args, dict(os.environ)))
    except ValueError as e:
        raise SystemExit(f"serve: {e}") from None
    os.environ.pop("ICTAL_API_TOKEN", None)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    app = create_app(settings)
    uvicorn.run(app, host=args.host, port=args.port, log_level="info", timeout_graceful_shutdown=5)
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m ictal_backend.api.serve")
    add_arguments(parser)
    raise SystemExit(main(parser.parse_args()))

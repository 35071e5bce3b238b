"""`python -m ictal_backend cache --edf-dir D --out D`: builds the fast window cache (cache.py) from every EDF
under D that has a .csv_bi beside it."""
from __future__ import annotations

import argparse

from ..dsp.preprocess import STRIDE, WINDOW
from .cache import DTYPES, CacheError, build_cache


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--edf-dir", required=True, help="directory searched recursively for *.edf (each with a .csv_bi beside it)")
    parser.add_argument("--out", required=True, help="cache directory (manifest.json + recordings/)")
    parser.add_argument("--dtype", choices=sorted(DTYPES), default="float16", help="stored sample type (default float16)")
    parser.add_argument("--workers", type=int, default=1, help="recordings preprocessed in parallel (default 1)")
    parser.add_argument("--window", type=int, default=WINDOW, help=f"samples per window (default {WINDOW}: 60 s at 256 Hz)")
    parser.add_argument("--stride", type=int, default=STRIDE, help=f"samples between window starts (default {STRIDE}: 10 s)")


def main(args: argparse.Namespace) -> int:
    if args.workers < 1 or args.window < 1 or args.stride < 1:
        print("cache: --workers, --window and --stride must be positive integers")
        return 2
    try:
        manifest = build_cache(args.edf_dir, args.out, dtype=args.dtype, workers=args.workers, window=args.window, stride=args.stride)
    except CacheError as e:
        print(f"cache: {e}")
        return 2
    return 0 if manifest["totals"]["recordings"] > 0 else 1

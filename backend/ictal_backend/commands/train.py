"""`train --ir F [--weights W] --config C.json [--run-dir DIR] [--resume]`: the v3 recipe on a graph.

C.json holds the training config (ictal_backend.trainer.DEFAULTS lists the keys) and the data spec under
"data" (ictal_backend.datasets), e.g. {"steps": 200, "batch_size": 8, "data": {"kind": "synthetic", "seed": 1}}.
Events are printed one JSON object a line. Several GPUs: `torchrun --nproc-per-node N -m ictal_backend train ...`.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from ..datasets import DataSpecError
from ..ir import IrError, load_ir
from ..trainer import ConfigError, run_training


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--ir", required=True, type=Path, help="graph IR (graph.json)")
    p.add_argument("--weights", type=Path, help="initial weights (safetensors); default: drawn by the IR's init rules")
    p.add_argument("--config", required=True, type=Path, help="training config JSON, with the data spec under \"data\"")
    p.add_argument("--run-dir", type=Path, default=Path("runs/train"), help="checkpoints go to RUN_DIR/checkpoints (default runs/train)")
    p.add_argument("--resume", action="store_true", help="continue from RUN_DIR/checkpoints/latest.json")


def main(args: argparse.Namespace) -> int:
    try:
        config = json.loads(args.config.read_text())
    except (OSError, ValueError) as e:
        print(f"train: --config {args.config}: {e}", file=sys.stderr)
        return 2
    if not isinstance(config, dict) or not isinstance(config.get("data"), dict):
        print(f'train: --config {args.config} must be an object with the data spec under "data"', file=sys.stderr)
        return 2
    data = config.pop("data")

    def print_event(event: dict) -> None:
        print(json.dumps(event, default=str), flush=True)

    try:
        graph = load_ir(args.ir)
        result = run_training(graph, config, data, args.run_dir, weights=args.weights, resume=args.resume,
                              on_event=print_event)
    except (IrError, ConfigError, DataSpecError) as e:
        print(f"train: {e}", file=sys.stderr)
        return 2
    if int(os.environ.get("RANK", "0")) == 0:  # under torchrun, rank 0 speaks for the run
        print(json.dumps({"type": "result", **result}, default=str), flush=True)
    return 0

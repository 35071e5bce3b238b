"""`import-checkpoint --checkpoint FILE.pt --ir OUT.json --weights OUT.safetensors [--samples N] [--name NAME]`.

Turns a checkpoint of the original v3 implementation into the lab's IR + weights (original_checkpoint.py).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..ir import IrError
from ..original_checkpoint import DEFAULT_SAMPLES, CheckpointError, import_checkpoint


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--checkpoint", required=True, type=Path, help="the original's checkpoint (.pt / .pth)")
    p.add_argument("--ir", required=True, type=Path, help="where to write the graph IR (graph.json)")
    p.add_argument("--weights", required=True, type=Path, help="where to write the weights (safetensors)")
    p.add_argument("--samples", type=int, default=DEFAULT_SAMPLES,
                   help=f"window length in samples at 256 Hz (default {DEFAULT_SAMPLES}, the original's 60 s); "
                        "not stored in a checkpoint")
    p.add_argument("--name", default="v3", help="the graph's name in the IR (default v3)")


def main(args: argparse.Namespace) -> int:
    try:
        doc, skipped = import_checkpoint(args.checkpoint, args.ir, args.weights, args.samples, args.name)
    except (CheckpointError, IrError) as e:
        print(f"import-checkpoint: {e}", file=sys.stderr)
        return 2
    n = sum(1 for _ in doc["params"]) + len(doc["buffers"])
    print(f"import-checkpoint: {args.checkpoint} -> {args.ir} + {args.weights}: {n} tensors mapped (the PE buffer "
          f"included), {skipped} unused by v3 skipped")
    return 0

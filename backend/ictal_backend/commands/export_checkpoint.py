"""`export-checkpoint --ir G.json --weights W.safetensors --out FILE.pt`: the original v3 implementation's layout.

Writes a bare state_dict with the original's v3 keys (original_checkpoint.py); export -> import is bit-identical.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..ir import IrError
from ..original_checkpoint import CheckpointError, export_checkpoint


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--ir", required=True, type=Path, help="graph IR (graph.json) of a v3 graph")
    p.add_argument("--weights", required=True, type=Path, help="its weights (safetensors)")
    p.add_argument("--out", required=True, type=Path, help="where to write the checkpoint (.pt, torch.save)")


def main(args: argparse.Namespace) -> int:
    try:
        n = export_checkpoint(args.ir, args.weights, args.out)
    except (CheckpointError, IrError) as e:
        print(f"export-checkpoint: {e}", file=sys.stderr)
        return 2
    print(f"export-checkpoint: {args.ir} + {args.weights} -> {args.out}: {n} tensors in the original's layout")
    return 0

"""`forward --ir F --weights W --input X.npy --output Y.npy [--precision f32|f16]`: the graph on one input.

Same flags as `ictal forward` (the WebGPU executor), so the two can be compared on the same files. The input
is (B, 19, S) or one window (19, S); the output is float32 logits (B, S) (or (S,) for one window).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

from ..ir import IrError
from ..runtime import autocast, build_model, inference, pick_device


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--ir", required=True, type=Path, help="graph IR (graph.json)")
    p.add_argument("--weights", required=True, type=Path, help="weights (safetensors)")
    p.add_argument("--input", required=True, type=Path, help="input .npy, (B, 19, S) or (19, S)")
    p.add_argument("--output", required=True, type=Path, help="where to write the logits (.npy, float32)")
    p.add_argument("--precision", default="f32", choices=["f32", "f16"], help="f16: autocast to half (default f32)")
    p.add_argument("--device", default="auto", help="auto (CUDA if present), cpu, cuda, cuda:N")
    p.add_argument("--batch", type=int, default=0, help="windows per forward pass (default: all at once)")


def read_input(path: Path, graph_input_shape: list) -> tuple[np.ndarray, bool]:
    try:
        x = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as e:
        raise ValueError(f"--input {path}: not a readable .npy file ({e})") from None
    want = graph_input_shape[1:]
    single = x.ndim == len(want)
    if single:
        x = x[None]
    if x.ndim != len(want) + 1 or list(x.shape[1:]) != want:
        raise ValueError(f"--input {path}: shape {list(np.load(path, mmap_mode='r').shape)}; the graph takes "
                         f"(B, {', '.join(map(str, want))}) or ({', '.join(map(str, want))})")
    if not np.issubdtype(x.dtype, np.floating):
        raise ValueError(f"--input {path}: dtype {x.dtype}; a floating-point array is expected")
    return x.astype(np.float32, copy=False), single


def main(args: argparse.Namespace) -> int:
    try:
        device = pick_device(args.device)
        model = build_model(args.ir, args.weights, device=device)
        x, single = read_input(args.input, model.graph.tensors[model.graph.inputs[0]])
    except (IrError, ValueError) as e:
        print(f"forward: {e}", file=sys.stderr)
        return 2
    batch = args.batch if args.batch > 0 else len(x)
    outs = []
    with inference(model), autocast(device, args.precision):
        for start in range(0, len(x), batch):
            outs.append(model(torch.from_numpy(x[start:start + batch]).to(device)).float().cpu().numpy())
    y = np.concatenate(outs)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    np.save(args.output, y[0] if single else y)
    print(f"forward: {model.graph.name} on {len(x)} window(s), {args.precision} on {device} -> {args.output} {list(y.shape[1:] if single else y.shape)}")
    return 0

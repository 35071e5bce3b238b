"""`grad --ir F --weights W --input X.npy --labels Y.npy --output GRADS.safetensors [--precision P]`: autograd's
gradient of the training loss for every parameter on one batch.

The twin of `ictal grad` (the WebGPU training executor), same flags and file format, so the two can be compared
parameter by parameter: the focal loss of the v3 recipe (losses.py) with dropout off (eval mode) and no optimizer
step; one safetensors file, F32, keyed by IR parameter name, the loss in its metadata.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file

from ..ir import IrError
from ..losses import focal_loss
from ..runtime import autocast, build_model, pick_device
from .forward import read_input


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--ir", required=True, type=Path, help="graph IR (graph.json)")
    p.add_argument("--weights", required=True, type=Path, help="weights (safetensors)")
    p.add_argument("--input", required=True, type=Path, help="input .npy, (B, 19, S)")
    p.add_argument("--labels", required=True, type=Path, help="labels .npy in [0, 1], shaped like the logits (B, S)")
    p.add_argument("--output", required=True, type=Path, help="where to write the gradients (.safetensors)")
    p.add_argument("--precision", default="f32", choices=["f32", "f16"], help="f16: autocast to half (default f32)")
    p.add_argument("--pos-weight", type=float, default=1.0, help="the focal loss's positive-class weight (default 1)")
    p.add_argument("--device", default="auto", help="auto (CUDA if present), cpu, cuda, cuda:N")
    p.add_argument("--round-half", action="store_true",
                   help="f32 autograd with the weights and every op's output rounded to half in the forward (the "
                        "gradient is not rounded): how much f16 storage alone moves each gradient (see docs/training.md)")


class _RoundHalf(torch.autograd.Function):
    """Rounds to half in the forward, passes the gradient through unrounded."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return x.half().to(x.dtype)

    @staticmethod
    def backward(ctx, g: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return g


def round_half_storage(model: torch.nn.Module) -> None:
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(p.half().float())
    for module in model.ops.values():
        module.register_forward_hook(lambda _m, _i, out: _RoundHalf.apply(out) if isinstance(out, torch.Tensor) else out)


def read_labels(path: Path, logits_shape: list, batch: int) -> np.ndarray:
    try:
        y = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as e:
        raise ValueError(f"--labels {path}: not a readable .npy file ({e})") from None
    if y.ndim != len(logits_shape) or y.shape[0] != batch or list(y.shape[1:]) != logits_shape[1:]:
        raise ValueError(f"--labels {path}: shape {list(y.shape)}; the logits are ({batch}, {', '.join(map(str, logits_shape[1:]))})")
    if not np.issubdtype(y.dtype, np.floating) or not ((y >= 0) & (y <= 1)).all():
        raise ValueError(f"--labels {path}: labels must be floating point in [0, 1]")
    return y.astype(np.float32, copy=False)


def main(args: argparse.Namespace) -> int:
    try:
        device = pick_device(args.device)
        model = build_model(args.ir, args.weights, device=device)
        g = model.graph
        x, single = read_input(args.input, g.tensors[g.inputs[0]])
        if single:
            raise ValueError(f"--input {args.input}: give a batch (B, ...), as the labels are per window")
        y = read_labels(args.labels, g.tensors[g.outputs[0]], len(x))
        if not (args.pos_weight >= 0 and np.isfinite(args.pos_weight)):
            raise ValueError(f"--pos-weight {args.pos_weight} is not a finite number >= 0")
    except (IrError, ValueError) as e:
        print(f"grad: {e}", file=sys.stderr)
        return 2
    model.eval()  # dropout off; gradients still flow
    if args.round_half:
        round_half_storage(model)
    params = model.ir_parameters()
    for p in params.values():
        p.grad = None
    with autocast(device, args.precision):
        logits = model(torch.from_numpy(x).to(device))
    loss = focal_loss(logits.float(), torch.from_numpy(y).to(device), pos_weight=args.pos_weight)
    loss.backward()
    grads = {name: (p.grad if p.grad is not None else torch.zeros_like(p)).detach().to("cpu", torch.float32).contiguous()
             for name, p in params.items()}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    save_file(grads, str(args.output), metadata={"format": "ictal-grads", "graph": g.name, "loss": repr(loss.item()),
                                                 "precision": args.precision, "round_half": str(args.round_half)})
    print(f"grad: {g.name} on {len(x)} window(s), {args.precision} on {device}: loss {loss.item():.6g} -> {args.output} "
          f"({len(grads)} gradients)")
    return 0

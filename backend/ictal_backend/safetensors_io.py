"""Weights in and out as safetensors, keyed by IR name (docs/ir.md "safetensors").

Loading checks the file against the IR: every declared parameter and buffer present with its declared shape,
no unknown keys, finite values, and buffers equal to the IR's own values.
"""
from __future__ import annotations

from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save

from .ir import IrError, IrGraph
from .model import GraphModel
from .private_files import atomic_write

BUFFER_TOLERANCE = 1e-6  # F32 copies of the IR's float64 buffer values


def read_tensors(path: str | Path) -> dict[str, torch.Tensor]:
    p = Path(path)
    if not p.is_file():
        raise IrError(f"weights file {p} does not exist")
    try:
        return load_file(str(p))
    except (SafetensorError, OSError, ValueError) as e:
        raise IrError(f"weights file {p} is not a readable safetensors file: {e}") from None


def check_weights(graph: IrGraph, tensors: dict[str, torch.Tensor], source: str = "weights") -> None:
    declared = {**{k: p.shape for k, p in graph.params.items()}, **{k: b.shape for k, b in graph.buffers.items()}}
    missing = [k for k in declared if k not in tensors]
    if missing:
        raise IrError(f"{source}: lacks {len(missing)} tensor(s) the graph declares: {', '.join(missing[:8])}"
                      + (" ..." if len(missing) > 8 else ""))
    unknown = [k for k in tensors if k not in declared]
    if unknown:
        raise IrError(f"{source}: holds {len(unknown)} tensor(s) the graph does not declare: {', '.join(unknown[:8])}"
                      + (" ..." if len(unknown) > 8 else ""))
    for k, shape in declared.items():
        t = tensors[k]
        if tuple(t.shape) != tuple(shape):
            raise IrError(f"{source}: tensor {k!r} has shape {list(t.shape)}, the graph declares {list(shape)}")
        if not t.is_floating_point():
            raise IrError(f"{source}: tensor {k!r} has dtype {t.dtype}, expected a floating-point type")
        if not torch.isfinite(t).all():
            raise IrError(f"{source}: tensor {k!r} holds non-finite values")
    for k, b in graph.buffers.items():
        ref = torch.tensor(b.values, dtype=torch.float64).reshape(b.shape)
        diff = (tensors[k].double() - ref).abs().max().item()
        if diff > BUFFER_TOLERANCE:
            raise IrError(f"{source}: buffer {k!r} differs from the IR's values by {diff:.3g} (weights from another graph?)")


def load_weights(model: GraphModel, path: str | Path) -> None:
    """Reads a safetensors file into the model, after checking it fits the model's IR."""
    tensors = read_tensors(path)
    check_weights(model.graph, tensors, f"weights file {path}")
    apply_tensors(model, tensors)


def apply_tensors(model: GraphModel, tensors: dict[str, torch.Tensor]) -> None:
    with torch.no_grad():
        for name, t in model.ir_tensors().items():
            t.copy_(tensors[name].to(t.dtype))


def weights_dict(model: GraphModel) -> dict[str, torch.Tensor]:
    """Every parameter and buffer, float32, contiguous, on the CPU, keyed by IR name."""
    return {k: v.detach().to(device="cpu", dtype=torch.float32).contiguous() for k, v in model.ir_tensors().items()}


def save_weights(model: GraphModel, path: str | Path, metadata: dict[str, str] | None = None) -> None:
    """Writes the weights the way the lab does (F32, IR names, format metadata); atomically (temp + fsync +
    rename, 0600)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    meta = {"format": "ictal", "ictal_ir": "1", "graph": model.graph.name, **(metadata or {})}
    atomic_write(p, save(weights_dict(model), metadata=meta))

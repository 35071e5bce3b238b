"""Where and in what precision the model runs: device choice, autocast contexts, graph + weights loading."""
from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any, Iterator

import torch

from .ir import IrGraph, load_ir, parse_ir
from .model import GraphModel, init_parameters
from .safetensors_io import load_weights

PRECISIONS = ("f32", "f16", "bf16")


def pick_device(name: str = "auto") -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device {name!r} asked for, but torch sees no CUDA device here")
    try:
        return torch.device(name)
    except RuntimeError:
        raise ValueError(f"unknown device {name!r} (auto, cpu, cuda, cuda:N)") from None


@contextlib.contextmanager
def exact_f32() -> Iterator[None]:
    """Plain float32 on CUDA too: cuDNN convolutions otherwise default to TF32 (10-bit mantissas) on Ampere and
    later, which moved v3-tiny's logits 6e-2 from the float64 reference on an H200 (the WebGPU f32 executor: 2e-6)."""
    saved = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved


def time_conv_algorithms(device: torch.device, on: bool = True) -> None:
    """Training feeds one shape every step, so on CUDA let cuDNN time its convolution algorithms once per shape
    (the first step) and keep the fastest: its default heuristic took a 13 ms weight-gradient kernel for each of
    the TCN's convs at batch 16 on an H100 (2026-12-06 kernel trace, docs/PERFORMANCE.md)."""
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = on


def autocast(device: torch.device, precision: str) -> contextlib.AbstractContextManager[Any]:
    """f32: plain float32 (no TF32). f16/bf16: torch autocast (matmuls and convs in half, reductions and the scan
    in f32)."""
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r} ({', '.join(PRECISIONS)})")
    if precision == "f32":
        return exact_f32()
    dtype = torch.float16 if precision == "f16" else torch.bfloat16
    return torch.autocast(device_type=device.type, dtype=dtype)


def load_graph(ir: str | Path | dict[str, Any] | IrGraph) -> IrGraph:
    if isinstance(ir, IrGraph):
        return ir
    if isinstance(ir, dict):
        return parse_ir(ir)
    return load_ir(ir)


def build_model(ir: str | Path | dict[str, Any] | IrGraph, weights: str | Path | None = None, seed: int = 42,
                device: torch.device | str = "cpu", scan_impl: str = "auto") -> GraphModel:
    """The graph as a torch module on `device`: weights from a safetensors file, or drawn by the IR's init rules."""
    model = GraphModel(load_graph(ir), scan_impl=scan_impl)
    if weights is not None:
        load_weights(model, weights)
    else:
        init_parameters(model, seed)
    return model.to(device)


@contextlib.contextmanager
def inference(model: GraphModel) -> Iterator[None]:
    was = model.training
    model.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        model.train(was)

"""The plain ops of the IR op table (docs/ir.md): one torch module per op, attributes as given by the IR.

Parameters are registered under their IR role names, so `<node id>.<role>` is the IR (and safetensors) name.
"""
from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn


class Sanitize(nn.Module):
    """NaN -> `nan`, then clamp to [min, max] (infinities clamp too)."""

    def __init__(self, attrs: dict[str, Any]):
        super().__init__()
        self.nan, self.lo, self.hi = float(attrs["nan"]), float(attrs["min"]), float(attrs["max"])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.nan_to_num(x, nan=self.nan, posinf=self.hi, neginf=self.lo).clamp(self.lo, self.hi)


class Conv1d(nn.Module):
    """Cross-correlation with zero padding [left, right]; with weight_norm, w = g * v / ||v|| per output channel
    (norm over input channels and taps)."""

    def __init__(self, attrs: dict[str, Any]):
        super().__init__()
        o, i, k = attrs["out_channels"], attrs["in_channels"], attrs["kernel_size"]
        self.stride, self.dilation = attrs["stride"], attrs["dilation"]
        self.padding = tuple(attrs["padding"])
        self.weight_norm = attrs["weight_norm"]
        if self.weight_norm:
            self.weight_v = nn.Parameter(torch.empty(o, i, k))
            self.weight_g = nn.Parameter(torch.empty(o, 1, 1))
        else:
            self.weight = nn.Parameter(torch.empty(o, i, k))
        self.bias = nn.Parameter(torch.empty(o)) if attrs["bias"] else None

    def effective_weight(self) -> torch.Tensor:
        if not self.weight_norm:
            return self.weight
        return self.weight_v * (self.weight_g / self.weight_v.norm(dim=(1, 2), keepdim=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        left, right = self.padding
        if left == right:
            return F.conv1d(x, self.effective_weight(), self.bias, self.stride, left, self.dilation)
        return F.conv1d(F.pad(x, (left, right)), self.effective_weight(), self.bias, self.stride, 0, self.dilation)


class ReLU(nn.Module):
    def __init__(self, attrs: dict[str, Any]):
        super().__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(x)


class Softplus(nn.Module):
    def __init__(self, attrs: dict[str, Any]):
        super().__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.softplus(x)


class Dropout(nn.Module):
    def __init__(self, attrs: dict[str, Any]):
        super().__init__()
        self.p = float(attrs["p"])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.dropout(x, self.p, self.training) if self.p > 0 else x


class Clamp(nn.Module):
    def __init__(self, attrs: dict[str, Any]):
        super().__init__()
        self.lo, self.hi = float(attrs["min"]), float(attrs["max"])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.clamp(self.lo, self.hi)


class Add(nn.Module):
    def __init__(self, attrs: dict[str, Any]):
        super().__init__()

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return a + b


class Reshape(nn.Module):
    """Row-major reinterpretation; "B" in the target shape is the input's batch size."""

    def __init__(self, attrs: dict[str, Any]):
        super().__init__()
        self.shape = list(attrs["shape"])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape([x.shape[0] if d == "B" else d for d in self.shape])


class Permute(nn.Module):
    """torch.permute: a view; the next op that needs contiguous memory makes the copy."""

    def __init__(self, attrs: dict[str, Any]):
        super().__init__()
        self.perm = list(attrs["perm"])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.permute(self.perm)


class Concat(nn.Module):
    """Concatenation on the last axis; every other axis broadcasts numpy-style (right-aligned)."""

    def __init__(self, attrs: dict[str, Any]):
        super().__init__()

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        lead = torch.broadcast_shapes(*(x.shape[:-1] for x in xs))
        return torch.cat([x.expand(*lead, x.shape[-1]) for x in xs], dim=-1)


class Linear(nn.Module):
    def __init__(self, attrs: dict[str, Any]):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(attrs["out_features"], attrs["in_features"]))
        self.bias = nn.Parameter(torch.empty(attrs["out_features"])) if attrs["bias"] else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight, self.bias)


class LayerNorm(nn.Module):
    """torch LayerNorm over the last axis (biased variance)."""

    def __init__(self, attrs: dict[str, Any]):
        super().__init__()
        n = attrs["normalized_shape"]
        self.eps = float(attrs["eps"])
        self.weight = nn.Parameter(torch.empty(n))
        self.bias = nn.Parameter(torch.empty(n))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.layer_norm(x, (x.shape[-1],), self.weight, self.bias, self.eps)


class UpsampleNearest(nn.Module):
    """out[..., t] = x[..., t // scale]."""

    def __init__(self, attrs: dict[str, Any]):
        super().__init__()
        self.scale = attrs["scale"]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.repeat_interleave(self.scale, dim=-1)

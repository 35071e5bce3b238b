"""One Mamba2 block (docs/ir.md "mamba2"; the parameter names of mamba_ssm.Mamba2), forward or reversed.

The reversed block (`reverse: true`) is out = flip_L(M(flip_L(x))), computed without flipping anything: the
projections are per time step, the causal conv becomes an anti-causal one (taps mirrored, zero padding on
the right) and the scan walks time backwards (scan.py).
"""
from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
import torch.utils.checkpoint
from torch import nn

from ..ir import mamba_dims
from ..scan import mamba_ssm_available, scan

# torch.compile (model.compile_non_scan) traces around the scan, not into it: mamba_ssm's kernels are Triton
# already, and the chunked scan's Python loop over chunks would only unroll.
_eager_scan = torch.compiler.disable(scan)


class GatedRMSNorm(nn.Module):
    """y = g / sqrt(mean(g^2) + eps) * weight with g = y * silu(z), over the last axis."""

    def __init__(self, width: int, eps: float):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.empty(width))

    def forward(self, y: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        g = y * F.silu(z)
        return g * torch.rsqrt(g.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


class Mamba2(nn.Module):
    """x [..., L, d_model] -> same: every leading index is an independent sequence."""

    def __init__(self, attrs: dict[str, Any], scan_impl: str = "auto"):
        super().__init__()
        m = mamba_dims(attrs)
        self.d_inner, self.d_state, self.heads, self.headdim = m["d_inner"], m["N"], m["H"], m["P"]
        self.d_conv, self.conv_dim = m["d_conv"], m["conv_dim"]
        self.reverse = bool(attrs["reverse"])
        self.scan_impl = scan_impl
        # What to recompute in backward instead of keeping: "none"; "scan" (the pure-PyTorch chunked scan holds
        # sequences x heads x L x chunk values); "block" (everything between the block's input and output).
        self.checkpoint = "none"
        # How a reversed block runs: None = by flipping its input and output (d_model wide) where the scan has no
        # reverse mode (mamba_ssm), in place otherwise; True/False force one way (the tests compare the two).
        self.reverse_by_flip: bool | None = None
        self.in_proj = nn.Linear(m["D"], m["d_in_proj"], bias=False)
        self.conv1d = nn.Conv1d(self.conv_dim, self.conv_dim, self.d_conv, groups=self.conv_dim, bias=True)
        self.dt_bias = nn.Parameter(torch.empty(self.heads))
        self.A_log = nn.Parameter(torch.empty(self.heads))
        self.D = nn.Parameter(torch.empty(self.heads))
        self.norm = GatedRMSNorm(self.d_inner, float(attrs["norm_eps"]))
        self.out_proj = nn.Linear(self.d_inner, m["D"], bias=False)

    def causal_conv(self, xbc: torch.Tensor, reverse: bool) -> torch.Tensor:
        """Depthwise conv over time of xbc [n, L, C]: out_t = sum_j w[j] x_{t-(k-1)+j} (zeros before 0), or
        in reverse out_t = sum_j w[j] x_{t+(k-1)-j} (zeros after L-1); plus bias, then SiLU."""
        xt = xbc.transpose(1, 2)
        pad = (0, self.d_conv - 1) if reverse else (self.d_conv - 1, 0)
        w = self.conv1d.weight.flip(-1) if reverse else self.conv1d.weight
        return F.silu(F.conv1d(F.pad(xt, pad), w, self.conv1d.bias, groups=self.conv_dim)).transpose(1, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.checkpoint == "block" and torch.is_grad_enabled():
            return torch.utils.checkpoint.checkpoint(self._block, x, use_reentrant=False)
        return self._block(x)

    def _block(self, x: torch.Tensor) -> torch.Tensor:
        lead, (length, d_model) = x.shape[:-2], x.shape[-2:]
        u = x.reshape(-1, length, d_model)
        n = u.shape[0]
        impl = self.scan_impl
        if impl == "auto":
            impl = "mamba_ssm" if x.is_cuda and mamba_ssm_available() else "chunked"
        # The reversed block is flip(M(flip(u))). Flipping u and the output (d_model wide) costs less than
        # flipping x, dt, B, C and y around a scan without a reverse mode (edge stream: 32 values a step, not 88).
        flip = self.reverse and (impl == "mamba_ssm" if self.reverse_by_flip is None else self.reverse_by_flip)
        reverse = self.reverse and not flip
        if flip:
            u = u.flip(1)
        z, xbc, dt = self.in_proj(u).split([self.d_inner, self.conv_dim, self.heads], dim=-1)
        xs, b, c = self.causal_conv(xbc, reverse).split([self.d_inner, self.d_state, self.d_state], dim=-1)
        dt = F.softplus(dt + self.dt_bias)
        a = -torch.exp(self.A_log)
        args = (xs.reshape(n, length, self.heads, self.headdim), dt, a, b, c, self.D, reverse, impl)
        if self.checkpoint == "scan" and impl == "chunked" and torch.is_grad_enabled():
            y = torch.utils.checkpoint.checkpoint(_eager_scan, *args, use_reentrant=False)
        else:
            y = _eager_scan(*args)
        y = self.out_proj(self.norm(y.reshape(n, length, self.d_inner), z))
        return (y.flip(1) if flip else y).reshape(*lead, length, d_model)

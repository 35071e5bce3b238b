"""The electrode-graph ops: cosine edge features, top-k adjacency, SSGConv and the static Laplacian PE.

All of them work on every (b, t) graph at once with batched tensor ops: there is no Python loop over graphs
(the reference implementation's per-graph loop cost it 1.7 s of a 5 s step).
"""
from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn


def pair_index(num_nodes: int, device: torch.device | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(i, j) of the pairs i < j in row-major order: (0,1), (0,2), ..., (E-2,E-1)."""
    return tuple(torch.triu_indices(num_nodes, num_nodes, 1, device=device))  # type: ignore[return-value]


class CosineEdges(nn.Module):
    """u [B, E, L, D] -> s [B, P, L], s_ij = <u_i, u_j> / ((|u_i| + eps)(|u_j| + eps))."""

    def __init__(self, attrs: dict[str, Any]):
        super().__init__()
        self.num_nodes, self.eps = attrs["num_nodes"], float(attrs["eps"])

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        unit = u / (torch.linalg.vector_norm(u, dim=-1, keepdim=True) + self.eps)
        unit = unit.transpose(1, 2)                               # [B, L, E, D]
        gram = unit @ unit.transpose(-1, -2)                      # [B, L, E, E]
        i, j = pair_index(self.num_nodes, u.device)
        return gram[..., i, j].transpose(1, 2)                    # [B, P, L]


class TopkAdjacency(nn.Module):
    """w [B, P, L] -> A [B, L, E, E]: each row keeps its k largest off-diagonal weights (ties: lower column
    first), kept weights <= threshold dropped, A = (W_kept + W_kept^T) / 2, rows summing to < threshold get a
    self-loop. The selection carries no gradient; the kept weights do."""

    def __init__(self, attrs: dict[str, Any]):
        super().__init__()
        self.num_nodes, self.k = attrs["num_nodes"], attrs["k"]
        self.threshold, self.self_loop = float(attrs["threshold"]), float(attrs["isolated_self_loop"])
        e = self.num_nodes
        # pair number of (i, j) for i != j, and P (an appended zero) on the diagonal
        index = torch.full((e, e), e * (e - 1) // 2, dtype=torch.long)
        i, j = pair_index(e)
        pairs = torch.arange(i.numel())
        index[i, j] = pairs
        index[j, i] = pairs
        self.register_buffer("scatter_index", index.flatten(), persistent=False)

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        b, _, length = w.shape
        e = self.num_nodes
        wt = F.pad(w.transpose(1, 2), (0, 1))                      # [B, L, P + 1], last = 0 for the diagonal
        full = wt[..., self.scatter_index].reshape(b, length, e, e)
        with torch.no_grad():
            eye = torch.eye(e, dtype=torch.bool, device=w.device)
            ranked = full.detach().masked_fill(eye, float("-inf"))
            # a stable descending sort keeps equal weights in column order: ties go to the lower column
            top = torch.sort(ranked, dim=-1, descending=True, stable=True).indices[..., : self.k]
            keep = torch.zeros_like(ranked, dtype=torch.bool).scatter_(-1, top, True) & (full > self.threshold)
        kept = torch.where(keep, full, torch.zeros_like(full))
        adj = (kept + kept.transpose(-1, -2)) * 0.5
        isolated = (adj.sum(-1) < self.threshold).to(adj.dtype) * self.self_loop
        return adj + torch.diag_embed(isolated)


class SSGConv(nn.Module):
    """x [B, E, L, Fin], adj [B, L, E, E] -> [B, E, L, Fout]. Per graph: self-loops of weight 1 where A_ii = 0,
    Â = D^-1/2 Ã D^-1/2, h = alpha x + (1 - alpha)/K sum_{k=1..K} Â^k x, out = h W^T + b. All B*L graphs go
    through one batched matmul per propagation step."""

    def __init__(self, attrs: dict[str, Any]):
        super().__init__()
        self.alpha, self.K = float(attrs["alpha"]), attrs["K"]
        self.lin = nn.Linear(attrs["in_features"], attrs["out_features"], bias=attrs["bias"])

    def forward(self, x: torch.Tensor, adj: torch.Tensor) -> torch.Tensor:
        missing = (adj.diagonal(dim1=-2, dim2=-1) == 0).to(adj.dtype)
        filled = adj + torch.diag_embed(missing)
        inv_sqrt = filled.sum(-1).rsqrt()
        norm_adj = inv_sqrt[..., :, None] * filled * inv_sqrt[..., None, :]
        # The K steps folded into one E x E operator per graph, P = alpha I + (1 - alpha)/K sum_k Â^k, applied to
        # the features once: the powers cost E^3 per graph where propagating features costs E^2 F per step
        # (F = 64-80 > E = 19), and backward keeps E x E matrices instead of each step's features.
        power, acc = norm_adj, norm_adj
        for _ in range(self.K - 1):
            power = power @ norm_adj
            acc = acc + power
        eye = torch.eye(adj.shape[-1], dtype=acc.dtype, device=acc.device)
        prop = self.alpha * eye + ((1 - self.alpha) / self.K) * acc
        h = prop @ x.transpose(1, 2)                               # [B, L, E, F]: every graph in one matmul
        return self.lin(h).transpose(1, 2)


class LaplacianPE(nn.Module):
    """Outputs its buffer `value` [E, dim] (the IR carries it; pe.py recomputes it by the same rule)."""

    def __init__(self, attrs: dict[str, Any]):
        super().__init__()
        self.register_buffer("value", torch.empty(attrs["num_nodes"], attrs["dim"]))

    def forward(self) -> torch.Tensor:
        return self.value

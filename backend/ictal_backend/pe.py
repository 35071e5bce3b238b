"""Static Laplacian positional encoding: the deterministic rule of docs/ir.md ("Laplacian PE: the exact rule").

Degenerate eigenspaces (the 10-20 graph's eigenvalue 1 has multiplicity 3) get a basis built from the
projections of the unit vectors, and each vector a fixed sign, so the same buffer comes out on every run, in
TypeScript and here.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

CLUSTER_GAP = 1e-8     # eigenvalues closer than this to the previous one share an eigenspace
BASIS_MIN_NORM = 1e-6  # projected unit vectors shorter than this (after orthogonalisation) are skipped
PIVOT_TOL = 1e-9       # |v_i| within this of max |v| counts as a maximum for the sign pivot


def normalized_laplacian(num_nodes: int, edges: Sequence[Sequence[int]]) -> np.ndarray:
    """L = I - D^-1/2 A D^-1/2 of the undirected graph with unit edge weights (float64)."""
    a = np.zeros((num_nodes, num_nodes))
    for i, j in edges:
        if not (0 <= i < num_nodes and 0 <= j < num_nodes) or i == j:
            raise ValueError(f"laplacian_pe: edge [{i}, {j}] is not a pair of distinct nodes in 0..{num_nodes - 1}")
        a[i, j] = a[j, i] = 1.0
    deg = a.sum(1)
    if np.any(deg == 0):
        raise ValueError(f"laplacian_pe: node(s) {np.flatnonzero(deg == 0).tolist()} have no edge")
    inv_sqrt = 1.0 / np.sqrt(deg)
    return np.eye(num_nodes) - inv_sqrt[:, None] * a * inv_sqrt[None, :]


def _cluster_basis(q: np.ndarray) -> list[np.ndarray]:
    """A unique orthonormal basis of span(q): projections of e_0, e_1, ... with Gram-Schmidt applied twice."""
    n, m = q.shape
    proj = q @ q.T
    chosen: list[np.ndarray] = []
    for i in range(n):
        w = proj[:, i].copy()
        for _ in range(2):
            w = w - sum((np.dot(v, w) * v for v in chosen), np.zeros(n))
        norm = np.linalg.norm(w)
        if norm > BASIS_MIN_NORM:
            chosen.append(w / norm)
            if len(chosen) == m:
                break
    if len(chosen) != m:
        raise ArithmeticError(f"laplacian_pe: found {len(chosen)} basis vectors for an eigenspace of dimension {m}")
    return chosen


def _fix_sign(v: np.ndarray) -> np.ndarray:
    mags = np.abs(v)
    pivot = int(np.flatnonzero(mags >= mags.max() - PIVOT_TOL)[0])
    return -v if v[pivot] < 0 else v


def laplacian_pe(num_nodes: int, edges: Sequence[Sequence[int]], dim: int) -> np.ndarray:
    """The (num_nodes, dim) float64 PE: eigenvectors 1..dim of the normalised Laplacian (0 dropped)."""
    if not 0 < dim < num_nodes:
        raise ValueError(f"laplacian_pe: dim {dim} must be in 1..{num_nodes - 1}")
    values, vectors = np.linalg.eigh(normalized_laplacian(num_nodes, edges))
    order = np.argsort(values, kind="stable")
    values, vectors = values[order], vectors[:, order]
    clusters: list[list[int]] = []
    for k in range(num_nodes):
        if clusters and values[k] - values[k - 1] < CLUSTER_GAP:
            clusters[-1].append(k)
        else:
            clusters.append([k])
    basis = [_fix_sign(v) for cluster in clusters for v in _cluster_basis(vectors[:, cluster])]
    return np.stack(basis[1:dim + 1], axis=1)

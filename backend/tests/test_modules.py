"""Every op module against a straightforward float64 reference written here (loops over graphs, pairs, taps),
on fresh random inputs at awkward sizes."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from ictal_backend.modules import OP_MODULES
from ictal_backend.modules.basic import Concat, Conv1d, LayerNorm, Linear, Sanitize, UpsampleNearest
from ictal_backend.modules.graph_ops import CosineEdges, SSGConv, TopkAdjacency
from ictal_backend.modules.mamba2 import Mamba2

TOL = 1e-9  # float64 everywhere: differences are rounding only


def fresh(module: torch.nn.Module, rng: np.random.Generator, scale: float = 0.5) -> torch.nn.Module:
    module = module.double()
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.tensor(rng.uniform(-scale, scale, p.shape)))
    return module


def close(got: torch.Tensor, want: np.ndarray, tol: float = TOL) -> None:
    got_np = got.detach().double().numpy()
    assert got_np.shape == want.shape
    scale = max(np.abs(want).max(), 1e-30)
    err = np.abs(got_np - want).max() / scale
    assert err <= tol, f"normalised max error {err:.3g} > {tol}"


def silu(v):
    return v / (1 + np.exp(-v))


def softplus(v):
    return np.where(v > 20, v, np.log1p(np.exp(np.minimum(v, 20))))


# ---- plain ops ----------------------------------------------------------------------------------------

def test_sanitize_replaces_nan_and_clamps_infinities():
    x = torch.tensor([[float("nan"), float("inf"), -float("inf"), 3.0, -20.0, 0.5]], dtype=torch.float64)
    got = Sanitize({"nan": 0, "min": -10, "max": 10})(x)
    assert got.tolist() == [[0.0, 10.0, -10.0, 3.0, -10.0, 0.5]]


@pytest.mark.parametrize("cfg", [
    dict(cin=3, cout=5, k=7, stride=1, dilation=2, pad=(6, 6), length=23, wn=True, bias=True),
    dict(cin=1, cout=2, k=16, stride=16, dilation=1, pad=(0, 0), length=48, wn=False, bias=True),
    dict(cin=4, cout=3, k=3, stride=2, dilation=1, pad=(2, 0), length=7, wn=True, bias=False),
    dict(cin=2, cout=1, k=1, stride=1, dilation=1, pad=(0, 0), length=1, wn=False, bias=False),
], ids=["dilated-wn", "downsample", "asym-pad-stride", "1x1-len1"])
def test_conv1d_matches_a_tap_loop(cfg):
    rng = np.random.default_rng()
    attrs = {"in_channels": cfg["cin"], "out_channels": cfg["cout"], "kernel_size": cfg["k"], "stride": cfg["stride"],
             "dilation": cfg["dilation"], "padding": list(cfg["pad"]), "bias": cfg["bias"], "weight_norm": cfg["wn"]}
    conv = fresh(Conv1d(attrs), rng)
    x = rng.standard_normal((2, cfg["cin"], cfg["length"]))
    if cfg["wn"]:
        v, g = conv.weight_v.detach().numpy(), conv.weight_g.detach().numpy()
        w = g * v / np.sqrt((v**2).sum(axis=(1, 2), keepdims=True))
    else:
        w = conv.weight.detach().numpy()
    left, right = cfg["pad"]
    xp = np.pad(x, ((0, 0), (0, 0), (left, right)))
    span = cfg["dilation"] * (cfg["k"] - 1) + 1
    lout = (xp.shape[2] - span) // cfg["stride"] + 1
    want = np.zeros((2, cfg["cout"], lout))
    for t in range(lout):
        for j in range(cfg["k"]):
            want[:, :, t] += np.einsum("oi,bi->bo", w[:, :, j], xp[:, :, t * cfg["stride"] + j * cfg["dilation"]])
    if cfg["bias"]:
        want += conv.bias.detach().numpy()[None, :, None]
    close(conv(torch.tensor(x)), want)


def test_linear_layer_norm_upsample_concat():
    rng = np.random.default_rng()
    lin = fresh(Linear({"in_features": 7, "out_features": 3, "bias": True}), rng)
    x = rng.standard_normal((2, 5, 7))
    close(lin(torch.tensor(x)), x @ lin.weight.detach().numpy().T + lin.bias.detach().numpy())

    ln = fresh(LayerNorm({"normalized_shape": 7, "eps": 1e-5}), rng)
    mu, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
    close(ln(torch.tensor(x)), (x - mu) / np.sqrt(var + 1e-5) * ln.weight.detach().numpy() + ln.bias.detach().numpy())

    up = UpsampleNearest({"scale": 3})
    y = rng.standard_normal((1, 2, 5))
    close(up(torch.tensor(y)), np.stack([y[..., t // 3] for t in range(15)], axis=-1))

    a, pe = rng.standard_normal((2, 19, 4, 6)), rng.standard_normal((19, 1, 3))
    want = np.concatenate([a, np.broadcast_to(pe, (2, 19, 4, 3))], axis=-1)
    close(Concat({"axis": -1})(torch.tensor(a), torch.tensor(pe)), want)


# ---- Mamba2 block ---------------------------------------------------------------------------------------

def mamba_reference(block: Mamba2, x: np.ndarray) -> np.ndarray:
    """The forward block of docs/ir.md, step by step, one sequence and one time step at a time."""
    p = {k: v.detach().numpy() for k, v in block.named_parameters()}
    di, n_state, heads, hd, k = block.d_inner, block.d_state, block.heads, block.headdim, block.d_conv
    lead, (length, d) = x.shape[:-2], x.shape[-2:]
    seqs = x.reshape(-1, length, d)
    out = np.zeros_like(seqs)
    for s, u in enumerate(seqs):
        zxbcdt = u @ p["in_proj.weight"].T
        z, xbc, dt = zxbcdt[:, :di], zxbcdt[:, di:di + block.conv_dim], zxbcdt[:, di + block.conv_dim:]
        conv = np.zeros_like(xbc)
        for t in range(length):
            for j in range(k):
                src = t - (k - 1) + j
                if src >= 0:
                    conv[t] += p["conv1d.weight"][:, 0, j] * xbc[src]
        xbc = silu(conv + p["conv1d.bias"])
        xs, b, c = xbc[:, :di], xbc[:, di:di + n_state], xbc[:, di + n_state:]
        dt = softplus(dt + p["dt_bias"])
        a = -np.exp(p["A_log"])
        h = np.zeros((heads, hd, n_state))
        y = np.zeros((length, di))
        for t in range(length):
            xt = xs[t].reshape(heads, hd)
            for hh in range(heads):
                h[hh] = math.exp(dt[t, hh] * a[hh]) * h[hh] + dt[t, hh] * np.outer(xt[hh], b[t])
                y[t, hh * hd:(hh + 1) * hd] = h[hh] @ c[t] + p["D"][hh] * xt[hh]
        g = y * silu(z)
        y = g / np.sqrt((g**2).mean(-1, keepdims=True) + block.norm.eps) * p["norm.weight"]
        out[s] = y @ p["out_proj.weight"].T
    return out.reshape(*lead, length, d)


MAMBA = {"d_model": 6, "d_state": 5, "d_conv": 4, "expand": 2, "headdim": 3, "ngroups": 1, "norm_eps": 1e-5}


@pytest.mark.parametrize("impl", ["chunked", "sequential"])
@pytest.mark.parametrize("length", [1, 7, 41])
def test_mamba2_block_matches_the_step_by_step_reference(impl, length):
    rng = np.random.default_rng()
    block = fresh(Mamba2({**MAMBA, "reverse": False}, scan_impl=impl), rng)
    x = rng.standard_normal((2, 3, length, 6))
    close(block(torch.tensor(x)), mamba_reference(block, x))


@pytest.mark.parametrize("by_flip", [False, True])
@pytest.mark.parametrize("length", [1, 6, 29])
def test_reversed_mamba2_equals_flip_block_flip(length, by_flip):
    """reverse: out = flip(M(flip(x))), computed in place (the chunked scan walks time backwards) or by
    flipping the block's input and output (how it runs with mamba_ssm), against the flipped reference."""
    rng = np.random.default_rng()
    block = fresh(Mamba2({**MAMBA, "reverse": True}, scan_impl="chunked"), rng)
    block.reverse_by_flip = by_flip
    x = rng.standard_normal((2, 2, length, 6))
    want = np.flip(mamba_reference(block, np.ascontiguousarray(np.flip(x, axis=-2))), axis=-2)
    close(block(torch.tensor(x)), np.ascontiguousarray(want))


def test_reversing_by_flip_gives_the_in_place_gradients():
    rng = np.random.default_rng()
    block = fresh(Mamba2({**MAMBA, "reverse": True}, scan_impl="chunked"), rng)
    x = torch.tensor(rng.standard_normal((3, 37, 6)), requires_grad=True)
    weights = torch.tensor(rng.standard_normal((3, 37, 6)))
    grads = []
    for by_flip in (False, True):
        block.reverse_by_flip = by_flip
        block.zero_grad()
        x.grad = None
        (block(x) * weights).sum().backward()
        grads.append([x.grad.clone()] + [p.grad.clone() for p in block.parameters()])
    for a, b in zip(*grads):
        assert torch.allclose(a, b, rtol=1e-10, atol=1e-10)


# ---- graph ops --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("nodes", [2, 5, 19])
def test_cosine_edges_over_pairs_in_row_major_order(nodes):
    rng = np.random.default_rng()
    u = rng.standard_normal((2, nodes, 7, 4))
    u[0, 0, 3] = 0.0  # a zero vector: eps keeps it finite (similarity 0)
    eps = 1e-8
    want = np.zeros((2, nodes * (nodes - 1) // 2, 7))
    for b in range(2):
        for t in range(7):
            p = 0
            for i in range(nodes):
                for j in range(i + 1, nodes):
                    ui, uj = u[b, i, t], u[b, j, t]
                    want[b, p, t] = ui @ uj / ((np.linalg.norm(ui) + eps) * (np.linalg.norm(uj) + eps))
                    p += 1
    close(CosineEdges({"num_nodes": nodes, "eps": eps})(torch.tensor(u)), want)


def topk_reference(w: np.ndarray, nodes: int, k: int, threshold: float, self_loop: float) -> np.ndarray:
    b_, _, length = w.shape
    out = np.zeros((b_, length, nodes, nodes))
    for b in range(b_):
        for t in range(length):
            full = np.zeros((nodes, nodes))
            p = 0
            for i in range(nodes):
                for j in range(i + 1, nodes):
                    full[i, j] = full[j, i] = w[b, p, t]
                    p += 1
            kept = np.zeros_like(full)
            for i in range(nodes):
                cols = [j for j in range(nodes) if j != i]
                cols.sort(key=lambda j: (-full[i, j], j))  # largest first, ties: lower column first
                for j in cols[:k]:
                    if full[i, j] > threshold:
                        kept[i, j] = full[i, j]
            a = (kept + kept.T) / 2
            for i in range(nodes):
                if a[i].sum() < threshold:
                    a[i, i] = self_loop
            out[b, t] = a
    return out


@pytest.mark.parametrize("nodes,k", [(19, 3), (5, 1), (4, 3)])
def test_topk_adjacency_matches_a_per_graph_loop(nodes, k):
    rng = np.random.default_rng()
    pairs = nodes * (nodes - 1) // 2
    w = rng.uniform(0, 1, (2, pairs, 6))
    w[0, :, 0] = 0.5                                  # all tied: lower columns win
    w[0, :, 1] = rng.choice([0.2, 0.7], pairs)        # many ties
    w[1, :, 2] = 5e-5                                 # everything under the threshold: self-loops
    w[1, : pairs // 2, 3] = 0.0                       # half the edges absent
    attrs = {"num_nodes": nodes, "k": k, "threshold": 1e-4, "isolated_self_loop": 1}
    got = TopkAdjacency(attrs)(torch.tensor(w))
    close(got, topk_reference(w, nodes, k, 1e-4, 1.0))


def test_topk_adjacency_gradient_reaches_kept_weights_only():
    rng = np.random.default_rng()
    w = torch.tensor(rng.uniform(0, 1, (1, 171, 2)), requires_grad=True)
    adj = TopkAdjacency({"num_nodes": 19, "k": 3, "threshold": 1e-4, "isolated_self_loop": 1})(w)
    adj.sum().backward()
    kept = topk_reference(w.detach().numpy(), 19, 3, 1e-4, 1.0)
    iu = np.triu_indices(19, 1)
    for t in range(2):
        selected = kept[0, t][iu] > 0
        assert np.all(w.grad[0, selected, t].numpy() > 0)
        assert np.all(w.grad[0, ~selected, t].numpy() == 0)


def ssgconv_reference(x: np.ndarray, adj: np.ndarray, w: np.ndarray, bias: np.ndarray, alpha: float, K: int) -> np.ndarray:
    """One graph at a time (the loop this project keeps out of the model)."""
    b_, e, length, _ = x.shape
    out = np.zeros((b_, e, length, w.shape[0]))
    for b in range(b_):
        for t in range(length):
            a = adj[b, t].copy()
            for i in range(e):
                if a[i, i] == 0:
                    a[i, i] = 1.0
            d = a.sum(1)
            norm = a / np.sqrt(np.outer(d, d))
            feats = x[b, :, t]
            z, acc = feats, np.zeros_like(feats)
            for _ in range(K):
                z = norm @ z
                acc += z
            h = alpha * feats + (1 - alpha) / K * acc
            out[b, :, t] = h @ w.T + bias
    return out


@pytest.mark.parametrize("K,fin,fout", [(2, 80, 64), (1, 7, 3), (3, 5, 5)])
def test_ssgconv_vectorized_matches_a_per_graph_loop(K, fin, fout):
    rng = np.random.default_rng()
    nodes, length = 19, 5
    w = rng.uniform(0, 1, (2, nodes * (nodes - 1) // 2, length))
    w[1, :, 4] = 0  # all isolated: every node has only its self-loop
    adj = TopkAdjacency({"num_nodes": nodes, "k": 3, "threshold": 1e-4, "isolated_self_loop": 1})(torch.tensor(w))
    conv = fresh(SSGConv({"in_features": fin, "out_features": fout, "alpha": 0.05, "K": K, "bias": True}), rng)
    x = rng.standard_normal((2, nodes, length, fin))
    want = ssgconv_reference(x, adj.numpy(), conv.lin.weight.detach().numpy(), conv.lin.bias.detach().numpy(), 0.05, K)
    close(conv(torch.tensor(x), adj), want)


def test_ssgconv_gradients_match_finite_differences():
    """The folded propagation operator carries the gradient to x, the edge weights and the linear layer."""
    rng = np.random.default_rng()
    nodes, length = 6, 3
    conv = fresh(SSGConv({"in_features": 4, "out_features": 3, "alpha": 0.05, "K": 2, "bias": True}), rng)
    x = torch.tensor(rng.standard_normal((2, nodes, length, 4)), requires_grad=True)
    adj = torch.tensor(rng.uniform(0.1, 1, (2, length, nodes, nodes)), requires_grad=True)
    assert torch.autograd.gradcheck(conv, (x, adj), eps=1e-6, atol=1e-7)


def test_every_ir_op_has_a_module():
    from ictal_backend.ir import OPS
    assert set(OPS) == set(OP_MODULES)


@pytest.mark.parametrize("checkpoint", ["scan", "block"])
def test_recomputing_in_backward_gives_the_same_gradients(checkpoint):
    rng = np.random.default_rng()
    block = fresh(Mamba2({**MAMBA, "reverse": bool(rng.integers(2))}), rng)
    x = torch.tensor(rng.standard_normal((2, 2, 23, 6)), requires_grad=True)
    weights = torch.tensor(rng.standard_normal((2, 2, 23, 6)))
    grads = []
    for mode in ("none", checkpoint):
        block.checkpoint = mode
        block.zero_grad()
        x.grad = None
        (block(x) * weights).sum().backward()
        grads.append([x.grad.clone()] + [p.grad.clone() for p in block.parameters()])
    for a, b in zip(*grads):
        assert torch.allclose(a, b, rtol=1e-12, atol=1e-12)

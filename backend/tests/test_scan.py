"""The Mamba2 scan: chunked SSD and sequential recurrence against an independent float64 reference, forward and
reversed, values and gradients, at awkward lengths; mamba_ssm against the reference on CUDA."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from ictal_backend.scan import mamba_ssm_available, scan, scan_chunked, scan_sequential

TOL_F64 = 1e-10
TOL_F32 = 2e-4


def random_inputs(rng: np.random.Generator, n: int, length: int, heads: int, p: int, s: int, dtype=torch.float64):
    t = lambda *shape: torch.tensor(rng.standard_normal(shape), dtype=dtype)  # noqa: E731
    dt = F.softplus(t(n, length, heads) - 1)
    a = -torch.tensor(rng.uniform(0.5, 8.0, heads), dtype=dtype)
    return t(n, length, heads, p), dt, a, t(n, length, s), t(n, length, s), t(heads)


def naive_scan(x, dt, a, b, c, d, reverse):
    """Straight from the definition: y_t = sum over the steps tau already visited (tau <= t, or tau >= t in
    reverse) of (C_t . B_tau) * exp(sum of a_u over the steps from tau to t, tau's own excluded... as the
    recurrence applies them) * dt_tau x_tau, plus D x_t. Python loops, float64."""
    x, dt, a, b, c, d = (v.double().numpy() for v in (x, dt, a, b, c, d))
    n, length, heads, p = x.shape
    y = np.zeros_like(x)
    for i in range(n):
        for h in range(heads):
            la = dt[i, :, h] * a[h]
            for t in range(length):
                acc = np.zeros(p)
                taus = range(t, length) if reverse else range(0, t + 1)
                for tau in taus:
                    # forward: decays a_{tau+1..t}; reverse: decays a_{t..tau-1}
                    decay = la[tau + 1:t + 1].sum() if not reverse else la[t:tau].sum()
                    acc += (c[i, t] @ b[i, tau]) * math.exp(decay) * dt[i, tau, h] * x[i, tau, h]
                y[i, t, h] = acc + d[h] * x[i, t, h]
    return y


SHAPES = [  # (n, length, heads, headdim, state, chunk)
    (1, 1, 1, 1, 1, 4),
    (2, 7, 3, 2, 5, 4),      # length not a multiple of the chunk
    (3, 33, 2, 4, 8, 8),
    (2, 64, 2, 3, 4, 16),    # exact multiple
    (1, 50, 1, 8, 16, 64),   # one partial chunk
]


@pytest.mark.parametrize("reverse", [False, True], ids=["forward", "reverse"])
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_sequential_and_chunked_match_the_definition(shape, reverse):
    n, length, heads, p, s, chunk = shape
    rng = np.random.default_rng()
    inputs = random_inputs(rng, n, length, heads, p, s)
    ref = naive_scan(*inputs, reverse)
    seq = scan_sequential(*inputs, reverse=reverse).numpy()
    chk = scan_chunked(*inputs, reverse=reverse, chunk=chunk).numpy()
    scale = np.abs(ref).max()
    assert np.abs(seq - ref).max() <= TOL_F64 * scale
    assert np.abs(chk - ref).max() <= TOL_F64 * scale


@pytest.mark.parametrize("reverse", [False, True], ids=["forward", "reverse"])
def test_chunked_gradients_match_sequential(reverse):
    rng = np.random.default_rng()
    inputs = [t.requires_grad_() for t in random_inputs(rng, 2, 37, 2, 3, 4)]
    weights = torch.tensor(rng.standard_normal((2, 37, 2, 3)))
    grads = []
    for fn in (lambda *v: scan_sequential(*v, reverse=reverse), lambda *v: scan_chunked(*v, reverse=reverse, chunk=8)):
        for t in inputs:
            t.grad = None
        (fn(*inputs) * weights).sum().backward()
        grads.append([t.grad.clone() for t in inputs])
    for name, g_seq, g_chk in zip(["x", "dt", "A", "B", "C", "D"], *grads):
        assert torch.allclose(g_chk, g_seq, rtol=1e-9, atol=1e-9 * g_seq.abs().max().item()), name


def test_reverse_equals_the_flipped_forward_scan():
    rng = np.random.default_rng()
    x, dt, a, b, c, d = random_inputs(rng, 3, 45, 2, 4, 6)
    flipped = scan_chunked(x.flip(1), dt.flip(1), a, b.flip(1), c.flip(1), d, chunk=16).flip(1)
    assert torch.allclose(scan_chunked(x, dt, a, b, c, d, reverse=True, chunk=16), flipped, rtol=1e-10, atol=1e-10)


def test_long_sequences_stay_finite_in_float32():
    """Strong decay over 960 steps: exp of a long cumulative sum would underflow; chunk-local differences do not."""
    rng = np.random.default_rng()
    x, dt, a, b, c, d = random_inputs(rng, 2, 960, 2, 4, 8, dtype=torch.float32)
    dt = dt + 2.0
    for reverse in (False, True):
        seq = scan_sequential(x, dt, a, b, c, d, reverse=reverse)
        chk = scan_chunked(x, dt, a, b, c, d, reverse=reverse)
        assert torch.isfinite(chk).all()
        assert (chk - seq).abs().max() <= TOL_F32 * seq.abs().max()


def test_bad_shapes_are_refused_with_the_culprit_named():
    rng = np.random.default_rng()
    x, dt, a, b, c, d = random_inputs(rng, 2, 5, 2, 3, 4)
    with pytest.raises(ValueError, match=r"dt must be \(2, 5, 2\)"):
        scan_chunked(x, dt[:, :4], a, b, c, d)
    with pytest.raises(ValueError, match="B and C must be"):
        scan_chunked(x, dt, a, b, c[..., :3], d)
    with pytest.raises(ValueError, match="unknown impl"):
        scan(x, dt, a, b, c, d, impl="fast")


cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


@pytest.mark.cuda
@cuda
def test_chunked_on_cuda_matches_sequential():
    rng = np.random.default_rng()
    inputs = [t.cuda() for t in random_inputs(rng, 64, 200, 4, 8, 16, dtype=torch.float32)]
    for reverse in (False, True):
        ref = scan_sequential(*inputs, reverse=reverse)
        got = scan_chunked(*inputs, reverse=reverse)
        assert (got - ref).abs().max() <= TOL_F32 * ref.abs().max()


@pytest.mark.cuda
@pytest.mark.skipif(not mamba_ssm_available(), reason="needs CUDA and the mamba_ssm package")
def test_mamba_ssm_matches_the_reference():
    rng = np.random.default_rng()
    inputs = [t.cuda() for t in random_inputs(rng, 16, 300, 4, 8, 16, dtype=torch.float32)]
    for reverse in (False, True):
        ref = scan_sequential(*inputs, reverse=reverse)
        got = scan(*inputs, reverse=reverse, impl="mamba_ssm")
        assert (got.float() - ref).abs().max() <= 1e-3 * ref.abs().max()

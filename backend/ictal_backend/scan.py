"""The Mamba2 selective scan (docs/ir.md "mamba2" step 4; KERNELS.md "Mamba2 selective scan").

Per sequence n and head h, with a_t = dt_t * A (A < 0) and state h_t of shape (P, N):
    forward:  h_t = exp(a_t) h_{t-1} + dt_t x_t B_t^T,   y_t = h_t C_t + D x_t   (t = 0 .. L-1)
    reverse:  h_t = exp(a_t) h_{t+1} + dt_t x_t B_t^T,   y_t = h_t C_t + D x_t   (t = L-1 .. 0)
`reverse` is the time-reversed block of a Bi-Mamba2 layer, computed in place: no flipped copies.

Three implementations with one signature:
- `scan_sequential`: the plain recurrence, the reference (slow: a Python loop over time).
- `scan_chunked`: the chunked "state space duality" form in pure PyTorch, the CPU path: inside a chunk a
  masked quadratic form built from differences of cumulative sums (never exp of a long sum), between chunks
  a short sequential state pass.
- `scan_mamba_ssm`: mamba_ssm's Triton kernels, used on CUDA when the package imports.

Shapes: x (Nseq, L, H, P), dt (Nseq, L, H) after softplus, A (H,), B and C (Nseq, L, N) (one group),
D (H,) or None. Returns y like x. Computation is in float32 (or float64 if x is float64).
"""
from __future__ import annotations

import functools

import torch
import torch.nn.functional as F

# Pure-PyTorch chunk lengths, measured (backend/benchmarks/model_step.py): v3-tiny on 2 CPU threads is fastest at
# 8-32 (0.5 s a step) and twice as slow at 64; full v3 on an H200, scan checkpointed, is fastest at 32.
DEFAULT_CHUNK = 16
CUDA_CHUNK = 32
# mamba_ssm's chunk: its own Mamba2 default is 256, sized for wide heads (headdim 64). v3's heads are 4 - 8 wide
# and its state 8 - 16, so the intra-chunk quadratic kernels (work ~ length x chunk per head) dominated the step
# at 256 (2026-12-06, H100: the scan's kernels 290 ms of the 577 ms batch-16 step); docs/PERFORMANCE.md has the A/B.
MAMBA_SSM_CHUNK = 64
INT32_MAX = 2**31 - 1       # mamba_ssm's Triton kernels compute offsets in 32 bits


def _check(x: torch.Tensor, dt: torch.Tensor, A: torch.Tensor, B: torch.Tensor, C: torch.Tensor,
           D: torch.Tensor | None) -> tuple[int, int, int, int, int]:
    if x.dim() != 4:
        raise ValueError(f"scan: x must be (Nseq, L, H, P), got shape {tuple(x.shape)}")
    n, length, heads, p = x.shape
    if dt.shape != (n, length, heads):
        raise ValueError(f"scan: dt must be {(n, length, heads)}, got {tuple(dt.shape)}")
    if A.shape != (heads,):
        raise ValueError(f"scan: A must be ({heads},), got {tuple(A.shape)}")
    if B.dim() != 3 or B.shape[:2] != (n, length) or C.shape != B.shape:
        raise ValueError(f"scan: B and C must be ({n}, {length}, N), got {tuple(B.shape)} and {tuple(C.shape)}")
    if D is not None and D.shape != (heads,):
        raise ValueError(f"scan: D must be ({heads},), got {tuple(D.shape)}")
    return n, length, heads, p, B.shape[-1]


def _work_dtype(x: torch.Tensor) -> torch.dtype:
    return torch.float64 if x.dtype == torch.float64 else torch.float32


def scan_sequential(x: torch.Tensor, dt: torch.Tensor, A: torch.Tensor, B: torch.Tensor, C: torch.Tensor,
                    D: torch.Tensor | None = None, reverse: bool = False) -> torch.Tensor:
    """The recurrence itself, one time step after another: the reference the fast forms must match."""
    n, length, heads, p, s = _check(x, dt, A, B, C, D)
    wd = _work_dtype(x)
    x, dt, A, B, C = (t.to(wd) for t in (x, dt, A, B, C))
    h = x.new_zeros(n, heads, p, s)
    ys = [x.new_empty(0)] * length
    for t in (range(length - 1, -1, -1) if reverse else range(length)):
        decay = torch.exp(dt[:, t] * A)                                         # (n, H)
        h = decay[:, :, None, None] * h + (dt[:, t, :, None] * x[:, t])[..., None] * B[:, t, None, None, :]
        ys[t] = torch.einsum("nhps,ns->nhp", h, C[:, t])
    y = torch.stack(ys, dim=1)
    if D is not None:
        y = y + D.to(wd)[:, None] * x
    return y


def scan_chunked(x: torch.Tensor, dt: torch.Tensor, A: torch.Tensor, B: torch.Tensor, C: torch.Tensor,
                 D: torch.Tensor | None = None, reverse: bool = False, chunk: int = DEFAULT_CHUNK) -> torch.Tensor:
    """The chunked SSD form. Forward direction, within a chunk (cumsum s, inclusive):
        y_t = sum_{tau <= t} (C_t . B_tau) exp(s_t - s_tau) dt_tau x_tau + exp(s_t) H_in C_t
    Reverse direction (exclusive cumsum e_t = s_t - a_t, so sum_{u=t}^{tau-1} a_u = e_tau - e_t):
        y_t = sum_{tau >= t} (C_t . B_tau) exp(e_tau - e_t) dt_tau x_tau + exp(s_end - e_t) H_in C_t
    where H_in is the state entering the chunk from the previous (forward) or next (reverse) chunk."""
    n, length, heads, p, s = _check(x, dt, A, B, C, D)
    if chunk < 1:
        raise ValueError(f"scan: chunk must be >= 1, got {chunk}")
    wd = _work_dtype(x)
    x0 = x
    x, dt, A, B, C = (t.to(wd) for t in (x, dt, A, B, C))
    q = min(chunk, length)
    nc = -(-length // q)
    pad = nc * q - length
    if pad:
        # Zero steps at the end: dt = 0 adds nothing to the state and decays nothing, in either direction.
        x, B, C = (F.pad(t, (0, 0) * (t.dim() - 2) + (0, pad)) for t in (x, B, C))
        dt = F.pad(dt, (0, 0, 0, pad))
    # Layout (n, H, nc, q, ...): every product below is one batched matmul.
    xdt = (x * dt[..., None]).view(n, nc, q, heads, p).permute(0, 3, 1, 2, 4)  # dt_tau x_tau
    Bc, Cc = B.view(n, 1, nc, q, s), C.view(n, 1, nc, q, s)
    a = (dt * A).view(n, nc, q, heads).permute(0, 3, 1, 2)                     # (n, H, nc, q)
    cum = torch.cumsum(a, dim=-1)                                              # s_t (inclusive)
    total = cum[..., -1]                                                       # (n, H, nc)
    idx = torch.arange(q, device=x.device)
    if reverse:
        excl = cum - a                                                         # e_t
        seg = excl[..., None, :] - excl[..., :, None]                          # [t, tau] = e_tau - e_t
        causal = idx[None, :] >= idx[:, None]                                  # tau >= t
        to_state = torch.exp(excl)                                             # tau -> chunk start
        from_state = torch.exp(total[..., None] - excl)                        # entering state -> t
    else:
        seg = cum[..., :, None] - cum[..., None, :]                            # [t, tau] = s_t - s_tau
        causal = idx[:, None] >= idx[None, :]                                  # tau <= t
        to_state = torch.exp(total[..., None] - cum)                           # tau -> chunk end
        from_state = torch.exp(cum)
    decay = torch.exp(torch.where(causal, seg, torch.full_like(seg, float("-inf"))))   # (n, H, nc, q, q)
    mix = (Cc @ Bc.transpose(-1, -2)) * decay                                  # (C_t . B_tau) decay
    y = mix @ xdt                                                              # (n, H, nc, q, P)
    # What each chunk adds to the state at its far end, then the pass between chunks.
    chunk_states = (xdt * to_state[..., None]).transpose(-1, -2) @ Bc          # (n, H, nc, P, N)
    chunk_decay = torch.exp(total)                                             # (n, H, nc)
    entering = [chunk_states.new_zeros(n, heads, p, s)] * nc
    state = entering[0]
    for c in (range(nc - 1, 0, -1) if reverse else range(nc - 1)):
        state = chunk_decay[:, :, c, None, None] * state + chunk_states[:, :, c]
        entering[c - 1 if reverse else c + 1] = state
    h_in = torch.stack(entering, dim=2)                                        # (n, H, nc, P, N)
    y = y + (Cc @ h_in.transpose(-1, -2)) * from_state[..., None]
    y = y.permute(0, 2, 3, 1, 4)
    y = y.reshape(n, nc * q, heads, p)[:, :length]
    if D is not None:
        y = y + D.to(wd)[:, None] * x0.to(wd)
    return y


@functools.lru_cache(maxsize=1)
def _mamba_chunk_scan():
    try:
        from mamba_ssm.ops.triton.ssd_combined import mamba_chunk_scan_combined
    except Exception:  # noqa: BLE001 - any import failure means "not usable here"
        return None
    return mamba_chunk_scan_combined


def mamba_ssm_available() -> bool:
    return torch.cuda.is_available() and _mamba_chunk_scan() is not None


def scan_mamba_ssm(x: torch.Tensor, dt: torch.Tensor, A: torch.Tensor, B: torch.Tensor, C: torch.Tensor,
                   D: torch.Tensor | None = None, reverse: bool = False, chunk: int | None = None) -> torch.Tensor:
    """mamba_ssm's fused chunked scan on CUDA (chunk: MAMBA_SSM_CHUNK, read per call). Its kernels index with
    32-bit offsets (per sequence times a stride): the edge stream at batch 48 (8208 sequences) overflowed them in
    the reference implementation. So the sequences are fed in groups small enough that no tensor's offset passes
    2^31. Views are passed as they are: mamba_ssm copies only what its kernels cannot read strided (x with a
    unit stride along time or channels is read in place; B and C need a unit channel stride)."""
    chunk = chunk or MAMBA_SSM_CHUNK
    fn = _mamba_chunk_scan()
    if fn is None or not x.is_cuda:
        raise RuntimeError("scan: mamba_ssm is not importable or the tensors are not on a CUDA device")
    n, length, heads, p, s = _check(x, dt, A, B, C, D)
    if reverse:  # mamba_ssm has no reverse mode: here the flips are unavoidable
        x, dt, B, C = (t.flip(1) for t in (x, dt, B, C))
    nc = -(-length // chunk)
    per_seq = max(length * heads * p, nc * chunk * chunk, nc * heads * p * s, length * heads * chunk)
    group = max(1, INT32_MAX // per_seq)
    ys = []
    for start in range(0, n, group):
        sl = slice(start, start + group)
        ys.append(fn(x[sl], dt[sl], A.float(), B[sl, :, None], C[sl, :, None], chunk,
                     D=None if D is None else D.float()))
    y = torch.cat(ys) if len(ys) > 1 else ys[0]
    return y.flip(1) if reverse else y


def scan(x: torch.Tensor, dt: torch.Tensor, A: torch.Tensor, B: torch.Tensor, C: torch.Tensor,
         D: torch.Tensor | None = None, reverse: bool = False, impl: str = "auto") -> torch.Tensor:
    """impl: 'auto' (mamba_ssm on CUDA when importable, else chunked), 'chunked', 'sequential', 'mamba_ssm'."""
    if impl == "auto":
        impl = "mamba_ssm" if x.is_cuda and mamba_ssm_available() else "chunked"
    if impl == "chunked":
        return scan_chunked(x, dt, A, B, C, D, reverse, chunk=CUDA_CHUNK if x.is_cuda else DEFAULT_CHUNK)
    if impl == "sequential":
        return scan_sequential(x, dt, A, B, C, D, reverse)
    if impl == "mamba_ssm":
        return scan_mamba_ssm(x, dt, A, B, C, D, reverse)
    raise ValueError(f"scan: unknown impl {impl!r} (auto, chunked, sequential, mamba_ssm)")

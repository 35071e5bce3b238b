"""Polyphase rational resampling, float64: the method of src/data/resample.ts, which is that of
scipy.signal.resample_poly with its defaults (Kaiser window beta 5, half length 10 * max(up, down), zero
padding), written out in numpy."""
from __future__ import annotations

import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

KAISER_BETA = 5.0
HALF_LENGTH_PER_RATE = 10
MAX_RESAMPLE_FACTOR = 4096


def resample_factors(from_hz: float, to_hz: float) -> tuple[int, int]:
    """up/down taking from_hz to to_hz, both read to the millihertz (halves rounded up), reduced by their gcd."""
    if not (math.isfinite(from_hz) and from_hz > 0):
        raise ValueError(f"resample: input rate {from_hz} Hz is not a positive finite number")
    if not (math.isfinite(to_hz) and to_hz > 0):
        raise ValueError(f"resample: output rate {to_hz} Hz is not a positive finite number")
    src, dst = math.floor(from_hz * 1000 + 0.5), math.floor(to_hz * 1000 + 0.5)
    if src < 1:
        raise ValueError(f"resample: input rate {from_hz} Hz is below 1 mHz")
    g = math.gcd(dst, src)
    up, down = dst // g, src // g
    if max(up, down) > MAX_RESAMPLE_FACTOR:
        raise ValueError(
            f"resample: {from_hz} Hz -> {to_hz} Hz reduces to {up}/{down}; factors above {MAX_RESAMPLE_FACTOR} are not supported"
        )
    return up, down


def bessel_i0(x: float) -> float:
    """Modified Bessel function of the first kind, order 0, by its power series (as the TypeScript)."""
    q = x * x / 4
    term = total = 1.0
    for k in range(1, 500):
        term *= q / (k * k)
        total += term
        if term < 1e-17 * total:
            break
    return total


def resample_filter(up: int, down: int) -> np.ndarray:
    """Kaiser-windowed sinc low-pass, cutoff 1/max(up, down) of Nyquist, unit DC gain, times up."""
    max_rate = max(up, down)
    cutoff = 1.0 / max_rate
    half = HALF_LENGTH_PER_RATE * max_rate
    taps = 2 * half + 1
    alpha = 0.5 * (taps - 1)
    m = np.arange(taps, dtype=np.float64) - alpha
    i0beta = bessel_i0(KAISER_BETA)
    window = np.array([bessel_i0(KAISER_BETA * math.sqrt(1 - (v / alpha) ** 2)) for v in m]) / i0beta
    h = cutoff * np.sinc(cutoff * m) * window
    return h / h.sum() * up


def _upfirdn_length(h_len: int, n_in: int, up: int, down: int) -> int:
    return ((n_in - 1) * up + h_len - 1) // down + 1


def resample_poly(x: np.ndarray, up: int, down: int) -> np.ndarray:
    """Resamples along the last axis by up/down."""
    x = np.asarray(x, dtype=np.float64)
    g = math.gcd(up, down)
    up, down = up // g, down // g
    n_in = x.shape[-1]
    if n_in < 1:
        raise ValueError("resample: input has no samples")
    if up == down == 1:
        return x.copy()
    n_out = -(-n_in * up // down)
    h0 = resample_filter(up, down)
    half = (len(h0) - 1) // 2
    pre_pad = down - half % down
    post_pad = 0
    pre_remove = (half + pre_pad) // down
    while _upfirdn_length(len(h0) + pre_pad + post_pad, n_in, up, down) < n_out + pre_remove:
        post_pad += 1
    h = np.concatenate((np.zeros(pre_pad), h0, np.zeros(post_pad)))
    # Polyphase: output i uses taps h[p + k*up] on x[n - k], n = t // up, p = t % up, t = (i + pre_remove)*down.
    taps = -(-len(h) // up)
    bank = np.zeros((up, taps))
    for p in range(up):
        phase = h[p::up]
        bank[p, : len(phase)] = phase
    bank = bank[:, ::-1]  # so that a window x[n - taps + 1 .. n] dots with it
    t = (np.arange(n_out, dtype=np.int64) + pre_remove) * down
    n_last = int(t[-1] // up)
    right = max(0, n_last - n_in + 1)
    padded = np.concatenate((np.zeros(x.shape[:-1] + (taps - 1,)), x, np.zeros(x.shape[:-1] + (right,))), axis=-1)
    view = sliding_window_view(padded, taps, axis=-1)  # view[..., n, :] = x[n - taps + 1 .. n]
    y = np.empty(x.shape[:-1] + (n_out,))
    for r in range(min(up, n_out)):
        t_r = (r + pre_remove) * down
        n_r, p_r = t_r // up, t_r % up
        count = len(range(r, n_out, up))
        y[..., r::up] = view[..., n_r : n_r + (count - 1) * down + 1 : down, :] @ bank[p_r]
    return y


def resample(x: np.ndarray, from_hz: float, to_hz: float) -> np.ndarray:
    up, down = resample_factors(from_hz, to_hz)
    return resample_poly(x, up, down)

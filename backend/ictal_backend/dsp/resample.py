"""Polyphase rational resampling, float64: the method of src/data/resample.ts, which is that of
scipy.signal.resample_poly with its defaults (Kaiser window beta 5, half length 10 * max(up, down), zero
padding). The filter and its centring are written out here; the polyphase sum itself is scipy's compiled
upfirdn (a numpy version was 7-10x slower on whole recordings)."""
from __future__ import annotations

import math

import numpy as np
from scipy.signal import upfirdn

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
    # Output k of the full upfirdn is sum_n x[n] * h[k*down - n*up]; keep the centred n_out of them.
    return upfirdn(h, x, up, down, axis=-1)[..., pre_remove : pre_remove + n_out]


def resample(x: np.ndarray, from_hz: float, to_hz: float) -> np.ndarray:
    up, down = resample_factors(from_hz, to_hz)
    return resample_poly(x, up, down)

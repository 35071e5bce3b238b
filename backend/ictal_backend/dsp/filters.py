"""IIR filter design and zero-phase filtering, float64: the maths of src/data/filters.ts.

The designs follow scipy.signal's butter (band-pass, by bilinear transform) and iirnotch; the zero-phase
filter follows sosfiltfilt with its defaults (odd extension, scipy's pad length, steady-state initial
conditions). Only the recursion itself is scipy's compiled ``sosfilt`` (a Python loop over samples would
be far too slow for a whole recording); everything around it is written out here so that it matches the
TypeScript line by line. See docs/data.md, "Preprocessing, post-processing and metrics".
"""
from __future__ import annotations

import math

import numpy as np
from scipy.signal import sosfilt


def _check_band(what: str, low_hz: float, high_hz: float, fs: float) -> None:
    if not (math.isfinite(fs) and fs > 0):
        raise ValueError(f"{what}: sampling rate {fs} Hz is not a positive finite number")
    if not (math.isfinite(low_hz) and math.isfinite(high_hz) and 0 < low_hz < high_hz < fs / 2):
        raise ValueError(f"{what}: band {low_hz}-{high_hz} Hz must satisfy 0 < low < high < fs/2 = {fs / 2} Hz")


def butterworth_bandpass(order: int, low_hz: float, high_hz: float, fs: float) -> np.ndarray:
    """Digital Butterworth band-pass (2*order poles) as second-order sections (rows b0 b1 b2 a0 a1 a2).

    Analog prototype poles -exp(i*pi*m/(2N)), m = -N+1, -N+3, ..., N-1; low-pass -> band-pass with pre-warped
    edges; bilinear transform. Zeros: N at z = 1 and N at z = -1, so every section's numerator is [1, 0, -1];
    the overall gain sits in the first section.
    """
    if int(order) != order or order < 1:
        raise ValueError(f"butterworth_bandpass: order {order} is not a positive integer")
    _check_band("butterworth_bandpass", low_hz, high_hz, fs)
    fs2 = 4.0  # 2 * fs after normalising to fs = 2, as scipy does
    w1 = fs2 * math.tan(math.pi * (2 * low_hz / fs) / 2)
    w2 = fs2 * math.tan(math.pi * (2 * high_hz / fs) / 2)
    bw = w2 - w1
    wo2 = complex(w1 * w2)
    plus, minus = [], []
    for m in range(-order + 1, order, 2):
        angle = math.pi * m / (2 * order)
        p = complex(-math.cos(angle), -math.sin(angle))
        pl = p * (bw / 2)
        root = np.sqrt(complex(pl * pl - wo2))
        plus.append(pl + root)
        minus.append(pl - root)
    analog = plus + minus
    num = complex(bw**order * fs2**order)
    den = complex(1.0)
    poles = []
    for p in analog:
        den *= fs2 - p
        poles.append((fs2 + p) / (fs2 - p))
    gain = (num / den).real
    sos = []
    for i, (a1, a2) in enumerate(_pair_poles(poles)):
        g = gain if i == 0 else 1.0
        sos.append([g, 0.0, -g, 1.0, a1, a2])
    return np.array(sos, dtype=np.float64)


def _pair_poles(poles: list[complex]) -> list[tuple[float, float]]:
    """Denominators (a1, a2): conjugate pairs, then real poles two by two ascending; smallest radius first."""
    tol = 1e-12
    upper = [p for p in poles if p.imag > tol]
    real = sorted(p.real for p in poles if abs(p.imag) <= tol)
    if len(real) % 2 or 2 * len(upper) + len(real) != len(poles):
        raise ValueError(f"butterworth_bandpass: poles do not pair into sections ({len(upper)} complex, {len(real)} real)")
    sections = [((-2 * p.real, p.real * p.real + p.imag * p.imag), math.hypot(p.real, p.imag)) for p in upper]
    for i in range(0, len(real), 2):
        r1, r2 = real[i], real[i + 1]
        sections.append(((-(r1 + r2), r1 * r2), max(abs(r1), abs(r2))))
    sections.sort(key=lambda s: s[1])
    return [a for a, _ in sections]


def iir_notch(f0_hz: float, q: float, fs: float) -> np.ndarray:
    """Second-order notch (scipy.signal.iirnotch) as one section."""
    if not (math.isfinite(fs) and fs > 0):
        raise ValueError(f"iir_notch: sampling rate {fs} Hz is not a positive finite number")
    if not (math.isfinite(f0_hz) and 0 < f0_hz < fs / 2):
        raise ValueError(f"iir_notch: frequency {f0_hz} Hz must lie in (0, fs/2 = {fs / 2} Hz)")
    if not (math.isfinite(q) and q > 0):
        raise ValueError(f"iir_notch: quality factor {q} is not a positive finite number")
    w0 = 2 * f0_hz / fs
    bw = (w0 / q) * math.pi
    beta = math.tan(bw / 2)
    gain = 1 / (1 + beta)
    cosw = math.cos(w0 * math.pi)
    return np.array([[gain, -2 * cosw * gain, gain, 1.0, -2 * gain * cosw, 2 * gain - 1]], dtype=np.float64)


def sosfilt_zi(sos: np.ndarray) -> np.ndarray:
    """Steady-state initial state of each section for a unit step (scipy.signal.sosfilt_zi), closed form."""
    zi = np.empty((len(sos), 2))
    scale = 1.0
    for s, (b0, b1, b2, a0, a1, a2) in enumerate(np.asarray(sos, dtype=np.float64)):
        if a0 != 1:
            raise ValueError(f"sosfilt_zi: section {s} has a0 = {a0}, expected 1")
        r0, r1 = b1 - a1 * b0, b2 - a2 * b0
        z0 = (r0 + r1) / (1 + a1 + a2)
        zi[s] = (scale * z0, scale * (r1 - a2 * z0))
        scale *= (b0 + b1 + b2) / (a0 + a1 + a2)
    return zi


def default_pad_length(sos: np.ndarray) -> int:
    """scipy's sosfiltfilt pad length: 3 * (2 * sections + 1 - sections with both b2 = 0 and a2 = 0)."""
    b2zero = int(np.sum(sos[:, 2] == 0))
    a2zero = int(np.sum(sos[:, 5] == 0))
    return 3 * (2 * len(sos) + 1 - min(b2zero, a2zero))


def sosfiltfilt(sos: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Zero-phase filtering along the last axis: odd extension, forward and backward from steady state."""
    x = np.asarray(x, dtype=np.float64)
    n = x.shape[-1]
    edge = default_pad_length(sos)
    if n <= edge:
        raise ValueError(f"sosfiltfilt: signal of {n} samples is too short; it must be longer than the pad length {edge}")
    first, last = x[..., :1], x[..., -1:]
    left = 2 * first - x[..., edge:0:-1]
    right = 2 * last - x[..., -2 : -(edge + 2) : -1]
    ext = np.concatenate((left, x, right), axis=-1)
    zi = sosfilt_zi(sos)  # (sections, 2) -> (sections, ..., 2)
    zi = zi.reshape((len(sos),) + (1,) * (x.ndim - 1) + (2,))
    y, _ = sosfilt(sos, ext, axis=-1, zi=zi * ext[..., :1][None])
    y = y[..., ::-1]
    y, _ = sosfilt(sos, y, axis=-1, zi=zi * y[..., :1][None])
    return np.ascontiguousarray(y[..., ::-1][..., edge : edge + n])


def magnitude_response(sos: np.ndarray, f_hz: float, fs: float) -> float:
    """|H(e^{i 2 pi f / fs})| of a cascade."""
    z1 = np.exp(-2j * np.pi * f_hz / fs)
    h = 1 + 0j
    for b0, b1, b2, a0, a1, a2 in sos:
        h *= (b0 + b1 * z1 + b2 * z1 * z1) / (a0 + a1 * z1 + a2 * z1 * z1)
    return float(abs(h))

"""Recording -> model input, as the original computes it (shared/design/ORIGINAL_PIPELINE.md): FFT-resample the
whole recording to 256 Hz (scipy.signal.resample), band-pass 0.5-120 Hz (Butterworth order 3 in (b, a) form)
and notch 60 Hz (Q 30), each applied causally once from a zero state (scipy.signal.lfilter), per-channel
z-score with std + 1e-8, float32, clip to [-10, 10]; then 60 s windows with a 10 s stride and per-sample labels.
These are the original's own scipy calls. src/data/preprocess.ts and src/data/windows.ts compute the same
(parity-tested)."""
from __future__ import annotations

import math
from typing import Iterable, Sequence

import numpy as np
from scipy.signal import butter, iirnotch, lfilter, resample

TARGET_FS = 256.0
BANDPASS_ORDER = 3
BANDPASS_HZ = (0.5, 120.0)
NOTCH_HZ = 60.0
NOTCH_Q = 30.0
CLIP = 10.0
STD_EPSILON = 1e-8  # added to the std, as the original: a flat channel divides by this instead of by 0
WINDOW = 15360  # 60 s at 256 Hz
STRIDE = 2560  # 10 s at 256 Hz

# Designed once: the rate after resampling is always TARGET_FS.
BANDPASS_BA = butter(BANDPASS_ORDER, BANDPASS_HZ, btype="bandpass", fs=TARGET_FS)
NOTCH_BA = iirnotch(NOTCH_HZ, NOTCH_Q, fs=TARGET_FS)


def resampled_length(n: int, fs: float) -> int:
    """The original's length at 256 Hz: round(n * 256 / fs) (Python's round, halves to even)."""
    return n if fs == TARGET_FS else round(n * TARGET_FS / fs)


def preprocess_recording(signals: np.ndarray, fs: float) -> np.ndarray:
    """(channels, n) physical samples at fs Hz -> (channels, m) float32 at 256 Hz, m = round(n * 256 / fs)."""
    x = np.asarray(signals)
    if x.ndim != 2 or x.shape[0] < 1:
        raise ValueError(f"preprocess_recording: signals must be a 2-D array (channels, samples), got shape {x.shape}")
    if not np.issubdtype(x.dtype, np.number) or np.iscomplexobj(x):
        raise ValueError(f"preprocess_recording: signals must be real numbers, got dtype {x.dtype}")
    if not (math.isfinite(fs) and fs > 0):
        raise ValueError(f"preprocess_recording: sampling rate {fs} Hz is not a positive finite number")
    if x.shape[1] < 1:
        raise ValueError("preprocess_recording: channels have no samples")
    x = x.astype(np.float64, copy=False)
    bad = np.argwhere(~np.isfinite(x))
    if len(bad):
        ch, i = bad[0]
        raise ValueError(f"preprocess_recording: channel {ch} sample {i} is {x[ch, i]}; signals must be finite")
    m = resampled_length(x.shape[1], float(fs))
    if m < 1:
        raise ValueError(f"preprocess_recording: {x.shape[1]} samples at {fs} Hz give no sample at 256 Hz")
    y = x if fs == TARGET_FS else resample(x, m, axis=-1)
    y = lfilter(*BANDPASS_BA, y, axis=-1)
    y = lfilter(*NOTCH_BA, y, axis=-1)
    mean = y.mean(axis=-1, keepdims=True)
    std = y.std(axis=-1, keepdims=True)
    z = (y - mean) / (std + STD_EPSILON)
    z = np.nan_to_num(z, nan=0.0, posinf=0.0, neginf=0.0).astype(np.float32)
    return np.clip(z, -CLIP, CLIP)


def labels_from_events(events: Iterable[Sequence[float]], n_samples: int, fs: float = TARGET_FS) -> np.ndarray:
    """Per-sample 0/1 float32 labels as the original marks them: mask[int(start * fs):int(stop * fs)] = 1 for
    each (start_s, stop_s) event (both ends truncated), clipped to the recording."""
    if int(n_samples) != n_samples or n_samples < 0:
        raise ValueError(f"labels_from_events: n_samples {n_samples} is not a non-negative integer")
    if not (math.isfinite(fs) and fs > 0):
        raise ValueError(f"labels_from_events: sampling rate {fs} Hz is not a positive finite number")
    labels = np.zeros(int(n_samples), dtype=np.float32)
    for k, event in enumerate(events):
        if len(event) != 2:
            raise ValueError(f"labels_from_events: event {k} has {len(event)} values, expected [start_s, stop_s]")
        start, stop = float(event[0]), float(event[1])
        if not (math.isfinite(start) and math.isfinite(stop)):
            raise ValueError(f"labels_from_events: event {k} [{start}, {stop}] has a non-finite time")
        if stop < start:
            raise ValueError(f"labels_from_events: event {k} stops at {stop} s, before its start {start} s")
        first = min(max(int(start * fs), 0), n_samples)
        end = min(max(int(stop * fs), 0), n_samples)
        labels[first:end] = 1
    return labels


def windows(x: np.ndarray, sample_labels: np.ndarray, window: int = WINDOW, stride: int = STRIDE) -> tuple[np.ndarray, np.ndarray]:
    """Windows starting at 0, stride, 2*stride, ... that fit entirely in the recording (a partial tail is
    dropped): (n, channels, window) float32 and (n, window) float32 labels."""
    x = np.asarray(x)
    labels = np.asarray(sample_labels)
    if x.ndim != 2:
        raise ValueError(f"windows: x must be 2-D (channels, samples), got shape {x.shape}")
    if labels.ndim != 1 or labels.shape[0] != x.shape[1]:
        raise ValueError(f"windows: sample_labels has shape {labels.shape}, expected ({x.shape[1]},) to match x")
    if int(window) != window or window < 1:
        raise ValueError(f"windows: window {window} is not a positive integer")
    if int(stride) != stride or stride < 1:
        raise ValueError(f"windows: stride {stride} is not a positive integer")
    n = window_count(x.shape[1], window, stride)
    starts = np.arange(n) * stride
    out = np.empty((n, x.shape[0], window), dtype=np.float32)
    lab = np.empty((n, window), dtype=np.float32)
    for k, s in enumerate(starts):
        out[k] = x[:, s : s + window]
        lab[k] = labels[s : s + window]
    return out, lab


def window_count(n_samples: int, window: int = WINDOW, stride: int = STRIDE) -> int:
    return 0 if n_samples < window else (n_samples - window) // stride + 1

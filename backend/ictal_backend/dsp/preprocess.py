"""Recording -> model input: resample to 256 Hz, band-pass 0.5-120 Hz (Butterworth, order 3), notch 60 Hz
(Q 30), per-channel z-score, clip to [-10, 10]; then 60 s windows with a 10 s stride and per-sample labels.
The same steps as src/data/preprocess.ts and src/data/windows.ts (parity-tested)."""
from __future__ import annotations

import math
from typing import Iterable, Sequence

import numpy as np

from .filters import butterworth_bandpass, default_pad_length, iir_notch, sosfiltfilt
from .resample import resample

TARGET_FS = 256.0
BANDPASS_ORDER = 3
BANDPASS_HZ = (0.5, 120.0)
NOTCH_HZ = 60.0
NOTCH_Q = 30.0
CLIP = 10.0
WINDOW = 15360  # 60 s at 256 Hz
STRIDE = 2560  # 10 s at 256 Hz
LABEL_EPSILON = 1e-9

# Designed once: the rate after resampling is always TARGET_FS.
BANDPASS_SOS = butterworth_bandpass(BANDPASS_ORDER, BANDPASS_HZ[0], BANDPASS_HZ[1], TARGET_FS)
NOTCH_SOS = iir_notch(NOTCH_HZ, NOTCH_Q, TARGET_FS)


def preprocess_recording(signals: np.ndarray, fs: float) -> np.ndarray:
    """(channels, n) physical samples at fs Hz -> (channels, m) float32 at 256 Hz, m = ceil(n * 256 / fs).

    A channel whose raw samples are all equal carries no signal and comes out as zeros (z-scoring it would
    only amplify rounding noise).
    """
    x = np.asarray(signals)
    if x.ndim != 2 or x.shape[0] < 1:
        raise ValueError(f"preprocess_recording: signals must be a 2-D array (channels, samples), got shape {x.shape}")
    if not np.issubdtype(x.dtype, np.number) or np.iscomplexobj(x):
        raise ValueError(f"preprocess_recording: signals must be real numbers, got dtype {x.dtype}")
    x = x.astype(np.float64, copy=False)
    bad = np.argwhere(~np.isfinite(x))
    if len(bad):
        ch, i = bad[0]
        raise ValueError(f"preprocess_recording: channel {ch} sample {i} is {x[ch, i]}; signals must be finite")
    y = resample(x, float(fs), TARGET_FS)
    minimum = max(default_pad_length(BANDPASS_SOS), default_pad_length(NOTCH_SOS))
    if y.shape[1] <= minimum:
        raise ValueError(
            f"preprocess_recording: {x.shape[1]} samples at {fs} Hz give {y.shape[1]} at 256 Hz; "
            f"the zero-phase filters need more than {minimum}"
        )
    y = sosfiltfilt(BANDPASS_SOS, y)
    y = sosfiltfilt(NOTCH_SOS, y)
    out = np.zeros(y.shape, dtype=np.float32)
    for ch in range(y.shape[0]):
        if np.all(x[ch] == x[ch, 0]):
            continue
        mean = y[ch].mean()
        centred = y[ch] - mean
        std = math.sqrt(float(np.mean(centred * centred)))
        if std == 0:
            continue
        out[ch] = np.clip(centred / std, -CLIP, CLIP)
    return out


def labels_from_events(events: Iterable[Sequence[float]], n_samples: int, fs: float = TARGET_FS) -> np.ndarray:
    """Per-sample 0/1 float32 labels: sample i is 1 when start <= i/fs < stop for some (start_s, stop_s) event,
    i.e. samples ceil(start*fs - 1e-9) .. ceil(stop*fs - 1e-9)-1, clipped to the recording (the 1e-9 keeps a
    time that is a whole number of samples on its sample despite rounding)."""
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
        first = min(max(math.ceil(start * fs - LABEL_EPSILON), 0), n_samples)
        end = min(max(math.ceil(stop * fs - LABEL_EPSILON), 0), n_samples)
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

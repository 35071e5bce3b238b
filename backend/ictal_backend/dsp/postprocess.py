"""Per-sample seizure probabilities -> events: hysteresis, morphological opening then closing, duration
filter, merging of close events. The same as src/data/postprocess.ts (parity-tested); all the work is on
integer sample intervals (vectorised), so both languages give the same events bit for bit."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace

import numpy as np


@dataclass(frozen=True)
class PostprocessParams:
    """Defaults are the reference design's (V3_MODEL.md, "Post-processing and metrics")."""

    fs: float = 256.0
    on_threshold: float = 0.86  # switches on at p >= on_threshold ...
    off_threshold: float = 0.78  # ... and off at p < off_threshold
    opening_samples: int = 11  # odd; removes detections shorter than this
    closing_samples: int = 31  # odd; fills gaps shorter than this
    min_duration_s: float = 3.0  # kept when min <= duration <= max
    max_duration_s: float = 600.0
    merge_gap_s: float = 2.0  # gaps shorter than this are merged (after the duration filter)


def resolve_params(params: PostprocessParams | None = None, **overrides: float) -> PostprocessParams:
    p = params or PostprocessParams()
    names = {f.name for f in fields(PostprocessParams)}
    for key in overrides:
        if key not in names:
            raise ValueError(f'postprocess: unknown parameter "{key}"')
    p = replace(p, **overrides)
    for key, value in asdict(p).items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValueError(f"postprocess: {key} = {value} is not a finite number")
    if p.fs <= 0:
        raise ValueError(f"postprocess: fs = {p.fs} must be positive")
    if p.off_threshold > p.on_threshold:
        raise ValueError(f"postprocess: off_threshold {p.off_threshold} exceeds on_threshold {p.on_threshold}")
    for key in ("opening_samples", "closing_samples"):
        v = getattr(p, key)
        if int(v) != v or v < 1 or v % 2 != 1:
            raise ValueError(f"postprocess: {key} = {v} must be an odd positive integer")
    if p.min_duration_s < 0 or p.max_duration_s < p.min_duration_s:
        raise ValueError(f"postprocess: duration range [{p.min_duration_s}, {p.max_duration_s}] s is empty or negative")
    if p.merge_gap_s < 0:
        raise ValueError(f"postprocess: merge_gap_s = {p.merge_gap_s} must not be negative")
    return p


def as_probabilities(p: np.ndarray, what: str = "postprocess") -> np.ndarray:
    """1-D float64 (float32 widens exactly, so thresholds compare as in TypeScript), all finite."""
    p = np.asarray(p)
    if p.ndim != 1:
        raise ValueError(f"{what}: probabilities must be 1-D, got shape {p.shape}")
    p = p.astype(np.float64)
    bad = np.flatnonzero(~np.isfinite(p))
    if len(bad):
        raise ValueError(f"{what}: probability {bad[0]} is {p[bad[0]]}; probabilities must be finite")
    return p


Intervals = tuple[np.ndarray, np.ndarray]  # (starts, ends) int64, half-open, sorted, disjoint


def runs_of(mask: np.ndarray) -> Intervals:
    d = np.diff(np.asarray(mask != 0, dtype=np.int8), prepend=0, append=0)
    return np.flatnonzero(d == 1), np.flatnonzero(d == -1)


def hysteresis(p: np.ndarray, on: float, off: float) -> Intervals:
    """Off at the start; on at the first sample with p >= on, off at the first later sample with p < off.
    Only the samples that decide (p >= on or p < off) are looked at: the state changes where their kind does."""
    high = p >= on
    decisive = np.flatnonzero(high | (p < off))
    if len(decisive) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    kind = high[decisive]
    change = np.flatnonzero(kind[1:] != kind[:-1]) + 1
    starts = decisive[change[kind[change]]]
    ends = decisive[change[~kind[change]]]
    if kind[0]:
        starts = np.concatenate((decisive[:1], starts))
    if len(ends) < len(starts):
        ends = np.concatenate((ends, [len(p)]))
    return starts, ends


# Morphology acts on the recording embedded in an infinite signal that is 0 outside it: erosion and dilation
# need no edge rule, an opening never grows a run and a closing never moves a run's outer ends, so the results
# stay inside [0, n).


def erode(r: Intervals, size: int) -> Intervals:
    """Binary erosion with a centred flat element of `size` (odd) samples."""
    h = (size - 1) // 2
    s, e = r[0] + h, r[1] - h
    keep = s < e
    return s[keep], e[keep]


def dilate(r: Intervals, size: int) -> Intervals:
    """Binary dilation with a centred flat element of `size` (odd) samples; touching runs join."""
    h = (size - 1) // 2
    s, e = r[0] - h, r[1] + h
    return _join(s, e, s[1:] <= e[:-1])


def _join(s: np.ndarray, e: np.ndarray, joins_previous: np.ndarray) -> Intervals:
    """Merges run k into run k-1 wherever joins_previous[k-1]; ends stay monotone so a group ends at its last."""
    if len(s) == 0:
        return s, e
    first = np.concatenate(([True], ~joins_previous))
    last = np.concatenate((~joins_previous, [True]))
    return s[first], e[last]


def opening(r: Intervals, size: int) -> Intervals:
    """Removes runs shorter than `size`; longer runs are unchanged."""
    return dilate(erode(r, size), size)


def closing(r: Intervals, size: int) -> Intervals:
    """Fills gaps shorter than `size` between runs; nothing else changes."""
    return erode(dilate(r, size), size)


def filter_duration(r: Intervals, fs: float, min_s: float, max_s: float) -> Intervals:
    d = (r[1] - r[0]) / fs
    keep = (d >= min_s) & (d <= max_s)
    return r[0][keep], r[1][keep]


def merge_close(r: Intervals, fs: float, gap_s: float) -> Intervals:
    s, e = r
    return _join(s, e, (s[1:] - e[:-1]) / fs < gap_s)


def postprocess_intervals(p: np.ndarray, params: PostprocessParams) -> Intervals:
    """The whole chain on sample intervals (p already checked by as_probabilities)."""
    r = hysteresis(p, params.on_threshold, params.off_threshold)
    r = opening(r, params.opening_samples)
    r = closing(r, params.closing_samples)
    r = filter_duration(r, params.fs, params.min_duration_s, params.max_duration_s)
    return merge_close(r, params.fs, params.merge_gap_s)


def intervals_to_events(r: Intervals, fs: float) -> list[list[float]]:
    return [[int(s) / fs, int(e) / fs] for s, e in zip(r[0], r[1])]


def postprocess(probabilities: np.ndarray, params: PostprocessParams | None = None, **overrides: float) -> list[list[float]]:
    """Per-sample probabilities -> events [[start_s, end_s], ...]; any parameter may be overridden."""
    p = resolve_params(params, **overrides)
    return intervals_to_events(postprocess_intervals(as_probabilities(probabilities), p), p.fs)

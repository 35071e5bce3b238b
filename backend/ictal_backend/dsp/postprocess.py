"""Per-sample seizure probabilities -> events, as the original computes them (shared/design/ORIGINAL_PIPELINE.md):
hysteresis with stability counts, morphological opening then closing, a minimum duration, merging of close
events. The same as src/data/postprocess.ts (parity-tested); all the work is on integer sample intervals
(vectorised), so both languages give the same events bit for bit."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace

import numpy as np


@dataclass(frozen=True)
class PostprocessParams:
    """Defaults are the original's configuration (ORIGINAL_PIPELINE.md, "Post-processing")."""

    fs: float = 256.0
    on_threshold: float = 0.86  # a run of p >= on_threshold ...
    min_onset_samples: int = 128  # ... this long starts an event,
    off_threshold: float = 0.78  # a run of p < off_threshold ...
    min_offset_samples: int = 256  # ... this long ends it, min_offset_samples - 1 samples into that run
    opening_samples: int = 11  # odd
    closing_samples: int = 31  # odd
    min_duration_s: float = 3.0  # shorter events are dropped; longer ones are all kept
    merge_gap_s: float = 2.0  # gaps of at most this are merged (after the duration filter)


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
    for key in ("min_onset_samples", "min_offset_samples"):
        v = getattr(p, key)
        if int(v) != v or v < 1:
            raise ValueError(f"postprocess: {key} = {v} must be a positive integer")
    if p.min_duration_s < 0:
        raise ValueError(f"postprocess: min_duration_s = {p.min_duration_s} must not be negative")
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


def runs_of(mask: np.ndarray, min_length: int = 1) -> Intervals:
    """Maximal runs of non-zero samples, of at least min_length samples."""
    d = np.diff(np.asarray(mask != 0, dtype=np.int8), prepend=0, append=0)
    starts, ends = np.flatnonzero(d == 1), np.flatnonzero(d == -1)
    keep = ends - starts >= min_length
    return starts[keep], ends[keep]


def hysteresis(p: np.ndarray, on: float, off: float, min_onset: int = 1, min_offset: int = 1) -> Intervals:
    """Hysteresis with stability counts, as the original: "firm off" runs are runs of p < off of at least
    min_offset samples; the zones between them each reach min_offset - 1 samples into the following firm off
    run; in each zone the first run of p >= on of at least min_onset samples starts an event that fills to the
    zone's end."""
    n = len(p)
    firm_starts, firm_ends = runs_of(p < off, min_offset)
    on_starts, _ = runs_of(p >= on, min_onset)
    zone_starts = np.concatenate(([0], firm_ends))
    zone_ends = np.concatenate((firm_starts, [n]))
    reach = np.concatenate((firm_starts + (min_offset - 1), [n]))
    # on-runs never cross a firm off run, so the first on-run starting at or after a zone's start is the zone's
    # first if it starts before the zone's end.
    k = np.searchsorted(on_starts, zone_starts, side="left")
    has = k < len(on_starts)
    has[has] = on_starts[k[has]] < zone_ends[has]
    return on_starts[k[has]].astype(np.int64), reach[has].astype(np.int64)


# Morphology as the original's 1-D max-pool / min-pool with stride 1 and padding k // 2: the padding never wins a
# max or a min, so each window is clipped to the recording [0, n). Hence an erosion keeps a run's ends at 0 and n,
# and a closing stretches an event within k // 2 samples of an edge to that edge.


def erode(r: Intervals, size: int, n: int) -> Intervals:
    """Binary erosion with a centred flat element of `size` (odd) samples, windows clipped to [0, n)."""
    h = (size - 1) // 2
    s = np.where(r[0] == 0, 0, r[0] + h)
    e = np.where(r[1] == n, n, r[1] - h)
    keep = s < e
    return s[keep], e[keep]


def dilate(r: Intervals, size: int, n: int) -> Intervals:
    """Binary dilation with a centred flat element of `size` (odd) samples, within [0, n); touching runs join."""
    h = (size - 1) // 2
    s, e = np.maximum(r[0] - h, 0), np.minimum(r[1] + h, n)
    return _join(s, e, s[1:] <= e[:-1])


def _join(s: np.ndarray, e: np.ndarray, joins_previous: np.ndarray) -> Intervals:
    """Merges run k into run k-1 wherever joins_previous[k-1]; ends stay monotone so a group ends at its last."""
    if len(s) == 0:
        return s, e
    first = np.concatenate(([True], ~joins_previous))
    last = np.concatenate((~joins_previous, [True]))
    return s[first], e[last]


def opening(r: Intervals, size: int, n: int) -> Intervals:
    return dilate(erode(r, size, n), size, n)


def closing(r: Intervals, size: int, n: int) -> Intervals:
    return erode(dilate(r, size, n), size, n)


def filter_duration(r: Intervals, fs: float, min_s: float) -> Intervals:
    keep = (r[1] - r[0]) / fs >= min_s
    return r[0][keep], r[1][keep]


def merge_close(r: Intervals, fs: float, gap_s: float) -> Intervals:
    s, e = r
    return _join(s, e, (s[1:] - e[:-1]) / fs <= gap_s)


def postprocess_intervals(p: np.ndarray, params: PostprocessParams) -> Intervals:
    """The whole chain on sample intervals (p already checked by as_probabilities)."""
    n = len(p)
    r = hysteresis(p, params.on_threshold, params.off_threshold, params.min_onset_samples, params.min_offset_samples)
    r = opening(r, params.opening_samples, n)
    r = closing(r, params.closing_samples, n)
    r = filter_duration(r, params.fs, params.min_duration_s)
    return merge_close(r, params.fs, params.merge_gap_s)


def intervals_to_events(r: Intervals, fs: float) -> list[list[float]]:
    return [[int(s) / fs, int(e) / fs] for s, e in zip(r[0], r[1])]


def postprocess(probabilities: np.ndarray, params: PostprocessParams | None = None, **overrides: float) -> list[list[float]]:
    """Per-sample probabilities -> events [[start_s, end_s], ...]; any parameter may be overridden."""
    p = resolve_params(params, **overrides)
    return intervals_to_events(postprocess_intervals(as_probabilities(probabilities), p), p.fs)

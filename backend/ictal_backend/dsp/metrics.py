"""Event sensitivity at fixed false-alarm rates (the original's bisection on the threshold, over the
post-processing chain) and AUROC on samples. The same as src/data/metrics.ts (parity-tested); definitions in
docs/data.md."""
from __future__ import annotations

from dataclasses import replace
from typing import Sequence

import numpy as np

from .postprocess import Intervals, PostprocessParams, as_probabilities, postprocess_intervals, resolve_params, runs_of

FA_TARGETS_PER_24H = (10.0, 5.0, 2.5, 1.0)


# The original's threshold search (ORIGINAL_PIPELINE.md): bisection of on_threshold over this range, this many
# times, with off_threshold = max(0, on_threshold - HYSTERESIS_BAND) at every step.
SEARCH_RANGE = (0.08, 1.0)
SEARCH_ITERATIONS = 10
HYSTERESIS_BAND = 0.08


def _count_overlapping(a: Intervals, b: Intervals) -> int:
    """How many intervals of a overlap some interval of b (both sorted, disjoint, half-open)."""
    if len(a[0]) == 0 or len(b[0]) == 0:
        return 0
    j = np.searchsorted(b[1], a[0], side="right")  # first b ending after a's start
    inside = j < len(b[0])
    hit = np.zeros(len(a[0]), dtype=bool)
    hit[inside] = b[0][j[inside]] < a[1][inside]
    return int(hit.sum())


def score_events(predicted: Intervals, reference: Intervals) -> dict[str, int]:
    """detected: reference events overlapped (positive-length overlap) by some predicted event;
    false_alarms: predicted events overlapping no reference event."""
    return {
        "detected": _count_overlapping(reference, predicted),
        "false_alarms": len(predicted[0]) - _count_overlapping(predicted, reference),
    }


def as_labels(labels: np.ndarray, what: str = "metrics") -> np.ndarray:
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"{what}: labels must be 1-D, got shape {labels.shape}")
    bad = np.flatnonzero((labels != 0) & (labels != 1))
    if len(bad):
        raise ValueError(f"{what}: label {bad[0]} is {labels[bad[0]]}; labels must be 0 or 1")
    return labels == 1


def auroc(scores: np.ndarray, labels: np.ndarray) -> float | None:
    """Exact AUROC over samples: fraction of (positive, negative) pairs where the positive scores higher, ties
    counting one half (Mann-Whitney form of the midrank formula). None when either class is empty."""
    s = as_probabilities(scores, "auroc")
    y = as_labels(labels, "auroc")
    if len(s) != len(y):
        raise ValueError(f"auroc: {len(s)} scores but {len(y)} labels")
    return _auroc(s, y)


def _auroc(s: np.ndarray, y: np.ndarray) -> float | None:
    pos, neg = np.sort(s[y]), np.sort(s[~y])
    if len(pos) == 0 or len(neg) == 0:
        return None
    below = np.searchsorted(neg, pos, side="left")
    up_to = np.searchsorted(neg, pos, side="right")
    twice_won = int(below.sum()) + int(up_to.sum())
    return twice_won / (2 * len(pos) * len(neg))


def evaluate(
    recordings: Sequence[tuple[np.ndarray, np.ndarray]],
    fa_targets_per_24h: Sequence[float] = FA_TARGETS_PER_24H,
    params: PostprocessParams | None = None,
    **overrides: float,
) -> dict:
    """recordings: (probabilities, 0/1 labels) pairs at params.fs. Pooled over recordings. For each FA target,
    the original's search: bisection on on_threshold (SEARCH_RANGE, SEARCH_ITERATIONS) with off_threshold =
    max(0, on - HYSTERESIS_BAND), the other parameters as given, keeping the lowest on_threshold whose FA/24h is
    within the target. When none is, the target is reported as not reached (threshold None, sensitivity 0):
    the original fell back to 0.86 and reported that point's sensitivity anyway."""
    base = resolve_params(params, **overrides)
    targets = [float(t) for t in fa_targets_per_24h]
    for k, t in enumerate(targets):
        if not (np.isfinite(t) and t >= 0):
            raise ValueError(f"evaluate: FA target {k} = {t} is not a non-negative finite number")
    if len(recordings) == 0:
        raise ValueError("evaluate: no recordings given")
    probs, refs, masks = [], [], []
    seconds = 0.0
    for k, (p, y) in enumerate(recordings):
        p = as_probabilities(p, f"evaluate: recording {k}")
        m = as_labels(y, f"evaluate: recording {k}")
        if len(p) != len(m):
            raise ValueError(f"evaluate: recording {k} has {len(p)} probabilities but {len(m)} labels")
        seconds += len(p) / base.fs  # summed in order, as the TypeScript
        probs.append(p)
        masks.append(m)
        refs.append(runs_of(m))
    if seconds == 0:
        raise ValueError("evaluate: the recordings hold no samples")
    reference_events = sum(len(r[0]) for r in refs)
    probed: dict[float, dict] = {}

    def probe(on: float) -> dict:
        if on not in probed:
            pp = replace(base, on_threshold=on, off_threshold=max(0.0, on - HYSTERESIS_BAND))
            detected = false_alarms = 0
            for p, ref in zip(probs, refs):
                score = score_events(postprocess_intervals(p, pp), ref)
                detected += score["detected"]
                false_alarms += score["false_alarms"]
            probed[on] = {"threshold": on, "off_threshold": pp.off_threshold, "detected": detected,
                          "false_alarms_per_24h": false_alarms * 86400 / seconds}
        return probed[on]

    points = []
    for target in targets:
        lo, hi = SEARCH_RANGE
        best = None
        for _ in range(SEARCH_ITERATIONS):
            mid = (lo + hi) / 2
            if probe(mid)["false_alarms_per_24h"] <= target:
                best, hi = probe(mid), mid
            else:
                lo = mid
        points.append(_operating_point(best, target, reference_events))
    return {
        "auroc": _auroc(np.concatenate(probs), np.concatenate(masks)),
        "hours": seconds / 3600,
        "reference_events": reference_events,
        "operating_points": points,
    }


def _operating_point(best: dict | None, target: float, reference_events: int) -> dict:
    if best is None:
        return {"target_per_24h": target, "reached": False, "threshold": None, "off_threshold": None,
                "sensitivity": 0.0 if reference_events else None, "false_alarms_per_24h": None}
    return {
        "target_per_24h": target,
        "reached": True,
        "threshold": best["threshold"],
        "off_threshold": best["off_threshold"],
        "sensitivity": best["detected"] / reference_events if reference_events else None,
        "false_alarms_per_24h": best["false_alarms_per_24h"],
    }

"""ictal_backend.dsp.metrics against independent references: AUROC against the midrank formula
(scipy.stats.rankdata) and an all-pairs count, event scoring against an all-pairs overlap test, and the
sensitivity sweep on a recording worked out by hand (DSP_SEED=N replays a run)."""
import os
import secrets

import numpy as np
import pytest
from scipy.stats import rankdata

from ictal_backend.dsp.metrics import auroc, default_thresholds, evaluate, score_events

SEED = int(os.environ.get("DSP_SEED", secrets.randbelow(2**31)))
rng = np.random.default_rng(SEED)


def all_pairs_auroc(s, y):
    pos, neg = s[y == 1], s[y == 0]
    diff = pos[:, None] - neg[None, :]
    return ((diff > 0).sum() + 0.5 * (diff == 0).sum()) / diff.size


@pytest.mark.parametrize("n,levels", [(2, 0), (7, 3), (101, 0), (1001, 8)])
def test_auroc_equals_all_pairs_and_midranks(n, levels):
    s = (np.floor(rng.random(n) * levels) / levels if levels else rng.random(n)).astype(np.float32)
    y = (rng.random(n) < 0.3).astype(np.float32)
    y[:2] = [0, 1]
    got = auroc(s, y)
    assert got == pytest.approx(all_pairs_auroc(s.astype(np.float64), y), abs=1e-14), f"DSP_SEED={SEED}"
    ranks = rankdata(s)
    p, q = int(y.sum()), int(len(y) - y.sum())
    assert got == pytest.approx((ranks[y == 1].sum() - p * (p + 1) / 2) / (p * q), abs=1e-12)


def test_auroc_edge_cases():
    assert auroc([0.1, 0.2, 0.9, 0.8], [0, 0, 1, 1]) == 1
    assert auroc([0.9, 0.8, 0.1, 0.2], [0, 0, 1, 1]) == 0
    assert auroc([0.3, 0.3, 0.3], [0, 1, 0]) == 0.5
    assert auroc([0.3, 0.4], [1, 1]) is None
    with pytest.raises(ValueError, match="label 1 is 0.5; labels must be 0 or 1"):
        auroc([0.1, 0.2], [0, 0.5])


def iv(pairs):
    a = np.array(pairs, dtype=np.int64).reshape(-1, 2)
    return a[:, 0], a[:, 1]


def test_score_events_by_hand_and_against_all_pairs():
    ref = iv([[10, 20], [30, 40], [60, 70]])
    pred = iv([[0, 10], [15, 35], [45, 50], [70, 80]])
    assert score_events(pred, ref) == {"detected": 2, "false_alarms": 3}
    for _ in range(20):
        def random_intervals():
            gaps, lengths = rng.integers(0, 30, 40), rng.integers(1, 21, 40)
            starts = np.cumsum(gaps + np.concatenate(([0], lengths[:-1])))
            return starts, starts + lengths
        p, r = random_intervals(), random_intervals()
        overlap = (p[0][:, None] < r[1][None, :]) & (r[0][None, :] < p[1][:, None])
        want = {"detected": int(overlap.any(axis=0).sum()), "false_alarms": int((~overlap.any(axis=1)).sum())}
        assert score_events(p, r) == want, f"DSP_SEED={SEED}"


def hand_recording():
    fs, n = 256, 3600 * 256
    p = np.full(n, 0.1, np.float32)
    y = np.zeros(n, np.float32)
    p[600 * fs : 640 * fs] = 0.95
    y[605 * fs : 650 * fs] = 1
    p[1200 * fs : 1230 * fs] = 0.7
    y[1200 * fs : 1230 * fs] = 1
    p[2000 * fs : 2010 * fs] = 0.8
    return p, y


def test_evaluate_by_hand():
    p, y = hand_recording()
    r = evaluate([(p, y)], thresholds=[0.5, 0.75, 0.9], fa_targets_per_24h=[30, 10, 0])
    assert r["hours"] == 1 and r["reference_events"] == 2
    rows = [[s["threshold"], s["predicted"], s["detected"], s["false_alarms"], s["false_alarms_per_24h"], s["sensitivity"]] for s in r["sweep"]]
    assert rows == [[0.5, 3, 2, 1, 24, 1], [0.75, 2, 1, 1, 24, 0.5], [0.9, 1, 1, 0, 0, 0.5]]
    assert r["sweep"][2]["off_threshold"] == 0.9 * (0.78 / 0.86)
    assert r["operating_points"] == [
        {"target_per_24h": 30, "threshold": 0.5, "sensitivity": 1, "false_alarms_per_24h": 24},
        {"target_per_24h": 10, "threshold": 0.9, "sensitivity": 0.5, "false_alarms_per_24h": 0},
        {"target_per_24h": 0, "threshold": 0.9, "sensitivity": 0.5, "false_alarms_per_24h": 0},
    ]
    assert r["auroc"] == pytest.approx(all_pairs_auroc_by_levels(p, y), abs=1e-14)


def test_evaluate_unreachable_target_and_no_seizures():
    p, y = hand_recording()
    r = evaluate([(p, y)], thresholds=[0.5], fa_targets_per_24h=[10])
    assert r["operating_points"][0] == {"target_per_24h": 10, "threshold": None, "sensitivity": 0.0, "false_alarms_per_24h": None}
    none = evaluate([(p, np.zeros_like(y))], thresholds=[0.5])
    assert none["sweep"][0]["sensitivity"] is None and none["auroc"] is None


def test_default_thresholds_and_bad_input():
    t = default_thresholds()
    assert len(t) == 199 and (t[0], t[99], t[198]) == (0.005, 0.5, 0.995)
    with pytest.raises(ValueError, match="no recordings"):
        evaluate([])
    with pytest.raises(ValueError, match="recording 0 has 1 probabilities but 2 labels"):
        evaluate([([0.1], [0, 1])])


def all_pairs_auroc_by_levels(s, y):
    levels, inverse = np.unique(s, return_inverse=True)
    pos = np.bincount(inverse, weights=y, minlength=len(levels))
    neg = np.bincount(inverse, weights=1 - y, minlength=len(levels))
    won = sum(pos[i] * neg[j] * (1.0 if i > j else 0.5 if i == j else 0.0) for i in range(len(levels)) for j in range(len(levels)))
    return won / (pos.sum() * neg.sum())

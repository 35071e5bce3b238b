"""ictal_backend.dsp.metrics against independent references: AUROC against the midrank formula
(scipy.stats.rankdata) and an all-pairs count, event scoring against an all-pairs overlap test, and the
sensitivity sweep on a recording worked out by hand (DSP_SEED=N replays a run)."""
import os
import secrets

import numpy as np
import pytest
from scipy.stats import rankdata

from ictal_backend.dsp.metrics import auroc, evaluate, score_events

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
    """One hour: seizure A (p 0.95), seizure B (p 0.7), an unlabelled stretch at 0.8 (a false alarm whenever the
    threshold is <= 0.8), background 0. One false alarm in one hour is 24 per 24 h."""
    fs, n = 256, 3600 * 256
    p = np.zeros(n, np.float32)
    y = np.zeros(n, np.float32)
    p[600 * fs : 640 * fs] = 0.95
    y[605 * fs : 650 * fs] = 1
    p[1200 * fs : 1230 * fs] = 0.7
    y[1200 * fs : 1230 * fs] = 1
    p[2000 * fs : 2010 * fs] = 0.8
    return p, y


def test_evaluate_bisects_the_threshold_by_hand():
    p, y = hand_recording()
    r = evaluate([(p, y)], fa_targets_per_24h=[30, 10])
    assert r["hours"] == 1 and r["reference_events"] == 2
    loose, tight = r["operating_points"]
    # FA 24 meets 30 at every probe: the search walks down to 0.08 + 0.92 / 2^10 and finds A, B and the false alarm.
    assert loose["reached"] and loose["threshold"] == pytest.approx(0.08 + 0.92 / 1024, abs=1e-14)
    assert (loose["sensitivity"], loose["false_alarms_per_24h"]) == (1, 24)
    # FA 0 needs t > 0.8: probes 0.54 no, 0.77 no, 0.885, 0.8275 yes, 0.79875 no, 0.813125, 0.8059375, 0.80234375,
    # 0.800546875 yes, 0.7996484375 no: the lowest that met it is 0.800546875, where only A is found.
    assert tight["reached"] and tight["threshold"] == pytest.approx(0.800546875, abs=1e-14)
    assert tight["off_threshold"] == pytest.approx(0.800546875 - 0.08, abs=1e-14)
    assert (tight["sensitivity"], tight["false_alarms_per_24h"]) == (0.5, 0)
    assert r["auroc"] == pytest.approx(all_pairs_auroc_by_levels(p, y), abs=1e-14)


def test_evaluate_unreachable_target_and_no_seizures():
    p, y = hand_recording()
    p[3000 * 256 : 3010 * 256] = 1.0  # on at every threshold the search tries
    r = evaluate([(p, y)], fa_targets_per_24h=[10])
    assert r["operating_points"][0] == {"target_per_24h": 10, "reached": False, "threshold": None, "off_threshold": None,
                                        "sensitivity": 0.0, "false_alarms_per_24h": None}
    none = evaluate([(p, np.zeros_like(y))])
    assert none["auroc"] is None and all(o["sensitivity"] is None for o in none["operating_points"])


def test_bad_input():
    with pytest.raises(ValueError, match="no recordings"):
        evaluate([])
    with pytest.raises(ValueError, match="recording 0 has 1 probabilities but 2 labels"):
        evaluate([([0.1], [0, 1])])
    with pytest.raises(ValueError, match="FA target 0 = -1.0 is not a non-negative"):
        evaluate([([0.1], [1])], fa_targets_per_24h=[-1])


def all_pairs_auroc_by_levels(s, y):
    levels, inverse = np.unique(s, return_inverse=True)
    pos = np.bincount(inverse, weights=y, minlength=len(levels))
    neg = np.bincount(inverse, weights=1 - y, minlength=len(levels))
    won = sum(pos[i] * neg[j] * (1.0 if i > j else 0.5 if i == j else 0.0) for i in range(len(levels)) for j in range(len(levels)))
    return won / (pos.sum() * neg.sum())

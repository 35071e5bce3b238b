"""ictal_backend.dsp.postprocess against independent references: scipy.ndimage's min/max filters with a border
that never wins (a max-pool's padding, as the original), a per-sample hysteresis state machine with counters,
and hand-worked examples, on fresh random inputs (DSP_SEED=N replays a run)."""
import os
import secrets

import numpy as np
import pytest
from scipy.ndimage import maximum_filter1d, minimum_filter1d

from ictal_backend.dsp.postprocess import (
    PostprocessParams, closing, dilate, erode, filter_duration, hysteresis, merge_close, opening, postprocess, runs_of,
)

SEED = int(os.environ.get("DSP_SEED", secrets.randbelow(2**31)))
rng = np.random.default_rng(SEED)


def iv(pairs):
    a = np.array(pairs, dtype=np.int64).reshape(-1, 2)
    return a[:, 0], a[:, 1]


def pairs(r):
    return [[int(s), int(e)] for s, e in zip(*r)]


def to_mask(r, n, offset=0):
    m = np.zeros(n, dtype=np.uint8)
    for s, e in zip(*r):
        m[s + offset : e + offset] = 1
    return m


def random_mask(n):
    flips = rng.random(n) < 0.08
    return ((np.cumsum(flips) + rng.integers(2)) % 2).astype(np.uint8)


def hysteresis_reference(p, on, off, min_onset, min_offset):
    """Off: count consecutive p >= on; at min_onset of them switch on from the run's first sample. On: count
    consecutive p < off; the min_offset-th of them is the first sample off again."""
    out = np.zeros(len(p), np.uint8)
    active, on_run, off_run = False, 0, 0
    for i, v in enumerate(p):
        if not active:
            on_run = on_run + 1 if v >= on else 0
            if on_run == min_onset:
                active, off_run = True, 0
                out[i - min_onset + 1 : i + 1] = 1
        else:
            off_run = off_run + 1 if v < off else 0
            if off_run == min_offset:
                active, on_run = False, 0
            else:
                out[i] = 1
    return out


def random_trace(n, max_run):
    levels = np.array([0.1, 0.5, 0.78, 0.8, 0.86, 0.9, 0.99], np.float32)
    lengths = rng.integers(1, max_run + 1, size=n)
    values = levels[rng.integers(len(levels), size=n)]
    return np.repeat(values, lengths)[:n]


def test_hysteresis_with_counts_of_one_is_classic():
    p = np.array([0.85, 0.86, 0.8, 0.78, 0.77, 0.85, 0.9, 0.1, 0.99])
    assert pairs(hysteresis(p, 0.86, 0.78)) == [[1, 4], [6, 7], [8, 9]]
    assert pairs(hysteresis(np.zeros(0), 0.86, 0.78, 128, 256)) == []


def test_hysteresis_stability_counts_by_hand():
    p = np.full(40, 0.1)
    p[2:4] = 0.9    # 2 samples: too short to start
    p[6:9] = 0.9    # 3 samples: starts at 6
    p[9:12] = 0.8   # between the thresholds
    p[12:14] = 0.5  # 2 below: too short to end
    p[14:20] = 0.9
    p[20:30] = 0.5  # 10 below: ends at 20 + 4 - 1
    p[30:33] = 0.9  # the next zone
    assert pairs(hysteresis(p, 0.86, 0.78, 3, 4)) == [[6, 23], [30, 36]]
    assert pairs(hysteresis(p, 0.86, 0.78, 4, 4)) == [[14, 23]]


@pytest.mark.parametrize("n,onset,offset,max_run", [(1, 1, 1, 3), (97, 3, 5, 8), (2049, 128, 256, 200), (5000, 17, 40, 60)])
def test_hysteresis_equals_the_state_machine(n, onset, offset, max_run):
    for _ in range(5):
        p = random_trace(n, max_run)
        np.testing.assert_array_equal(to_mask(hysteresis(p.astype(np.float64), 0.86, 0.78, onset, offset), n),
                                      hysteresis_reference(p.astype(np.float64), 0.86, 0.78, onset, offset), err_msg=f"DSP_SEED={SEED}")


def test_float32_probabilities_compare_after_widening():
    # float32(0.86) > 0.86 and float32(0.78) < 0.78, as in TypeScript.
    assert postprocess(np.full(3 * 256, 0.86, np.float32)) == [[0.0, 3.0]]
    assert postprocess(np.full(3 * 256, 0.78, np.float32), on_threshold=0.78) == []


@pytest.mark.parametrize("n", [1, 7, 30, 257, 1001])
@pytest.mark.parametrize("size", [1, 3, 11, 31])
def test_morphology_is_min_max_filtering_with_a_border_that_never_wins(n, size):
    m = random_mask(n)
    r = runs_of(m)
    mn = lambda v: minimum_filter1d(v, size, mode="constant", cval=1)  # noqa: E731
    mx = lambda v: maximum_filter1d(v, size, mode="constant", cval=0)  # noqa: E731
    msg = f"DSP_SEED={SEED}"
    np.testing.assert_array_equal(to_mask(erode(r, size, n), n), mn(m), err_msg=msg)
    np.testing.assert_array_equal(to_mask(dilate(r, size, n), n), mx(m), err_msg=msg)
    np.testing.assert_array_equal(to_mask(opening(r, size, n), n), mx(mn(m)), err_msg=msg)
    np.testing.assert_array_equal(to_mask(closing(r, size, n), n), mn(mx(m)), err_msg=msg)


def test_opening_and_closing_sizes_and_edges():
    assert pairs(opening(iv([[5, 15], [20, 30], [50, 61], [90, 101]]), 11, 200)) == [[50, 61], [90, 101]]
    assert pairs(closing(iv([[20, 30], [60, 70], [101, 110]]), 31, 200)) == [[20, 70], [101, 110]]
    assert pairs(opening(iv([[0, 6], [194, 200]]), 11, 200)) == [[0, 6], [194, 200]]
    assert pairs(closing(iv([[15, 40], [170, 185]]), 31, 200)) == [[0, 40], [170, 200]]
    assert pairs(closing(iv([[16, 40], [170, 184]]), 31, 200)) == [[16, 40], [170, 184]]


def test_duration_and_merge():
    fs = 256
    r = iv([[0, 767], [1000, 1768], [2000, 2001 + 600 * fs], [400000, 400000 + 3000 * fs]])
    assert pairs(filter_duration(r, fs, 3)) == [[1000, 1768], [2000, 2001 + 600 * fs], [400000, 400000 + 3000 * fs]]
    assert pairs(merge_close(iv([[0, 100], [612, 700], [1211, 1300], [1813, 1900]]), fs, 2)) == [[0, 1300], [1813, 1900]]


def test_worked_example():
    fs = 256
    p = np.full(70 * fs, 0.1, np.float32)
    p[10 : 10 + 3 * fs] = 0.9
    p[10 * fs : 20 * fs] = 0.95
    p[13 * fs : 13 * fs + 20] = 0.5
    p[16 * fs : 16 * fs + 300] = 0.1
    p[25 * fs : 25 * fs + 100] = 0.97
    p[30 * fs : 32 * fs] = 0.9
    p[40 * fs : 44 * fs] = 0.9
    p[int(45.5 * fs) : int(49.5 * fs)] = 0.9
    p[66 * fs :] = 0.9

    def t(samples):
        return samples / fs

    assert postprocess(p) == [[0, t(1033)], [10, t(20 * fs + 255)], [40, t(49.5 * fs + 255)], [66, 70]]
    assert postprocess(p, min_duration_s=2) == [[0, t(1033)], [10, t(20 * fs + 255)], [30, t(32 * fs + 255)], [40, t(49.5 * fs + 255)], [66, 70]]
    assert postprocess(p, merge_gap_s=0.5) == [[0, t(1033)], [10, t(20 * fs + 255)], [40, t(44 * fs + 255)], [45.5, t(49.5 * fs + 255)], [66, 70]]
    assert postprocess(p, merge_gap_s=0) == [[0, t(1033)], [10, t(16 * fs + 255)], [t(16 * fs + 300), t(20 * fs + 255)],
                                             [40, t(44 * fs + 255)], [45.5, t(49.5 * fs + 255)], [66, 70]]
    assert postprocess(p, min_onset_samples=100, min_duration_s=1) == [
        [0, t(1033)], [10, t(20 * fs + 255)], [25, t(25 * fs + 355)], [30, t(32 * fs + 255)], [40, t(49.5 * fs + 255)], [66, 70]]
    assert postprocess(p, closing_samples=1) == [[t(10), t(1033)], [10, t(20 * fs + 255)], [40, t(49.5 * fs + 255)], [66, 70]]


def test_defaults_are_the_original_configuration():
    assert PostprocessParams() == PostprocessParams(256.0, 0.86, 128, 0.78, 256, 11, 31, 3.0, 2.0)


def test_bad_input_is_named():
    p = np.zeros(10)
    with pytest.raises(ValueError, match="opening_samples = 10 must be an odd positive integer"):
        postprocess(p, opening_samples=10)
    with pytest.raises(ValueError, match="min_offset_samples = 0 must be a positive integer"):
        postprocess(p, min_offset_samples=0)
    with pytest.raises(ValueError, match="off_threshold 0.6 exceeds on_threshold 0.5"):
        postprocess(p, on_threshold=0.5, off_threshold=0.6)
    with pytest.raises(ValueError, match='unknown parameter "max_duration_s"'):
        postprocess(p, max_duration_s=600)
    p[3] = np.nan
    with pytest.raises(ValueError, match="probability 3 is nan"):
        postprocess(p)

"""ictal_backend.dsp.postprocess against scipy.ndimage's grey morphology (min/max filters over a zero-padded
mask) and hand-worked examples, on fresh random masks (DSP_SEED=N replays a run)."""
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


def test_hysteresis():
    p = np.array([0.85, 0.86, 0.8, 0.78, 0.77, 0.85, 0.9, 0.1, 0.99])
    assert pairs(hysteresis(p, 0.86, 0.78)) == [[1, 4], [6, 7], [8, 9]]
    assert pairs(hysteresis(np.zeros(0), 0.86, 0.78)) == []


def test_float32_probabilities_compare_after_widening():
    # float32(0.86) > 0.86 and float32(0.78) < 0.78, as in TypeScript.
    assert postprocess(np.full(3 * 256, 0.86, np.float32)) == [[0.0, 3.0]]
    assert postprocess(np.full(3 * 256, 0.78, np.float32), on_threshold=0.78) == []


@pytest.mark.parametrize("n", [1, 7, 30, 257, 1001])
@pytest.mark.parametrize("size", [1, 3, 11, 31])
def test_morphology_is_min_max_filtering_over_zeros(n, size):
    m = random_mask(n)
    r = runs_of(m)
    pad = size
    big = np.concatenate((np.zeros(pad, np.uint8), m, np.zeros(pad, np.uint8)))
    mn = lambda v: minimum_filter1d(v, size, mode="constant", cval=0)  # noqa: E731
    mx = lambda v: maximum_filter1d(v, size, mode="constant", cval=0)  # noqa: E731
    msg = f"DSP_SEED={SEED}"
    np.testing.assert_array_equal(to_mask(erode(r, size), len(big), pad), mn(big), err_msg=msg)
    np.testing.assert_array_equal(to_mask(dilate(r, size), len(big), pad), mx(big), err_msg=msg)
    np.testing.assert_array_equal(to_mask(opening(r, size), len(big), pad), mx(mn(big)), err_msg=msg)
    np.testing.assert_array_equal(to_mask(closing(r, size), len(big), pad), mn(mx(big)), err_msg=msg)


def test_opening_and_closing_sizes():
    assert pairs(opening(iv([[0, 10], [20, 30], [50, 61], [90, 101]]), 11)) == [[50, 61], [90, 101]]
    assert pairs(closing(iv([[10, 20], [50, 60], [91, 100]]), 31)) == [[10, 60], [91, 100]]


def test_duration_and_merge():
    fs = 256
    r = iv([[0, 767], [1000, 1768], [2000, 2000 + 600 * fs], [200000, 200001 + 600 * fs]])
    assert pairs(filter_duration(r, fs, 3, 600)) == [[1000, 1768], [2000, 2000 + 600 * fs]]
    assert pairs(merge_close(iv([[0, 100], [611, 700], [1211, 1300], [1812, 1900]]), fs, 2)) == [[0, 1300], [1812, 1900]]


def test_worked_example():
    fs = 256
    p = np.full(60 * fs, 0.1, np.float32)
    p[5 * fs : 15 * fs] = 0.95
    p[9 * fs : 9 * fs + 20] = 0.8
    p[11 * fs : 11 * fs + 20] = 0.5
    p[16 * fs : 16 * fs + 10] = 0.97
    p[30 * fs : 32 * fs] = 0.9
    p[40 * fs : 44 * fs] = 0.9
    p[int(45.5 * fs) : int(49.5 * fs)] = 0.9
    assert postprocess(p) == [[5, 15], [40, 49.5]]
    assert postprocess(p, min_duration_s=1) == [[5, 15], [30, 32], [40, 49.5]]
    assert postprocess(p, merge_gap_s=1.5) == [[5, 15], [40, 44], [45.5, 49.5]]
    assert postprocess(p, min_duration_s=0, opening_samples=1) == [[5, 16 + 10 / fs], [30, 32], [40, 49.5]]
    assert postprocess(p, closing_samples=1, merge_gap_s=0) == [[5, 11], [11 + 20 / fs, 15], [40, 44], [45.5, 49.5]]


def test_defaults_are_the_reference_design():
    assert PostprocessParams() == PostprocessParams(256.0, 0.86, 0.78, 11, 31, 3.0, 600.0, 2.0)


def test_bad_input_is_named():
    p = np.zeros(10)
    with pytest.raises(ValueError, match="opening_samples = 10 must be an odd positive integer"):
        postprocess(p, opening_samples=10)
    with pytest.raises(ValueError, match="off_threshold 0.6 exceeds on_threshold 0.5"):
        postprocess(p, on_threshold=0.5, off_threshold=0.6)
    with pytest.raises(ValueError, match='unknown parameter "threshold"'):
        postprocess(p, threshold=1)
    p[3] = np.nan
    with pytest.raises(ValueError, match="probability 3 is nan"):
        postprocess(p)

"""ictal_backend.dsp.preprocess against references written out from ORIGINAL_PIPELINE.md: scipy.signal.resample's
spectrum as a DFT sum (numpy, term by term), the Butterworth magnitude through the bilinear warp, the
filters' difference equation, sinusoids with known samples (the Nyquist bin split and joined as scipy does),
and the original's chain spelled with scipy's own functions; on fresh random inputs (DSP_SEED=N replays a run)."""
import os
import secrets

import numpy as np
import pytest
import scipy.signal as ss

from ictal_backend.dsp.preprocess import (
    BANDPASS_BA, NOTCH_BA, labels_from_events, preprocess_recording, resampled_length, window_count, windows,
)

SEED = int(os.environ.get("DSP_SEED", secrets.randbelow(2**31)))
rng = np.random.default_rng(SEED)
MSG = f"DSP_SEED={SEED}"


def dft(x):
    n = len(x)
    jk = np.outer(np.arange(n), np.arange(n)) % n
    return np.exp(-2j * np.pi * jk / n) @ x


def resample_reference(x, num):
    """scipy.signal.resample(x, num) for real x as a sum of cosines: with m = min(n, num), y[t] = (1/n)(X0 +
    sum_{0<k<m/2} 2 Re(X_k w^k) + the bin m/2 when m is even), w = exp(2 pi i t / num); that bin is the output's
    Nyquist when downsampling (doubled, real part) or when num = n, and a halved pair +-m/2 when upsampling."""
    n, m = len(x), min(len(x), num)
    X = dft(np.asarray(x, dtype=np.float64))
    t = np.arange(num)
    y = np.full(num, X[0].real)
    for k in range(1, (m + 1) // 2):
        y += 2 * (X[k] * np.exp(2j * np.pi * ((k * t) % num) / num)).real
    if m % 2 == 0:
        h = m // 2
        sign = np.where(t % 2, -1.0, 1.0)
        y += 2 * X[h].real * sign if num < n else X[h].real * sign if num == n else (X[h] * np.exp(2j * np.pi * ((h * t) % num) / num)).real
    return y / n


def difference_equation(ba, x):
    b, a = ba
    y = np.zeros(len(x))
    for i in range(len(x)):
        acc = sum(b[k] * x[i - k] for k in range(min(len(b), i + 1)))
        acc -= sum(a[k] * y[i - k] for k in range(1, min(len(a), i + 1)))
        y[i] = acc / a[0]
    return y


def analog_butterworth(order, lo, hi, fs, f):
    warp = lambda v: 2 * fs * np.tan(np.pi * v / fs)  # noqa: E731
    w, w1, w2 = warp(f), warp(lo), warp(hi)
    x = (w * w - w1 * w2) / (w * (w2 - w1))
    return 1 / np.sqrt(1 + x ** (2 * order))


def test_filters_are_the_originals_designs():
    f = np.concatenate(([0.5, 1, 10, 60, 120], rng.uniform(0.05, 127.9, 20)))
    _, h = ss.freqz(*BANDPASS_BA, worN=f, fs=256)
    np.testing.assert_allclose(np.abs(h), analog_butterworth(3, 0.5, 120, 256, f), atol=1e-9, err_msg=MSG)
    assert len(BANDPASS_BA[0]) == 7 and BANDPASS_BA[1][0] == 1
    b, a = NOTCH_BA
    w0, g = 2 * np.pi * 60 / 256, 1 / (1 + np.tan(np.pi * 60 / 128 / 30 / 2))
    np.testing.assert_allclose(b, g * np.array([1, -2 * np.cos(w0), 1]), rtol=1e-14)
    np.testing.assert_allclose(a, [1, -2 * g * np.cos(w0), 2 * g - 1], rtol=1e-14)


@pytest.mark.parametrize("n,num", [(1, 3), (8, 8), (10, 7), (10, 8), (11, 6), (11, 17), (12, 18), (12, 25), (97, 100), (100, 97), (750, 768)])
def test_resample_is_the_spectrum_written_out(n, num):
    x = rng.normal(7, 50, n)
    np.testing.assert_allclose(ss.resample(x, num), resample_reference(x, num), rtol=0, atol=1e-9 * 50, err_msg=MSG)


def test_resample_nyquist_bins_as_scipy():
    n, num = 64, 100  # upsampling: (-1)^j becomes cos(pi n t / num)
    np.testing.assert_allclose(ss.resample((-1.0) ** np.arange(n), num), np.cos(np.pi * n * np.arange(num) / num), atol=1e-12)
    n, num, phi = 100, 64, rng.uniform(0, 6.28)  # downsampling: the pair +-num/2 joined, real part kept
    y = ss.resample(np.cos(np.pi * num * np.arange(n) / n + phi), num)
    np.testing.assert_allclose(y, np.cos(phi) * (-1.0) ** np.arange(num), atol=1e-12, err_msg=MSG)


def test_resampled_length_rounds_halves_to_even():
    assert [resampled_length(n, fs) for n, fs in [(2500, 250), (4609, 512), (4611, 512), (2431, 333), (100, 256)]] == [2560, 2304, 2306, 1869, 100]


def chain_reference(x, fs):
    """The original's chain from the references above."""
    r = x if fs == 256 else resample_reference(x, round(len(x) * 256 / fs))
    y = difference_equation(NOTCH_BA, difference_equation(BANDPASS_BA, r))
    return np.clip(((y - y.mean()) / (y.std() + 1e-8)).astype(np.float32), -10, 10)


@pytest.mark.parametrize("fs,n", [(256, 700), (250, 751), (400, 640), (200, 333)])
def test_preprocess_recording_is_the_chain_written_out(fs, n):
    t = np.arange(n) / fs
    x = np.stack([200 + rng.normal(0, 30, n) + 30 * np.sin(2 * np.pi * 7 * t) + 100 * np.sin(2 * np.pi * 60 * t),
                  np.full(n, -12.5), rng.normal(0, 1e-3, n)])
    y = preprocess_recording(x, fs)
    assert y.dtype == np.float32 and y.shape == (3, resampled_length(n, fs))
    for ch in range(3):
        np.testing.assert_allclose(y[ch], chain_reference(x[ch], fs), rtol=0, atol=1e-5, err_msg=f"{MSG} channel {ch}")
    assert np.abs(y[1]).max() > 1  # the flat channel is its step response, z-scored: no special case


def scipy_pipeline(x, fs):
    """The original's preprocessing as it calls scipy."""
    if fs != 256:
        x = ss.resample(x, round(x.shape[1] * 256 / fs), axis=1)
    b, a = ss.butter(3, [0.5, 120], btype="band", fs=256)
    x = ss.lfilter(b, a, x, axis=1)
    b, a = ss.iirnotch(60, 30, 256)
    x = ss.lfilter(b, a, x, axis=1)
    x = (x - x.mean(axis=1, keepdims=True)) / (x.std(axis=1, keepdims=True) + 1e-8)
    return np.clip(np.nan_to_num(x).astype(np.float32), -10, 10)


@pytest.mark.parametrize("fs,seconds", [(250, 31), (400, 7), (256, 12.5), (512, 4609 / 512)])
def test_preprocess_recording_is_the_originals_scipy_calls(fs, seconds):
    n = round(fs * seconds)
    t = np.arange(n) / fs
    x = rng.normal(0, 20, (4, n)) + 40 * np.sin(2 * np.pi * 60 * t) + rng.uniform(-300, 300, (4, 1))
    x[2] = 7.25  # flat channel
    x[3, n // 2] += 5000  # a spike big enough to be clipped
    y = preprocess_recording(x, fs)
    assert y.dtype == np.float32 and y.shape == (4, round(n * 256 / fs))
    np.testing.assert_allclose(y, scipy_pipeline(x, fs), rtol=0, atol=1e-5, err_msg=MSG)
    assert y[3].max() == 10


def test_preprocess_recording_names_bad_input():
    x = np.zeros((2, 1000))
    x[1, 17] = np.nan
    with pytest.raises(ValueError, match="channel 1 sample 17 is nan"):
        preprocess_recording(x, 250)
    with pytest.raises(ValueError, match=r"2-D array \(channels, samples\), got shape \(1000,\)"):
        preprocess_recording(np.zeros(1000), 250)
    with pytest.raises(ValueError, match="channels have no samples"):
        preprocess_recording(np.ones((1, 0)), 256)
    with pytest.raises(ValueError, match="sampling rate -1 Hz"):
        preprocess_recording(np.ones((1, 10)), -1)


def test_labels_from_events():
    labels = labels_from_events([(0.01, 0.02), (0.05, 1)], 20, 256)
    assert labels.tolist() == [0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1]  # int() of 2.56, 5.12, 12.8
    assert labels_from_events([(-5, 2 / 256)], 4, 256).tolist() == [1, 1, 0, 0]
    assert int(np.argmax(labels_from_events([(0.29, 0.5)], 100, 100))) == 28  # 0.29 * 100 = 28.999999999999996
    with pytest.raises(ValueError, match="event 0 stops at 2.0 s, before its start 3.0 s"):
        labels_from_events([(3, 2)], 10)


def test_windows():
    x = np.arange(3 * 23, dtype=np.float32).reshape(3, 23)
    labels = (np.arange(23) % 2).astype(np.float32)
    w, lab = windows(x, labels, 7, 5)
    assert w.shape == (4, 3, 7) and lab.shape == (4, 7) and w.dtype == lab.dtype == np.float32
    for k in range(4):
        np.testing.assert_array_equal(w[k], x[:, 5 * k : 5 * k + 7])
        np.testing.assert_array_equal(lab[k], labels[5 * k : 5 * k + 7])
    assert windows(x, labels, 24, 1)[0].shape == (0, 3, 24)
    assert window_count(15360 + 2560 * 3 + 5) == 4
    with pytest.raises(ValueError, match=r"sample_labels has shape \(22,\), expected \(23,\)"):
        windows(x, labels[1:], 7, 5)

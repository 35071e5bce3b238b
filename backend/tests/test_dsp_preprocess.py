"""ictal_backend.dsp filters, resampling and preprocessing against scipy.signal (an independent implementation
of the same definitions), on fresh random inputs (DSP_SEED=N replays a run)."""
import math
import os
import secrets

import numpy as np
import pytest
import scipy.signal as ss

from ictal_backend.dsp import filters, resample
from ictal_backend.dsp.preprocess import labels_from_events, preprocess_recording, window_count, windows

SEED = int(os.environ.get("DSP_SEED", secrets.randbelow(2**31)))
rng = np.random.default_rng(SEED)
MSG = f"DSP_SEED={SEED}"

DESIGNS = [(3, 0.5, 120, 256), (1, 3, 40, 250), (2, 0.1, 10, 100), (4, 7, 7.5, 512), (5, 1, 60, 200)]


@pytest.mark.parametrize("order,lo,hi,fs", DESIGNS)
def test_butterworth_bandpass_has_scipys_response(order, lo, hi, fs):
    ours = filters.butterworth_bandpass(order, lo, hi, fs)
    ref = ss.butter(order, [lo, hi], btype="bandpass", fs=fs, output="sos")
    freqs = np.concatenate(([lo, hi], rng.uniform(0.01, fs / 2 - 0.01, 50)))
    _, h_ours = ss.freqz_sos(ours, worN=freqs, fs=fs)
    _, h_ref = ss.freqz_sos(ref, worN=freqs, fs=fs)
    np.testing.assert_allclose(h_ours, h_ref, rtol=0, atol=1e-10, err_msg=MSG)
    assert filters.magnitude_response(ours, lo, fs) == pytest.approx(math.sqrt(0.5), abs=1e-10)


def test_notch_is_scipys_iirnotch():
    for f0, q, fs in [(60, 30, 256), (50, 35, 250), (10, 2, 100)]:
        b, a = ss.iirnotch(f0, q, fs)
        np.testing.assert_allclose(filters.iir_notch(f0, q, fs)[0], np.concatenate((b, a)), rtol=0, atol=1e-15)


def test_sosfilt_zi_is_scipys():
    for sos in (filters.butterworth_bandpass(3, 0.5, 120, 256), filters.iir_notch(60, 30, 256), ss.butter(4, 0.2, output="sos")):
        np.testing.assert_allclose(filters.sosfilt_zi(sos), ss.sosfilt_zi(sos), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("n", [22, 101, 5003])
def test_sosfiltfilt_is_scipys(n):
    x = rng.normal(0, 50, (3, n)) + rng.uniform(-500, 500, (3, 1))
    for sos in (filters.butterworth_bandpass(3, 0.5, 120, 256), filters.iir_notch(60, 30, 256)):
        np.testing.assert_allclose(filters.sosfiltfilt(sos, x), ss.sosfiltfilt(sos, x), rtol=0, atol=1e-9 * np.abs(x).max(), err_msg=MSG)


def test_sosfiltfilt_refuses_short_signals():
    with pytest.raises(ValueError, match="21 samples is too short; it must be longer than the pad length 21"):
        filters.sosfiltfilt(filters.butterworth_bandpass(3, 0.5, 120, 256), np.zeros(21))


def test_resample_filter_is_scipys_firwin():
    for up, down in [(128, 125), (16, 25), (1, 2)]:
        m = max(up, down)
        ref = ss.firwin(2 * 10 * m + 1, 1 / m, window=("kaiser", 5.0)) * up
        np.testing.assert_allclose(resample.resample_filter(up, down), ref, rtol=0, atol=1e-15 * up)


@pytest.mark.parametrize("fs", [250, 400, 512, 1000, 200, 500, 256.5, 256])
@pytest.mark.parametrize("n", [1, 7, 100, 1001])
def test_resample_is_scipys_resample_poly(fs, n):
    up, down = resample.resample_factors(fs, 256)
    x = rng.normal(0, 1, (2, n))
    ours = resample.resample(x, fs, 256)
    ref = ss.resample_poly(x, up, down, axis=-1)
    assert ours.shape == ref.shape == (2, math.ceil(n * up / down))
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-12, err_msg=MSG)


def test_resample_factors():
    assert resample.resample_factors(250, 256) == (128, 125)
    assert resample.resample_factors(256.5, 256) == (512, 513)
    with pytest.raises(ValueError, match="reduces to 256000/333333; factors above 4096"):
        resample.resample_factors(333.333, 256)
    with pytest.raises(ValueError, match="input rate 0 Hz"):
        resample.resample_factors(0, 256)


def scipy_pipeline(x: np.ndarray, fs: float) -> np.ndarray:
    """The same preprocessing spelled with scipy.signal's own functions."""
    up, down = resample.resample_factors(fs, 256)
    y = ss.resample_poly(x, up, down, axis=-1)
    y = ss.sosfiltfilt(ss.butter(3, [0.5, 120], btype="bandpass", fs=256, output="sos"), y)
    b, a = ss.iirnotch(60, 30, 256)
    y = ss.filtfilt(b, a, y)
    out = np.zeros_like(y)
    for ch in range(len(y)):
        if np.all(x[ch] == x[ch, 0]):
            continue
        out[ch] = np.clip((y[ch] - y[ch].mean()) / y[ch].std(), -10, 10)
    return out


@pytest.mark.parametrize("fs,seconds", [(250, 31), (400, 7), (256, 12.5)])
def test_preprocess_recording_is_the_scipy_pipeline(fs, seconds):
    n = round(fs * seconds)
    t = np.arange(n) / fs
    x = rng.normal(0, 20, (4, n)) + 40 * np.sin(2 * np.pi * 60 * t) + rng.uniform(-300, 300, (4, 1))
    x[2] = 7.25  # flat channel
    x[3, n // 2] += 5000  # a spike big enough to be clipped
    y = preprocess_recording(x, fs)
    assert y.dtype == np.float32 and y.shape == (4, math.ceil(n * 256 / fs))
    np.testing.assert_allclose(y, scipy_pipeline(x, fs), rtol=0, atol=1e-5, err_msg=MSG)
    assert np.all(y[2] == 0) and y[3].max() == 10


def test_preprocess_recording_names_bad_input():
    x = np.zeros((2, 1000))
    x[1, 17] = np.nan
    with pytest.raises(ValueError, match="channel 1 sample 17 is nan"):
        preprocess_recording(x, 250)
    with pytest.raises(ValueError, match=r"2-D array \(channels, samples\), got shape \(1000,\)"):
        preprocess_recording(np.zeros(1000), 250)
    with pytest.raises(ValueError, match="20 samples at 256 Hz give 20 at 256 Hz"):
        preprocess_recording(np.ones((1, 20)), 256)


def test_labels_from_events():
    labels = labels_from_events([(0.01, 0.02), (0.05, 1)], 20, 256)
    assert labels.tolist() == [0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1]
    assert labels_from_events([(-5, 2 / 256)], 4, 256).tolist() == [1, 1, 0, 0]
    assert int(np.argmax(labels_from_events([(1.1, 1.2)], 500, 400))) == 440  # 1.1 * 400 = 440.00000000000006
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

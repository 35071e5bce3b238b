"""EDF/EDF+, TUSZ channels, .csv_bi and npz in Python: round trips through real bytes and files, and each kind
of broken input refused with its own error code and a message naming the field."""
from __future__ import annotations

import numpy as np
import pytest

from ictal_backend.data.cache import balanced_indices
from ictal_backend.data.csv_bi import parse_csv_bi
from ictal_backend.data.edf import EdfReader
from ictal_backend.data.edf_writer import SignalInput, encode_edf, format_number
from ictal_backend.data.errors import ChannelMappingError, CsvBiError, EdfError, NpzError
from ictal_backend.data.montage import MONTAGE_CHANNELS
from ictal_backend.data.npz import WindowsNpz, write_windows_npz
from ictal_backend.data.tusz import map_channels, parse_channel_label

from data_fixtures import CSV_BI, fresh_seed, random_edf, random_windows_npz

SEED = fresh_seed()


def test_edf_round_trip_within_half_a_digital_step(tmp_path):
    print(f"seed {SEED} (ICTAL_SEED={SEED} replays)")
    data, signals = random_edf(np.random.default_rng(SEED), records=5, annotations=True)
    path = tmp_path / "x.edf"
    path.write_bytes(data)
    for source in (data, path):
        with EdfReader(source) as edf:
            assert edf.header.variant == "EDF+C"
            assert [s.label for s in edf.data_signals] == [s.label for s in signals]
            for s, original in zip(edf.data_signals, signals):
                back = edf.read_physical(s.index)
                assert back.shape == original.samples.shape
                assert np.abs(back - original.samples).max() <= s.gain / 2 * (1 + 1e-9)
                start, count = len(back) // 3, len(back) // 2
                assert np.array_equal(edf.read_physical(s.index, start, count), back[start : start + count])
            notes, starts = edf.read_annotations()
            assert [(a.onset, a.duration, a.text) for a in notes] == [(0.1, 0.75, "seiz"), (1.5, None, "électrode pop")]
            assert starts.tolist() == [0.0, 0.5, 1.0, 1.5, 2.0]


def test_format_number_rounds_ranges_outwards():
    assert format_number(-3276.8, 8, "down") == "-3276.8"
    assert format_number(123.456789, 8, "up") == "123.4568"
    assert format_number(123.456789, 8, "down") == "123.4567"


def _base() -> bytes:
    x = np.sin(np.arange(512) / 5) * 100
    return encode_edf([SignalInput("EEG FP1-REF", 256, x), SignalInput("EEG FP2-REF", 128, x[:256])])


def _set(data: bytes, offset: int, width: int, value: str) -> bytes:
    return data[:offset] + value.ljust(width).encode() + data[offset + width :]


def _signal_field(column: str, i: int) -> tuple[int, int]:
    at = 256
    for name, width in (("label", 16), ("transducer", 80), ("dim", 8), ("phys_min", 8), ("phys_max", 8), ("dig_min", 8), ("dig_max", 8), ("prefilter", 80), ("samples", 8)):
        if name == column:
            return at + i * width, width
        at += 2 * width
    raise KeyError(column)


GOOD = _base()
BROKEN = [
    ("shorter than the fixed header", GOOD[:200], "truncated", r"200 bytes: shorter than the 256-byte"),
    ("cut inside the signal headers", GOOD[:600], "truncated", r"shorter than its own 768-byte header"),
    ("cut inside the data", GOOD[:-3], "truncated", r"header says 2 data records .* holds 1 whole records of 768 bytes and 765 bytes more"),
    ("extra bytes", GOOD + b"\0\0", "record-count", r"header says 2 data records"),
    ("header size disagrees", _set(GOOD, 184, 8, "1024"), "bad-header-size", r"says 1024 bytes, but 2 signals need .* = 768"),
    ("non-numeric record count", _set(GOOD, 236, 8, "2x"), "non-numeric", r"number of data records \(bytes 236-243\) is '2x'"),
    ("non-numeric physical maximum", _set(GOOD, *_signal_field("phys_max", 1), "abc"), "non-numeric", r"signal 1 \('EEG FP2-REF'\) physical maximum is 'abc'"),
    ("zero samples per record", _set(GOOD, *_signal_field("samples", 1), "0"), "zero-width-signal", r"has 0 samples per record"),
    ("digital min above max", _set(GOOD, *_signal_field("dig_min", 0), "40000"), "bad-digital-range", r"digital range \[40000, 32767\]"),
    ("equal physical range", _set(_set(GOOD, *_signal_field("phys_min", 1), "5"), *_signal_field("phys_max", 1), "5"), "bad-physical-range", r"both 5"),
    ("version other than 0", _set(GOOD, 0, 8, "1"), "bad-version", r"version field is '1'"),
]


@pytest.mark.parametrize("what,data,code,message", BROKEN, ids=[b[0] for b in BROKEN])
def test_edf_header_errors(what, data, code, message):
    with pytest.raises(EdfError, match=message) as info:
        EdfReader(data)
    assert info.value.code == code


def test_edf_record_count_minus_one_comes_from_the_file_size():
    with EdfReader(_set(GOOD, 236, 8, "-1") + b"\1\2\3") as edf:
        assert (edf.header.record_count_field, edf.header.record_count, edf.header.trailing_bytes) == (-1, 2, 3)
        with EdfReader(GOOD) as good:
            assert np.array_equal(edf.read_physical(0), good.read_physical(0))


def test_tusz_channels():
    labels = [f"EEG {c.upper()}-REF" for c in MONTAGE_CHANNELS][::-1] + ["EEG EKG1-REF", "EEG FP1-F7"]
    indices, refs = map_channels(labels)
    assert [labels[i] for i in indices] == [f"EEG {c.upper()}-REF" for c in MONTAGE_CHANNELS]
    assert refs == ["REF"]
    assert parse_channel_label(" eeg  t7 - le ") == ("T3", "LE")
    assert parse_channel_label("EEG FP1-F7") is None
    with pytest.raises(ChannelMappingError, match=r"^missing 2 of the 19 montage channels: Cz, O2 \(signals present: ") as info:
        map_channels([l for l in labels if l not in ("EEG CZ-REF", "EEG O2-REF")])
    assert info.value.missing == ("Cz", "O2")
    with pytest.raises(ChannelMappingError, match=r"more than one signal maps onto T3: 'EEG T3-REF' \(#\d+\) and 'EEG T7-REF'"):
        map_channels(labels + ["EEG T7-REF"])


def test_csv_bi():
    f = parse_csv_bi(CSV_BI)
    assert f.duration == 301.0 and f.metadata["bname"] == "aaaaaaac_s001_t000"
    assert f.seizure_intervals() == [(36.8868, 183.3055)]
    head = "# duration = 100 secs\nchannel,start_time,stop_time,label,confidence\n"
    for text, code, message in [
        ("TERM,0,1,seiz,1\n", "bad-header", r"line 1: expected the header row"),
        (head + "TERM,0,1,seiz\n", "bad-row", r"line 3: 4 columns, expected 5"),
        (head + "TERM,zero,1,seiz,1\n", "non-numeric", r"start_time 'zero' is not a number"),
        (head + "TERM,5,4,seiz,1\n", "bad-time", r"stop_time 4.0 is not after start_time 5.0"),
        (head + "TERM,5,140,seiz,1\n", "bad-time", r"past the recording's duration 100.0 s"),
        (head + "TERM,5,14,sleep,1\n", "bad-label", r"label 'sleep' is neither"),
    ]:
        with pytest.raises(CsvBiError, match=message) as info:
            parse_csv_bi(text, "x.csv_bi")
        assert info.value.code == code


@pytest.mark.parametrize("compress", [False, True])
def test_windows_npz_round_trip(tmp_path, compress):
    _, windows, labels = random_windows_npz(np.random.default_rng(SEED), compress)
    path = tmp_path / "rec_windows.npz"
    write_windows_npz(path, windows, labels, compress=compress)
    with WindowsNpz(path) as npz:
        assert (npz.count, npz.length) == labels.shape
        w, l = npz.read_all()
        assert np.array_equal(w, windows) and np.array_equal(l, labels)
        for k in range(npz.count):
            x, y = npz.window(k)
            assert np.array_equal(x, windows[k]) and np.array_equal(y, labels[k])
        with pytest.raises(NpzError, match=r"window \d+ does not exist"):
            npz.window(npz.count)


def test_windows_npz_refuses_wrong_content(tmp_path):
    path = tmp_path / "bad.npz"
    np.savez(path, windows=np.zeros((1, 18, 3), np.float32), labels=np.zeros((1, 3), np.float32))
    with pytest.raises(NpzError, match=r"windows has shape \(1, 18, 3\), expected \(n, 19, L\)"):
        WindowsNpz(path)
    np.savez(path, windows=np.zeros((1, 19, 3), np.float32))
    with pytest.raises(NpzError, match=r"no 'labels' array"):
        WindowsNpz(path)
    with pytest.raises(NpzError, match=r"not a readable zip archive"):
        WindowsNpz(b"\0" * 100)


def test_balanced_sampling_takes_what_the_recipe_says():
    rng = np.random.default_rng(SEED)
    fractions = np.concatenate([np.zeros(500), np.full(40, 0.5), np.full(5, 0.99), np.ones(100)])
    chosen = balanced_indices(fractions, rng)
    picked = fractions[chosen]
    assert len(set(chosen.tolist())) == len(chosen)
    assert ((picked > 0) & (picked < 0.99)).sum() == 40  # every partial window
    assert (picked >= 0.99).sum() == int(0.3 * 40)  # full windows: 0.3 x the partial ones
    assert (picked == 0).sum() == int(2.5 * 40)  # seizure-free windows: 2.5 x the partial ones

"""Fuzz: random truncations and byte flips of valid EDF, EDF+, npz (stored and deflated) and .csv_bi files.
Each damaged file must parse completely or be refused with a DataFormatError (a known class, a code, a
message); anything else fails with the seed, the case and the damage. A case that runs past its time limit is
a hang and fails too."""
from __future__ import annotations

import re
import signal
from collections import Counter

import numpy as np
import pytest

from ictal_backend.data.csv_bi import parse_csv_bi
from ictal_backend.data.edf import EdfReader
from ictal_backend.data.errors import DataFormatError
from ictal_backend.data.npz import NpzArchive, WindowsNpz

from data_fixtures import CSV_BI, fresh_seed, random_edf, random_windows_npz

SEED = fresh_seed()
CASE_LIMIT_S = 10


def damage(rng: np.random.Generator, data: bytes, hot: list[tuple[int, int]]) -> tuple[bytes, str]:
    if rng.random() < 0.3:
        n = int(rng.integers(0, len(data)))
        return data[:n], f"truncated to {n} of {len(data)} bytes"
    out = bytearray(data)
    flips = []
    for _ in range(int(rng.integers(1, 5))):
        if rng.random() < 0.7 and hot:
            a, b = hot[int(rng.integers(len(hot)))]
            at = max(0, min(len(out) - 1, a + int(rng.integers(0, max(1, b - a)))))
        else:
            at = int(rng.integers(len(out)))
        mask = int(rng.integers(1, 256))
        out[at] ^= mask
        flips.append(f"byte {at} ^= {mask:#x}")
    return bytes(out), ", ".join(flips)


def parse_edf(data: bytes) -> None:
    with EdfReader(data) as edf:
        for s in edf.data_signals:
            edf.read_physical(s.index)
        edf.read_annotations()


def parse_npz(data: bytes) -> None:
    with NpzArchive(data) as npz:
        for name in npz.names:
            h = npz.header(name)
            npz.read_array(name)
            if h.shape and h.shape[0]:
                npz.read_rows(name, h.shape[0] - 1, 1)
    with WindowsNpz(data) as w:
        if w.count:
            w.window(w.count - 1)


def make_edf(rng, annotations):
    data, _ = random_edf(rng, records=3, annotations=annotations)
    if not annotations:
        return data, [(0, 256 * 4)]
    record = (len(data) - 256 * 5) // 3
    return data, [(0, 256 * 5)] + [(256 * 5 + (r + 1) * record - 60, 256 * 5 + (r + 1) * record) for r in range(3)]


def make_npz(rng, compress):
    data, _, _ = random_windows_npz(rng, compress)
    return data, [(0, 200), (len(data) - 250, len(data))]


TARGETS = [
    ("EDF", 100, lambda rng: make_edf(rng, False), parse_edf),
    ("EDF+", 60, lambda rng: make_edf(rng, True), parse_edf),
    ("npz stored", 60, lambda rng: make_npz(rng, False), parse_npz),
    ("npz deflated", 60, lambda rng: make_npz(rng, True), parse_npz),
    ("csv_bi", 50, lambda rng: (CSV_BI.encode(), [(0, len(CSV_BI))]), lambda d: parse_csv_bi(d.decode("utf-8", "replace"))),
]


class Hang(Exception):
    pass


def _alarm(*_):
    raise Hang(f"no result after {CASE_LIMIT_S} s")


@pytest.mark.parametrize("fmt,cases,make,parse", TARGETS, ids=[t[0] for t in TARGETS])
def test_fuzz(fmt, cases, make, parse):
    rng = np.random.default_rng([SEED, len(fmt)])
    outcomes: Counter[str] = Counter()
    previous = signal.signal(signal.SIGALRM, _alarm)
    try:
        for case in range(cases):
            data, hot = make(rng)
            parse(data)  # the undamaged file parses
            broken, what = damage(rng, data, hot)
            where = f"{fmt} case {case} (ICTAL_SEED={SEED}): {what}"
            signal.alarm(CASE_LIMIT_S)
            try:
                parse(broken)
                outcomes["parsed"] += 1
            except DataFormatError as e:
                assert len(str(e)) > 10 and re.fullmatch(r"[a-z-]+", e.code), where
                outcomes[f"{type(e).__name__}/{e.code}"] += 1
            except Exception as e:  # noqa: BLE001 - the point: anything else is a failure, reported with the case
                pytest.fail(f"{where}: raised {type(e).__name__} instead of a DataFormatError: {e}")
            finally:
                signal.alarm(0)
    finally:
        signal.signal(signal.SIGALRM, previous)
    print(f"fuzz {fmt} seed {SEED}: " + ", ".join(f"{k} {v}" for k, v in outcomes.most_common()))
    assert outcomes["parsed"] < cases

"""Valid EDF / npz / csv_bi bytes from seeded random content: starting points of the data tests and fuzz."""
from __future__ import annotations

import io
import os
import random

import numpy as np

from ictal_backend.data.edf import EdfAnnotation
from ictal_backend.data.edf_writer import SignalInput, encode_edf


def fresh_seed() -> int:
    """ICTAL_SEED replays a run; otherwise a new seed, printed by the tests that use it."""
    return int(os.environ.get("ICTAL_SEED") or random.randrange(2**31))


def random_walk(rng: np.random.Generator, n: int, scale: float) -> np.ndarray:
    steps = rng.normal(size=n) * scale
    out = np.empty(n)
    walk = 0.0
    for i in range(n):
        walk = 0.95 * walk + steps[i]
        out[i] = walk
    return out


def random_edf(rng: np.random.Generator, records: int = 3, annotations: bool = False) -> tuple[bytes, list[SignalInput]]:
    signals = [
        SignalInput("EEG FP1-REF", 256, random_walk(rng, 128 * records, 50)),
        SignalInput("EEG T7-LE", 250, random_walk(rng, 125 * records, 10)),
        SignalInput("EKG", 14, random_walk(rng, 7 * records, 300), "mV"),
    ]
    notes = [EdfAnnotation(0.1, 0.75, "seiz"), EdfAnnotation(records * 0.3, None, "électrode pop")] if annotations else None
    return encode_edf(signals, record_duration=0.5, annotations=notes), signals


def random_windows_npz(rng: np.random.Generator, compress: bool) -> tuple[bytes, np.ndarray, np.ndarray]:
    count, length = int(rng.integers(1, 4)), int(rng.integers(7, 27))
    windows = (rng.random((count, 19, length)) * 20 - 10).astype(np.float32)
    labels = (rng.random((count, length)) < 0.3).astype(np.float32)
    buf = io.BytesIO()
    (np.savez_compressed if compress else np.savez)(buf, windows=windows, labels=labels)
    return buf.getvalue(), windows, labels


CSV_BI = """# version = csv_v1.0.0
# bname = aaaaaaac_s001_t000
# duration = 301.0000 secs
#
channel,start_time,stop_time,label,confidence
TERM,0.0000,36.8868,bckg,1.0000
TERM,36.8868,183.3055,seiz,1.0000
TERM,183.3055,301.0000,bckg,1.0000
"""

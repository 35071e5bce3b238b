"""A small EDF / EDF+C writer (test fixtures, exports): physical values quantised to 16 bits using the physical
range exactly as written into the header, so a reader gets each value back within half a digital step. The
same layout as src/data/edf-writer.ts."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .edf import ANNOTATION_LABEL, EdfAnnotation
from .errors import EdfError


@dataclass
class SignalInput:
    label: str
    sample_rate: float
    samples: np.ndarray  # physical values
    physical_dimension: str = "uV"


def format_number(value: float, width: int, rounding: str) -> str:
    """At most `width` characters, as precise as fits; 'down'/'up' round toward -inf/+inf."""
    if not math.isfinite(value):
        raise EdfError("non-numeric", f"{value} is not a finite number")
    for decimals in range(width - 2, -1, -1):
        scaled = value * 10**decimals
        r = math.floor(scaled + 1e-9) if rounding == "down" else math.ceil(scaled - 1e-9) if rounding == "up" else round(scaled)
        s = f"{r / 10**decimals:.{decimals}f}"
        if "." in s:
            s = s.rstrip("0").rstrip(".")
        if s == "-0":
            s = "0"
        if len(s) <= width:
            return s
    raise EdfError("non-numeric", f"{value} does not fit in {width} characters")


def _tal(onset: float, duration: float | None, texts: list[str]) -> bytes:
    def secs(x: float) -> str:
        return f"{x:.6f}".rstrip("0").rstrip(".")

    stamp = ("-" if onset < 0 else "+") + secs(abs(onset)) + ("" if duration is None else "\x15" + secs(duration)) + "\x14"
    return (stamp + "".join(t + "\x14" for t in (texts or [""])) + "\x00").encode("utf-8")


def encode_edf(signals: list[SignalInput], record_duration: float = 1.0, annotations: list[EdfAnnotation] | None = None) -> bytes:
    plus = annotations is not None
    sprs = []
    for s in signals:
        spr = round(s.sample_rate * record_duration)
        if spr < 1 or abs(spr - s.sample_rate * record_duration) > 1e-9:
            raise EdfError("zero-width-signal", f"{s.label}: {s.sample_rate} Hz * {record_duration} s is not a whole number of samples")
        sprs.append(spr)
    records = max(math.ceil(len(s.samples) / spr) for s, spr in zip(signals, sprs))
    slots = []
    if plus:
        parts = [[_tal(r * record_duration, None, [])] for r in range(records)]
        for a in annotations:
            parts[min(records - 1, max(0, int(a.onset // record_duration)))].append(_tal(a.onset, a.duration, [a.text]))
        slots = [b"".join(p) for p in parts]
    ann_spr = max((len(s) + 1) // 2 for s in slots) if plus else 0
    ns = len(signals) + (1 if plus else 0)
    header_bytes = 256 + 256 * ns

    fields = []
    scaled = []
    for s in signals:
        x = np.asarray(s.samples, dtype=np.float64)
        lo, hi = (float(x.min()), float(x.max())) if x.size else (0.0, 0.0)
        if lo == hi:
            lo, hi = lo - 1, hi + 1
        p_min, p_max = format_number(lo, 8, "down"), format_number(hi, 8, "up")
        gain = (float(p_max) - float(p_min)) / 65535
        offset = float(p_min) + gain * 32768
        digital = np.clip(np.round((x - offset) / gain), -32768, 32767).astype("<i2")
        scaled.append(digital)
        fields.append((s.label, s.physical_dimension, p_min, p_max, "-32768", "32767"))
    if plus:
        fields.append((ANNOTATION_LABEL, "", "-1", "1", "-32768", "32767"))

    def pad(value: str, width: int) -> bytes:
        if len(value) > width:
            raise EdfError("bad-request", f"{value!r} is longer than its {width}-character field")
        return value.ljust(width).encode("ascii")

    head = b"".join([
        pad("0", 8), pad("X X X X" if plus else "X", 80), pad("Startdate 01-JAN-2000 X X X" if plus else "X", 80),
        pad("01.01.00", 8), pad("00.00.00", 8), pad(str(header_bytes), 8), pad("EDF+C" if plus else "", 44),
        pad(str(records), 8), pad(format_number(record_duration, 8, "nearest"), 8), pad(str(ns), 4),
    ])
    all_sprs = sprs + ([ann_spr] if plus else [])
    for k, width in ((0, 16), (None, 80), (1, 8), (2, 8), (3, 8), (4, 8), (5, 8), (None, 80)):
        head += b"".join(pad("" if k is None else f[k], width) for f in fields)
    head += b"".join(pad(str(n), 8) for n in all_sprs) + b"".join(pad("", 32) for _ in fields)

    body = bytearray()
    for r in range(records):
        for digital, spr in zip(scaled, sprs):
            chunk = np.zeros(spr, dtype="<i2")
            part = digital[r * spr : (r + 1) * spr]
            chunk[: len(part)] = part
            body += chunk.tobytes()
        if plus:
            body += slots[r].ljust(2 * ann_spr, b"\x00")
    return head + bytes(body)

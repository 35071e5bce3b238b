"""TUSZ `.csv_bi` label files, and TUSZ's per-channel `.csv` files, which share their layout (one row per channel
and event; `seizure_intervals` merges the seizure rows of every channel); the same rules, codes and messages as
src/data/csv-bi.ts."""
from __future__ import annotations

import os
import re
from dataclasses import dataclass

from .errors import CsvBiError

COLUMNS = ("channel", "start_time", "stop_time", "label", "confidence")
SEIZURE_TYPES = frozenset({"seiz", "fnsz", "gnsz", "spsz", "cpsz", "absz", "tnsz", "cnsz", "tcsz", "atsz", "mysz", "nesz"})
BACKGROUND = "bckg"
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_META = re.compile(r"^#\s*([A-Za-z_][\w ]*?)\s*=\s*(.*)$")


@dataclass(frozen=True)
class CsvBiEvent:
    channel: str
    start: float
    stop: float
    label: str
    confidence: float

    @property
    def seizure(self) -> bool:
        return self.label != BACKGROUND


@dataclass(frozen=True)
class CsvBiFile:
    metadata: dict
    duration: float | None
    events: tuple[CsvBiEvent, ...]

    def seizure_intervals(self) -> list[tuple[float, float]]:
        """Seizure events as sorted, merged [start, stop) intervals in seconds."""
        merged: list[list[float]] = []
        for a, b in sorted((e.start, e.stop) for e in self.events if e.seizure):
            if merged and a <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], b)
            else:
                merged.append([a, b])
        return [(a, b) for a, b in merged]


def read_csv_bi(path: str | os.PathLike) -> CsvBiFile:
    with open(path, "rb") as f:
        return parse_csv_bi(f.read().decode("utf-8", "replace"), os.fspath(path))


def parse_csv_bi(text: str, source: str = "csv_bi") -> CsvBiFile:
    metadata: dict[str, str] = {}
    events: list[CsvBiEvent] = []
    duration: float | None = None
    header = False
    for i, raw in enumerate(re.split(r"\r?\n", text)):
        where = f"{source} line {i + 1}"
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            m = _META.match(line)
            if m:
                metadata[m.group(1)] = m.group(2).strip()
                if m.group(1) == "duration":
                    value = re.sub(r"\s*secs?$", "", m.group(2), flags=re.I).strip()
                    if not _NUMBER.match(value) or float(value) < 0:
                        raise CsvBiError("bad-duration", f"{where}: duration {m.group(2)!r} is not a non-negative number of seconds")
                    duration = float(value)
            continue
        cells = [c.strip() for c in line.split(",")]
        if not header:
            if ",".join(cells).lower() != ",".join(COLUMNS):
                raise CsvBiError("bad-header", f'{where}: expected the header row "{",".join(COLUMNS)}", got {line!r}')
            header = True
            continue
        if len(cells) != len(COLUMNS):
            raise CsvBiError("bad-row", f"{where}: {len(cells)} columns, expected {len(COLUMNS)} ({','.join(COLUMNS)})")
        channel, start_text, stop_text, label_text, confidence_text = cells

        def number(value: str, column: str) -> float:
            if not _NUMBER.match(value):
                raise CsvBiError("non-numeric", f"{where}: {column} {value!r} is not a number")
            return float(value)

        start, stop = number(start_text, "start_time"), number(stop_text, "stop_time")
        confidence = number(confidence_text, "confidence")
        label = label_text.lower()
        if not channel:
            raise CsvBiError("bad-row", f"{where}: empty channel")
        if start < 0:
            raise CsvBiError("bad-time", f"{where}: start_time {start} is negative")
        if stop <= start:
            raise CsvBiError("bad-time", f"{where}: stop_time {stop} is not after start_time {start}")
        if duration is not None and stop > duration + 1e-6:
            raise CsvBiError("bad-time", f"{where}: stop_time {stop} is past the recording's duration {duration} s")
        if not 0 <= confidence <= 1:
            raise CsvBiError("bad-confidence", f"{where}: confidence {confidence} is outside [0, 1]")
        if label != BACKGROUND and label not in SEIZURE_TYPES:
            raise CsvBiError("bad-label", f'{where}: label {label_text!r} is neither "bckg" nor a seizure label ({", ".join(sorted(SEIZURE_TYPES))})')
        events.append(CsvBiEvent(channel, start, stop, label, confidence))
    if not header:
        raise CsvBiError("bad-header", f'{source}: no header row "{",".join(COLUMNS)}" found')
    return CsvBiFile(metadata, duration, tuple(events))

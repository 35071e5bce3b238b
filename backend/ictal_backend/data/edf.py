"""EDF / EDF+ reader: the header is parsed and validated on open (the same checks, codes and messages as
src/data/edf-header.ts), samples are read on demand through a memory map of the data records, and EDF+
annotation signals (TALs) are parsed. Physical value = gain * digital + offset, from the header's ranges."""
from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from typing import BinaryIO

import numpy as np

from .errors import EdfError

FIXED_HEADER_BYTES = 256
BYTES_PER_SIGNAL_HEADER = 256
ANNOTATION_LABEL = "EDF Annotations"

_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_INTEGER = re.compile(r"^[+-]?\d+$")
_ONSET = re.compile(r"^[+-]\d+(\.\d*)?$")
_DURATION = re.compile(r"^\d+(\.\d*)?$")


@dataclass(frozen=True)
class EdfSignal:
    index: int
    label: str
    transducer: str
    physical_dimension: str
    physical_min: float
    physical_max: float
    digital_min: int
    digital_max: int
    prefiltering: str
    samples_per_record: int
    reserved: str
    is_annotation: bool
    sample_rate: float
    gain: float
    offset: float
    record_byte_offset: int


@dataclass(frozen=True)
class EdfHeader:
    patient_id: str
    recording_id: str
    start_date: str
    start_time: str
    header_bytes: int
    reserved: str
    variant: str  # 'EDF', 'EDF+C' or 'EDF+D'
    record_count_field: int
    record_count: int
    trailing_bytes: int
    record_duration: float
    signals: tuple[EdfSignal, ...]
    record_bytes: int

    @property
    def duration_seconds(self) -> float:
        return self.record_count * self.record_duration


@dataclass(frozen=True)
class EdfAnnotation:
    onset: float
    duration: float | None
    text: str


def _text(data: bytes, offset: int, length: int) -> str:
    return data[offset : offset + length].decode("latin-1").strip()


def _number(raw: str, what: str, integer: bool) -> float:
    ok = (_INTEGER if integer else _NUMBER).match(raw) is not None
    value = float(raw) if ok else math.nan
    if not ok or not math.isfinite(value):
        raise EdfError("non-numeric", f"{what} is {raw!r}: expected {'an integer' if integer else 'a number'}")
    return int(raw) if integer else value


def parse_fixed_header(data: bytes, file_size: int) -> tuple[int, int]:
    """(header bytes, signal count) from the first 256 bytes."""
    if file_size < FIXED_HEADER_BYTES or len(data) < FIXED_HEADER_BYTES:
        raise EdfError("truncated", f"file is {file_size} bytes: shorter than the {FIXED_HEADER_BYTES}-byte EDF fixed header")
    if data[0] == 0xFF and _text(data, 1, 7) == "BIOSEMI":
        raise EdfError("bad-version", "this is a BDF (24-bit BioSemi) file, not EDF: BDF is not supported")
    version = _text(data, 0, 8)
    if version != "0":
        raise EdfError("bad-version", f'version field is {version!r}: EDF files start with "0"')
    header_bytes = _number(_text(data, 184, 8), "header size (bytes 184-191)", True)
    ns = _number(_text(data, 252, 4), "number of signals (bytes 252-255)", True)
    if ns < 1:
        raise EdfError("bad-signal-count", f"number of signals is {ns}: at least 1 is needed")
    expected = FIXED_HEADER_BYTES + ns * BYTES_PER_SIGNAL_HEADER
    if header_bytes != expected:
        raise EdfError("bad-header-size", f"header size field says {header_bytes} bytes, but {ns} signals need 256 + {ns} * 256 = {expected}")
    if file_size < header_bytes:
        raise EdfError("truncated", f"file is {file_size} bytes: shorter than its own {header_bytes}-byte header ({ns} signals)")
    return header_bytes, ns


def parse_header(data: bytes, file_size: int) -> EdfHeader:
    """Parses and validates the header (`data` holds at least the header) against the file size."""
    header_bytes, ns = parse_fixed_header(data, file_size)
    if len(data) < header_bytes:
        raise EdfError("truncated", f"header needs {header_bytes} bytes, got {len(data)}")
    reserved = _text(data, 192, 44)
    variant = "EDF+C" if reserved.startswith("EDF+C") else "EDF+D" if reserved.startswith("EDF+D") else "EDF"
    record_count_field = _number(_text(data, 236, 8), "number of data records (bytes 236-243)", True)
    record_duration = _number(_text(data, 244, 8), "duration of a data record (bytes 244-251)", False)
    if record_count_field < -1:
        raise EdfError("record-count", f"number of data records is {record_count_field}: expected -1 (unknown) or a count >= 0")
    if record_duration < 0:
        raise EdfError("bad-record-duration", f"duration of a data record is {record_duration} s: it cannot be negative")

    at = FIXED_HEADER_BYTES

    def column(width: int) -> list[str]:
        nonlocal at
        values = [_text(data, at + i * width, width) for i in range(ns)]
        at += ns * width
        return values

    labels, transducers, dims = column(16), column(80), column(8)
    phys_min, phys_max, dig_min, dig_max = column(8), column(8), column(8), column(8)
    prefilter, samples, sig_reserved = column(80), column(8), column(32)

    signals = []
    record_bytes = 0
    for i in range(ns):
        name = f"signal {i} ({labels[i]!r})"
        spr = _number(samples[i], f"{name} samples per record", True)
        if spr < 1:
            raise EdfError("zero-width-signal", f"{name} has {spr} samples per record: every signal needs at least 1")
        p_min = _number(phys_min[i], f"{name} physical minimum", False)
        p_max = _number(phys_max[i], f"{name} physical maximum", False)
        d_min = _number(dig_min[i], f"{name} digital minimum", True)
        d_max = _number(dig_max[i], f"{name} digital maximum", True)
        if d_min < -32768 or d_max > 32767 or d_min >= d_max:
            raise EdfError("bad-digital-range", f"{name} digital range [{d_min}, {d_max}] must satisfy -32768 <= min < max <= 32767")
        if p_min == p_max:
            raise EdfError("bad-physical-range", f"{name} physical minimum and maximum are both {p_min}: the scaling would divide by zero")
        gain = (p_max - p_min) / (d_max - d_min)
        signals.append(
            EdfSignal(
                index=i, label=labels[i], transducer=transducers[i], physical_dimension=dims[i],
                physical_min=p_min, physical_max=p_max, digital_min=d_min, digital_max=d_max,
                prefiltering=prefilter[i], samples_per_record=spr, reserved=sig_reserved[i],
                is_annotation=labels[i] == ANNOTATION_LABEL,
                sample_rate=spr / record_duration if record_duration > 0 else 0.0,
                gain=gain, offset=p_min - gain * d_min, record_byte_offset=record_bytes,
            )
        )
        record_bytes += 2 * spr
    if record_duration == 0 and any(not s.is_annotation for s in signals):
        raise EdfError("bad-record-duration", "duration of a data record is 0 s, which only an annotations-only EDF+ file may have")

    data_bytes = file_size - header_bytes
    record_count, trailing = record_count_field, 0
    if record_count_field == -1:
        record_count, trailing = divmod(data_bytes, record_bytes)
    elif data_bytes != record_count_field * record_bytes:
        whole, rest = divmod(data_bytes, record_bytes)
        held = f"{whole} whole records of {record_bytes} bytes" + (f" and {rest} bytes more" if rest else "")
        code = "truncated" if data_bytes < record_count_field * record_bytes else "record-count"
        raise EdfError(code, f"header says {record_count_field} data records ({record_count_field * record_bytes} bytes after the header), but the file holds {held}")
    return EdfHeader(
        patient_id=_text(data, 8, 80), recording_id=_text(data, 88, 80), start_date=_text(data, 168, 8),
        start_time=_text(data, 176, 8), header_bytes=header_bytes, reserved=reserved, variant=variant,
        record_count_field=record_count_field, record_count=record_count, trailing_bytes=trailing,
        record_duration=record_duration, signals=tuple(signals), record_bytes=record_bytes,
    )


def parse_tals(data: bytes, where: str) -> list[tuple[float, float | None, list[str]]]:
    """One record's slot of an annotation signal -> [(onset, duration, texts)]; see src/data/edf-tal.ts."""
    tals = []
    i, n = 0, len(data)
    while i < n:
        if data[i] == 0:
            i += 1
            continue
        end = data.find(b"\x00", i)
        if end < 0:
            raise EdfError("bad-annotation", f"{where}: TAL at byte {i} has no terminating 0x00 byte")
        tals.append(_parse_tal(data[i:end], f"{where}, TAL at byte {i}"))
        i = end + 1
    return tals


def _parse_tal(tal: bytes, where: str) -> tuple[float, float | None, list[str]]:
    first = tal.find(b"\x14")
    if first < 0:
        raise EdfError("bad-annotation", f"{where}: no 0x14 byte after the onset")
    stamp = tal[:first]
    dur_sep = stamp.find(b"\x15")
    onset_text = (stamp if dur_sep < 0 else stamp[:dur_sep]).decode("latin-1")
    if not _ONSET.match(onset_text):
        raise EdfError("bad-annotation", f"{where}: onset {onset_text!r} must be a sign (+ or -) then seconds")
    duration = None
    if dur_sep >= 0:
        duration_text = stamp[dur_sep + 1 :].decode("latin-1")
        if not _DURATION.match(duration_text):
            raise EdfError("bad-annotation", f"{where}: duration {duration_text!r} must be unsigned seconds")
        duration = float(duration_text)
    texts = []
    start = first + 1
    while start < len(tal):
        sep = tal.find(b"\x14", start)
        if sep < 0:
            raise EdfError("bad-annotation", f"{where}: annotation text {tal[start:].decode('utf-8', 'replace')!r} is not ended by 0x14")
        texts.append(tal[start:sep].decode("utf-8", "replace"))
        start = sep + 1
    return float(onset_text), duration, texts or [""]


class EdfReader:
    """An open EDF file (a path, or bytes). Use as a context manager or call close()."""

    def __init__(self, source: str | os.PathLike | bytes):
        self._file: BinaryIO | None = None
        if isinstance(source, (bytes, bytearray, memoryview)):
            self._bytes: bytes | None = bytes(source)
            size = len(self._bytes)
            head = self._bytes[:FIXED_HEADER_BYTES]
        else:
            self._bytes = None
            self.path = os.fspath(source)
            self._file = open(self.path, "rb")
            size = os.fstat(self._file.fileno()).st_size
            head = self._file.read(FIXED_HEADER_BYTES)
        try:
            header_bytes, _ = parse_fixed_header(head, size)
            data = self._bytes[:header_bytes] if self._bytes is not None else head + self._file.read(header_bytes - len(head))
            self.header = parse_header(data, size)
        except BaseException:
            self.close()
            raise
        self._records: np.ndarray | None = None

    def __enter__(self) -> "EdfReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._records = None
        if self._file is not None:
            self._file.close()
            self._file = None

    @property
    def data_signals(self) -> list[EdfSignal]:
        return [s for s in self.header.signals if not s.is_annotation]

    def records(self) -> np.ndarray:
        """All data records as (records, record_bytes // 2) little-endian int16, memory-mapped from a file."""
        if self._records is None:
            h = self.header
            shape = (h.record_count, h.record_bytes // 2)
            if h.record_count == 0:
                self._records = np.zeros(shape, dtype="<i2")
            elif self._bytes is not None:
                self._records = np.frombuffer(self._bytes, dtype="<i2", count=shape[0] * shape[1], offset=h.header_bytes).reshape(shape)
            else:
                self._records = np.memmap(self.path, dtype="<i2", mode="r", offset=h.header_bytes, shape=shape)
        return self._records

    def _signal(self, index: int) -> EdfSignal:
        if not isinstance(index, (int, np.integer)) or not 0 <= index < len(self.header.signals):
            raise EdfError("bad-request", f"signal {index} does not exist: the file has {len(self.header.signals)} signals")
        return self.header.signals[index]

    def sample_count(self, index: int) -> int:
        return self._signal(index).samples_per_record * self.header.record_count

    def read_digital(self, index: int) -> np.ndarray:
        s = self._signal(index)
        start = s.record_byte_offset // 2
        return np.ascontiguousarray(self.records()[:, start : start + s.samples_per_record]).reshape(-1)

    def read_physical(self, index: int, start: int = 0, count: int | None = None, dtype=np.float64) -> np.ndarray:
        """Physical values of one signal, `count` samples from `start` (default: all)."""
        s = self._signal(index)
        if s.is_annotation:
            raise EdfError("bad-request", f"signal {index} ({s.label!r}) is an annotation signal: use read_annotations()")
        total = self.sample_count(index)
        count = total - start if count is None else count
        if start < 0 or count < 0 or start + count > total:
            raise EdfError("bad-request", f"samples [{start}, {start + count}) of signal {index} are outside its {total} samples")
        spr = s.samples_per_record
        first, last = start // spr, (start + count - 1) // spr if count else start // spr
        col = s.record_byte_offset // 2
        digital = self.records()[first : last + 1, col : col + spr].reshape(-1)
        lo = start - first * spr
        return (digital[lo : lo + count].astype(np.float64) * s.gain + s.offset).astype(dtype, copy=False)

    def read_annotations(self) -> tuple[list[EdfAnnotation], np.ndarray]:
        """(annotations sorted by onset, start of each record in seconds)."""
        h = self.header
        starts = np.arange(h.record_count, dtype=np.float64) * h.record_duration
        annotations: list[EdfAnnotation] = []
        signals = [s for s in h.signals if s.is_annotation]
        if not signals:
            return annotations, starts
        records = self.records()
        for r in range(h.record_count):
            for j, s in enumerate(signals):
                col = s.record_byte_offset // 2
                slot = records[r, col : col + s.samples_per_record].astype("<i2").tobytes()
                for t, (onset, duration, texts) in enumerate(parse_tals(slot, f"annotation signal {s.index}, record {r}")):
                    if j == 0 and t == 0 and h.variant != "EDF":
                        starts[r] = onset
                    annotations.extend(EdfAnnotation(onset, duration, text) for text in texts if text)
        annotations.sort(key=lambda a: a.onset)
        return annotations, starts

"""Where training windows come from: the trainer's `data` spec -> (training source, validation source).

A source has `window_length`, `len()`, `source[i] -> ((19, S) float32 signal, (S,) float32 labels)` and
`seizure_fractions()` (per window, for balanced sampling and the positive rate). Kinds:
- `{"kind": "synthetic", "seed": N[, "windows": 32, "val_windows": 8]}`: EEG-like windows generated here,
  deterministically from (seed, split, index), with partial and whole-window seizures. For smoke runs and
  tests; the lab's own generator (src/data) is the TypeScript one.
- `{"kind": "npz", "path": FILE_OR_DIR[, "val_path": ..., "val_fraction": 0.1]}`: the reference's
  `*_windows.npz` files (one per recording), read one window at a time (ictal_backend.data.npz); 60 s windows
  are taken to be 10 s apart, as the reference wrote them.
- `{"kind": "cache", "path": DIR[, "val_path": ..., "val_fraction": 0.1]}`: the fast window cache
  (ictal_backend.data.cache, docs/data.md).
Without `val_path`, the last `val_fraction` of the recordings (at least one, when there are two or more) is
held out for validation, whole recordings at a time, so overlapping windows never straddle the split.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Protocol, Sequence

import numpy as np

CHANNELS = 19
FS = 256.0


class WindowSource(Protocol):
    window_length: int

    def __len__(self) -> int: ...

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]: ...

    def seizure_fractions(self) -> np.ndarray: ...


class DataSpecError(ValueError):
    """A data spec the trainer cannot use; the message names the key at fault."""


# ---- synthetic EEG ------------------------------------------------------------------------------------------

class SyntheticWindows:
    """Background: 1/f noise shared in part across channels, a posterior alpha rhythm. Seizures (about a third of
    windows hold part of one, a sixth are entirely inside one): rhythmic 3-7 Hz spike-and-wave discharges of
    growing amplitude over a focal group of channels. Labels are 1 on the seizure's samples."""

    SPLITS = {"train": 0, "val": 1}

    def __init__(self, seed: int, count: int, window_length: int, split: str = "train"):
        self.seed, self.count, self.window_length = int(seed), int(count), int(window_length)
        self.split = self.SPLITS[split]

    def __len__(self) -> int:
        return self.count

    def _rng(self, index: int, stream: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, self.split, index, stream])

    def seizure_span(self, index: int) -> tuple[int, int]:
        """[start, end) samples of the window's seizure (empty when start == end)."""
        rng, n = self._rng(index, 0), self.window_length
        kind = rng.uniform()
        if kind < 0.5:
            return 0, 0
        if kind < 2 / 3:
            return 0, n
        length = int(rng.uniform(0.2, 0.7) * n)
        start = int(rng.integers(-length // 2, n - length // 2))
        return max(start, 0), min(start + length, n)

    def seizure_fractions(self) -> np.ndarray:
        spans = [self.seizure_span(i) for i in range(self.count)]
        return np.array([(e - s) / self.window_length for s, e in spans], dtype=np.float64)

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        if not 0 <= index < self.count:
            raise IndexError(f"synthetic window {index} does not exist (there are {self.count})")
        n, rng = self.window_length, self._rng(index, 1)
        t = np.arange(n) / FS
        freqs = np.fft.rfftfreq(n, 1 / FS)
        shaping = 1 / np.sqrt(np.maximum(freqs, 0.5))
        white = rng.standard_normal((CHANNELS + 1, n))
        pink = np.fft.irfft(np.fft.rfft(white, axis=1) * shaping, n=n, axis=1)
        pink /= pink.std(axis=1, keepdims=True)
        x = 0.8 * pink[:CHANNELS] + 0.5 * pink[CHANNELS]                       # a common component
        alpha = np.sin(2 * np.pi * rng.uniform(8.5, 11.5) * t + rng.uniform(0, 2 * np.pi))
        x[[3, 7, 10, 14, 18]] += rng.uniform(0.3, 0.8) * alpha                 # P3 O1 Pz P4 O2
        labels = np.zeros(n, dtype=np.float32)
        start, end = self.seizure_span(index)
        if end > start:
            labels[start:end] = 1
            focus = rng.integers(CHANNELS)
            weights = np.exp(-0.5 * ((np.arange(CHANNELS) - focus) / rng.uniform(1.5, 4.0)) ** 2)
            freq = rng.uniform(3.0, 7.0)
            ts = t[start:end] - t[start]
            phase = 2 * np.pi * (freq * ts - 0.08 * freq * ts**2 / max(ts[-1], 1e-3))  # slowing as it evolves
            wave = np.sin(phase) + 0.6 * np.maximum(np.sin(phase), 0) ** 8           # spike-and-wave shape
            ramp = np.minimum(1.0, (ts + 1e-3) / 2.0)
            x[:, start:end] += rng.uniform(2.0, 4.0) * weights[:, None] * (ramp * wave)[None, :]
        return np.clip(x, -10, 10).astype(np.float32), labels


# ---- reference NPZ files and the fast cache -------------------------------------------------------------------

class NpzWindows:
    """`*_windows.npz` files (one per recording) as one source; each window read on its own."""

    def __init__(self, paths: Sequence[Path]):
        from .data.npz import WindowsNpz  # the data package's reader: no whole-array decompression
        self.paths = list(paths)
        self.files = [WindowsNpz(p) for p in self.paths]
        lengths = {f.length for f in self.files}
        if len(lengths) > 1:
            raise DataSpecError(f"npz files hold windows of different lengths: {sorted(lengths)}")
        self.window_length = lengths.pop() if lengths else 0
        self.offsets = np.cumsum([0] + [f.count for f in self.files])
        self._fractions: np.ndarray | None = None
        # The reference wrote 60 s windows every 10 s (V3_MODEL.md) and stored no stride: assume it for that
        # window length only; otherwise windows are not stitched back into recordings.
        from .dsp.preprocess import STRIDE, WINDOW
        self.stride = STRIDE if self.window_length == WINDOW else None

    def locate(self, index: int) -> tuple[int, int]:
        f = int(np.searchsorted(self.offsets, index, side="right")) - 1
        return f, int(index - self.offsets[f])

    def __len__(self) -> int:
        return int(self.offsets[-1])

    def recordings(self) -> list[range]:
        return [range(int(a), int(b)) for a, b in zip(self.offsets[:-1], self.offsets[1:])]

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        f, k = self.locate(index)
        return self.files[f].window(k)

    def seizure_fractions(self) -> np.ndarray:
        if self._fractions is None:  # labels only: small next to the signals
            self._fractions = np.concatenate([f.read_array("labels").mean(axis=1) for f in self.files]
                                             or [np.zeros(0)]).astype(np.float64)
        return self._fractions


def _cache_recordings(cache: Any) -> list[range]:
    return [range(r.first, r.first + r.windows) for r in cache.recordings]


class Subset:
    """Some windows of a source, by index."""

    def __init__(self, source: WindowSource, indices: Sequence[int]):
        self.source, self.indices = source, np.asarray(indices, dtype=np.int64)
        self.window_length = source.window_length

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        return self.source[int(self.indices[index])]

    def seizure_fractions(self) -> np.ndarray:
        return self.source.seizure_fractions()[self.indices]

    def recording_layout(self) -> list[tuple[list[int], list[int]]] | None:
        """For sources that know where windows sit in their recordings (the window cache: `locate` and `stride`):
        per recording, the positions of its windows here and their first samples. None otherwise."""
        locate, stride = getattr(self.source, "locate", None), getattr(self.source, "stride", None)
        if locate is None or stride is None:
            return None
        groups: dict[int, tuple[list[int], list[int]]] = {}
        for position, index in enumerate(self.indices):
            recording, k = locate(int(index))
            positions, starts = groups.setdefault(recording, ([], []))
            positions.append(position)
            starts.append(k * int(stride))
        return list(groups.values())


def stitch_recordings(source: WindowSource, probabilities: list[np.ndarray], labels: list[np.ndarray]
                      ) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Per-window outputs -> per-recording ones where the source knows its recordings: overlapping windows are
    averaged sample by sample, so each seizure and each hour is counted once by the event metrics. Sources
    without a layout (synthetic windows, npz files) keep one entry per window."""
    layout = source.recording_layout() if hasattr(source, "recording_layout") else None
    if not layout:
        return probabilities, labels
    window = source.window_length
    out_p, out_y = [], []
    for positions, starts in layout:
        length = max(starts) + window
        total, count, label = np.zeros(length), np.zeros(length), np.zeros(length)
        for position, start in zip(positions, starts):
            total[start:start + window] += probabilities[position]
            count[start:start + window] += 1
            label[start:start + window] = np.maximum(label[start:start + window], labels[position])
        covered = count > 0
        out_p.append(total[covered] / count[covered])
        out_y.append(label[covered])
    return out_p, out_y


# ---- the spec ----------------------------------------------------------------------------------------------------

_KEYS = {
    "synthetic": {"kind", "seed", "windows", "val_windows"},
    "npz": {"kind", "path", "val_path", "val_fraction"},
    "cache": {"kind", "path", "val_path", "val_fraction"},
}


def _int(data: dict, key: str, default: int, low: int) -> int:
    v = data.get(key, default)
    if isinstance(v, bool) or not isinstance(v, int) or v < low:
        raise DataSpecError(f"data.{key} must be an integer >= {low}, got {v!r}")
    return v


def _open_path(kind: str, path: Any, key: str) -> WindowSource:
    if not isinstance(path, str) or not path:
        raise DataSpecError(f"data.{key} must be a path string, got {path!r}")
    p = Path(path)
    if not p.exists():
        raise DataSpecError(f"data.{key}: {p} does not exist")
    if kind == "cache":
        from .data.cache import WindowCache
        return WindowCache(p)
    files = sorted(p.glob("*.npz")) if p.is_dir() else [p]
    if not files:
        raise DataSpecError(f"data.{key}: no .npz files in {p}")
    return NpzWindows(files)


def _recordings(source: WindowSource) -> list[range]:
    if isinstance(source, NpzWindows):
        return source.recordings()
    if hasattr(source, "recordings"):
        return _cache_recordings(source)
    return [range(len(source))]


def _hold_out(source: WindowSource, fraction: float) -> tuple[WindowSource, WindowSource]:
    recs = [r for r in _recordings(source) if len(r)]
    if len(recs) >= 2:
        n_val = min(len(recs) - 1, max(1, math.ceil(fraction * len(recs))))
        train = [i for r in recs[:-n_val] for i in r]
        val = [i for r in recs[-n_val:] for i in r]
    else:  # one recording: split its windows (they may overlap at the boundary)
        n = len(source)
        cut = n - max(1, math.ceil(fraction * n)) if n >= 2 else n
        train, val = list(range(cut)), list(range(cut, n))
    return Subset(source, train), Subset(source, val)


def open_data(data: dict[str, Any], window_length: int) -> tuple[WindowSource, WindowSource]:
    """(training, validation) sources for a data spec; windows must be `window_length` samples long."""
    if not isinstance(data, dict):
        raise DataSpecError(f"data must be an object, got {type(data).__name__}")
    kind = data.get("kind")
    if kind not in _KEYS:
        raise DataSpecError(f"data.kind must be one of {', '.join(_KEYS)}, got {kind!r}")
    unknown = sorted(set(data) - _KEYS[kind])
    if unknown:
        raise DataSpecError(f"data: unknown key(s) {', '.join(unknown)} for kind {kind!r} (known: {', '.join(sorted(_KEYS[kind]))})")
    if kind == "synthetic":
        seed = _int(data, "seed", 0, 0)
        train = SyntheticWindows(seed, _int(data, "windows", 32, 1), window_length, "train")
        val = SyntheticWindows(seed, _int(data, "val_windows", 8, 1), window_length, "val")
    else:
        fraction = data.get("val_fraction", 0.1)
        if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not 0 < fraction < 1:
            raise DataSpecError(f"data.val_fraction must be a number in (0, 1), got {fraction!r}")
        source = _open_path(kind, data.get("path"), "path")
        if "val_path" in data:
            held_out = _open_path(kind, data["val_path"], "val_path")
            train, val = source, Subset(held_out, range(len(held_out)))
        else:
            train, val = _hold_out(source, float(fraction))
    for name, src in (("training", train), ("validation", val)):
        if len(src) == 0:
            raise DataSpecError(f"data: the {name} set holds no windows")
        if src.window_length != window_length:
            raise DataSpecError(f"data: {name} windows are {src.window_length} samples long, the graph takes {window_length}")
    return train, val

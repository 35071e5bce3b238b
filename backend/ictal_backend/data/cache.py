"""The fast window cache: one preprocessed recording per pair of raw .npy files, read one window at a time
through a memory map, plus a JSON manifest with every window's seizure fraction for balanced sampling.

Layout (docs/data.md has the full description):
    OUT/manifest.json
    OUT/recordings/<id>.signal.npy   (m, 19) float16 (or float32), time-major: a window is one contiguous block
    OUT/recordings/<id>.labels.npy   (m,) uint8 per-sample seizure labels
Window k of a recording is samples [k*stride, k*stride + window): the 60 s / 10 s windows of
ictal_backend.dsp.preprocess.windows, stored once instead of six times over."""
from __future__ import annotations

import json
import os
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from ..dsp.preprocess import STRIDE, TARGET_FS, WINDOW, labels_from_events, preprocess_recording, window_count
from .csv_bi import read_csv_bi
from .edf import EdfReader
from .errors import DataFormatError
from .montage import MONTAGE_CHANNELS
from .tusz import map_channels

CACHE_FORMAT = "ictal-window-cache"
CACHE_VERSION = 1
DTYPES = {"float16": "<f2", "float32": "<f4"}


class CacheError(ValueError):
    """A cache directory that is missing, of another format, or inconsistent with its manifest."""


def find_recordings(edf_dir: Path) -> list[Path]:
    return sorted(p for p in edf_dir.rglob("*") if p.suffix.lower() == ".edf" and p.is_file())


def recording_id(edf_dir: Path, edf: Path) -> str:
    """A flat, unique name: the path under edf_dir without its suffix, '/' replaced by '__'."""
    return "__".join(edf.relative_to(edf_dir).with_suffix("").parts)


def _stat(path: Path) -> dict:
    st = path.stat()
    return {"bytes": st.st_size, "mtime_ns": st.st_mtime_ns}


def load_recording(edf_path: Path, csv_path: Path) -> tuple[np.ndarray, float, list[tuple[float, float]]]:
    """(19, n) float64 physical signals in montage order, their sampling rate, and the seizure intervals."""
    with EdfReader(edf_path) as edf:
        signals = edf.data_signals
        indices, _ = map_channels([s.label for s in signals])
        chosen = [signals[i] for i in indices]
        rates = {s.sample_rate for s in chosen}
        if len(rates) != 1:
            detail = ", ".join(f"{name} {s.sample_rate:g} Hz" for name, s in zip(MONTAGE_CHANNELS, chosen))
            raise DataFormatError("mixed-rates", f"{edf_path}: the montage channels have different sampling rates ({detail})")
        x = np.stack([edf.read_physical(s.index) for s in chosen])
        fs = chosen[0].sample_rate
    labels = read_csv_bi(csv_path)
    return x, fs, labels.seizure_intervals()


def label_file(edf_path: Path) -> Path | None:
    """The recording's labels: its `.csv_bi` (one interval list), else TUSZ's per-channel `.csv`, whose seizure
    rows of every channel and every seizure type are merged into one list (the original read the `.csv` files but
    dropped cnsz, atsz and nesz); None when neither exists."""
    for suffix in (".csv_bi", ".csv"):
        path = edf_path.with_suffix(suffix)
        if path.exists():
            return path
    return None


def build_recording(edf_path: Path, csv_path: Path, out_dir: Path, rec_id: str, dtype: str, window: int, stride: int) -> dict:
    """Preprocesses one recording and writes its two .npy files; returns its manifest entry."""
    started = time.perf_counter()
    raw, fs, seizures = load_recording(edf_path, csv_path)
    x = preprocess_recording(raw, fs)  # (19, m) float32 at 256 Hz
    m = x.shape[1]
    labels = labels_from_events(seizures, m, TARGET_FS)
    n = window_count(m, window, stride)
    recordings = out_dir / "recordings"
    recordings.mkdir(parents=True, exist_ok=True)
    signal_name, labels_name = f"recordings/{rec_id}.signal.npy", f"recordings/{rec_id}.labels.npy"
    _save_atomic(out_dir / signal_name, np.ascontiguousarray(x.T).astype(DTYPES[dtype]))
    _save_atomic(out_dir / labels_name, labels.astype(np.uint8))
    cumulative = np.concatenate([[0], np.cumsum(labels, dtype=np.int64)])
    starts = np.arange(n, dtype=np.int64) * stride
    fractions = (cumulative[starts + window] - cumulative[starts]) / window
    return {
        "id": rec_id,
        "edf": str(edf_path),
        "csv_bi": str(csv_path),
        "source_stat": {"edf": _stat(edf_path), "csv_bi": _stat(csv_path)},
        "source_rate": fs,
        "samples": int(m),
        "windows": int(n),
        "signal": signal_name,
        "labels": labels_name,
        "seizure_seconds": float(labels.sum() / TARGET_FS),
        "seizure_fraction": [round(float(f), 6) for f in fractions],
        "build_seconds": round(time.perf_counter() - started, 3),
    }


def _save_atomic(path: Path, array: np.ndarray) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        np.save(f, array)
    os.replace(tmp, path)


def _build_one(job: tuple) -> dict:
    edf, csv, out, rec_id, dtype, window, stride = job
    try:
        return build_recording(edf, csv, out, rec_id, dtype, window, stride)
    except (DataFormatError, ValueError, OSError) as e:
        return {"id": rec_id, "edf": str(edf), "error": f"{type(e).__name__}: {e}"}


def build_cache(edf_dir: str | os.PathLike, out_dir: str | os.PathLike, dtype: str = "float16", workers: int = 1,
                window: int = WINDOW, stride: int = STRIDE, log: Callable[[str], None] = print) -> dict:
    """Builds (or brings up to date) the cache for every EDF under edf_dir with labels beside it (`label_file`).

    A recording whose EDF and label file are unchanged since the last build (same size and mtime, same dtype and
    geometry) keeps its files; a recording that fails (bad file, missing channels) is listed under "skipped"
    with the reason, and the others go on."""
    edf_dir, out = Path(edf_dir), Path(out_dir)
    if dtype not in DTYPES:
        raise CacheError(f"dtype {dtype!r} is not one of {', '.join(DTYPES)}")
    if not edf_dir.is_dir():
        raise CacheError(f"--edf-dir {edf_dir} is not a directory")
    out.mkdir(parents=True, exist_ok=True)
    previous = {}
    manifest_path = out / "manifest.json"
    if manifest_path.exists():
        try:
            old = json.loads(manifest_path.read_text())
            if old.get("format") == CACHE_FORMAT and old.get("dtype") == dtype and old.get("window") == window and old.get("stride") == stride:
                previous = {r["id"]: r for r in old.get("recordings", [])}
        except (OSError, ValueError):
            pass  # an unreadable old manifest means a full rebuild

    jobs, entries, skipped = [], [], []
    for edf in find_recordings(edf_dir):
        rec_id = recording_id(edf_dir, edf)
        csv = label_file(edf)
        if csv is None:
            skipped.append({"id": rec_id, "edf": str(edf),
                            "error": f"no labels: neither {edf.stem}.csv_bi nor {edf.stem}.csv is beside it"})
            continue
        old = previous.get(rec_id)
        if old and old.get("source_stat") == {"edf": _stat(edf), "csv_bi": _stat(csv)} and (out / old["signal"]).exists() and (out / old["labels"]).exists():
            entries.append(old)
            continue
        jobs.append((edf, csv, out, rec_id, dtype, window, stride))
    log(f"cache: {len(jobs) + len(entries)} recordings with labels under {edf_dir} ({len(entries)} up to date, {len(jobs)} to build)")
    if workers > 1 and len(jobs) > 1:
        with ProcessPoolExecutor(workers) as pool:
            results = list(pool.map(_build_one, jobs))
    else:
        results = [_build_one(j) for j in jobs]
    for r in results:
        if "error" in r:
            skipped.append(r)
            log(f"cache: skipped {r['id']}: {r['error']}")
        else:
            entries.append(r)
            log(f"cache: {r['id']}: {r['windows']} windows, {r['seizure_seconds']:.1f} s of seizure ({r['build_seconds']} s)")
    entries.sort(key=lambda r: r["id"])
    fractions = np.array([f for r in entries for f in r["seizure_fraction"]], dtype=np.float64)
    manifest = {
        "format": CACHE_FORMAT,
        "version": CACHE_VERSION,
        "sample_rate": TARGET_FS,
        "channels": list(MONTAGE_CHANNELS),
        "window": window,
        "stride": stride,
        "dtype": dtype,
        "layout": "signal (samples, 19) time-major; labels (samples,) uint8; window k = samples [k*stride, k*stride+window)",
        "totals": {
            "recordings": len(entries),
            "windows": int(fractions.size),
            "windows_with_seizure": int((fractions > 0).sum()),
            "windows_all_seizure": int((fractions >= 1).sum()),
            "skipped": len(skipped),
        },
        "recordings": entries,
        "skipped": skipped,
    }
    tmp = manifest_path.with_name("manifest.json.tmp")
    tmp.write_text(json.dumps(manifest, indent=1))
    os.replace(tmp, manifest_path)
    t = manifest["totals"]
    log(f"cache: wrote {manifest_path}: {t['recordings']} recordings, {t['windows']} windows ({t['windows_with_seizure']} with seizure), {t['skipped']} skipped")
    return manifest


@dataclass(frozen=True)
class _Recording:
    id: str
    first: int  # global index of its window 0
    windows: int
    signal: np.ndarray  # memory-mapped (m, 19)
    labels: np.ndarray  # memory-mapped (m,)


class WindowCache:
    """Reads a cache directory: `len(cache)` windows over all recordings, `cache[i]` one window as
    ((19, window) float32, (window,) float32), reading only that window's bytes."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        try:
            self.manifest = json.loads((self.root / "manifest.json").read_text())
        except (OSError, ValueError) as e:
            raise CacheError(f"{self.root}: no readable manifest.json ({e})") from None
        if self.manifest.get("format") != CACHE_FORMAT or self.manifest.get("version") != CACHE_VERSION:
            raise CacheError(f"{self.root}: manifest is not {CACHE_FORMAT} version {CACHE_VERSION}")
        self.window_length, self.stride = int(self.manifest["window"]), int(self.manifest["stride"])
        self.recordings: list[_Recording] = []
        first = 0
        for r in self.manifest["recordings"]:
            signal = np.load(self.root / r["signal"], mmap_mode="r")
            labels = np.load(self.root / r["labels"], mmap_mode="r")
            if signal.shape != (r["samples"], len(MONTAGE_CHANNELS)) or labels.shape != (r["samples"],):
                raise CacheError(f"{self.root}: {r['id']} files have shapes {signal.shape} and {labels.shape}, the manifest says ({r['samples']}, 19)")
            self.recordings.append(_Recording(r["id"], first, r["windows"], signal, labels))
            first += r["windows"]
        self._firsts = np.array([rec.first for rec in self.recordings], dtype=np.int64)
        self._count = first

    def __len__(self) -> int:
        return self._count

    def locate(self, index: int) -> tuple[int, int]:
        """(recording position, window within it) of a global window index."""
        if not 0 <= index < self._count:
            raise IndexError(f"window {index} does not exist: the cache holds {self._count}")
        r = int(np.searchsorted(self._firsts, index, side="right")) - 1
        while self.recordings[r].windows == 0 or index - self.recordings[r].first >= self.recordings[r].windows:
            r += 1  # skip recordings with no windows that share the same first index
        return r, index - self.recordings[r].first

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        r, k = self.locate(int(index))
        rec = self.recordings[r]
        s = k * self.stride
        x = np.asarray(rec.signal[s : s + self.window_length], dtype=np.float32).T.copy()
        y = np.asarray(rec.labels[s : s + self.window_length], dtype=np.float32)
        return x, y

    def seizure_fractions(self) -> np.ndarray:
        return np.array([f for r in self.manifest["recordings"] for f in r["seizure_fraction"]], dtype=np.float64)


FULL_SEIZURE_FRACTION = 0.99  # a window at least this much seizure counts as "full" (ORIGINAL_PIPELINE.md)


def balanced_indices(fractions: np.ndarray, rng: np.random.Generator, full_fraction: float = 0.3, background_ratio: float = 2.5) -> np.ndarray:
    """The original's balanced sampling, as window indices in random order: every partial-seizure window
    (0 < fraction < 0.99), int(full_fraction * #partial) of the full-seizure windows (fraction >= 0.99) and
    int(background_ratio * #partial) of the seizure-free windows, each capped at what exists, drawn without
    replacement. Both counts are ratios of the partial windows, as the original computes them."""
    fractions = np.asarray(fractions, dtype=np.float64)
    partial = np.flatnonzero((fractions > 0) & (fractions < FULL_SEIZURE_FRACTION))
    full = np.flatnonzero(fractions >= FULL_SEIZURE_FRACTION)
    background = np.flatnonzero(fractions <= 0)
    full_taken = rng.choice(full, size=min(full.size, int(full_fraction * partial.size)), replace=False)
    background_taken = rng.choice(background, size=min(background.size, int(background_ratio * partial.size)), replace=False)
    chosen = np.concatenate([partial, full_taken, background_taken]).astype(np.int64)
    rng.shuffle(chosen)
    return chosen

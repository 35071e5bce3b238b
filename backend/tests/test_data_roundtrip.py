"""A synthetic recording round trip across the two languages, on real files and real processes: the TypeScript
generator writes EDF+ and .csv_bi (node runs test/data/roundtrip-driver.ts), the TypeScript and the Python
readers both read it back (within half a digital step of the generated values, and equal to each other), the
Python cache builder preprocesses, windows and caches it, and the cache's windows equal the DSP windows.
Windows npz files cross the language boundary both ways."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from ictal_backend.data.cache import WindowCache, build_cache
from ictal_backend.data.csv_bi import read_csv_bi
from ictal_backend.data.edf import EdfReader
from ictal_backend.data.npz import WindowsNpz
from ictal_backend.data.tusz import map_channels
from ictal_backend.dsp.preprocess import labels_from_events, preprocess_recording, windows

from data_fixtures import fresh_seed

ROOT = Path(__file__).resolve().parents[2]
DRIVER = ROOT / "test/data/roundtrip-driver.ts"
IN_CI = os.environ.get("CI", "") not in ("", "false")
SEED = fresh_seed() % 100000


def node_driver(*args: str) -> str:
    node = shutil.which("node")
    if not node or not (ROOT / "node_modules/tsx").exists():
        why = "node or node_modules/tsx is missing (run npm install)"
        if IN_CI:
            pytest.fail(f"CI=true requires the TypeScript/Python round trip to run: {why}")
        warnings.warn(f"TS/PYTHON ROUND TRIP SKIPPED: {why}")
        pytest.skip(why)
    r = subprocess.run([node, "--import", "tsx", str(DRIVER), *args], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, f"roundtrip-driver {args[0]} failed:\n{r.stderr}"
    return r.stdout


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    d = tmp_path_factory.mktemp("synth")
    print(f"synthetic seed {SEED} (ICTAL_SEED={SEED} replays)")
    info = json.loads(node_driver("synth", str(d), "2", str(SEED)))
    return d, info


def test_both_readers_agree_within_the_digital_resolution(recording):
    d, info = recording
    truth = np.load(d / "truth.npy")  # float32 microvolts the generator produced
    ts_read = np.load(d / "ts_read.npy")
    with EdfReader(d / f"{info['name']}.edf") as edf:
        indices, refs = map_channels([s.label for s in edf.header.signals])
        assert refs == ["REF"]
        py_read = np.stack([edf.read_physical(i) for i in indices])
        half_steps = np.array([edf.header.signals[i].gain / 2 for i in indices])[:, None]
        notes, _ = edf.read_annotations()
    assert py_read.shape == truth.shape == ts_read.shape == (19, 2 * 60 * 256)
    assert np.all(np.abs(py_read - truth) <= half_steps * (1 + 1e-6))
    assert np.abs(py_read - ts_read).max() <= 1e-9 * np.abs(py_read).max()
    seizures = [(a.onset, a.onset + a.duration) for a in notes if a.text == "seiz"]
    labels = read_csv_bi(d / f"{info['name']}.csv_bi").seizure_intervals()
    assert np.allclose(seizures, labels, atol=1e-3) and np.allclose(labels, info["seizures"])


@pytest.mark.parametrize("dtype,atol", [("float32", 0.0), ("float16", 10 * 2.0**-11)])
def test_cache_builder_windows_equal_the_dsp_windows(recording, tmp_path, dtype, atol):
    d, info = recording
    out = tmp_path / "cache"
    manifest = build_cache(d, out, dtype=dtype, log=lambda _: None)
    assert manifest["totals"]["recordings"] == 1 and manifest["skipped"] == []
    with EdfReader(d / f"{info['name']}.edf") as edf:
        indices, _ = map_channels([s.label for s in edf.header.signals])
        raw = np.stack([edf.read_physical(i) for i in indices])
    x = preprocess_recording(raw, 256.0)
    sample_labels = labels_from_events(read_csv_bi(d / f"{info['name']}.csv_bi").seizure_intervals(), x.shape[1])
    expected_windows, expected_labels = windows(x, sample_labels)
    cache = WindowCache(out)
    assert len(cache) == len(expected_windows) == manifest["totals"]["windows"] == 7  # (120 s - 60 s) / 10 s + 1
    for k in range(len(cache)):
        w, lab = cache[k]
        assert w.dtype == np.float32 and w.shape == (19, 15360)
        assert np.abs(w - expected_windows[k]).max() <= atol
        assert np.array_equal(lab, expected_labels[k])
    assert np.allclose(cache.seizure_fractions(), expected_labels.mean(axis=1), atol=1e-6)
    assert manifest["totals"]["windows_with_seizure"] == int((expected_labels.sum(axis=1) > 0).sum()) > 0
    messages = []
    build_cache(d, out, dtype=dtype, log=messages.append)  # unchanged sources: nothing rebuilt
    assert "(1 up to date, 0 to build)" in messages[0]


def test_cache_command_line(recording, tmp_path):
    d, info = recording
    src = tmp_path / "edf"
    shutil.copytree(d, src / "patient1", ignore=shutil.ignore_patterns("*.npy"))
    (src / "patient2" / "s001").mkdir(parents=True)
    for suffix in (".edf", ".csv_bi"):  # a second recording, deeper: found recursively, named by its path
        shutil.copy(d / f"{info['name']}{suffix}", src / "patient2" / "s001" / f"copy{suffix}")
    (src / "orphan.edf").write_bytes(b"0" * 10)  # no labels: listed as skipped, the rest goes on
    # A recording with only TUSZ's per-channel .csv: its seizures split over two channels and three of the types
    # the original dropped (cnsz, atsz, nesz); their union is the .csv_bi's seizure list.
    (src / "patient3").mkdir()
    shutil.copy(d / f"{info['name']}.edf", src / "patient3" / "perchannel.edf")
    rows = ["# version = csv_v1.0.0", "# duration = 120.0000 secs", "#", "channel,start_time,stop_time,label,confidence"]
    for k, (a, b) in enumerate(read_csv_bi(d / f"{info['name']}.csv_bi").seizure_intervals()):
        mid = (a + b) / 2
        rows += [f"FP1-F7,{a:.4f},{mid:.4f},{('cnsz', 'atsz', 'nesz')[k % 3]},1.0000", f"F7-T3,{mid - 1:.4f},{b:.4f},atsz,1.0000",
                 f"F7-T3,0.0000,{a:.4f},bckg,1.0000"]
    (src / "patient3" / "perchannel.csv").write_text("\n".join(rows) + "\n")
    r = subprocess.run([sys.executable, "-m", "ictal_backend", "cache", "--edf-dir", str(src), "--out", str(tmp_path / "c"), "--workers", "2"],
                       cwd=ROOT / "backend", capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "3 recordings, 21 windows" in r.stdout
    manifest = json.loads((tmp_path / "c" / "manifest.json").read_text())
    assert [rec["id"] for rec in manifest["recordings"]] == [f"patient1__{info['name']}", "patient2__s001__copy", "patient3__perchannel"]
    assert manifest["recordings"][2]["csv_bi"].endswith("perchannel.csv")
    assert manifest["skipped"] == [{"id": "orphan", "edf": str(src / "orphan.edf"), "error": "no labels: neither orphan.csv_bi nor orphan.csv is beside it"}]
    cache = WindowCache(tmp_path / "c")
    assert np.array_equal(cache[3][0], cache[7 + 3][0])  # the copy holds the same windows
    for k in range(7):  # the per-channel .csv labels the same samples as the .csv_bi (to its 4 decimals)
        assert np.array_equal(cache[k][1], cache[14 + k][1])


@pytest.mark.parametrize("compress", ["0", "1"])
def test_windows_npz_from_typescript_reads_in_python(tmp_path, compress):
    path = tmp_path / "ts_windows.npz"
    node_driver("write-npz", str(path), str(SEED), compress)
    with WindowsNpz(path) as npz:
        w, lab = npz.read_all()
        assert np.array_equal(w, np.load(f"{path}.windows.npy")) and np.array_equal(lab, np.load(f"{path}.labels.npy"))
        assert np.array_equal(npz.window(npz.count - 1)[0], w[-1])
    with np.load(path) as z:  # NumPy itself reads what TypeScript wrote
        assert np.array_equal(z["windows"], w)


@pytest.mark.parametrize("save", [np.savez, np.savez_compressed], ids=["savez", "savez_compressed"])
def test_windows_npz_from_numpy_reads_in_typescript(tmp_path, save):
    rng = np.random.default_rng(SEED)
    windows_ = rng.normal(size=(2, 19, 333)).astype(np.float32)
    labels_ = (rng.random((2, 333)) < 0.5).astype(np.float32)
    save(tmp_path / "np_windows.npz", windows=windows_, labels=labels_)
    node_driver("read-npz", str(tmp_path / "np_windows.npz"), str(tmp_path / "ts"))
    assert np.array_equal(np.load(tmp_path / "ts.windows.npy"), windows_)
    assert np.array_equal(np.load(tmp_path / "ts.labels.npy"), labels_)
    assert np.array_equal(np.load(tmp_path / "ts.last.npy"), windows_[-1])

"""Parity with the lab's executors, both ways: the same IR, weights and input through `python -m ictal_backend
forward` and `npx ictal forward` (the WebGPU executor in f32, and its float64 CPU reference) agree.

Direction 1: the lab's own initial weights (TypeScript-written safetensors). Direction 2: weights written by this
backend (seeded Python initialisation, then saved as a checkpoint is) read by the lab.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from ictal_backend.runtime import build_model
from ictal_backend.safetensors_io import save_weights
from graph_fixtures import ROOT, ts_graph

F32_TOLERANCE = 1e-4   # issue 5: f32 relative error <= 1e-4 (normalised by the largest |logit|)
# Fixed seeds: top-3 adjacency selection is discontinuous, and a fresh draw can put two edge weights within the
# executors' f32 rounding of each other (a ~5 % chance per run measured on v3-tiny), flipping one selection and
# failing a test that found no bug. Both executors are deterministic, so these inputs give the same result always.
PARITY_SEED = 20261129


def normalised_error(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.float64) - b.astype(np.float64)).max() / np.abs(b).max())


def python_forward(graph, weights, x_path, out_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT / "backend")}
    proc = subprocess.run([sys.executable, "-m", "ictal_backend", "forward", "--ir", str(graph), "--weights", str(weights),
                           "--input", str(x_path), "--output", str(out_path)], capture_output=True, text=True, env=env,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    return np.load(out_path)


def lab_forward(graph, weights, x_path, out_path, executor):
    proc = subprocess.run([shutil.which("npx"), "ictal", "forward", "--ir", str(graph), "--weights", str(weights),
                           "--input", str(x_path), "--output", str(out_path), "--executor", executor],
                          capture_output=True, text=True, cwd=ROOT, timeout=600,
                          env={**os.environ, "XDG_RUNTIME_DIR": os.environ.get("XDG_RUNTIME_DIR", "/tmp")})
    assert proc.returncode == 0, f"npx ictal forward --executor {executor} failed:\n{proc.stdout}\n{proc.stderr}"
    return np.load(out_path)


@pytest.mark.parametrize("direction", ["lab-weights", "backend-weights"])
def test_backend_and_lab_forward_agree(tmp_path, direction):
    graph, lab_weights = ts_graph()
    if direction == "lab-weights":
        weights = lab_weights
    else:
        weights = tmp_path / "backend.safetensors"
        save_weights(build_model(graph, None, seed=PARITY_SEED), weights)
    x = np.random.default_rng(PARITY_SEED).standard_normal((2, 19, 2560)).astype(np.float32) * 3
    x[1, 4, 1000:1010] = np.nan  # sanitised the same way on both sides
    np.save(tmp_path / "x.npy", x)
    ours = python_forward(graph, weights, tmp_path / "x.npy", tmp_path / "ours.npy")
    reference = lab_forward(graph, weights, tmp_path / "x.npy", tmp_path / "ref.npy", "cpu")
    webgpu = lab_forward(graph, weights, tmp_path / "x.npy", tmp_path / "gpu.npy", "webgpu")
    assert ours.shape == reference.shape == webgpu.shape == (2, 2560)
    assert normalised_error(ours, reference) <= F32_TOLERANCE
    assert normalised_error(ours, webgpu) <= F32_TOLERANCE

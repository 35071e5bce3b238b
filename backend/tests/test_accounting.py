"""The backend's port of the activation accounting equals the lab's own (`npx ictal graph --json`), which the
run API's max_activation_bytes limit relies on."""
from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from graph_fixtures import ROOT, ts_graph
from ictal_backend.accounting import saved_activation_bytes
from ictal_backend.ir import load_ir


@pytest.mark.parametrize("preset", ["v3-tiny", "v3"])
@pytest.mark.parametrize("batch", [1, 3])
def test_saved_activation_bytes_match_the_lab(preset: str, batch: int) -> None:
    graph_file, _ = ts_graph(preset)
    npx = shutil.which("npx")
    assert npx is not None  # ts_graph skipped already without it
    out = subprocess.run([npx, "ictal", "graph", "--preset", preset, "--batch", str(batch), "--json"], cwd=ROOT,
                         capture_output=True, text=True, timeout=300, check=True).stdout
    lab = json.loads(out)["activations"]["f32"]
    assert saved_activation_bytes(load_ir(graph_file), batch) == lab

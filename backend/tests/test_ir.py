"""IR loading: the lab's own v3/v3-tiny IR loads and runs; malformed documents and mismatched weights are
refused with messages that say what is wrong; `python -m ictal_backend forward` as a real process."""
from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from ictal_backend.ir import IrError, parse_ir
from ictal_backend.model import GraphModel
from ictal_backend.runtime import build_model, inference
from ictal_backend.safetensors_io import load_weights, save_weights
from graph_fixtures import ROOT, ts_graph, ts_graph_doc


def node(doc: dict, node_id: str) -> dict:
    return next(n for n in doc["nodes"] if n["id"] == node_id)


def test_the_labs_graphs_load():
    tiny = parse_ir(ts_graph_doc())
    assert tiny.name == "v3-tiny" and tiny.outputs == ("logits",)
    full = parse_ir(ts_graph_doc("v3"))
    n_params = sum(int(np.prod(p.shape)) for p in full.params.values())
    assert 8.9e6 < n_params < 9.2e6  # V3_MODEL.md: ~9.05M live parameters


def break_doc(mutate):
    doc = copy.deepcopy(ts_graph_doc())
    mutate(doc)
    return doc


def _set(key, value):
    return lambda doc: doc.update({key: value})


MALFORMED = [
    ("version 2", _set("ictal_ir", 2), r"ictal_ir: version 2 is not supported"),
    ("no version", lambda d: d.pop("ictal_ir"), r'missing field "ictal_ir"'),
    ("extra top-level key", _set("extra", 1), r'unknown field "extra"'),
    ("unknown op", lambda d: node(d, "tcn.layers.0.relu").update(op="gelu"), r'unknown op "gelu"'),
    ("duplicate id", lambda d: d["nodes"][2].update(id=d["nodes"][1]["id"]), r"duplicate node id"),
    ("missing attr", lambda d: node(d, "tcn.layers.0.conv")["attrs"].pop("dilation"), r'attribute "dilation" is missing'),
    ("extra attr", lambda d: node(d, "adjacency")["attrs"].update(sigma=1), r'unknown attribute "sigma"'),
    ("attr wrong type", lambda d: node(d, "tcn.layers.0.conv")["attrs"].update(bias="yes"), r'"bias" must be true or false'),
    ("attr out of range", lambda d: node(d, "tcn.layers.0.dropout")["attrs"].update(p=1.5), r'"p" must be < 1'),
    ("k too large", lambda d: node(d, "adjacency")["attrs"].update(k=19), r"k = 19 exceeds the 18 neighbours"),
    ("bad shape dim", lambda d: d["tensors"]["eeg"].update(shape=["B", 19, -5]), r'tensors\["eeg"\].shape: dimension 2 is -5'),
    ("B not first", lambda d: d["tensors"]["eeg"].update(shape=[19, "B", 2560]), r'dimension 1 is "B"'),
    ("absurd size", lambda d: d["tensors"]["eeg"].update(shape=["B", 2**31, 2560]), r"absurdly large"),
    ("dangling input", lambda d: node(d, "tcn.layers.0.conv").update(inputs=["nowhere"]), r'tensor "nowhere" is not declared anywhere'),
    ("out of order", lambda d: d["nodes"].insert(0, d["nodes"].pop(1)), r"not produced by any earlier node"),
    ("declared shape wrong", lambda d: d["tensors"]["tcn.layers.0.conv"].update(shape=["B", 9, 2560]),
     r'declared \[B, 9, 2560\] but the op gives \[B, 8, 2560\] \(dimension 1: 9 vs 8\)'),
    ("param misnamed", lambda d: node(d, "tcn.proj")["params"].update(weight="tcn.channel_proj.weight"),
     r'named "tcn.channel_proj.weight"; parameter names are "<node id>.<role>"'),
    ("param shape wrong", lambda d: d["params"]["tcn.proj.bias"].update(shape=[3]), r'"tcn.proj.bias" is declared \[3\] but the op needs \[32\]'),
    ("unused param", lambda d: d["params"].update(orphan={"shape": [1], "dtype": "F32", "weight_decay": False,
                                                           "init": {"dist": "const", "value": 0}}),
     r'params\["orphan"\]: declared but no node uses it'),
    ("buffer values short", lambda d: d["buffers"]["pe.value"].update(values=[0.0] * 10), r"10 values for shape \[19, 16\]"),
    ("non-finite config", lambda d: d["config"].update(x=float("nan")), r"config.x: nan is not finite"),
    ("output never produced", _set("outputs", ["probabilities"]), r'outputs\[0\]: tensor "probabilities" is never produced'),
]


@pytest.mark.parametrize("name,mutate,message", MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_ir_is_refused_with_a_precise_message(name, mutate, message):
    with pytest.raises(IrError, match=message):
        parse_ir(break_doc(mutate))


def test_non_json_and_nan_literals_are_refused():
    with pytest.raises(IrError, match="not valid JSON"):
        parse_ir("{not json")
    text = re.sub(r'"eps": [0-9.e+-]+', '"eps": NaN', ts_graph()[0].read_text(), count=1)
    assert "NaN" in text
    with pytest.raises(IrError, match="NaN is not a JSON number"):
        parse_ir(text)


def test_weights_that_do_not_fit_are_refused(tmp_path):
    graph_path, weights_path = ts_graph()
    model = GraphModel(parse_ir(graph_path.read_text()))
    tensors = load_file(str(weights_path))

    def write(mutated: dict) -> Path:
        p = tmp_path / f"w{len(list(tmp_path.iterdir()))}.safetensors"
        save_file(mutated, str(p))
        return p

    cases = [
        ({k: v for k, v in tensors.items() if k != "tcn.down.bias"}, r"lacks 1 tensor\(s\) the graph declares: tcn.down.bias"),
        ({**tensors, "extra.weight": torch.zeros(2)}, r"does not declare: extra.weight"),
        ({**tensors, "tcn.down.bias": torch.zeros(3)}, r"'tcn.down.bias' has shape \[3\], the graph declares \[32\]"),
        ({**tensors, "tcn.down.bias": torch.full((32,), float("nan"))}, r"'tcn.down.bias' holds non-finite values"),
        ({**tensors, "pe.value": tensors["pe.value"] + 0.01}, r"buffer 'pe.value' differs from the IR's values"),
    ]
    for mutated, message in cases:
        with pytest.raises(IrError, match=message):
            load_weights(model, write(mutated))
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not a header}")
    with pytest.raises(IrError, match="not a readable safetensors file"):
        load_weights(model, junk)


def test_weights_round_trip_exactly(tmp_path):
    graph_path, weights_path = ts_graph()
    model = build_model(graph_path, weights_path)
    save_weights(model, tmp_path / "out.safetensors", {"step": "3"})
    a, b = load_file(str(weights_path)), load_file(str(tmp_path / "out.safetensors"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_tiny_graph_runs_and_the_scan_implementations_agree():
    graph_path, weights_path = ts_graph()
    model = build_model(graph_path, weights_path)
    # A fixed seed: the two scans differ by f32 rounding, and top-3 adjacency selection is discontinuous; a fresh
    # draw can tie two edge weights within that rounding and flip a selection. Deterministic, so stable.
    x = torch.randn(2, 19, 2560, generator=torch.Generator().manual_seed(20261129)) * 2
    x[0, 3, 100] = float("nan")
    with inference(model):
        chunked = model(x)
        model.set_scan_impl("sequential")
        sequential = model(x)
    assert chunked.shape == (2, 2560) and torch.isfinite(chunked).all()
    assert (chunked - sequential).abs().max() <= 1e-4 * chunked.abs().max()


def run_cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "backend")}
    return subprocess.run([sys.executable, "-m", "ictal_backend", *args], capture_output=True, text=True, env=env,
                          timeout=300)


def test_forward_command_writes_the_models_logits(tmp_path):
    graph_path, weights_path = ts_graph()
    x = np.random.default_rng().standard_normal((19, 2560)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    proc = run_cli("forward", "--ir", str(graph_path), "--weights", str(weights_path), "--input", str(tmp_path / "x.npy"),
                   "--output", str(tmp_path / "y.npy"))
    assert proc.returncode == 0, proc.stderr
    y = np.load(tmp_path / "y.npy")
    model = build_model(graph_path, weights_path)
    with inference(model):
        want = model(torch.from_numpy(x)[None])[0].numpy()
    assert y.shape == (2560,) and y.dtype == np.float32
    assert np.abs(y - want).max() <= 1e-5 * np.abs(want).max()


def test_forward_command_names_a_wrong_input_shape(tmp_path):
    graph_path, weights_path = ts_graph()
    np.save(tmp_path / "x.npy", np.zeros((2, 18, 2560), np.float32))
    proc = run_cli("forward", "--ir", str(graph_path), "--weights", str(weights_path), "--input", str(tmp_path / "x.npy"),
                   "--output", str(tmp_path / "y.npy"))
    assert proc.returncode == 2
    assert "shape [2, 18, 2560]; the graph takes (B, 19, 2560)" in proc.stderr
    proc = run_cli("forward", "--ir", str(tmp_path / "missing.json"), "--weights", str(weights_path),
                   "--input", str(tmp_path / "x.npy"), "--output", str(tmp_path / "y.npy"))
    assert proc.returncode == 2 and "cannot read the IR file" in proc.stderr


def test_npm_backend_script_runs_the_module_from_the_callers_directory(tmp_path):
    """scripts/backend.sh (npm run backend): the environment is there (stamp), paths are taken from INIT_CWD."""
    graph_path, weights_path = ts_graph()
    np.save(tmp_path / "x.npy", np.zeros((1, 19, 2560), np.float32))
    proc = subprocess.run(["bash", str(ROOT / "scripts" / "backend.sh"), "forward", "--ir", str(graph_path), "--weights",
                           str(weights_path), "--input", "x.npy", "--output", "y.npy"], capture_output=True, text=True,
                          cwd=ROOT, env={**os.environ, "INIT_CWD": str(tmp_path)}, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert np.load(tmp_path / "y.npy").shape == (1, 2560)
    proc = subprocess.run(["bash", str(ROOT / "scripts" / "backend.sh"), "nonsense"], capture_output=True, text=True,
                          cwd=ROOT, timeout=300)
    assert proc.returncode == 2 and "unknown subcommand 'nonsense'" in proc.stderr

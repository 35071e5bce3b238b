"""import-checkpoint / export-checkpoint against checkpoints built here from ORIGINAL_CHECKPOINT.md's key table.

The "original" checkpoints below are written from the design doc's table (keys, shapes, skipped keys, the PE
buffer), and the expected IR name of every key is spelled out again here from that table: neither uses the
importer's mapping, so a wrong entry there fails these tests.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections import OrderedDict

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from ictal_backend.ir import parse_ir
from ictal_backend.original_checkpoint import CheckpointError, export_checkpoint, import_checkpoint
from ictal_backend.runtime import build_model, inference
from graph_fixtures import ROOT, ts_graph, ts_graph_doc

E = 19
# v3-tiny's sizes, in the words of the doc's table.
TINY = {"channels": [8, 16, 16, 32, 8, 16, 16, 32], "kernel": 7, "down": 16, "D": 16, "node_layers": 2, "node_state": 8,
        "node_headdim": 4, "edge_D": 8, "edge_layers": 1, "edge_state": 4, "edge_headdim": 4, "expand": 2, "d_conv": 4,
        "pe": 16, "gnn": 16, "head": 32}
SAMPLES = 2560


def original_state_dict(s: dict, seed: int | None = None) -> OrderedDict[str, torch.Tensor]:
    """A state_dict laid out as ORIGINAL_CHECKPOINT.md says the original's is, random values, unused keys too."""
    g = torch.Generator().manual_seed(seed if seed is not None else int(np.random.default_rng().integers(2**31)))
    sd: OrderedDict[str, torch.Tensor] = OrderedDict()

    def put(key, *shape, scale=0.2, positive=False):
        t = torch.randn(*shape, generator=g) * scale
        sd[key] = t.abs() + 0.5 if positive else t

    def conv(key, cout, cin, k):
        put(f"{key}.weight", cout, cin, k, scale=1 / (cin * k) ** 0.5)
        put(f"{key}.bias", cout, scale=0.05)

    cin = E
    for i, cout in enumerate(s["channels"]):  # Sequential [conv, ReLU, Dropout] x 8: indices 0, 3, 6, ...
        put(f"tcn_encoder.tcn.network.{3 * i}.weight_v", cout, cin, s["kernel"])
        put(f"tcn_encoder.tcn.network.{3 * i}.weight_g", cout, 1, 1, positive=True)
        put(f"tcn_encoder.tcn.network.{3 * i}.bias", cout, scale=0.05)
        cin = cout
    c = s["channels"][-1]
    conv("tcn_encoder.tcn.projection", c, c, 1)
    conv("tcn_encoder.channel_proj", c, c, 1)
    conv("tcn_encoder.downsample", c, c, s["down"])
    conv("proj_to_electrodes", E * s["D"], c, 1)

    def bi_mamba(prefix, d_model, n_state, headdim):
        d_inner = s["expand"] * d_model
        heads = d_inner // headdim
        for direction in ("forward", "backward"):
            p = f"{prefix}.{direction}_mamba_real"
            put(f"{p}.in_proj.weight", 2 * d_inner + 2 * n_state + heads, d_model, scale=1 / d_model**0.5)
            put(f"{p}.conv1d.weight", d_inner + 2 * n_state, 1, s["d_conv"], scale=0.5)
            put(f"{p}.conv1d.bias", d_inner + 2 * n_state, scale=0.05)
            put(f"{p}.dt_bias", heads, scale=0.5)
            sd[f"{p}.A_log"] = torch.log(torch.rand(heads, generator=g) * 15 + 1)
            put(f"{p}.D", heads, positive=True)
            put(f"{p}.norm.weight", d_inner, positive=True)
            put(f"{p}.out_proj.weight", d_model, d_inner, scale=1 / d_inner**0.5)
            put(f"{prefix}.{direction}_mamba_fallback.weight", d_model, 1, 3)   # unused by v3 (skipped)
            put(f"{prefix}.{direction}_mamba_fallback.bias", d_model)
        put(f"{prefix}.output_proj.weight", d_model, 2 * d_model, scale=1 / (2 * d_model) ** 0.5)
        put(f"{prefix}.output_proj.bias", d_model, scale=0.05)
        put(f"{prefix}.layer_norm.weight", d_model, positive=True)
        put(f"{prefix}.layer_norm.bias", d_model, scale=0.05)

    for i in range(s["node_layers"]):
        bi_mamba(f"node_mamba.layers.{i}", s["D"], s["node_state"], s["node_headdim"])
    put("edge_in_proj.weight", s["edge_D"], 1, 1)
    for i in range(s["edge_layers"]):
        bi_mamba(f"edge_mamba.layers.{i}", s["edge_D"], s["edge_state"], s["edge_headdim"])
    put("edge_out_proj.weight", 1, s["edge_D"], 1)
    put("edge_out_proj.bias", 1, scale=0.05)
    put("gnn.gnn_layers.0.lin.weight", s["gnn"], s["D"] + s["pe"], scale=1 / (s["D"] + s["pe"]) ** 0.5)
    put("gnn.gnn_layers.0.lin.bias", s["gnn"], scale=0.05)
    put("gnn.gnn_layers.1.lin.weight", s["gnn"], s["gnn"], scale=1 / s["gnn"] ** 0.5)
    put("gnn.gnn_layers.1.lin.bias", s["gnn"], scale=0.05)
    for i in range(2):
        put(f"gnn.layer_norms.{i}.weight", s["gnn"], positive=True)
        put(f"gnn.layer_norms.{i}.bias", s["gnn"], scale=0.05)
    put("gnn.edge_transform.weight", 1, 1)     # unused by v3 (skipped)
    put("gnn.edge_transform.bias", 1)
    put("gnn.static_pe", E, s["pe"], scale=0.3)
    conv("proj_from_electrodes", s["head"], E * s["gnn"], 1)
    conv("proj_head.proj", E, s["head"], 1)
    conv("detection_head", 1, E, 1)
    for i in range(2):                         # the stack the v3 forward never calls (skipped)
        put(f"mamba.layers.{i}.in_proj.weight", 40, 12)
        put(f"mamba.layers.{i}.norm.weight", 12)
    return sd


def expected_ir_tensors(sd: dict[str, torch.Tensor], s: dict) -> dict[str, torch.Tensor]:
    """IR name -> tensor, from the doc's table (IR names from docs/ir.md "The v3 wiring")."""
    out = {}
    for i in range(len(s["channels"])):
        for r in ("weight_v", "weight_g", "bias"):
            out[f"tcn.layers.{i}.conv.{r}"] = sd[f"tcn_encoder.tcn.network.{3 * i}.{r}"]
    for ir, orig in [("tcn.proj", "tcn_encoder.tcn.projection"), ("tcn.channel_proj", "tcn_encoder.channel_proj"),
                     ("tcn.down", "tcn_encoder.downsample"), ("electrodes", "proj_to_electrodes"),
                     ("head.conv1", "proj_from_electrodes"), ("head.conv2", "proj_head.proj"), ("head.out", "detection_head")]:
        out[f"{ir}.weight"], out[f"{ir}.bias"] = sd[f"{orig}.weight"], sd[f"{orig}.bias"]
    for stream, layers in (("node", s["node_layers"]), ("edge", s["edge_layers"])):
        for i in range(layers):
            for ir_dir, orig_dir in (("fwd", "forward"), ("bwd", "backward")):
                for r in ("in_proj.weight", "conv1d.weight", "conv1d.bias", "dt_bias", "A_log", "D", "norm.weight", "out_proj.weight"):
                    out[f"{stream}.layers.{i}.{ir_dir}.{r}"] = sd[f"{stream}_mamba.layers.{i}.{orig_dir}_mamba_real.{r}"]
            for w in ("weight", "bias"):
                out[f"{stream}.layers.{i}.proj.{w}"] = sd[f"{stream}_mamba.layers.{i}.output_proj.{w}"]
                out[f"{stream}.layers.{i}.norm.{w}"] = sd[f"{stream}_mamba.layers.{i}.layer_norm.{w}"]
    out["edge.lift.weight"] = sd["edge_in_proj.weight"].reshape(s["edge_D"], 1)
    out["edge.project.weight"] = sd["edge_out_proj.weight"].reshape(1, s["edge_D"])
    out["edge.project.bias"] = sd["edge_out_proj.bias"]
    for i in range(2):
        for w in ("weight", "bias"):
            out[f"gnn.layers.{i}.conv.lin.{w}"] = sd[f"gnn.gnn_layers.{i}.lin.{w}"]
            out[f"gnn.layers.{i}.norm.{w}"] = sd[f"gnn.layer_norms.{i}.{w}"]
    out["pe.value"] = sd["gnn.static_pe"]
    return out


def backend_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ictal_backend", *args], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(ROOT / "backend")})


def needs_node():
    ts_graph()  # skips (or fails under CI=true) without Node, exactly as the other IR tests


def test_wrapped_checkpoint_maps_every_key_and_carries_its_pe(tmp_path):
    needs_node()
    sd = original_state_dict(TINY)
    torch.save({"epoch": 7, "model_state_dict": sd, "optimizer_state_dict": {"state": {0: {"step": torch.tensor(3.0)}},
                "param_groups": [{"lr": 1e-3, "params": [0]}]}, "scheduler_state_dict": {"last_epoch": 7}},
               tmp_path / "best.pt")
    proc = backend_cli("import-checkpoint", "--checkpoint", str(tmp_path / "best.pt"), "--ir", str(tmp_path / "g.json"),
                       "--weights", str(tmp_path / "w.safetensors"), "--samples", str(SAMPLES))
    assert proc.returncode == 0, proc.stderr
    # Skipped: 4 fallback tensors in each of 3 Bi-Mamba2 layers, gnn.edge_transform's 2, the unused stack's 4.
    assert "18 unused by v3 skipped" in proc.stdout
    doc = json.loads((tmp_path / "g.json").read_text())
    graph = parse_ir(doc)
    weights = load_file(str(tmp_path / "w.safetensors"))
    expected = expected_ir_tensors(sd, TINY)
    assert set(weights) == set(graph.params) | set(graph.buffers) == set(expected)
    for name, t in expected.items():
        assert weights[name].dtype == torch.float32 and torch.equal(weights[name], t), name
    # The PE the model was trained with, not the lab's own, in the IR buffer and the weights alike.
    pe = sd["gnn.static_pe"].double().flatten().tolist()
    assert doc["buffers"]["pe.value"]["values"] == pe
    assert pe != ts_graph_doc()["buffers"]["pe.value"]["values"]
    # The config describes the checkpoint's sizes (and so does every shape, parse_ir checked them).
    c = doc["config"]
    assert (c["samples"], c["tcn"]["channels"], c["tcn"]["downsample"], c["electrode_dim"]) == (SAMPLES, TINY["channels"], 16, 16)
    assert (c["node"]["layers"], c["node"]["d_state"], c["node"]["headdim"]) == (2, 8, 4)
    assert (c["edge"]["d_model"], c["edge"]["layers"], c["edge"]["d_state"]) == (8, 1, 4)
    assert (c["gnn"]["hidden"], c["head"]["hidden"], c["pe"]["dim"]) == (16, 32, 16)


def test_full_size_checkpoint_imports_as_the_full_v3(tmp_path):
    needs_node()
    full = {"channels": [64, 128, 256, 512, 64, 128, 256, 512], "kernel": 7, "down": 16, "D": 64, "node_layers": 6,
            "node_state": 16, "node_headdim": 8, "edge_D": 16, "edge_layers": 2, "edge_state": 8, "edge_headdim": 4,
            "expand": 2, "d_conv": 4, "pe": 16, "gnn": 64, "head": 512}
    sd = original_state_dict(full)
    # The doc's full-size shapes, as a check on this file's builder.
    for key, shape in [("node_mamba.layers.5.backward_mamba_real.in_proj.weight", (304, 64)),
                       ("node_mamba.layers.0.forward_mamba_real.conv1d.weight", (160, 1, 4)),
                       ("edge_mamba.layers.1.forward_mamba_real.in_proj.weight", (88, 16)),
                       ("edge_mamba.layers.0.backward_mamba_real.out_proj.weight", (16, 32)),
                       ("gnn.gnn_layers.0.lin.weight", (64, 80)), ("proj_from_electrodes.weight", (512, 1216, 1)),
                       ("tcn_encoder.downsample.weight", (512, 512, 16)), ("gnn.static_pe", (19, 16))]:
        assert tuple(sd[key].shape) == shape, key
    torch.save({"model_state_dict": sd}, tmp_path / "full.pt")
    doc, _ = import_checkpoint(tmp_path / "full.pt", tmp_path / "g.json", tmp_path / "w.safetensors")
    assert doc["config"]["samples"] == 15360 and doc["tensors"]["logits"]["shape"] == ["B", 15360]
    assert sum(int(np.prod(p["shape"])) for p in doc["params"].values()) == 9_040_392   # docs/ir.md's total
    lab = ts_graph_doc("v3")
    assert doc["nodes"] == lab["nodes"] and doc["params"] == lab["params"]


def test_bare_state_dict_imports_the_same_as_wrapped(tmp_path):
    needs_node()
    sd = original_state_dict(TINY)
    torch.save(sd, tmp_path / "bare.pt")
    torch.save({"model_state_dict": sd, "optimizer_state_dict": {}}, tmp_path / "wrapped.pt")
    docs = [import_checkpoint(tmp_path / f"{k}.pt", tmp_path / f"{k}.json", tmp_path / f"{k}.safetensors", SAMPLES)[0]
            for k in ("bare", "wrapped")]
    assert docs[0] == docs[1]
    a, b = load_file(str(tmp_path / "bare.safetensors")), load_file(str(tmp_path / "wrapped.safetensors"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_imported_pair_runs_unchanged_in_ictal_forward(tmp_path):
    """The lab's executor (WebGPU, f32) on the imported pair gives the backend's logits; and the PE matters."""
    needs_node()
    seed = 20261205  # fixed: top-k selection is discontinuous (see test_parity.py)
    torch.save({"model_state_dict": original_state_dict(TINY, seed)}, tmp_path / "orig.pt")
    doc, _ = import_checkpoint(tmp_path / "orig.pt", tmp_path / "g.json", tmp_path / "w.safetensors", SAMPLES)
    x = np.random.default_rng(seed).standard_normal((2, E, SAMPLES)).astype(np.float32) * 3
    np.save(tmp_path / "x.npy", x)
    proc = subprocess.run([shutil.which("npx"), "ictal", "forward", "--ir", str(tmp_path / "g.json"), "--weights",
                           str(tmp_path / "w.safetensors"), "--input", str(tmp_path / "x.npy"), "--output",
                           str(tmp_path / "lab.npy"), "--executor", "webgpu"], capture_output=True, text=True, cwd=ROOT,
                          timeout=600, env={**os.environ, "XDG_RUNTIME_DIR": os.environ.get("XDG_RUNTIME_DIR", "/tmp")})
    assert proc.returncode == 0, f"npx ictal forward failed:\n{proc.stdout}\n{proc.stderr}"
    lab = np.load(tmp_path / "lab.npy").astype(np.float64)
    model = build_model(tmp_path / "g.json", tmp_path / "w.safetensors")
    with inference(model):
        ours = model(torch.from_numpy(x)).double().numpy()
    scale = np.abs(ours).max()
    assert lab.shape == ours.shape == (2, SAMPLES) and scale > 0
    assert np.abs(lab - ours).max() <= 1e-4 * scale          # test_parity.py's f32 bound
    # With the lab's deterministic PE instead of the checkpoint's, the same weights give other logits.
    lab_pe = ts_graph_doc()["buffers"]["pe.value"]["values"]
    doc["buffers"]["pe.value"]["values"] = lab_pe
    other = build_model(doc)
    with torch.no_grad():
        for name, t in other.ir_tensors().items():
            if name != "pe.value":
                t.copy_(model.ir_tensors()[name])
    with inference(other):
        moved = np.abs(other(torch.from_numpy(x)).double().numpy() - ours).max()
    assert moved > 1e-3 * scale


def refused(sd_or_obj, tmp_path, match: str, name: str = "c.pt"):
    path = tmp_path / name
    torch.save(sd_or_obj, path)
    with pytest.raises(CheckpointError, match=match):
        import_checkpoint(path, tmp_path / "g.json", tmp_path / "w.safetensors", SAMPLES)
    assert not (tmp_path / "g.json").exists() and not (tmp_path / "w.safetensors").exists()


def test_another_architecture_is_refused_naming_what_is_missing_and_unexpected(tmp_path):
    resnet = OrderedDict([("conv1.weight", torch.zeros(8, 3, 7, 7)), ("fc.weight", torch.zeros(10, 8))])
    refused({"model_state_dict": resnet}, tmp_path, r"not a checkpoint of the original v3 detector: it lacks "
            r"tcn_encoder\.tcn\.network\.0\.weight_v, .*gnn\.static_pe.*; it holds 2 key\(s\) the v3 layout does not "
            r"have: conv1\.weight, fc\.weight")
    sd = original_state_dict(TINY)
    sd["gnn.attention.weight"] = torch.zeros(4, 4)            # a v3 relative with one module more
    refused(sd, tmp_path, r"the v3 layout does not have: gnn\.attention\.weight")


def test_missing_keys_and_wrong_sizes_are_refused_naming_the_key(tmp_path):
    needs_node()
    sd = original_state_dict(TINY)
    del sd["node_mamba.layers.1.backward_mamba_real.D"]
    refused(sd, tmp_path, r"lacks node_mamba\.layers\.1\.backward_mamba_real\.D \(for the graph's node\.layers\.1\.bwd\.D \[8\]\)")

    sd = original_state_dict(TINY)
    sd["node_mamba.layers.1.forward_mamba_real.in_proj.weight"] = torch.zeros(89, 16)   # 2*32 + 2*8 + 8 = 88 rows
    refused(sd, tmp_path, r"node_mamba\.layers\.1\.forward_mamba_real\.in_proj\.weight has shape \[89, 16\], but the "
                          r"sizes read from the other keys need \[88, 16\]")

    sd = original_state_dict(TINY)
    sd["tcn_encoder.tcn.network.0.weight_v"] = torch.zeros(8, 20, 7)                     # 20 EEG channels, not 19
    refused(sd, tmp_path, r"tcn_encoder\.tcn\.network\.0\.weight_v has shape \[8, 20, 7\].*need \[8, 19, 7\]")

    sd = original_state_dict(TINY)
    sd["proj_to_electrodes.weight"] = torch.zeros(20 * 16, 32, 1)
    refused(sd, tmp_path, r"proj_to_electrodes\.weight: 320 output channels over 19 electrodes: 320 is not a multiple of 19")

    sd = original_state_dict(TINY)
    sd["gnn.static_pe"] = torch.zeros(20, 16)
    refused(sd, tmp_path, r"gnn\.static_pe has shape \[20, 16\]: one row per electrode \(19\) expected")

    sd = original_state_dict(TINY)
    sd["node_mamba.layers.3.output_proj.bias"] = torch.zeros(16)                         # layers 0, 1, 3
    refused(sd, tmp_path, r"node_mamba\.layers: layers \[0, 1, 3\] are not numbered 0 \.\. 2")

    sd = original_state_dict(TINY)
    sd["gnn.layer_norms.0.weight"] = sd["gnn.layer_norms.0.weight"].long()
    refused(sd, tmp_path, r"gnn\.layer_norms\.0\.weight has dtype torch\.int64")


def test_files_that_are_not_checkpoints_are_refused(tmp_path):
    (tmp_path / "notes.pt").write_text("hello, not a checkpoint\n")
    (tmp_path / "noise.pt").write_bytes(np.random.default_rng().bytes(4096))
    np.save(tmp_path / "array.npy", np.zeros(3))
    for f in ("notes.pt", "noise.pt", "array.npy"):
        with pytest.raises(CheckpointError, match=r"is not a PyTorch checkpoint"):
            import_checkpoint(tmp_path / f, tmp_path / "g.json", tmp_path / "w.safetensors")
    with pytest.raises(CheckpointError, match=r"does not exist"):
        import_checkpoint(tmp_path / "absent.pt", tmp_path / "g.json", tmp_path / "w.safetensors")
    refused([1, 2, 3], tmp_path, r"holds list: no state_dict")
    refused({"epoch": 3, "optimizer_state_dict": {}}, tmp_path, r"holds a dict with keys 'epoch', 'optimizer_state_dict': no state_dict")
    # A pickle that would run code when loaded without weights_only: refused, and the code never runs.
    marker = tmp_path / "ran"
    torch.save({"model_state_dict": original_state_dict(TINY), "hook": _Touch(str(marker))}, tmp_path / "evil.pt")
    with pytest.raises(CheckpointError, match=r"holds objects other than tensors .* would run code"):
        import_checkpoint(tmp_path / "evil.pt", tmp_path / "g.json", tmp_path / "w.safetensors")
    assert not marker.exists()
    # The command line says the same, with exit code 2.
    proc = backend_cli("import-checkpoint", "--checkpoint", str(tmp_path / "notes.pt"), "--ir", str(tmp_path / "g.json"),
                       "--weights", str(tmp_path / "w.safetensors"))
    assert proc.returncode == 2 and "import-checkpoint:" in proc.stderr and "is not a PyTorch checkpoint" in proc.stderr


class _Touch:
    def __init__(self, path: str):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_export_then_import_is_bit_identical(tmp_path):
    """Both ways: a lab graph -> original layout -> lab graph, and an original checkpoint -> lab -> original."""
    graph, weights = ts_graph("v3-tiny", 11)
    proc = backend_cli("export-checkpoint", "--ir", str(graph), "--weights", str(weights), "--out", str(tmp_path / "o.pt"))
    assert proc.returncode == 0, proc.stderr
    state = torch.load(tmp_path / "o.pt", weights_only=True)
    expected = expected_ir_tensors(state, TINY)   # the exported keys are the doc's, every IR tensor has one
    lab = load_file(str(weights))
    assert set(state) == {k for k in original_state_dict(TINY, 0) if not _skipped(k)}
    assert set(expected) == set(lab) and all(torch.equal(expected[k], lab[k]) for k in lab)
    doc, _ = import_checkpoint(tmp_path / "o.pt", tmp_path / "g.json", tmp_path / "w.safetensors", SAMPLES, "v3-tiny")
    back = load_file(str(tmp_path / "w.safetensors"))
    assert back.keys() == lab.keys() and all(torch.equal(back[k], lab[k]) for k in lab)
    # The IR too, except that its PE is now the F32 one the weights (and a checkpoint) hold, not the lab's float64.
    lab_doc = json.loads(graph.read_text())
    f32_pe = torch.tensor(lab_doc["buffers"]["pe.value"]["values"], dtype=torch.float32).double().tolist()
    assert doc["buffers"]["pe.value"]["values"] == f32_pe != lab_doc["buffers"]["pe.value"]["values"]
    lab_doc["buffers"]["pe.value"]["values"] = f32_pe
    assert doc == lab_doc

    sd = original_state_dict(TINY)
    torch.save({"model_state_dict": sd}, tmp_path / "orig.pt")
    first, _ = import_checkpoint(tmp_path / "orig.pt", tmp_path / "g2.json", tmp_path / "w2.safetensors", SAMPLES)
    export_checkpoint(tmp_path / "g2.json", tmp_path / "w2.safetensors", tmp_path / "again.pt")
    again = torch.load(tmp_path / "again.pt", weights_only=True)
    kept = {k: v for k, v in sd.items() if not _skipped(k)}
    assert again.keys() == kept.keys()
    assert all(again[k].dtype == torch.float32 and torch.equal(again[k], kept[k]) for k in kept)
    second, _ = import_checkpoint(tmp_path / "again.pt", tmp_path / "g3.json", tmp_path / "w3.safetensors", SAMPLES)
    w2, w3 = load_file(str(tmp_path / "w2.safetensors")), load_file(str(tmp_path / "w3.safetensors"))
    assert second == first and w2.keys() == w3.keys() and all(torch.equal(w2[k], w3[k]) for k in w2)


def _skipped(key: str) -> bool:
    return key.startswith("mamba.layers.") or "_mamba_fallback." in key or key.startswith("gnn.edge_transform.")


def test_export_refuses_a_graph_the_original_cannot_express(tmp_path):
    for sets, match in [(("gnn.K=3",), r"graph\.config\.gnn\.K: the graph has 3, the original's v3 2"),
                        (("tcn.weight_norm=false",), r"the graph's tcn\.layers\.0\.conv\.weight has no place in the original's layout")]:
        graph, weights = ts_graph("v3-tiny", 3, sets)
        with pytest.raises(CheckpointError, match=match):
            export_checkpoint(graph, weights, tmp_path / "o.pt")
        assert not (tmp_path / "o.pt").exists()
    # Weights that are not the graph's: the loader's own check names them.
    graph, _ = ts_graph("v3-tiny", 3)
    with pytest.raises(CheckpointError, match=r"weights: tensor 'gnn\.layers\.0\.conv\.lin\.weight' has shape"):
        export_checkpoint(graph, ts_graph("v3-tiny", 3, ("gnn.hidden=8",))[1], tmp_path / "o.pt")

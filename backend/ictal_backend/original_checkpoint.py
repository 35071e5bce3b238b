"""Checkpoints of the original v3 implementation (shared/design/ORIGINAL_CHECKPOINT.md), in and out.

Import: the original's state_dict (bare, or under `model_state_dict` beside optimizer state) -> the model sizes
its shapes imply -> the lab's IR for those sizes, with the checkpoint's own Laplacian PE as `pe.value` -> weights
keyed by IR name. Export: IR + weights -> a state_dict with the original's v3 keys.

The IR is built by the lab's TypeScript builder (`ictal graph --preset v3 --set ...`, run with Node from this
checkout), not by Python: the v3 wiring keeps one definition (src/graph/v3.ts). Export builds it the same way
and refuses a graph that is not that wiring, so export -> import gives back the same IR and the same bits.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from collections import OrderedDict
from pathlib import Path
from typing import Any

import torch

from .ir import IrError, IrGraph, load_ir, parse_ir
from .safetensors_io import check_weights, read_tensors

ROOT = Path(__file__).resolve().parents[2]
ELECTRODES = 19
DEFAULT_SAMPLES = 15360   # the original's windows: 60 s at 256 Hz
MAMBA_ROLES = ("in_proj.weight", "conv1d.weight", "conv1d.bias", "dt_bias", "A_log", "D", "norm.weight",
               "out_proj.weight")
STATE_DICT_KEYS = ("model_state_dict", "state_dict", "model")   # where training scripts nest the weights

# Present in the original's files, never read by its v3 forward (ORIGINAL_CHECKPOINT.md "Keys to skip").
SKIPPED = re.compile(r"^(mamba\.layers\.\d+\..+|.+_mamba_fallback\.(weight|bias)|gnn\.edge_transform\.(weight|bias))$")
# Keys every v3 checkpoint has: without them it is some other model.
ANCHORS = ("tcn_encoder.tcn.network.0.weight_v", "tcn_encoder.downsample.weight", "proj_to_electrodes.weight",
           "edge_in_proj.weight", "gnn.gnn_layers.0.lin.weight", "gnn.static_pe", "proj_from_electrodes.weight",
           "proj_head.proj.weight", "detection_head.weight")

# One table, read both ways: (IR name pattern, original key pattern); {i} is a layer index, {r} a role.
_PLAIN = [
    ("tcn.proj.{w}", "tcn_encoder.tcn.projection.{w}"),
    ("tcn.channel_proj.{w}", "tcn_encoder.channel_proj.{w}"),
    ("tcn.down.{w}", "tcn_encoder.downsample.{w}"),
    ("electrodes.{w}", "proj_to_electrodes.{w}"),
    ("edge.lift.weight", "edge_in_proj.weight"),
    ("edge.project.{w}", "edge_out_proj.{w}"),
    ("gnn.layers.{i}.conv.lin.{w}", "gnn.gnn_layers.{i}.lin.{w}"),
    ("gnn.layers.{i}.norm.{w}", "gnn.layer_norms.{i}.{w}"),
    ("pe.value", "gnn.static_pe"),
    ("head.conv1.{w}", "proj_from_electrodes.{w}"),
    ("head.conv2.{w}", "proj_head.proj.{w}"),
    ("head.out.{w}", "detection_head.{w}"),
]
for _stream in ("node", "edge"):
    _PLAIN += [
        (f"{_stream}.layers.{{i}}.fwd.{{r}}", f"{_stream}_mamba.layers.{{i}}.forward_mamba_real.{{r}}"),
        (f"{_stream}.layers.{{i}}.bwd.{{r}}", f"{_stream}_mamba.layers.{{i}}.backward_mamba_real.{{r}}"),
        (f"{_stream}.layers.{{i}}.proj.{{w}}", f"{_stream}_mamba.layers.{{i}}.output_proj.{{w}}"),
        (f"{_stream}.layers.{{i}}.norm.{{w}}", f"{_stream}_mamba.layers.{{i}}.layer_norm.{{w}}"),
    ]
_FIELDS = {"i": r"(?P<i>\d+)", "w": r"(?P<w>weight|bias)", "r": "(?P<r>" + "|".join(map(re.escape, MAMBA_ROLES)) + ")"}


def _pattern(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[iwr]\})", template)
    return re.compile("^" + "".join(_FIELDS[p[1]] if p in ("{i}", "{w}", "{r}") else re.escape(p) for p in parts) + "$")


_RULES = [(_pattern(ir), ir, _pattern(orig), orig) for ir, orig in _PLAIN]
_TCN_IR = re.compile(r"^tcn\.layers\.(\d+)\.conv\.(weight_v|weight_g|bias)$")
_TCN_ORIG = re.compile(r"^tcn_encoder\.tcn\.network\.(\d+)\.(weight_v|weight_g|bias)$")
TCN_STRIDE = 3   # the original's TCN is a Sequential of [conv, ReLU, Dropout] per layer


def original_key(ir_name: str) -> str | None:
    """The original's key for an IR parameter or buffer name, or None when its layout has no such tensor."""
    m = _TCN_IR.match(ir_name)
    if m:
        return f"tcn_encoder.tcn.network.{int(m[1]) * TCN_STRIDE}.{m[2]}"
    for ir_re, _, _, orig in _RULES:
        m = ir_re.match(ir_name)
        if m:
            return orig.format(**m.groupdict())
    return None


def ir_name(key: str) -> str | None:
    """The IR name for one of the original's keys, or None when it is not one of its v3 keys."""
    m = _TCN_ORIG.match(key)
    if m:
        index = int(m[1])
        return f"tcn.layers.{index // TCN_STRIDE}.conv.{m[2]}" if index % TCN_STRIDE == 0 else None
    for _, ir, orig_re, _ in _RULES:
        m = orig_re.match(key)
        if m:
            return ir.format(**m.groupdict())
    return None


class CheckpointError(ValueError):
    """A file that is not a checkpoint of the original v3 model, or a graph that cannot be written as one."""


# ---- reading a checkpoint --------------------------------------------------------------------------------

def read_state_dict(path: str | Path) -> OrderedDict[str, torch.Tensor]:
    """The state_dict in a checkpoint file, bare or nested under model_state_dict (state_dict, model). Loaded with
    weights_only=True: a checkpoint is a pickle, and an untrusted one must not run code."""
    p = Path(path)
    if not p.is_file():
        raise CheckpointError(f"checkpoint {p} does not exist")
    try:
        obj = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - arbitrary bytes fail in many ways (KeyError, UnpicklingError, ...)
        if "Unsupported global" in str(e):
            raise CheckpointError(f"checkpoint {p} holds objects other than tensors and plain containers; refused, "
                                  "since loading them would run code from the file") from None
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise CheckpointError(f"{p} is not a PyTorch checkpoint (torch.load with weights_only: {first[:160]})") from None
    state = _find_state_dict(obj)
    if state is None:
        what = f"a dict with keys {', '.join(map(repr, list(obj)[:8]))}" if isinstance(obj, dict) else type(obj).__name__
        raise CheckpointError(f"checkpoint {p} holds {what}: no state_dict (a dict of tensors, bare or under "
                              f"{' / '.join(STATE_DICT_KEYS)})")
    # Saved from a DataParallel / DDP wrapper: every key carries its "module." prefix.
    if state and all(k.startswith("module.") for k in state):
        state = OrderedDict((k[len("module."):], v) for k, v in state.items())
    return state


def _is_state_dict(obj: Any) -> bool:
    return isinstance(obj, dict) and bool(obj) and all(isinstance(k, str) and isinstance(v, torch.Tensor)
                                                        for k, v in obj.items())


def _find_state_dict(obj: Any) -> OrderedDict[str, torch.Tensor] | None:
    if _is_state_dict(obj):
        return OrderedDict(obj)
    if isinstance(obj, dict):
        for k in STATE_DICT_KEYS:
            if _is_state_dict(obj.get(k)):
                return OrderedDict(obj[k])
    return None


# ---- sizes from shapes --------------------------------------------------------------------------------------

def _shape(state: dict[str, torch.Tensor], key: str, rank: int) -> tuple[int, ...]:
    if key not in state:
        raise CheckpointError(f"the checkpoint lacks {key}")
    s = tuple(state[key].shape)
    if len(s) != rank:
        raise CheckpointError(f"{key} has shape {list(s)}; the original's layout has {rank} dimensions there")
    return s


def _layer_count(state: dict[str, torch.Tensor], prefix: str) -> int:
    """Layers N of `<prefix>.N.` keys; they must be 0 .. n-1."""
    found = {int(m[1]) for k in state if (m := re.match(re.escape(prefix) + r"\.(\d+)\.", k))}
    if found != set(range(len(found))):
        raise CheckpointError(f"{prefix}: layers {sorted(found)} are not numbered 0 .. {len(found) - 1}")
    return len(found)


def _divide(a: int, b: int, what: str) -> int:
    if b <= 0 or a % b:
        raise CheckpointError(f"{what}: {a} is not a multiple of {b}")
    return a // b


def _mamba_sizes(state: dict[str, torch.Tensor], prefix: str, d_model: int) -> dict[str, int]:
    """d_state, d_conv, expand, headdim of a Mamba2 block (ngroups 1, as in the original) from its tensors."""
    d_inner = _shape(state, f"{prefix}.norm.weight", 1)[0]
    heads = _shape(state, f"{prefix}.dt_bias", 1)[0]
    conv_dim, _, d_conv = _shape(state, f"{prefix}.conv1d.weight", 3)
    d_state = _divide(conv_dim - d_inner, 2, f"{prefix}.conv1d.weight: channels {conv_dim} - d_inner {d_inner} (= 2 d_state)")
    return {"d_state": d_state, "d_conv": d_conv,
            "expand": _divide(d_inner, d_model, f"{prefix}.norm.weight: d_inner {d_inner} over d_model {d_model}"),
            "headdim": _divide(d_inner, heads, f"{prefix}: d_inner {d_inner} (norm.weight) over {heads} heads (dt_bias)")}


def infer_sizes(state: dict[str, torch.Tensor]) -> dict[str, Any]:
    """The `ictal graph --set` fields the checkpoint's shapes fix. The rest (dilations 2^i, dropouts, alpha, K,
    top-k, clamps) are not in the weights and are the original's, which the v3 preset already holds."""
    n_tcn = len({k for k in state if _TCN_ORIG.match(k) and k.endswith(".weight_v")})
    channels, kernel = [], 0
    for i in range(n_tcn):
        cout, _, kernel = _shape(state, f"tcn_encoder.tcn.network.{i * TCN_STRIDE}.weight_v", 3)
        channels.append(cout)
    down = _shape(state, "tcn_encoder.downsample.weight", 3)
    electrode_out = _shape(state, "proj_to_electrodes.weight", 3)[0]
    d = _divide(electrode_out, ELECTRODES, f"proj_to_electrodes.weight: {electrode_out} output channels over "
                                          f"{ELECTRODES} electrodes")
    pe = _shape(state, "gnn.static_pe", 2)
    if pe[0] != ELECTRODES:
        raise CheckpointError(f"gnn.static_pe has shape {list(pe)}: one row per electrode ({ELECTRODES}) expected")
    sizes: dict[str, Any] = {
        "tcn.channels": channels, "tcn.dilations": [2**i for i in range(n_tcn)], "tcn.kernel": kernel,
        "tcn.downsample": down[2], "electrode_dim": d, "pe.dim": pe[1],
        "gnn.layers": _layer_count(state, "gnn.gnn_layers"),
        "gnn.hidden": _shape(state, "gnn.gnn_layers.0.lin.weight", 2)[0],
        "head.hidden": _shape(state, "proj_from_electrodes.weight", 3)[0],
        "edge.d_model": _shape(state, "edge_in_proj.weight", 3)[0],
    }
    for stream, d_model in (("node", d), ("edge", sizes["edge.d_model"])):
        layers = _layer_count(state, f"{stream}_mamba.layers")
        sizes[f"{stream}.layers"] = layers
        if layers:
            for k, v in _mamba_sizes(state, f"{stream}_mamba.layers.0.forward_mamba_real", d_model).items():
                sizes[f"{stream}.{k}"] = v
    return sizes


# ---- the IR, from the TypeScript builder ------------------------------------------------------------------

def build_v3_ir(sets: dict[str, Any], name: str = "v3") -> dict[str, Any]:
    """`ictal graph --preset v3 --set k=v ...` run with Node from this checkout; returns the IR document."""
    node, entry = shutil.which("node"), ROOT / "bin" / "ictal.js"
    if node is None or not entry.is_file() or not (ROOT / "node_modules").is_dir():
        raise CheckpointError(f"the IR is built by the lab's TypeScript builder: needs Node and {entry} with its "
                              "node_modules (npm install) in this checkout")
    args = [f"{k}={','.join(map(str, v)) if isinstance(v, list) else v}" for k, v in sets.items()]
    with tempfile.TemporaryDirectory(prefix="ictal-import-") as tmp:
        out = Path(tmp) / "graph.json"
        cmd = [node, str(entry), "graph", "--preset", "v3", "--ir", str(out)]
        for a in args:
            cmd += ["--set", a]
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
        if proc.returncode != 0:
            raise CheckpointError(f"the sizes read from the checkpoint ({' '.join(args)}) do not make a v3 graph: "
                                  f"{proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else proc.stdout}")
        doc = json.loads(out.read_text())
    doc["name"] = name
    return doc


# The original's edge lift (De, 1, 1) and edge projection (1, De, 1) are 1x1 convs; the IR has linears there.
CONV_AS_LINEAR = {"edge.lift.weight": "edge_in_proj.weight", "edge.project.weight": "edge_out_proj.weight"}


def import_state_dict(state: dict[str, torch.Tensor], samples: int = DEFAULT_SAMPLES,
                      name: str = "v3") -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """(IR document, weights by IR name, F32) for the original's state_dict; CheckpointError names what does not
    fit (missing or unexpected keys, shapes that contradict the sizes the other keys give)."""
    missing = [k for k in ANCHORS if k not in state]
    unexpected = [k for k in state if not SKIPPED.match(k) and ir_name(k) is None]
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"it lacks {', '.join(missing)}")
        if unexpected:
            parts.append(f"it holds {len(unexpected)} key(s) the v3 layout does not have: "
                         f"{', '.join(unexpected[:8])}{' ...' if len(unexpected) > 8 else ''}")
        raise CheckpointError("not a checkpoint of the original v3 detector: " + "; ".join(parts))
    sizes = infer_sizes(state)
    doc = build_v3_ir({"samples": samples, **sizes}, name)
    declared = {**{k: tuple(v["shape"]) for k, v in doc["params"].items()},
                **{k: tuple(v["shape"]) for k, v in doc["buffers"].items()}}
    weights: dict[str, torch.Tensor] = {}
    problems: list[str] = []
    used: set[str] = set()
    for name_, shape in declared.items():
        key = original_key(name_)
        if key is None or key not in state:
            problems.append(f"lacks {key or name_} (for the graph's {name_} {list(shape)})")
            continue
        used.add(key)
        t = state[key]
        if not t.is_floating_point():
            problems.append(f"{key} has dtype {t.dtype}, a floating-point tensor expected")
            continue
        if name_ in CONV_AS_LINEAR and t.dim() == 3 and t.shape[-1] == 1:
            t = t[..., 0]
        if tuple(t.shape) != shape:
            problems.append(f"{key} has shape {list(state[key].shape)}, but the sizes read from the other keys need "
                            f"{list(shape)}")
            continue
        weights[name_] = t.detach().to(torch.float32).contiguous().clone()
    problems += [f"holds {k}, which a v3 model of these sizes does not have" for k in state
                 if not SKIPPED.match(k) and k not in used]
    if problems:
        shown = "; ".join(problems[:6]) + (f"; and {len(problems) - 6} more" if len(problems) > 6 else "")
        raise CheckpointError(f"the checkpoint does not fit the v3 model its shapes describe: {shown}")
    for k, t in weights.items():
        if not torch.isfinite(t).all():
            raise CheckpointError(f"{original_key(k)} holds non-finite values")
    # The model was trained with this PE, not the lab's deterministic one: the IR carries it as its buffer.
    doc["buffers"]["pe.value"]["values"] = weights["pe.value"].double().flatten().tolist()
    graph = parse_ir(doc)
    check_weights(graph, weights, "imported weights")
    return doc, weights


# ---- export ------------------------------------------------------------------------------------------------

def _first_difference(a: Any, b: Any, where: str) -> str | None:
    if isinstance(a, dict) and isinstance(b, dict):
        for k in list(a) + [k for k in b if k not in a]:
            if k not in a or k not in b:
                return f"{where}.{k}: {'only in the graph' if k in a else 'missing from the graph'}"
            d = _first_difference(a[k], b[k], f"{where}.{k}")
            if d:
                return d
        return None
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            d = _first_difference(x, y, f"{where}[{i}]")
            if d:
                return d
        return None
    return None if a == b else f"{where}: the graph has {json.dumps(a)[:80]}, the original's v3 {json.dumps(b)[:80]}"


def export_state_dict(graph: IrGraph, tensors: dict[str, torch.Tensor]) -> OrderedDict[str, torch.Tensor]:
    """The original's state_dict (its v3 keys, F32) for a graph that is the v3 wiring; CheckpointError naming the
    first difference otherwise (a graph the original's code cannot express)."""
    check_weights(graph, tensors, "weights")
    state: OrderedDict[str, torch.Tensor] = OrderedDict()
    for name_ in [*graph.params, *graph.buffers]:
        key = original_key(name_)
        if key is None:
            raise CheckpointError(f"the graph's {name_} has no place in the original's layout (is the graph v3?)")
        state[key] = tensors[name_].detach().to(torch.float32).contiguous().clone()
    for key in CONV_AS_LINEAR.values():
        if key in state:
            state[key] = state[key][..., None].clone()
    try:
        sizes = infer_sizes(state)
    except CheckpointError as e:
        raise CheckpointError(f"the graph is not the original's v3: {e}") from None
    samples = graph.config.get("samples")
    if not isinstance(samples, int):
        raise CheckpointError("the graph's config has no integer samples (window length)")
    want = build_v3_ir({"samples": samples, **sizes}, graph.name)
    have = json.loads(json.dumps(graph.document))
    want["buffers"]["pe.value"]["values"] = have["buffers"].get("pe.value", {}).get("values")
    diff = _first_difference(have, want, "graph")
    if diff:
        raise CheckpointError(f"the graph is not the v3 wiring the original computes ({diff})")
    return state


# ---- files ---------------------------------------------------------------------------------------------------

def import_checkpoint(checkpoint: str | Path, ir_out: str | Path, weights_out: str | Path,
                      samples: int = DEFAULT_SAMPLES, name: str = "v3") -> tuple[dict[str, Any], int]:
    """Writes the IR and the safetensors weights for an original checkpoint; returns (IR, tensors skipped)."""
    from safetensors.torch import save_file

    state = read_state_dict(checkpoint)
    doc, weights = import_state_dict(state, samples, name)
    ir_path, w_path = Path(ir_out), Path(weights_out)
    ir_path.parent.mkdir(parents=True, exist_ok=True)
    w_path.parent.mkdir(parents=True, exist_ok=True)
    ir_path.write_text(json.dumps(doc, indent=2) + "\n")
    save_file(weights, str(w_path), metadata={"format": "ictal", "ictal_ir": "1", "graph": name,
                                               "source": f"original checkpoint {Path(checkpoint).name}"})
    return doc, sum(1 for k in state if SKIPPED.match(k))


def export_checkpoint(ir: str | Path, weights: str | Path, out: str | Path) -> int:
    """Writes the original's state_dict (bare, torch.save) for an IR + weights pair; returns the tensor count."""
    graph = load_ir(ir)
    try:
        state = export_state_dict(graph, read_tensors(weights))
    except IrError as e:
        raise CheckpointError(str(e)) from None
    p = Path(out)
    p.parent.mkdir(parents=True, exist_ok=True)
    torch.save(state, p)
    return len(state)

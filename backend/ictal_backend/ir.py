"""Loading and validating the graph IR (docs/ir.md), version 1.

`parse_ir` refuses the same documents as the TypeScript `parseIr` (src/graph/validate.ts), each with an
`IrError` whose message names the path (e.g. `nodes[12] "tcn.layers.3.conv" (conv1d)`) and what is wrong.
The op table below (attributes, shape inference, parameter shapes) mirrors src/graph/ops.ts.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Union

IR_VERSION = 1
MAX_DIM = 2**31 - 1        # offsets into one dimension must fit in an i32
MAX_ELEMENTS = 2**40       # elements per batch item beyond this are absurd
MAX_DEPTH = 64             # nesting of free-form values (config); real documents nest 3 deep
MAX_FLOAT_INT = int(1.7976931348623157e308)  # the largest finite double, as an int
ID_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*$")

Dim = Union[int, str]      # a positive int, or "B" (the batch size, first dimension of activations only)
Shape = list[Dim]


class IrError(ValueError):
    """A malformed or unsupported IR document (or weights that do not fit it)."""


@dataclass(frozen=True)
class IrParam:
    shape: tuple[int, ...]
    weight_decay: bool
    init: dict[str, Any]


@dataclass(frozen=True)
class IrBuffer:
    shape: tuple[int, ...]
    values: tuple[float, ...]


@dataclass(frozen=True)
class IrNode:
    id: str
    op: str
    inputs: tuple[str, ...]
    output: str
    attrs: dict[str, Any]
    params: dict[str, str]    # role -> parameter name (always "<id>.<role>")
    buffers: dict[str, str]   # role -> buffer name


@dataclass(frozen=True)
class IrGraph:
    name: str
    config: dict[str, Any]
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    tensors: dict[str, Shape]
    params: dict[str, IrParam]
    buffers: dict[str, IrBuffer]
    nodes: tuple[IrNode, ...]
    document: dict[str, Any] = field(repr=False, compare=False, default_factory=dict)


# ---- small checks ------------------------------------------------------------------------------------

def _describe(v: Any) -> str:
    if isinstance(v, list):
        return "an array"
    if isinstance(v, dict):
        return "an object"
    if v is None:
        return "null"
    if isinstance(v, float) and not math.isfinite(v):
        return str(v)
    if isinstance(v, int) and not isinstance(v, bool) and v.bit_length() > 64:
        return f"a {v.bit_length()}-bit integer"  # str() of a huge int is slow, and refused past 4300 digits
    return json.dumps(v)


def _fmt(shape: Any) -> str:
    return "[" + ", ".join(str(d) for d in shape) + "]"


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _isfinite(v: int | float) -> bool:
    """Python ints are unbounded: one beyond the double range is what JavaScript reads as Infinity."""
    if isinstance(v, int):
        return abs(v) <= MAX_FLOAT_INT
    return math.isfinite(v)


def _is_int(v: Any) -> bool:
    # JSON has one number type: 8.0 is the integer 8 (as in JavaScript).
    return _is_num(v) and _isfinite(v) and (isinstance(v, int) or float(v).is_integer())


def _obj(v: Any, where: str) -> dict[str, Any]:
    if not isinstance(v, dict):
        raise IrError(f"{where}: expected an object, got {_describe(v)}")
    return v


def _exact_keys(o: dict[str, Any], where: str, required: list[str]) -> None:
    for k in required:
        if k not in o:
            raise IrError(f'{where}: missing field "{k}"')
    for k in o:
        if k not in required:
            raise IrError(f'{where}: unknown field "{k}" (allowed: {", ".join(required)})')


def _str(v: Any, where: str) -> str:
    if not isinstance(v, str):
        raise IrError(f"{where}: expected a string, got {_describe(v)}")
    return v


def _strings(v: Any, where: str, min_items: int = 0) -> list[str]:
    if not isinstance(v, list):
        raise IrError(f"{where}: expected an array of strings, got {_describe(v)}")
    if len(v) < min_items:
        raise IrError(f"{where}: needs at least {min_items} entr{'y' if min_items == 1 else 'ies'}")
    return [_str(s, f"{where}[{i}]") for i, s in enumerate(v)]


def _finite(v: Any, where: str) -> float:
    if not _is_num(v):
        raise IrError(f"{where}: expected a number, got {_describe(v)}")
    if not _isfinite(v):
        raise IrError(f"{where}: {_describe(v)} is not finite")
    return v


def _check_finite(v: Any, where: str) -> None:
    """Every number in a free-form value is finite, and it nests at most MAX_DEPTH deep (walked without
    recursion, so a hostile document cannot exhaust the stack here or in json.dumps later)."""
    stack = [(v, where, 0)]
    while stack:
        x, at, depth = stack.pop()
        if _is_num(x) and not _isfinite(x):
            raise IrError(f"{at}: {_describe(x)} is not finite")
        if isinstance(x, (list, dict)):
            if depth >= MAX_DEPTH:
                raise IrError(f"{at}: nested more than {MAX_DEPTH} levels deep")
            items = enumerate(x) if isinstance(x, list) else x.items()
            stack.extend((y, f"{at}[{k}]" if isinstance(x, list) else f"{at}.{k}", depth + 1) for k, y in items)


def _shape(v: Any, where: str, batch_allowed: bool) -> Shape:
    if not isinstance(v, list):
        raise IrError(f"{where}: shape must be an array, got {_describe(v)}")
    if batch_allowed and not v:
        raise IrError(f"{where}: shape must have at least one dimension")
    out: Shape = []
    for i, d in enumerate(v):
        if d == "B" and isinstance(d, str):
            if not batch_allowed:
                raise IrError(f'{where}: dimension {i} is "B", but this shape is fixed (no batch dimension)')
            if i != 0:
                raise IrError(f'{where}: dimension {i} is "B"; the batch symbol may only be dimension 0')
            out.append("B")
            continue
        if _is_num(d) and not _isfinite(d):
            raise IrError(f"{where}: dimension {i} is {_describe(d)}, not finite")
        if not _is_int(d) or d < 1:
            raise IrError(f"{where}: dimension {i} is {_describe(d)}; dimensions are positive integers"
                          + (' or "B"' if batch_allowed else ""))
        if d > MAX_DIM:
            raise IrError(f"{where}: dimension {i} is {int(d)}, absurdly large (limit {MAX_DIM})")
        out.append(int(d))
    n = math.prod(1 if d == "B" else d for d in out)
    if n > MAX_ELEMENTS:
        raise IrError(f"{where}: shape {_fmt(out)} holds {n} elements per batch item, absurdly many (limit 2^40)")
    return out


# ---- attributes ----------------------------------------------------------------------------------------

AttrSpec = dict[str, Any]  # {"kind": ..., bounds}


def _int_spec(lo: int, hi: int = MAX_DIM) -> AttrSpec:
    return {"kind": "int", "min": lo, "max": hi}


def _num_spec(lo: float | None = None, hi: float | None = None, lo_excl: bool = False,
              hi_excl: bool = False) -> AttrSpec:
    return {"kind": "number", "min": lo, "max": hi, "min_excl": lo_excl, "max_excl": hi_excl}


def _attr_fail(where: str, name: str, what: str, v: Any) -> IrError:
    return IrError(f'{where}: attribute "{name}" {what}, got {_describe(v)}')


def _check_int(where: str, name: str, v: Any, lo: int, hi: int = MAX_DIM) -> None:
    if _is_num(v) and not _isfinite(v):
        raise _attr_fail(where, name, "must be finite", v)
    if not _is_int(v):
        raise _attr_fail(where, name, "must be an integer", v)
    if v < lo or v > hi:
        raise _attr_fail(where, name, f"must be in [{lo}, {hi}]", v)


def _check_attr(where: str, name: str, spec: AttrSpec, v: Any) -> None:
    kind = spec["kind"]
    if kind == "int":
        _check_int(where, name, v, spec["min"], spec["max"])
    elif kind == "number":
        if not _is_num(v):
            raise _attr_fail(where, name, "must be a number", v)
        if not _isfinite(v):
            raise _attr_fail(where, name, "must be finite", v)
        lo, hi = spec["min"], spec["max"]
        if lo is not None and (v <= lo if spec["min_excl"] else v < lo):
            raise _attr_fail(where, name, f"must be {'>' if spec['min_excl'] else '>='} {lo}", v)
        if hi is not None and (v >= hi if spec["max_excl"] else v > hi):
            raise _attr_fail(where, name, f"must be {'<' if spec['max_excl'] else '<='} {hi}", v)
    elif kind == "bool":
        if not isinstance(v, bool):
            raise _attr_fail(where, name, "must be true or false", v)
    elif kind == "padding":
        if not isinstance(v, list) or len(v) != 2:
            raise _attr_fail(where, name, "must be [left, right]", v)
        for i, p in enumerate(v):
            _check_int(where, f"{name}[{i}]", p, 0)
    elif kind == "shape":
        if not isinstance(v, list) or not v:
            raise _attr_fail(where, name, "must be a non-empty array of dimensions", v)
        for i, d in enumerate(v):
            if isinstance(d, str) and d == "B":
                if i != 0:
                    raise _attr_fail(where, f"{name}[{i}]", 'may be "B" only as the first dimension', d)
            else:
                _check_int(where, f"{name}[{i}]", d, 1)
    elif kind == "perm":
        if not isinstance(v, list) or not v:
            raise _attr_fail(where, name, "must be a non-empty array of axes", v)
        for i, a in enumerate(v):
            _check_int(where, f"{name}[{i}]", a, 0, len(v) - 1)
        if len({int(a) for a in v}) != len(v):
            raise _attr_fail(where, name, "must be a permutation (an axis repeats)", v)
    elif kind == "edges":
        if not isinstance(v, list) or not v:
            raise _attr_fail(where, name, "must be a non-empty array of [i, j] pairs", v)
        for i, e in enumerate(v):
            if not isinstance(e, list) or len(e) != 2:
                raise _attr_fail(where, f"{name}[{i}]", "must be a pair [i, j]", e)
            _check_int(where, f"{name}[{i}][0]", e[0], 0)
            _check_int(where, f"{name}[{i}][1]", e[1], 0)
            if e[0] == e[1]:
                raise _attr_fail(where, f"{name}[{i}]", "must join two different nodes", e)
    elif kind == "last-axis":
        if not (_is_num(v) and v == -1):
            raise _attr_fail(where, name, "must be -1 (only the last axis is supported)", v)
    else:  # pragma: no cover - the table below only uses the kinds above
        raise AssertionError(kind)


def _check_attrs(where: str, specs: dict[str, AttrSpec], attrs: dict[str, Any]) -> None:
    for k in attrs:
        if k not in specs:
            known = ", ".join(specs) or "no attributes"
            raise IrError(f'{where}: unknown attribute "{k}" (this op takes {known})')
    for k, spec in specs.items():
        if k not in attrs:
            raise IrError(f'{where}: attribute "{k}" is missing')
        _check_attr(where, k, spec, attrs[k])


# ---- shape inference (errors name the node, the input and the dimension) --------------------------------

def _rank(where: str, name: str, s: Shape, n: int, at_least: str | None = None) -> None:
    if (len(s) < n) if at_least else (len(s) != n):
        detail = f"at least {n} dimensions ({at_least})" if at_least else f"{n} dimensions"
        raise IrError(f'{where}: input "{name}" has shape {_fmt(s)}, expected {detail}')


def _dim_is(where: str, name: str, s: Shape, axis: int, want: Dim, what: str) -> None:
    a = len(s) + axis if axis < 0 else axis
    if s[a] != want:
        raise IrError(f'{where}: input "{name}" dimension {a} ({what}) is {s[a]}, expected {want} (shape {_fmt(s)})')


def _not_batch(where: str, s: Shape, axis: int, what: str) -> None:
    if s[axis] == "B":
        raise IrError(f'{where}: input "x" dimension {axis} ({what}) cannot be the batch symbol')


def mamba_dims(a: dict[str, Any]) -> dict[str, int]:
    d, n, g, p = int(a["d_model"]), int(a["d_state"]), int(a["ngroups"]), int(a["headdim"])
    d_inner = int(a["expand"]) * d
    return {"D": d, "N": n, "G": g, "P": p, "H": d_inner // p, "d_inner": d_inner, "conv_dim": d_inner + 2 * g * n,
            "d_in_proj": 2 * d_inner + 2 * g * n + d_inner // p, "d_conv": int(a["d_conv"])}


def _same(a: dict, xs: list[Shape], where: str) -> Shape:
    return list(xs[0])


def _min_le_max(a: dict, xs: list[Shape], where: str) -> Shape:
    if a["min"] > a["max"]:
        raise IrError(f"{where}: min {a['min']} exceeds max {a['max']}")
    return list(xs[0])


def _infer_conv1d(a: dict, xs: list[Shape], where: str) -> Shape:
    x = xs[0]
    _rank(where, "x", x, 3)
    _dim_is(where, "x", x, 1, int(a["in_channels"]), "channels")
    _not_batch(where, x, 2, "length")
    left, right = (int(p) for p in a["padding"])
    span = int(a["dilation"]) * (int(a["kernel_size"]) - 1) + 1
    padded = x[2] + left + right
    if padded < span:
        raise IrError(f'{where}: input "x" dimension 2 (length) is {x[2]}: with padding {left}+{right} it is '
                      f"shorter than the kernel's span {span}")
    return [x[0], int(a["out_channels"]), (padded - span) // int(a["stride"]) + 1]


def _infer_add(a: dict, xs: list[Shape], where: str) -> Shape:
    if xs[0] != xs[1]:
        raise IrError(f'{where}: inputs "a" {_fmt(xs[0])} and "b" {_fmt(xs[1])} differ in shape')
    return list(xs[0])


def _infer_reshape(a: dict, xs: list[Shape], where: str) -> Shape:
    x, target = xs[0], [d if d == "B" else int(d) for d in a["shape"]]
    if (x[0] == "B") != (target[0] == "B"):
        raise IrError(f'{where}: reshape {_fmt(x)} -> {_fmt(target)} must keep the batch dimension "B" first on both sides')
    count = lambda s: math.prod(1 if d == "B" else d for d in s)  # noqa: E731
    if count(x) != count(target):
        raise IrError(f"{where}: reshape {_fmt(x)} -> {_fmt(target)} changes the element count per batch item "
                      f"({count(x)} vs {count(target)})")
    return target


def _infer_permute(a: dict, xs: list[Shape], where: str) -> Shape:
    x, perm = xs[0], [int(p) for p in a["perm"]]
    _rank(where, "x", x, len(perm))
    if x[0] == "B" and perm[0] != 0:
        raise IrError(f"{where}: perm {perm} moves the batch dimension; perm[0] must be 0")
    return [x[p] for p in perm]


def _infer_concat(a: dict, xs: list[Shape], where: str) -> Shape:
    r = max(len(s) for s in xs)
    out: Shape = []
    for k in range(r - 1):  # every axis but the last broadcasts, right-aligned
        d: Dim = 1
        for i, s in enumerate(xs):
            j = k - (r - len(s))
            e = s[j] if j >= 0 else 1
            if e == 1:
                continue
            if d != 1 and d != e:
                raise IrError(f"{where}: input {i} {_fmt(s)} does not broadcast with the others at dimension {k} ({e} vs {d})")
            d = e
        out.append(d)
    last = 0
    for i, s in enumerate(xs):
        if s[-1] == "B":
            raise IrError(f"{where}: input {i} has the batch symbol as its last dimension")
        last += s[-1]
    return out + [last]


def _infer_linear(a: dict, xs: list[Shape], where: str) -> Shape:
    x = xs[0]
    _rank(where, "x", x, 1, "..., features")
    _dim_is(where, "x", x, -1, int(a["in_features"]), "features")
    return list(x[:-1]) + [int(a["out_features"])]


def _infer_layer_norm(a: dict, xs: list[Shape], where: str) -> Shape:
    x = xs[0]
    _rank(where, "x", x, 1, "..., features")
    _dim_is(where, "x", x, -1, int(a["normalized_shape"]), "features")
    return list(x)


def _infer_mamba2(a: dict, xs: list[Shape], where: str) -> Shape:
    m, x = mamba_dims(a), xs[0]
    if m["d_inner"] % m["P"]:
        raise IrError(f"{where}: d_inner = expand * d_model = {m['d_inner']} is not a multiple of headdim {m['P']}")
    _rank(where, "x", x, 3, "batch..., length, d_model")
    _dim_is(where, "x", x, -1, m["D"], "d_model")
    _not_batch(where, x, len(x) - 2, "length")
    return list(x)


def _infer_cosine(a: dict, xs: list[Shape], where: str) -> Shape:
    u, e = xs[0], int(a["num_nodes"])
    _rank(where, "u", u, 4)
    _dim_is(where, "u", u, 1, e, "nodes")
    return [u[0], e * (e - 1) // 2, u[2]]


def _infer_topk(a: dict, xs: list[Shape], where: str) -> Shape:
    w, e = xs[0], int(a["num_nodes"])
    _rank(where, "w", w, 3)
    if int(a["k"]) > e - 1:
        raise IrError(f"{where}: k = {int(a['k'])} exceeds the {e - 1} neighbours a node can have")
    _dim_is(where, "w", w, 1, e * (e - 1) // 2, f"pairs of {e} nodes")
    return [w[0], w[2], e, e]


def _infer_pe(a: dict, xs: list[Shape], where: str) -> Shape:
    e = int(a["num_nodes"])
    if int(a["dim"]) > e - 1:
        raise IrError(f"{where}: dim = {int(a['dim'])} exceeds the {e - 1} non-trivial eigenvectors of {e} nodes")
    for k, (i, j) in enumerate(a["edges"]):
        if i >= e or j >= e:
            raise IrError(f"{where}: edges[{k}] = [{int(i)}, {int(j)}] names a node outside 0..{e - 1}")
    return [e, int(a["dim"])]


def _infer_ssgconv(a: dict, xs: list[Shape], where: str) -> Shape:
    x, adj = xs
    _rank(where, "x", x, 4)
    _rank(where, "adj", adj, 4)
    _dim_is(where, "x", x, 3, int(a["in_features"]), "features")
    e = x[1]
    _dim_is(where, "adj", adj, 0, x[0], "batch")
    _dim_is(where, "adj", adj, 1, x[2], "time, as x dimension 2")
    _dim_is(where, "adj", adj, 2, e, "nodes, as x dimension 1")
    _dim_is(where, "adj", adj, 3, e, "nodes, as x dimension 1")
    return [x[0], e, x[2], int(a["out_features"])]


def _infer_upsample(a: dict, xs: list[Shape], where: str) -> Shape:
    x = xs[0]
    _rank(where, "x", x, 3)
    _not_batch(where, x, 2, "length")
    return [x[0], x[1], x[2] * int(a["scale"])]


# ---- parameter shapes ----------------------------------------------------------------------------------

def _uniform(fan_in: int) -> dict[str, Any]:
    return {"dist": "uniform", "bound": 1 / math.sqrt(fan_in)}


ONE = {"dist": "const", "value": 1}
ZERO = {"dist": "const", "value": 0}
ParamSpecs = dict[str, tuple[tuple[int, ...], bool, dict[str, Any]]]  # role -> (shape, weight_decay, init)


def _params_conv1d(a: dict) -> ParamSpecs:
    o, i, k = int(a["out_channels"]), int(a["in_channels"]), int(a["kernel_size"])
    p: ParamSpecs = {}
    if a["weight_norm"]:
        p["weight_v"] = ((o, i, k), True, _uniform(i * k))
        p["weight_g"] = ((o, 1, 1), False, {"dist": "weight_norm_g", "of": "weight_v"})
    else:
        p["weight"] = ((o, i, k), True, _uniform(i * k))
    if a["bias"]:
        p["bias"] = ((o,), False, _uniform(i * k))
    return p


def _params_linear(a: dict, prefix: str = "") -> ParamSpecs:
    i, o = int(a["in_features"]), int(a["out_features"])
    p: ParamSpecs = {f"{prefix}weight": ((o, i), True, _uniform(i))}
    if a["bias"]:
        p[f"{prefix}bias"] = ((o,), False, _uniform(i))
    return p


def _params_layer_norm(a: dict) -> ParamSpecs:
    n = int(a["normalized_shape"])
    return {"weight": ((n,), False, ONE), "bias": ((n,), False, ZERO)}


def _params_mamba2(a: dict) -> ParamSpecs:
    m = mamba_dims(a)
    return {
        "in_proj.weight": ((m["d_in_proj"], m["D"]), True, _uniform(m["D"])),
        "conv1d.weight": ((m["conv_dim"], 1, m["d_conv"]), True, _uniform(m["d_conv"])),
        "conv1d.bias": ((m["conv_dim"],), False, _uniform(m["d_conv"])),
        "dt_bias": ((m["H"],), False, {"dist": "mamba_dt_bias", "dt_min": 0.001, "dt_max": 0.1, "dt_floor": 0.0001}),
        "A_log": ((m["H"],), False, {"dist": "mamba_a_log", "low": 1, "high": 16}),
        "D": ((m["H"],), False, ONE),
        "norm.weight": ((m["d_inner"],), False, ONE),
        "out_proj.weight": ((m["D"], m["d_inner"]), True, _uniform(m["d_inner"])),
    }


def _no_params(a: dict) -> ParamSpecs:
    return {}


@dataclass(frozen=True)
class OpSpec:
    attrs: dict[str, AttrSpec]
    inputs: int | str  # a count, or "many" (at least one)
    infer: Callable[[dict, list[Shape], str], Shape]
    params: Callable[[dict], ParamSpecs] = _no_params
    buffers: Callable[[dict], dict[str, tuple[int, ...]]] = lambda a: {}


_MINMAX = {"min": _num_spec(), "max": _num_spec()}
OPS: dict[str, OpSpec] = {
    "sanitize": OpSpec({"nan": _num_spec(), **_MINMAX}, 1, _min_le_max),
    "conv1d": OpSpec({"in_channels": _int_spec(1), "out_channels": _int_spec(1), "kernel_size": _int_spec(1),
                      "stride": _int_spec(1), "dilation": _int_spec(1), "padding": {"kind": "padding"},
                      "bias": {"kind": "bool"}, "weight_norm": {"kind": "bool"}}, 1, _infer_conv1d, _params_conv1d),
    "relu": OpSpec({}, 1, _same),
    "softplus": OpSpec({}, 1, _same),
    "dropout": OpSpec({"p": _num_spec(0, 1, hi_excl=True)}, 1, _same),
    "clamp": OpSpec(dict(_MINMAX), 1, _min_le_max),
    "add": OpSpec({}, 2, _infer_add),
    "reshape": OpSpec({"shape": {"kind": "shape"}}, 1, _infer_reshape),
    "permute": OpSpec({"perm": {"kind": "perm"}}, 1, _infer_permute),
    "concat": OpSpec({"axis": {"kind": "last-axis"}}, "many", _infer_concat),
    "linear": OpSpec({"in_features": _int_spec(1), "out_features": _int_spec(1), "bias": {"kind": "bool"}}, 1,
                     _infer_linear, _params_linear),
    "layer_norm": OpSpec({"normalized_shape": _int_spec(1), "eps": _num_spec(0, 1, lo_excl=True)}, 1,
                         _infer_layer_norm, _params_layer_norm),
    "mamba2": OpSpec({"d_model": _int_spec(1), "d_state": _int_spec(1), "d_conv": _int_spec(1, 64),
                      "expand": _int_spec(1), "headdim": _int_spec(1), "ngroups": _int_spec(1, 1),
                      "norm_eps": _num_spec(0, 1, lo_excl=True), "reverse": {"kind": "bool"}}, 1,
                     _infer_mamba2, _params_mamba2),
    "cosine_edges": OpSpec({"num_nodes": _int_spec(2, 4096), "eps": _num_spec(0, 1, lo_excl=True)}, 1, _infer_cosine),
    "topk_adjacency": OpSpec({"num_nodes": _int_spec(2, 4096), "k": _int_spec(1), "threshold": _num_spec(0),
                              "isolated_self_loop": _num_spec(0)}, 1, _infer_topk),
    "laplacian_pe": OpSpec({"num_nodes": _int_spec(2, 4096), "edges": {"kind": "edges"}, "dim": _int_spec(1)}, 0,
                           _infer_pe, buffers=lambda a: {"value": (int(a["num_nodes"]), int(a["dim"]))}),
    "ssgconv": OpSpec({"in_features": _int_spec(1), "out_features": _int_spec(1), "alpha": _num_spec(0, 1),
                       "K": _int_spec(1, 64), "bias": {"kind": "bool"}}, 2, _infer_ssgconv,
                      lambda a: _params_linear(a, "lin.")),
    "upsample_nearest": OpSpec({"scale": _int_spec(1)}, 1, _infer_upsample),
}

_INIT_FIELDS = {"uniform": ["bound"], "const": ["value"], "weight_norm_g": ["of"],
                "mamba_dt_bias": ["dt_min", "dt_max", "dt_floor"], "mamba_a_log": ["low", "high"]}


def _init_rule(v: Any, where: str) -> dict[str, Any]:
    o = _obj(v, where)
    dist = _str(o.get("dist"), f"{where}.dist")
    if dist not in _INIT_FIELDS:
        raise IrError(f'{where}.dist: unknown init "{dist}" (known: {", ".join(_INIT_FIELDS)})')
    _exact_keys(o, where, ["dist", *_INIT_FIELDS[dist]])
    if dist == "weight_norm_g":
        return {"dist": dist, "of": _str(o["of"], f"{where}.of")}
    return {"dist": dist, **{k: _finite(o[k], f"{where}.{k}") for k in _INIT_FIELDS[dist]}}


def _param(v: Any, where: str) -> IrParam:
    o = _obj(v, where)
    _exact_keys(o, where, ["shape", "dtype", "weight_decay", "init"])
    if o["dtype"] != "F32":
        raise IrError(f'{where}.dtype: must be "F32", got {_describe(o["dtype"])}')
    if not isinstance(o["weight_decay"], bool):
        raise IrError(f"{where}.weight_decay: must be true or false, got {_describe(o['weight_decay'])}")
    return IrParam(tuple(_shape(o["shape"], f"{where}.shape", False)), o["weight_decay"],
                   _init_rule(o["init"], f"{where}.init"))


def _buffer(v: Any, where: str) -> IrBuffer:
    o = _obj(v, where)
    _exact_keys(o, where, ["shape", "dtype", "values"])
    if o["dtype"] != "F32":
        raise IrError(f'{where}.dtype: must be "F32", got {_describe(o["dtype"])}')
    s = tuple(_shape(o["shape"], f"{where}.shape", False))
    values = o["values"]
    if not isinstance(values, list):
        raise IrError(f"{where}.values: expected an array of numbers, got {_describe(values)}")
    if len(values) != math.prod(s):
        raise IrError(f"{where}.values: {len(values)} values for shape {_fmt(s)} (needs {math.prod(s)})")
    return IrBuffer(s, tuple(float(_finite(x, f"{where}.values[{i}]")) for i, x in enumerate(values)))


def _refuse_constant(name: str) -> Any:
    raise IrError(f"IR is not valid JSON: {name} is not a JSON number")


def parse_ir(source: str | bytes | dict[str, Any]) -> IrGraph:
    """Parses (JSON text) and validates an IR document; raises IrError naming what is wrong."""
    doc: Any = source
    if isinstance(source, (str, bytes)):
        try:
            doc = json.loads(source, parse_constant=_refuse_constant)
        except RecursionError:
            raise IrError("IR is not readable JSON: nested too deeply") from None
        except ValueError as e:  # bad syntax, bytes that are not UTF-8, an integer past 4300 digits
            raise IrError(f"IR is not valid JSON: {e}") from None
    top = _obj(doc, "IR document")
    if "ictal_ir" not in top:
        raise IrError('IR document: missing field "ictal_ir" (the format version); is this an Ictal IR file?')
    if not (_is_num(top["ictal_ir"]) and top["ictal_ir"] == IR_VERSION):
        raise IrError(f"ictal_ir: version {_describe(top['ictal_ir'])} is not supported "
                      f"(this reader understands version {IR_VERSION})")
    _exact_keys(top, "IR document", ["ictal_ir", "name", "config", "inputs", "outputs", "tensors", "params",
                                     "buffers", "nodes"])
    name = _str(top["name"], "name")
    config = _obj(top["config"], "config")
    _check_finite(config, "config")
    inputs = _strings(top["inputs"], "inputs", 1)
    outputs = _strings(top["outputs"], "outputs", 1)

    tensors: dict[str, Shape] = {}
    for t, v in _obj(top["tensors"], "tensors").items():
        o = _obj(v, f'tensors["{t}"]')
        _exact_keys(o, f'tensors["{t}"]', ["shape"])
        tensors[t] = _shape(o["shape"], f'tensors["{t}"].shape', True)
    params = {p: _param(v, f'params["{p}"]') for p, v in _obj(top["params"], "params").items()}
    buffers = {b: _buffer(v, f'buffers["{b}"]') for b, v in _obj(top["buffers"], "buffers").items()}
    for p, q in params.items():
        if q.init["dist"] == "weight_norm_g":
            of = q.init["of"]
            if of not in params or params[of].init["dist"] == "weight_norm_g":
                raise IrError(f'params["{p}"].init.of: "{of}" is not a declared parameter it can be derived from')

    produced: set[str] = set()
    for i, t in enumerate(inputs):
        if t not in tensors:
            raise IrError(f'inputs[{i}]: tensor "{t}" is not declared in "tensors"')
        if t in produced:
            raise IrError(f'inputs[{i}]: "{t}" is listed twice')
        produced.add(t)
    if not isinstance(top["nodes"], list):
        raise IrError(f"nodes: expected an array, got {_describe(top['nodes'])}")
    if not top["nodes"]:
        raise IrError("nodes: the graph has no nodes")
    ids: set[str] = set()
    used_params: dict[str, str] = {}
    used_buffers: dict[str, str] = {}
    nodes: list[IrNode] = []
    for k, raw in enumerate(top["nodes"]):
        where = f"nodes[{k}]"
        n = _obj(raw, where)
        node_id = _str(n.get("id"), f"{where}.id")
        where = f'nodes[{k}] "{node_id}"'
        _exact_keys(n, where, ["id", "op", "inputs", "outputs", "attrs", "params", "buffers"])
        if not ID_PATH.match(node_id):
            raise IrError(f"{where}: id must be a dotted path of letters, digits and underscores")
        if node_id in ids:
            raise IrError(f'{where}: duplicate node id "{node_id}"')
        ids.add(node_id)
        op = _str(n["op"], f"{where}.op")
        where = f'nodes[{k}] "{node_id}" ({op})'
        if op not in OPS:
            raise IrError(f'{where}: unknown op "{op}" (known: {", ".join(OPS)})')
        spec = OPS[op]
        attrs = _obj(n["attrs"], f"{where}.attrs")
        _check_finite(attrs, f"{where}.attrs")
        _check_attrs(where, spec.attrs, attrs)
        ins = _strings(n["inputs"], f"{where}.inputs")
        if (not ins) if spec.inputs == "many" else (len(ins) != spec.inputs):
            count = "at least 1" if spec.inputs == "many" else spec.inputs
            raise IrError(f"{where}: takes {count} input(s), got {len(ins)}")
        for i, t in enumerate(ins):
            if t not in produced:
                why = ("not produced by any earlier node or graph input (dangling, or nodes out of order)"
                       if t in tensors else "not declared anywhere (dangling reference)")
                raise IrError(f'{where}.inputs[{i}]: tensor "{t}" is {why}')
        outs = _strings(n["outputs"], f"{where}.outputs")
        if len(outs) != 1:
            raise IrError(f"{where}.outputs: every op has exactly 1 output, got {len(outs)}")
        out = outs[0]
        if out not in tensors:
            raise IrError(f'{where}.outputs[0]: tensor "{out}" is not declared in "tensors"')
        if out in produced:
            by = "as a graph input" if out in inputs else "by an earlier node"
            raise IrError(f'{where}.outputs[0]: tensor "{out}" is already produced {by}')
        inferred = spec.infer(attrs, [tensors[t] for t in ins], where)
        declared = tensors[out]
        if inferred != declared:
            if len(inferred) != len(declared):
                detail = " (rank differs)"
            else:
                d = next(i for i, (x, y) in enumerate(zip(declared, inferred)) if x != y)
                detail = f" (dimension {d}: {declared[d]} vs {inferred[d]})"
            raise IrError(f'{where}: output "{out}" is declared {_fmt(declared)} but the op gives {_fmt(inferred)}{detail}')
        produced.add(out)

        roles = _obj(n["params"], f"{where}.params")
        want = spec.params(attrs)
        for role in roles:
            if role not in want:
                raise IrError(f'{where}.params: this op has no parameter "{role}" here (expected: {", ".join(want) or "none"})')
        node_params: dict[str, str] = {}
        for role, (pshape, _, _) in want.items():
            if role not in roles:
                raise IrError(f'{where}.params: parameter "{role}" is missing')
            pname = _str(roles[role], f"{where}.params.{role}")
            if pname != f"{node_id}.{role}":
                raise IrError(f'{where}.params.{role}: named "{pname}"; parameter names are "<node id>.<role>", '
                              f'here "{node_id}.{role}"')
            if pname not in params:
                raise IrError(f'{where}.params.{role}: parameter "{pname}" is not declared in "params"')
            if params[pname].shape != pshape:
                raise IrError(f'{where}.params.{role}: "{pname}" is declared {_fmt(params[pname].shape)} but the op '
                              f"needs {_fmt(pshape)}")
            if pname in used_params:
                raise IrError(f'{where}.params.{role}: parameter "{pname}" is already used by node "{used_params[pname]}"')
            used_params[pname] = node_id
            node_params[role] = pname
        broles = _obj(n["buffers"], f"{where}.buffers")
        bwant = spec.buffers(attrs)
        for role in broles:
            if role not in bwant:
                raise IrError(f'{where}.buffers: this op has no buffer "{role}" (expected: {", ".join(bwant) or "none"})')
        node_buffers: dict[str, str] = {}
        for role, bshape in bwant.items():
            if role not in broles:
                raise IrError(f'{where}.buffers: buffer "{role}" is missing')
            bname = _str(broles[role], f"{where}.buffers.{role}")
            if bname != f"{node_id}.{role}":
                raise IrError(f'{where}.buffers.{role}: named "{bname}"; buffer names are "<node id>.<role>", '
                              f'here "{node_id}.{role}"')
            if bname not in buffers:
                raise IrError(f'{where}.buffers.{role}: buffer "{bname}" is not declared in "buffers"')
            if buffers[bname].shape != bshape:
                raise IrError(f'{where}.buffers.{role}: "{bname}" is declared {_fmt(buffers[bname].shape)} but the '
                              f"op needs {_fmt(bshape)}")
            used_buffers[bname] = node_id
            node_buffers[role] = bname
        nodes.append(IrNode(node_id, op, tuple(ins), out, _normalise(attrs), node_params, node_buffers))

    for p in params:
        if p not in used_params:
            raise IrError(f'params["{p}"]: declared but no node uses it')
    for b in buffers:
        if b not in used_buffers:
            raise IrError(f'buffers["{b}"]: declared but no node uses it')
    for t in tensors:
        if t not in produced:
            raise IrError(f'tensors["{t}"]: declared but neither a graph input nor produced by any node')
    for i, t in enumerate(outputs):
        if t not in produced:
            raise IrError(f'outputs[{i}]: tensor "{t}" is never produced')
    return IrGraph(name, config, tuple(inputs), tuple(outputs), tensors, params, buffers, tuple(nodes), doc)


def _normalise(v: Any) -> Any:
    """Integral floats (8.0) become ints, recursively, so the modules can use attrs as given."""
    if isinstance(v, float) and v.is_integer() and abs(v) < 2**53:
        return int(v)
    if isinstance(v, list):
        return [_normalise(x) for x in v]
    if isinstance(v, dict):
        return {k: _normalise(x) for k, x in v.items()}
    return v


def load_ir(path: str | Path) -> IrGraph:
    """Reads and validates an IR file."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except (OSError, ValueError) as e:  # ValueError: a NUL byte in the path
        raise IrError(f"cannot read the IR file {p}: {getattr(e, 'strerror', None) or e}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise IrError(f"{p}: IR is not UTF-8 text ({e})") from None
    try:
        return parse_ir(text)
    except IrError as e:
        raise IrError(f"{p}: {e}") from None

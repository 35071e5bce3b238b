"""Everything in a run request is checked here, before any file is written or any compute starts; each
error names exactly what is wrong (the API answers it as a 422)."""
from __future__ import annotations

import base64
import binascii
import json
import math
import struct
from pathlib import Path
from typing import Any

from .schemas import CacheData, GraphSummary, NpzData, RunRequest


class RequestInvalid(ValueError):
    """A run request the server refuses; the message is the reason the client sees."""


def check_graph(doc: dict[str, Any]) -> GraphSummary:
    # The backend's own IR loader is the judge: the same code that will build the torch module.
    from ictal_backend import ir as ir_loader

    try:
        ir_loader.validate_ir(doc)
    except Exception as e:  # noqa: BLE001 - its errors are the reasons we pass on
        raise RequestInvalid(f"graph: {e}") from None
    params = sum(math.prod(p["shape"]) for p in doc["params"].values())
    return GraphSummary(name=str(doc["name"]), ictal_ir=int(doc["ictal_ir"]), nodes=len(doc["nodes"]), params=params)


def decode_weights(b64: str, doc: dict[str, Any]) -> bytes:
    """The base64 safetensors file, checked against the graph: every parameter present with its shape."""
    try:
        blob = base64.b64decode(b64, validate=True)
    except (binascii.Error, ValueError) as e:
        raise RequestInvalid(f"weights: not valid base64 ({e})") from None
    header = _safetensors_header(blob)
    declared = {**{k: v["shape"] for k, v in doc.get("buffers", {}).items()},
                **{k: v["shape"] for k, v in doc["params"].items()}}
    missing = [k for k in doc["params"] if k not in header]
    if missing:
        raise RequestInvalid(f"weights: {len(missing)} parameter(s) of the graph are missing, first {missing[:5]}")
    unknown = [k for k in header if k not in declared]
    if unknown:
        raise RequestInvalid(f"weights: tensor(s) the graph does not declare: {unknown[:5]}")
    for name, info in header.items():
        if list(info["shape"]) != list(declared[name]):
            raise RequestInvalid(f"weights: tensor {name!r} has shape {info['shape']}, the graph declares {declared[name]}")
        if info["dtype"] not in ("F32", "F16", "BF16"):
            raise RequestInvalid(f"weights: tensor {name!r} has dtype {info['dtype']}, expected F32 (or F16/BF16)")
    return blob


def _safetensors_header(blob: bytes) -> dict[str, dict[str, Any]]:
    if len(blob) < 8:
        raise RequestInvalid(f"weights: {len(blob)} bytes is too short for a safetensors file")
    (n,) = struct.unpack("<Q", blob[:8])
    if n > len(blob) - 8:
        raise RequestInvalid(f"weights: safetensors header length {n} exceeds the file's {len(blob) - 8} bytes")
    try:
        header = json.loads(blob[8:8 + n])
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise RequestInvalid(f"weights: safetensors header is not JSON ({e})") from None
    if not isinstance(header, dict):
        raise RequestInvalid("weights: safetensors header is not a JSON object")
    header.pop("__metadata__", None)
    size = len(blob) - 8 - n
    itemsize = {"F32": 4, "F16": 2, "BF16": 2, "F64": 8, "I64": 8, "I32": 4, "U8": 1}
    for name, info in header.items():
        try:
            begin, end = info["data_offsets"]
            count = math.prod(info["shape"])
            width = itemsize[info["dtype"]]
        except (KeyError, TypeError, ValueError):
            raise RequestInvalid(f"weights: safetensors entry {name!r} is malformed: {info!r}"[:300]) from None
        if not (0 <= begin <= end <= size) or end - begin != count * width:
            raise RequestInvalid(f"weights: tensor {name!r} data offsets {begin}..{end} do not fit shape "
                                 f"{info['shape']} {info['dtype']} in the file's {size} data bytes")
    return header


def check_data(data: Any, allowed: tuple[Path, ...]) -> dict[str, Any]:
    if not isinstance(data, (NpzData, CacheData)):
        return data.model_dump()
    path = Path(data.path).resolve()
    roots = [r.resolve() for r in allowed]
    if not any(path == r or r in path.parents for r in roots):
        raise RequestInvalid(f"data.path: {data.path} is outside the server's data folders "
                             f"({', '.join(map(str, roots))})")
    if not path.exists():
        raise RequestInvalid(f"data.path: {data.path} does not exist on the server")
    return {"kind": data.kind, "path": str(path)}


def check_request(req: RunRequest, data_dirs: tuple[Path, ...]) -> tuple[GraphSummary, bytes | None, dict[str, Any]]:
    summary = check_graph(req.graph)
    weights = decode_weights(req.weights, req.graph) if req.weights is not None else None
    return summary, weights, check_data(req.data, data_dirs)

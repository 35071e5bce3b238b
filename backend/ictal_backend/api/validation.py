"""Everything in a run request is checked here, before any file is written or any compute starts; each
error names exactly what is wrong (the API answers it as a 422). The graph and weights are judged by the
backend's own loaders, the code the trainer will run them through."""
from __future__ import annotations

import base64
import binascii
from pathlib import Path
from typing import Any

from .limits import RunLimits, check_data_limits, check_graph_limits, check_train_limits
from .schemas import CacheData, GraphSummary, NpzData, RunRequest


class RequestInvalid(ValueError):
    """A run request the server refuses; the message is the reason the client sees."""


def check_graph(doc: dict[str, Any], limits: RunLimits) -> tuple[Any, GraphSummary]:
    from ictal_backend.ir import IrError, parse_ir

    try:
        graph = parse_ir(doc)
    except IrError as e:
        raise RequestInvalid(f"graph: {e}") from None
    params = check_graph_limits(graph, limits)
    return graph, GraphSummary(name=graph.name, ictal_ir=int(doc["ictal_ir"]), nodes=len(graph.nodes), params=params)


def decode_weights(b64: str, graph: Any) -> bytes:
    """The base64 safetensors file, checked against the graph: every parameter and buffer, shapes, values."""
    from safetensors.torch import load

    from ictal_backend.ir import IrError
    from ictal_backend.safetensors_io import check_weights

    try:
        blob = base64.b64decode(b64, validate=True)
    except (binascii.Error, ValueError) as e:
        raise RequestInvalid(f"weights: not valid base64 ({e})") from None
    try:
        tensors = load(blob)
    except Exception as e:  # noqa: BLE001 - safetensors' own parse errors, passed on
        raise RequestInvalid(f"weights: not a safetensors file ({e})") from None
    try:
        check_weights(graph, tensors, source="weights")
    except IrError as e:
        raise RequestInvalid(str(e)) from None
    return blob


def check_train(train: dict[str, Any]) -> None:
    from ictal_backend.trainer import ConfigError, resolve_config

    try:
        resolve_config(train)
    except ConfigError as e:
        raise RequestInvalid(f"train: {e}") from None


def check_data(data: Any, allowed: tuple[Path, ...]) -> dict[str, Any]:
    spec = data.model_dump(exclude_none=True)
    if not isinstance(data, (NpzData, CacheData)):
        return spec
    roots = [r.resolve() for r in allowed]
    for key in ("path", "val_path"):
        if key not in spec:
            continue
        if "\x00" in spec[key]:
            raise RequestInvalid(f"data.{key}: a path cannot contain a NUL byte")
        try:
            path = Path(spec[key]).resolve()
            if not any(path == r or r in path.parents for r in roots):
                raise RequestInvalid(f"data.{key}: {spec[key]} is outside the server's data folders "
                                     f"({', '.join(map(str, roots))})")
            exists = path.exists()
        except (OSError, ValueError, RuntimeError) as e:  # a name too long, a symlink loop, ...
            raise RequestInvalid(f"data.{key}: {spec[key][:200]!r} is not a usable path ({e})") from None
        if not exists:
            raise RequestInvalid(f"data.{key}: {spec[key]} does not exist on the server")
        spec[key] = str(path)
    return spec


def check_request(req: RunRequest, data_dirs: tuple[Path, ...], limits: RunLimits) -> tuple[GraphSummary, bytes | None, dict[str, Any], dict[str, Any]]:
    """(graph summary, weights file or None, train config, data spec) of a request that passed every check.
    Raises RequestInvalid or LimitExceeded; the cheap checks (sizes, limits) come before decoding weights."""
    graph, summary = check_graph(req.graph, limits)
    train = req.train.model_dump(exclude_none=True)
    check_train(train)
    check_train_limits(train, limits)
    data = check_data(req.data, data_dirs)
    check_data_limits(data, limits)
    weights = decode_weights(req.weights, graph) if req.weights is not None else None
    return summary, weights, train, data

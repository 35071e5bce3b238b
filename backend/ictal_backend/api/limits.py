"""What one server agrees to run: a submission over any of these limits is refused (413) before a file is
written or a byte of it computed, naming the limit, the value and the maximum (docs/api.md "Limits")."""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

GIB = 2**30


@dataclass(frozen=True)
class RunLimits:
    # Full-size v3 is 9.0 M parameters, 1.7 GiB of f32 activations kept per window; the defaults leave a
    # few times that, and stop the absurd (a 10 G-parameter graph, a 1e9-sample window) cold.
    max_parameters: int = 50_000_000
    max_tensor_elements: int = 2**27          # per tensor, one window (batch 1): 512 MiB of f32
    max_activation_bytes: int = 8 * GIB       # kept for backward, per window, f32 (the lab's accounting)
    max_windows: int = 100_000                # synthetic training + validation windows
    max_steps: int = 10_000_000
    max_epochs: int = 10_000
    max_batch_size: int = 1024                # batch_size and val_batch_size
    max_workers: int = 16                     # num_workers (DataLoader processes)
    max_runs: int = 1_000                     # runs kept by the server (delete old ones: DELETE /api/runs/{id})
    max_disk_bytes: int = 100 * GIB           # everything under the server's home

    def __post_init__(self) -> None:
        for f in fields(self):
            v = getattr(self, f.name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"limit {f.name} must be a positive integer, got {v!r}")


# serve's option for each limit, named in refusals so that an operator knows which knob it is.
OPTION = {f.name: "--" + f.name.replace("_", "-") for f in fields(RunLimits)}


class LimitExceeded(ValueError):
    """A submission over one of the server's limits; answered 413 with the limit, the value and the maximum."""

    def __init__(self, limit: str, value: int, maximum: int, what: str):
        self.limit, self.maximum = limit, maximum
        # The value as a JSON number where a double holds it exactly, else its size in words.
        big = value.bit_length() > 53
        self.value: int | str = f"a {value.bit_length()}-bit integer" if big else value
        shown = self.value if big else f"{value:,}"
        super().__init__(f"{what} is {shown}, over this server's limit {limit} = {maximum:,} (serve {OPTION[limit]})")


def _over(limit: str, value: int, limits: RunLimits, what: str) -> None:
    maximum = getattr(limits, limit)
    if value > maximum:
        raise LimitExceeded(limit, value, maximum, what)


def check_graph_limits(graph: Any, limits: RunLimits) -> int:
    """Parameters, elements of each tensor (one window) and activation memory per window; returns the
    parameter count."""
    from ictal_backend.accounting import saved_activation_bytes

    params = sum(math.prod(p.shape) for p in graph.params.values())
    _over("max_parameters", params, limits, "graph: the parameter count")
    named = [(f'params["{n}"]', p.shape) for n, p in graph.params.items()]
    named += [(f'buffers["{n}"]', b.shape) for n, b in graph.buffers.items()]
    named += [(f'tensors["{n}"]', s) for n, s in graph.tensors.items()]
    for name, shape in named:
        _over("max_tensor_elements", math.prod(1 if d == "B" else d for d in shape), limits,
              f"graph: {name} elements per window")
    _over("max_activation_bytes", saved_activation_bytes(graph, 1), limits,
          "graph: activation memory kept for backward per window (f32 bytes)")
    return params


def check_train_limits(train: dict[str, Any], limits: RunLimits) -> None:
    for key, limit in (("steps", "max_steps"), ("epochs", "max_epochs"), ("batch_size", "max_batch_size"),
                       ("val_batch_size", "max_batch_size"), ("num_workers", "max_workers")):
        v = train.get(key)
        if isinstance(v, int) and not isinstance(v, bool):
            _over(limit, v, limits, f"train.{key}")


def check_data_limits(data: dict[str, Any], limits: RunLimits) -> None:
    if data.get("kind") == "synthetic":
        # The trainer's defaults (datasets.open_data) when the request leaves them out.
        windows = int(data.get("windows", 32)) + int(data.get("val_windows", 8))
        _over("max_windows", windows, limits, "data: synthetic windows (training + validation)")


def disk_usage(root: Path) -> int:
    """Bytes of every file under root (not following links)."""
    total = 0
    for folder, _, files in os.walk(root):
        for name in files:
            try:
                total += os.lstat(os.path.join(folder, name)).st_size
            except OSError:
                pass  # removed while we walked
    return total


def check_server_limits(run_count: int, home: Path, incoming_bytes: int, limits: RunLimits) -> None:
    """Runs kept and disk used, counting the request about to be written."""
    _over("max_runs", run_count + 1, limits, "the number of runs kept (with this one)")
    _over("max_disk_bytes", disk_usage(home) + incoming_bytes, limits,
          "bytes on disk under the server's home (with this request)")

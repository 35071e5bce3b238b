"""Which Mamba2 scan and which recomputation a training step uses, per device and batch, from measured values.

The options, fastest first (training step of the full v3 graph, f16 autocast, one GPU). Each has its peak
memory per window; the policy takes the first whose batch fits the card, so a small batch gets the fastest
step and a large one the leanest that fits:

| scan      | recomputed    | GiB per window | measured                                                                   |
|-----------|---------------|----------------|----------------------------------------------------------------------------|
| mamba_ssm | nothing       | 1.88           | H100, batch 16: 0.442 s, 29.1 GiB (gpu-bench.sh, 2026-12-06 04:32, chunk 64) |
| mamba_ssm | Mamba2 blocks | 0.47           | H100, batch 48 / 64: 1.541 / 2.056 s, 22.4 / 29.8 GiB (the same run)          |
| chunked   | nothing       | 4.70           | H200, batch 16: 0.74 s, 75.2 GiB (docs/backend.md; H100: 0.823 s, 75 GiB)   |
| chunked   | scan          | 1.93           | H200, batch 16: 0.92 s, 30.8 GiB (docs/backend.md)                          |
| chunked   | Mamba2 blocks | 1.12           | H100, batch 48 / 64: 3.065 / 4.151 s, 53.8 / 71.7 GiB (2026-12-06)            |

Per window, the step times order the rows as listed (0.028, 0.032, 0.046-0.051, 0.058, 0.061 s; the chunked rows
were measured at chunk 32 with cuDNN's heuristic, the mamba_ssm rows at chunk 64 with its algorithms timed). The
mamba_ssm row keeps 1.88 GiB a window, the larger of its two measurements (1.87 at chunk 256, 1.82 at 64). Only a
fraction of the card is planned for (MEMORY_FRACTION): batch 64 with blocks recomputed (71.7 GiB) ran out
of memory on an 80 GB H100 without `expandable_segments` (fragmentation). `scripts/gpu-bench.sh` measures
these values again; update the table from its output.

On a CPU there is one choice: the chunked scan, nothing recomputed (memory is not the limit there).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from .scan import mamba_ssm_available

GIB = 2**30
MEMORY_FRACTION = 0.85


@dataclass(frozen=True)
class StepOption:
    scan: str
    checkpoint: str
    gib_per_window: float


OPTIONS = (
    StepOption("mamba_ssm", "none", 1.88),
    StepOption("mamba_ssm", "block", 0.47),
    StepOption("chunked", "none", 4.70),
    StepOption("chunked", "scan", 1.93),
    StepOption("chunked", "block", 1.12),
)


@dataclass(frozen=True)
class StepChoice:
    scan: str
    checkpoint: str
    reason: str


def choose_step(device: torch.device, batch: int, scan: str = "auto", checkpoint: str | None = None,
                memory_bytes: int | None = None, have_mamba_ssm: bool | None = None) -> StepChoice:
    """The scan (`auto` resolved) and recomputation for a training step of `batch` windows on `device`.
    An explicit `scan` or `checkpoint` (config keys `scan`, `checkpoint_mamba`) is kept; the policy fills in
    the other. `memory_bytes` and `have_mamba_ssm` default to the device's (arguments for the tests)."""
    if batch < 1:
        raise ValueError(f"batch must be >= 1, got {batch}")
    if device.type != "cuda":
        chosen_scan = "chunked" if scan in ("auto", "mamba_ssm") else scan
        note = " (mamba_ssm needs CUDA)" if scan == "mamba_ssm" else ""
        return StepChoice(chosen_scan, checkpoint or "none", f"{device.type}: no memory table applies{note}")
    if have_mamba_ssm is None:
        have_mamba_ssm = mamba_ssm_available()
    if memory_bytes is None:
        memory_bytes = torch.cuda.get_device_properties(device).total_memory
    budget = MEMORY_FRACTION * memory_bytes / GIB
    scans = {"auto": ("mamba_ssm", "chunked") if have_mamba_ssm else ("chunked",)}.get(scan, (scan,))
    candidates = [o for o in OPTIONS if o.scan in scans and (checkpoint is None or o.checkpoint == checkpoint)]
    if not candidates:  # e.g. the sequential reference scan: nothing measured, keep what was asked
        return StepChoice(scan, checkpoint or "none", f"scan {scan!r}: not in the measured table")
    for option in candidates:
        need = option.gib_per_window * batch
        if need <= budget:
            return StepChoice(option.scan, option.checkpoint,
                              f"batch {batch} x {option.gib_per_window} GiB/window = {need:.1f} GiB <= {budget:.1f} GiB "
                              f"({MEMORY_FRACTION:.0%} of the card); the fastest measured option that fits")
    lean = min(candidates, key=lambda o: o.gib_per_window)
    return StepChoice(lean.scan, lean.checkpoint,
                      f"batch {batch} needs about {lean.gib_per_window * batch:.1f} GiB even with the leanest "
                      f"option, over {budget:.1f} GiB ({MEMORY_FRACTION:.0%} of the card): expect running out of "
                      "memory; lower batch_size")

"""Which checkpoint a run resumes from: the complete step checkpoint with the highest recorded step.

A checkpoint is a pair written in this order, each file atomically: `<stem>.safetensors` (weights, with the
step and epoch in its metadata) then `<stem>.state.pt` (optimizer, schedule, counters). Only a pair whose
state file exists is complete; `best.safetensors` (a copy of weights, no state) is never a candidate, and file
times play no part (a copy or a restore changes them).
"""
from __future__ import annotations

import json
import re
import struct
from dataclasses import dataclass
from pathlib import Path

STEM = re.compile(r"^(epoch-\d{4,}|step-\d{8,})$")
MAX_HEADER = 100 * 2**20  # the safetensors format's own cap on its JSON header


@dataclass(frozen=True)
class Checkpoint:
    weights: Path
    state: Path
    step: int
    epoch: int


def recorded_progress(weights: Path) -> tuple[int, int] | None:
    """(step, epoch) from the weights file's safetensors metadata; None if it is unreadable or has none."""
    try:
        with open(weights, "rb") as f:
            (size,) = struct.unpack("<Q", f.read(8))
            if size > MAX_HEADER:
                return None
            meta = json.loads(f.read(size)).get("__metadata__") or {}
        return int(meta["step"]), int(meta["epoch"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError, struct.error):
        return None


def newest_checkpoint(folder: Path) -> Checkpoint | None:
    """The complete step checkpoint with the highest recorded step (the epoch breaks a tie), or None."""
    found: list[Checkpoint] = []
    try:
        names = [p for p in folder.iterdir() if p.name.endswith(".safetensors")]
    except OSError:
        return None
    for weights in names:
        stem = weights.name[: -len(".safetensors")]
        state = weights.with_name(stem + ".state.pt")
        progress = recorded_progress(weights) if STEM.match(stem) and state.is_file() else None
        if progress is not None:
            found.append(Checkpoint(weights, state, *progress))
    return max(found, key=lambda c: (c.step, c.epoch)) if found else None

"""Which windows training visits, in what order, on which rank.

The original's balanced sampling (ORIGINAL_PIPELINE.md, `ictal_backend.data.cache.balanced_indices`) is drawn
**once**, from the run's seed: that set is the training set of every epoch, and its share of seizure windows
gives pos_weight. Each epoch visits it in a new order, deterministic in (seed, epoch) so that a resumed run
visits the same windows, split across DDP ranks.
"""
from __future__ import annotations

import numpy as np

from .data.cache import balanced_indices


def training_windows(fractions: np.ndarray, seed: int, balanced: bool = True, full_fraction: float = 0.3,
                     background_ratio: float = 2.5) -> np.ndarray:
    """The windows training uses, sorted. Balanced when asked and there is a partial-seizure window to balance
    against (the original's counts are ratios of those); otherwise every window."""
    fractions = np.asarray(fractions, dtype=np.float64)
    if balanced:
        chosen = balanced_indices(fractions, np.random.default_rng(seed), full_fraction, background_ratio)
        if len(chosen):
            return np.sort(chosen)
    return np.arange(len(fractions), dtype=np.int64)


def positive_share(fractions: np.ndarray, windows: np.ndarray) -> float:
    """The share of the given windows that hold any seizure: the r of pos_weight = sqrt((1 - r) / r)."""
    if len(windows) == 0:
        raise ValueError("positive_share: no windows")
    return float(np.mean(np.asarray(fractions, dtype=np.float64)[windows] > 0))


def epoch_plan(windows: np.ndarray, seed: int, epoch: int) -> np.ndarray:
    """The training windows in this epoch's order."""
    order = np.array(windows, dtype=np.int64)
    np.random.default_rng([seed, epoch]).shuffle(order)
    return order


def batches(plan: np.ndarray, batch_size: int, rank: int = 0, world: int = 1) -> list[np.ndarray]:
    """The plan in batches dealt round-robin to the ranks, so every rank gets the same number of steps. A ragged
    end is filled from the start of the plan (cycling), so no window is dropped and small sets still train."""
    if batch_size < 1 or world < 1 or not 0 <= rank < world:
        raise ValueError(f"batches: batch_size {batch_size}, rank {rank}, world {world} make no sense")
    if len(plan) == 0:
        return []
    per_step = batch_size * world
    count = -(-len(plan) // per_step)
    filled = np.resize(plan, count * per_step)  # np.resize repeats the array cyclically
    usable = filled.reshape(count, world, batch_size)
    return [usable[i, rank] for i in range(count)]

"""Which windows an epoch visits, in what order, on which rank.

The recipe's balanced sampling (every window holding part of a seizure, 0.3x the windows fully inside
seizures, 2.5x as many seizure-free windows) is `ictal_backend.data.cache.balanced_indices`; this module
makes it an epoch plan: deterministic in (seed, epoch), so a resumed run visits the same windows, and split
across DDP ranks.
"""
from __future__ import annotations

import numpy as np

from .data.cache import balanced_indices


def epoch_plan(fractions: np.ndarray, seed: int, epoch: int, balanced: bool = True, full_fraction: float = 0.3,
               background_ratio: float = 2.5) -> np.ndarray:
    """Window indices of one epoch, shuffled. Balanced when asked and there is a seizure to balance against;
    otherwise every window once (a data set without seizures cannot be balanced)."""
    rng = np.random.default_rng([seed, epoch])
    fractions = np.asarray(fractions, dtype=np.float64)
    if balanced and np.any(fractions > 0):
        return balanced_indices(fractions, rng, full_fraction, background_ratio)
    order = np.arange(len(fractions), dtype=np.int64)
    rng.shuffle(order)
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

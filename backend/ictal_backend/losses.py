"""The training loss of the v3 recipe: the original's focal loss on per-sample BCE-with-logits with a
positive-class weight, clamps included (ORIGINAL_PIPELINE.md).

Per sample (z logit, y label in [0, 1], w pos_weight):
    z' = clamp(z, -100, 100)
    l = w y softplus(-z') + (1 - y) softplus(z')                    (= BCE-with-logits with pos_weight)
    1 - p_t = y sigmoid(-z') + (1 - y) sigmoid(z'), clamped to [1e-7, 1 - 1e-7]
    alpha_t = y alpha + (1 - y)(1 - alpha)
    L = mean(min(alpha_t (1 - p_t)^gamma l, 100))
Written with log-sigmoid forms (log p = -softplus(-z)) and computed in float32 even under autocast. Each clamp
passes no gradient where it clamps (torch.clamp), as in the original and src/kernels/focal-loss.ts.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

LOGIT_LIMIT = 100.0
PT_EPSILON = 1e-7
MAX_LOSS = 100.0


def pos_weight_for_rate(positive_rate: float) -> float:
    """sqrt((1 - r) / r) for the positive rate r; 1 when r is 0 or 1 (no class to rebalance)."""
    if not 0.0 <= positive_rate <= 1.0 or math.isnan(positive_rate):
        raise ValueError(f"positive rate {positive_rate} is not in [0, 1]")
    if positive_rate in (0.0, 1.0):
        return 1.0
    return math.sqrt((1.0 - positive_rate) / positive_rate)


def focal_loss(logits: torch.Tensor, labels: torch.Tensor, alpha: float = 0.5, gamma: float = 2.0,
               pos_weight: float = 1.0) -> torch.Tensor:
    if logits.shape != labels.shape:
        raise ValueError(f"focal_loss: logits {tuple(logits.shape)} and labels {tuple(labels.shape)} differ in shape")
    z, y = logits.float().clamp(-LOGIT_LIMIT, LOGIT_LIMIT), labels.float()
    sp_pos, sp_neg = F.softplus(z), F.softplus(-z)       # -log(1 - p), -log p
    bce = pos_weight * y * sp_neg + (1 - y) * sp_pos
    one_minus_pt = (y * torch.exp(-sp_pos) + (1 - y) * torch.exp(-sp_neg)).clamp(PT_EPSILON, 1 - PT_EPSILON)
    alpha_t = y * alpha + (1 - y) * (1 - alpha)
    return (alpha_t * one_minus_pt.pow(gamma) * bce).clamp(max=MAX_LOSS).mean()

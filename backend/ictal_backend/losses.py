"""The training loss of the v3 recipe: focal loss on per-sample BCE-with-logits with a positive-class weight.

Per sample (z logit, y label in [0, 1], w pos_weight):
    l = w y softplus(-z) + (1 - y) softplus(z)                      (= -(w y log p + (1 - y) log(1 - p)))
    1 - p_t = y sigmoid(-z) + (1 - y) sigmoid(z) = y exp(-softplus(z)) + (1 - y) exp(-softplus(-z))
    alpha_t = y alpha + (1 - y)(1 - alpha)
    L = mean(alpha_t (1 - p_t)^gamma l)
Everything is written with log-sigmoid forms (log p = -softplus(-z)), so large |z| stays finite, and computed
in float32 even under autocast.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def pos_weight_for_rate(positive_rate: float) -> float:
    """sqrt((1 - r) / r) for the positive-sample rate r; 1 when r is 0 or 1 (no class to rebalance)."""
    if not 0.0 <= positive_rate <= 1.0 or math.isnan(positive_rate):
        raise ValueError(f"positive rate {positive_rate} is not in [0, 1]")
    if positive_rate in (0.0, 1.0):
        return 1.0
    return math.sqrt((1.0 - positive_rate) / positive_rate)


def focal_loss(logits: torch.Tensor, labels: torch.Tensor, alpha: float = 0.5, gamma: float = 2.0,
               pos_weight: float = 1.0) -> torch.Tensor:
    if logits.shape != labels.shape:
        raise ValueError(f"focal_loss: logits {tuple(logits.shape)} and labels {tuple(labels.shape)} differ in shape")
    z, y = logits.float(), labels.float()
    sp_pos, sp_neg = F.softplus(z), F.softplus(-z)       # -log(1 - p), -log p
    bce = pos_weight * y * sp_neg + (1 - y) * sp_pos
    one_minus_pt = y * torch.exp(-sp_pos) + (1 - y) * torch.exp(-sp_neg)
    alpha_t = y * alpha + (1 - y) * (1 - alpha)
    return (alpha_t * one_minus_pt.pow(gamma) * bce).mean()

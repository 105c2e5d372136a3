"""Gradient clipping, equal to ``torch.nn.utils.clip_grad_norm_`` and ``clip_grad_value_``.

Each returns the clipped gradients (new arrays) with the global norm before and after, so
the app can show both.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .limits import check_positive

EPS = 1e-6  # torch adds this to the norm before dividing


@dataclass(frozen=True)
class Clipped:
    grads: dict[str, np.ndarray]
    norm_before: float
    norm_after: float


def global_norm(grads: dict[str, np.ndarray]) -> float:
    return float(np.sqrt(sum(float(np.sum(g * g)) for g in grads.values())))


def clip_by_norm(grads: dict[str, np.ndarray], max_norm: float) -> Clipped:
    """Pascanu's Algorithm 1: scale all gradients by min(1, max_norm / (||g|| + 1e-6))."""
    max_norm = check_positive("max_norm", max_norm)
    before = global_norm(grads)
    with np.errstate(all="ignore"):
        coef = np.minimum(1.0, max_norm / (before + EPS))  # NaN stays NaN, as in torch
        out = {k: g * coef for k, g in grads.items()}
    return Clipped(out, before, global_norm(out))


def clip_by_value(grads: dict[str, np.ndarray], clip_value: float) -> Clipped:
    """Clamp every element to [-clip_value, clip_value]; the direction changes."""
    clip_value = check_positive("clip_value", clip_value)
    out = {k: np.clip(g, -clip_value, clip_value) for k, g in grads.items()}
    return Clipped(out, global_norm(grads), global_norm(out))

"""Elementwise activations with the derivative the backward pass needs.

Each derivative is written in terms of the pre-activation ``a`` and the value ``y = phi(a)``
so a cell can use whichever it already has. ``gamma`` is max |phi'|, the factor in
Pascanu's bound ``||dh_t/dh_k|| <= (gamma * sigma_max(W_hh))^(t-k)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

LEAKY_SLOPE = 0.01  # torch.nn.LeakyReLU's default negative_slope


def sigmoid(a: np.ndarray) -> np.ndarray:
    """Logistic function via tanh: no overflow warning for large |a|."""
    return 0.5 * (1.0 + np.tanh(0.5 * a))


@dataclass(frozen=True)
class Activation:
    name: str
    forward: Callable[[np.ndarray], np.ndarray]
    derivative: Callable[[np.ndarray, np.ndarray], np.ndarray]  # (a, y) -> phi'(a)
    gamma: float  # max |phi'|


ACTIVATIONS: dict[str, Activation] = {
    "tanh": Activation("tanh", np.tanh, lambda a, y: 1.0 - y * y, 1.0),
    "sigmoid": Activation("sigmoid", sigmoid, lambda a, y: y * (1.0 - y), 0.25),
    "relu": Activation(
        "relu", lambda a: np.maximum(a, 0.0), lambda a, y: (a > 0).astype(a.dtype), 1.0
    ),
    "leaky_relu": Activation(
        "leaky_relu",
        lambda a: np.where(a > 0, a, LEAKY_SLOPE * a),
        lambda a, y: np.where(a > 0, 1.0, LEAKY_SLOPE),
        1.0,
    ),
    "identity": Activation("identity", lambda a: a + 0.0, lambda a, y: np.ones_like(a), 1.0),
}


def get_activation(name: str) -> Activation:
    if name not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {name!r}")
    return ACTIVATIONS[name]

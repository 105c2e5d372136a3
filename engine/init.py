"""Weight initialisers: the remedies for vanishing and exploding gradients.

``default`` is PyTorch's U(-1/sqrt(H), 1/sqrt(H)) for every tensor. The others set biases to
zero and treat each gate block of a recurrent matrix as its own (H, H) matrix:

- ``xavier``: Glorot uniform, times ``gain``.
- ``orthogonal``: recurrent blocks ``gain * Q`` with Q orthogonal; inputs Glorot.
- ``identity``: IRNN (Le, Jaitly & Hinton 2015): recurrent blocks ``gain * I``, inputs N(0, 1e-3^2).
- ``gaussian``: recurrent blocks N(0, gain^2 / H), the random networks of the edge-of-chaos
  literature; inputs N(0, 1/I).

``spectral_radius`` then rescales every recurrent block to that spectral radius, and
``forget_bias`` sets the LSTM forget-gate bias (``b_ih``; ``b_hh`` gets 0).
"""

from __future__ import annotations

import numpy as np

INITS = ("default", "xavier", "orthogonal", "identity", "gaussian")
RECURRENT = ("w_hh", "w_ho")  # square (H, H) blocks that carry the state through time


def orthogonal(n: int, rng: np.random.Generator) -> np.ndarray:
    """A Haar-random orthogonal matrix (QR of a Gaussian with the sign of R's diagonal fixed)."""
    q, r = np.linalg.qr(rng.standard_normal((n, n)))
    return q * np.sign(np.diag(r))


def spectral_radius(w: np.ndarray) -> float:
    return float(np.max(np.abs(np.linalg.eigvals(w)))) if w.ndim == 2 else float(np.max(np.abs(w)))


def _block(scheme: str, name: str, shape, gain: float, rng: np.random.Generator) -> np.ndarray:
    """One (H, fan_in) block, or an (H,) vector for IndRNN's recurrent weights."""
    H = shape[0]
    if len(shape) == 1:  # IndRNN's u, or a bias
        if name != "w_hh":
            return np.zeros(shape)
        return gain * (np.ones(shape) if scheme == "identity" else rng.uniform(0, 1, shape))
    fan_in = shape[1]
    recurrent = name in RECURRENT
    if recurrent and scheme == "orthogonal":
        return gain * orthogonal(H, rng)
    if recurrent and scheme == "identity":
        return gain * np.eye(H)
    if recurrent and scheme == "gaussian":
        return rng.normal(0.0, gain / np.sqrt(H), shape)
    if scheme == "identity":
        return rng.normal(0.0, 1e-3, shape)
    if scheme == "gaussian":
        return rng.normal(0.0, 1.0 / np.sqrt(fan_in), shape)
    bound = gain * np.sqrt(6.0 / (fan_in + H))  # xavier, and inputs under orthogonal
    return rng.uniform(-bound, bound, shape)


def init_tensor(scheme: str, name: str, shape, blocks: int, hidden: int, gain: float,
                rng: np.random.Generator) -> np.ndarray:
    """Initialise one parameter tensor whose first axis stacks ``blocks`` gate blocks."""
    if scheme == "default":
        k = 1.0 / np.sqrt(hidden)
        return rng.uniform(-k, k, shape)
    n_blocks = blocks if shape[0] == blocks * hidden and name != "w_ho" else 1
    block_shape = (shape[0] // n_blocks, *shape[1:])
    return np.concatenate([_block(scheme, name, block_shape, gain, rng) for _ in range(n_blocks)])


def rescale_radius(w: np.ndarray, hidden: int, radius: float) -> np.ndarray:
    """Scale every (H, H) block of ``w`` (or the vector ``u``) to the given spectral radius."""
    if w.ndim == 1:
        current = np.max(np.abs(w))
        return w * (radius / current) if current > 0 else w
    out = w.copy()
    for k in range(w.shape[0] // hidden):
        blk = out[k * hidden:(k + 1) * hidden]
        current = spectral_radius(blk)
        if current > 0:
            blk *= radius / current
    return out

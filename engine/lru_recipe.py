"""From Elman to the LRU (Orvieto et al. 2023, section 3) as five switches on one network.

The Elman RNN ``h_t = phi(W h_{t-1} + U x_t + b)`` becomes the LRU one step at a time:

- ``linear``: drop phi. ``h_t = W h_{t-1} + U x_t + b``.
- ``diagonal``: write the state in W's eigen-coordinates, ``W = P diag(mu) P^-1``,
  ``z = P^-1 h``: ``z_t = lam * z_{t-1} + B x_t + beta`` with ``B = P^-1 U``,
  ``beta = P^-1 b``, and the output ``y_t = Re(C z_t)`` with ``C = P`` (the same h_t).
  Off ``complex``, a real diagonal keeps only the eigenvalues' magnitudes, ``lam = |mu|``.
- ``complex``: keep their phases too, ``lam = mu``: then the diagonal network *is* the
  linear one, in other coordinates (its outputs equal to rounding).
- ``exp``: ``lam_j = exp(-exp(nu_j) + i theta_j)``, the magnitudes drawn on the ring
  ``r_min <= |lam| <= r_max`` (W's phases kept with ``complex``, none without): every
  eigenvalue inside the unit circle, and
  the gradient reaches the magnitude through nu, scaled by ``|lam| ln|lam|``.
- ``normalise``: the input scaled by ``gamma_j = sqrt(1 - |lam_j|^2)``, which keeps the
  state's scale (and the loss's sensitivity to lam) bounded as |lam| -> 1; set from lam and
  then held, as the LRU's code trains it (the gradients on lam do not include dgamma/dlam).

Each switch needs the one before it (``NEEDS``). ``recipe_run`` computes the outputs, the
state, ``||dL/d state_t||`` and, on the diagonal, each channel's gradient on its magnitude
parameter, for the loss ``L = sum_t e_t . y_t`` (``e``: the app's loss seed), exactly: the
dense steps through the engine's Elman network, the diagonal ones by the scan and its
reverse scan (torch's complex convention: the gradient of a real loss is dL/dRe + i dL/dIm).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from . import scan
from .network import Network

SWITCHES = ("linear", "diagonal", "complex", "exp", "normalise")
NEEDS = {"diagonal": "linear", "complex": "diagonal", "exp": "diagonal", "normalise": "exp"}
R_MIN, R_MAX = 0.4, 0.99  # the LRU's ring (engine.cells' lru init)


@dataclass(frozen=True)
class Recipe:
    """Which switches of the recipe are on; each needs the one ``NEEDS`` names."""

    linear: bool = False
    diagonal: bool = False
    complex: bool = False
    exp: bool = False
    normalise: bool = False

    def __post_init__(self):
        for name, needed in NEEDS.items():
            if getattr(self, name) and not getattr(self, needed):
                raise ValueError(f"the {name!r} switch needs {needed!r} on")

    @classmethod
    def upto(cls, last: str) -> Recipe:
        """Every switch up to and including ``last`` (``"elman"``: none)."""
        if last != "elman" and last not in SWITCHES:
            raise ValueError(f"last must be 'elman' or one of {SWITCHES}, got {last!r}")
        on = () if last == "elman" else SWITCHES[:SWITCHES.index(last) + 1]
        return cls(**{f.name: f.name in on for f in fields(cls)})


@dataclass(frozen=True)
class RecipeRun:
    y: np.ndarray  # (T, H) outputs: h_t, or Re(C z_t) on the diagonal
    state: np.ndarray  # (T, H) the recurrent state: h_t (dense) or z_t (diagonal, complex)
    state_grad_norm: np.ndarray  # (T,) ||dL/d state_t||
    lam: np.ndarray  # (H,) the carry's eigenvalues: W's (dense) or the diagonal's lam
    gamma: np.ndarray | None  # (H,) the input scale on the diagonal (1 without normalise)
    magnitude_grad: np.ndarray | None  # (H,) |dL/d|lam_j|| or, with exp, |dL/dnu_j|
    transition_grad_norm: float  # ||dL/dW||_F, or the norm over the diagonal's lam params
    eigvec_condition: float  # cond(P): how far the eigen-coordinates are from orthogonal


def ring(hidden: int, seed: int, r_min: float = R_MIN, r_max: float = R_MAX) -> np.ndarray:
    """Magnitudes with |lam|^2 uniform on [r_min^2, r_max^2] (the LRU's ring init)."""
    u = np.random.default_rng(seed).uniform(size=hidden)
    return np.sqrt(u * (r_max ** 2 - r_min ** 2) + r_min ** 2)


def _elman(net: Network, recipe: Recipe) -> Network:
    """``net`` as it runs under ``recipe``'s dense steps: its activation, or none."""
    if net.cell.name != "rnn" or net.num_layers != 1 or net.num_directions != 1:
        raise ValueError("the recipe starts from a one-layer, unidirectional Elman RNN")
    if not recipe.linear:
        return net
    linear = Network("rnn", input_size=net.input_size, hidden_size=net.hidden_size,
                     activation="identity")
    linear.load_params(net.params)
    return linear


def recipe_run(net: Network, x, e, recipe: Recipe, seed: int = 0) -> RecipeRun:
    """``net`` (an Elman RNN) under ``recipe`` on input ``x`` (T, I), the loss seed ``e``
    (T, H) = dL/dy_t. ``seed`` draws the ring's magnitudes (switch ``exp``). An eigenvalue
    beyond the unit circle may overflow the state: inf/NaN propagate, never raise."""
    with np.errstate(over="ignore", invalid="ignore"):
        return _recipe_run(net, x, e, recipe, seed)


def _recipe_run(net: Network, x, e, recipe: Recipe, seed: int) -> RecipeRun:
    x, e = np.asarray(x, dtype=np.float64), np.asarray(e, dtype=np.float64)
    dense = _elman(net, recipe)
    p = dense.layer_params(0)
    W, U, b = p["w_hh"], p["w_ih"], p["b_ih"] + p["b_hh"]
    mu, P = np.linalg.eig(W)
    condition = float(np.linalg.cond(P))
    if not recipe.diagonal:
        trace = dense.run(x)
        grads = trace.backward(e)
        return RecipeRun(y=trace.output, state=trace.output,
                         state_grad_norm=grads.hidden_norm[0, 0], lam=mu, gamma=None,
                         magnitude_grad=None,
                         transition_grad_norm=float(np.linalg.norm(
                             grads.params[dense.key("w_hh", 0, 0)])),
                         eigvec_condition=condition)
    P_inv = np.linalg.inv(P)
    B, beta, C = P_inv @ U, P_inv @ b, P
    r = ring(len(mu), seed) if recipe.exp else np.abs(mu)
    phase = np.exp(1j * np.angle(mu)) if recipe.complex else np.ones(len(mu))
    lam = r * phase
    gamma = np.sqrt(1.0 - r ** 2) if recipe.normalise else np.ones(len(mu))
    a = np.broadcast_to(lam, (len(x), len(mu)))
    z, _ = scan.scan(a, gamma * (x @ B.T + beta))
    y = np.real(z @ C.T)
    back = scan.backward(a, z, e @ np.conj(C))  # dl_t/dz_t = e_t C^* (torch's convention)
    lam_grad = back.a.sum(axis=0)  # dL/dlam
    r_grad = np.real(np.conj(lam_grad) * phase)  # dL/d|lam|: along lam's own direction
    if recipe.exp:
        nu_grad = r_grad * r * np.log(r)  # |lam| = exp(-exp(nu)): d|lam|/dnu = |lam| ln|lam|
        theta_grad = np.real(np.conj(lam_grad) * 1j * lam) if recipe.complex else 0.0
        magnitude, total = nu_grad, np.sqrt(np.sum(nu_grad ** 2 + theta_grad ** 2))
    else:
        magnitude = r_grad
        total = np.linalg.norm(lam_grad if recipe.complex else r_grad)
    return RecipeRun(y=y, state=z, state_grad_norm=np.linalg.norm(back.g, axis=1), lam=lam,
                     gamma=gamma, magnitude_grad=np.abs(magnitude),
                     transition_grad_norm=float(total), eigvec_condition=condition)

"""Why gradients vanish or explode: spectra, bounds, Jacobian products, Lyapunov exponents.

All Jacobian work reuses the cells' exact backward step: pushing an identity matrix back
through ``Cell.step`` gives the rows of dh_end/dh_t without writing any Jacobian by hand.
"""

from __future__ import annotations

import numpy as np

from .activations import get_activation
from .init import spectral_radius
from .limits import check_int, check_positive
from .network import Network, Trace

__all__ = [
    "activation_gamma", "activation_slopes", "curse_of_memory", "diagonal_carry",
    "diagonal_jacobian_norms", "diagonal_lyapunov", "gate_saturation", "gradient_bound",
    "gradient_decay_rate", "jacobian_norms", "lru_eigenvalues", "lyapunov_exponent",
    "memory_horizon", "pascanu_bound", "pascanu_factors", "pca_projection", "recurrent_blocks",
    "singular_values", "spectral_radius",
]


def _check_pass(net: Network, layer: int, direction: int) -> None:
    check_int("layer", layer, 0, net.num_layers - 1)
    check_int("direction", direction, 0, net.num_directions - 1)


def recurrent_blocks(net: Network, layer: int = 0, direction: int = 0) -> dict[str, np.ndarray]:
    """The (H, H) recurrent matrix of every gate (IndRNN: diag(u)); none for the diagonal
    cells (minGRU, minLSTM), whose step to step Jacobian is their carry (``diagonal_carry``)."""
    _check_pass(net, layer, direction)
    if net.cell.diagonal:
        return {}
    w = net.params[net.key("w_hh", layer, direction)]
    H = net.hidden_size
    if w.ndim == 1:
        return {"h": np.diag(w)}
    names = net.cell.gate_names or ("h",)
    return {n: w[k * H:(k + 1) * H] for k, n in enumerate(names)}


def diagonal_carry(trace: Trace, layer: int = 0, direction: int = 0) -> np.ndarray:
    """a_t of a diagonal cell, h_t = a_t * h_{t-1} + b_t, time order, (T, B, H): minGRU's
    1 - z_t, minLSTM's f'_t, the LRU's (complex, constant) lambda. dh_t/dh_{t-1} = diag(a_t)
    exactly, so ||dh_T/dh_t|| is the largest channel's product of |a| over (t, T] (no bound
    needed), and each channel's Lyapunov exponent is the mean of log|a_t|."""
    net = trace.network
    _check_pass(net, layer, direction)
    if not net.cell.diagonal:
        raise ValueError(f"the {net.cell.name} cell is not diagonal: its Jacobian is a matrix")
    return net.cell.carry(trace.pass_trace(layer, direction).gates)


def diagonal_jacobian_norms(trace: Trace, layer: int = 0, direction: int = 0,
                            batch_index: int = 0) -> np.ndarray:
    """``jacobian_norms`` of a diagonal cell, every step, without a matrix: dh_end/dh_t is
    diag of the product of the carries after t, so its spectral norm is the largest
    channel's |product| (summed in logs: no underflow before the answer does)."""
    a = diagonal_carry(trace, layer, direction)[:, batch_index]  # time order, (T, W)
    walk = a[::-1] if direction else a  # processing order: the pass ends at walk[-1]
    with np.errstate(divide="ignore"):
        logs = np.log(np.abs(walk))
    after = np.concatenate((np.cumsum(logs[::-1], axis=0)[::-1][1:], np.zeros((1, a.shape[1]))))
    norms = np.exp(after.max(axis=1))  # step t: the carries of steps t+1 .. end
    return norms[::-1] if direction else norms


def diagonal_lyapunov(trace: Trace, layer: int = 0, direction: int = 0,
                      batch_index: int = 0) -> np.ndarray:
    """Each channel's Lyapunov exponent over the trace, exactly: the mean of log|a_t| (its
    Jacobian is diag(a_t), so no QR is needed). (W,): the LRU's log|lambda_j|, S6's
    mean Delta_t A over every channel and state."""
    a = diagonal_carry(trace, layer, direction)[:, batch_index]
    with np.errstate(divide="ignore"):
        return np.log(np.abs(a)).mean(axis=0)


def lru_eigenvalues(net: Network, layer: int = 0, direction: int = 0) -> np.ndarray:
    """The LRU's lambda_j = exp(-exp(nu_j) + i exp(theta_j)): inside the unit circle for any
    weights; channel j's Lyapunov exponent is log|lambda_j| = -exp(nu_j)."""
    _check_pass(net, layer, direction)
    if net.cell.name != "lru":
        raise ValueError(f"the {net.cell.name} cell is not an LRU")
    return net.cell.eigenvalues(net.layer_params(layer, direction))


def curse_of_memory(lam: float) -> dict[str, float]:
    """Zucchet & Orvieto (2024): for h_t = lam h_{t-1} + x_t driven by unit white noise, in
    the stationary regime, E[h^2] = 1 / (1 - lam^2) but E[(dh/dlam)^2] =
    (1 + lam^2) / (1 - lam^2)^3: the longer the memory, the more violently the state
    depends on lam (at 0.99: 50 against 2.5e5). What gamma normalisation (it divides the
    input by sqrt(E[h^2])) and the exp parametrisation (a step in nu moves lam less the
    closer it is to 1) are there for."""
    lam = float(lam)
    if not -1 < lam < 1:
        raise ValueError(f"lam must be in (-1, 1) for a stationary state, got {lam}")
    return {"state": 1 / (1 - lam**2), "sensitivity": (1 + lam**2) / (1 - lam**2) ** 3}


def singular_values(w: np.ndarray) -> np.ndarray:
    """Singular values, largest first."""
    return np.linalg.svd(np.asarray(w, dtype=np.float64), compute_uv=False)


def activation_gamma(activation: str) -> float:
    """max |phi'|: 1 for tanh, ReLU and identity, 1/4 for the sigmoid."""
    return get_activation(activation).gamma


def activation_slopes(trace: Trace, layer: int = 0, direction: int = 0) -> dict:
    """phi'(a_t) of every activation of an ungated cell, time order, (T, B, H) each: what
    plays the role of a gate there, since J_t = diag(phi'(a_t)) W_hh (a slope near 0 passes
    no gradient, like a shut gate). Keys are the cell's pre-activations: "h" (and "y" for the
    Jordan cell). Gated cells (LSTM, GRU) have real gates, and the LRU no activation at
    all: an empty dict."""
    net = trace.network
    _check_pass(net, layer, direction)
    if net.cell.gate_names or not net.cell.uses_activation:
        return {}
    act = get_activation(net.activation)
    pt = trace.pass_trace(layer, direction)
    with np.errstate(all="ignore"):
        return {k: act.derivative(a, act.forward(a)) for k, a in pt.preacts.items()}


def pascanu_bound(gamma: float, sigma_max: float, steps: int) -> np.ndarray:
    """Pascanu, Mikolov & Bengio (2013): ||dh_t/dh_{t-k}|| <= (gamma * sigma_max)^k, k = 0..steps-1.

    One-sided: it proves vanishing when gamma * sigma_max < 1 and says nothing otherwise.
    """
    steps = check_int("steps", steps, 1, 10**6)
    with np.errstate(over="ignore"):
        return (float(gamma) * float(sigma_max)) ** np.arange(steps, dtype=np.float64)


def gradient_bound(direct_norm: np.ndarray, gamma: float, sigma_max: float) -> np.ndarray:
    """A bound on ||dL/dh_t|| for every t: sum_{s>=t} (gamma * sigma_max)^(s-t) ||e_s||.

    ``direct_norm[t]`` = ||e_t||, the gradient entering the pass directly at step t
    (``Gradients.direct_norm``: the loss at t, or the layer above). Since
    dL/dh_t = sum_{s>=t} (dh_s/dh_t)^T e_s and Pascanu's ||dh_s/dh_t|| <= (gamma sigma)^(s-t),
    this bounds the curve in every setting; with a loss at the last step of the top layer
    alone it is Pascanu's ||dL/dh_{T-1}|| (gamma sigma)^(T-1-t). Computed backwards as
    B_t = ||e_t|| + gamma sigma B_{t+1}; it may overflow to inf (then it bounds nothing seen).
    """
    e = np.asarray(direct_norm, dtype=np.float64).ravel()
    q = float(gamma) * float(sigma_max)
    out = np.empty_like(e)
    acc = 0.0
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(e.size - 1, -1, -1):
            acc = e[t] + q * acc
            out[t] = acc
    return out


def _prepared(trace: Trace, layer: int, direction: int, batch_index: int):
    net = trace.network
    _check_pass(net, layer, direction)
    pt = trace.pass_trace(layer, direction)
    p = net.layer_params(layer, direction)
    if not pt.rec.prepared:
        net.cell.prepare(pt.rec, p)
        pt.rec.prepared = True
    check_int("batch_index", batch_index, 0, trace.x.shape[1] - 1)
    return net.cell, pt.rec.batch(batch_index), p


def jacobian_norms(trace: Trace, layer: int = 0, direction: int = 0, batch_index: int = 0,
                   ord: int | str = 2, steps: int | None = None) -> np.ndarray:
    """||dh_end/dh_t|| for every t (time order), end being the pass's last step.

    ``ord=2`` is the spectral norm (what Pascanu's bound limits), ``'fro'`` the Frobenius.
    For the LSTM the derivative holds c_t fixed and follows every path to h_end.
    Each step back costs a product of (H, H) matrices and a norm: ``steps`` computes only
    the last ``steps`` steps of the pass (in processing order) and leaves NaN before them.
    """
    cell, rec, p = _prepared(trace, layer, direction, batch_index)
    T, H = trace.T, cell.state_width  # the state's numbers (S6: H channels times N)
    n = T if steps is None else check_int("steps", steps, 1, T)
    mats = np.empty((n, H, H), dtype=cell.state_dtype)  # mats[k] = dh_end/dh_{T-1-k}
    dh, dc = np.eye(H, dtype=cell.state_dtype), (np.zeros((H, H)) if cell.has_cell_state
                                                  else None)
    mats[0] = dh
    norms = np.full(T, np.nan)
    with np.errstate(all="ignore"):
        for k in range(1, n):
            _, dh, dc, _ = cell.step(rec, p, T - k, dh, dc)
            mats[k] = dh
        if ord == "fro":
            back = np.sqrt(np.sum(np.abs(mats) ** 2, axis=(1, 2)))
        else:
            back = np.full(n, np.nan)
            finite = np.isfinite(mats).all(axis=(1, 2))
            if finite.any():
                back[finite] = np.linalg.svd(mats[finite], compute_uv=False)[:, 0]
    norms[T - n:] = back[::-1]
    return norms[::-1] if direction else norms


def lyapunov_exponent(net: Network, steps: int = 2000, x=None, burn_in: int | None = None,
                      num_exponents: int = 1, seed: int = 0, layer_input_scale: float = 0.0):
    """The largest Lyapunov exponents of the first layer's dynamics, by QR re-orthonormalisation.

    The network runs ``steps`` steps from a random N(0, 1) initial state, on ``x`` or on zero
    input (``layer_input_scale`` > 0 gives N(0, scale^2) input instead). Tangent vectors are
    pushed through the exact backward step (J_t^T, which has the same growth rates as J_t),
    re-orthonormalised by QR each step: lambda_i = (1/n) sum log |R_ii|. The tangents
    settle for ``burn_in + 1`` steps from the last step back, and the first ``burn_in``
    steps (default steps // 10) are left out too: n = T - 2 burn_in - 1 steps count.
    Returns an array of ``num_exponents`` values, largest first, per step in natural log.
    """
    steps = check_int("steps", steps, 2, 100_000)
    rng = np.random.default_rng(seed)
    if x is None:
        scale = float(layer_input_scale)
        if not np.isfinite(scale) or scale < 0:
            raise ValueError(f"layer_input_scale must be a finite number >= 0, got {scale}")
        x = scale * rng.standard_normal((steps, 1, net.input_size)) if scale > 0 else \
            np.zeros((steps, 1, net.input_size))
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 2:
        x = x[:, None, :]
    T = check_int("length of x", x.shape[0], 2, 100_000)
    burn_in = T // 10 if burn_in is None else check_int("burn_in", burn_in, 0, T // 2 - 1)
    H, W = net.hidden_size, net.cell.state_width  # W: S6 keeps N states per channel
    LD = net.num_layers * net.num_directions
    h0 = rng.standard_normal((LD, 1, W))
    c0 = rng.standard_normal((LD, 1, H)) if net.cell.has_cell_state else None
    trace = net.run(x, h0=h0, c0=c0)
    cell, rec, p = _prepared(trace, 0, 0, 0)
    n = 2 * H if cell.has_cell_state else W
    k = check_int("num_exponents", num_exponents, 1, n)
    q, _ = np.linalg.qr(rng.standard_normal((n, k)))
    total = np.zeros(k)
    counted = 0
    with np.errstate(all="ignore"):
        for t in range(T - 1, burn_in - 1, -1):
            seeds = q.T  # (k, n)
            dc = seeds[:, H:] if cell.has_cell_state else None
            _, dh, dc, _ = cell.step(rec, p, t, seeds[:, :W], dc)
            v = np.concatenate((dh, dc), axis=1) if cell.has_cell_state else dh
            q, r = np.linalg.qr(v.T)
            if t < T - 1 - burn_in:
                total += np.log(np.abs(np.diag(r)))
                counted += 1
    return total / max(counted, 1)


def memory_horizon(norms: np.ndarray, threshold: float = 1e-3) -> int | None:
    """Steps back from the last step until ||dL/dh_t|| < threshold * ||dL/dh_{T-1}||.

    None when it never falls that far within the sequence (or the start is zero/non-finite).
    """
    threshold = check_positive("threshold", threshold)
    norms = np.asarray(norms, dtype=np.float64).ravel()
    if norms.size == 0:
        return None
    start = norms[-1]
    if not np.isfinite(start) or start <= 0:
        return None
    below = np.nonzero(norms[::-1] < threshold * start)[0]
    return int(below[0]) if below.size else None


def gradient_decay_rate(norms: np.ndarray) -> float:
    """The fitted factor by which ``norms`` change per step walking back (<1: vanishing).

    exp of the slope of a least-squares line through log(norms) against steps back (the
    finite, positive ones): a typical rate per step, robust to a few odd steps; not the
    geometric mean of the step-to-step ratios, which depends on the two ends alone.
    """
    norms = np.asarray(norms, dtype=np.float64)[::-1]
    ok = np.isfinite(norms) & (norms > 0)
    if ok.sum() < 2:
        return float("nan")
    idx = np.nonzero(ok)[0]
    logs = np.log(norms[idx])
    slope = np.polyfit(idx, logs, 1)[0]
    return float(np.exp(slope))



def gate_saturation(values: np.ndarray, eps: float = 0.05) -> np.ndarray:
    """Per step, the share of units whose sigmoid gate is within ``eps`` of 0 or 1.

    ``values`` is (T, H) (or (T, B, H), pooled over the batch). A saturated gate passes almost
    no gradient: sigma'(a) = s(1 - s) < eps.
    """
    v = np.asarray(values, dtype=np.float64)
    v = v.reshape(v.shape[0], -1)
    return np.mean((v < eps) | (v > 1 - eps), axis=1)


def pca_projection(h: np.ndarray, components: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """h_t (T, H) projected on its first principal components, and each one's variance share.

    Non-finite rows (an overflow) are left out of the fit and come back as NaN.
    """
    h = np.asarray(h, dtype=np.float64).reshape(np.shape(h)[0], -1)
    ok = np.isfinite(h).all(axis=1)
    proj = np.full((h.shape[0], components), np.nan)
    share = np.zeros(components)
    if ok.sum() < 2:
        return proj, share
    centred = h[ok] - h[ok].mean(axis=0)
    if not np.any(centred):
        proj[ok] = 0.0
        return proj, share
    u, sv, _ = np.linalg.svd(centred, full_matrices=False)
    k = min(components, sv.size)
    proj[ok] = 0.0
    proj[ok, :k] = u[:, :k] * sv[:k]
    share[:k] = (sv**2 / np.sum(sv**2))[:k]
    return proj, share


def pascanu_factors(net: Network, layer: int = 0, direction: int = 0):
    """(gamma, sigma) with ||dstate_t/dstate_{t-k}|| <= (gamma * sigma)^k, or None for gated cells.

    Elman and IndRNN: gamma = max|phi'|, sigma = sigma_max(W_hh) (IndRNN: max |u|). Jordan:
    y_t = phi(W_ho phi(W_hh y_{t-1} + ...)), so gamma^2 and sigma_max(W_ho) sigma_max(W_hh).
    Gated cells have no such bound: their gates multiply the path (LSTM, GRU), or the path
    is known exactly (minGRU, minLSTM, LRU: ``diagonal_carry``).
    """
    if net.cell.gate_names or net.cell.diagonal:
        return None
    gamma = activation_gamma(net.activation)
    sigma = float(singular_values(recurrent_blocks(net, layer, direction)["h"])[0])
    if net.cell.name == "jordan":
        who = net.params[net.key("w_ho", layer, direction)]
        return gamma * gamma, sigma * float(singular_values(who)[0])
    return gamma, sigma

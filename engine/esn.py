"""Echo state network (Jaeger 2001): a fixed random reservoir, only the linear read-out is fitted.

The reservoir is the engine's own tanh RNN with a Gaussian W_hh rescaled to the chosen
spectral radius (< 1 is the rule of thumb for the echo state property); the read-out is ridge
regression on its states. It shows how much a recurrent network can do without BPTT at all.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .limits import check_int, check_positive
from .network import Network
from .tasks import baseline_over, make_task


@dataclass
class ESNResult:
    task: str
    spectral_radius: float
    train_loss: float
    test_loss: float
    baseline_loss: float  # memoryless, over the scored steps (after the washout)
    readout: np.ndarray  # (outputs, H + 1), the last column the bias
    network: Network  # the reservoir
    predictions: np.ndarray  # test predictions, shaped like the targets
    targets: np.ndarray


def _states(net: Network, x: np.ndarray, where: str, washout: int) -> np.ndarray:
    h = net.run(x.astype(np.float64)).output  # (T, B, H)
    h = h[-1:] if where == "last" else h[washout:]
    return h.reshape(-1, h.shape[-1])


def _targets(y: np.ndarray, where: str, washout: int) -> np.ndarray:
    y = y.astype(np.float64)
    return (y if where == "last" else y[washout:]).reshape(-1, y.shape[-1])


def fit_esn(task: str = "sine", seq_len: int = 100, hidden: int = 100,
            spectral_radius: float = 0.9, input_scale: float = 1.0, ridge: float = 1e-6,
            washout: int = 10, batch: int = 32, seed: int = 0) -> ESNResult:
    """Fit the read-out on one batch, score it (MSE) on a fresh one.

    The baseline is the task's memoryless one over the steps scored here (washout..T-1).
    """
    spec = make_task(task, seq_len)
    if spec.kind != "regression":
        raise ValueError(f"task must be a regression task for the echo state network, "
                         f"got {task!r}")
    hidden = check_int("hidden", hidden, 1, 1024)
    washout = check_int("washout", washout, 0, seq_len - 1)
    spectral_radius = check_positive("spectral_radius", spectral_radius)
    input_scale = check_positive("input_scale", input_scale)
    ridge = check_positive("ridge", ridge)
    net = Network("rnn", spec.input_size, hidden, init="gaussian",
                  spectral_radius=spectral_radius, seed=seed)
    net.params["weight_ih_l0"] = np.random.default_rng(seed + 1).uniform(
        -input_scale, input_scale, net.params["weight_ih_l0"].shape)
    net.params["bias_ih_l0"][:] = 0.0
    net.params["bias_hh_l0"][:] = 0.0
    rng = np.random.default_rng(seed)
    x, y = spec.batch(batch, rng)
    states = _states(net, x, spec.where, washout)
    design = np.hstack([states, np.ones((len(states), 1))])
    targets = _targets(y, spec.where, washout)
    gram = design.T @ design + ridge * np.eye(design.shape[1])
    readout = np.linalg.solve(gram, design.T @ targets).T
    train_loss = float(np.mean((design @ readout.T - targets) ** 2))
    x_test, y_test = spec.batch(batch, rng)
    test_states = _states(net, x_test, spec.where, washout)
    pred = np.hstack([test_states, np.ones((len(test_states), 1))]) @ readout.T
    test_targets = _targets(y_test, spec.where, washout)
    test_loss = float(np.mean((pred - test_targets) ** 2))
    return ESNResult(task, spectral_radius, train_loss, test_loss, baseline_over(spec, washout),
                     readout, net, pred, test_targets)

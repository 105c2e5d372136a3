"""Central finite differences for what torch lacks: sigmoid/leaky/identity RNN, Jordan, IndRNN."""

import numpy as np
import pytest

from engine import Network

CASES = [
    ("rnn", "sigmoid", 1, False),
    ("rnn", "leaky_relu", 2, False),
    ("rnn", "identity", 1, True),
    ("jordan", "tanh", 1, False),
    ("jordan", "sigmoid", 2, True),
    ("indrnn", "relu", 1, False),
    ("indrnn", "tanh", 2, True),
    ("lstm", "tanh", 2, True),
    ("gru", "tanh", 1, True),
]
EPS = 1e-6


def _loss(net, x, h0, g_out):
    return float(np.sum(net.run(x, h0=h0).output * g_out))


@pytest.mark.parametrize("cell,activation,layers,bidirectional", CASES)
def test_gradients_match_central_differences(cell, activation, layers, bidirectional):
    rng = np.random.default_rng(11)
    net = Network(cell, 2, 3, layers, bidirectional, activation=activation, seed=5)
    if cell == "indrnn":  # keep |u| < 1 and pre-activations away from ReLU's kink
        for k in net.params:
            if k.startswith("weight_hh"):
                net.params[k] = rng.uniform(0.3, 0.9, net.params[k].shape)
    D = 2 if bidirectional else 1
    x = rng.standard_normal((6, 2, 2))
    h0 = 0.5 * rng.standard_normal((layers * D, 2, 3))
    g_out = rng.standard_normal((6, 2, 3 * D))
    grads = net.run(x, h0=h0).backward(g_out)

    def fd(array):
        out = np.zeros_like(array)
        for idx in np.ndindex(array.shape):
            keep = array[idx]
            array[idx] = keep + EPS
            up = _loss(net, x, h0, g_out)
            array[idx] = keep - EPS
            down = _loss(net, x, h0, g_out)
            array[idx] = keep
            out[idx] = (up - down) / (2 * EPS)
        return out

    for name, value in net.params.items():
        want = fd(value)
        err = np.max(np.abs(grads.params[name] - want)) / max(1.0, np.max(np.abs(want)))
        assert err < 1e-7, f"{name}: relative error {err:.2e}"
    want_x = fd(x)
    assert np.max(np.abs(grads.input - want_x)) / max(1.0, np.max(np.abs(want_x))) < 1e-7
    want_h0 = fd(h0)
    assert np.max(np.abs(grads.h0 - want_h0)) / max(1.0, np.max(np.abs(want_h0))) < 1e-7


def test_a_wrong_gradient_would_be_caught():
    """The check above is not vacuous: a perturbed gradient fails it."""
    rng = np.random.default_rng(0)
    net = Network("jordan", 2, 3, seed=1)
    x = rng.standard_normal((5, 2))
    g_out = rng.standard_normal((5, 3))
    g = net.run(x).backward(g_out).params["weight_ho_l0"]
    w = net.params["weight_ho_l0"]
    w[0, 0] += EPS
    up = float(np.sum(net.run(x).output * g_out))
    w[0, 0] -= 2 * EPS
    down = float(np.sum(net.run(x).output * g_out))
    w[0, 0] += EPS
    fd = (up - down) / (2 * EPS)
    assert abs(g[0, 0] - fd) < 1e-7
    assert abs(g[0, 0] * 1.001 - fd) > 1e-7 or abs(fd) < 1e-4

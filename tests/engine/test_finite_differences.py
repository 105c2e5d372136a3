"""Finite differences for every cell: what torch lacks (sigmoid/leaky/identity RNN, Jordan,
IndRNN) and what it has (tanh/ReLU RNN, LSTM, GRU), deep and bidirectional.

The difference quotient is the central five-point stencil
``(8 (L(w+h) - L(w-h)) - (L(w+2h) - L(w-2h))) / 12h`` with h = 3e-4: its error is
O(h^4) + O(eps_machine |L| / h), about 1e-11 here, against ~1e-9 for the two-point quotient
at h = 1e-6. That lets every tensor be held to 1e-7 *of its own largest gradient*, so a
tensor whose gradient is small gets no free pass (a floor of 1 or an absolute escape did).
"""

import numpy as np
import pytest

from engine import Network

CASES = [
    ("rnn", "tanh", 2, True),
    ("rnn", "relu", 1, False),
    ("rnn", "sigmoid", 1, False),
    ("rnn", "leaky_relu", 2, False),
    ("rnn", "identity", 1, True),
    ("jordan", "tanh", 1, False),
    ("jordan", "sigmoid", 2, True),
    ("jordan", "relu", 1, False),
    ("jordan", "leaky_relu", 2, False),
    ("jordan", "identity", 1, True),
    ("indrnn", "relu", 1, False),
    ("indrnn", "tanh", 2, True),
    ("indrnn", "sigmoid", 1, False),
    ("indrnn", "leaky_relu", 1, True),
    ("indrnn", "identity", 1, False),
    ("lstm", "tanh", 1, False),
    ("lstm", "tanh", 2, True),
    ("gru", "tanh", 1, True),
    ("gru", "tanh", 2, False),
    ("mingru", "tanh", 1, False),
    ("mingru", "tanh", 2, True),
    ("minlstm", "tanh", 1, True),
    ("minlstm", "tanh", 2, False),
]
STEP = 3e-4
TOL = 1e-7  # of the tensor's largest |gradient|; measured worst 3e-9 (Jordan sigmoid, dL/dx)


def _loss(net, x, h0, g_out):
    return float(np.sum(net.run(x, h0=h0).output * g_out))


def _fd(array, loss):
    """dL/d(array) by the five-point stencil, one element at a time (array is perturbed in
    place and restored)."""
    out = np.zeros_like(array)
    for idx in np.ndindex(array.shape):
        keep = array[idx]
        vals = []
        for s in (STEP, -STEP, 2 * STEP, -2 * STEP):
            array[idx] = keep + s
            vals.append(loss())
        array[idx] = keep
        out[idx] = (8 * (vals[0] - vals[1]) - (vals[2] - vals[3])) / (12 * STEP)
    return out


def _mismatch(analytic, numeric) -> float:
    """max |analytic - numeric| over the tensor's scale, the largest |numeric|: the check is
    |an - fd| <= TOL * max(|fd|, scale) at every element, with no floor and no escape."""
    scale = float(np.max(np.abs(numeric)))
    assert scale > 1e-6, "a tensor without gradient would make the relative check empty"
    return float(np.max(np.abs(np.asarray(analytic) - numeric))) / scale


def _case(cell, activation, layers, bidirectional):
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
    return net, x, h0, g_out


@pytest.mark.parametrize("cell,activation,layers,bidirectional", CASES)
def test_gradients_match_central_differences(cell, activation, layers, bidirectional):
    net, x, h0, g_out = _case(cell, activation, layers, bidirectional)
    grads = net.run(x, h0=h0).backward(g_out)

    def loss():
        return _loss(net, x, h0, g_out)

    checked = [(name, grads.params[name], value) for name, value in net.params.items()]
    checked += [("input", grads.input, x), ("h0", grads.h0, h0)]
    for name, analytic, value in checked:
        want = _fd(value, loss)
        err = _mismatch(analytic, want)
        assert err < TOL, f"{name}: error {err:.2e} of its largest gradient"
        # and the check has teeth on this very tensor: 1e-6 off, relative, fails it
        assert _mismatch(analytic * (1 + 1e-6), want) > TOL, name


def test_a_wrong_gradient_would_be_caught():
    """A gradient wrong by 0.005% in a tensor whose gradients are ~1e-3 (dL/dx of the deep
    bidirectional sigmoid Jordan network) fails, though it is off by only ~6e-8 absolute:
    the old check (error / max(1, max |fd|) < 1e-7) let it through."""
    net, x, h0, g_out = _case("jordan", "sigmoid", 2, True)
    grads = net.run(x, h0=h0).backward(g_out)
    want = _fd(x, lambda: _loss(net, x, h0, g_out))
    assert np.max(np.abs(want)) < 2e-3  # a small gradient
    assert _mismatch(grads.input, want) < TOL
    wrong = grads.input * (1 + 5e-5)
    assert np.max(np.abs(wrong - want)) / max(1.0, np.max(np.abs(want))) < 1e-7  # old: pass
    assert _mismatch(wrong, want) > TOL
    # one element wrong, the smallest one that the stencil resolves, fails too
    small = np.abs(want) > 1e3 * TOL * np.max(np.abs(want))
    idx = np.unravel_index(np.argmin(np.where(small, np.abs(want), np.inf)), want.shape)
    one = grads.input.copy()
    one[idx] = 0.0
    assert _mismatch(one, want) > TOL

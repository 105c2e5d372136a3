"""The equations with the network's numbers: every value recomputed from the weights equals
the forward pass's, and the backward chain's terms equal an autograd oracle and obey the
bounds they are shown beside."""

import numpy as np
import pytest
import torch

from engine import CELLS, Network
from engine.explain import backward_chain, fmt, forward_step
from engine.signals import loss_seed
from tests.engine.helpers import assert_close

# the trace arrays each named line must reproduce (gates, pre-activations, state)
GATES = {"i", "f", "g", "o", "r", "z", "n", "htilde", "f_prime", "delta", "abar"}


def _trace(cell, bidir=False, layers=2, activation="tanh", seed=1, T=12):
    net = Network(cell, input_size=3, hidden_size=5, num_layers=layers, bidirectional=bidir,
                  activation=activation, seed=seed)
    x = np.random.default_rng(seed).standard_normal((T, 3))
    return net.run(x)


@pytest.mark.parametrize("cell", sorted(CELLS))
@pytest.mark.parametrize("bidir", [False, True])
def test_every_line_is_the_forward_pass_number(cell, bidir):
    trace = _trace(cell, bidir)
    for layer in range(2):
        for d in range(trace.network.num_directions):
            pt = trace.pass_trace(layer, d)
            per = pt.state.shape[-1] // trace.network.hidden_size  # S6: N states a channel
            for t in (0, 4, trace.T - 1):
                lines = {ln.name: ln.value for ln in forward_step(trace, t, 3, layer, d)}
                state = "y" if cell == "jordan" else "h"
                assert_close(lines[state], pt.state[t, 0, 3 * per], rel=1e-12,
                             what=f"{cell} state")
                if cell == "jordan":
                    assert_close(lines["h"], pt.h[t, 0, 3], rel=1e-12, what="jordan h")
                if cell in ("rnn", "indrnn", "jordan"):
                    assert_close(lines["a"], pt.preacts["h"][t, 0, 3], rel=1e-12, what="a")
                for name in GATES & set(lines):
                    want = pt.gates[name][t, 0, 3 * per if name == "abar" else 3]
                    assert_close(lines[name], want, rel=1e-12, what=f"{cell} {name}")
                if cell == "lstm":
                    assert_close(lines["c"], pt.c[t, 0, 3], rel=1e-12, what="c")


def test_the_numbers_are_printed_as_they_combine():
    trace = _trace("rnn", layers=1)
    a, h = forward_step(trace, 5, 0)
    assert h.numbers == rf"\tanh({fmt(a.value)})"
    lstm = {ln.name: ln for ln in forward_step(_trace("lstm", layers=1), 5, 2)}
    c = lstm["c"]
    assert fmt(lstm["f"].value) in c.numbers and fmt(lstm["g"].value).lstrip("-") in c.numbers
    assert fmt(-2.5e-7) == r"-2.5 \times 10^{-7}" and fmt(float("inf")) == r"\infty"
    assert fmt(complex(0.5, -0.25)) == "(0.5 - 0.25i)"


def _oracle_product(trace, t):
    """||dh_{T-1}/dh_t|| by torch autograd: the torch module run from h_t (c_t fixed) on the
    steps after t, its Jacobian with respect to that starting state."""
    net = trace.network
    module = net.to_torch().double()
    pt = trace.pass_trace(0, 0)
    x = torch.tensor(trace.x[t + 1:, 0])
    c = None if pt.c is None else torch.tensor(pt.c[t, 0])[None]

    def last(h):
        state = (h[None], c) if c is not None else h[None]
        out, _ = module(x, state)
        return out[-1]

    jac = torch.autograd.functional.jacobian(last, torch.tensor(pt.h[t, 0]))
    return float(np.linalg.svd(jac.numpy(), compute_uv=False)[0])


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_the_jacobian_product_is_autograds(cell):
    trace = _trace(cell, layers=1, T=15)
    grads = trace.backward(loss_seed(trace.output.shape, "last"))
    for t in (2, 9):
        chain = backward_chain(trace, grads, t)
        assert chain.steps == trace.T - 1 - t
        assert_close(chain.product, _oracle_product(trace, t), rel=1e-10, what="product")


def test_one_step_of_an_elman_rnn_is_diag_phi_prime_w_hh():
    trace = _trace("rnn", layers=1)
    grads = trace.backward(loss_seed(trace.output.shape, "last"))
    chain = backward_chain(trace, grads, 6)
    slopes = 1 - trace.pass_trace().h[6, 0] ** 2
    w = trace.network.params["weight_hh_l0"]
    assert_close(chain.slopes, slopes, rel=1e-12)
    assert_close(chain.step_norm, np.linalg.norm(slopes[:, None] * w, 2), rel=1e-12)
    assert_close(chain.w_norm, np.linalg.norm(w, 2), rel=1e-12)


@pytest.mark.parametrize("cell,activation,loss,layers",
                         [("rnn", "tanh", "last", 1), ("rnn", "sigmoid", "every", 1),
                          ("rnn", "relu", "last", 2), ("indrnn", "tanh", "every", 1),
                          ("jordan", "tanh", "last", 1)])
def test_the_bounds_bound_in_every_setting(cell, activation, loss, layers):
    trace = _trace(cell, layers=layers, activation=activation, seed=3, T=20)
    grads = trace.backward(loss_seed(trace.output.shape, loss))
    for t in range(0, trace.T, 3):
        chain = backward_chain(trace, grads, t, layer=0)
        assert chain.step_norm <= chain.factor * (1 + 1e-12)
        assert chain.product <= chain.power * (1 + 1e-12)
        assert chain.grad_norm <= chain.bound * (1 + 1e-12)
        assert np.all(chain.slopes <= chain.gamma)
        assert chain.single_entry == (loss == "last" and layers == 1)
        if chain.single_entry:  # the sum is Pascanu's ||dL/dh_(T-1)|| (gamma sigma)^(T-1-t)
            assert_close(chain.bound, chain.top_norm * chain.power, rel=1e-12)


def test_the_lstm_forget_product_and_the_diagonal_carries():
    trace = _trace("lstm", layers=1)
    grads = trace.backward(loss_seed(trace.output.shape, "last"))
    chain = backward_chain(trace, grads, 3)
    assert_close(chain.forget_product, np.prod(trace.pass_trace().gates["f"][4:, 0], axis=0))
    assert chain.factor is None and chain.bound is None and chain.slopes is None
    for cell in ("mingru", "minlstm", "lru", "s6"):
        trace = _trace(cell, bidir=True, layers=1)
        grads = trace.backward(loss_seed(trace.output.shape, "last"))
        for d in (0, 1):
            chain = backward_chain(trace, grads, 4, direction=d)
            a = np.abs(trace.network.cell.carry(trace.pass_trace(0, d).gates)[:, 0])
            after = a[5:] if d == 0 else a[:4]  # the steps between h_t and the pass's end
            assert_close(chain.carry_product, np.prod(after, axis=0), what=cell)
            assert_close(chain.product, chain.carry_product.max(), what=cell)


def test_bad_steps_and_units_are_refused():
    trace = _trace("rnn", layers=1)
    with pytest.raises(ValueError, match="t must"):
        forward_step(trace, trace.T, 0)
    with pytest.raises(ValueError, match="unit must"):
        forward_step(trace, 0, 5)

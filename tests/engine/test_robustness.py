"""Bad input gets a ValueError naming the argument; overflow is reported, never raised."""

import warnings

import numpy as np
import pytest

from engine import CELLS, Network, diagnostics, limits


def test_overflow_is_located_and_arrays_stay_well_formed():
    net = Network("rnn", 1, 8, activation="relu", init="identity", gain=3.0, seed=0)
    T = 1000
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning leaks out either
        trace = net.run(np.ones((T, 1)))
        step = trace.overflow["step"]
        assert trace.overflow == {"layer": 0, "direction": 0, "step": step}
        h = trace.pass_trace().h
        assert h.shape == (T, 1, 8)
        assert np.all(np.isfinite(h[:step])) and not np.all(np.isfinite(h[step]))
        assert 500 < step < T  # 3^t overflows float64 near t = 646
        grads = trace.backward(np.ones_like(trace.output))
        assert grads.overflow is not None
        assert grads.hidden_norm.shape == (1, 1, T)
        norms = diagnostics.jacobian_norms(trace)
        assert norms.shape == (T,)


def test_gradient_overflow_without_forward_overflow():
    """tanh keeps h bounded; a huge W_hh still explodes the gradient walking back."""
    net = Network("rnn", 1, 4, init="orthogonal", gain=50.0, seed=0)
    for k in net.params:
        if k.startswith("bias"):
            net.params[k][:] = 0.0
    trace = net.run(np.zeros((400, 1)))
    assert trace.overflow is None
    seed = np.zeros((400, 4))
    seed[-1] = 1.0
    grads = trace.backward(seed)
    over = grads.overflow
    assert over["layer"] == 0 and 0 < over["step"] < 400 - 100  # 50^k overflows at k ~ 181
    assert np.isfinite(grads.hidden_norm[0, 0, over["step"] + 1])


def test_reverse_direction_overflow_reports_time_index():
    net = Network("rnn", 1, 4, bidirectional=True, activation="relu", init="identity", gain=4.0)
    for k in list(net.params):
        if k.endswith("_reverse"):  # mirror the weights so both passes overflow alike
            net.params[k] = net.params[k.removesuffix("_reverse")].copy()
    trace = net.run(np.ones((700, 1)))
    forward, backward = trace.pass_trace(0, 0), trace.pass_trace(0, 1)
    assert forward.overflow_step is not None and backward.overflow_step is not None
    assert backward.overflow_step == 699 - forward.overflow_step


@pytest.mark.parametrize("kwargs,word", [
    ({"cell": "transformer"}, "cell"),
    ({"activation": "swish"}, "activation"),
    ({"hidden_size": 0}, "hidden_size"),
    ({"hidden_size": limits.MAX_HIDDEN + 1}, "hidden_size"),
    ({"hidden_size": 2.5}, "hidden_size"),
    ({"num_layers": 9}, "num_layers"),
    ({"input_size": -1}, "input_size"),
    ({"init": "he"}, "init"),
    ({"gain": 0}, "gain"),
    ({"gain": float("nan")}, "gain"),
    ({"spectral_radius": -1.0}, "spectral_radius"),
    ({"forget_bias": 1.0}, "forget_bias"),  # rnn has no forget gate
    ({"bidirectional": "yes"}, "bidirectional"),
    ({"seed": -3}, "seed"),
])
def test_bad_network_arguments(kwargs, word):
    with pytest.raises(ValueError, match=word):
        Network(**{"cell": "rnn", "input_size": 2, "hidden_size": 3, **kwargs})


@pytest.mark.parametrize("x,word", [
    (np.zeros((5, 3)), "x"),  # wrong input size
    (np.zeros(5), "x"),
    (np.zeros((2, 2, 2, 2)), "x"),
    (np.zeros((0, 2)), "T"),
    (np.array([[1.0, np.nan]]), "finite"),
    (np.array([[1.0, np.inf]]), "finite"),
    ([["a", "b"]], "x"),
])
def test_bad_input_sequences(x, word):
    net = Network("lstm", 2, 3)
    with pytest.raises(ValueError, match=word):
        net.run(x)


def test_bad_states_and_seeds():
    net = Network("gru", 2, 3, num_layers=2)
    x = np.zeros((4, 2))
    with pytest.raises(ValueError, match="h0"):
        net.run(x, h0=np.zeros((1, 3)))
    with pytest.raises(ValueError, match="c0"):
        net.run(x, c0=np.zeros((2, 3)))
    trace = net.run(x)
    with pytest.raises(ValueError, match="grad_output"):
        trace.backward(np.zeros((4, 4)))
    with pytest.raises(ValueError, match="grad_c_n"):
        trace.backward(np.zeros((4, 3)), grad_c_n=np.zeros((2, 3)))
    with pytest.raises(ValueError, match="truncate"):
        trace.backward(np.zeros((4, 3)), truncate=-2)


def test_load_params_checks_names_and_shapes():
    net = Network("lstm", 2, 3)
    good = {k: v.copy() for k, v in net.params.items()}
    with pytest.raises(ValueError, match="missing"):
        net.load_params({})
    bad = dict(good, weight_hh_l0=np.zeros((3, 3)))
    with pytest.raises(ValueError, match="weight_hh_l0"):
        net.load_params(bad)
    net.load_params(good)


def test_every_cell_runs_batched_and_unbatched_alike():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((6, 2))
    for cell in CELLS:
        net = Network(cell, 2, 3, num_layers=2, bidirectional=True)
        one = net.run(x)
        many = net.run(x[:, None, :])
        assert one.output.shape == (6, 6) and many.output.shape == (6, 1, 6)
        assert np.array_equal(one.output, many.output[:, 0])
        assert one.h_n.shape == (4, net.cell.state_width)  # S6: H channels of N states
        g1 = one.backward(np.ones((6, 6)))
        gb = many.backward(np.ones((6, 1, 6)))
        assert g1.input.shape == x.shape
        assert np.array_equal(g1.input, gb.input[:, 0])
        for gate in net.cell.gate_names:
            assert one.pass_trace(1, 1).gates[gate].shape == (6, 1, 3)


def test_review_findings_give_value_errors():
    net = Network("rnn", 1, 4)
    trace = net.run(np.zeros((5, 1)))
    with pytest.raises(ValueError, match="layer"):
        diagnostics.jacobian_norms(trace, layer=3)
    with pytest.raises(ValueError, match="direction"):
        diagnostics.jacobian_norms(trace, direction=1)
    with pytest.raises(ValueError, match="layer"):
        diagnostics.recurrent_blocks(net, layer=3)
    with pytest.raises(ValueError, match="layer"):
        diagnostics.pascanu_factors(net, layer=3)
    assert diagnostics.memory_horizon(np.array([])) is None
    with pytest.raises(ValueError, match="forget_bias"):
        Network("lstm", 1, 4, forget_bias=float("nan"))
    with pytest.raises(ValueError, match="activation"):
        Network("lstm", 1, 4, activation="bogus")
    with pytest.raises(ValueError, match="length of x"):
        diagnostics.lyapunov_exponent(net, x=np.zeros((1, 1)))
    with pytest.raises(ValueError, match="layer_input_scale"):
        diagnostics.lyapunov_exponent(net, steps=10, layer_input_scale=float("nan"))

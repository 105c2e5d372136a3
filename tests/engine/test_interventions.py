"""Interventions: the forward pass does what each one says, and BPTT is exact for the
intervened network (finite differences of the intervened loss, every kind, every cell
that takes it, deep and truncated)."""

import numpy as np
import pytest

from engine import Intervention, Network, diagnostics

from .helpers import assert_close
from .test_finite_differences import _fd

STEP_T = 3  # the intervened step, of T = 7
CASES = [  # cell, intervention, layers
    ("rnn", Intervention("clamp", STEP_T, unit=1, value=0.3), 1),
    ("rnn", Intervention("clamp", STEP_T, unit=None, value=-0.2), 2),
    ("rnn", Intervention("pulse", STEP_T, unit=2, value=0.7), 1),
    ("rnn", Intervention("zero_input", STEP_T), 1),
    ("rnn", Intervention("clamp", STEP_T, unit=0, value=0.5, layer=1), 2),
    ("indrnn", Intervention("clamp", STEP_T, unit=1, value=0.4), 1),
    ("jordan", Intervention("clamp", STEP_T, unit=2, value=-0.5), 1),
    ("jordan", Intervention("pulse", STEP_T, unit=0, value=0.5), 2),
    ("lstm", Intervention("clamp", STEP_T, unit=1, value=0.6), 1),
    ("lstm", Intervention("gate", STEP_T, unit=None, value=1.0, gate="f"), 1),
    ("lstm", Intervention("gate", STEP_T, unit=2, value=0.3, gate="i"), 2),
    ("lstm", Intervention("gate", STEP_T, unit=0, value=0.0, gate="o"), 1),
    ("lstm", Intervention("zero_input", STEP_T), 2),
    ("gru", Intervention("clamp", STEP_T, unit=1, value=0.2), 1),
    ("gru", Intervention("gate", STEP_T, unit=None, value=1.0, gate="z"), 1),
    ("gru", Intervention("gate", STEP_T, unit=2, value=0.4, gate="r"), 2),
    ("mingru", Intervention("gate", STEP_T, unit=1, value=0.9, gate="z"), 1),
    ("mingru", Intervention("pulse", STEP_T, unit=1, value=-0.4), 1),
    ("minlstm", Intervention("pulse", STEP_T, unit=0, value=0.4), 2),
    ("lru", Intervention("zero_input", STEP_T), 1),
    ("s6", Intervention("zero_input", STEP_T), 1),
]
TOL = 1e-7  # of each tensor's largest |gradient|, as in test_finite_differences


def _setup(cell, layers, seed=0):
    net = Network(cell, input_size=2, hidden_size=3, num_layers=layers, seed=seed,
                  activation="tanh")
    rng = np.random.default_rng(seed + 1)
    x = rng.standard_normal((7, 2, 2))
    g = rng.standard_normal((7, 2, net.run(x).output.shape[-1]))
    return net, x, g


def _ids(case):
    cell, iv, layers = case
    return f"{cell}-{iv.kind}-{iv.gate or iv.unit}-L{layers}-l{iv.layer}"


@pytest.mark.parametrize("case", CASES, ids=[_ids(c) for c in CASES])
def test_bptt_is_exact_for_the_intervened_network(case):
    cell, iv, layers = case
    net, x, g = _setup(cell, layers)
    ivs = [iv]
    grads = net.run(x, interventions=ivs).backward(g)

    def loss():
        return float(np.sum(net.run(x, interventions=ivs).output.real * g))

    for name, w in net.params.items():
        assert_close(grads.params[name], _fd(w, loss),
                     rel=TOL * max(1.0, np.abs(grads.params[name]).max()), what=name)
    assert_close(grads.input, _fd(x, loss), rel=TOL * max(1.0, np.abs(grads.input).max()),
                 what="dL/dx")


@pytest.mark.parametrize("cell", ["rnn", "jordan", "lstm", "gru"])
def test_dl_dh_at_a_clamped_step_is_how_the_loss_moves_with_a_pulse_there(cell):
    """The reported dL/dh_t of the clamped unit: the derivative of the loss in a pulse
    added after the clamp (what moving the clamp value does)."""
    net, x, g = _setup(cell, 1)
    clamp = Intervention("clamp", STEP_T, unit=1, value=0.25)
    grads = net.run(x, interventions=[clamp]).backward(g)
    eps = 1e-6

    def loss(v):
        pulse = Intervention("pulse", STEP_T, unit=1, value=v)
        return float(np.sum(net.run(x, interventions=[clamp, pulse]).output * g))

    fd = (loss(eps) - loss(-eps)) / (2 * eps)
    assert grads.hidden[0][0][STEP_T, :, 1].sum() == pytest.approx(fd, rel=1e-6)


def test_each_intervention_does_what_it_says_and_nothing_before_it():
    net, x, _ = _setup("lstm", 1)
    base = net.run(x).pass_trace()
    clamped = net.run(x, interventions=[Intervention("clamp", 3, unit=1, value=0.5)])
    pt = clamped.pass_trace()
    assert np.array_equal(pt.h[:3], base.h[:3])
    assert np.all(pt.h[3, :, 1] == 0.5)
    assert np.array_equal(pt.h[3, :, [0, 2]], base.h[3, :, [0, 2]])
    assert not np.allclose(pt.h[4:], base.h[4:])
    forced = net.run(x, interventions=[Intervention("gate", 3, value=1.0, gate="f")])
    f = forced.pass_trace()
    assert np.all(f.gates["f"][3] == 1.0)
    assert_close(f.c[3], base.c[2] + base.gates["i"][3] * base.gates["g"][3], what="c_3")
    pulsed = net.run(x, interventions=[Intervention("pulse", 3, unit=0, value=1.0)])
    assert_close(pulsed.pass_trace().h[3, :, 0], base.h[3, :, 0] + 1.0, what="pulse")
    zeroed = net.run(x, interventions=[Intervention("zero_input", 3)])
    assert np.all(zeroed.x[3] == 0) and np.array_equal(zeroed.x[2], x[2])


def test_the_jacobian_norms_walk_the_intervened_network():
    """A clamp of every unit at t cuts the chain: dh_{T-1}/dh_s = 0 for s < t."""
    net, x, _ = _setup("rnn", 1)
    trace = net.run(x[:, :1], interventions=[Intervention("clamp", 3, value=0.1)])
    norms = diagnostics.jacobian_norms(trace)
    assert np.all(norms[:3] == 0) and np.all(norms[3:] > 0)


def test_truncated_bptt_of_an_intervened_run_matches_the_full_one_beyond_the_window():
    net, x, g = _setup("gru", 1)
    ivs = [Intervention("gate", 5, unit=0, value=1.0, gate="z")]
    trace = net.run(x, interventions=ivs)
    seed = np.zeros_like(g)
    seed[-1] = g[-1]
    full, cut = trace.backward(seed), trace.backward(seed, truncate=7)
    assert_close(cut.params["weight_hh_l0"], full.params["weight_hh_l0"], what="W_hh")


@pytest.mark.parametrize("iv, cell, message", [
    (Intervention("clamp", 99, unit=0), "rnn", "outside 0..6"),
    (Intervention("clamp", 1, unit=5), "rnn", "unit 5 is outside"),
    (Intervention("clamp", 1, unit=0), "mingru", "clamp applies"),
    (Intervention("pulse", 1, unit=0), "lru", "pulse applies"),
    (Intervention("gate", 1, gate="f"), "gru", "no gate 'f'"),
    (Intervention("gate", 1, gate="f", value=2.0), "lstm", r"in \[0, 1\]"),
    (Intervention("gate", 1, gate="z"), "rnn", "no gate"),
    (Intervention("melt", 1), "rnn", "kind must be one of"),
    (Intervention("clamp", 1, value=float("nan")), "rnn", "finite"),
    (Intervention("clamp", 1, layer=3), "rnn", "layer 3"),
])
def test_interventions_that_do_not_fit_are_refused_by_name(iv, cell, message):
    net, x, _ = _setup(cell, 1)
    with pytest.raises(ValueError, match=message):
        net.run(x, interventions=[iv])


@pytest.mark.parametrize("cell, iv", [
    ("rnn", Intervention("clamp", STEP_T, unit=1, value=0.3)),
    ("jordan", Intervention("pulse", STEP_T, unit=1, value=0.5)),
    ("lstm", Intervention("gate", STEP_T, unit=None, value=1.0, gate="f")),
    ("lstm", Intervention("clamp", STEP_T, unit=1, value=-0.4)),
    ("gru", Intervention("gate", STEP_T, unit=1, value=0.2, gate="r")),
    ("mingru", Intervention("gate", STEP_T, unit=1, value=0.7, gate="z")),
])
def test_the_step_equations_show_the_intervention_as_it_acted(cell, iv):
    """engine.explain's forward step at the intervened step ends on the state the network
    carried on with, and a forced gate shows its forced value."""
    from engine import explain

    net, x, _ = _setup(cell, 1)
    trace = net.run(x, interventions=[iv])
    lines = explain.forward_step(trace, STEP_T, 1)
    assert lines[-1].value == pytest.approx(float(trace.pass_trace().state[STEP_T, 0, 1]),
                                            rel=1e-12)
    if iv.kind == "gate":
        forced = [ln for ln in lines if ln.name == iv.gate]
        assert forced[0].value == iv.value and "forced" in forced[0].symbols

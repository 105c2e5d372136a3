"""activation_slopes: phi'(a_t), the part a gate plays in an ungated cell's Jacobian."""

import numpy as np

from engine import Network, diagnostics


def test_slopes_are_phi_prime_of_the_preactivations():
    x = np.random.default_rng(0).standard_normal((9, 2))
    trace = Network("rnn", 2, 5, activation="tanh", seed=1).run(x)
    slope = diagnostics.activation_slopes(trace)["h"]
    np.testing.assert_allclose(slope, 1 - trace.pass_trace().h ** 2, rtol=1e-12)
    relu = Network("indrnn", 2, 5, activation="relu", seed=1).run(x)
    pre = relu.pass_trace().preacts["h"]
    np.testing.assert_array_equal(diagnostics.activation_slopes(relu)["h"], pre > 0)
    jordan = diagnostics.activation_slopes(Network("jordan", 2, 5, seed=1).run(x))
    assert set(jordan) == {"h", "y"}
    assert diagnostics.activation_slopes(Network("gru", 2, 5).run(x)) == {}


def test_elman_jacobian_is_diag_slope_times_w_hh():
    """What the Gates page says: J_t = diag(phi'(a_t)) W_hh, checked on the exact Jacobian."""
    net = Network("rnn", 2, 4, activation="sigmoid", init="orthogonal", gain=3.0, seed=2)
    trace = net.run(np.random.default_rng(1).standard_normal((6, 2)))
    slope = diagnostics.activation_slopes(trace)["h"][:, 0]
    w = net.params["weight_hh_l0"]
    want = np.linalg.norm(np.diag(slope[-1]) @ w, 2)
    assert abs(diagnostics.jacobian_norms(trace)[-2] - want) < 1e-12 * want

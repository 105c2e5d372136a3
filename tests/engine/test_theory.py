"""The science of SCIENCE.md as exact checks: decay rates, Pascanu's bound, gate paths, chaos."""

import numpy as np
import pytest

from engine import Network, diagnostics
from engine.init import orthogonal

from .helpers import assert_close


def _zero_bias(net):
    for k in net.params:
        if k.startswith("bias"):
            net.params[k][:] = 0.0


@pytest.mark.parametrize("rho", [0.8, 1.0, 1.1])
def test_orthogonal_rho_gives_exact_geometric_decay(rho):
    """Zero input and bias keep h at 0, so J = W_hh = rho*Q and ||dL/dh_t|| = rho^(T-1-t)."""
    T, H = 40, 16
    net = Network("rnn", 3, H, init="orthogonal", gain=rho, seed=2)
    _zero_bias(net)
    trace = net.run(np.zeros((T, 3)))
    seed = np.zeros((T, H))
    seed[-1] = np.random.default_rng(0).standard_normal(H)
    norms = trace.backward(seed).hidden_norm[0, 0]
    want = np.linalg.norm(seed[-1]) * rho ** np.arange(T - 1, -1, -1.0)
    assert_close(norms, want, rel=1e-12)


def test_sigmoid_rnn_never_exceeds_pascanu_bound():
    rng = np.random.default_rng(4)
    for seed in range(3):
        net = Network("rnn", 2, 20, activation="sigmoid", init="gaussian", gain=3.0, seed=seed)
        trace = net.run(rng.standard_normal((60, 2)))
        norms = diagnostics.jacobian_norms(trace)
        sigma = diagnostics.singular_values(net.params["weight_hh_l0"])[0]
        bound = diagnostics.pascanu_bound(diagnostics.activation_gamma("sigmoid"), sigma, 60)
        assert np.all(norms <= bound[::-1] * (1 + 1e-12))
        assert norms[0] < bound[-1]  # and the bound is not attained by accident


def test_sigmoid_at_zero_preactivation_decays_as_three_quarters():
    """W = 3Q, h = 1/2 held by the bias: J = diag(1/4) 3Q, so ||dh_T/dh_t|| = (3/4)^(T-t)."""
    H, T = 8, 25
    net = Network("rnn", 1, H, activation="sigmoid", seed=0)
    W = 3.0 * orthogonal(H, np.random.default_rng(1))
    net.params["weight_hh_l0"] = W
    net.params["weight_ih_l0"][:] = 0.0
    net.params["bias_ih_l0"] = -W @ np.full(H, 0.5)
    net.params["bias_hh_l0"][:] = 0.0
    trace = net.run(np.zeros((T, 1)), h0=np.full((1, H), 0.5))
    assert_close(trace.pass_trace().preacts["h"], np.zeros((T, 1, H)), rel=1e-14)
    norms = diagnostics.jacobian_norms(trace)
    assert_close(norms, 0.75 ** np.arange(T - 1, -1, -1.0), rel=1e-12)


def test_lstm_forget_gate_is_the_memory():
    """With W_hh = 0: dL/dc_t = (prod of later forget gates) * dL/dc_T, elementwise."""
    T, H = 15, 5
    net = Network("lstm", 2, H, seed=3, forget_bias=1.0)
    net.params["weight_hh_l0"][:] = 0.0
    trace = net.run(np.random.default_rng(0).standard_normal((T, 2)))
    seed = np.random.default_rng(1).standard_normal((1, H))
    grads = trace.backward(np.zeros((T, H)), grad_c_n=seed)
    f = trace.pass_trace().gates["f"][:, 0]
    for t in range(T):
        want = np.prod(f[t + 1:], axis=0) * seed[0]
        assert_close(grads.cell[0][0][t, 0], want, rel=1e-13)


def test_gru_update_gate_is_the_memory():
    T, H = 15, 5
    net = Network("gru", 2, H, seed=3)
    net.params["weight_hh_l0"][:] = 0.0
    trace = net.run(np.random.default_rng(0).standard_normal((T, 2)))
    seed = np.random.default_rng(1).standard_normal((1, H))
    grads = trace.backward(np.zeros((T, H)), grad_h_n=seed)
    z = trace.pass_trace().gates["z"][:, 0]
    for t in range(T):
        assert_close(grads.hidden[0][0][t, 0], np.prod(z[t + 1:], axis=0) * seed[0], rel=1e-13)


def test_indrnn_unit_gradient_is_u_power_times_derivatives():
    T, H = 20, 4
    net = Network("indrnn", 2, H, activation="tanh", seed=1)
    u = np.array([0.5, 0.9, 1.0, 1.2])
    net.params["weight_hh_l0"] = u
    trace = net.run(np.random.default_rng(2).standard_normal((T, 2)))
    seed = np.ones((1, H))
    grads = trace.backward(np.zeros((T, H)), grad_h_n=seed)
    dphi = 1 - trace.pass_trace().h[:, 0] ** 2
    for t in range(T):
        want = u ** (T - 1 - t) * np.prod(dphi[t + 1:], axis=0)
        assert_close(grads.hidden[0][0][t, 0], want, rel=1e-13)


def test_irnn_at_init_has_identity_jacobian_products():
    net = Network("rnn", 1, 6, activation="relu", init="identity", seed=0)
    trace = net.run(np.zeros((30, 1)), h0=np.full((1, 6), 0.3))
    assert_close(diagnostics.jacobian_norms(trace), np.ones(30), rel=1e-14)


def test_jacobian_norms_match_explicit_products():
    H, T = 4, 8
    net = Network("rnn", 1, H, seed=0, init="gaussian", gain=1.3)
    trace = net.run(np.random.default_rng(0).standard_normal((T, 1)))
    W = net.params["weight_hh_l0"]
    h = trace.pass_trace().h[:, 0]
    prod = np.eye(H)
    want = [1.0]
    for t in range(T - 1, 0, -1):
        prod = prod @ np.diag(1 - h[t] ** 2) @ W
        want.append(np.linalg.norm(prod, 2))
    assert_close(diagnostics.jacobian_norms(trace), np.array(want[::-1]), rel=1e-12)


def test_lyapunov_exponent_changes_sign_at_the_edge_of_chaos():
    def lam(g):
        net = Network("rnn", 1, 128, init="gaussian", gain=g, seed=0)
        _zero_bias(net)
        return diagnostics.lyapunov_exponent(net, steps=3000, seed=0)[0]

    assert lam(0.5) < -0.4
    assert lam(0.8) < 0
    assert lam(1.5) > 0
    assert lam(2.0) > lam(1.5)


def test_lyapunov_of_a_linear_orthogonal_network_is_log_rho():
    net = Network("rnn", 1, 10, activation="identity", init="orthogonal", gain=0.7, seed=0)
    _zero_bias(net)
    lams = diagnostics.lyapunov_exponent(net, steps=300, num_exponents=3)
    assert_close(lams, np.full(3, np.log(0.7)), rel=1e-10)


def test_lstm_lyapunov_runs_on_the_full_state():
    net = Network("lstm", 1, 8, seed=0)
    lam = diagnostics.lyapunov_exponent(net, steps=300, num_exponents=2)
    assert lam.shape == (2,) and np.all(np.isfinite(lam)) and lam[0] >= lam[1]


def test_memory_horizon_and_decay_rate():
    norms = 0.5 ** np.arange(30, -1, -1.0)  # last step 1, halves each step back
    assert diagnostics.memory_horizon(norms, 1e-3) == 10  # 0.5^10 < 1e-3 first
    assert diagnostics.memory_horizon(np.ones(5)) is None
    assert diagnostics.memory_horizon(np.array([1.0, np.nan])) is None
    assert abs(diagnostics.gradient_decay_rate(norms) - 0.5) < 1e-12


def test_recurrent_blocks_and_spectra():
    net = Network("lstm", 2, 6, init="orthogonal", gain=2.0, seed=0)
    blocks = diagnostics.recurrent_blocks(net)
    assert list(blocks) == ["i", "f", "g", "o"]
    for w in blocks.values():
        assert_close(diagnostics.singular_values(w), np.full(6, 2.0), rel=1e-12)
        assert abs(diagnostics.spectral_radius(w) - 2.0) < 1e-10
    ind = Network("indrnn", 2, 3)
    assert diagnostics.recurrent_blocks(ind)["h"].shape == (3, 3)


def test_jordan_bound_holds_on_the_output_state():
    """Jordan's state y: ||dy_T/dy_t|| <= (gamma^2 sigma(W_ho) sigma(W_hh))^(T-t)."""
    net = Network("jordan", 2, 6, activation="sigmoid", init="gaussian", gain=2.0, seed=0)
    trace = net.run(np.random.default_rng(0).standard_normal((30, 2)))
    gamma, sigma = diagnostics.pascanu_factors(net)
    assert gamma == 1 / 16
    bound = diagnostics.pascanu_bound(gamma, sigma, 30)[::-1]
    assert np.all(diagnostics.jacobian_norms(trace) <= bound * (1 + 1e-12))
    assert diagnostics.pascanu_factors(Network("gru", 2, 3)) is None
    ind = Network("indrnn", 2, 3, activation="relu")
    assert diagnostics.pascanu_factors(ind)[1] == pytest.approx(np.max(np.abs(
        ind.params["weight_hh_l0"])))


def test_gate_saturation_and_pca():
    share = diagnostics.gate_saturation(np.array([[0.01, 0.5], [0.99, 0.97]]))
    assert share.tolist() == [0.5, 1.0]
    rng = np.random.default_rng(0)
    h = np.outer(np.arange(20.0), [1.0, 2.0, 0.0]) + 1e-3 * rng.standard_normal((20, 3))
    proj, share = diagnostics.pca_projection(h)
    assert proj.shape == (20, 2) and share[0] > 0.99
    assert abs(np.corrcoef(proj[:, 0], np.arange(20.0))[0, 1]) > 0.999
    h[5] = np.nan
    proj, _ = diagnostics.pca_projection(h)
    assert np.all(np.isnan(proj[5])) and np.all(np.isfinite(proj[6]))

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


def assert_rel(actual, expected, rel=1e-12, what=""):
    """Elementwise relative: |a - e| <= rel * |e| at every entry, so a tiny value far down a
    decay is held to the same relative accuracy as the first (assert_close is absolute
    below 1)."""
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    err = np.abs(actual - expected) / np.abs(expected)
    assert np.all(err <= rel), f"{what}: relative error {np.max(err):.2e} at {np.argmax(err)}"


def _sig(a):
    return 1.0 / (1.0 + np.exp(-a))


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
    assert_rel(norms, want, rel=1e-12, what="||dL/dh_t||")
    powers = rho ** np.arange(T - 1, -1, -1.0)
    assert_rel(diagnostics.jacobian_norms(trace), powers, rel=1e-12, what="||dh_T/dh_t||")
    gamma, sigma = diagnostics.pascanu_factors(net)
    assert (gamma, pytest.approx(sigma, rel=1e-13)) == (1.0, rho)
    # here the bound is attained: it is the exact value, not just an upper limit
    assert_rel(diagnostics.pascanu_bound(gamma, sigma, T)[::-1], powers, rel=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sigmoid_rnn_lies_under_a_tight_pascanu_bound(seed):
    """gamma*sigma = 0.9 < 1: the bound decays, and W = 3.6 Q with pre-activations near 0
    (h near 1/2, small inputs) keeps the true norm within a small factor of it. Since Q is
    orthogonal, prod_t min_j sig'(a_t) * 3.6^k <= ||dh_T/dh_t|| <= (3.6/4)^k: a Jacobian
    wrong by a few percent per step leaves this sandwich within 40 steps."""
    H, T, s = 12, 40, 3.6
    rng = np.random.default_rng(seed)
    net = Network("rnn", 2, H, activation="sigmoid", seed=seed)
    W = s * orthogonal(H, rng)
    net.params["weight_hh_l0"] = W
    net.params["weight_ih_l0"] = 0.05 * rng.standard_normal((H, 2))
    net.params["bias_ih_l0"] = -W @ np.full(H, 0.5) + 0.02 * rng.standard_normal(H)
    net.params["bias_hh_l0"][:] = 0.0
    trace = net.run(rng.standard_normal((T, 2)), h0=np.full((1, H), 0.5))
    norms = diagnostics.jacobian_norms(trace)
    gamma, sigma = diagnostics.pascanu_factors(net)
    assert gamma == 0.25 and abs(sigma - s) < 1e-12
    bound = diagnostics.pascanu_bound(gamma, sigma, T)[::-1]  # (gamma*sigma)^(T-1-t)
    assert np.all(norms <= bound * (1 + 1e-12))
    a = trace.pass_trace().preacts["h"][:, 0]
    dmin = np.min(_sig(a) * (1 - _sig(a)), axis=1)  # smallest sig' of each step
    # J_t = diag(sig'(a_t)) W for t = T-1..1: the product back to t uses steps t+1..T-1
    lower = np.append(np.cumprod((s * dmin[1:])[::-1])[::-1], 1.0)
    assert np.all(norms >= lower * (1 - 1e-12))
    assert norms[0] > 0.5 * bound[0]  # tight: the bound is within a factor 2 after 39 steps
    assert bound[0] < 0.02  # and it is a bound that decays (0.9^39)
    # ||dL/dh_t|| from the loss at the last step alone obeys the same sandwich
    seed_grad = np.zeros((T, H))
    seed_grad[-1] = rng.standard_normal(H)
    g = trace.backward(seed_grad).hidden_norm[0, 0] / np.linalg.norm(seed_grad[-1])
    assert np.all(g <= bound * (1 + 1e-12)) and np.all(g >= lower * (1 - 1e-12))


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
    want = 0.75 ** np.arange(T - 1, -1, -1.0)
    assert_close(norms, want, rel=1e-12)
    assert_rel(norms, want, rel=1e-12, what="||dh_T/dh_t||")
    seed = np.zeros((T, H))
    seed[-1] = np.random.default_rng(2).standard_normal(H)
    grads = trace.backward(seed)
    assert_rel(grads.hidden_norm[0, 0], np.linalg.norm(seed[-1]) * want, rel=1e-12,
               what="||dL/dh_t||")
    gamma, sigma = diagnostics.pascanu_factors(net)
    assert_rel(diagnostics.pascanu_bound(gamma, sigma, T)[::-1], want, rel=1e-12,
               what="the bound, attained here")


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


_DERIVATIVES = {  # phi'(a), written from the pre-activation alone
    "sigmoid": lambda a: _sig(a) * (1 - _sig(a)),
    "relu": lambda a: (a > 0).astype(float),
    "leaky_relu": lambda a: np.where(a > 0, 1.0, 0.01),
    "identity": np.ones_like,
}


@pytest.mark.parametrize("activation,gain", [("sigmoid", 5.0), ("relu", 1.2),
                                             ("leaky_relu", 1.2), ("identity", 0.9)])
def test_rnn_jacobian_norms_match_explicit_products_for_every_activation(activation, gain):
    """J_t = diag(phi'(a_t)) W_hh from the recorded pre-activations, elementwise relative."""
    H, T = 5, 12
    net = Network("rnn", 2, H, activation=activation, init="gaussian", gain=gain, seed=1)
    trace = net.run(np.random.default_rng(3).standard_normal((T, 2)))
    W = net.params["weight_hh_l0"]
    a = trace.pass_trace().preacts["h"][:, 0]
    prod = np.eye(H)
    want = [1.0]
    for t in range(T - 1, 0, -1):
        prod = prod @ np.diag(_DERIVATIVES[activation](a[t])) @ W
        want.append(np.linalg.norm(prod, 2))
    want = np.array(want[::-1])
    assert want[0] > 1e-6
    assert_rel(diagnostics.jacobian_norms(trace), want, rel=1e-11)


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


def _lstm_state_jacobians(params, x, h0, c0):
    """J_t = d(h_t, c_t)/d(h_{t-1}, c_{t-1}), (2H, 2H), from the LSTM equations by hand."""
    W, U = params["weight_ih_l0"], params["weight_hh_l0"]
    b = params["bias_ih_l0"] + params["bias_hh_l0"]
    H = U.shape[1]
    Ui, Uf, Ug, Uo = U[:H], U[H:2 * H], U[2 * H:3 * H], U[3 * H:]
    h, c, out = h0, c0, []
    for xt in x:
        a = W @ xt + b + U @ h
        i, f, g, o = _sig(a[:H]), _sig(a[H:2 * H]), np.tanh(a[2 * H:3 * H]), _sig(a[3 * H:])
        c_new = f * c + i * g
        tc = np.tanh(c_new)
        dc_dh = ((c * f * (1 - f))[:, None] * Uf + (g * i * (1 - i))[:, None] * Ui
                 + (i * (1 - g * g))[:, None] * Ug)
        dh_dh = (tc * o * (1 - o))[:, None] * Uo + (o * (1 - tc * tc))[:, None] * dc_dh
        dh_dc = np.diag(o * (1 - tc * tc) * f)
        out.append(np.block([[dh_dh, dh_dc], [dc_dh, np.diag(f)]]))
        h, c = o * tc, c_new
    return out


def _lyapunov_by_hand(net, steps, k, seed, burn_in):
    """lyapunov_exponent's recipe on hand-built Jacobians: zero input, h0 then c0 then the
    tangent basis drawn from default_rng(seed); tangents pushed back with J_t^T from
    t = T-1 to burn_in, log|R_ii| counted for t = burn_in..T-2-burn_in. Also the mean of
    log|det J_t| over the same steps, which the sum of all 2H exponents must equal whatever
    the tangent basis (det(J^T Q) = det J for Q orthogonal)."""
    rng = np.random.default_rng(seed)
    H = net.hidden_size
    h0, c0 = rng.standard_normal(H), rng.standard_normal(H)
    q, _ = np.linalg.qr(rng.standard_normal((2 * H, k)))
    J = _lstm_state_jacobians(net.params, np.zeros((steps, net.input_size)), h0, c0)
    counted = range(burn_in, steps - 1 - burn_in)
    total = np.zeros(k)
    for t in range(steps - 1, burn_in - 1, -1):
        q, r = np.linalg.qr(J[t].T @ q)
        if t in counted:
            total += np.log(np.abs(np.diag(r)))
    return total / len(counted), np.mean([np.linalg.slogdet(J[t])[1] for t in counted])


@pytest.mark.parametrize("H,seed", [(1, 0), (2, 0), (3, 1)])
def test_lstm_lyapunov_matches_qr_on_hand_built_jacobians(H, seed):
    net = Network("lstm", 1, H, seed=seed)
    lam = diagnostics.lyapunov_exponent(net, steps=300, num_exponents=2 * H)
    want, mean_logdet = _lyapunov_by_hand(net, 300, 2 * H, seed=0, burn_in=30)
    assert np.all(np.isfinite(want))
    assert_close(lam, want, rel=1e-10)
    assert abs(lam.sum() - mean_logdet) < 1e-9 * abs(mean_logdet)  # volume: basis-free
    top = diagnostics.lyapunov_exponent(net, steps=300, seed=3)  # k = 1, another seed
    assert_close(top, _lyapunov_by_hand(net, 300, 1, seed=3, burn_in=30)[0], rel=1e-10)


def test_lstm_lyapunov_with_frozen_recurrence_is_log_forget_gate():
    """W_hh = 0 and zero input: the gates are constants and the (h, c) Jacobian is
    [[0, diag(K f)], [0, diag(f)]], so the exponents are log f_j, largest first (and the h
    directions' -inf)."""
    f = np.array([0.9, 0.6, 0.3])
    net = Network("lstm", 1, 3, seed=0)
    net.params["weight_hh_l0"][:] = 0.0
    net.params["bias_ih_l0"][3:6] = np.log(f / (1 - f))
    net.params["bias_hh_l0"][3:6] = 0.0
    lam = diagnostics.lyapunov_exponent(net, steps=300, num_exponents=3)
    assert_rel(lam, np.log(f), rel=1e-12, what="log f")


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
    assert gamma * sigma < 1  # a bound that decays
    bound = diagnostics.pascanu_bound(gamma, sigma, 30)[::-1]
    assert np.all(diagnostics.jacobian_norms(trace) <= bound * (1 + 1e-12))
    assert diagnostics.pascanu_factors(Network("gru", 2, 3)) is None
    ind = Network("indrnn", 2, 3, activation="relu")
    assert diagnostics.pascanu_factors(ind)[1] == pytest.approx(np.max(np.abs(
        ind.params["weight_hh_l0"])))


@pytest.mark.parametrize("activation,gain", [("sigmoid", 6.0), ("tanh", 1.5), ("relu", 1.2)])
def test_jordan_jacobian_norms_match_explicit_products(activation, gain):
    """dy_t/dy_{t-1} = diag(phi'(ao_t)) W_ho diag(phi'(a_t)) W_hh, built here from the
    recorded pre-activations: the engine's products must equal these to rounding."""
    H, T = 5, 12
    net = Network("jordan", 2, H, activation=activation, init="gaussian", gain=gain, seed=3)
    trace = net.run(np.random.default_rng(1).standard_normal((T, 2)))
    pt = trace.pass_trace()
    a, ao = pt.preacts["h"][:, 0], pt.preacts["y"][:, 0]

    def dphi(z):
        if activation == "sigmoid":
            return _sig(z) * (1 - _sig(z))
        return 1 - np.tanh(z) ** 2 if activation == "tanh" else (z > 0).astype(float)

    W_hh, W_ho = net.params["weight_hh_l0"], net.params["weight_ho_l0"]
    prod = np.eye(H)
    want = [1.0]
    for t in range(T - 1, 0, -1):
        prod = prod @ np.diag(dphi(ao[t])) @ W_ho @ np.diag(dphi(a[t])) @ W_hh
        want.append(np.linalg.norm(prod, 2))
    want = np.array(want[::-1])
    assert want[0] > 1e-8  # a product that has not died out: every step counts
    assert_rel(diagnostics.jacobian_norms(trace), want, rel=1e-11)


@pytest.mark.parametrize("activation,s_ho,s_hh", [("tanh", 0.9, 1.05), ("sigmoid", 3.0, 5.0)])
def test_jordan_bound_is_exact_at_zero_preactivation(activation, s_ho, s_hh):
    """W_ho = s_ho Q1, W_hh = s_hh Q2 and every pre-activation 0 (tanh: zero input and bias
    keep h = y = 0; sigmoid: biases hold h = y = 1/2): dy_t/dy_{t-1} = phi'(0)^2 W_ho W_hh,
    so ||dy_T/dy_t|| = (gamma^2 s_ho s_hh)^(T-1-t) exactly: Pascanu's bound, attained."""
    H, T = 6, 30
    rng = np.random.default_rng(5)
    net = Network("jordan", 3, H, activation=activation, seed=1)
    W_ho, W_hh = s_ho * orthogonal(H, rng), s_hh * orthogonal(H, rng)
    net.params["weight_ho_l0"], net.params["weight_hh_l0"] = W_ho, W_hh
    net.params["weight_ih_l0"][:] = 0.0
    net.params["bias_hh_l0"][:] = 0.0
    rest = 0.5 if activation == "sigmoid" else 0.0  # phi(0)
    net.params["bias_ih_l0"] = -W_hh @ np.full(H, rest)
    net.params["bias_ho_l0"] = -W_ho @ np.full(H, rest)
    trace = net.run(rng.standard_normal((T, 3)), h0=np.full((1, H), rest))
    pt = trace.pass_trace()
    assert np.max(np.abs(pt.preacts["h"])) < 1e-14 and np.max(np.abs(pt.preacts["y"])) < 1e-14
    gamma, sigma = diagnostics.pascanu_factors(net)
    rate = gamma * s_ho * s_hh
    assert abs(gamma * sigma - rate) < 1e-13 and rate < 1
    want = rate ** np.arange(T - 1, -1, -1.0)
    assert_rel(diagnostics.jacobian_norms(trace), want, rel=1e-12, what="||dy_T/dy_t||")
    assert_rel(diagnostics.pascanu_bound(gamma, sigma, T)[::-1], want, rel=1e-12)
    seed = np.zeros((T, H))
    seed[-1] = rng.standard_normal(H)
    norms = trace.backward(seed).hidden_norm[0, 0]  # ||dL/dy_t||, the loss at the last step
    assert_rel(norms, np.linalg.norm(seed[-1]) * want, rel=1e-12, what="||dL/dy_t||")


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

"""S6, Mamba's selective state space layer (Gu & Dao 2023), against a float64 torch oracle
written from the paper's equations (autograd gives its gradients) and against central
differences; its zero-order hold makes Theorem 1 (S6 -> minGRU) exact."""

import itertools

import numpy as np
import pytest
import torch

from engine import Network, diagnostics
from engine.cells import S6Cell, zoh

from .helpers import assert_close, assert_torch_module_is_the_cell


def s6_layer(p: dict, sfx: str, x, h0, N: int):
    """u = W_in x, Delta = softplus(W_up W_down u + b), B = W_B u, C = W_C u, A = -exp(A_log),
    h_t = exp(Delta A) h_{t-1} + (Delta A)^-1 (exp(Delta A) - 1) Delta B u,  y = C h + D u."""
    A = -torch.exp(p["A_log" + sfx])
    h = h0.reshape(h0.shape[0], -1, N)
    ys = []
    for t in range(x.shape[0]):
        u = x[t] @ p["W_in" + sfx].T
        delta = torch.nn.functional.softplus(
            u @ p["W_delta_down" + sfx].T @ p["W_delta_up" + sfx].T + p["b_delta" + sfx])
        B, C = u @ p["W_B" + sfx].T, u @ p["W_C" + sfx].T
        dA = delta[:, :, None] * A
        Bbar = torch.linalg.solve(torch.diag_embed(dA), torch.expm1(dA) * delta[:, :, None]
                                  * B[:, None, :])  # (Delta A)^-1 (exp(Delta A) - 1) Delta B
        h = torch.exp(dA) * h + Bbar * u[:, :, None]
        ys.append(torch.einsum("bhn,bn->bh", h, C) + p["D" + sfx] * u)
    return torch.stack(ys), h.reshape(h.shape[0], -1)


def oracle(params, x, h0, layers, directions, N):
    inp, finals = x, []
    for layer in range(layers):
        outs = []
        for d in range(directions):
            sfx = f"_l{layer}" + ("_reverse" if d else "")
            y, h = s6_layer(params, sfx, inp.flip(0) if d else inp, h0[layer * directions + d],
                            N)
            outs.append(y.flip(0) if d else y)
            finals.append(h)
        inp = torch.cat(outs, dim=-1)
    return inp, torch.stack(finals)


@pytest.mark.parametrize("layers,bidirectional,batched",
                         list(itertools.product((1, 2), (False, True), (True, False))))
def test_forward_and_backward_match_the_torch_oracle(layers, bidirectional, batched):
    H, I, T, B, N = 4, 3, 9, 2, S6Cell.N
    net = Network("s6", I, H, num_layers=layers, bidirectional=bidirectional, seed=5)
    D = net.num_directions
    rng = np.random.default_rng(layers + 2 * bidirectional)
    x = rng.standard_normal((T, B, I) if batched else (T, I))
    h0 = rng.standard_normal((layers * D, B, H * N) if batched else (layers * D, H * N))
    trace = net.run(x, h0=h0)

    params = {k: torch.tensor(v, requires_grad=True) for k, v in net.params.items()}
    xt, h0t = torch.tensor(x, requires_grad=True), torch.tensor(h0, requires_grad=True)
    out, h_n = oracle(params, xt if batched else xt[:, None], h0t if batched else h0t[:, None],
                      layers, D, N)
    if not batched:
        out, h_n = out[:, 0], h_n[:, 0]
    assert_close(trace.output, out.detach().numpy(), what="output")
    assert_close(trace.h_n, h_n.detach().numpy(), what="h_n")

    g_out, g_hn = rng.standard_normal(out.shape), rng.standard_normal(h_n.shape)
    grads = trace.backward(g_out, grad_h_n=g_hn)
    torch.autograd.backward([out, h_n], [torch.tensor(g_out), torch.tensor(g_hn)])
    assert list(grads.params) == list(net.params)
    for name, param in params.items():
        assert_close(grads.params[name], param.grad.numpy(), what=name)
    assert_close(grads.input, xt.grad.numpy(), what="input grad")
    assert_close(grads.h0, h0t.grad.numpy(), what="h0 grad")


def test_gradients_match_central_differences():
    net = Network("s6", 2, 3, num_layers=2, seed=1)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((7, 2))
    w = rng.standard_normal((7, 3))
    g = rng.standard_normal((2, 3 * S6Cell.N))

    def loss(n):
        tr = n.run(x)
        return float(np.sum(w * tr.output) + np.sum(g * tr.h_n))

    grads = net.run(x).backward(w, grad_h_n=g)
    eps = 1e-6
    for name in ("W_in_l0", "b_delta_l0", "W_delta_up_l1", "W_B_l0", "W_C_l1", "A_log_l0",
                 "D_l1"):
        value = net.params[name]
        numeric = np.zeros_like(value)
        for idx in np.ndindex(value.shape):
            for sign in (1, -1):
                moved = Network("s6", 2, 3, num_layers=2, seed=1)
                moved.params = {k: v.copy() for k, v in net.params.items()}
                moved.params[name][idx] += sign * eps
                numeric[idx] += sign * loss(moved) / (2 * eps)
        assert_close(grads.params[name], numeric, rel=1e-6, what=name)


def test_theorem_1_zero_order_hold_turns_s6_into_mingru():
    """N = 1, A = -1, B = 1, Delta = softplus(z): h_t = (1 - sig(z)) h_{t-1} + sig(z) x_t."""
    z = np.linspace(-30, 30, 121)
    Abar, Bbar = zoh(np.logaddexp(0.0, z), -1.0, 1.0)
    gate, keep = 1 / (1 + np.exp(-z)), 1 / (1 + np.exp(z))  # sig(z) and 1 - sig(z)
    np.testing.assert_allclose(Abar, keep, rtol=1e-12)
    np.testing.assert_allclose(Bbar, gate, rtol=1e-12, atol=1e-15)
    # Euler's Bbar = Delta B is not the gate: the reference code's choice breaks the theorem
    assert not np.allclose(np.logaddexp(0.0, z), gate)


def test_initialisation_is_the_papers():
    net = Network("s6", 2, 32, seed=0)
    p = net.layer_params(0)
    np.testing.assert_allclose(-np.exp(p["a_log"]), -np.tile(np.arange(1, 9), (32, 1)))
    delta = np.logaddexp(0.0, p["b_delta"])
    assert delta.min() >= 1e-3 - 1e-12 and delta.max() <= 0.1 + 1e-12
    np.testing.assert_array_equal(p["d"], 1.0)
    with pytest.raises(ValueError, match="Mamba"):
        Network("s6", 1, 4, init="identity")


def test_the_carry_depends_on_the_input_and_is_the_jacobian():
    """Selectivity: exp(Delta_t A) changes with x_t (the LRU's lambda does not); the
    Jacobian is diag of it, exactly."""
    net = Network("s6", 1, 3, seed=2)
    x = np.random.default_rng(3).standard_normal((8, 1)) * 3
    trace = net.run(x)
    carry = diagnostics.diagonal_carry(trace)[:, 0]
    assert np.ptp(carry, axis=0).max() > 1e-3
    norms = diagnostics.jacobian_norms(trace)
    want = [np.max(np.prod(carry[t + 1:], axis=0)) for t in range(8)]
    assert_close(norms, want, what="||dh_T/dh_t|| = max prod exp(Delta A)")


def test_the_torch_module_is_the_engines_cell():
    net = Network("s6", 3, 4, num_layers=2, bidirectional=True, seed=1)
    assert_torch_module_is_the_cell(net, np.random.default_rng(0))


@pytest.mark.parametrize("cell", ["mingru", "minlstm", "lru", "s6"])
@pytest.mark.parametrize("direction", [0, 1])
def test_diagonal_jacobian_norms_are_the_matrix_ones(cell, direction):
    net = Network(cell, 2, 3, bidirectional=True, seed=6)
    trace = net.run(np.random.default_rng(7).standard_normal((12, 2, 2)) * 2)
    assert_close(diagnostics.diagonal_jacobian_norms(trace, 0, direction, batch_index=1),
                 diagnostics.jacobian_norms(trace, 0, direction, batch_index=1), what=cell)


def test_diagonal_lyapunov_exponents_are_the_mean_log_carry():
    """Per channel, exactly: the LRU's log|lambda_j|, S6's Delta A on a constant input; the
    QR estimate (lyapunov_exponent, now for every state width) finds the largest."""
    lru = Network("lru", 1, 4, seed=0)
    x = np.zeros((400, 1))
    exact = diagnostics.diagonal_lyapunov(lru.run(x))
    assert_close(exact, np.log(np.abs(diagnostics.lru_eigenvalues(lru))), what="log|lambda|")
    qr = diagnostics.lyapunov_exponent(lru, steps=400, num_exponents=2)
    assert_close(qr, np.sort(exact)[::-1][:2], rel=1e-6, what="QR against exact")
    s6 = Network("s6", 1, 3, seed=1)
    exact = diagnostics.diagonal_lyapunov(s6.run(x))
    assert exact.shape == (3 * 8,) and np.all(exact < 0)
    assert_close(exact, np.log(diagnostics.diagonal_carry(s6.run(x[:1]))[0, 0]), what="S6")
    assert diagnostics.lyapunov_exponent(s6, steps=200).shape == (1,)


def test_zero_order_hold_keeps_its_precision_for_tiny_steps():
    """Bbar's factor q = (e^(delta A) - 1) / A and its dq/dA, against 50-digit arithmetic,
    from delta |A| = 1e-14 (a trained Delta near 0) to 5: no cancellation anywhere."""
    import mpmath

    from engine.cells import zoh, zoh_dq_dA

    mpmath.mp.dps = 50
    A = -1.7
    for delta in np.logspace(-14, np.log10(3.0), 40):
        d, a = mpmath.mpf(float(delta)), mpmath.mpf(A)
        q = mpmath.expm1(d * a) / a
        dq = mpmath.diff(lambda v, d=d: mpmath.expm1(d * v) / v, a)
        _, bbar = zoh(np.array(delta), np.array(A), 1.0)
        assert abs(float(bbar) - float(q)) <= 1e-15 * abs(float(q))
        got = float(zoh_dq_dA(np.array(delta), np.array(A)))
        assert abs(got - float(dq)) <= 1e-13 * abs(float(dq)), (delta, got, float(dq))

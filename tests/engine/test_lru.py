"""The LRU (Orvieto et al. 2023) against a float64 torch oracle written from the paper's
equations (complex autograd gives its gradients) and against central differences: outputs,
the complex final state and every gradient to ~1e-10, deep, bidirectional, batched or not;
its ring initialisation and its Jacobian diag(lambda)."""

import itertools

import numpy as np
import pytest
import torch

from engine import Network, diagnostics
from engine.cells import LRUCell

from .helpers import assert_close, assert_torch_module_is_the_cell


def lru_layer(p: dict, sfx: str, u, x0):
    """lambda = exp(-exp(nu) + i exp(theta)), x_t = lambda x_{t-1} + gamma (B u_t),
    y_t = Re(C x_t) + D u_t: the paper's recurrence as a loop."""
    lam = torch.exp(-torch.exp(p["nu_log" + sfx]) + 1j * torch.exp(p["theta_log" + sfx]))
    gamma = torch.exp(p["gamma_log" + sfx])
    B = torch.complex(p["B_re" + sfx], p["B_im" + sfx])
    C = torch.complex(p["C_re" + sfx], p["C_im" + sfx])
    x, ys = x0.to(torch.complex128), []
    for t in range(u.shape[0]):
        x = lam * x + gamma * (u[t].to(torch.complex128) @ B.T)
        ys.append((x @ C.T).real + u[t] @ p["D" + sfx].T)
    return torch.stack(ys), x


def oracle(params: dict, u, x0, layers: int, directions: int):
    """Layers stacked, directions joined, as torch.nn.GRU stacks them."""
    inp, finals = u, []
    for layer in range(layers):
        outs = []
        for d in range(directions):
            sfx = f"_l{layer}" + ("_reverse" if d else "")
            y, x = lru_layer(params, sfx, inp.flip(0) if d else inp, x0[layer * directions + d])
            outs.append(y.flip(0) if d else y)
            finals.append(x)
        inp = torch.cat(outs, dim=-1)
    return inp, torch.stack(finals)


@pytest.mark.parametrize("layers,bidirectional,batched",
                         list(itertools.product((1, 2), (False, True), (True, False))))
def test_forward_and_backward_match_the_torch_oracle(layers, bidirectional, batched):
    H, I, T, B = 4, 3, 11, 2
    net = Network("lru", I, H, num_layers=layers, bidirectional=bidirectional, seed=5)
    D = net.num_directions
    rng = np.random.default_rng(layers + 2 * bidirectional)
    x = rng.standard_normal((T, B, I) if batched else (T, I))
    shape = (layers * D, B, H) if batched else (layers * D, H)
    h0 = rng.standard_normal(shape) + 1j * rng.standard_normal(shape)  # complex, like h_n
    trace = net.run(x, h0=h0)

    params = {k: torch.tensor(v, requires_grad=True) for k, v in net.params.items()}
    xt, h0t = torch.tensor(x, requires_grad=True), torch.tensor(h0, requires_grad=True)
    squeeze = not batched
    out, h_n = oracle(params, xt.unsqueeze(1) if squeeze else xt,
                      h0t.unsqueeze(1) if squeeze else h0t, layers, D)
    if squeeze:
        out, h_n = out.squeeze(1), h_n.squeeze(1)
    assert_close(trace.output, out.detach().numpy(), what="output")
    assert np.iscomplexobj(trace.h_n)
    assert_close(trace.h_n.real, h_n.detach().numpy().real, what="Re h_n")
    assert_close(trace.h_n.imag, h_n.detach().numpy().imag, what="Im h_n")

    g_out = rng.standard_normal(out.shape)
    g_hn = rng.standard_normal(h_n.shape) + 1j * rng.standard_normal(h_n.shape)
    grads = trace.backward(g_out, grad_h_n=g_hn)
    torch.autograd.backward([out, h_n], [torch.tensor(g_out), torch.tensor(g_hn)])
    assert list(grads.params) == list(net.params)
    for name, param in params.items():
        assert_close(grads.params[name], param.grad.numpy(), what=name)
    assert_close(grads.input, xt.grad.numpy(), what="input grad")
    assert_close(grads.h0, h0t.grad.numpy(), what="h0 grad")


def test_a_run_goes_on_from_its_own_complex_h_n():
    x = np.random.default_rng(0).standard_normal((20, 1))
    net = Network("lru", 1, 4, num_layers=2, seed=0)
    first = net.run(x[:8])
    np.testing.assert_allclose(net.run(x[8:], h0=first.h_n).output, net.run(x).output[8:],
                               rtol=1e-12, atol=1e-14)


def test_gradients_match_central_differences():
    net = Network("lru", 2, 3, num_layers=2, seed=1)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((9, 2))
    w = rng.standard_normal((9, 3))
    g = rng.standard_normal((2, 3)) + 1j * rng.standard_normal((2, 3))

    def loss(n):
        tr = n.run(x)
        return float(np.sum(w * tr.output) + np.sum((np.conj(g) * tr.h_n).real))

    grads = net.run(x).backward(w, grad_h_n=g)
    eps = 1e-6
    for name, value in net.params.items():
        numeric = np.zeros_like(value)
        for idx in np.ndindex(value.shape):
            for sign in (1, -1):
                moved = Network("lru", 2, 3, num_layers=2, seed=1)
                moved.params = {k: v.copy() for k, v in net.params.items()}
                moved.params[name][idx] += sign * eps
                numeric[idx] += sign * loss(moved) / (2 * eps)
        assert_close(grads.params[name], numeric, rel=1e-6, what=name)


def test_truncated_bptt_equals_the_loss_of_each_window_alone():
    """Truncation at k: the last step's loss reaches back exactly k steps, as detaching."""
    net = Network("lru", 1, 3, seed=2)
    x = np.random.default_rng(1).standard_normal((12, 1))
    trace = net.run(x)
    g = np.zeros((12, 3))
    g[-1] = 1.0
    full = trace.backward(g).hidden_norm[0, 0]
    cut = trace.backward(g, truncate=4).hidden_norm[0, 0]
    assert_close(cut[-4:], full[-4:], what="inside the window")
    assert np.all(cut[:-4] == 0)


def test_ring_initialisation_puts_the_eigenvalues_on_the_ring():
    net = Network("lru", 2, 1000, seed=0)
    cell = net.cell
    lam = LRUCell.eigenvalues(net.layer_params(0))
    r2 = np.abs(lam) ** 2
    assert r2.min() >= cell.r_min**2 - 1e-12 and r2.max() <= cell.r_max**2 + 1e-12
    # |lambda|^2 uniform on [r_min^2, r_max^2]: its mean is the interval's middle
    assert abs(r2.mean() - (cell.r_min**2 + cell.r_max**2) / 2) < 0.02
    phase = np.angle(lam) % (2 * np.pi)
    assert abs(phase.mean() - cell.max_phase / 2) < 0.25  # 4 standard errors
    gamma = np.exp(net.params["gamma_log_l0"])
    assert_close(gamma, np.sqrt(1 - r2), what="gamma normalises")


def test_the_lru_has_no_other_initialisation():
    with pytest.raises(ValueError, match="ring"):
        Network("lru", 1, 4, init="orthogonal")
    with pytest.raises(ValueError, match="no W_hh"):
        Network("lru", 1, 4, spectral_radius=0.9)


def test_jacobian_is_diag_lambda_exactly():
    net = Network("lru", 1, 5, seed=4)
    trace = net.run(np.random.default_rng(2).standard_normal((10, 1)))
    lam = LRUCell.eigenvalues(net.layer_params(0))
    carry = diagnostics.diagonal_carry(trace)
    assert_close(carry.real, np.broadcast_to(lam.real, carry.shape), what="carry")
    norms = diagnostics.jacobian_norms(trace)
    k = np.arange(9, -1, -1)  # steps back from the last step
    assert_close(norms, np.max(np.abs(lam)) ** k, what="||dx_T/dx_t|| = max|lambda|^k")


def test_complex_values_are_refused_where_real_ones_are_due():
    net = Network("rnn", 1, 2)
    with pytest.raises(ValueError, match="real"):
        net.run(np.ones((3, 1)), h0=np.ones((1, 2)) * 1j)


def test_the_torch_module_is_the_engines_cell():
    """The Training lab trains the LRU with engine.torch_bridge.diagonal_rnn: its outputs,
    complex final state and gradients equal the engine's (float64); weights go both ways."""
    net = Network("lru", 3, 4, num_layers=2, bidirectional=True, seed=1)
    assert_torch_module_is_the_cell(net, np.random.default_rng(0))


@pytest.mark.parametrize("lam", [0.5, 0.9, 0.97])
def test_curse_of_memory_matches_simulation(lam):
    """E[h^2] and E[(dh/dlam)^2] of h_t = lam h_{t-1} + x_t, unit white noise, stationary:
    the formulas against 4000 simulated sequences (dh/dlam by its own recursion)."""
    rng = np.random.default_rng(0)
    n, T = 4000, int(40 / (1 - lam))  # long enough to forget the start
    h, g = np.zeros(n), np.zeros(n)
    for _ in range(T):
        g = h + lam * g  # d/dlam of lam h_{t-1} + x_t
        h = lam * h + rng.standard_normal(n)
    want = diagnostics.curse_of_memory(lam)
    assert np.mean(h**2) == pytest.approx(want["state"], rel=0.06)
    assert np.mean(g**2) == pytest.approx(want["sensitivity"], rel=0.12)
    assert diagnostics.curse_of_memory(0.99)["state"] == pytest.approx(50.25, rel=1e-3)
    assert diagnostics.curse_of_memory(0.99)["sensitivity"] == pytest.approx(2.5e5, rel=0.01)


def test_lru_eigenvalues_and_their_lyapunov_exponents():
    net = Network("lru", 1, 6, num_layers=2, seed=3)
    lam = diagnostics.lru_eigenvalues(net, layer=1)
    assert np.all(np.abs(lam) < 1)
    np.testing.assert_allclose(np.log(np.abs(lam)), -np.exp(net.params["nu_log_l1"]))
    with pytest.raises(ValueError, match="not an LRU"):
        diagnostics.lru_eigenvalues(Network("gru", 1, 2))

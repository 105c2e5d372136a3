"""minGRU and minLSTM (Feng et al. 2024) against a float64 torch oracle written from the
paper's equations (autograd gives its gradients): outputs and every gradient to ~1e-10,
deep, bidirectional, batched or not; their Jacobians are diag(1 - z_t) and diag(f'_t)
exactly."""

import itertools

import numpy as np
import pytest
import torch

from engine import Network, diagnostics

from .helpers import assert_close, assert_torch_module_is_the_cell


def mingru_step(pre, h, H):
    """z = sig(W_z x + b_z), h~ = W_h x + b_h, h_t = (1 - z) h_{t-1} + z h~."""
    z = torch.sigmoid(pre[..., :H])
    htilde = pre[..., H:]
    return (1 - z) * h + z * htilde


def minlstm_step(pre, h, H):
    """f, i = sig(.), h~ = W_h x + b_h, f' = f / (f + i), i' = i / (f + i),
    h_t = f' h_{t-1} + i' h~."""
    f = torch.sigmoid(pre[..., :H])
    i = torch.sigmoid(pre[..., H:2 * H])
    htilde = pre[..., 2 * H:]
    return f / (f + i) * h + i / (f + i) * htilde


STEPS = {"mingru": mingru_step, "minlstm": minlstm_step}


def oracle(cell: str, params: dict, x, h0, layers: int, directions: int, H: int):
    """The paper's recurrence as a torch loop, stacked like torch.nn.GRU stacks layers."""
    inp, finals = x, []
    for layer in range(layers):
        outs = []
        for d in range(directions):
            sfx = f"_l{layer}" + ("_reverse" if d else "")
            w, b = params["weight_ih" + sfx], params["bias_ih" + sfx]
            seq = inp.flip(0) if d else inp
            h, hs = h0[layer * directions + d], []
            for t in range(seq.shape[0]):
                h = STEPS[cell](seq[t] @ w.T + b, h, H)
                hs.append(h)
            out = torch.stack(hs)
            outs.append(out.flip(0) if d else out)
            finals.append(h)
        inp = torch.cat(outs, dim=-1)
    return inp, torch.stack(finals)


@pytest.mark.parametrize("cell,layers,bidirectional,batched", list(itertools.product(
    STEPS, (1, 2), (False, True), (True, False))))
def test_forward_and_backward_match_the_torch_oracle(cell, layers, bidirectional, batched):
    H, I, T, B = 4, 3, 11, 2
    net = Network(cell, I, H, num_layers=layers, bidirectional=bidirectional, seed=3)
    D = net.num_directions
    rng = np.random.default_rng(layers + 2 * bidirectional)
    x = rng.standard_normal((T, B, I) if batched else (T, I))
    h0 = rng.standard_normal((layers * D, B, H) if batched else (layers * D, H))
    trace = net.run(x, h0=h0)

    params = {k: torch.tensor(v, requires_grad=True) for k, v in net.params.items()}
    xt, h0t = torch.tensor(x, requires_grad=True), torch.tensor(h0, requires_grad=True)
    out, h_n = oracle(cell, params, xt, h0t, layers, D, H)
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


@pytest.mark.parametrize("cell", STEPS)
def test_the_jacobian_is_the_diagonal_carry(cell):
    net = Network(cell, 2, 5, seed=1)
    x = np.random.default_rng(2).standard_normal((30, 2))
    trace = net.run(x)
    gates = trace.pass_trace(0, 0).gates
    carry = (1 - gates["z"] if cell == "mingru" else gates["f_prime"])[:, 0]  # (T, H)
    if cell == "minlstm":
        np.testing.assert_allclose(gates["f_prime"] + gates["i_prime"], 1.0, rtol=1e-15)
    # ||dh_{T-1}/dh_t||_2 of a diagonal product: the largest channel's product of the carry
    want = np.array([np.max(np.prod(carry[t + 1:], axis=0)) for t in range(30)])
    np.testing.assert_allclose(diagnostics.jacobian_norms(trace), want, rtol=1e-12)
    assert np.all(np.diff(want) >= 0)  # it cannot grow going back: 0 < carry < 1


@pytest.mark.parametrize("cell", STEPS)
def test_no_recurrent_matrix_to_rescale(cell):
    with pytest.raises(ValueError, match="no W_hh"):
        Network(cell, 1, 4, spectral_radius=0.9)
    assert set(Network(cell, 1, 4).params) == {"weight_ih_l0", "bias_ih_l0"}


def test_minlstm_stays_finite_where_f_plus_i_underflows():
    """Both pre-activations far below -37: the engine's sigmoid gives f = i = 0 exactly, and
    f / (f + i) would be 0/0. The log-space shares stay finite and sum to one."""
    net = Network("minlstm", 1, 8, seed=0)
    x = np.array([[150.0], [-150.0], [300.0], [-300.0], [0.5]])
    trace = net.run(x)
    grads = trace.backward(np.ones_like(trace.output))
    gates = trace.pass_trace(0, 0).gates
    assert np.isfinite(trace.output).all() and np.isfinite(grads.input).all()
    assert all(np.isfinite(g).all() for g in grads.params.values())
    np.testing.assert_allclose(gates["f_prime"] + gates["i_prime"], 1.0, rtol=1e-15)
    assert trace.overflow is None


@pytest.mark.parametrize("cell", STEPS)
def test_the_torch_module_is_the_engines_cell(cell):
    """The Training lab trains the diagonal cells with engine.torch_bridge.diagonal_rnn:
    its outputs and gradients equal the engine's (float64), and the weights go both ways."""
    net = Network(cell, 3, 4, num_layers=2, bidirectional=True, seed=1)
    module, x, trace = assert_torch_module_is_the_cell(net, np.random.default_rng(0))
    unbatched, _ = module(torch.tensor(x[:, 0]))
    assert_close(unbatched.detach().numpy(), trace.output[:, 0], what="unbatched")


@pytest.mark.parametrize("cell", STEPS)
def test_the_min_cells_train(cell):
    from engine.train import TrainConfig, train

    result = train(TrainConfig(task="adding", seq_len=20, cell=cell, hidden=8, steps=60,
                               batch=32, seed=0))
    assert result.stopped is None and np.isfinite(result.final_loss)
    assert np.mean(result.losses[-10:]) < np.mean(result.losses[:10])

"""minGRU (Feng et al. 2024) against a float64 torch oracle written from the paper's
equations (autograd gives its gradients): outputs and every gradient to ~1e-10, deep,
bidirectional, batched or not; its Jacobian is diag(1 - z_t) exactly."""

import itertools

import numpy as np
import pytest
import torch

from engine import Network, diagnostics

from .helpers import assert_close


def oracle(params: dict, x, h0, layers: int, directions: int, H: int):
    """The paper's recurrence as a torch loop, stacked like torch.nn.GRU stacks layers:
    z = sig(W_z x + b_z), h~ = W_h x + b_h, h_t = (1 - z) h_{t-1} + z h~."""
    inp, finals = x, []
    for layer in range(layers):
        outs = []
        for d in range(directions):
            sfx = f"_l{layer}" + ("_reverse" if d else "")
            w, b = params["weight_ih" + sfx], params["bias_ih" + sfx]
            seq = inp.flip(0) if d else inp
            h, hs = h0[layer * directions + d], []
            for t in range(seq.shape[0]):
                pre = seq[t] @ w.T + b
                z = torch.sigmoid(pre[..., :H])
                htilde = pre[..., H:]
                h = (1 - z) * h + z * htilde
                hs.append(h)
            out = torch.stack(hs)
            outs.append(out.flip(0) if d else out)
            finals.append(h)
        inp = torch.cat(outs, dim=-1)
    return inp, torch.stack(finals)


@pytest.mark.parametrize("layers,bidirectional,batched",
                         list(itertools.product((1, 2), (False, True), (True, False))))
def test_forward_and_backward_match_the_torch_oracle(layers, bidirectional, batched):
    H, I, T, B = 4, 3, 11, 2
    net = Network("mingru", I, H, num_layers=layers, bidirectional=bidirectional, seed=3)
    D = net.num_directions
    rng = np.random.default_rng(layers + 2 * bidirectional)
    x = rng.standard_normal((T, B, I) if batched else (T, I))
    h0 = rng.standard_normal((layers * D, B, H) if batched else (layers * D, H))
    trace = net.run(x, h0=h0)

    params = {k: torch.tensor(v, requires_grad=True) for k, v in net.params.items()}
    xt, h0t = torch.tensor(x, requires_grad=True), torch.tensor(h0, requires_grad=True)
    out, h_n = oracle(params, xt, h0t, layers, D, H)
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


def test_the_jacobian_is_diag_one_minus_z():
    net = Network("mingru", 2, 5, seed=1)
    x = np.random.default_rng(2).standard_normal((30, 2))
    trace = net.run(x)
    z = trace.pass_trace(0, 0).gates["z"][:, 0]  # (T, H)
    # ||dh_{T-1}/dh_t||_2 of a diagonal product: the largest channel's prod of (1 - z)
    want = np.array([np.max(np.prod(1 - z[t + 1:], axis=0)) for t in range(30)])
    np.testing.assert_allclose(diagnostics.jacobian_norms(trace), want, rtol=1e-12)
    assert np.all(np.diff(want) >= 0)  # it cannot grow going back: 0 < 1 - z < 1


def test_no_recurrent_matrix_to_rescale():
    with pytest.raises(ValueError, match="no W_hh"):
        Network("mingru", 1, 4, spectral_radius=0.9)
    assert set(Network("mingru", 1, 4).params) == {"weight_ih_l0", "bias_ih_l0"}

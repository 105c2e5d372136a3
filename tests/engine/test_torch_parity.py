"""The engine against torch.nn.RNN/LSTM/GRU on the same float64 weights: outputs and gradients."""

import itertools

import numpy as np
import pytest
import torch

from engine import Network

from .helpers import assert_close

MODULES = {
    "rnn-tanh": lambda *a, **k: torch.nn.RNN(*a, nonlinearity="tanh", **k),
    "rnn-relu": lambda *a, **k: torch.nn.RNN(*a, nonlinearity="relu", **k),
    "lstm": torch.nn.LSTM,
    "gru": torch.nn.GRU,
}
CASES = list(itertools.product(MODULES, (1, 2, 3), (False, True), (True, False)))


@pytest.mark.parametrize("kind,layers,bidirectional,batched", CASES)
def test_forward_and_backward_match_torch(kind, layers, bidirectional, batched):
    torch.manual_seed(layers * 10 + bidirectional)
    module = MODULES[kind](3, 5, layers, bidirectional=bidirectional, dtype=torch.float64)
    net = Network.from_torch(module)
    rng = np.random.default_rng(7)
    T, B = 9, 2
    D = 2 if bidirectional else 1
    x = rng.standard_normal((T, B, 3) if batched else (T, 3))
    state_shape = (layers * D, B, 5) if batched else (layers * D, 5)
    h0 = rng.standard_normal(state_shape)
    c0 = rng.standard_normal(state_shape)
    is_lstm = kind == "lstm"

    trace = net.run(x, h0=h0, c0=c0 if is_lstm else None)
    xt = torch.tensor(x, requires_grad=True)
    h0t = torch.tensor(h0, requires_grad=True)
    c0t = torch.tensor(c0, requires_grad=True)
    out, state = module(xt, (h0t, c0t) if is_lstm else h0t)
    h_n = state[0] if is_lstm else state

    assert_close(trace.output, out.detach().numpy(), what="output")
    assert_close(trace.h_n, h_n.detach().numpy(), what="h_n")
    if is_lstm:
        assert_close(trace.c_n, state[1].detach().numpy(), what="c_n")

    g_out = rng.standard_normal(out.shape)
    g_hn = rng.standard_normal(h_n.shape)
    g_cn = rng.standard_normal(h_n.shape)
    grads = trace.backward(g_out, grad_h_n=g_hn, grad_c_n=g_cn if is_lstm else None)
    seeds = [(out, g_out), (h_n, g_hn)] + ([(state[1], g_cn)] if is_lstm else [])
    torch.autograd.backward([t for t, _ in seeds], [torch.tensor(g) for _, g in seeds])

    assert list(grads.params) == list(module.state_dict())
    for name, param in module.named_parameters():
        assert_close(grads.params[name], param.grad.numpy(), what=name)
    assert_close(grads.input, xt.grad.numpy(), what="input grad")
    assert_close(grads.h0, h0t.grad.numpy(), what="h0 grad")
    if is_lstm:
        assert_close(grads.c0, c0t.grad.numpy(), what="c0 grad")


@pytest.mark.parametrize("kind", ["rnn-tanh", "lstm", "gru"])
def test_hidden_norm_is_the_total_gradient_of_each_state(kind):
    """hidden_norm[l, d, t] = ||dL/dh_t||, checked with torch by retaining per-step states."""
    torch.manual_seed(3)
    cell_module = {"rnn-tanh": torch.nn.RNNCell, "lstm": torch.nn.LSTMCell,
                   "gru": torch.nn.GRUCell}[kind]
    cell = cell_module(2, 4, dtype=torch.float64)
    seq = MODULES[kind](2, 4, 1, dtype=torch.float64)
    seq.load_state_dict({k + "_l0": v for k, v in cell.state_dict().items()})
    net = Network.from_torch(seq)
    x = np.random.default_rng(0).standard_normal((12, 3, 2))
    g_out = np.random.default_rng(1).standard_normal((12, 3, 4))
    trace = net.run(x)
    grads = trace.backward(g_out)

    h = torch.zeros(3, 4, dtype=torch.float64)
    c = torch.zeros(3, 4, dtype=torch.float64)
    hs, cs = [], []
    for t in range(12):
        xt = torch.tensor(x[t])
        if kind == "lstm":
            h, c = cell(xt, (h, c))
            c.retain_grad()
            cs.append(c)
        else:
            h = cell(xt, h)
        h.retain_grad()
        hs.append(h)
    loss = sum((hs[t] * torch.tensor(g_out[t])).sum() for t in range(12))
    loss.backward()
    want = np.array([hs[t].grad.norm().item() for t in range(12)])
    assert_close(grads.hidden_norm[0, 0], want, what="hidden_norm")
    if kind == "lstm":
        want_c = np.array([cs[t].grad.norm().item() for t in range(12)])
        assert_close(grads.cell_norm[0, 0], want_c, what="cell_norm")


@pytest.mark.parametrize("kind", ["rnn-relu", "lstm", "gru"])
def test_to_torch_round_trip(kind):
    torch.manual_seed(0)
    module = MODULES[kind](2, 3, 2, bidirectional=True, dtype=torch.float64)
    back = Network.from_torch(module).to_torch()
    assert type(back) is type(module)
    pairs = zip(module.state_dict().items(), back.state_dict().items(), strict=True)
    for (k, v), (k2, v2) in pairs:
        assert k == k2
        assert torch.equal(v, v2)
    x = torch.randn(4, 2, dtype=torch.float64)
    assert torch.equal(module(x)[0], back(x)[0])


def test_from_torch_float32_module_is_widened():
    module = torch.nn.GRU(2, 3)
    net = Network.from_torch(module)
    assert all(v.dtype == np.float64 for v in net.params.values())
    x = np.random.default_rng(0).standard_normal((5, 2))
    with torch.no_grad():
        want = module.double()(torch.tensor(x))[0].numpy()
    assert_close(net.run(x).output, want)


@pytest.mark.parametrize("bad", [
    lambda: torch.nn.RNN(2, 3, bias=False),
    lambda: torch.nn.LSTM(2, 3, batch_first=True),
    lambda: torch.nn.LSTM(2, 4, proj_size=2),
    lambda: torch.nn.Linear(2, 3),
])
def test_from_torch_rejects_what_it_cannot_mirror(bad):
    with pytest.raises(ValueError, match="module"):
        Network.from_torch(bad())


def test_to_torch_rejects_cells_torch_lacks():
    with pytest.raises(ValueError, match="no torch module"):
        Network("jordan", 2, 3).to_torch()
    with pytest.raises(ValueError, match="no torch module"):
        Network("rnn", 2, 3, activation="sigmoid").to_torch()

"""Truncated BPTT and gradient clipping, the latter equal to torch.nn.utils."""

import numpy as np
import pytest
import torch

from engine import Network, clip_by_norm, clip_by_value, truncation_blocks

from .helpers import assert_close


def _last_step_seed(T, H, rng):
    seed = np.zeros((T, H))
    seed[-1] = rng.standard_normal(H)
    return seed


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru", "jordan", "indrnn"])
def test_window_at_least_T_is_full_bptt(cell):
    net = Network(cell, 2, 4, num_layers=2, bidirectional=True, seed=1)
    rng = np.random.default_rng(0)
    trace = net.run(rng.standard_normal((10, 3, 2)))
    g = rng.standard_normal(trace.output.shape)
    full = trace.backward(g)
    for window, stride in [(10, None), (10, 10), (25, 7)]:
        cut = trace.backward(g, truncate=window, stride=stride)
        for k in full.params:
            assert_close(cut.params[k], full.params[k], rel=1e-13, what=k)
        assert_close(cut.input, full.input, rel=1e-13)
        assert_close(cut.hidden_norm, full.hidden_norm, rel=1e-13)


def test_last_step_loss_sees_exactly_the_window():
    T, H, k = 30, 5, 8
    net = Network("lstm", 2, H, seed=2)
    rng = np.random.default_rng(1)
    trace = net.run(rng.standard_normal((T, 2)))
    seed = _last_step_seed(T, H, rng)
    full = trace.backward(seed)
    for stride in (1, 3, 8):
        cut = trace.backward(seed, truncate=k, stride=stride)
        assert np.all(cut.hidden_norm[0, 0, :T - k] == 0)
        assert_close(cut.hidden_norm[0, 0, T - k:], full.hidden_norm[0, 0, T - k:], rel=1e-13)
        assert cut.window == k
    assert np.all(cut.h0 == 0)


def test_truncation_error_shrinks_like_rho_power_window():
    """Linear RNN, W = 0.8 Q: the cut-off part of the gradient is O(0.8^k)."""
    T, H, rho = 60, 6, 0.8
    net = Network("rnn", 1, H, activation="identity", init="orthogonal", gain=rho, seed=0)
    rng = np.random.default_rng(3)
    trace = net.run(rng.standard_normal((T, 1)))
    seed = _last_step_seed(T, H, rng)
    full = trace.backward(seed).params["weight_hh_l0"]
    errors = []
    for k in (5, 10, 20, 40):
        cut = trace.backward(seed, truncate=k, stride=1).params["weight_hh_l0"]
        errors.append(np.linalg.norm(cut - full) / np.linalg.norm(full))
    assert errors == sorted(errors, reverse=True)
    for k, err in zip((5, 10, 20, 40), errors, strict=True):
        assert err < 10 * rho**k


def test_chunked_truncation_equals_torch_detach_every_k_steps():
    """k1 = k2 = k is what torch users do: detach the state every k steps."""
    torch.manual_seed(0)
    T, k = 12, 4
    module = torch.nn.RNN(2, 3, dtype=torch.float64)
    net = Network.from_torch(module)
    x = np.random.default_rng(0).standard_normal((T, 2))
    g = np.random.default_rng(1).standard_normal((T, 3))
    grads = net.run(x).backward(g, truncate=k)
    h = torch.zeros(1, 3, dtype=torch.float64)
    for start in range(0, T, k):
        h = h.detach()
        out, h = module(torch.tensor(x[start:start + k]), h)
        (out * torch.tensor(g[start:start + k])).sum().backward()
    for name, p in module.named_parameters():
        assert_close(grads.params[name], p.grad.numpy(), what=name)


def test_truncation_blocks_validate():
    assert truncation_blocks(5, None, None) == [(-1, 4, 0)]
    # chunks of 3 counted back from the last step: [0], [1, 3], [4, 6]
    assert truncation_blocks(7, 3, None) == [(-1, 0, 0), (0, 3, 1), (3, 6, 4)]
    assert truncation_blocks(7, 3, 1)[-1] == (5, 6, 4)  # sliding: every loss sees 3 steps
    assert truncation_blocks(7, 9, 2) == [(-1, 6, 0)]  # a window >= T is full BPTT
    with pytest.raises(ValueError, match="truncate"):
        truncation_blocks(5, 0, None)
    with pytest.raises(ValueError, match="stride"):
        truncation_blocks(5, 3, 4)


def _torch_grads(params):
    tensors = [torch.zeros(v.shape, dtype=torch.float64, requires_grad=True) for v in params]
    for t, v in zip(tensors, params, strict=True):
        t.grad = torch.tensor(v)
    return tensors


@pytest.mark.parametrize("max_norm", [0.1, 1.0, 1e6])
def test_clip_by_norm_equals_torch(max_norm):
    net = Network("gru", 2, 5, 2, seed=0)
    trace = net.run(np.random.default_rng(0).standard_normal((20, 2)))
    grads = trace.backward(np.ones_like(trace.output)).params
    tensors = _torch_grads(list(grads.values()))
    norm = torch.nn.utils.clip_grad_norm_(tensors, max_norm)
    clipped = clip_by_norm(grads, max_norm)
    assert abs(clipped.norm_before - norm.item()) <= 1e-12 * norm.item()
    for v, t in zip(clipped.grads.values(), tensors, strict=True):
        assert_close(v, t.grad.numpy(), rel=1e-14)
    assert clipped.norm_after <= max_norm * (1 + 1e-12)
    assert grads is not clipped.grads  # the input is not modified


def test_clip_by_value_equals_torch():
    rng = np.random.default_rng(0)
    grads = {"a": rng.standard_normal((3, 4)), "b": rng.standard_normal(5)}
    tensors = _torch_grads(list(grads.values()))
    torch.nn.utils.clip_grad_value_(tensors, 0.5)
    clipped = clip_by_value(grads, 0.5)
    for v, t in zip(clipped.grads.values(), tensors, strict=True):
        assert np.array_equal(v, t.grad.numpy())
    assert clipped.norm_after < clipped.norm_before


def test_clipping_non_finite_gradients_behaves_like_torch():
    grads = {"a": np.array([1.0, np.inf]), "b": np.array([np.nan])}
    tensors = _torch_grads(list(grads.values()))
    torch.nn.utils.clip_grad_norm_(tensors, 1.0)
    clipped = clip_by_norm(grads, 1.0)
    for v, t in zip(clipped.grads.values(), tensors, strict=True):
        np.testing.assert_array_equal(v, t.grad.numpy())
    with pytest.raises(ValueError, match="max_norm"):
        clip_by_norm(grads, -1)
    with pytest.raises(ValueError, match="clip_value"):
        clip_by_value(grads, float("nan"))


def _torch_truncated(module, x, g, blocks):
    """Reference: per block, detach every layer's state at the block's start, run the stack
    over start..end and backpropagate the losses of steps lo+1..end."""
    module.zero_grad()
    with torch.no_grad():
        states = [torch.zeros(module.num_layers, 1, module.hidden_size, dtype=torch.float64)]
        h = states[0]
        for t in range(x.shape[0]):  # the state after every step, for every layer
            _, h = module(torch.tensor(x[t:t + 1]), h)
            states.append(h)
    for lo, end, start in blocks:
        out, _ = module(torch.tensor(x[start:end + 1]), states[start].clone())
        seed = torch.zeros_like(out)
        seed[lo + 1 - start:] = torch.tensor(g[lo + 1:end + 1])
        out.backward(seed)
    return {k: p.grad.numpy().copy() for k, p in module.named_parameters()}


@pytest.mark.parametrize("layers,T,window,stride", [
    (2, 8, 3, None), (2, 8, 3, 1), (3, 9, 4, 2), (2, 10, 4, None), (1, 8, 3, None),
])
def test_deep_truncated_bptt_equals_detaching_every_layer(layers, T, window, stride):
    torch.manual_seed(layers + T)
    module = torch.nn.RNN(2, 3, layers, dtype=torch.float64)
    net = Network.from_torch(module)
    rng = np.random.default_rng(T)
    x = rng.standard_normal((T, 1, 2))
    g = rng.standard_normal((T, 1, 3))
    got = net.run(x).backward(g, truncate=window, stride=stride).params
    want = _torch_truncated(module, x, g, truncation_blocks(T, window, stride))
    for k, v in want.items():
        assert_close(got[k], v, rel=1e-12, what=k)


def test_truncation_is_refused_for_bidirectional_networks():
    net = Network("gru", 2, 3, bidirectional=True)
    trace = net.run(np.zeros((10, 2)))
    with pytest.raises(ValueError, match="unidirectional"):
        trace.backward(np.ones((10, 6)), truncate=3)
    trace.backward(np.ones((10, 6)), truncate=10)  # a window >= T is full BPTT: fine


def test_a_window_reaching_step_0_is_full_bptt_and_says_so():
    net = Network("rnn", 1, 4, seed=0)
    trace = net.run(np.random.default_rng(0).standard_normal((10, 1)))
    seed = np.ones_like(trace.output)
    full, wide, short = (trace.backward(seed), trace.backward(seed, truncate=25),
                         trace.backward(seed, truncate=4))
    assert full.window is None and wide.window is None and short.window == 4
    np.testing.assert_array_equal(wide.hidden_norm, full.hidden_norm)

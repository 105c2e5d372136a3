"""engine.scan: both parallel scans equal the loop to rounding, real and complex, with the
work and depth they claim; the reverse-scan backward equals torch autograd (float64) and
central finite differences."""

import math

import numpy as np
import pytest
import torch

from engine import scan

LENGTHS = [1, 2, 3, 7, 8, 9, 100, 257]


def _pairs(T, complex_=False, seed=0, shape=(5,)):
    rng = np.random.default_rng(seed)
    a = rng.uniform(-1.1, 1.1, (T, *shape))
    b = rng.normal(size=(T, *shape))
    if complex_:
        a = a * np.exp(1j * rng.uniform(-np.pi, np.pi, a.shape))
        b = b + 1j * rng.normal(size=b.shape)
    return a, b


@pytest.mark.parametrize("complex_", [False, True], ids=["real", "complex"])
@pytest.mark.parametrize("T", LENGTHS)
@pytest.mark.parametrize("method", ["hillis_steele", "blelloch"])
def test_parallel_scans_equal_the_loop(method, T, complex_):
    a, b = _pairs(T, complex_, seed=T)
    h0 = np.linspace(-1, 1, 5) * (1 + 0.5j if complex_ else 1)
    for start in (None, h0):
        want, _ = scan.loop(a, b, start)
        got, _ = scan.scan(a, b, start, method=method)
        assert got.dtype == want.dtype and got.shape == (T, 5)
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    # the loop itself is the recurrence
    h, _ = scan.loop(a, b, h0)
    np.testing.assert_allclose(h[0], a[0] * h0 + b[0])
    np.testing.assert_allclose(h[1:], a[1:] * h[:-1] + b[1:]) if T > 1 else None


def test_inputs_are_not_changed_and_shapes_broadcast():
    a, b = _pairs(16)
    a0, b0 = a.copy(), b.copy()
    for method in scan.METHODS:
        scan.scan(a, b, np.ones(5), method=method)
    np.testing.assert_array_equal(a, a0)
    np.testing.assert_array_equal(b, b0)
    # one a for all channels: (T, 1) against (T, 5)
    h, _ = scan.blelloch(a[:, :1], b)
    np.testing.assert_allclose(h, scan.loop(np.repeat(a[:, :1], 5, 1), b)[0], rtol=1e-12)
    with pytest.raises(ValueError, match="unknown scan"):
        scan.scan(a, b, method="sideways")
    with pytest.raises(ValueError, match="same number of axes"):
        scan.loop(a[:, 0], b)  # (T,) against (T, 5): numpy would align the wrong axes
    empty = scan.backward(np.ones((0, 5)), np.ones((0, 5)), np.ones((0, 5)))
    assert empty.g.shape == (0, 5) and empty.h0.shape == (5,)


@pytest.mark.parametrize("T", LENGTHS)
def test_work_and_depth(T):
    a, b = _pairs(T)
    _, hs = scan.hillis_steele(a, b)
    _, bl = scan.blelloch(a, b)
    _, lp = scan.loop(a, b)
    log = math.ceil(math.log2(T)) if T > 1 else 0
    assert hs.rounds == log and bl.rounds == 2 * log + 1 and lp.rounds == T
    assert hs.combines == sum(T - 2 ** r for r in range(log))  # O(T log T)
    # the combines a scan of T steps needs: up-sweep blocks within T, down-sweep blocks
    # whose right half starts within T, one per step after the first (none for padding)
    sizes = [2 ** (r + 1) for r in range(log)]
    needed = sum(T // s for s in sizes) + sum((T + s // 2 - 1) // s for s in sizes) + T - 1
    assert bl.combines == needed <= 3 * T  # O(T)
    assert lp.combines == T - 1
    if T > 10:
        assert bl.combines < hs.combines  # work-efficient beyond the smallest T


def _torch_loss(a, b, h0, w):
    """The float64 oracle: the recurrence as a torch loop, L = sum Re(conj(w) h)."""
    h, prev = [], h0
    for t in range(a.shape[0]):
        prev = a[t] * prev + b[t]
        h.append(prev)
    h = torch.stack(h)
    return (torch.conj(w) * h).real.sum() if h.is_complex() else (w * h).sum()


@pytest.mark.parametrize("complex_", [False, True], ids=["real", "complex"])
@pytest.mark.parametrize("method", scan.METHODS)
def test_backward_equals_torch_autograd(method, complex_):
    T = 37
    a, b = _pairs(T, complex_, seed=3)
    rng = np.random.default_rng(4)
    h0 = rng.normal(size=5) + (1j * rng.normal(size=5) if complex_ else 0)
    w = rng.normal(size=(T, 5)) + (1j * rng.normal(size=(T, 5)) if complex_ else 0)
    ta, tb, th0 = (torch.tensor(x, requires_grad=True) for x in (a, b, h0))
    _torch_loss(ta, tb, th0, torch.tensor(w)).backward()
    h, _ = scan.scan(a, b, h0, method=method)
    grads = scan.backward(a, h, w, h0, method=method)
    for mine, theirs in [(grads.a, ta.grad), (grads.b, tb.grad), (grads.h0, th0.grad)]:
        np.testing.assert_allclose(mine, theirs.numpy(), rtol=1e-10, atol=1e-12)
    # g is dL/dh_t with all later steps: at the last step only its own term
    np.testing.assert_allclose(grads.g[-1], w[-1])


def test_backward_matches_central_finite_differences():
    T, eps = 12, 1e-6
    a, b = _pairs(T, seed=7, shape=(3,))
    w = np.random.default_rng(8).normal(size=(T, 3))

    def loss(a_, b_):
        return float((w * scan.blelloch(a_, b_)[0]).sum())

    grads = scan.backward(a, scan.blelloch(a, b)[0], w)
    for name, x, g in [("a", a, grads.a), ("b", b, grads.b)]:
        for idx in [(0, 0), (5, 1), (T - 1, 2)]:
            up, down = x.copy(), x.copy()
            up[idx] += eps
            down[idx] -= eps
            args = (up, b) if name == "a" else (a, up)
            args_down = (down, b) if name == "a" else (a, down)
            numeric = (loss(*args) - loss(*args_down)) / (2 * eps)
            assert numeric == pytest.approx(g[idx], rel=1e-6, abs=1e-8), (name, idx)


@pytest.mark.parametrize("T", [8, 13, 32])
def test_tree_spans(T):
    hs = scan.tree(T, "hillis_steele")
    last = max(n.round for n in hs)
    assert last == math.ceil(math.log2(T)) - 1
    assert all(n.hi == n.position and n.hi - n.lo + 1 == min(n.position + 1, 2 ** (n.round + 1))
               for n in hs)
    assert {n.position for n in hs if n.round == last and n.lo == 0} >= {T - 1}
    bl = scan.tree(T, "blelloch")
    for n in bl:  # aligned blocks of 2^(r+1) steps, held at their right end
        size = 2 ** (n.round + 1)
        assert n.hi == n.position and n.hi - n.lo + 1 == size and n.lo % size == 0
    assert len(bl) < T <= len(hs)
    with pytest.raises(ValueError):
        scan.tree(T, "loop")

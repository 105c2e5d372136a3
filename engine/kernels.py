"""The LSTM's time loops, compiled with numba.

Why compiled: at T=1000, H=128, batch 1 a step of NumPy calls costs about 45 µs, of which the
two matrix-vector products are 21 µs and the other ~18 calls (0.5 to 3 µs each, mostly call
overhead on 128-element rows) the rest; the fused torch LSTM does the whole step in ~15 µs.
Here the loop body is one compiled function per pass, so a step costs its arithmetic.

The maths is the same as the NumPy ``LSTMCell.step`` and reads the same ``prepare`` factors;
``tests/engine/test_kernels.py`` holds the two equal. Arrays are float64 and C-contiguous
(``LSTMCell`` makes them so): each other layout would cost another compilation.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(cache=True)
def _vecmat(v, w, out):
    """out = v @ w, the inner loop along w's contiguous rows, four rows of w per sweep of
    ``out`` (as fast as BLAS's gemv here, without a Python call per step)."""
    K, N = w.shape
    for b in range(v.shape[0]):
        for n in range(N):
            out[b, n] = 0.0
        k = 0
        while k + 4 <= K:
            s0, s1, s2, s3 = v[b, k], v[b, k + 1], v[b, k + 2], v[b, k + 3]
            for n in range(N):
                out[b, n] += (s0 * w[k, n] + s1 * w[k + 1, n]) + (s2 * w[k + 2, n]
                                                                  + s3 * w[k + 3, n])
            k += 4
        for rest in range(k, K):
            s = v[b, rest]
            for n in range(N):
                out[b, n] += s * w[rest, n]


@njit(cache=True)
def _sigmoid(a):
    return 1.0 / (1.0 + math.exp(-a))


@njit(cache=True)
def lstm_forward(pre, whh_t, h0, c0, act, c, tc, h):
    """Run one LSTM pass through time, PyTorch's gate order i, f, g, o.

    ``pre`` holds W_ih x_t + b_ih + b_hh on entry and the full pre-activations on return;
    ``act`` (the gates), ``c``, ``tc`` = tanh(c) and ``h`` are filled. ``whh_t`` is W_hh
    transposed, (H, 4H).
    """
    T, B, G = pre.shape
    H = G // 4
    hp = h0.copy()
    cp = c0.copy()
    rec = np.empty((B, G))
    for t in range(T):
        _vecmat(hp, whh_t, rec)
        for b in range(B):
            for j in range(G):
                pre[t, b, j] += rec[b, j]
            for j in range(H):
                i = _sigmoid(pre[t, b, j])
                f = _sigmoid(pre[t, b, H + j])
                g = 2.0 * _sigmoid(2.0 * pre[t, b, 2 * H + j]) - 1.0  # tanh; exp beats it
                o = _sigmoid(pre[t, b, 3 * H + j])
                cc = f * cp[b, j] + i * g
                tcc = math.tanh(cc)
                act[t, b, j] = i
                act[t, b, H + j] = f
                act[t, b, 2 * H + j] = g
                act[t, b, 3 * H + j] = o
                c[t, b, j] = cc
                tc[t, b, j] = tcc
                h[t, b, j] = o * tcc
                cp[b, j] = cc
                hp[b, j] = o * tcc


@njit(cache=True)
def lstm_backward(M, K, act, w_hh, direct, lo, end, start, offset, dh, dc,
                  A, DH, DC, accumulate):
    """BPTT through steps end, end-1, ..., start of one LSTM pass (processing order).

    ``M``, ``K`` are ``LSTMCell.prepare``'s factors, ``act`` the gates (f is read from it),
    ``direct`` dL/dh_t from the loss or the layer above, added at the steps after ``lo``.
    ``dh``, ``dc`` flow in from step end+1. Step t's pre-activation gradients, dL/dh_t and
    dL/dc_t land in row t - offset of ``A``, ``DH``, ``DC`` (added to it when
    ``accumulate``). Returns the dL/dh and dL/dc flowing into step start-1.
    """
    B, H = dh.shape
    dh = dh.copy()
    dc = dc.copy()
    da = np.empty((B, 4 * H))
    for t in range(end, start - 1, -1):
        k = t - offset
        for b in range(B):
            for j in range(H):
                gh = (dh[b, j] + direct[t, b, j]) if t > lo else dh[b, j]
                gc = gh * K[t, b, j] + dc[b, j]  # dc_t: through h_t and from c_{t+1}
                da[b, j] = gc * M[t, b, j]
                da[b, H + j] = gc * M[t, b, H + j]
                da[b, 2 * H + j] = gc * M[t, b, 2 * H + j]
                da[b, 3 * H + j] = gh * M[t, b, 3 * H + j]
                dc[b, j] = gc * act[t, b, H + j]  # to c_{t-1}, through the forget gate
                if accumulate:
                    DH[k, b, j] += gh
                    DC[k, b, j] += gc
                else:
                    DH[k, b, j] = gh
                    DC[k, b, j] = gc
            for j in range(4 * H):
                if accumulate:
                    A[k, b, j] += da[b, j]
                else:
                    A[k, b, j] = da[b, j]
        _vecmat(da, w_hh, dh)
    return dh, dc


def warm_up() -> None:
    """Compile both loops, or load them from numba's cache in ``engine/__pycache__``, on a
    one-unit LSTM. A cold compile takes a few seconds: ``make run`` and ``make test`` pay it
    here, before a page or a test waits on it."""
    z = np.zeros
    lstm_forward(z((1, 1, 4)), z((1, 4)), z((1, 1)), z((1, 1)), z((1, 1, 4)), z((1, 1, 1)),
                 z((1, 1, 1)), z((1, 1, 1)))
    lstm_backward(z((1, 1, 4)), z((1, 1, 1)), z((1, 1, 4)), z((4, 1)), z((1, 1, 1)), -1, 0, 0,
                  0, z((1, 1)), z((1, 1)), z((1, 1, 4)), z((1, 1, 1)), z((1, 1, 1)), False)

"""The compiled LSTM loop (engine/kernels.py) against the NumPy step it replaces in BPTT.

Torch parity covers the compiled path end to end; these tests pin it to ``LSTMCell.step``
(which the diagnostics still use) on the cases torch cannot reach: truncation windows that
overlap, state gradients flowing in, batch rows, and gradients that overflow.
"""

import warnings

import numpy as np
import pytest

from engine import Network
from engine.cells import Cell, Span

from .helpers import assert_close


def _record(T=12, B=3, H=5, gain=1.0, seed=0):
    net = Network("lstm", 2, H, seed=seed, init="gaussian", gain=gain)
    x = np.random.default_rng(seed).standard_normal((T, B, 2))
    trace = net.run(x)
    rec, p = trace.passes[0][0].rec, net.layer_params(0, 0)
    net.cell.prepare(rec, p)
    return net.cell, rec, p


def _span(span, cell, rec, p, direct, lo, end, start, dh, dc, accumulate):
    T, B, H = rec.h.shape
    out = [np.full((T, B, 4 * H), 0.5), np.full((T, B, H), 0.5), np.full((T, B, H), 0.5)]
    dh_prev, dc_prev = span(cell, rec, p, direct, Span(lo, end, start, 0, accumulate),
                            dh.copy(), dc, out)
    return [*out, dh_prev, dc_prev]


@pytest.mark.parametrize("lo,end,start,accumulate", [
    (-1, 11, 0, False),  # full BPTT
    (4, 9, 2, True),     # a truncation window: losses after step 4, added into rows
    (7, 7, 7, True),     # a single step with no loss of its own
])
def test_compiled_span_equals_numpy_steps(lo, end, start, accumulate):
    cell, rec, p = _record()
    rng = np.random.default_rng(1)
    direct = rng.standard_normal(rec.h.shape)
    dh, dc = rng.standard_normal((2, 3, 5))
    compiled = _span(type(cell).backward_span, cell, rec, p, direct, lo, end, start, dh, dc,
                     accumulate)
    numpy_steps = _span(Cell.backward_span, cell, rec, p, direct, lo, end, start, dh, dc,
                        accumulate)
    for name, a, b in zip(("da", "dh", "dc", "dh_prev", "dc_prev"), compiled, numpy_steps,
                          strict=True):
        assert_close(a, b, 1e-13, name)


def test_compiled_span_without_cell_gradient_flowing_in():
    cell, rec, p = _record(T=6, B=1)
    direct = np.ones(rec.h.shape)
    a = _span(type(cell).backward_span, cell, rec, p, direct, -1, 5, 0, np.zeros((1, 5)),
              None, False)
    b = _span(Cell.backward_span, cell, rec, p, direct, -1, 5, 0, np.zeros((1, 5)), None,
              False)
    for x, y in zip(a, b, strict=True):
        assert_close(x, y, 1e-13)


def test_lstm_gradient_overflow_is_reported_like_the_numpy_steps():
    """Derivative factors at the sigmoid's 1/4 and a W_hh of norm 100 multiply the gradient
    about tenfold a step walking back: inf some 310 steps back, then NaN, at the same steps
    as the NumPy loop, and no exception."""
    cell, rec, p = _record(T=400, B=1, H=6)
    rec.M[:], rec.K[:] = 0.25, 0.25
    p = dict(p, w_hh=100.0 * p["w_hh"] / np.linalg.norm(p["w_hh"], 2))
    direct = np.zeros(rec.h.shape)
    direct[-1] = 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="ignore"):
            compiled = _span(type(cell).backward_span, cell, rec, p, direct, -1, 399, 0,
                             np.zeros((1, 6)), None, False)
            numpy_steps = _span(Cell.backward_span, cell, rec, p, direct, -1, 399, 0,
                                np.zeros((1, 6)), None, False)
    bad_c = ~np.isfinite(compiled[1]).all(axis=(1, 2))
    bad_n = ~np.isfinite(numpy_steps[1]).all(axis=(1, 2))
    assert bad_c.any(), "the case must overflow to test anything"
    assert np.array_equal(bad_c, bad_n)
    ok = ~bad_c
    assert_close(compiled[1][ok], numpy_steps[1][ok], 1e-12)

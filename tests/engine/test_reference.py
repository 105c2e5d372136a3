"""The readable reference steps (engine.reference, one statement per equation) and the fast
cells (engine.cells: projections for all steps at once, scans, compiled LSTM loops) give
the same numbers, for every cell, deep and bidirectional."""

import numpy as np
import pytest

from engine import CELLS, Network, reference

from .helpers import assert_close


@pytest.mark.parametrize("cell", sorted(CELLS))
def test_the_fast_cell_equals_its_reference_step(cell):
    net = Network(cell, 3, 5, num_layers=2, bidirectional=True, seed=2)
    x = np.random.default_rng(1).standard_normal((9, 3))
    assert_close(net.run(x).output, reference.run(net, x), what=cell)


@pytest.mark.parametrize("activation", ["relu", "sigmoid", "leaky_relu"])
def test_the_elman_reference_follows_the_activation(activation):
    net = Network("rnn", 2, 4, activation=activation, seed=3)
    x = np.random.default_rng(4).standard_normal((7, 2))
    assert_close(net.run(x).output, reference.run(net, x), what=activation)


def test_a_long_lstm_equals_its_reference_through_the_compiled_loop():
    """T = 300, H = 32: the numba kernels' path, not a short-sequence shortcut."""
    net = Network("lstm", 2, 32, seed=5)
    x = np.random.default_rng(6).standard_normal((300, 2))
    assert_close(net.run(x).output, reference.run(net, x), what="lstm")

"""Initialisers do what their names promise."""

import numpy as np
import pytest

from engine import INITS, Network, diagnostics


def test_default_is_torch_uniform():
    net = Network("lstm", 3, 16, seed=0)
    for v in net.params.values():
        assert np.max(np.abs(v)) <= 1 / 4  # 1/sqrt(16)


def test_orthogonal_identity_gaussian_blocks():
    H = 32
    ortho = Network("gru", 2, H, init="orthogonal", gain=1.5, seed=0)
    for w in diagnostics.recurrent_blocks(ortho).values():
        np.testing.assert_allclose(w.T @ w, 2.25 * np.eye(H), atol=1e-12)
    irnn = Network("rnn", 2, H, activation="relu", init="identity")
    np.testing.assert_array_equal(irnn.params["weight_hh_l0"], np.eye(H))
    assert np.all(irnn.params["bias_ih_l0"] == 0)
    gauss = Network("rnn", 2, 256, init="gaussian", gain=2.0, seed=0)
    std = gauss.params["weight_hh_l0"].std()
    assert abs(std - 2.0 / 16) < 0.01  # N(0, g^2/H)


@pytest.mark.parametrize("init", INITS)
def test_spectral_radius_rescales_every_block(init):
    net = Network("lstm", 2, 8, init=init, spectral_radius=0.9, seed=1)
    for w in diagnostics.recurrent_blocks(net).values():
        assert abs(diagnostics.spectral_radius(w) - 0.9) < 1e-10
    ind = Network("indrnn", 2, 8, init=init, spectral_radius=0.9, seed=1)
    assert abs(np.max(np.abs(ind.params["weight_hh_l0"])) - 0.9) < 1e-12


def test_forget_bias_and_seed_determinism():
    net = Network("lstm", 2, 4, num_layers=2, bidirectional=True, forget_bias=2.0)
    for k, v in net.params.items():
        if k.startswith("bias_ih"):
            assert np.all(v[4:8] == 2.0)
        if k.startswith("bias_hh"):
            assert np.all(v[4:8] == 0.0)
    a, b = Network("gru", 2, 4, seed=3), Network("gru", 2, 4, seed=3)
    c = Network("gru", 2, 4, seed=4)
    assert all(np.array_equal(a.params[k], b.params[k]) for k in a.params)
    assert not np.array_equal(a.params["weight_hh_l0"], c.params["weight_hh_l0"])

"""Initialisers do what their names promise: the distribution from both sides (range, mean,
spread, shape), and the exact properties (orthogonal, identity, spectral radius)."""

import numpy as np
import pytest

from engine import INITS, Network, diagnostics
from engine.init import spectral_radius

H = 64


def _uniform(v, k, what):
    """v looks like U(-k, k): inside the range, reaching both ends, mean 0 and std k/sqrt(3)
    to within 5 standard errors, and half of it inside (-k/2, k/2) (a normal of the same
    std puts 61% there)."""
    v = np.ravel(v)
    n = v.size
    assert np.max(np.abs(v)) <= k, what
    assert np.min(v) < -k * (1 - 20 / n) and np.max(v) > k * (1 - 20 / n), what
    std = k / np.sqrt(3)
    assert abs(np.mean(v)) < 5 * std / np.sqrt(n), what
    assert abs(np.std(v) - std) < 5 * std * np.sqrt(0.2 / n), what  # uniform: var(s) = 0.2 s^2/n
    assert abs(np.mean(np.abs(v) < k / 2) - 0.5) < 5 * 0.5 / np.sqrt(n), what


def _normal(v, std, what):
    """v looks like N(0, std^2): mean and std to within 5 standard errors, and the normal's
    kurtosis 3 (a uniform has 1.8)."""
    v = np.ravel(v)
    n = v.size
    assert abs(np.mean(v)) < 5 * std / np.sqrt(n), what
    assert abs(np.std(v) - std) < 5 * std / np.sqrt(2 * n), what
    assert abs(np.mean(v**4) / np.mean(v**2) ** 2 - 3) < 5 * np.sqrt(24 / n), what


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru", "jordan", "indrnn"])
def test_default_is_torch_uniform(cell):
    """Every tensor, biases and IndRNN's u included, is U(-1/sqrt(H), 1/sqrt(H))."""
    net = Network(cell, 3, H, seed=0)
    k = 1 / np.sqrt(H)
    for name, v in net.params.items():
        assert np.max(np.abs(v)) <= k, name
    big = [v for v in net.params.values() if v.size >= 4000]
    for v in big:
        _uniform(v, k, cell)
    _uniform(np.concatenate([v.ravel() for v in net.params.values()]), k, f"{cell} pooled")
    biases = np.concatenate([v for n, v in net.params.items() if n.startswith("bias")])
    assert np.min(biases) < -0.8 * k and np.max(biases) > 0.8 * k  # not zeroed


def test_xavier_is_glorot_uniform_per_gate_block():
    gain = 1.5
    net = Network("lstm", 3, H, init="xavier", gain=gain, seed=0)
    for w in diagnostics.recurrent_blocks(net).values():  # fan_in = fan_out = H
        _uniform(w, gain * np.sqrt(6 / (2 * H)), "W_hh block")
    _uniform(net.params["weight_ih_l0"], gain * np.sqrt(6 / (3 + H)), "W_ih")
    assert not np.any(net.params["bias_ih_l0"]) and not np.any(net.params["bias_hh_l0"])


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


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru", "jordan"])
def test_orthogonal_blocks_are_gain_times_orthogonal(cell):
    gain = 1.5
    net = Network(cell, 3, H, init="orthogonal", gain=gain, seed=0)
    blocks = list(diagnostics.recurrent_blocks(net).values())
    if cell == "jordan":
        blocks.append(net.params["weight_ho_l0"])
    for w in blocks:
        np.testing.assert_allclose(w.T @ w, gain**2 * np.eye(H), atol=1e-12)
        np.testing.assert_allclose(w @ w.T, gain**2 * np.eye(H), atol=1e-12)
        np.testing.assert_allclose(diagnostics.singular_values(w), np.full(H, gain), rtol=1e-12)
        assert np.max(np.abs(w)) < 0.8 * gain  # a rotation, not a signed permutation
    for a in range(len(blocks)):  # every block its own Q
        for b in range(a):
            assert np.max(np.abs(blocks[a] - blocks[b])) > 0.1
    for name, v in net.params.items():
        if name.startswith("bias"):
            assert not np.any(v), name
    unit = Network(cell, 3, H, init="orthogonal", seed=0)  # gain 1: plain Glorot inputs
    _uniform(unit.params["weight_ih_l0"], np.sqrt(6 / (3 + H)), "W_ih")


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru", "jordan", "indrnn"])
def test_identity_is_the_irnn(cell):
    """Recurrent blocks gain * I (IndRNN: u = gain), inputs N(0, 1e-3^2), biases 0."""
    gain = 0.7
    net = Network(cell, 3, H, init="identity", gain=gain, seed=0)
    if cell == "indrnn":
        np.testing.assert_array_equal(net.params["weight_hh_l0"], np.full(H, gain))
    else:
        for w in diagnostics.recurrent_blocks(net).values():
            np.testing.assert_array_equal(w, gain * np.eye(H))
    if cell == "jordan":
        np.testing.assert_array_equal(net.params["weight_ho_l0"], gain * np.eye(H))
    _normal(net.params["weight_ih_l0"], 1e-3, "W_ih")
    for name, v in net.params.items():
        if name.startswith("bias"):
            assert not np.any(v), name


def test_gaussian_is_normal_with_variance_g2_over_h():
    gain = 2.0
    net = Network("lstm", 5, H, init="gaussian", gain=gain, seed=0)
    for w in diagnostics.recurrent_blocks(net).values():
        _normal(w, gain / np.sqrt(H), "W_hh block")
    _normal(net.params["weight_ih_l0"], 1 / np.sqrt(5), "W_ih")  # N(0, 1/I)
    assert not np.any(net.params["bias_ih_l0"]) and not np.any(net.params["bias_hh_l0"])
    # its spectral radius is ~gain and its largest singular value ~2 gain (SCIENCE.md)
    big = Network("rnn", 1, 256, init="gaussian", gain=gain, seed=0).params["weight_hh_l0"]
    assert abs(spectral_radius(big) - gain) < 0.15 * gain
    assert abs(diagnostics.singular_values(big)[0] - 2 * gain) < 0.15 * gain


@pytest.mark.parametrize("init", INITS)
def test_spectral_radius_rescales_every_block(init):
    net = Network("lstm", 2, 8, init=init, spectral_radius=0.9, seed=1)
    for w in diagnostics.recurrent_blocks(net).values():
        assert abs(diagnostics.spectral_radius(w) - 0.9) < 1e-10
    ind = Network("indrnn", 2, 8, init=init, spectral_radius=0.9, seed=1)
    assert abs(np.max(np.abs(ind.params["weight_hh_l0"])) - 0.9) < 1e-12


@pytest.mark.parametrize("init", INITS)
@pytest.mark.parametrize("cell", ["rnn", "lstm", "indrnn"])
def test_spectral_radius_is_a_rescale_of_the_same_weights(init, cell):
    """The same draw (same seed), each recurrent block multiplied by radius / rho(block);
    every other tensor untouched."""
    plain = Network(cell, 2, 8, init=init, seed=1)
    scaled = Network(cell, 2, 8, init=init, spectral_radius=0.9, seed=1)
    pb = diagnostics.recurrent_blocks(plain)
    for gate, w in diagnostics.recurrent_blocks(scaled).items():
        np.testing.assert_allclose(w, pb[gate] * 0.9 / spectral_radius(pb[gate]), rtol=1e-12)
        assert abs(spectral_radius(w) - 0.9) < 1e-10
    for name, v in plain.params.items():
        if name != "weight_hh_l0":
            np.testing.assert_array_equal(scaled.params[name], v)


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

"""The Elman-to-LRU switches: each step is the network its label says, its gradients are
exact (a float64 torch oracle written from the equations), and the claims the page makes
about which curves a switch leaves alone hold."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from engine import Network
from engine.lru_recipe import SWITCHES, Recipe, recipe_run, ring
from engine.signals import loss_seed

DIAGONAL_STEPS = ("diagonal", "complex", "exp", "normalise")


def _setup(hidden=12, T=40, gain=1.0, seed=3, loss="every"):
    net = Network("rnn", input_size=2, hidden_size=hidden, gain=gain, seed=seed)
    x = np.random.default_rng(seed + 1).normal(size=(T, 2))
    return net, x, loss_seed((T, hidden), loss)


def _oracle(net, x, e, recipe, seed):
    """The diagonal network in torch, float64, from the module docstring's equations:
    autograd gives dL/dz_t and the gradient on each channel's magnitude parameter."""
    p = net.layer_params(0)
    mu, P = np.linalg.eig(p["w_hh"])
    P_inv = np.linalg.inv(P)
    B = torch.tensor(P_inv @ p["w_ih"])
    beta = torch.tensor(P_inv @ (p["b_ih"] + p["b_hh"]))
    C = torch.tensor(P)
    r0 = ring(len(mu), seed) if recipe.exp else np.abs(mu)
    phase = torch.tensor(np.angle(mu) if recipe.complex else np.zeros(len(mu)))
    if recipe.exp:
        leaf = torch.tensor(np.log(-np.log(r0)), requires_grad=True)  # nu
        r = torch.exp(-torch.exp(leaf))
    else:
        leaf = torch.tensor(r0, requires_grad=True)
        r = leaf
    lam = r * torch.exp(1j * phase)
    gamma = torch.sqrt(1 - r.detach() ** 2) if recipe.normalise else torch.ones(len(mu))
    z = torch.zeros(len(mu), dtype=torch.complex128)
    states, loss = [], 0.0
    for t in range(len(x)):
        z = lam * z + gamma * (B @ torch.tensor(x[t], dtype=B.dtype) + beta)
        z.retain_grad()
        states.append(z)
        loss = loss + (torch.tensor(e[t]) * torch.real(C @ z)).sum()
    loss.backward()
    y = torch.stack([torch.real(C @ s) for s in states]).detach().numpy()
    norms = np.array([s.grad.norm().item() for s in states])
    return y, norms, leaf.grad.abs().numpy()


@pytest.mark.parametrize("last", DIAGONAL_STEPS)
@pytest.mark.parametrize("loss", ["last", "every"])
def test_diagonal_steps_match_a_torch_oracle(last, loss):
    net, x, e = _setup(loss=loss)
    recipe = Recipe.upto(last)
    run = recipe_run(net, x, e, recipe, seed=5)
    y, norms, magnitude = _oracle(net, x, e, recipe, seed=5)
    np.testing.assert_allclose(run.y, y, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(run.state_grad_norm, norms, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(run.magnitude_grad, magnitude, rtol=1e-9, atol=1e-13)


@pytest.mark.parametrize("gain", [0.5, 1.0, 1.4])
def test_complex_diagonal_is_the_linear_network_in_eigen_coordinates(gain):
    net, x, e = _setup(gain=gain, T=25)
    linear = recipe_run(net, x, e, Recipe.upto("linear"))
    diagonal = recipe_run(net, x, e, Recipe.upto("complex"))
    scale = np.abs(linear.y).max()
    assert np.abs(diagonal.y - linear.y).max() <= 1e-10 * max(scale, 1.0)
    np.testing.assert_allclose(np.sort(np.abs(diagonal.lam)), np.sort(np.abs(linear.lam)))
    # a real diagonal keeps the magnitudes but is another network
    real = recipe_run(net, x, e, Recipe.upto("diagonal"))
    assert np.all(np.isreal(real.lam)) and np.abs(real.y - linear.y).max() > 1e-3


def test_linear_drops_the_activation_only():
    net, x, e = _setup()
    elman, linear = (recipe_run(net, x, e, Recipe.upto(k)) for k in ("elman", "linear"))
    np.testing.assert_array_equal(elman.lam, linear.lam)  # the same W
    np.testing.assert_allclose(elman.y, net.run(x).output)
    assert np.abs(elman.y - linear.y).max() > 1e-3


def test_what_the_page_says_the_switches_leave_alone():
    """With the loss at the last step, phases do not change ||dL/dz_t|| (only the
    magnitudes enter); gamma never does (it scales the input, not the carry), but it
    changes the gradient on the magnitudes; the ring keeps |lam| < 1."""
    net, x, e = _setup(loss="last", gain=1.4)
    real, complex_ = (recipe_run(net, x, e, Recipe.upto(k)) for k in ("diagonal", "complex"))
    np.testing.assert_allclose(real.state_grad_norm, complex_.state_grad_norm, rtol=1e-10)
    net, x, e = _setup(loss="every")
    exp, normalised = (recipe_run(net, x, e, Recipe.upto(k)) for k in ("exp", "normalise"))
    np.testing.assert_allclose(exp.state_grad_norm, normalised.state_grad_norm, rtol=1e-12)
    assert not np.allclose(exp.magnitude_grad, normalised.magnitude_grad)
    assert np.abs(exp.lam).max() < 1 and np.abs(exp.lam).min() >= 0.4
    np.testing.assert_allclose(normalised.gamma, np.sqrt(1 - np.abs(normalised.lam) ** 2))


def test_switches_need_the_ones_before_them():
    with pytest.raises(ValueError, match="needs 'linear'"):
        Recipe(diagonal=True)
    with pytest.raises(ValueError, match="needs 'exp'"):
        Recipe(linear=True, diagonal=True, normalise=True)
    assert Recipe.upto("elman") == Recipe()
    assert all(getattr(Recipe.upto("normalise"), k) for k in SWITCHES)
    Recipe(linear=True, diagonal=True, exp=True)  # exp without phases: a real ring
    with pytest.raises(ValueError, match="last must be"):
        Recipe.upto("tanh")


def test_only_an_elman_network():
    with pytest.raises(ValueError, match="Elman"):
        recipe_run(Network("gru", hidden_size=4), np.zeros((3, 1)), np.zeros((3, 4)),
                   Recipe())

"""The echo state network: a fitted read-out on a fixed reservoir."""

import numpy as np
import pytest

from engine import diagnostics
from engine.esn import fit_esn
from engine.tasks import baseline_over, make_task


def test_esn_predicts_the_sine_far_below_baseline():
    """Below the memoryless baseline (the best guess from the current noisy value, 0.0256),
    not just below "predict 0": the reservoir's memory denoises and finds the frequency."""
    result = fit_esn("sine", seq_len=60, hidden=60, spectral_radius=0.9, batch=16)
    assert result.baseline_loss == make_task("sine", 60).baseline_loss < 0.03
    assert result.test_loss < 0.5 * result.baseline_loss
    w = result.network.params["weight_hh_l0"]
    assert diagnostics.spectral_radius(w) == pytest.approx(0.9)
    assert result.readout.shape == (1, 61)


def test_readout_is_the_ridge_solution():
    """The read-out minimises ||D w - y||^2 + ridge ||w||^2: the gradient there is zero."""
    r = fit_esn("running_sum", seq_len=30, hidden=20, ridge=1e-3, batch=8, washout=0, seed=4)
    x, y = make_task("running_sum", 30).batch(8, np.random.default_rng(4))  # the train batch
    states = r.network.run(x.astype(np.float64)).output.reshape(-1, 20)
    design = np.hstack([states, np.ones((len(states), 1))])
    targets = y.reshape(-1, 1).astype(np.float64)
    grad = design.T @ (design @ r.readout.T - targets) + 1e-3 * r.readout.T
    assert np.max(np.abs(grad)) < 1e-9
    assert r.baseline_loss == make_task("running_sum", 30).baseline_loss  # no washout
    assert r.train_loss < 0.7 * r.baseline_loss
    assert np.all(np.isfinite(r.predictions)) and r.predictions.shape == r.targets.shape


def test_esn_baseline_is_the_memoryless_one_over_the_scored_steps():
    r = fit_esn("running_sum", seq_len=30, hidden=20, batch=8, washout=10)
    assert r.baseline_loss == pytest.approx(baseline_over(make_task("running_sum", 30), 10))
    assert r.baseline_loss != make_task("running_sum", 30).baseline_loss
    assert r.targets.shape == (20 * 8, 1)  # steps 10..29 of 8 sequences


def test_esn_rejects_classification_and_bad_numbers():
    with pytest.raises(ValueError, match="regression"):
        fit_esn("parity", seq_len=10)
    with pytest.raises(ValueError, match="spectral_radius"):
        fit_esn("sine", spectral_radius=0)
    with pytest.raises(ValueError, match="washout"):
        fit_esn("sine", seq_len=10, washout=10)

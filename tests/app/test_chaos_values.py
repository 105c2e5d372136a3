"""The Edge of chaos page's numbers: app.compute.chaos_point / chaos_sweep against the
science (SCIENCE.md: lambda < 0 at g <= 0.8, > 0 at g >= 1.5; lambda = log rho in the
ordered phase), and the figure drawn from a real sweep showing exactly those numbers."""

import math

import numpy as np
import pytest

from app import compute
from app.state import Settings
from app.views import chaos
from engine import Network, diagnostics
from engine.signals import loss_seed

SETTINGS = Settings()  # the sine input the page uses by default
SWEEP = getattr(compute.chaos_sweep, "__wrapped__", compute.chaos_sweep)  # without the cache
CURRENT = 1.3  # a gain that is not one of CHAOS_POINTS: the page adds it as an extra point


@pytest.fixture(scope="module")
def by_gain():
    return SWEEP("gain", 64, 0, SETTINGS.physics(), (CURRENT,))


@pytest.fixture(scope="module")
def by_radius():
    return SWEEP("radius", 64, 0, SETTINGS.physics(), ())


def _at(sweep, value):
    k = sweep["values"].index(value)
    return sweep["lyapunov"][k], sweep["decay"][k]


def test_sweep_holds_every_point_and_the_extra_one(by_gain):
    assert by_gain["values"] == sorted(set(compute.CHAOS_POINTS) | {CURRENT})
    assert len(by_gain["lyapunov"]) == len(by_gain["decay"]) == len(by_gain["values"])
    assert by_gain["hidden"] == 64
    assert all(math.isfinite(v) for v in by_gain["lyapunov"] + by_gain["decay"])
    assert SWEEP("gain", 256, 0, Settings(T=30), ())["hidden"] == compute.CHAOS_HIDDEN


@pytest.mark.parametrize("name", ["by_gain", "by_radius"])
def test_lyapunov_sign_is_ordered_then_chaotic(name, request):
    """SCIENCE.md's robust test: negative at g <= 0.8, positive at g >= 1.5."""
    sweep = request.getfixturevalue(name)
    for v, lam in zip(sweep["values"], sweep["lyapunov"], strict=True):
        if v <= 0.8:
            assert lam < 0, (name, v, lam)
        if v >= 1.5:
            assert lam > 0, (name, v, lam)
    lam = sweep["lyapunov"]
    assert lam[0] < lam[-1] and lam[0] < -1.0 and lam[-1] > 0.15  # 0.25: ~log 0.25, 3: ~+0.28


def test_ordered_phase_exponent_is_log_of_the_scale(by_gain, by_radius):
    """Zero input: h decays to 0 where tanh' = 1, so J = W_hh and lambda = log rho(W_hh).
    Rescaled to rho exactly, lambda = log rho to finite-time error; a gain g gives rho ~ g
    (H = 64: finite-size spread)."""
    for v in (0.25, 0.5, 0.75):
        assert abs(_at(by_radius, v)[0] - math.log(v)) < 0.01, v
        assert abs(_at(by_gain, v)[0] - math.log(v)) < 0.1, v


@pytest.mark.parametrize("name", ["by_gain", "by_radius"])
def test_gradients_fade_in_the_ordered_phase_and_grow_deep_in_chaos(name, request):
    sweep = request.getfixturevalue(name)
    for v, decay in zip(sweep["values"], sweep["decay"], strict=True):
        if v <= 1.0:
            assert 0 < decay < 1, (name, v, decay)
        if v <= 0.5:
            assert decay < 0.5, (name, v, decay)
    assert _at(sweep, 3.0)[1] > 1  # mean field: chi_1 > 1 at g = 3
    assert sweep["decay"][0] < sweep["decay"][-1]


@pytest.mark.parametrize("by,value", [("gain", 0.5), ("gain", 2.0), ("radius", 0.9)])
def test_chaos_point_is_the_engine_on_the_stated_network(by, value):
    """A gaussian tanh Elman RNN: lambda from engine.diagnostics on zero input, the decay
    rate from ||dL/dh_t|| with the loss at the last step, on the page's input."""
    x, _ = compute.signal_for(Settings(T=200))
    lam, decay = compute.chaos_point(value, by, 16, x, 3)
    kw = {"spectral_radius": value} if by == "radius" else {"gain": value}
    net = Network("rnn", input_size=x.shape[1], hidden_size=16, activation="tanh",
                  init="gaussian", seed=3, **kw)
    if by == "radius":
        rho = diagnostics.spectral_radius(net.params["weight_hh_l0"])
        assert abs(rho - value) < 1e-10
    want = diagnostics.lyapunov_exponent(net, steps=compute.CHAOS_STEPS, seed=3)[0]
    assert lam == pytest.approx(want, rel=1e-12, abs=1e-15)
    trace = net.run(x)
    norms = trace.backward(loss_seed(trace.output.shape, "last")).hidden_norm[0, 0]
    assert decay == pytest.approx(diagnostics.gradient_decay_rate(norms), rel=1e-12)
    # and the rate is the geometric factor per step back of those norms
    steps = np.arange(norms.size)[::-1]
    slope = np.polyfit(steps, np.log(norms), 1)[0]
    assert decay == pytest.approx(math.exp(slope), rel=1e-9)


def test_the_cached_sweep_works_outside_streamlit(by_gain):
    cached = compute.chaos_sweep("gain", 64, 0, SETTINGS.physics(), (CURRENT,))
    assert cached == by_gain


@pytest.mark.parametrize("name,by", [("by_gain", "gain"), ("by_radius", "radius")])
def test_figure_draws_the_sweep_and_the_star_at_the_current_value(name, by, request):
    sweep = request.getfixturevalue(name)
    current = CURRENT if by == "gain" else 0.9
    fig = chaos.chaos_figure(sweep, current, by)
    lines = [t for t in fig["data"] if t["mode"] == "lines+markers"]
    stars = [t for t in fig["data"] if t.get("marker", {}).get("symbol") == "star"]
    assert len(lines) == 2 and len(stars) == 2
    lam_line, decay_line = lines
    assert lam_line.get("yaxis", "y") == "y" and decay_line["yaxis"] == "y2"
    assert lam_line["x"] == decay_line["x"] == [float(v) for v in sweep["values"]]
    assert lam_line["y"] == pytest.approx(sweep["lyapunov"], rel=1e-15)
    assert decay_line["y"] == pytest.approx(sweep["decay"], rel=1e-15)
    lam, decay = _at(sweep, current)
    top, bottom = sorted(stars, key=lambda t: t.get("yaxis", "y"))
    assert top.get("yaxis", "y") == "y" and bottom["yaxis"] == "y2"
    assert top["x"] == bottom["x"] == [current]
    assert top["y"] == [lam] and bottom["y"] == [decay]
    assert str(current) in top["name"]
    cursor = [s for s in fig["layout"]["shapes"] if s["xref"] == "x"]
    assert [(s["x0"], s["x1"]) for s in cursor] == [(current, current)]
    refs = {(s["yref"], s["y0"]) for s in fig["layout"]["shapes"] if s["xref"] == "paper"}
    assert refs == {("y", 0), ("y2", 1)}  # lambda = 0 and a factor of 1 per step
    assert fig["layout"]["yaxis2"]["type"] == "log"
    assert f"H = {sweep['hidden']}" in fig["layout"]["title"]["text"]

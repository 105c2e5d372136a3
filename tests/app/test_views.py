"""Figure builders: frame counts, axes, masking and the payload bound."""

import json
from dataclasses import replace

import numpy as np
import plotly.io as pio
import pytest

from app.compute import simulate
from app.state import Settings
from app.views import chaos, common, gates, gradients, hidden, unroll
from engine import diagnostics

BIG = Settings(T=1000, hidden=64)
MB = 1_000_000


@pytest.fixture(scope="module")
def big_rnn():
    return simulate(BIG)


@pytest.fixture(scope="module")
def big_lstm():
    return simulate(replace(BIG, cell="lstm"))


def _json(fig):
    text = pio.to_json(fig, validate=False)
    json.loads(text)
    assert "NaN" not in text and "Infinity" not in text
    return text


def test_frame_steps_are_capped_and_end_at_the_last_step():
    assert common.frame_steps(50) == list(range(50))
    steps = common.frame_steps(1000)
    assert len(steps) <= common.MAX_FRAMES + 1 and steps[0] == 0 and steps[-1] == 999


def test_masking_turns_inf_and_nan_into_none():
    assert common.masked([1.0, np.inf, np.nan]) == [1.0, None, None]
    assert common.positive([0.0, -1.0, 2.0]) == [None, None, 2.0]


def test_gradient_figure_is_log_y_with_one_frame_per_step(big_rnn):
    run = simulate(Settings(T=40, truncate=10))
    fig = gradients.norm_figure(run.hidden_norm[0, 0], trunc_norms=run.trunc_norm[0, 0],
                                window=run.window)
    assert fig["layout"]["yaxis"]["type"] == "log"
    assert len(fig["frames"]) == 40
    assert fig["frames"][0]["name"] == "39"  # the wave starts at the last step
    assert fig["layout"]["shapes"][0]["type"] == "rect"  # the truncation window
    big = gradients.norm_figure(big_rnn.hidden_norm[0, 0])
    assert len(big["frames"]) <= common.MAX_FRAMES + 1
    assert common.payload_bytes(big) < MB


def test_gradient_figure_survives_overflow():
    norms = np.array([np.nan, np.inf, 1e300, 1.0, 0.0])
    fig = gradients.norm_figure(norms, overflow_step=1)
    text = _json(fig)
    assert "overflow at t = 1" in text
    assert fig["data"][0]["y"][:2] == [None, None]


def test_compare_singular_clip_figures():
    run = simulate(Settings(T=30, clip="norm", threshold=0.01))
    fig = gradients.compare_figure({"rnn": run.hidden_norm[0, 0]})
    assert fig["layout"]["yaxis"]["type"] == "log"
    fig = gradients.clip_figure(run.param_norms, "norm", 0.01)
    assert len(fig["data"]) == 2
    assert run.norm_after <= 0.01 + 1e-9 < run.norm_before
    assert gradients.singular_figure(run.singular[0], run.gamma)["data"]


def test_hidden_figure_frames_move_only_small_traces(big_rnn):
    h = big_rnn.passes[0][0].h
    fig = hidden.hidden_figure(h, [0, 1])
    assert len(fig["frames"]) <= common.MAX_FRAMES + 1
    assert all(len(f["data"]) == 3 and len(f["traces"]) == 3 for f in fig["frames"])
    assert common.payload_bytes(fig) < MB
    small = hidden.hidden_figure(simulate(Settings(T=20)).passes[0][0].h, [0])
    assert len(small["frames"]) == 20


def test_gates_figure_payload_and_panels(big_lstm):
    pv = big_lstm.passes[0][0]
    panels = {**pv.gates, "c": pv.c}
    fig = gates.gates_figure(panels)
    assert sum(t["type"] == "heatmap" for t in fig["data"]) == 5
    assert common.payload_bytes(fig) < MB
    share = diagnostics.gate_saturation(np.array([[0.01, 0.5], [0.99, 0.97]]))
    assert share.tolist() == [0.5, 1.0]


def test_unroll_figure_windows_long_sequences(big_lstm):
    fig = unroll.unroll_figure(big_lstm.passes, big_lstm.x, "lstm", "many-to-many")
    assert common.payload_bytes(fig) < MB
    assert "layout" in fig["frames"][5]  # the visible window follows the cursor
    s = Settings(T=6, layers=2, bidir=True)
    run = simulate(s)
    fig = unroll.unroll_figure(run.passes, run.x, "rnn", "many-to-one")
    labels = fig["layout"]["yaxis"]["ticktext"]
    assert len(labels) == 1 + 2 * 2 + 1
    assert len(fig["frames"]) == 6
    one = unroll.unroll_figure(run.passes, run.x, "rnn", "one-to-one")
    assert one["frames"] == []
    assert unroll.folded_figure("jordan")["data"]


def test_chaos_figure_marks_the_current_value():
    sweep = {"values": [0.5, 1.0, 2.0], "lyapunov": [-0.6, 0.0, 0.1],
             "decay": [0.5, 0.9, float("inf")], "hidden": 8}
    fig = chaos.chaos_figure(sweep, 1.0, "gain")
    assert any(s.get("x0") == 1.0 for s in fig["layout"]["shapes"])
    _json(fig)

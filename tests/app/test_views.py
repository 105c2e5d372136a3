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


def _animated_figures():
    """Every animated builder, at a small T and with the deep bidirectional LSTM."""
    run = simulate(Settings(T=20, hidden=8, truncate=5))
    deep = simulate(Settings(T=20, hidden=8, cell="lstm", layers=2, bidir=True))
    pv = deep.passes[0][0]
    return {
        "gradients": gradients.norm_figure(run.hidden_norm[0, 0], trunc_norms=run.trunc_norm[0, 0],
                                           window=run.window, overflow_step=3),
        "hidden": hidden.hidden_figure(run.passes[0][0].h, [0, 1]),
        "gates": gates.gates_figure({**pv.gates, "c": pv.c}),
        "unroll": unroll.unroll_figure(run.passes, run.x, "rnn", "many-to-many"),
        "unroll deep": unroll.unroll_figure(deep.passes, deep.x, "lstm", "many-to-one"),
    }


def _static_figures():
    run = simulate(Settings(T=20, hidden=8, clip="norm"))
    sweep = {"values": [0.5, 1.0, 2.0], "lyapunov": [-0.6, 0.0, 0.1],
             "decay": [0.5, 0.9, 1.2], "hidden": 8}
    return {
        "compare": gradients.compare_figure({"rnn": run.hidden_norm[0, 0],
                                             "lstm": run.hidden_norm[0, 0]}),
        "singular": gradients.singular_figure(run.singular[0], run.gamma),
        "clip": gradients.clip_figure(run.param_norms, "norm", 1.0),
        "saturation": gates.saturation_figure(simulate(Settings(T=20, hidden=8,
                                                                cell="gru")).passes[0][0].gates),
        "chaos": chaos.chaos_figure(sweep, 1.0, "gain"),
        "folded": unroll.folded_figure("rnn"),
        "folded jordan": unroll.folded_figure("jordan"),
    }


def test_every_figure_is_valid_plotly():
    """The app skips Plotly's validation at run time (app/plot.py): it happens here."""
    import plotly.graph_objects as go

    for name, fig in {**_animated_figures(), **_static_figures()}.items():
        go.Figure(**fig)  # raises on any invalid property
        _json(fig)
        assert name


def test_play_pause_and_the_current_value_never_share_space():
    """Buttons in the left of the first row under the x-axis title, the current value in the
    right of that row, the rail in a row of its own below: pixel rows, any chart width."""
    for name, fig in _animated_figures().items():
        lay = fig["layout"]
        menu, slider = lay["updatemenus"][0], lay["sliders"][0]
        px = common.plot_px(lay)
        top = -menu["y"] * px  # px below the plot area
        assert menu["yanchor"] == slider["yanchor"] == "top" and menu["y"] == slider["y"]
        assert top >= common.AXIS_PX - 0.5, name  # under the x-axis title
        assert lay["margin"]["b"] >= top + common.CONTROLS_PX, name  # inside the figure
        assert (menu["x"], menu["xanchor"], menu["direction"]) == (0, "left", "left")
        cv = slider["currentvalue"]
        assert (slider["x"], slider["len"], cv["xanchor"]) == (0, 1, "right"), name
        # the rail starts below the buttons' row: pad + the value's line + its offset
        rail = slider["pad"]["t"] + 1.3 * cv["font"]["size"] + cv["offset"]
        assert rail >= common.BUTTON_PX, name
        # both sit on one row only if ~400 px wide: the narrowest animated plot is wider
        widest = max(len(cv["prefix"] + s["label"]) for s in slider["steps"])
        buttons = sum(9 * len(b["label"]) + 20 for b in menu["buttons"])
        assert buttons + 10 * widest < 420, name


def test_titles_and_legends_have_their_own_bands():
    """The title in the top TITLE_PX, the legend's row under it, the plot below both."""
    for name, fig in {**_animated_figures(), **_static_figures()}.items():
        lay = fig["layout"]
        title, legend = lay["title"], lay["legend"]
        assert (title["yref"], title["y"], title["yanchor"]) == ("container", 1, "top")
        assert title["pad"]["t"] + 1.3 * title["font"]["size"] <= common.TITLE_PX
        assert (legend["yref"], legend["y"], legend["yanchor"]) == ("paper", 1.0, "bottom")
        if lay.get("showlegend", True) and title["text"]:
            assert lay["margin"]["t"] >= common.TITLE_PX + common.LEGEND_PX, name
        for key, ax in lay.items():
            if key.startswith(("xaxis", "yaxis")):
                assert ax.get("automargin"), (name, key)


def test_chart_moves_the_title_out_and_keeps_the_plot_area(monkeypatch):
    from app import ui

    sent = {}
    monkeypatch.setattr(ui.plot, "draw",
                        lambda fig, key, config, title: sent.update(fig=fig, title=title))
    fig = _animated_figures()["hidden"]
    fig["layout"]["title"]["text"] = "<b>h_t</b> & more"
    ui.chart(fig, key="k")
    assert sent["title"] == "<b>h_t</b> & more"  # the component shows it as text
    assert "title" not in sent["fig"]["layout"]
    assert common.plot_px(sent["fig"]["layout"]) == common.plot_px(fig["layout"])
    assert fig["layout"]["title"]["text"]  # the builder's figure is left as it was


def test_hidden_colour_bar_clears_the_pca_axis():
    fig = _animated_figures()["hidden"]
    lay = fig["layout"]
    bar = fig["data"][0]["colorbar"]
    assert lay["yaxis3"]["side"] == "right"  # PC 2's title on the far side
    assert lay["xaxis"]["domain"][1] < bar["x"] < lay["xaxis3"]["domain"][0] - 0.1


def test_folded_diagram_labels_are_apart_and_inside():
    for cell in ("rnn", "jordan"):
        fig = unroll.folded_figure(cell)
        xr = fig["layout"]["xaxis"]["range"]
        ann = {a["text"]: a for a in fig["layout"]["annotations"]}
        ff, rc = ann["feed-forward"], ann["recurrent"]
        # at 300 px across the range, 15 px text: the two labels' half widths fit between
        per_unit = 300 / (xr[1] - xr[0])
        assert rc["x"] - ff["x"] > (len("feed-forward") + len("recurrent")) * 9 / 2 / per_unit
        assert ff["x"] - len("feed-forward") * 9 / 2 / per_unit > xr[0]
        w = ann["W<sub>hh</sub>"]
        assert w["x"] + 4 * 9 / per_unit < xr[1]


def _differences(a, b, path=""):
    if isinstance(a, dict) and "bdata" in a and a == b:
        return
    if isinstance(b, dict) and "bdata" in b:  # a numpy array, base64-encoded by validation
        import base64

        b = np.frombuffer(base64.b64decode(b["bdata"]), dtype=b["dtype"])
        b = b.reshape(b["shape"]) if isinstance(b, dict) and "shape" in b else b
        b = b.reshape(np.asarray(a).shape).tolist()
    if isinstance(a, dict) and isinstance(b, dict):
        for k in set(a) | set(b):
            if k not in a or k not in b:
                yield f"{path}.{k} only in {'ours' if k in a else 'validated'}"
            else:
                yield from _differences(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            yield from _differences(x, y, f"{path}[{i}]")
    elif a != b and not (isinstance(a, (int, float)) and isinstance(b, (int, float))
                         and abs(a - b) <= 1e-6 * max(1.0, abs(a))):
        yield f"{path}: {str(a)[:50]} vs {str(b)[:50]}"


def test_validation_would_change_nothing_plotly_js_sees():
    """What the browser gets unvalidated equals what Plotly's validation would make of it
    (e.g. no Python-only names such as "RdBu_r"), less the default template it adds and the
    trace type it writes into frames (plotly.js keeps the trace's own type)."""
    import plotly.graph_objects as go

    for name, fig in {**_animated_figures(), **_static_figures()}.items():
        ours = json.loads(pio.to_json(fig, validate=False))
        checked = json.loads(pio.to_json(go.Figure(**fig), validate=False))
        checked["layout"].pop("template", None)
        for frame in checked.get("frames", []):
            for trace in frame["data"]:
                trace.pop("type", None)
        assert not list(_differences(ours, checked)), (name, list(_differences(ours, checked)))


def test_the_page_draws_its_own_animation_controls_under_the_same_plot_area():
    """On the page Plotly's buttons and slider give way to the component's HTML bar
    (app/plot.py): same frames, labels, speed and redraw; the plot area keeps its pixels."""
    from app import plot

    for name, fig in _animated_figures().items():
        lay = fig["layout"]
        live, controls = plot.live_controls(fig)
        assert "sliders" not in live["layout"] and "updatemenus" not in live["layout"], name
        assert live["frames"] is fig["frames"] and live["data"] is fig["data"], name
        steps = lay["sliders"][0]["steps"]
        assert controls["names"] == [str(f["name"]) for f in fig["frames"]], name
        assert controls["labels"] == [s["label"] for s in steps], name
        assert controls["prefix"] == lay["sliders"][0]["currentvalue"]["prefix"], name
        play = lay["updatemenus"][0]["buttons"][0]["args"][1]["frame"]
        assert (controls["duration"], controls["redraw"]) == (play["duration"], play["redraw"])
        assert controls["left"] == lay["margin"]["l"], name
        assert common.plot_px(live["layout"]) == common.plot_px(lay), name
        assert live["layout"]["margin"]["b"] >= common.AXIS_PX, name  # x-axis title still fits
        assert "sliders" in lay and "updatemenus" in lay, name  # export keeps Plotly's own
    for name, fig in _static_figures().items():
        assert plot.live_controls(fig) == (fig, None), name

"""Figure builders: frame counts, axes, masking and the payload bound."""

import base64
import copy
import json
from dataclasses import replace

import numpy as np
import plotly.io as pio
import pytest

from app.compute import build_network, simulate
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


def _decode(z) -> np.ndarray:
    """A typed-array spec (common.typed) back to its float32 array."""
    arr = np.frombuffer(base64.b64decode(z["bdata"]), dtype=z["dtype"])
    return arr.reshape([int(n) for n in z["shape"].split(",")])


def _ys(trace) -> list:
    return [None if v is None else float(v) for v in trace["y"]]


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
    # the curves are the engine's norms, the window the last k = 10 steps
    curve, trunc = fig["data"][0], fig["data"][1]
    assert _ys(curve) == [float(v) for v in run.hidden_norm[0, 0]]
    assert _ys(trunc) == [float(v) if v > 0 else None for v in run.trunc_norm[0, 0]]
    assert all(v is None for v in _ys(trunc)[:30]) and None not in _ys(trunc)[30:]
    rect = fig["layout"]["shapes"][0]
    assert (rect["x0"], rect["x1"]) == (29.5, 39.5)
    # the wave's dot sits on the curve at each frame's step
    for frame in fig["frames"]:
        dot = frame["data"][1]
        assert dot["x"] == [int(frame["name"])]
        assert dot["y"] == [float(run.hidden_norm[0, 0][int(frame["name"])])]
    big = gradients.norm_figure(big_rnn.hidden_norm[0, 0])
    assert len(big["frames"]) <= common.MAX_FRAMES + 1
    assert common.payload_bytes(big) < MB


def test_gradient_figure_survives_overflow():
    norms = np.array([np.nan, np.inf, 1e300, 1.0, 0.0])
    fig = gradients.norm_figure(norms, overflow_step=1)
    text = _json(fig)
    assert "overflow at t = 1" in text
    assert fig["data"][0]["y"] == [None, None, 1e300, 1.0, None]  # log axis: 0 is a gap too
    assert [(s["x0"], s["x1"]) for s in fig["layout"]["shapes"]] == [(1, 1)]


def test_compare_singular_clip_figures():
    run = simulate(Settings(T=30, clip="norm", threshold=0.01))
    fig = gradients.compare_figure({"rnn": run.hidden_norm[0, 0]})
    assert fig["layout"]["yaxis"]["type"] == "log"
    assert _ys(fig["data"][0]) == [float(v) for v in run.hidden_norm[0, 0]]
    fig = gradients.clip_figure(run.param_norms, "norm", 0.01)
    assert len(fig["data"]) == 2
    assert run.norm_after <= 0.01 + 1e-9 < run.norm_before
    before, after = fig["data"]
    names = list(run.param_norms)
    assert before["x"] == after["x"] == names
    assert _ys(before) == [run.param_norms[k][0] for k in names]
    assert _ys(after) == [run.param_norms[k][1] for k in names]
    # norm clipping scales every tensor by one factor: the bars keep their ratios
    ratios = np.array(_ys(after)) / np.array(_ys(before))
    np.testing.assert_allclose(ratios, run.norm_after / run.norm_before, rtol=1e-12)
    assert np.sqrt(np.sum(np.square(_ys(after)))) == pytest.approx(run.norm_after, rel=1e-12)
    fig = gradients.singular_figure(run.singular[0], run.gamma)
    sv, line = fig["data"]
    assert _ys(sv) == [float(v) for v in run.singular[0]["h"]]
    assert sv["x"] == list(range(1, run.singular[0]["h"].size + 1))
    np.testing.assert_allclose(run.singular[0]["h"], diagnostics.singular_values(
        build_network(Settings(T=30), 1).params["weight_hh_l0"]), rtol=1e-12)
    assert _ys(line) == [1 / run.gamma] * 2 and run.gamma == 1.0  # tanh: the line at 1
    sig = simulate(Settings(T=30, act="sigmoid", init="orthogonal", gain=2.0))
    sv, line = gradients.singular_figure(sig.singular[0], sig.gamma)["data"]
    np.testing.assert_allclose(_ys(sv), np.full(32, 2.0), rtol=1e-12)  # 2 Q
    assert _ys(line) == [4.0, 4.0] and line["x"] == [1, 32]  # sigmoid: 1/gamma = 4


def test_hidden_figure_frames_move_only_small_traces(big_rnn):
    h = big_rnn.passes[0][0].h
    fig = hidden.hidden_figure(h, [0, 1])
    assert len(fig["frames"]) <= common.MAX_FRAMES + 1
    assert all(len(f["data"]) == 3 and len(f["traces"]) == 3 for f in fig["frames"])
    assert common.payload_bytes(fig) < MB
    small_h = simulate(Settings(T=20)).passes[0][0].h
    small = hidden.hidden_figure(small_h, [0, 2])
    assert len(small["frames"]) == 20
    heat = small["data"][0]
    np.testing.assert_array_equal(_decode(heat["z"]), common.compact(small_h.T))
    assert heat["zmax"] == -heat["zmin"] == pytest.approx(float(np.max(np.abs(small_h))))
    lines = [t for t in small["data"] if t.get("name", "").startswith("unit ")]
    assert [t["name"] for t in lines] == ["unit 0", "unit 2"]
    for t, u in zip(lines, [0, 2], strict=True):
        np.testing.assert_allclose(_ys(t), small_h[:, u], atol=5e-4)
    proj, _ = diagnostics.pca_projection(small_h)
    path = next(t for t in small["data"] if t.get("name") == "h_t path (PCA)")
    np.testing.assert_allclose(path["x"], proj[:, 0], atol=5e-4)
    np.testing.assert_allclose(path["y"], proj[:, 1], atol=5e-4)


def test_gates_figure_payload_and_panels(big_lstm):
    pv = big_lstm.passes[0][0]
    panels = {**pv.gates, "c": pv.c}
    fig = gates.gates_figure(panels)
    assert sum(t["type"] == "heatmap" for t in fig["data"]) == 5
    assert common.payload_bytes(fig) < MB
    heat = [t for t in fig["data"] if t["type"] == "heatmap"]
    assert [t["name"] for t in heat] == ["i", "f", "g", "o", "c"]
    for t in heat:
        panel = np.asarray(panels[t["name"]], dtype=np.float64)
        cols = t["x"]  # strided in time to stay under MAX_CELLS
        assert cols[0] == 0 and len(cols) * panel.shape[1] * 5 <= hidden.MAX_CELLS * 1.01
        np.testing.assert_array_equal(_decode(t["z"]), common.compact(panel[cols].T))
        if t["name"] in ("i", "f", "o"):  # sigmoid gates on a fixed 0..1 scale
            assert (t["zmin"], t["zmax"]) == (0.0, 1.0)
        else:
            assert t["zmax"] == -t["zmin"] == pytest.approx(float(np.max(np.abs(panel[cols]))))
    sat = gates.saturation_figure(pv.gates)
    assert [t["name"] for t in sat["data"]] == [gates.GATE_NAMES[g] for g in "ifo"]
    for t, g in zip(sat["data"], "ifo", strict=True):
        want = diagnostics.gate_saturation(pv.gates[g], gates.SATURATION)
        np.testing.assert_allclose(_ys(t), want, atol=5e-5)
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
    # each row's nodes are coloured by that row's unit-0 values, in row order
    rows = {t["name"]: t for t in fig["data"] if t["name"] in labels}
    want = {"input x_t": run.x[:, 0], "h_t layer 1 →": run.passes[0][0].h[:, 0],
            "h_t layer 1 ←": run.passes[0][1].h[:, 0], "h_t layer 2 →": run.passes[1][0].h[:, 0],
            "h_t layer 2 ←": run.passes[1][1].h[:, 0]}
    assert set(want) < set(rows)
    for name, values in want.items():
        np.testing.assert_allclose(rows[name]["marker"]["color"], values, atol=5e-4,
                                   err_msg=name)
    out = rows["output y_t"]  # many-to-one: only the last step has an output node
    assert out["x"] == [5] and out["marker"]["color"] == [round(float(run.passes[1][0].h[5, 0]), 3)]


def test_folded_loop_returns_from_the_state_it_feeds_back():
    """Elman: the loop leaves h and comes back into h; Jordan: it leaves y_t (the top node)
    and comes back into h_t."""
    for cell, start in (("rnn", 1), ("jordan", 2)):
        loop = unroll.folded_figure(cell)["data"][1]
        assert loop["line"]["color"] == "#c2410c"
        assert abs(loop["y"][0] - start) < 0.2 and abs(loop["y"][-1] - 1) < 0.2, cell
        assert loop["marker"]["size"][-1] > 0 == loop["marker"]["size"][0]  # the head at h


def test_chaos_figure_marks_the_current_value():
    sweep = {"values": [0.5, 1.0, 2.0], "lyapunov": [-0.6, 0.0, 0.1],
             "decay": [0.5, 0.9, float("inf")], "hidden": 8}
    fig = chaos.chaos_figure(sweep, 1.0, "gain")
    assert any(s.get("x0") == 1.0 for s in fig["layout"]["shapes"])
    _json(fig)
    lam, decay, star_lam, star_decay = fig["data"]
    assert lam["y"] == [-0.6, 0.0, 0.1] and decay["y"] == [0.5, 0.9, None]  # inf: a gap
    assert (star_lam["x"], star_lam["y"]) == ([1.0], [0.0])
    assert (star_decay["x"], star_decay["y"], star_decay["yaxis"]) == ([1.0], [0.9], "y2")


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
        checked = go.Figure(**fig)  # raises on any invalid property
        _json(fig)
        assert [t.type for t in checked.data] == [t["type"] for t in fig["data"]], name
        assert len(checked.frames) == len(fig.get("frames", [])), name
        assert checked.layout.height == fig["layout"]["height"], name


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
    before = copy.deepcopy(fig)
    ui.chart(fig, key="k")
    assert sent["title"] == "<b>h_t</b> & more"  # the component shows it as text
    assert "title" not in sent["fig"]["layout"]
    assert common.plot_px(sent["fig"]["layout"]) == common.plot_px(fig["layout"])
    assert fig == before  # the builder's figure is left as it was


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
        b = np.frombuffer(base64.b64decode(b["bdata"]), dtype=b["dtype"])
        b = b.reshape(np.asarray(a).shape).tolist()  # raises if the sizes differ
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

"""Gate figures: one heatmap per gate (LSTM i, f, g, o and c; GRU r, z, n) sharing a time
cursor, and the share of saturated sigmoid gates over time. An ungated cell's "gate" is
its activation's slope phi'(a_t) (panels "φ'h", "φ'y"), drawn the same way on 0..gamma."""

from __future__ import annotations

import math

import numpy as np

from app.views.common import (
    DIVERGING,
    SEQUENTIAL,
    TITLE_PX,
    animation_controls,
    axis,
    base_layout,
    controls_margin,
    frame_steps,
    masked,
)
from app.views.hidden import MAX_CELLS, heatmap_trace
from engine import diagnostics

SIGMOID_GATES = ("i", "f", "o", "r", "z", "f_prime", "i_prime")  # live in (0, 1)
GATE_NAMES = {"i": "input gate i_t", "f": "forget gate f_t", "g": "candidate g_t",
              "o": "output gate o_t", "c": "cell state c_t", "r": "reset gate r_t",
              "z": "update gate z_t", "n": "candidate n_t", "h": "hidden state h_t",
              "y": "output y_t", "φ'h": "slope φ'(a_t) of h_t", "φ'y": "slope φ'(a_t) of y_t",
              "htilde": "candidate h̃_t", "f_prime": "forget share f'_t",
              "i_prime": "input share i'_t", "lambda_abs": "carry |λ|",
              "re_h": "state Re h_t",
              "log_delta": "log₁₀ Δ_t", "delta_change": "Δ_t vs mean"}
SHORT = {"htilde": "h̃", "f_prime": "f'", "i_prime": "i'", "lambda_abs": "|λ|",
         "log_delta": "log₁₀ Δ", "delta_change": "%",
         "re_h": "Re h"}  # colour bar titles
SATURATION = 0.05  # a sigmoid gate below 0.05 or above 0.95 counts as saturated (shut/open)


def gates_figure(panels: dict, title: str = "", ranges: dict | None = None) -> dict:
    """``panels``: name -> (T, H) array, drawn top to bottom with one shared cursor.

    Sigmoid gates are drawn on 0..1 (sequential colours), others around 0; ``ranges`` gives
    a panel its own (zmin, zmax) on the sequential scale (an activation's slope: 0..gamma).
    """
    ranges = ranges or {}
    names = list(panels)
    n = len(names)
    T, H = next(iter(panels.values())).shape
    stride = max(1, math.ceil(n * T * H / MAX_CELLS))
    cols = list(range(0, T, stride))
    gap = 0.04
    height = (1 - gap * (n - 1)) / n
    data, layout_axes = [], {}
    for k, name in enumerate(names):
        z = np.asarray(panels[name], dtype=np.float64)
        top = 1 - k * (height + gap)
        dom = [max(0.0, top - height), top]
        suffix = "" if k == 0 else str(k + 1)
        sig = name in SIGMOID_GATES or name in ranges
        zmin, zmax = ranges.get(name, (0.0, 1.0) if sig else (None, None))
        tr = heatmap_trace(z[cols].T, cols, name, zmin=zmin, zmax=zmax,
                           colorscale=SEQUENTIAL if sig else DIVERGING, colorbar_x=1.01,
                           xaxis="x" + suffix, yaxis="y" + suffix,
                           colorbar_title=SHORT.get(name, name))
        tr["colorbar"].update({"len": height, "y": top, "yanchor": "top"})
        data.append(tr)
        layout_axes["xaxis" + suffix] = axis("time step t" if k == n - 1 else "",
                                             domain=[0, 0.94], range=[-0.5, T - 0.5],
                                             anchor="y" + suffix, showticklabels=k == n - 1,
                                             **({} if k == 0 else {"matches": "x"}))
        layout_axes["yaxis" + suffix] = axis(GATE_NAMES.get(name, name), domain=dom,
                                             range=[-0.5, H - 0.5], anchor="x" + suffix,
                                             title_size=13)
    steps = frame_steps(T)
    first = len(data)
    for k in range(n):
        suffix = "" if k == 0 else str(k + 1)
        data.append({"type": "scatter", "mode": "lines", "x": [steps[0]] * 2,
                     "y": [-0.5, H - 0.5], "line": {"color": "#ef4444", "width": 3},
                     "showlegend": False, "hoverinfo": "skip", "xaxis": "x" + suffix,
                     "yaxis": "y" + suffix})
    frames = [{"name": str(t), "traces": list(range(first, first + n)),
               "data": [{"x": [t, t]} for _ in range(n)]} for t in steps]
    bottom = controls_margin()
    layout = base_layout(title or "Gates over time (rows: units)",
                         height=TITLE_PX + 8 + 140 * n + bottom, legend=False,
                         margin={"l": 90, "r": 70, "b": bottom}, **layout_axes)
    layout.update(animation_controls([str(t) for t in steps], layout, redraw=True))
    return {"data": data, "layout": layout, "frames": frames}


def saturation_figure(gates: dict) -> dict:
    """The share of saturated units per step, for each sigmoid gate."""
    colors = {"i": "#2563eb", "f": "#c2410c", "o": "#059669", "r": "#7c3aed", "z": "#db2777",
              "f_prime": "#c2410c", "i_prime": "#2563eb"}
    data = []
    for name, values in gates.items():
        if name not in SIGMOID_GATES:
            continue
        share = diagnostics.gate_saturation(values, SATURATION)
        data.append({"type": "scatter", "mode": "lines", "x": list(range(share.size)),
                     "y": masked(np.round(share, 4)), "name": GATE_NAMES[name],
                     "line": {"width": 3, "color": colors[name]}})
    layout = base_layout("Share of saturated gates (below 0.05 or above 0.95)", height=400,
                         xaxis=axis("time step t"),
                         yaxis=axis("share of units", range=[-0.03, 1.03], tickformat=".0%"))
    return {"data": data, "layout": layout}

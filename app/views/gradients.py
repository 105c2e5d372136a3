"""Gradient figures: ||dL/dh_t|| on a log axis with Pascanu's bound, the backward wave,
cells compared, singular values of W_hh, and norms before/after clipping.

All numbers arrive computed by the engine (see app.compute); here they are only drawn.
"""

from __future__ import annotations

import math

import numpy as np

from app.views.common import (
    COLORS,
    LEGEND_PX,
    TITLE_PX,
    animation_controls,
    axis,
    base_layout,
    controls_margin,
    frame_steps,
    positive,
)


def _log_range(*series) -> list[float]:
    """A log10 y range that holds every finite positive value (with a little margin)."""
    vals = [v for s in series for v in s if v is not None]
    if not vals:
        return [-1.0, 1.0]
    lo, hi = math.log10(min(vals)), math.log10(max(vals))
    pad = max(0.3, 0.05 * (hi - lo))
    return [max(lo - pad, -300.0), min(hi + pad, 300.0)]  # 10**r must stay a finite float


def norm_figure(norms, bound=None, trunc_norms=None, window: int | None = None,
                overflow_step: int | None = None, title: str = "") -> dict:
    """||dL/dh_t|| against t (log y) with the backward wave animated from t = T-1 to 0.

    ``bound``: Pascanu's curve, already scaled to the last step (None for gated cells).
    ``trunc_norms``: the same norms under truncated BPTT with window ``window`` (shaded).
    """
    norms = np.asarray(norms, dtype=np.float64)
    T = norms.shape[0]
    t = list(range(T))
    y = positive(norms)
    traces = [{"type": "scatter", "mode": "lines", "x": t, "y": y, "name": "‖∂L/∂h_t‖",
               "line": {"color": COLORS["rnn"], "width": 3}}]
    series = [y]
    if bound is not None:
        yb = positive(bound)
        # Keep the bound from dwarfing the curve: clip it to 1e6 times the curve's range.
        traces.append({"type": "scatter", "mode": "lines", "x": t, "y": yb,
                       "name": "Pascanu bound (γ·σ_max)^(T-1-t)",
                       "line": {"color": COLORS["bound"], "width": 2, "dash": "dash"}})
        finite = [v for v in y if v is not None]
        if finite:
            cap_hi, cap_lo = max(finite) * 1e6, min(finite) * 1e-6
            series.append([v for v in yb if v is not None and cap_lo <= v <= cap_hi])
    shapes = []
    if trunc_norms is not None and window:
        yt = positive(trunc_norms)
        traces.append({"type": "scatter", "mode": "lines", "x": t, "y": yt,
                       "name": f"truncated BPTT, k = {window}",
                       "line": {"color": COLORS["lstm"], "width": 2, "dash": "dot"}})
        series.append(yt)
        shapes.append({"type": "rect", "xref": "x", "yref": "paper", "x0": T - window - 0.5,
                       "x1": T - 0.5, "y0": 0, "y1": 1, "fillcolor": "#fde68a",
                       "opacity": 0.35, "line": {"width": 0}, "layer": "below"})
    yr = _log_range(*series)
    annotations = []
    if overflow_step is not None:
        shapes.append({"type": "line", "xref": "x", "yref": "paper", "x0": overflow_step,
                       "x1": overflow_step, "y0": 0, "y1": 1,
                       "line": {"color": "#dc2626", "width": 3}})
        right = overflow_step > T / 2  # the label sits on the roomier side of the line
        annotations.append({"x": overflow_step, "y": 0.03, "xref": "x", "yref": "paper",
                            "text": f"overflow at t = {overflow_step}", "showarrow": False,
                            "font": {"color": "#dc2626", "size": 15}, "yanchor": "bottom",
                            "xanchor": "right" if right else "left",
                            "xshift": -6 if right else 6, "bgcolor": "rgba(255,255,255,0.85)"})
    if window:
        annotations.append({"x": T - window - 0.5, "y": 1, "xref": "x", "yref": "paper",
                            "text": f"BPTT window k = {window} ", "showarrow": False,
                            "yanchor": "top", "xanchor": "right",
                            "font": {"size": 14, "color": "#92400e"}})

    # Backward wave: a shaded band from the last step back to t, and a dot on the curve.
    steps = frame_steps(T)[::-1]
    lo_y, hi_y = 10 ** yr[0], 10 ** yr[1]
    wave = len(traces)

    def band(s):
        return {"x": [s - 0.5, T - 0.5, T - 0.5, s - 0.5, s - 0.5],
                "y": [lo_y, lo_y, hi_y, hi_y, lo_y]}

    def dot(s):
        return {"x": [s], "y": [y[s]]}

    traces.append({"type": "scatter", "mode": "lines", "fill": "toself",
                   "fillcolor": "rgba(37, 99, 235, 0.10)", "line": {"width": 0},
                   "hoverinfo": "skip", "showlegend": False, **band(steps[0])})
    traces.append({"type": "scatter", "mode": "markers", "name": "backward wave",
                   "marker": {"size": 14, "color": COLORS["lstm"],
                              "line": {"color": "white", "width": 2}}, **dot(steps[0])})
    frames = [{"name": str(s), "traces": [wave, wave + 1], "data": [band(s), dot(s)]}
              for s in steps]
    bottom = controls_margin()
    layout = base_layout(title or "How much gradient reaches each step",
                         height=TITLE_PX + LEGEND_PX + 340 + bottom,
                         xaxis=axis("time step t", range=[-0.5, T - 0.5]),
                         yaxis=axis("‖∂L/∂h_t‖  (log scale)", type="log", range=yr,
                                    exponentformat="power"),
                         shapes=shapes, annotations=annotations,
                         margin={"l": 80, "r": 30, "b": bottom})
    layout.update(animation_controls([str(s) for s in steps], layout,
                                     prefix="gradient reached t = "))
    return {"data": traces, "layout": layout, "frames": frames}


def compare_figure(norms_by_cell: dict, title: str = "") -> dict:
    """Elman RNN, LSTM and GRU on the same input and seed: the same curve, overlaid."""
    traces, series = [], []
    for cell, norms in norms_by_cell.items():
        y = positive(norms)
        series.append(y)
        traces.append({"type": "scatter", "mode": "lines", "x": list(range(len(y))), "y": y,
                       "name": cell.upper(), "line": {"color": COLORS.get(cell), "width": 3}})
    layout = base_layout(title or "Same input and seed, three cells", height=420,
                         xaxis=axis("time step t"),
                         yaxis=axis("‖∂L/∂h_t‖  (log scale)", type="log",
                                    range=_log_range(*series), exponentformat="power"))
    return {"data": traces, "layout": layout}


def singular_figure(singular: dict, gamma: float) -> dict:
    """Singular values of each recurrent block, with the line σ = 1/γ."""
    traces = []
    for gate, sv in singular.items():
        sv = np.asarray(sv, dtype=np.float64)
        name = "W_hh" if gate == "h" else f"W_h{gate}"
        traces.append({"type": "scatter", "mode": "markers+lines",
                       "x": list(range(1, sv.size + 1)), "y": positive(sv), "name": name,
                       "marker": {"size": 7}})
    n = max((len(v) for v in singular.values()), default=1)
    traces.append({"type": "scatter", "mode": "lines", "x": [1, n], "y": [1 / gamma] * 2,
                   "name": f"1/γ = {1 / gamma:g}",
                   "line": {"color": COLORS["bound"], "dash": "dash", "width": 2}})
    yr = _log_range(*[t["y"] for t in traces])
    decades = {"dtick": 1} if yr[1] - yr[0] > 1.5 else {}  # no 2 and 5 labels between powers
    layout = base_layout("Singular values of the recurrent weights", height=420,
                         xaxis=axis("index (largest first)"),
                         yaxis=axis("σ_i  (log scale)", type="log", exponentformat="power",
                                    range=yr, **decades))
    return {"data": traces, "layout": layout}


def clip_figure(param_norms: dict, clip: str, threshold: float) -> dict:
    """Per-parameter gradient norms before and after clipping (log y)."""
    names = list(param_norms)
    before = positive([param_norms[k][0] for k in names])
    after = positive([param_norms[k][1] for k in names])
    data = [{"type": "bar", "x": names, "y": before, "name": "before clipping",
             "marker": {"color": COLORS["rnn"]}}]
    if clip != "none":
        data.append({"type": "bar", "x": names, "y": after,
                     "name": f"after clipping by {clip} (θ = {threshold:g})",
                     "marker": {"color": COLORS["after"]}})
    layout = base_layout("Gradient norm of each weight", height=380, barmode="group",
                         xaxis=axis("", tickangle=-30),
                         yaxis=axis("‖∂L/∂W‖  (log scale)", type="log",
                                    exponentformat="power"))
    return {"data": data, "layout": layout}

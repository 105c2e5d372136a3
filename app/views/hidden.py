"""Hidden-state figure: units x time heatmap, chosen units as lines, and the PCA path of h_t,
all animated together by one cursor (three tiny traces per frame)."""

from __future__ import annotations

import math

import numpy as np

from app.views.common import (
    DIVERGING,
    LEGEND_PX,
    SEQUENTIAL,
    TITLE_PX,
    animation_controls,
    axis,
    base_layout,
    compact,
    controls_margin,
    frame_steps,
    masked,
    typed,
)
from engine import diagnostics

MAX_CELLS = 130_000  # heatmap cells sent at most; longer runs are strided in time
LINE_COLORS = ("#2563eb", "#c2410c", "#059669", "#7c3aed", "#db2777", "#0891b2", "#65a30d",
               "#b45309")


def heatmap_trace(z: np.ndarray, x: list[int], name: str, zmax: float | None = None,
                  colorscale=DIVERGING, zmin: float | None = None, colorbar_x: float = 0.58,
                  xaxis: str = "x", yaxis: str = "y", colorbar_title: str = "") -> dict:
    """A units x time heatmap trace with a symmetric colour range around 0 (or zmin..zmax)."""
    finite = z[np.isfinite(z)]
    if zmax is None:
        zmax = float(np.max(np.abs(finite))) if finite.size else 1.0
        zmax = zmax if zmax > 0 else 1.0
    zmin = -zmax if zmin is None else zmin
    return {"type": "heatmap", "z": typed(compact(z)), "x": x, "name": name,
            "colorscale": colorscale,
            "zmin": zmin, "zmax": zmax, "xaxis": xaxis, "yaxis": yaxis,
            "colorbar": {"x": colorbar_x, "xanchor": "left", "len": 0.55, "y": 1,
                         "yanchor": "top", "thickness": 16, "tickfont": {"size": 14},
                         "ticklabeloverflow": "allow",
                         "title": {"text": colorbar_title, "font": {"size": 15}}},
            "hovertemplate": "t=%{x}<br>unit %{y}<br>%{z}<extra></extra>"}


def hidden_figure(h: np.ndarray, units: list[int], title: str = "",
                  symbol: str = "h_t", base: np.ndarray | None = None) -> dict:
    """h shaped (T, U): the heatmap (top left), lines (bottom left), PCA path (right);
    ``symbol`` names what h is (the LRU's: "Re h_t"). ``base``: the unmodified run's h
    under an intervention, its chosen units drawn dashed beside the lines."""
    h = np.asarray(h, dtype=np.float64)
    T, U = h.shape
    stride = max(1, math.ceil(T * U / MAX_CELLS))
    cols = list(range(0, T, stride))
    units = [u for u in units if u < U] or [0]
    proj, var = diagnostics.pca_projection(h)
    steps = frame_steps(T)

    short = symbol.replace("_t", "")
    data = [heatmap_trace(h[cols].T, cols, short, colorbar_title=short)]
    for k, u in enumerate(units):
        data.append({"type": "scatter", "mode": "lines", "x": list(range(T)),
                     "y": masked(compact(h[:, u])), "name": f"unit {u}",
                     "line": {"color": LINE_COLORS[k % len(LINE_COLORS)], "width": 2.5},
                     "xaxis": "x2", "yaxis": "y2"})
        if base is not None:
            data.append({"type": "scatter", "mode": "lines", "x": list(range(T)),
                         "y": masked(compact(np.asarray(base, dtype=np.float64)[:, u])),
                         "name": f"unit {u} unmodified", "showlegend": k == 0,
                         "legendgroup": "unmodified",
                         "line": {"color": LINE_COLORS[k % len(LINE_COLORS)], "width": 1.5,
                                  "dash": "dash"}, "xaxis": "x2", "yaxis": "y2"})
    data.append({"type": "scatter", "mode": "lines+markers", "x": masked(compact(proj[:, 0])),
                 "y": masked(compact(proj[:, 1])), "name": f"{symbol} path (PCA)",
                 "line": {"color": "#94a3b8", "width": 1.5},
                 "marker": {"size": 5, "color": list(range(T)), "colorscale": SEQUENTIAL,
                            "showscale": False},
                 "xaxis": "x3", "yaxis": "y3", "showlegend": False,
                 "hovertemplate": "t=%{marker.color}<extra></extra>"})
    both = h if base is None else np.concatenate([h, np.asarray(base, dtype=np.float64)])
    finite = both[np.isfinite(both)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (-1.0, 1.0)
    pad = 0.05 * (hi - lo) + 1e-6
    first = len(data)

    def cursor(t):
        return [{"x": [t, t], "y": [-0.5, U - 0.5]},
                {"x": [t, t], "y": [lo - pad, hi + pad]},
                {"x": masked([proj[t, 0]]), "y": masked([proj[t, 1]])}]

    c0 = cursor(steps[0])
    line = {"color": "#111827", "width": 3}
    data.append({"type": "scatter", "mode": "lines", "line": line, "showlegend": False,
                 "hoverinfo": "skip", "xaxis": "x", "yaxis": "y", **c0[0]})
    data.append({"type": "scatter", "mode": "lines", "line": line, "showlegend": False,
                 "hoverinfo": "skip", "xaxis": "x2", "yaxis": "y2", **c0[1]})
    data.append({"type": "scatter", "mode": "markers", "name": f"{symbol} now", "showlegend": False,
                 "marker": {"size": 16, "color": "#c2410c", "line": {"color": "white",
                                                                     "width": 2}},
                 "xaxis": "x3", "yaxis": "y3", **c0[2]})
    frames = [{"name": str(t), "traces": [first, first + 1, first + 2], "data": cursor(t)}
              for t in steps]
    bottom = controls_margin()
    layout = base_layout(
        title or f"Hidden state {symbol} over time", height=TITLE_PX + LEGEND_PX + 420 + bottom,
        xaxis=axis("", domain=[0, 0.56], range=[-0.5, T - 0.5], showticklabels=False,
                   anchor="y"),
        yaxis=axis("unit", domain=[0.45, 1], range=[-0.5, U - 0.5], anchor="x"),
        xaxis2=axis("time step t", domain=[0, 0.56], range=[-0.5, T - 0.5], anchor="y2",
                    matches="x"),
        yaxis2=axis(f"{symbol}, chosen units", domain=[0, 0.38], range=[lo - pad, hi + pad],
                    anchor="x2", title_size=15),
        # PC 2's axis on the right: the heatmap's colour bar sits left of the PCA panel
        xaxis3=axis(f"PC 1 ({var[0]:.0%} of variance)", domain=[0.72, 1], anchor="y3"),
        yaxis3=axis(f"PC 2 ({var[1]:.0%})", domain=[0.12, 1], anchor="x3", side="right"),
        margin={"l": 80, "r": 80, "b": bottom},
    )
    layout.update(animation_controls([str(t) for t in steps], layout, redraw=True))
    return {"data": data, "layout": layout, "frames": frames}


MAX_OUTPUT_LINES = 8


def outputs_figure(y: np.ndarray, last_only: bool) -> dict:
    """A trained or uploaded model's outputs y_t = W out_t + b over time, (T, O): one line
    per output (the first ``MAX_OUTPUT_LINES``). ``last_only``: the model answers at the
    last step alone (many-to-one), which is marked."""
    y = np.asarray(y, dtype=np.float64)
    T, O = y.shape
    shown = min(O, MAX_OUTPUT_LINES)
    data = [{"type": "scatter", "mode": "lines", "x": list(range(T)),
             "y": masked(compact(y[:, k])), "name": f"y_t[{k}]",
             "line": {"color": LINE_COLORS[k % len(LINE_COLORS)], "width": 2.5}}
            for k in range(shown)]
    if last_only:
        data.append({"type": "scatter", "mode": "markers", "x": [T - 1] * shown,
                     "y": masked(compact(y[-1, :shown])), "name": "its answer (t = T-1)",
                     "marker": {"size": 12, "color": "#111827", "symbol": "diamond"}})
    more = f", the first {shown} of {O}" if O > shown else ""
    layout = base_layout(f"The model's outputs y_t = W out_t + b (its read-out{more})",
                         height=380, xaxis=axis("time step t", range=[-0.5, T - 0.5]),
                         yaxis=axis("y_t"))
    return {"data": data, "layout": layout}

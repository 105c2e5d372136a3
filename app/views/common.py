"""Shared pieces of the figure builders: masking, frame stride, Play/Pause controls, payload size.

Figures are plain dicts (a Plotly spec). Animations send the big matrix once; every frame
updates only a few small traces (``traces=[i, ...]``), so the payload grows O(T*H), not
O(T^2*H).
"""

from __future__ import annotations

import base64
import math

import numpy as np
import plotly.colors as pc
import plotly.io as pio

MAX_FRAMES = 120
FONT = {"size": 15, "family": "DejaVu Sans, Arial, sans-serif", "color": "#0f172a"}
COLORS = {"rnn": "#2563eb", "lstm": "#c2410c", "gru": "#059669", "jordan": "#7c3aed",
          "indrnn": "#db2777", "mingru": "#0891b2", "minlstm": "#65a30d", "lru": "#9333ea",
          "s6": "#b45309", "bound": "#64748b",
          "cursor": "#111827", "after": "#f59e0b"}
# Colour scales spelled out: the figures reach plotly.js unvalidated (app/plot.py), and
# plotly.js knows no "RdBu_r" (Python's validation expands names into these lists).
DIVERGING = pc.make_colorscale(pc.diverging.RdBu_r)  # negative blue, 0 white, positive red
SEQUENTIAL = pc.make_colorscale(pc.sequential.Viridis)


def masked(values) -> list:
    """A list for Plotly with inf/NaN as None (Plotly draws gaps, never breaks)."""
    arr = np.asarray(values, dtype=np.float64)
    return [float(v) if math.isfinite(v) else None for v in arr.ravel()]


def positive(values) -> list:
    """For log axes: also zero and negative values become None."""
    return [v if v is not None and v > 0 else None for v in masked(values)]


def compact(a, decimals: int = 3) -> np.ndarray:
    """Rounded float32: a short JSON number per cell (NaN/inf serialise as null). Values
    beyond float32's range become inf, a blank cell (compute.simulate says so on the page)."""
    with np.errstate(over="ignore", invalid="ignore"):
        return np.round(np.asarray(a, dtype=np.float32), decimals)


def typed(a) -> dict:
    """A float32 array as plotly.js's typed-array spec (base64): ~5 bytes a cell, decoded by
    the browser without parsing JSON numbers. NaN stays NaN (a gap); the same form Plotly's
    own validation gives numpy arrays."""
    arr = np.ascontiguousarray(a, dtype=np.float32)
    return {"dtype": "f4", "bdata": base64.b64encode(arr.tobytes()).decode(),
            "shape": ", ".join(str(n) for n in arr.shape)}


def frame_steps(T: int, max_frames: int = MAX_FRAMES) -> list[int]:
    """The time steps that get an animation frame: every step, or a stride; last one included."""
    stride = max(1, math.ceil(T / max_frames))
    steps = list(range(0, T, stride))
    if steps[-1] != T - 1:
        steps.append(T - 1)
    return steps


# Vertical pixel bands of a chart (all figures are fixed-height, only the width varies).
TITLE_PX = 48  # the title's band at the top of the figure (ui.chart moves it out of Plotly)
LEGEND_PX = 36  # one row of horizontal legend between the title and the plot area
AXIS_PX = 76  # below the plot: tick labels and the x-axis title, then a gap
BUTTON_PX = 34  # Play/Pause row; the slider's current-value label shares it, at the right
RAIL_PX = 44  # the slider's rail and grip, under the buttons row
CONTROLS_PX = BUTTON_PX + RAIL_PX


def plot_px(layout: dict) -> int:
    """Height of the plot area in pixels (figure height less the top and bottom margins)."""
    m = layout["margin"]
    return layout["height"] - m["t"] - m["b"]


def animation_controls(names: list[str], layout: dict, labels: list[str] | None = None,
                       duration: int = 80, prefix: str = "t = ", gap: int = AXIS_PX,
                       redraw: bool = False) -> dict:
    """Layout entries for Plotly's own Play/Pause buttons and step slider (no server trips).

    Laid out in pixels below the plot area (``gap`` px under it), in two rows that never
    overlap at any width: Play and Pause on the left of the first row with the slider's
    current value right-aligned in the same row, and the slider's rail across the full
    width of the second row. The figure's bottom margin must be at least
    ``gap + CONTROLS_PX`` (see :func:`controls_margin`).

    ``redraw=True`` is needed when a frame touches a subplot holding a heatmap: plotly.js's
    fast path (redraw False) only re-renders scatter traces and blanks the heatmap.
    """
    labels = labels or names
    px = plot_px(layout)
    assert layout["margin"]["b"] >= gap + CONTROLS_PX, "bottom margin too small for controls"
    y = -gap / px
    play = {"frame": {"duration": duration, "redraw": redraw}, "fromcurrent": True,
            "transition": {"duration": 0}, "mode": "immediate"}
    pause = {"frame": {"duration": 0, "redraw": False}, "mode": "immediate",
             "transition": {"duration": 0}}
    return {
        "updatemenus": [{
            "type": "buttons", "direction": "left", "showactive": False,
            "x": 0.0, "y": y, "xanchor": "left", "yanchor": "top",
            "pad": {"t": 0, "r": 0, "l": 0, "b": 0}, "font": {"size": 15},
            "bgcolor": "#f8fafc", "bordercolor": "#94a3b8",
            "buttons": [{"label": "▶ Play", "method": "animate", "args": [None, play]},
                        {"label": "❚❚ Pause", "method": "animate", "args": [[None], pause]}],
        }],
        "sliders": [{
            "active": 0, "x": 0.0, "len": 1.0, "y": y, "yanchor": "top",
            "pad": {"t": BUTTON_PX - 22, "b": 0, "l": 0, "r": 0},
            "ticklen": 0, "minorticklen": 0,
            # Step labels are hidden (the current value says it all); at a normal size
            # plotly.js draws only every k-th of them, much cheaper than 100+ tiny ones.
            "font": {"size": 14, "color": "rgba(0,0,0,0)"},
            "currentvalue": {"prefix": prefix, "visible": True, "xanchor": "right",
                             "offset": 14, "font": {"size": 16, "color": "#0f172a"}},
            "transition": {"duration": 0},
            "steps": [{"label": lab, "method": "animate",
                       "args": [[name], {"mode": "immediate", "transition": {"duration": 0},
                                         "frame": {"duration": 0, "redraw": redraw}}]}
                      for name, lab in zip(names, labels, strict=True)],
        }],
    }


def controls_margin(gap: int = AXIS_PX) -> int:
    """The bottom margin a figure needs for its x-axis title and the animation controls."""
    return gap + CONTROLS_PX + 8


def base_layout(title: str, height: int = 520, legend: bool = True, **extra) -> dict:
    """Title in the top band, a one-row horizontal legend right above the plot, below it.

    The top margin holds ``TITLE_PX`` for the title and ``LEGEND_PX`` for the legend, so
    the two never collide; plotly.js pushes the top margin further when the legend needs
    more rows. ``height`` is the plot's height plus these margins.
    """
    top = TITLE_PX + (LEGEND_PX if legend else 8)
    layout = {"title": {"text": title, "font": {"size": 20}, "x": 0, "xref": "paper",
                        "xanchor": "left", "y": 1, "yref": "container", "yanchor": "top",
                        "pad": {"t": 12}},
              "font": FONT, "height": height,
              "margin": {"l": 70, "r": 30, "t": top, "b": 60},
              "plot_bgcolor": "#ffffff", "paper_bgcolor": "#ffffff",
              "legend": {"orientation": "h", "y": 1.0, "yanchor": "bottom", "x": 0,
                         "xanchor": "left", "font": {"size": 15}, "yref": "paper"},
              "colorway": ["#2563eb", "#c2410c", "#059669", "#7c3aed", "#db2777", "#0891b2"],
              "showlegend": legend, "hovermode": "closest"}
    margin = extra.pop("margin", None)
    if margin:
        layout["margin"].update(margin)
    layout.update(extra)
    return layout


def axis(title: str, title_size: int = 16, **extra) -> dict:
    """An axis in the app's style. Tick labels are never hidden for overflowing: automargin
    makes room for them, and plotly.js's default check measures every label on every
    redraw (~13 ms of the Hidden state figure's 90)."""
    ax = {"title": {"text": title, "font": {"size": title_size}}, "gridcolor": "#e2e8f0",
          "zerolinecolor": "#cbd5e1", "tickfont": {"size": 14}, "automargin": True,
          "ticklabeloverflow": "allow"}
    ax.update(extra)
    return ax


def log_range(*series) -> list[float]:
    """A log10 axis range that holds every finite positive value (with a little margin)."""
    vals = [v for s in series for v in s if v is not None and v > 0 and math.isfinite(v)]
    if not vals:
        return [-1.0, 1.0]
    lo, hi = math.log10(min(vals)), math.log10(max(vals))
    pad = max(0.3, 0.05 * (hi - lo))
    return [max(lo - pad, -300.0), min(hi + pad, 300.0)]  # 10**r must stay a finite float


def log_ticks(yrange: list[float]) -> dict:
    """Log-axis ticks a back row can read: powers of ten only, at most ~7 of them (every
    k-th decade over a wide range), never plotly's "2" and "5" labels between them. Under
    one decade plotly's own few ticks stay, in the same power format."""
    span = yrange[1] - yrange[0]
    ticks = {"dtick": max(1, math.ceil(span / 7)), "tick0": 0} if span >= 1 else {}
    return {"type": "log", "range": list(yrange), "exponentformat": "power",
            "minor": {"showgrid": False}, **ticks}


def payload_bytes(fig: dict) -> int:
    """The size of the JSON Streamlit sends for this figure."""
    return len(pio.to_json(fig, validate=False).encode())

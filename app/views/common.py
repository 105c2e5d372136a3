"""Shared pieces of the figure builders: masking, frame stride, Play/Pause controls, payload size.

Figures are plain dicts (a Plotly spec). Animations send the big matrix once; every frame
updates only a few small traces (``traces=[i, ...]``), so the payload grows O(T*H), not
O(T^2*H).
"""

from __future__ import annotations

import math

import numpy as np
import plotly.io as pio

MAX_FRAMES = 120
FONT = {"size": 15, "family": "DejaVu Sans, Arial, sans-serif", "color": "#0f172a"}
COLORS = {"rnn": "#2563eb", "lstm": "#c2410c", "gru": "#059669", "jordan": "#7c3aed",
          "indrnn": "#db2777", "bound": "#64748b", "cursor": "#111827", "after": "#f59e0b"}
DIVERGING = "RdBu_r"  # negative blue, zero white, positive red
SEQUENTIAL = "Viridis"


def masked(values) -> list:
    """A list for Plotly with inf/NaN as None (Plotly draws gaps, never breaks)."""
    arr = np.asarray(values, dtype=np.float64)
    return [float(v) if math.isfinite(v) else None for v in arr.ravel()]


def positive(values) -> list:
    """For log axes: also zero and negative values become None."""
    return [v if v is not None and v > 0 else None for v in masked(values)]


def compact(a, decimals: int = 3) -> np.ndarray:
    """Rounded float32: a short JSON number per cell (NaN/inf serialise as null)."""
    return np.round(np.asarray(a, dtype=np.float32), decimals)


def frame_steps(T: int, max_frames: int = MAX_FRAMES) -> list[int]:
    """The time steps that get an animation frame: every step, or a stride; last one included."""
    stride = max(1, math.ceil(T / max_frames))
    steps = list(range(0, T, stride))
    if steps[-1] != T - 1:
        steps.append(T - 1)
    return steps


def animation_controls(names: list[str], labels: list[str] | None = None,
                       duration: int = 80, prefix: str = "t = ", y: float = -0.2,
                       redraw: bool = False) -> dict:
    """Layout entries for Plotly's own Play/Pause buttons and step slider (no server trips).

    ``redraw=True`` is needed when a frame touches a subplot holding a heatmap: plotly.js's
    fast path (redraw False) only re-renders scatter traces and blanks the heatmap.
    """
    labels = labels or names
    play = {"frame": {"duration": duration, "redraw": redraw}, "fromcurrent": True,
            "transition": {"duration": 0}, "mode": "immediate"}
    pause = {"frame": {"duration": 0, "redraw": False}, "mode": "immediate",
             "transition": {"duration": 0}}
    return {
        "updatemenus": [{
            "type": "buttons", "direction": "left", "showactive": False,
            "x": 0.0, "y": y, "xanchor": "left", "yanchor": "top",
            "pad": {"t": 0, "r": 10}, "font": {"size": 14},
            "buttons": [{"label": "Play", "method": "animate", "args": [None, play]},
                        {"label": "Pause", "method": "animate", "args": [[None], pause]}],
        }],
        "sliders": [{
            "active": 0, "x": 0.2, "len": 0.8, "y": y + 0.02, "yanchor": "top",
            "pad": {"t": 10, "b": 0}, "ticklen": 0, "minorticklen": 0,
            "font": {"size": 1, "color": "rgba(0,0,0,0)"},  # 100+ step labels: unreadable
            "currentvalue": {"prefix": prefix, "visible": True, "xanchor": "right",
                             "font": {"size": 15, "color": "#0f172a"}},
            "transition": {"duration": 0},
            "steps": [{"label": lab, "method": "animate",
                       "args": [[name], {"mode": "immediate", "transition": {"duration": 0},
                                         "frame": {"duration": 0, "redraw": redraw}}]}
                      for name, lab in zip(names, labels, strict=True)],
        }],
    }


def base_layout(title: str, height: int = 520, **extra) -> dict:
    layout = {"title": {"text": title, "font": {"size": 19}, "x": 0.01, "xanchor": "left",
                        "y": 0.98, "yanchor": "top", "yref": "container"},
              "font": FONT, "height": height, "margin": {"l": 70, "r": 30, "t": 95, "b": 60},
              "plot_bgcolor": "#ffffff", "paper_bgcolor": "#ffffff",
              "legend": {"orientation": "h", "y": 1.0, "yanchor": "bottom", "x": 0,
                         "xanchor": "left", "font": {"size": 14}},
              "hovermode": "closest"}
    layout.update(extra)
    return layout


def axis(title: str, title_size: int = 16, **extra) -> dict:
    ax = {"title": {"text": title, "font": {"size": title_size}}, "gridcolor": "#e2e8f0",
          "zerolinecolor": "#cbd5e1", "tickfont": {"size": 13}}
    ax.update(extra)
    return ax


def payload_bytes(fig: dict) -> int:
    """The size of the JSON Streamlit sends for this figure."""
    return len(pio.to_json(fig, validate=False).encode())

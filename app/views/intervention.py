"""What an intervention changed: the state's and the read-out's distance from the unmodified
run, and the gradient's norm with and without it, against t, the intervened step marked."""

from __future__ import annotations

import numpy as np

from app.views.common import (
    COLORS,
    LEGEND_PX,
    TITLE_PX,
    axis,
    base_layout,
    compact,
    log_range,
    log_ticks,
    masked,
    positive,
)


def distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """||a_t - b_t|| per step of two (T, U) arrays (float64: no float32 overflow)."""
    with np.errstate(all="ignore"):
        d = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
        return np.sqrt(np.sum(d * d, axis=1))


def effect_figure(h, h_base, grad, grad_base, step: int, what: str, state: str = "h",
                  outputs=None, outputs_base=None, top=None, top_base=None) -> dict:
    """Top: ||Δh_t|| (and ||Δ output_t|| of the network's top layer, ``top``, and ||Δy_t||
    of a read-out, where given) against t, linear, zero before ``step``.
    Bottom: ||∂L/∂h_t|| of the intervened run (solid) and the unmodified one (dashed)."""
    T = len(grad)
    t = list(range(T))
    data = [{"type": "scatter", "mode": "lines", "x": t,
             "y": masked(compact(distance(h, h_base))), "name": "‖Δh_t‖",
             "line": {"color": COLORS["lstm"], "width": 3}}]
    if top is not None and top_base is not None:
        data.append({"type": "scatter", "mode": "lines", "x": t,
                     "y": masked(compact(distance(top, top_base))),
                     "name": "‖Δ output_t‖ (top layer)",
                     "line": {"color": COLORS["jordan"], "width": 2.5, "dash": "dot"}})
    if outputs is not None and outputs_base is not None:
        data.append({"type": "scatter", "mode": "lines", "x": t,
                     "y": masked(compact(distance(outputs, outputs_base))),
                     "name": "‖Δy_t‖ (read-out)", "line": {"color": COLORS["gru"], "width": 2.5}})
    g, gb = positive(grad), positive(grad_base)
    data += [{"type": "scatter", "mode": "lines", "x": t, "y": g, "xaxis": "x2", "yaxis": "y2",
              "name": f"‖∂L/∂{state}_t‖ intervened", "line": {"color": COLORS["rnn"], "width": 3}},
             {"type": "scatter", "mode": "lines", "x": t, "y": gb, "xaxis": "x2", "yaxis": "y2",
              "name": "unmodified", "line": {"color": COLORS["bound"], "width": 2,
                                              "dash": "dash"}}]
    marker = {"type": "line", "x0": step, "x1": step, "yref": "paper", "y0": 0, "y1": 1,
              "line": {"color": COLORS["cursor"], "width": 1.5, "dash": "dot"}}
    layout = base_layout(
        f"What the intervention changed: {what}", height=TITLE_PX + LEGEND_PX + 380,
        xaxis=axis("", domain=[0, 1], range=[-0.5, T - 0.5], anchor="y", showticklabels=False),
        yaxis=axis("distance from unmodified", domain=[0.56, 1], anchor="x", title_size=14,
                   rangemode="tozero"),
        xaxis2=axis("time step t", domain=[0, 1], range=[-0.5, T - 0.5], anchor="y2",
                    matches="x"),
        yaxis2=axis("gradient (log)", domain=[0, 0.44], anchor="x2", title_size=14,
                    **log_ticks(log_range(g, gb))),
        shapes=[marker], margin={"l": 80})
    return {"data": data, "layout": layout}

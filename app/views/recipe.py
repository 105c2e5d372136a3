"""Elman-to-LRU figures: the gradient reaching each step under the recipe's switches (the
Elman start beside it), and each channel's gradient on its memory parameter against |λ_j|.

Numbers come from engine.lru_recipe (via app.compute.recipe_runs); here they are drawn.
"""

from __future__ import annotations

import numpy as np

from app.views.common import COLORS, axis, base_layout, log_range, log_ticks, positive


def gradient_figure(now, start, state: str, title: str) -> dict:
    """||dL/d state_t|| against t under the switches (solid) and for the Elman RNN they
    started from (dashed; ``start`` None with every switch off), on a log axis."""
    T = len(now.state_grad_norm)
    t = list(range(T))
    y_now = positive(now.state_grad_norm)
    y_start = [] if start is None else positive(start.state_grad_norm)
    data = [{"type": "scatter", "mode": "lines", "x": t, "y": y_now,
             "name": f"{'with the switches' if start else 'Elman RNN'}: ‖∂L/∂{state}_t‖",
             "line": {"color": COLORS["lru"], "width": 3.5}}]
    if start is not None:
        data.insert(0, {"type": "scatter", "mode": "lines", "x": t, "y": y_start,
                        "name": "Elman RNN (the start): ‖∂L/∂h_t‖",
                        "line": {"color": COLORS["bound"], "width": 2, "dash": "dash"}})
    yr = log_range(y_now, y_start)
    layout = base_layout(title, height=470, xaxis=axis("time step t", range=[-0.5, T - 0.5]),
                         yaxis=axis("gradient norm  (log scale)", **log_ticks(yr)),
                         margin={"l": 80})
    return {"data": data, "layout": layout}


def magnitude_figure(now, param: str, title: str) -> dict:
    """Each channel's |∂L/∂param_j| (its memory parameter: |λ_j|, or ν_j under the exp
    parametrisation) against |λ_j|, log y; the unit circle |λ| = 1 marked."""
    r = np.abs(now.lam)
    g = positive(now.magnitude_grad)
    data = [{"type": "scatter", "mode": "markers", "x": [float(v) for v in r], "y": g,
             "name": f"|∂L/∂{param}|, one dot per channel",
             "marker": {"size": 11, "color": COLORS["lru"],
                        "line": {"color": "white", "width": 1}},
             "hovertemplate": "|λ| = %{x:.4f}<br>|∂L/∂" + param + "| = %{y:.3g}"
                              "<extra></extra>"}]
    hi = max(1.05, float(r.max()) * 1.05 if r.size and np.isfinite(r.max()) else 1.05)
    shapes = [{"type": "line", "xref": "x", "yref": "paper", "x0": 1, "x1": 1, "y0": 0,
               "y1": 1, "line": {"color": "#64748b", "dash": "dash", "width": 2}}]
    annotations = [{"x": 1, "y": 1, "xref": "x", "yref": "paper", "text": "|λ| = 1",
                    "showarrow": False, "xanchor": "right", "yanchor": "top", "xshift": -4,
                    "font": {"color": "#64748b", "size": 14}}]
    layout = base_layout(title, height=430, xaxis=axis("|λ_j|", range=[0, hi]),
                         yaxis=axis(f"|∂L/∂{param}|  (log scale)", **log_ticks(log_range(g))),
                         shapes=shapes, annotations=annotations, margin={"l": 80})
    return {"data": data, "layout": layout}

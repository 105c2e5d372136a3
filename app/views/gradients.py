"""Gradient figures: ||dL/dh_t|| on a log axis with the bound that holds for it, the
backward wave, the Jacobian product ||dh_{T-1}/dh_t|| under Pascanu's bound, cells compared,
singular values of W_hh, and norms before/after clipping.

All numbers arrive computed by the engine (see app.compute); here they are only drawn.
``state`` names the recurrent state in labels: "h", or "y" for the Jordan cell.
"""

from __future__ import annotations

import numpy as np

from app.state import cell_name
from app.views.common import (
    COLORS,
    LEGEND_PX,
    TITLE_PX,
    animation_controls,
    axis,
    base_layout,
    controls_margin,
    frame_steps,
    log_range,
    log_ticks,
    positive,
)


def norm_figure(norms, bound=None, bound_name: str = "", trunc_norms=None,
                window: int | None = None, kept: tuple | None = None,
                overflow_step: int | None = None, title: str = "", state: str = "h",
                base_norms=None, step: int | None = None) -> dict:
    """||dL/dh_t|| against t (log y) with the backward wave animated from t = T-1 to 0.

    ``bound``: a curve that bounds ``norms`` at every step (``bound_name`` its legend), or
    None. ``trunc_norms``: the same norms under truncated BPTT with window ``window``;
    ``kept`` are the (start, end) spans that receive gradient under it (shaded, cuts marked;
    default: the last ``window`` steps, what a loss at the last step keeps).
    ``base_norms``: the unmodified run's norms under an intervention at ``step`` (dashed).
    """
    norms = np.asarray(norms, dtype=np.float64)
    T = norms.shape[0]
    if kept is None:
        kept = ((T - window, T - 1),) if window else ()
    t = list(range(T))
    y = positive(norms)
    label = f"‖∂L/∂{state}_t‖"
    traces = [{"type": "scatter", "mode": "lines", "x": t, "y": y, "name": label,
               "line": {"color": COLORS["rnn"], "width": 3}}]
    series = [y]
    if bound is not None:
        yb = positive(bound)
        traces.append({"type": "scatter", "mode": "lines", "x": t, "y": yb,
                       "name": bound_name or "bound",
                       "line": {"color": COLORS["bound"], "width": 2, "dash": "dash"}})
        # Keep the bound from dwarfing the curve: the y range follows it only to 1e6 times
        # the curve's range.
        finite = [v for v in y if v is not None]
        if finite:
            cap_hi, cap_lo = max(finite) * 1e6, min(finite) * 1e-6
            series.append([v for v in yb if v is not None and cap_lo <= v <= cap_hi])
    shapes = []
    if base_norms is not None:
        yu = positive(base_norms)
        traces.append({"type": "scatter", "mode": "lines", "x": t, "y": yu,
                       "name": "without the intervention",
                       "line": {"color": "#0f172a", "width": 1.5, "dash": "dash"}})
        series.append(yu)
        shapes.append({"type": "line", "xref": "x", "yref": "paper", "x0": step, "x1": step,
                       "y0": 0, "y1": 1, "line": {"color": COLORS["cursor"], "width": 1.5,
                                                  "dash": "dot"}})
    if trunc_norms is not None and window:
        yt = positive(trunc_norms)
        traces.append({"type": "scatter", "mode": "lines", "x": t, "y": yt,
                       "name": f"truncated BPTT, k = {window}",
                       "line": {"color": COLORS["lstm"], "width": 2, "dash": "dot"}})
        series.append(yt)
        for i, (start, end) in enumerate(kept):
            shapes.append({"type": "rect", "xref": "x", "yref": "paper", "x0": start - 0.5,
                           "x1": end + 0.5, "y0": 0, "y1": 1,
                           "fillcolor": "#fde68a" if i % 2 == 0 else "#fcd34d",
                           "opacity": 0.35, "line": {"width": 0}, "layer": "below"})
            if start > 0:  # truncated BPTT cuts the gradient here
                shapes.append({"type": "line", "xref": "x", "yref": "paper", "x0": start - 0.5,
                               "x1": start - 0.5, "y0": 0, "y1": 1,
                               "line": {"color": "#92400e", "width": 1.5, "dash": "dot"}})
    yr = log_range(*series)
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
    if window and kept:
        start = kept[-1][0]
        text = (f"BPTT window k = {window} " if len(kept) == 1 else
                f"gradient cut every {window} steps (dotted lines) ")
        annotations.append({"x": start - 0.5, "y": 1, "xref": "x", "yref": "paper",
                            "text": text, "showarrow": False, "yanchor": "top",
                            "xanchor": "right" if start > T / 2 else "left",
                            "font": {"size": 14, "color": "#92400e"},
                            "bgcolor": "rgba(255,255,255,0.8)"})

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
                         yaxis=axis(f"{label}  (log scale)", **log_ticks(yr)),
                         shapes=shapes, annotations=annotations,
                         margin={"l": 80, "r": 30, "b": bottom})
    layout.update(animation_controls([str(s) for s in steps], layout,
                                     prefix="gradient reached t = "))
    return {"data": traces, "layout": layout, "frames": frames}


def single_entry(run, layer: int) -> bool:
    """Does the gradient enter this layer's forward pass at the last step alone?"""
    return not np.any(run.direct_norm[layer, 0][:-1])


def gradient_figure(run, layer: int, loss: str, state: str = "h") -> dict:
    """The Gradients page's main chart for ``layer``: ||dL/dh_t|| (forward direction), the
    bound that holds for it (app.compute: Pascanu's where the gradient enters at the last
    step alone, the sum over entry steps otherwise; none for gated cells), truncated BPTT."""
    curve = run.bound_curve[layer]
    name = ""
    if curve is not None:
        name = (f"Pascanu bound ‖∂L/∂{state}_(T-1)‖·(γσ)^(T-1-t)" if single_entry(run, layer)
                else "bound Σ_{s≥t} (γσ)^(s-t)·‖e_s‖")
    overflow = run.grad_overflow or run.overflow
    where = "the last step" if loss == "last" else "every step"
    return norm_figure(run.hidden_norm[layer, 0], bound=curve, bound_name=name,
                       trunc_norms=None if run.trunc_norm is None else run.trunc_norm[layer, 0],
                       window=run.window, kept=run.kept,
                       overflow_step=None if overflow is None else overflow["step"],
                       title=f"‖∂L/∂{state}_t‖ of layer {layer}, loss at {where}", state=state,
                       base_norms=None if run.base is None else run.base.hidden_norm[layer, 0],
                       step=None if run.intervention is None else run.intervention.step)


def jacobian_figure(norms, factor: float | None, state: str = "h", note: str = "") -> dict:
    """||dstate_{T-1}/dstate_t|| (exact, spectral norm) with Pascanu's (gamma sigma)^(T-1-t).

    ``norms`` is NaN where it was not computed (the engine's budget); ``factor`` is
    gamma * sigma_max, or None where no such bound exists (gated cells).
    """
    norms = np.asarray(norms, dtype=np.float64)
    T = norms.shape[0]
    known = np.flatnonzero(np.isfinite(norms))
    first = int(known[0]) if known.size else T - 1
    t = list(range(first, T))
    y = positive(norms[first:])
    name = f"‖∂{state}_(T-1)/∂{state}_t‖{note}"
    traces = [{"type": "scatter", "mode": "lines", "x": t, "y": y, "name": name,
               "line": {"color": COLORS["rnn"], "width": 3}}]
    series = [y]
    if factor is not None:
        with np.errstate(over="ignore"):
            yb = positive(float(factor) ** (T - 1 - np.arange(first, T, dtype=np.float64)))
        traces.append({"type": "scatter", "mode": "lines", "x": t, "y": yb,
                       "name": f"Pascanu (γσ)^(T-1-t), γσ = {factor:.3g}",
                       "line": {"color": COLORS["bound"], "width": 2, "dash": "dash"}})
        finite = [v for v in y if v is not None]
        if finite:
            series.append([v for v in yb if v is not None
                           and min(finite) * 1e-6 <= v <= max(finite) * 1e6])
    title = (f"Jacobian product ‖∂{state}_(T-1)/∂{state}_t‖" if first == 0 else
             f"Jacobian product, last {T - first} steps (its cost grows as H³)")
    layout = base_layout(title, height=420,
                         xaxis=axis("time step t", range=[first - 0.5, T - 0.5]),
                         yaxis=axis(f"‖∂{state}_(T-1)/∂{state}_t‖  (log scale)",
                                    **log_ticks(log_range(*series))))
    return {"data": traces, "layout": layout}


def compare_figure(norms_by_cell: dict, title: str = "") -> dict:
    """Elman RNN, LSTM and GRU (and the chosen cell) on the same input and seed: the same
    curve, layer 0, overlaid. Jordan's curve is ||dL/dy_t||, its recurrent state."""
    traces, series = [], []
    for cell, norms in norms_by_cell.items():
        y = positive(norms)
        series.append(y)
        traces.append({"type": "scatter", "mode": "lines", "x": list(range(len(y))), "y": y,
                       "name": cell_name(cell) + (" (‖∂L/∂y_t‖)" if cell == "jordan" else ""),
                       "line": {"color": COLORS.get(cell), "width": 3}})
    layout = base_layout(title or "Same input and seed, layer 0", height=420,
                         xaxis=axis("time step t"),
                         yaxis=axis("‖∂L/∂h_t‖  (log scale)", **log_ticks(log_range(*series))))
    return {"data": traces, "layout": layout}


def singular_figure(singular: dict, gamma: float | None, cell: str = "rnn") -> dict:
    """Singular values of each recurrent block, with the line sigma = 1/gamma where it
    means something: for the Elman RNN and IndRNN (|u_j|), gamma * sigma_max > 1 is
    necessary for exploding. ``gamma=None`` draws no line (gated cells, Jordan)."""
    traces = []
    for gate, sv in singular.items():
        sv = np.asarray(sv, dtype=np.float64)
        name = ("|u_j|" if cell == "indrnn" else "W_hh") if gate == "h" else f"W_h{gate}"
        traces.append({"type": "scatter", "mode": "markers+lines",
                       "x": list(range(1, sv.size + 1)), "y": positive(sv), "name": name,
                       "marker": {"size": 7}})
    n = max((len(v) for v in singular.values()), default=1)
    if gamma is not None:
        traces.append({"type": "scatter", "mode": "lines", "x": [1, n], "y": [1 / gamma] * 2,
                       "name": f"1/γ = {1 / gamma:g}",
                       "line": {"color": COLORS["bound"], "dash": "dash", "width": 2}})
    yr = log_range(*[t["y"] for t in traces])
    title = ("Recurrent weights u (IndRNN), largest first" if cell == "indrnn"
             else "Singular values of the recurrent weights")
    layout = base_layout(title, height=420,
                         xaxis=axis("index (largest first)"),
                         yaxis=axis("σ_i  (log scale)", **log_ticks(yr)))
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
                         yaxis=axis("‖∂L/∂W‖  (log scale)",
                                    **log_ticks(log_range(before, after))))
    return {"data": data, "layout": layout}

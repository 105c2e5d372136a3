"""Edge-of-chaos figures: largest Lyapunov exponent and gradient decay rate against the gain
(or spectral radius) of a gaussian tanh RNN, the current setting marked; and the LRU's
eigenvalues, which the exp parametrisation keeps inside the unit circle."""

from __future__ import annotations

import math

from app.views.common import COLORS, axis, base_layout, log_range, log_ticks, masked


def chaos_figure(sweep: dict, current: float, by: str) -> dict:
    """Two panels sharing x: lambda_max (zero line) on top, decay per step (one line) below."""
    x = [float(v) for v in sweep["values"]]
    label = "gain g" if by == "gain" else "spectral radius ρ"
    lyap, decay = masked(sweep["lyapunov"]), masked(sweep["decay"])
    k = min(range(len(x)), key=lambda i: abs(x[i] - current))
    data = [
        {"type": "scatter", "mode": "lines+markers", "x": x, "y": lyap,
         "name": "largest Lyapunov exponent λ", "line": {"color": COLORS["rnn"], "width": 3},
         "marker": {"size": 9}},
        {"type": "scatter", "mode": "lines+markers", "x": x, "y": decay, "xaxis": "x2",
         "yaxis": "y2", "name": "fitted gradient change per step back",
         "line": {"color": COLORS["lstm"], "width": 3}, "marker": {"size": 9}},
        {"type": "scatter", "mode": "markers", "x": [x[k], x[k]], "y": [lyap[k], decay[k]],
         "name": f"your setting ({label} = {current:g})", "showlegend": True,
         "marker": {"size": 20, "symbol": "star", "color": "#facc15",
                    "line": {"color": "#111827", "width": 1.5}}},
    ]
    # the star sits on both panels: split it into two traces
    star = data.pop()
    data.append({**star, "x": [x[k]], "y": [lyap[k]]})
    data.append({**star, "x": [x[k]], "y": [decay[k]], "xaxis": "x2", "yaxis": "y2",
                 "showlegend": False})
    shapes = [
        {"type": "line", "xref": "paper", "yref": "y", "x0": 0, "x1": 1, "y0": 0, "y1": 0,
         "line": {"color": "#64748b", "dash": "dash", "width": 2}},
        {"type": "line", "xref": "paper", "yref": "y2", "x0": 0, "x1": 1, "y0": 1, "y1": 1,
         "line": {"color": "#64748b", "dash": "dash", "width": 2}},
        {"type": "line", "xref": "x", "yref": "paper", "x0": current, "x1": current, "y0": 0,
         "y1": 1, "line": {"color": "#facc15", "width": 3}},
    ]
    annotations = [
        {"xref": "paper", "yref": "paper", "x": 0.01, "y": 0.99, "showarrow": False,
         "text": "ordered: perturbations die out", "xanchor": "left", "yanchor": "top",
         "font": {"size": 14, "color": "#475569"}},
        {"xref": "paper", "yref": "paper", "x": 0.99, "y": 0.57, "showarrow": False,
         "text": "chaotic: perturbations grow", "xanchor": "right", "yanchor": "bottom",
         "font": {"size": 14, "color": "#475569"}},
    ]
    # your value is labelled; a sweep point too close to it (0.7 beside 0.75) is not, or
    # the crowded labels tilt and overlap
    near = [v != current and abs(math.log10(v / current)) < 0.05 for v in x]
    ticks = {"tickvals": x, "ticktext": ["" if n else f"{v:g}" for v, n in zip(x, near,
                                                                           strict=True)]}
    layout = base_layout(
        f"Sweep of the {label} (gaussian init, tanh RNN, H = {sweep['hidden']})", height=620,
        xaxis=axis("", type="log", anchor="y", showticklabels=False, **ticks),
        yaxis=axis("λ per step", domain=[0.55, 1], anchor="x"),
        xaxis2=axis(label + "  (log scale)", type="log", anchor="y2", matches="x", **ticks),
        yaxis2=axis("‖∂L/∂h‖ factor / step", domain=[0, 0.45], anchor="x2",
                    **log_ticks(log_range(decay, [1.0]))),
        shapes=shapes, annotations=annotations)
    return {"data": data, "layout": layout}


def lru_eigen_figure(lam, r_min: float, r_max: float, title: str = "",
                     name: str = "λ_j, one per channel", ring: bool = True,
                     height: int = 560) -> dict:
    """The LRU's eigenvalues on the complex plane: the unit circle (dashed), the ring of the
    initialisation (r_min <= |lambda| <= r_max, dotted; left out with ``ring=False``) and
    each channel's lambda. The axes reach past the largest |lambda|."""
    lam = [complex(v) for v in lam]
    circles = ((1.0, "#64748b", "dash"),) + (((r_max, "#c2410c", "dot"),
                                              (r_min, "#c2410c", "dot")) if ring else ())
    shapes = [{"type": "circle", "xref": "x", "yref": "y", "x0": -r, "x1": r, "y0": -r,
               "y1": r, "line": {"color": color, "dash": dash, "width": 2}, "layer": "below"}
              for r, color, dash in circles]
    finite = [abs(v) for v in lam if math.isfinite(abs(v))]
    reach = max([1.15, *(1.08 * v for v in finite)])
    data = [{"type": "scatter", "mode": "markers", "name": name,
             "x": [v.real for v in lam], "y": [v.imag for v in lam],
             "marker": {"size": 11, "color": COLORS["lru"], "line": {"color": "white",
                                                                     "width": 1}},
             "customdata": [[abs(v), 1 / -math.log(abs(v)) if 0 < abs(v) < 1 else None]
                            for v in lam],
             "hovertemplate": "λ = %{x:.3f} %{y:+.3f}i<br>|λ| = %{customdata[0]:.4f}"
                              "<br>memory 1/(−ln|λ|) = %{customdata[1]:.3g} steps"
                              "<extra></extra>"},
            # legend entries for the circles (shapes have none)
            {"type": "scatter", "mode": "lines", "x": [None], "y": [None],
             "name": "unit circle: |λ| = 1", "line": {"color": "#64748b", "dash": "dash"}},
            {"type": "scatter", "mode": "lines", "x": [None], "y": [None],
             "name": f"ring initialisation: {r_min:g} ≤ |λ| ≤ {r_max:g}",
             "line": {"color": "#c2410c", "dash": "dot"}}][:3 if ring else 2]
    layout = base_layout(title, height=height,
                         xaxis=axis("Re λ", range=[-reach, reach], zeroline=True),
                         yaxis=axis("Im λ", range=[-reach, reach], zeroline=True,
                                    scaleanchor="x", scaleratio=1),
                         shapes=shapes)
    return {"data": data, "layout": layout}

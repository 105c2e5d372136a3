"""The sweep as a phase diagram: one cell per grid point, coloured by the median over seeds
of final loss / memoryless baseline (log scale), labelled with it and how many seeds learned
the task (below a tenth of the baseline). Numbers from app.sweep_jobs.table."""

from __future__ import annotations

import math

from app.views.common import SEQUENTIAL, axis, base_layout
from engine.sweep import AXIS_LABELS, SUCCESS_RATIO

LOG_RANGE = (-3.0, 0.5)  # 0.001x baseline (learned) .. about 3x (worse than no memory)


def _label(name: str, value) -> str:
    return str(value).upper() if name == "cell" and len(str(value)) <= 4 else str(value)


def cell_text(cell, seeds: int) -> str:
    """'0.03<br>2/3 learned', '…' while running, 'diverged', 'failed'."""
    if cell.finished < len(cell.keys):
        return "…" if cell.finished == 0 else f"{cell.finished}/{len(cell.keys)} done"
    if all(s == "failed" for s in cell.statuses):
        return "failed"
    m = cell.median
    value = "diverged" if math.isinf(m) else ("n/a" if math.isnan(m) else f"{m:.2g}×")
    extra = f", {cell.diverged} diverged" if cell.diverged and math.isfinite(m) else ""
    return f"{value}<br>{cell.learned}/{seeds} learned{extra}"


def heatmap_figure(spec, cells, fixed: dict | None = None, title: str = "") -> dict:
    """Axis 1 across, axis 2 down (one row for a single axis); a third axis held at the
    value ``fixed`` names."""
    names = [name for name, _ in spec.axes]
    fixed = fixed or {}
    shown = [c for c in cells if all(c.point[k] == v for k, v in fixed.items())]
    xs = list(spec.axes[0][1])
    ys = list(spec.axes[1][1]) if len(names) > 1 else [None]
    z, text = [], []
    for yv in ys:
        zrow, trow = [], []
        for xv in xs:
            cell = next(c for c in shown if c.point[names[0]] == xv
                        and (yv is None or c.point[names[1]] == yv))
            m = cell.median
            zrow.append(None if math.isnan(m) else
                        LOG_RANGE[1] if math.isinf(m) else
                        max(min(math.log10(max(m, 1e-12)), LOG_RANGE[1]), LOG_RANGE[0]))
            trow.append(cell_text(cell, int(spec.seeds)))
        z.append(zrow)
        text.append(trow)
    x_labels = [_label(names[0], v) for v in xs]
    y_labels = [_label(names[1], v) for v in ys] if len(names) > 1 else ["all"]
    data = [{"type": "heatmap", "z": z, "x": x_labels, "y": y_labels, "text": text,
             "colorscale": SEQUENTIAL, "zmin": LOG_RANGE[0],
             "zmax": LOG_RANGE[1], "xgap": 3, "ygap": 3, "hoverongaps": False,
             "colorbar": {"title": {"text": "loss / baseline"},
                          "tickvals": [-3, -2, -1, 0, LOG_RANGE[1]],
                          "ticktext": ["0.001×", "0.01×", "0.1×", "1×", "≥ 3×"]},
             "hovertemplate": "%{x}, %{y}<br>%{text}<extra></extra>"}]
    # the labels as annotations: dark on the pale (yellow) end of the scale, white on the
    # dark; placed by category index (a label such as "200" would be read as a number)
    annotations = [{"x": i, "y": j, "xref": "x", "yref": "y", "text": t, "showarrow": False,
                    "font": {"size": 15, "color": "white" if v is not None and v < -1.2
                             else "#0f172a"}}
                   for j, (zrow, trow) in enumerate(zip(z, text, strict=True))
                   for i, (v, t) in enumerate(zip(zrow, trow, strict=True))]
    layout = base_layout(title, height=140 + 70 * len(ys), legend=False,
                         xaxis=axis(AXIS_LABELS[names[0]], type="category"),
                         yaxis=axis(AXIS_LABELS[names[1]] if len(names) > 1 else "",
                                    type="category", autorange="reversed"),
                         annotations=annotations, margin={"l": 110, "r": 30, "b": 70})
    return {"data": data, "layout": layout}


SUCCESS_NOTE = (f"Each cell: the median over seeds (those that did not diverge) of the "
                f"final loss on a fresh batch divided by the memoryless baseline, and how "
                f"many seeds got below "
                f"{SUCCESS_RATIO:g}× of it. Dark: learned; yellow: no better than a "
                "network without memory.")

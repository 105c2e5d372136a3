"""Training lab figures: loss, gradient norm before/after clipping, the latest ||dL/dh_t||
snapshot, and the echo state network's prediction. Pure functions of the runs' numbers.

Each run is a dict ``{"label", "color", "loss", "before", "after", "clipped", "blowup"}``
(``blowup``: the step whose loss was inf/NaN, or None). Long curves are thinned to
``MAX_POINTS`` per series so a live redraw every second stays small.
"""

from __future__ import annotations

import math

import numpy as np

from app.views.common import axis, base_layout, log_range, log_ticks, masked, positive

MAX_POINTS = 600
BASELINE = "#64748b"


def thin(values: list, max_points: int = MAX_POINTS) -> tuple[list[int], list]:
    """Every k-th step (and the last) so a series has at most ``max_points`` points."""
    n = len(values)
    if n == 0:
        return [], []
    stride = max(1, math.ceil(n / max_points))
    idx = list(range(0, n, stride))
    if idx[-1] != n - 1:
        idx.append(n - 1)
    return idx, [values[i] for i in idx]


def smooth(values: list, window: int) -> list:
    """Trailing mean over ``window`` steps (NaN/inf ignored): a readable trend of noisy
    minibatch losses. Display only; the raw values are drawn faintly underneath."""
    arr = np.asarray(values, dtype=np.float64)
    if arr.size == 0 or window <= 1:
        return masked(arr)
    ok = np.isfinite(arr)
    csum = np.concatenate([[0.0], np.cumsum(np.where(ok, arr, 0.0))])
    count = np.concatenate([[0], np.cumsum(ok)])
    hi = np.arange(1, arr.size + 1)
    lo = np.maximum(hi - window, 0)
    n = count[hi] - count[lo]
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = (csum[hi] - csum[lo]) / n
    return masked(np.where(n > 0, mean, np.nan))


def smoothing_window(n: int) -> int:
    return max(1, min(50, n // 30))


def log_axis(series: list) -> dict:
    """Log axis settings over every finite positive value: powers of ten only
    (views.common.log_ticks); an explosion spans dozens of decades, so every k-th."""
    return log_ticks(log_range(*[positive(values) for values in series]))


def _xmax(runs: list[dict], key: str, total_steps: int | None) -> int:
    """Steps on the x axis: the planned run while training, else the steps run (and the
    step that blew up)."""
    ends = [len(r[key]) for r in runs] + [r["blowup"] + 1 for r in runs
                                          if r.get("blowup") is not None]
    return max([total_steps or 0] + ends) or 1


def _blowup_marker(run: dict, y: float | None, index: int = 0) -> dict | None:
    """A red cross at the step whose loss was inf/NaN (labels of two runs kept apart)."""
    if run.get("blowup") is None:
        return None
    return {"type": "scatter", "mode": "markers+text", "x": [run["blowup"]],
            "cliponaxis": False,
            "y": [y], "marker": {"symbol": "x", "size": 16, "color": "#dc2626",
                                 "line": {"width": 3}},
            "text": [f"{run['label']}: loss = inf at step {run['blowup']}  "],
            "textposition": ("top left", "bottom left", "middle left")[index % 3],
            "textfont": {"color": "#dc2626", "size": 14},
            "name": f"{run['label']}: exploded", "showlegend": False, "hoverinfo": "text"}


def _last_finite(values: list) -> float | None:
    for v in reversed(masked(values)):
        if v is not None and v > 0:
            return v
    return None


def loss_figure(runs: list[dict], baseline: float | None, baseline_note: str = "",
                total_steps: int | None = None, height: int = 420) -> dict:
    """Training loss per run (log scale), the memoryless baseline as a dashed line."""
    data = []
    for k, run in enumerate(runs):
        x, y = thin(run["loss"])
        window = smoothing_window(len(run["loss"]))
        data.append({"type": "scatter", "mode": "lines", "x": x, "y": positive(y),
                     "name": run["label"], "legendgroup": run["label"],
                     "showlegend": window == 1,
                     "line": {"color": run["color"], "width": 2.5 if window == 1 else 1},
                     "opacity": 1.0 if window == 1 else 0.3})
        if window > 1:
            _, trend = thin(smooth(run["loss"], window))
            data.append({"type": "scatter", "mode": "lines", "x": x, "y": positive(trend),
                         "name": run["label"], "legendgroup": run["label"],
                         "hovertemplate": f"mean of {window} steps: %{{y:.4g}}<extra></extra>",
                         "line": {"color": run["color"], "width": 3}})
        marker = _blowup_marker(run, _last_finite(run["loss"]) or baseline, k)
        if marker:
            data.append(marker)
    xmax = _xmax(runs, "loss", total_steps)
    if baseline is not None:
        data.append({"type": "scatter", "mode": "lines", "x": [0, xmax - 1],
                     "y": [baseline, baseline], "name": f"baseline {baseline:.4g}",
                     "line": {"color": BASELINE, "dash": "dash", "width": 2},
                     "hovertext": baseline_note, "hoverinfo": "text+y"})
    layout = base_layout("Training loss (log scale)", height=height,
                         xaxis=axis("training step", range=[0, max(xmax - 1, 1)]),
                         yaxis=axis("loss", **log_axis([r["loss"] for r in runs])))
    return {"data": data, "layout": layout}


def grad_figure(runs: list[dict], total_steps: int | None = None, height: int = 420) -> dict:
    """Global gradient norm per step: before clipping (solid) and after (dotted).

    One legend entry per run and one key for the dotted style, so three runs keep the
    legend to a row (the hover names each curve in full)."""
    data = []
    for k, run in enumerate(runs):
        x, before = thin(run["before"])
        data.append({"type": "scatter", "mode": "lines", "x": x, "y": positive(before),
                     "name": run["label"], "legendgroup": run["label"],
                     "hovertemplate": f"{run['label']} before clipping: %{{y:.4g}}<extra></extra>",
                     "line": {"color": run["color"], "width": 2}})
        if run.get("clipped"):
            x, after = thin(run["after"])
            data.append({"type": "scatter", "mode": "lines", "x": x, "y": positive(after),
                         "name": f"{run['label']} after clipping", "legendgroup": run["label"],
                         "showlegend": False, "line": {"color": run["color"], "width": 2,
                                                       "dash": "dot"}, "opacity": 0.8,
                         "hovertemplate": f"{run['label']} after clipping: %{{y:.4g}}"
                                          "<extra></extra>"})
        marker = _blowup_marker(run, _last_finite(run["before"]), k)
        if marker:
            data.append(marker)
    if any(run.get("clipped") for run in runs):  # the legend's key to the dotted curves
        data.append({"type": "scatter", "mode": "lines", "x": [None], "y": [None],
                     "name": "dotted: after clipping", "hoverinfo": "skip",
                     "line": {"color": BASELINE, "width": 2, "dash": "dot"}})
    xmax = _xmax(runs, "before", total_steps)
    layout = base_layout("Gradient norm ‖∇θ L‖ (log scale)", height=height,
                         xaxis=axis("training step", range=[0, max(xmax - 1, 1)]),
                         yaxis=axis("‖gradient‖", **log_axis([r["before"] for r in runs]
                                                              + [r["after"] for r in runs])))
    return {"data": data, "layout": layout}


def hidden_norm_figure(snaps: list[dict], height: int = 360) -> dict:
    """``snaps``: {"label", "color", "step", "norm" (T,)}: ||dL/dh_t|| over t, log scale."""
    data = []
    for snap in snaps:
        norm = np.asarray(snap["norm"], dtype=np.float64)
        data.append({"type": "scatter", "mode": "lines", "x": list(range(len(norm))),
                     "y": positive(norm), "name": f"{snap['label']} (step {snap['step']})",
                     "line": {"color": snap["color"], "width": 2.5}})
    layout = base_layout("Latest ‖∂L/∂h_t‖ over the sequence (layer 0, log scale)",
                         height=height, xaxis=axis("time step t"),
                         yaxis=axis("‖∂L/∂h_t‖", type="log", exponentformat="power"))
    return {"data": data, "layout": layout}


def esn_figure(prediction: np.ndarray, target: np.ndarray, height: int = 340) -> dict:
    """One test sequence: the echo state network's next-step prediction against the target."""
    t = list(range(len(target)))
    data = [{"type": "scatter", "mode": "lines", "x": t, "y": masked(target), "name": "target",
             "line": {"color": "#0f172a", "width": 2}},
            {"type": "scatter", "mode": "lines", "x": t, "y": masked(prediction),
             "name": "ESN prediction", "line": {"color": "#c2410c", "width": 2, "dash": "dot"}}]
    layout = base_layout("Echo state network on a test sine (after the washout)", height=height,
                         xaxis=axis("time step t"), yaxis=axis("value"))
    return {"data": data, "layout": layout}

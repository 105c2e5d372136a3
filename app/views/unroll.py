"""The unrolled network: nodes x_t, h_t (c_t), y_t per step, with recurrent and feed-forward
arrows; colour is the value of one chosen unit. Deep and bidirectional networks get one row
per layer and direction. For long sequences a window of steps follows the cursor.

Cost: every node is sent once (O(T * rows)); a frame moves the cursor ring (one small
trace) and the visible window (the x-axis range).
"""

from __future__ import annotations

import numpy as np

from app.views.common import (
    DIVERGING,
    TITLE_PX,
    animation_controls,
    axis,
    base_layout,
    controls_margin,
    frame_steps,
    masked,
)
from engine import CELLS

WINDOW = 10  # steps visible at once
ARCH_IO = {  # which steps carry an input x_t and an output y_t
    "one-to-one": (lambda t, T: t == 0, lambda t, T: t == 0),
    "one-to-many": (lambda t, T: t == 0, lambda t, T: True),
    "many-to-one": (lambda t, T: True, lambda t, T: t == T - 1),
    "many-to-many": (lambda t, T: True, lambda t, T: True),
}
REV_SHIFT = 0.28  # reverse-direction nodes sit a little to the right, so arrows stay apart
NODE = 0.24  # arrows stop this far (in steps) short of a node


def _rows(run_passes, cell: str, unit: int, x: np.ndarray, vocab: tuple, T: int) -> list[dict]:
    """The rows of nodes, bottom to top: x, then per layer and direction h (and c), then y.

    Jordan: each layer also gets its output row y_t (what it feeds back, and up), except a
    one-directional top layer, whose y_t is the network's output row."""
    rows = [{"key": "x", "label": "input x_t", "y": 0.0, "values": x[:T, 0], "dir": 0,
             "layer": -1, "text": [vocab[i] for i in np.argmax(x[:T], axis=1)] if vocab
             else None}]
    y = 1.0
    L = len(run_passes)
    for layer, row in enumerate(run_passes):
        for d, pv in enumerate(row):
            arrow = " ←" if d else (" →" if len(row) > 1 else "")
            sup = f" layer {layer + 1}" if L > 1 else ""
            rows.append({"key": "h", "label": f"{CELLS[cell].h_label}{sup}{arrow}", "y": y,
                         "values": pv.h[:T, min(unit, pv.h.shape[1] - 1)], "dir": d,
                         "layer": layer})
            if pv.c is not None:
                rows.append({"key": "c", "label": f"c_t{sup}{arrow}", "y": y + 0.55,
                             "values": pv.c[:T, min(unit, pv.c.shape[1] - 1)], "dir": d,
                             "layer": layer})
                y += 0.55
            if pv.y is not None and (layer < L - 1 or len(row) > 1):
                rows.append({"key": "s", "label": f"y_t{sup}{arrow}", "y": y + 0.55,
                             "values": pv.y[:T, min(unit, pv.y.shape[1] - 1)], "dir": d,
                             "layer": layer})
                y += 0.55
            y += 1.0
    top = run_passes[-1]
    out = np.concatenate([pv.y[:T] if pv.y is not None else
                          pv.out[:T] if pv.out is not None else pv.h[:T] for pv in top], axis=1)
    rows.append({"key": "y", "label": "output y_t", "y": y,
                 "values": out[:, min(unit, out.shape[1] - 1)], "dir": 0, "layer": L})
    if cell == "jordan" and not any(r["key"] == "s" and r["layer"] == L - 1 for r in rows):
        rows[-1]["label"] = "output y_t (fed back)"
    return rows


def _segments(pairs) -> tuple[list, list, list]:
    """Arrow segments as one trace: [start, end, gap] each; the end gets an arrowhead."""
    xs, ys, sizes = [], [], []
    for (x0, y0), (x1, y1) in pairs:
        dx, dy = x1 - x0, y1 - y0
        n = max(np.hypot(dx, dy), 1e-9)
        xs += [x0 + dx * NODE / n, x1 - dx * NODE / n, None]
        ys += [y0 + dy * NODE / n, y1 - dy * NODE / n, None]
        sizes += [0, 12, 0]
    return xs, ys, sizes


def _arrow_trace(pairs, color: str, name: str, dash: str = "solid") -> dict:
    xs, ys, sizes = _segments(pairs)
    return {"type": "scatter", "mode": "lines+markers", "x": xs, "y": ys, "name": name,
            "line": {"color": color, "width": 2, "dash": dash}, "hoverinfo": "skip",
            "marker": {"symbol": "arrow", "angleref": "previous", "size": sizes,
                       "color": color}, "showlegend": False}


def unroll_figure(run_passes, x: np.ndarray, cell: str, arch: str, unit: int = 0,
                  vocab: tuple = (), title: str = "") -> dict:
    """The unrolled graph for T steps (one step for one-to-one), animated step by step."""
    T = 1 if arch == "one-to-one" else x.shape[0]
    has_x, has_y = ARCH_IO[arch]
    rows = _rows(run_passes, cell, unit, x, vocab, T)

    def px(row, t):
        return t + (REV_SHIFT if row["dir"] else 0.0)

    rec, vert = [], []
    jordan = cell == "jordan"
    for r in rows:
        if r["key"] in ("h", "c") and T > 1:
            # Jordan: h_{t+1} reads y_t (its layer's output row), not h_t
            src = _jordan_source(rows, r) if jordan else r
            for t in range(T - 1):
                a, b = (t, t + 1) if r["dir"] == 0 else (t + 1, t)
                rec.append(((px(src, a), src["y"]), (px(r, b), r["y"])))
        if r["key"] == "s":  # Jordan's lower-layer y_t: computed from h_t at the same step
            h_row = next(o for o in rows if o["key"] == "h" and o["layer"] == r["layer"]
                         and o["dir"] == r["dir"])
            vert += [((px(h_row, t), h_row["y"]), (px(r, t), r["y"])) for t in range(T)]
    by_layer: dict[int, list] = {}
    for r in rows:
        # links between layers leave from h, or from Jordan's y_t where a layer has one
        if r["key"] == "c" or (r["key"] == "h" and any(
                o["key"] == "s" and o["layer"] == r["layer"] for o in rows)):
            continue
        by_layer.setdefault(r["layer"], []).append(r)
    layers = sorted(by_layer)
    for lo, hi in zip(layers[:-1], layers[1:], strict=True):
        for t in range(T):
            if lo == -1 and not has_x(t, T):
                continue
            if hi == layers[-1] and not has_y(t, T):
                continue
            for a in by_layer[lo]:
                for b in by_layer[hi]:
                    # bidirectional: draw same-direction links only, to keep it legible
                    if a["key"] in ("h", "s") and b["key"] == "h" and a["dir"] != b["dir"]:
                        continue
                    vert.append(((px(a, t), a["y"]), (px(b, t), b["y"])))
    data = [_arrow_trace(rec, "#c2410c", "recurrent"), _arrow_trace(vert, "#64748b", "input")]

    for r in rows:
        if r["key"] == "x":
            ts = [t for t in range(T) if has_x(t, T)]
        elif r["key"] == "y":
            ts = [t for t in range(T) if has_y(t, T)]
        else:
            ts = list(range(T))
        vals = np.asarray(r["values"], dtype=np.float64)
        finite = vals[np.isfinite(vals)]
        span = float(np.max(np.abs(finite))) if finite.size else 1.0
        span = span if span > 0 else 1.0
        trace = {"type": "scatter", "mode": "markers+text" if r.get("text") else "markers",
                 "x": [px(r, t) for t in ts], "y": [r["y"]] * len(ts), "name": r["label"],
                 "marker": {"size": 28, "color": masked(np.round(vals[ts], 3)),
                            "colorscale": DIVERGING, "cmin": -span, "cmax": span,
                            "line": {"color": "#334155", "width": 1.5},
                            "showscale": False},
                 "hovertemplate": r["label"] + " at t=%{x:.0f}: %{marker.color}<extra></extra>",
                 "showlegend": False}
        if r.get("text"):
            trace["text"] = [r["text"][t] for t in ts]
            trace["textfont"] = {"size": 15, "color": "#0f172a"}
        data.append(trace)

    steps = frame_steps(T)
    ring = len(data)

    def cursor(t):
        return {"x": [px(r, t) for r in rows], "y": [r["y"] for r in rows]}

    data.append({"type": "scatter", "mode": "markers", "name": "now", "showlegend": False,
                 "hoverinfo": "skip", **cursor(steps[0]),
                 "marker": {"size": 40, "color": "rgba(0,0,0,0)", "symbol": "circle",
                            "line": {"color": "#facc15", "width": 5}}})
    windowed = T > WINDOW
    top = rows[-1]["y"]
    right = 0.4 + (REV_SHIFT if any(r["dir"] for r in rows) else 0.0)  # room for shifted nodes

    def window(t):
        lo = min(max(t - WINDOW // 2, 0), T - WINDOW)
        return [lo - 0.6, lo + WINDOW - 1 + right]

    frames = []
    for t in steps:
        frame = {"name": str(t), "traces": [ring], "data": [cursor(t)]}
        if windowed:
            frame["layout"] = {"xaxis": {"range": window(t)}}
        frames.append(frame)
    xr = window(steps[0]) if windowed else [-0.6, T - 1 + right]
    bottom = controls_margin() if T > 1 else 70
    layout = base_layout(
        title or "The network unrolled in time", legend=False,
        height=TITLE_PX + 8 + int(80 * top + 90) + bottom,
        xaxis=axis("time step t", range=xr, dtick=1, zeroline=False, showgrid=False),
        yaxis=axis("", range=[-0.5, top + 0.5], tickvals=[r["y"] for r in rows],
                   ticktext=[r["label"] for r in rows], zeroline=False, showgrid=False,
                   tickfont={"size": 15}),
        margin={"l": 150, "r": 20, "b": bottom})
    if T > 1:
        layout.update(animation_controls([str(t) for t in steps], layout))
    return {"data": data, "layout": layout, "frames": frames if T > 1 else []}


def _jordan_source(rows: list[dict], r: dict) -> dict:
    """The row a Jordan h row reads its recurrence from: its layer's y_t row, or the
    network's output row for the top layer (one direction: the output row holds it)."""
    own = [o for o in rows if o["key"] == "s" and o["layer"] == r["layer"]
           and o["dir"] == r["dir"]]
    return own[0] if own else rows[-1]


def _bezier(p0, p1, p2, p3, n: int = 24) -> tuple[list, list]:
    t = np.linspace(0.0, 1.0, n)[:, None]
    pts = ((1 - t) ** 3 * np.array(p0) + 3 * (1 - t) ** 2 * t * np.array(p1)
           + 3 * (1 - t) * t ** 2 * np.array(p2) + t ** 3 * np.array(p3))
    return [round(float(v), 4) for v in pts[:, 0]], [round(float(v), 4) for v in pts[:, 1]]


# what the recurrent loop goes through: a matrix that mixes the units, or (the diagonal
# cells and IndRNN) an elementwise factor, each unit carrying only its own value
LOOP_LABELS = {"indrnn": "u ⊙", "mingru": "(1 − z<sub>t</sub>) ⊙", "minlstm": "f′<sub>t</sub> ⊙",
               "lru": "λ ⊙", "s6": "e<sup>Δ<sub>t</sub>A</sup> ⊙"}


def folded_figure(cell: str) -> dict:
    """A feed-forward net next to the same net folded with its recurrent loop.

    Two columns (x = 0 and x = 2), each labelled underneath; the loop leaves the state node
    on the right and comes back into it (Jordan: from y_t back into h_t), labelled with the
    weight it goes through. Everything stays inside the x range at any column width.
    """
    ff, rc = 0.0, 2.4
    data = [
        _arrow_trace([((ff, 0), (ff, 1)), ((ff, 1), (ff, 2)), ((rc, 0), (rc, 1)),
                      ((rc, 1), (rc, 2))], "#64748b", "feed-forward"),
    ]
    src = 2 if cell == "jordan" else 1
    lx, ly = _bezier((rc + 0.22, src + 0.12), (rc + 1.1, src + 0.55 if src == 1 else src),
                     (rc + 1.1, 0.45 if src == 1 else 1.0), (rc + 0.22, 0.88))
    sizes = [0] * (len(lx) - 1) + [14]
    data.append({"type": "scatter", "mode": "lines+markers", "x": lx, "y": ly,
                 "line": {"color": "#c2410c", "width": 3.5}, "hoverinfo": "skip",
                 "marker": {"symbol": "arrow", "angleref": "previous", "size": sizes,
                            "color": "#c2410c"}, "showlegend": False})
    data.append({"type": "scatter", "mode": "markers+text", "x": [ff] * 3 + [rc] * 3,
                 "y": [0, 1, 2] * 2, "text": ["x", "h", "y", "x_t", "h_t", "y_t"],
                 "textfont": {"size": 16, "color": "#0f172a"}, "hoverinfo": "skip",
                 "showlegend": False,
                 "marker": {"size": 42, "color": "#f1f5f9",
                            "line": {"color": "#334155", "width": 2}}})
    weight = LOOP_LABELS.get(cell, "W<sub>hh</sub>")
    annotations = [
        {"x": ff, "y": -0.62, "text": "feed-forward", "showarrow": False,
         "font": {"size": 15, "color": "#334155"}, "yanchor": "top"},
        {"x": rc, "y": -0.62, "text": "recurrent", "showarrow": False,
         "font": {"size": 15, "color": "#c2410c"}, "yanchor": "top"},
        {"x": rc + 0.9, "y": (src + 0.5) / 2 + 0.25, "text": weight, "showarrow": False,
         "xanchor": "left", "font": {"size": 15, "color": "#c2410c"}},
    ]
    layout = base_layout("", height=330, legend=False,
                         xaxis=axis("", range=[-1.2, 4.3], visible=False, fixedrange=True),
                         yaxis=axis("", range=[-1.15, 2.45], visible=False, fixedrange=True),
                         annotations=annotations, margin={"l": 0, "r": 0, "t": 8, "b": 0})
    layout["title"]["text"] = ""
    return {"data": data, "layout": layout}

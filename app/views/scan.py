"""The Parallel scan page's figures: the scan's tree of combines, each a bar over the span of
steps it covers coloured by the memory surviving that span, and the scan's states beside the
loop's."""

from __future__ import annotations

import numpy as np

from app.views.common import (
    SEQUENTIAL,
    animation_controls,
    axis,
    base_layout,
    controls_margin,
)
from engine import scan

METHOD_NAMES = {"hillis_steele": "Hillis-Steele", "blelloch": "Blelloch"}


def span_memory(a: np.ndarray, lo: int, hi: int) -> float:
    """log10 of prod |a| over steps lo..hi, the carry of the pair combined over that span: how
    much of the state before the span survives it (0: all of it; -3: a thousandth)."""
    with np.errstate(divide="ignore"):
        return float(np.sum(np.log10(np.abs(a[lo:hi + 1]))))


def tree_figure(a: np.ndarray, method: str, title: str = "") -> dict:
    """One bar per combine of ``method`` over len(a) steps: round r is row r (the leaves,
    the pairs themselves, on top), the bar spans the steps [lo..hi] the result covers, and
    its colour is ``span_memory`` (dark: the span forgets, bright: it remembers)."""
    T = len(a)
    nodes = scan.tree(T, method)
    rows = [(-1, t, t, t) for t in range(T)] + [(n.round, n.position, n.lo, n.hi)
                                                  for n in nodes]
    memory = [span_memory(a, lo, hi) for _, _, lo, hi in rows]
    finite = [m for m in memory if np.isfinite(m)]
    low = min(min(finite, default=0.0), -1e-3)
    shown = [m if np.isfinite(m) else low for m in memory]
    depth = max((r for r, *_ in rows), default=-1) + 2
    bar = {"type": "bar", "orientation": "h", "name": "combine",
           "y": [f"round {r + 1}" if r >= 0 else "pairs (a_t, b_t)" for r, *_ in rows],
           "base": [lo - 0.42 for *_, lo, _ in rows],
           "x": [hi - lo + 0.84 for *_, lo, hi in rows],
           "marker": {"color": shown, "colorscale": SEQUENTIAL, "cmin": low, "cmax": 0.0,
                      "line": {"color": "#334155", "width": 1},
                      "colorbar": {"title": {"text": "log₁₀ ∏|a|"}, "thickness": 14}},
           "customdata": [[lo, hi, m] for (_, _, lo, hi), m in zip(rows, memory, strict=True)],
           "hovertemplate": "steps %{customdata[0]}..%{customdata[1]}<br>"
                            "log₁₀ ∏|a| over the span: %{customdata[2]:.3g}<extra></extra>"}
    order = ["pairs (a_t, b_t)"] + [f"round {r}" for r in range(1, depth)]
    bottom = controls_margin()
    layout = base_layout(title, height=150 + 46 * depth + bottom - 60, legend=False,
                         xaxis=axis("time step t", range=[-0.6, T - 0.4], dtick=1 if T <= 16
                                    else 2),
                         yaxis=axis("", categoryorder="array", categoryarray=order,
                                    autorange="reversed"),
                         barmode="overlay", bargap=0.25, margin={"b": bottom})
    frames, labels = sweep_frames(a, rows, depth - 1, low)
    layout.update(animation_controls([f["name"] for f in frames], layout, labels=labels,
                                     duration=700, prefix="", redraw=True))
    return {"data": [bar], "layout": layout, "frames": frames}


FAINT = 0.12  # a combine not yet done in the frame shown


def sweep_frames(a: np.ndarray, rows: list, rounds: int, low: float) -> tuple[list, list]:
    """The tree round by round: forward, then the backward pass's reverse scan (after a
    first frame, the whole forward tree, as the figure is drawn before Play).

    Forward frame k shows the combines of rounds up to k (the rest faint). BPTT is the
    reverse scan g_t = dl_t/dh_t + a_(t+1) g_(t+1): the same tree over the steps taken from
    the end, so a combine over [lo..hi] of the reversed steps covers T-1-hi..T-1-lo, and
    what it carries is the product of a over the steps after each of them (a_(t+1); nothing
    follows the last step, whose factor is 1)."""
    T = len(a)
    after = np.append(np.asarray(a)[1:], 1.0)  # the reverse scan's carry at step t: a_(t+1)
    # first, the figure as drawn before Play: every round of the forward scan
    frames = [{"name": "all", "traces": [0], "data": [{
        "base": [lo - 0.42 for *_, lo, _ in rows],
        "customdata": [[lo, hi, span_memory(a, lo, hi)] for *_, lo, hi in rows],
        "marker": {"color": [m if np.isfinite(m) else low for m in
                             (span_memory(a, lo, hi) for *_, lo, hi in rows)],
                   "opacity": [1.0] * len(rows)}}]}]
    labels = ["forward: every round"]
    for backward in (False, True):
        spans = [(T - 1 - hi, T - 1 - lo) if backward else (lo, hi) for *_, lo, hi in rows]
        memory = [span_memory(after if backward else a, lo, hi) for lo, hi in spans]
        color = [m if np.isfinite(m) else low for m in memory]
        for k in range(-1, rounds):
            way = "backward (reverse scan)" if backward else "forward"
            labels.append(f"{way}: " + ("the pairs" if k < 0 else f"round {k + 1}"))
            frames.append({"name": f"{'b' if backward else 'f'}{k + 1}", "traces": [0],
                           "data": [{"base": [lo - 0.42 for lo, _ in spans],
                                     "customdata": [[lo, hi, m] for (lo, hi), m
                                                    in zip(spans, memory, strict=True)],
                                     "marker": {"color": color, "opacity": [
                                         1.0 if r <= k else FAINT for r, *_ in rows]}}]})
    return frames, labels


def states_figure(h_loop: np.ndarray, h_scan: np.ndarray, title: str = "") -> dict:
    """The loop's states and the scan's, one over the other: the same numbers (a complex
    state, the LRU's, by its real part)."""
    t = list(range(len(h_loop)))
    part = np.real if np.iscomplexobj(h_loop) else np.asarray
    data = [{"type": "scatter", "mode": "lines+markers", "x": t, "y": part(h_loop).tolist(),
             "name": "loop (T steps, one after another)",
             "line": {"color": "#2563eb", "width": 5}, "marker": {"size": 9}},
            {"type": "scatter", "mode": "markers", "x": t, "y": part(h_scan).tolist(),
             "name": "scan", "marker": {"color": "#c2410c", "size": 6, "symbol": "x"}}]
    label = "Re h_t" if np.iscomplexobj(h_loop) else "h_t"
    layout = base_layout(title, height=360, xaxis=axis("time step t"), yaxis=axis(label))
    return {"data": data, "layout": layout}

"""Parallel scan: why the modern diagonal recurrences run fast. The pairs (a_t, b_t) of
h_t = a_t h_{t-1} + b_t combine associatively, so a tree of log2 T rounds gives every state."""

from __future__ import annotations

import numpy as np
import streamlit as st

from app import compute, ui
from app.state import DIAGONAL, SCAN_METHODS, cell_name
from app.views import scan as sv
from engine import scan

s = ui.settings()
ui.header(
    "Parallel scan",
    "A diagonal recurrence $h_t = a_t \\odot h_{t-1} + b_t$ (minGRU: $a_t = 1 - z_t$, "
    "$b_t = z_t \\odot \\tilde h_t$; LRU: $a_t = \\lambda$, complex, the same every "
    "step) needs no $h_{t-1}$ to compute $a_t$ and $b_t$: they "
    "come from the input alone. Two steps fold into one pair, and pairs fold into pairs: "
    "a tree of about $\\log_2 T$ rounds (Hillis-Steele; Blelloch about twice as many, with "
    "less work) gives every state, where the loop needs $T$ rounds one after another. Each "
    "bar is one combine, over the steps it covers; its "
    "colour is how much of the state before those steps survives them, "
    "$\\log_{10} \\prod |a|$.",
    s,
    extra_latex=(r"(a_i, b_i) \circ (a_j, b_j) &= (a_j a_i,\; a_j b_i + b_j)",),
    cell=None if s.cell in DIAGONAL else "mingru",
)

pairs = ui.run_engine(compute.scan_pairs, s)
if pairs is not None:
    if not ui.presenting():
        st.radio("Scan", SCAN_METHODS, key="w_scan", horizontal=True,
                 format_func=sv.METHOD_NAMES.get,
                 help="Hillis-Steele: every position combines with the one 2^r before it, "
                      "log2 T rounds, about T log2 T combines. Blelloch: an up-sweep of "
                      "aligned blocks (the bars), then a down-sweep handing each block its "
                      "prefix, about 2 log2 T rounds and at most 3T combines (fewer than "
                      "Hillis-Steele's from T = 11 on).")
    T = len(pairs.a)
    h_scan, cost = scan.scan(pairs.a, pairs.b, method=s.scan)
    h_loop, loop_cost = scan.loop(pairs.a, pairs.b)
    where = "" if s.cell in DIAGONAL else " (the sidebar's cell is not diagonal: a minGRU " \
                                          "with its input, size and seed)"
    title = (f"{sv.METHOD_NAMES[s.scan]} scan of {cell_name(pairs.cell)} {pairs.label}, "
             f"first {T} steps")
    if not ui.presenting():
        row = st.container(horizontal=True, gap="medium")
        row.metric("Rounds (depth)", f"{cost.rounds}", delta=f"loop: {loop_cost.rounds}",
                   delta_color="off", delta_arrow="off",
                   help="Combines that must wait for each other: the time on hardware with "
                        "enough parallel lanes (a GPU).")
        row.metric("Combines (work)", f"{cost.combines}", delta=f"loop: {loop_cost.combines}",
                   delta_color="off", delta_arrow="off",
                   help="All the combines: the time on one core. Blelloch's tree does O(T) "
                        "of them, Hillis-Steele O(T log T) in fewer rounds.")
        diff = float(np.max(np.abs(h_scan - h_loop)))
        row.metric("max |scan − loop|", f"{diff:.1e}",
                   help="The scan's states against the sequential loop's, in float64: the "
                        "same numbers, to rounding (the combines add in another order).")
    ui.chart(sv.tree_figure(pairs.a, s.scan, title=title), key="scan_tree", primary=True,
             code=False)
    if ui.presenting():
        st.stop()
    if where or s.layers > 1 or s.bidir:  # say which of several recurrences is scanned
        st.caption("The pairs are those of layer 0, forward direction, the first unit chosen "
                   f"on the Hidden state page{where}.")
    st.caption("Press Play: the combines round by round, then the backward pass. BPTT is "
               "the reverse scan g_t = ∂ℓ_t/∂h_t + a_(t+1) g_(t+1): the same tree over the "
               "steps taken from the end, each bar coloured by the a's it carries back.")
    if s.scan == "blelloch":
        st.caption("Blelloch's bars are its up-sweep; the down-sweep then runs the tree back "
                   "down, handing each block the combined pair of everything before it, and "
                   "one last combine per step gives the states.")
    ui.chart(sv.states_figure(h_loop, h_scan,
                              title="h_t by the loop and by the scan: the same numbers"
                              + (" (the LRU's state is complex: its real part)"
                                 if np.iscomplexobj(h_loop) else "")),
             key="scan_states")

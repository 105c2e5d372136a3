"""Unroll: the same cell, copied once per time step, passing its state to the right."""

from __future__ import annotations

import streamlit as st

from app import equations, ui
from app.state import ARCHS, DIAGONAL, cell_name
from app.views import unroll as uv

s = ui.settings()
ui.header(
    "Unroll",
    "A recurrent network is one small cell used again and again. Unrolled in time, each "
    "copy reads the input $x_t$ and the previous state, and hands its new state to the "
    "next copy (orange arrows): that is the network's memory. The colour of a node is the "
    "value of one unit. Press Play to step through time.",
    s,
)

run = ui.simulation(s, "the hidden state")
if run is not None:
    if not ui.presenting():  # the two controls that shape the chart, in one row above it
        row = st.container(horizontal=True, vertical_alignment="bottom", gap="medium")
        row.radio("Pattern", ARCHS, key="w_arch", horizontal=True, width="content",
                  help="Which steps read an input and which produce an output. The loss "
                       "setting in the sidebar decides where the gradient starts.")
        row.text_input("Unit coloured", key="w_units", width=180, help="The first unit of "
                       "this list colours the nodes (same list as on the Hidden state page).")
    unit = s.chosen_units()[0]
    deep = (f"{s.layers} layers" if s.layers > 1 else "1 layer") + \
        (", bidirectional" if s.bidir else "")
    fig = uv.unroll_figure(run.passes, run.x, s.cell, s.arch, unit=unit, vocab=run.vocab,
                           title=f"{cell_name(s.cell)}, {deep}, {s.arch}: unit {unit}")
    ui.chart(fig, key="unroll", primary=True)
    ui.intervention_effect(s, run, min(s.layer, s.layers - 1))
    if not ui.presenting():
        # The folded cell under the unrolled one: the same network before unrolling.
        left, right = st.columns([1.25, 2], gap="large")
        with left:
            ui.chart(uv.folded_figure(s.cell), key="folded")
        with right:
            right.caption("Colour: blue negative, white zero, red positive; each row is scaled "
                          "to its own largest |value|. Hover a node for its value.")
            if s.arch == "one-to-one":
                right.caption("One-to-one is a plain feed-forward network: a single step, no "
                              "memory.")
            if run.T > uv.WINDOW:
                right.caption(f"{run.T} steps: the chart shows {uv.WINDOW} at a time around the "
                              "cursor; drag the chart or the slider to move.")
            right.caption("On the left, the same network folded: a feed-forward net, and the "
                          "recurrent one with its loop.")
            if s.cell in DIAGONAL + ("indrnn",):
                right.caption(f"The {cell_name(s.cell)} loop is elementwise: each unit's "
                              "arrow carries only its own value, no W_hh mixes the units.")
        st.fragment(equations.step_panel)(s, run.T, unit, min(s.layer, s.layers - 1))

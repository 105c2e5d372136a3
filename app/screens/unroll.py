"""Unroll: the same cell, copied once per time step, passing its state to the right."""

from __future__ import annotations

import streamlit as st

from app import ui
from app.state import ARCHS
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
    # The folded cell sits beside the controls; the unrolled graph gets the full width, so
    # its arrows stay long enough to point at.
    if not ui.presenting():
        left, right = st.columns([1.25, 2], gap="large")
        with left:
            ui.chart(uv.folded_figure(s.cell), key="folded")
        with right:
            right.radio("Pattern", ARCHS, key="w_arch", horizontal=True,
                        help="Which steps read an input and which produce an output. The loss "
                             "setting in the sidebar decides where the gradient starts.")
            right.text_input("Unit coloured", key="w_units", help="The first unit of this list "
                             "colours the nodes (same list as on the Hidden state page).")
            right.caption("Colour: blue negative, white zero, red positive; each row is scaled "
                          "to its own largest |value|. Hover a node for its value.")
            if s.arch == "one-to-one":
                right.caption("One-to-one is a plain feed-forward network: a single step, no "
                              "memory.")
            if run.T > uv.WINDOW:
                right.caption(f"{run.T} steps: the chart shows {uv.WINDOW} at a time around the "
                              "cursor; drag the chart or the slider to move.")
    unit = s.chosen_units()[0]
    deep = (f"{s.layers} layers" if s.layers > 1 else "1 layer") + \
        (", bidirectional" if s.bidir else "")
    fig = uv.unroll_figure(run.passes, run.x, s.cell, s.arch, unit=unit, vocab=run.vocab,
                           title=f"{s.cell.upper()}, {deep}, {s.arch}: unit {unit}")
    ui.chart(fig, key="unroll", primary=True)

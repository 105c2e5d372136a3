"""Gates: the switches (LSTM i, f, o; GRU r, z) that decide what is kept and what is written."""

from __future__ import annotations

import numpy as np
import streamlit as st

from app import ui
from app.views import gates as gv
from engine import diagnostics

s = ui.settings()
ui.header(
    "Gates",
    "Gated cells learn when to remember. Each gate is a number between 0 (shut) and 1 "
    "(open) per unit and step: the LSTM's forget gate $f_t$ keeps the cell state $c_t$, "
    "its input gate $i_t$ writes to it; the GRU's update gate $z_t$ blends old and new. "
    "A gate stuck near 0 or 1 is saturated: it barely passes gradient to its weights.",
    s,
)

if s.cell not in ("lstm", "gru"):
    st.info(f"The {s.cell.upper()} cell has no gates: its state is simply overwritten at "
            "every step through φ. Choose LSTM or GRU in the sidebar to see gates at work.")
else:
    run = ui.simulation(s, "the state")
    if run is not None:
        if s.layers > 1:
            st.selectbox("Layer shown", list(range(s.layers)), key="w_layer")
        layer = min(s.layer, s.layers - 1)
        pv = run.passes[layer][0]
        panels = dict(pv.gates)
        if pv.c is not None:
            panels["c"] = pv.c
        if not ui.presenting():
            cols = st.columns(len([g for g in pv.gates if g in gv.SIGMOID_GATES]))
            for col, (name, values) in zip(cols, [(g, v) for g, v in pv.gates.items()
                                                  if g in gv.SIGMOID_GATES], strict=True):
                share = float(np.mean(diagnostics.gate_saturation(values, gv.SATURATION)))
                col.metric(f"{gv.GATE_NAMES[name]} saturated", f"{share:.0%}",
                           help="Share of (unit, step) values below 0.05 or above 0.95.")
        direction = ", forward direction" if s.bidir else ""
        ui.chart(gv.gates_figure(panels, title=f"Gates of layer {layer}{direction}"),
                 key="gates", primary=True)
        ui.chart(gv.saturation_figure(pv.gates), key="gate_saturation")

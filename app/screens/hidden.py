"""Hidden state: what the network remembers, unit by unit and step by step."""

from __future__ import annotations

import streamlit as st

from app import trained, ui
from app.state import cell_name
from app.views import hidden as hv
from engine import CELLS

s = ui.settings()
ui.header(
    "Hidden state",
    "The hidden state $h_t$ is the network's memory: one number per unit, rewritten at "
    "every step from the new input $x_t$ and the old state $h_{t-1}$. Each row of the "
    "heatmap is one unit over time (red positive, blue negative). On the right, the whole "
    "state is flattened to two dimensions (PCA) so you can watch its path.",
    s,
)

run = ui.simulation(s, "the hidden state")
if run is not None:
    if not ui.presenting():
        units = {"label": "Units drawn as lines (comma separated)", "key": "w_units",
                 "help": f"Unit numbers from 0 to {s.hidden - 1}."}
        if s.layers > 1:
            c1, c2 = st.columns([1, 2])
            c1.selectbox("Layer shown", list(range(s.layers)), key="w_layer")
            c2.text_input(**units)
        else:  # no columns: four elements fewer for the browser to redraw on every change
            st.text_input(**units, width=420)
    layer = min(s.layer, s.layers - 1)
    row = run.passes[layer]
    h = ui.layer_state(run, layer)
    what = f"layer {layer}" + (", forward units then reverse units" if len(row) > 1 else "")
    symbol = CELLS[s.cell].h_label  # the LRU's state is complex: its real part is drawn
    base = None if run.base is None else ui.layer_state(run.base, layer)
    fig = hv.hidden_figure(h, s.chosen_units(),
                           title=f"{symbol} of {what}, {cell_name(s.cell)} cell", symbol=symbol,
                           base=base)
    ui.chart(fig, key="hidden_state", primary=True)
    ui.intervention_effect(s, run, layer)
    if run.outputs is not None and not ui.presenting():
        entry = trained.lookup(s.weights)
        last = entry is not None and entry.many_to_one
        ui.chart(hv.outputs_figure(run.outputs, last), key="hidden_outputs", code=False)
        st.caption("The read-out applied to the top layer's output at every step"
                   + (": trained many-to-one, the model answers at the last step (◆); "
                      "earlier steps show what it would answer if the sequence ended there."
                      if last else "."))

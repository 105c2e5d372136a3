"""Gates: the switches (LSTM i, f, o; GRU r, z) that decide what is kept and what is written,
and, for cells without gates, what plays their part: the activation's slope phi'(a_t)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import streamlit as st

from app import compute, ui
from app.state import DIAGONAL, GATED, cell_name
from app.views import gates as gv
from engine import CELLS, diagnostics

SHUT = 0.05  # a slope below 5% of its largest possible value passes almost no gradient

s = ui.settings()
gated = s.cell in GATED
cell = CELLS[s.cell]
DIAGONAL_TEXT = {
    "mingru": "minGRU's update gate $z_t$ sees the input alone, not $h_{t-1}$: each step the "
              "state is kept by $1 - z_t$ and the candidate $\\tilde h_t$ (linear in $x_t$) "
              "written by $z_t$, channel by channel. That makes the Jacobian "
              "$\\mathrm{diag}(1 - z_t)$ exactly and the whole sequence one parallel scan.",
    "minlstm": "minLSTM's forget and input gates see the input alone and are normalised to "
               "shares that sum to one, $f'_t + i'_t = 1$: the state is kept by $f'_t$ and "
               "the candidate $\\tilde h_t$ (linear in $x_t$) written by $i'_t$. There is no "
               "output gate and no separate cell state; the Jacobian is "
               "$\\mathrm{diag}(f'_t)$ exactly.",
    "lru": "The LRU has no gates. Each channel keeps its complex state by $|\\lambda_j|$ and "
           "turns it by the phase of $\\lambda_j$, the same at every step whatever the input: "
           "a learned, fixed rate of forgetting. It cannot decide from the input what to "
           "keep; a gate computed from $x_t$ (minGRU's $z_t$, Mamba's $\\Delta_t$) can. "
           "Below, an LSTM's and a GRU's gates on the same input, which do move.",
    "s6": "S6 has no gates either, but its step size $\\Delta_t$ is computed from the input: a "
          "large $\\Delta_t$ resets a channel to the new input ($e^{\\Delta_t A}$ near 0), a "
          "small one holds it (near 1). It is how much to remember now, chosen token by "
          "token: the selectivity the LRU's fixed $\\lambda$ lacks, and what lets Mamba copy "
          "the tokens that matter and skip the rest.",
}
ui.header(
    "Gates",
    DIAGONAL_TEXT[s.cell] if s.cell in DIAGONAL else
    "Gated cells learn when to remember. Each gate is a number between 0 (shut) and 1 "
    "(open) per unit and step: the LSTM's forget gate $f_t$ keeps the cell state $c_t$, "
    "its input gate $i_t$ writes to it; the GRU's update gate $z_t$ blends old and new. "
    "A gate stuck near 0 or 1 is saturated: it barely passes gradient to its weights."
    if gated else
    f"The {cell_name(s.cell)} cell has no gates: its state is overwritten at every step "
    "through φ. What plays a gate's part is the slope $\\varphi'(a_t)$: the Jacobian is "
    "$J_t = \\mathrm{diag}(\\varphi'(a_t))\\,W_{hh}$, so where the slope is near 0 (a "
    "saturated tanh, a dead ReLU) the unit passes no gradient, like a shut gate. Below, an "
    "LSTM's and a GRU's gates on the same input.",
    s,
)

run = ui.simulation(s, "the state")
if run is not None:
    if s.layers > 1:
        st.selectbox("Layer shown", list(range(s.layers)), key="w_layer")
    layer = min(s.layer, s.layers - 1)
    pv = run.passes[layer][0]
    direction = ", forward direction" if s.bidir else ""
    if gated:
        panels = {g: pv.gates[g] for g in cell.shown_gates or cell.gate_names}
        # i' = 1 - f' saturates exactly when f' does: one metric and one line for the two
        gates = {g: v for g, v in panels.items() if g in gv.SIGMOID_GATES and g != "i_prime"}
        if pv.c is not None:
            panels["c"] = pv.c
        shown = list(gates.items())
        ranges, title = {}, f"Gates of layer {layer}{direction}"
    elif s.cell == "s6":  # its step size, chosen from the input, is what keeps or resets
        delta = np.asarray(pv.gates["delta"], dtype=np.float64)
        log_delta = np.log10(delta)
        # each channel's own time scale (top), and how the input moves it (middle: the
        # selection, a few percent in an untrained layer, far more in a trained one)
        panels = {"log_delta": log_delta,
                  "delta_change": 100 * (delta / delta.mean(axis=0) - 1), "y": pv.out}
        shown = []
        ranges = {"log_delta": (float(log_delta.min()), float(log_delta.max()))}
        title = f"How much S6 remembers now: its step size Δ_t, layer {layer}{direction}"
    elif s.cell == "lru":  # no gate, no activation: its carry |lambda| is what keeps
        panels = {"lambda_abs": pv.gates["lambda_abs"], "re_h": pv.h}
        shown, ranges = [], {"lambda_abs": (0.0, 1.0)}
        title = f"What keeps the LRU's state: |λ|, the same at every step, layer {layer}{direction}"
    else:
        panels = {f"φ'{k}": v for k, v in pv.slopes.items()}
        panels.update({"h": pv.h} if pv.y is None else {"h": pv.h, "y": pv.y})
        shown = [(k, v / run.gamma) for k, v in panels.items() if k.startswith("φ'")]
        ranges = {k: (0.0, run.gamma) for k in panels if k.startswith("φ'")}
        title = f"What gates the {cell_name(s.cell)}: the slope φ'(a_t), layer {layer}{direction}"
    if not ui.presenting():
        row = st.container(horizontal=True, gap="medium")
        if s.cell == "s6":
            delta = pv.gates["delta"]
            row.metric("Δ_t from", f"{float(delta.min()):.3g} to {float(delta.max()):.3g}",
                       help="The step sizes over units and steps: e^(Δ_t A) keeps a state "
                            "(Δ_t small) or resets it to the new input (Δ_t large).")
            row.metric("largest e^(Δ_t A)", f"{float(np.max(pv.gates['abar'])):.3g}",
                       help="The most any state keeps of itself over one step.")
        if s.cell == "lru":
            # from the float64 weights: the chart's float32 rounds |λ| near 1 up to 1
            net = compute.network_and_input(s)[0]
            decay = float(np.exp(net.layer_params(layer)["nu_log"]).min())  # -ln|λ| smallest
            largest = float(np.exp(-decay))
            row.metric("largest |λ|", f"{largest:.3g}",
                       help="The channel that forgets slowest: its state shrinks by this "
                            "factor every step (and |λ| < 1 always: λ = exp(−e^ν + i e^θ)).")
            row.metric("its memory", f"{1 / decay:.3g} steps",
                       help="1 / (−ln |λ|): the steps over which that channel's state falls "
                            "to 1/e of itself without new input.")
        for name, values in shown:
            if gated:
                share = float(np.mean(diagnostics.gate_saturation(values, gv.SATURATION)))
                row.metric(f"{gv.GATE_NAMES[name]} saturated", f"{share:.0%}",
                           help="Share of (unit, step) values below 0.05 or above 0.95.")
            else:
                share = float(np.mean(np.asarray(values) < SHUT))
                row.metric(f"{gv.GATE_NAMES[name]} near 0", f"{share:.0%}",
                           help=f"Share of (unit, step) slopes below {SHUT:.0%} of their "
                                f"largest possible value γ = {run.gamma:g}: those units pass "
                                "almost no gradient back through this step.")
    ui.chart(gv.gates_figure(panels, title=title, ranges=ranges), key="gates", primary=True)
    ui.intervention_effect(s, run, layer)
    if gated:
        ui.chart(gv.saturation_figure(gates), key="gate_saturation")
    else:
        fresh = replace(s.physics(), weights="", iv="")  # freshly built, not intervened
        lstm = ui.run_engine(compute.cached_simulate, replace(fresh, cell="lstm"))
        gru = ui.run_engine(compute.cached_simulate, replace(fresh, cell="gru"))
        if lstm is not None and gru is not None:
            ui.chart(gv.gates_figure({"f": lstm.passes[0][0].gates["f"],
                                      "z": gru.passes[0][0].gates["z"]},
                                     title="For comparison, layer 0 on the same input and "
                                           "seed: an LSTM's forget gate, a GRU's update gate"),
                     key="gate_compare")

"""Gradients: how much of the loss's gradient survives the walk back through time."""

from __future__ import annotations

import math

import numpy as np
import streamlit as st

from app import compute, equations, ui
from app.state import DIAGONAL, cell_name
from app.views import gradients as gv
from engine import CELLS, diagnostics

# What Pascanu's gamma * sigma_max is for each cell whose Jacobian it bounds: its label and
# its LaTeX (the Jordan cell's state y passes through W_ho and W_hh, each with a phi').
FACTORS = {
    "rnn": ("γ · σ_max(W_hh)", r"\gamma\,\sigma_{\max}(W_{hh})"),
    "indrnn": ("γ · max|u|", r"\gamma \max_j |u_j|"),
    "jordan": ("γ² · σ_max(W_ho) · σ_max(W_hh)",
               r"\gamma^2\,\sigma_{\max}(W_{ho})\,\sigma_{\max}(W_{hh})"),
}
# the diagonal cells' carry a_t (h_t = a_t h_{t-1} + b_t): their Jacobian is diag(a_t)
CARRY = {"mingru": ("1 − z_t", r"(1 - z_s)_j"), "minlstm": ("f'_t", r"f'_{s,j}"),
         "lru": ("|λ|", r"|\lambda_j|"), "s6": ("e^(Δ_t A)", r"e^{\Delta_{s} A_j}")}
STEP_JACOBIAN = {"mingru": "diag(1 − z_t)", "minlstm": "diag(f'_t)",
                 "lru": "diag(λ), complex, of norm max |λ|",
                 "s6": "diag(e^(Δ_t A)) over every channel and state"}


def _num(v: float) -> str:
    """Two decimals for everyday sizes, three significant digits (or inf) otherwise."""
    if not math.isfinite(v):
        return str(v)
    return f"{v:.2f}" if 0.01 <= abs(v) < 1000 else f"{v:.3g}"


def _equations(cell: str, h: str) -> tuple:
    """BPTT's recursion, and the two bounds where the cell has them."""
    lines = [rf"\frac{{\partial L}}{{\partial {h}_t}} = e_t + J_{{t+1}}^{{\top}} "
             rf"\frac{{\partial L}}{{\partial {h}_{{t+1}}}}"]
    if cell in CARRY:
        lines += [rf"\left\|\frac{{\partial {h}_{{T-1}}}}{{\partial {h}_t}}\right\| = "
                  rf"\max_j \prod_{{s=t+1}}^{{T-1}} {CARRY[cell][1]}"]
    if cell in FACTORS:
        q = rf"\left({FACTORS[cell][1]}\right)"
        if cell == "jordan":  # its factor written out twice does not fit a column at 1280 px
            lines += [rf"\rho = {FACTORS[cell][1]}"]
            q = r"\rho"
        lines += [rf"\left\|\frac{{\partial {h}_{{T-1}}}}{{\partial {h}_t}}\right\| \le "
                  rf"{q}^{{T-1-t}}",
                  rf"\left\|\frac{{\partial L}}{{\partial {h}_t}}\right\| \le "
                  rf"\sum_{{s \ge t}} {q}^{{s-t}} \left\| e_s \right\|"]
    return tuple(lines)


s = ui.settings()
h = "y" if s.cell == "jordan" else "h"  # the Jordan cell's recurrent state is its output
ui.header(
    "Gradients through time",
    "Training pushes the error back from the loss, step by step. At every step the "
    f"gradient is multiplied by the Jacobian $J_t = \\partial {h}_t / \\partial {h}_{{t-1}}$ "
    "and joined by $e_t$, the gradient that enters at step $t$ (the loss there, or the "
    "layer above): if the product shrinks, the early steps learn nothing (vanishing); if it "
    "grows, training blows up (exploding). Press Play to watch the wave travel back.",
    s,
    extra_latex=_equations(s.cell, h),
)

run = ui.run_engine(compute.cached_simulate, s)
if run is not None:
    ui.show_notices(run.notices)
    layer = min(s.layer, s.layers - 1)
    if s.layers > 1:
        st.selectbox("Layer shown", list(range(s.layers)), key="w_layer")
    ui.overflow_message("the hidden state (forward pass)", run.overflow)
    ui.overflow_message("the gradient", run.grad_overflow)
    last_only = run.last_norm[layer, 0]
    horizon = diagnostics.memory_horizon(last_only)
    decay = diagnostics.gradient_decay_rate(last_only)
    b = run.bound[layer]

    if not ui.presenting():
        # one flex row, not st.columns: four elements fewer to send before the chart
        row = st.container(horizontal=True, gap="medium")
        row.metric("Memory horizon", "beyond T" if horizon is None else f"{horizon} steps",
                   help=f"Steps back from the last step until ‖∂ℓ_(T-1)/∂{h}_t‖, the gradient "
                        "of the last step's loss alone, falls below 1/1000 of its value at "
                        "t = T-1: how far back the last output can still give credit. "
                        "'beyond T': it never falls that far in this sequence "
                        "(engine.diagnostics.memory_horizon).")
        row.metric("Fitted change per step back",
                   "n/a" if not math.isfinite(decay) else f"× {decay:.3g}",
                   help=f"exp of the slope of a least-squares line through "
                        f"log‖∂ℓ_(T-1)/∂{h}_t‖ against steps back, the last step's loss alone "
                        "(engine.diagnostics.gradient_decay_rate): below 1 the gradient "
                        "vanishes walking back, above 1 it explodes.")
        if s.cell in DIAGONAL:
            carry = CELLS[s.cell].carry(run.passes[layer][0].gates)
            row.metric(f"largest {CARRY[s.cell][0]}", f"{float(np.abs(carry).max()):.3g}",
                       help=f"The Jacobian of one step is {STEP_JACOBIAN[s.cell]} exactly: "
                            "walking back, each channel's gradient is multiplied by its "
                            f"{CARRY[s.cell][0]}, all below this largest one (and below 1), "
                            "so what one step's loss sends back can only shrink; losses at "
                            "other steps (or the layer above) add to it on the way.")
        else:
            factor_label = FACTORS.get(s.cell, ("γ · σ_max",))[0]
            row.metric(factor_label, "n/a" if b is None else f"{b[0] * b[1]:.3g}",
                       help="Pascanu's bound on the Jacobian product is (γσ)^k: below 1 it "
                            "proves vanishing; above 1 it proves nothing. Not defined for "
                            "gated cells (LSTM, GRU), whose gates multiply the path.")
        clipped = None if s.clip == "none" else f"→ {_num(run.norm_after)} after clipping"
        row.metric("Gradient norm", _num(run.norm_before), delta=clipped, delta_color="off",
                   delta_arrow="off",
                   help="Global L2 norm of all weight gradients (what clip_grad_norm_ measures)"
                        + ("." if clipped is None else f", before and after clipping by {s.clip} "
                           f"with θ = {s.threshold:g}."))

    ui.chart(gv.gradient_figure(run, layer, s.loss, h), key="grad_norms", primary=True)
    if ui.presenting():
        st.stop()
    ui.intervention_effect(s, run, layer)
    if s.cell in DIAGONAL:
        st.caption(f"No bound is needed: the Jacobian of one step is {STEP_JACOBIAN[s.cell]} "
                   f"exactly, so ‖∂{h}_(T-1)/∂{h}_t‖ in the Jacobian chart below is the "
                   "largest channel's product of it, not an estimate.")
    elif b is None:
        st.caption("No bound is drawn: LSTM and GRU add gated paths (c_t, z_t) that "
                   "Pascanu's (γσ)^k does not cover.")
    elif not gv.single_entry(run, layer):
        st.caption("The gradient enters at more than the last step (a loss at every step, or "
                   "a layer above), so the dashed bound adds Pascanu's (γσ)^(s-t)·‖e_s‖ over "
                   f"every step s ≥ t; ‖∂L/∂{h}_(T-1)‖·(γσ)^(T-1-t) alone would not bound "
                   "the curve.")
    if run.window and len(run.kept) > 1:
        st.caption(f"Truncated BPTT with a loss at every step: each block of {run.window} "
                   "steps gets its own losses' gradient, cut at the block's start (dotted).")
    if s.bidir:
        st.caption("Bidirectional: the forward direction is shown; the reverse pass carries "
                   "the gradient the other way.")

    st.fragment(equations.chain_panel)(s, run.T, layer, h)

    left, right = st.columns(2)
    with left:
        jac = ui.run_engine(compute.cached_jacobian, s, layer)
        if jac is not None:
            note = " (c_t held fixed)" if s.cell == "lstm" else ""
            ui.chart(gv.jacobian_figure(jac, None if b is None else b[0] * b[1], h, note),
                     key="grad_jacobian")
    with right:
        compared = ui.run_engine(compute.compare_cells, s)
        if compared is not None:
            ui.chart(gv.compare_figure(compared), key="grad_compare")
            if run.intervention is not None:
                st.caption("The cells compared are freshly built and not intervened.")
    left, right = st.columns(2)
    with left:
        if run.singular[layer]:
            ui.chart(gv.singular_figure(run.singular[layer],
                                        run.gamma if s.cell in ("rnn", "indrnn") else None,
                                        s.cell), key="grad_singular")
        else:
            st.caption(f"The {cell_name(s.cell)} cell has no W_hh, so no singular values to "
                       "show: its state reaches the next step only through the elementwise "
                       "carry.")
    with right:
        ui.chart(gv.clip_figure(run.param_norms, s.clip, s.threshold), key="grad_clip")

"""Gradients: how much of the loss's gradient survives the walk back through time."""

from __future__ import annotations

import math

import numpy as np
import streamlit as st

from app import compute, ui
from app.views import gradients as gv
from engine import diagnostics


def _num(v: float) -> str:
    """Two decimals for everyday sizes, three significant digits (or inf) otherwise."""
    if not math.isfinite(v):
        return str(v)
    return f"{v:.2f}" if 0.01 <= abs(v) < 1000 else f"{v:.3g}"


s = ui.settings()
ui.header(
    "Gradients through time",
    "Training pushes the error back from the loss, step by step. At every step the "
    "gradient is multiplied by the Jacobian $J_t = \\partial h_t / \\partial h_{t-1}$: "
    "if that shrinks it, the early steps learn nothing (vanishing); if it grows it, "
    "training blows up (exploding). "
    "Press Play to watch the wave travel back from the last step.",
    s,
    extra_latex=(r"\frac{\partial L}{\partial h_t} = \frac{\partial \ell_t}{\partial h_t} + "
                 r"J_{t+1}^{\top} \frac{\partial L}{\partial h_{t+1}}",
                 r"\left\|\frac{\partial h_T}{\partial h_t}\right\| \le "
                 r"(\gamma\,\sigma_{\max}(W_{hh}))^{T-t}",),
)

run = ui.run_engine(compute.cached_simulate, s)
if run is not None:
    ui.show_notices(run.notices)
    layer = min(s.layer, s.layers - 1)
    if s.layers > 1:
        st.selectbox("Layer shown", list(range(s.layers)), key="w_layer")
    norms = run.hidden_norm[layer, 0]
    ui.overflow_message("the hidden state (forward pass)", run.overflow)
    ui.overflow_message("the gradient", run.grad_overflow)
    horizon = diagnostics.memory_horizon(norms)
    decay = diagnostics.gradient_decay_rate(norms)
    bound_curve = None
    b = run.bound[layer]
    if b is not None and np.isfinite(norms[-1]):
        gamma, sigma = b
        bound_curve = norms[-1] * diagnostics.pascanu_bound(gamma, sigma, run.T)[::-1]

    if not ui.presenting():
        # one flex row, not st.columns: four elements fewer to send before the chart
        row = st.container(horizontal=True, gap="medium")
        row.metric("Memory horizon", "beyond T" if horizon is None else f"{horizon} steps",
                   help="Steps back from the last one until ‖∂L/∂h_t‖ falls below 1/1000 of "
                        "its value at the last step (engine.diagnostics.memory_horizon).")
        row.metric("Change per step back", "n/a" if not math.isfinite(decay) else f"× {decay:.3g}",
                   help="Geometric mean factor per step (engine.diagnostics.gradient_decay_rate); "
                        "below 1 the gradient vanishes, above 1 it explodes.")
        row.metric("γ · σ_max", "n/a" if b is None else f"{b[0] * b[1]:.3g}",
                   help="Pascanu's bound is (γ·σ_max)^k: below 1 it proves vanishing; above 1 "
                        "it proves nothing. Not defined for gated cells (LSTM, GRU).")
        clipped = None if s.clip == "none" else f"→ {_num(run.norm_after)} after clipping"
        row.metric("Gradient norm", _num(run.norm_before), delta=clipped, delta_color="off",
                   delta_arrow="off",
                   help="Global L2 norm of all weight gradients (what clip_grad_norm_ measures)"
                        + ("." if clipped is None else f", before and after clipping by {s.clip} "
                           f"with θ = {s.threshold:g}."))

    overflow = run.grad_overflow or run.overflow
    fig = gv.norm_figure(norms, bound=bound_curve, trunc_norms=None if run.trunc_norm is None
                         else run.trunc_norm[layer, 0], window=run.window,
                         overflow_step=None if overflow is None else overflow["step"],
                         title=f"‖∂L/∂h_t‖ of layer {layer}, loss at the {s.loss} step")
    ui.chart(fig, key="grad_norms", primary=True)
    if ui.presenting():
        st.stop()
    if b is None:
        st.caption("Pascanu's bound is for the Elman recurrence; LSTM and GRU add gated "
                   "paths (c_t, z_t) that it does not cover, so it is not drawn.")
    if s.bidir:
        st.caption("Bidirectional: the forward direction is shown; the reverse pass carries "
                   "the gradient the other way.")

    left, right = st.columns(2)
    with left:
        compared = ui.run_engine(compute.compare_cells, s)
        if compared is not None:
            ui.chart(gv.compare_figure(compared), key="grad_compare")
    with right:
        ui.chart(gv.singular_figure(run.singular[layer], run.gamma), key="grad_singular")
    ui.chart(gv.clip_figure(run.param_norms, s.clip, s.threshold), key="grad_clip")

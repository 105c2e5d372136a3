"""Edge of chaos: where a random recurrent network turns from forgetting to chaos."""

from __future__ import annotations

import math

import streamlit as st

from app import compute, ui
from app.state import OWN_INIT, cell_name
from app.views import chaos as cv

s = ui.settings()
by = "radius" if s.radius > 0 else "gain"
current = s.radius if by == "radius" else s.gain
# the weights the sweep draws: a gain scales N(0, 1/H), a radius rescales it to rho exactly
weights = (r"W_{hh} = \rho\, \frac{W}{\rho(W)},\quad W \sim \mathcal{N}(0,\, 1/H)"
           if by == "radius" else r"W_{hh} \sim \mathcal{N}(0,\, g^2/H)")
ui.header(
    "Edge of chaos",
    "Make the random recurrent weights larger and the network changes character. Below a "
    "critical size, two nearby states converge (negative Lyapunov exponent λ) and "
    "gradients fade; above it, they fly apart (λ > 0) and gradients can explode. Networks "
    "learn long memories best near the edge, λ ≈ 0.",
    s,
    extra_latex=(r"\lambda = \lim_{T\to\infty} \frac{1}{T} \log "
                 r"\left\| \prod_{t} J_t \, v \right\|", weights),
    cell="rnn",  # the sweep's own network, whatever the sidebar's cell
)

sweep = ui.run_engine(compute.chaos_sweep, by, s.hidden, s.seed, s.physics(), (current,))
if sweep is not None:
    k = sweep["values"].index(current)
    lam, decay = sweep["lyapunov"][k], sweep["decay"][k]
    if not ui.presenting():
        c1, c2, c3 = st.columns(3)
        c1.metric("Your setting", f"{'g' if by == 'gain' else 'ρ'} = {current:g}")
        c2.metric("Largest Lyapunov exponent λ", f"{lam:+.3f}",
                  help="engine.diagnostics.lyapunov_exponent: zero input, random start, "
                       f"{compute.CHAOS_STEPS} steps.")
        c3.metric("Fitted gradient change per step back", "n/a" if not math.isfinite(decay)
                  else f"× {decay:.3g}", help="exp of the slope of a least-squares line "
                  "through log‖∂L/∂h_t‖ against steps back (engine.diagnostics."
                  "gradient_decay_rate), on your input signal (first 200 steps), loss at the "
                  "last step.")
    ui.chart(cv.chaos_figure(sweep, current, by), key="chaos", primary=True)
    if ui.presenting():
        st.stop()
    st.caption("The sweep always uses a tanh Elman RNN with gaussian weights (the random "
               "networks of Sompolinsky et al. 1988) and your hidden size (at most 64), seed "
               "and input; the star marks your gain or spectral radius. "
               f"Your current cell is {cell_name(s.cell)} with "
               + (f"'{s.init}' initialisation." if s.cell not in OWN_INIT else
                  "its own initialisation."))

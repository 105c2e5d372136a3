"""Edge of chaos: where a random recurrent network turns from forgetting to chaos."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import streamlit as st

from app import compute, ui
from app.state import OWN_INIT, cell_name, intervention_problem
from app.views import chaos as cv
from engine import diagnostics


def lru_section(s) -> None:
    """The LRU never reaches the edge: its eigenvalues, where they lie, and what gamma and
    the exp parametrisation do about the curse of memory."""
    net = ui.run_engine(compute.network_and_input, s)
    if net is None:
        return
    net = net[0]
    lam = diagnostics.lru_eigenvalues(net)
    cell = net.cell
    st.subheader("The LRU stays on the ordered side")
    st.markdown(
        "Its eigenvalues $\\lambda_j = e^{-e^{\\nu_j} + i e^{\\theta_j}}$ lie inside the "
        "unit circle for any weights, so each channel's Lyapunov exponent "
        "$\\log|\\lambda_j| = -e^{\\nu_j}$ is negative: no chaos, no explosion. Near the "
        "circle the memory is long, and the curse of memory bites: for "
        "$h_t = \\lambda h_{t-1} + x_t$, $E[h^2] = 1/(1-\\lambda^2)$ but "
        "$E[(\\partial h/\\partial \\lambda)^2] = (1+\\lambda^2)/(1-\\lambda^2)^3$. "
        "$\\gamma$, initialised to $\\sqrt{1-|\\lambda|^2}$, scales the input so the state "
        "keeps the input's size, and a step in $\\nu$ moves $|\\lambda|$ less the closer it "
        "is to 1.")
    j = int(np.argmax(np.abs(lam)))
    largest = float(np.abs(lam[j]))
    gamma2 = float(np.exp(2 * net.layer_params(0)["gamma_log"][j]))  # this network's own
    row = st.container(horizontal=True, gap="medium")
    row.metric("Lyapunov exponents log|λ_j|",
               f"{float(-np.exp(net.layer_params(0)['nu_log']).max()):.3g} to "
               f"{float(-np.exp(net.layer_params(0)['nu_log'][j])):.3g}")
    if largest < 1:  # float64 rounds |λ| to 1 within 1e-16 of it (a trained, long memory)
        curse = diagnostics.curse_of_memory(largest)
        row.metric(f"E[h²] at |λ| = {largest:.3g}", f"{curse['state']:.3g}",
                   delta=f"× γ² = {curse['state'] * gamma2:.3g}", delta_color="off",
                   delta_arrow="off",
                   help="Without γ the state's variance grows as 1/(1 − λ²); times this "
                        "channel's γ² (1 − |λ|² at initialisation, learned after) it is "
                        "what the state's variance is, for unit white noise in.")
        row.metric("E[(∂h/∂λ)²] there", f"{curse['sensitivity']:.3g}",
                   help="How hard the loss pulls on λ: (1 + λ²)/(1 − λ²)³ (Zucchet & Orvieto "
                        "2024), the curse of memory.")
    else:
        row.metric("E[h²] at the largest |λ|", "beyond float64",
                   help="|λ| is within 1e-16 of 1: the curse of memory's quantities grow "
                        "without bound there.")
    ui.chart(cv.lru_eigen_figure(lam, cell.r_min, cell.r_max,
                                 title="The LRU's eigenvalues λ_j, layer 0"), key="lru_eigen")


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
    ui.chart(cv.chaos_figure(sweep, current, by), key="chaos", primary=True, code=False)
    if ui.presenting():
        st.stop()
    if s.iv:  # a pulse that dies out is the ordered side; one that stays, chaos
        starred = replace(s.physics(), cell="rnn", act="tanh", init="gaussian",
                          hidden=sweep["hidden"], layers=1, bidir=False, weights="")
        problem = intervention_problem(starred)
        if problem:
            st.info("The intervention does not apply to the sweep's network (a tanh RNN): "
                    f"{problem}.")
        else:
            run = ui.run_engine(compute.cached_simulate, starred)
            ui.intervention_effect(starred, run, 0)
            st.caption(f"The sweep's network at your setting (the star: tanh RNN, gaussian "
                       f"weights, H = {sweep['hidden']}), on your input. A state difference "
                       "that fades after t is the ordered side of the edge; one that stays "
                       "is chaos.")
    if s.cell == "lru":
        lru_section(s)
    st.caption("The sweep always uses a tanh Elman RNN with gaussian weights (the random "
               "networks of Sompolinsky et al. 1988) and your hidden size (at most 64), seed "
               "and input; the star marks your gain or spectral radius. "
               f"Your current cell is {cell_name(s.cell)} with "
               + (f"'{s.init}' initialisation." if s.cell not in OWN_INIT else
                  "its own initialisation."))

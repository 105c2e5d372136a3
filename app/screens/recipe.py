"""From Elman to LRU: the recipe of Orvieto et al. (2023) as five switches on one Elman RNN,
each changing one thing, with what it does to the gradient walking back through time."""

from __future__ import annotations

import math

import numpy as np
import streamlit as st

from app import compute, ui
from app.views import chaos as cv
from app.views import recipe as rv
from engine.lru_recipe import NEEDS, R_MAX, R_MIN, SWITCHES, Recipe

HELP = {
    "linear": "h_t = W h_(t-1) + U x_t + b: no φ, so no φ' ≤ 1 shrinking the gradient at "
              "every step back. What is left is W alone: ‖(Wᵀ)^k e‖ decays or grows with W's "
              "spectral radius.",
    "diagonal": "The state in W's eigen-coordinates z = P⁻¹h makes the recurrence "
                "elementwise, z_t = λ ⊙ z_(t-1) + B x_t + β. Without 'complex eigenvalues' "
                "λ_j is real: |μ_j|, the eigenvalue's size without its phase (another "
                "network, a real diagonal).",
    "complex": "λ_j = μ_j, phases kept: the diagonal network is then the linear RNN exactly, "
               "in other coordinates (its outputs agree to rounding).",
    "exp": "λ_j = exp(−e^ν_j + iθ_j): every λ_j inside the unit circle whatever ν_j is, its "
           "size drawn on the ring r_min ≤ |λ| ≤ r_max (W's phases kept with 'complex λ' "
           "on; real λ without). The gradient reaches the size through ν_j, scaled by "
           "|λ_j| ln|λ_j|.",
    "normalise": "γ_j = √(1 − |λ_j|²) scales each channel's input, so its state keeps unit "
                 "scale however close |λ_j| is to 1 (the curse of memory). As in the LRU's "
                 "code, γ_j is set from λ_j and then held: the gradient on ν_j does not "
                 "include dγ/dν.",
}


def _label(switch: str, act: str) -> str:
    return {"linear": f"drop {act}", "diagonal": "diagonalise", "complex": "complex λ",
            "exp": "exp param", "normalise": "γ normalise"}[switch]


def _flip(switch: str) -> None:
    """On: the switches it needs come on too. Off: the ones that need it go off."""
    ss = st.session_state
    if ss[f"w_rc_{switch}"]:
        while switch in NEEDS:
            switch = NEEDS[switch]
            ss[f"w_rc_{switch}"] = True
    else:
        for k in SWITCHES:
            need = NEEDS.get(k)
            while need is not None:
                if need == switch:
                    ss[f"w_rc_{k}"] = False
                need = NEEDS.get(need)


def _equations(recipe, act: str) -> tuple:
    if not recipe.diagonal:
        inside = r"W h_{t-1} + U x_t + b"
        step = (inside if recipe.linear else
                rf"\{act}\left({inside}\right)" if act == "tanh" else
                rf"\varphi\left({inside}\right)")
        return (rf"h_t = {step}, \qquad W = P \operatorname{{diag}}(\mu) P^{{-1}}",)
    drive = (r"\gamma \odot (B x_t + \beta)" if recipe.normalise else r"B x_t + \beta")
    lines = [rf"z_t = \lambda \odot z_{{t-1}} + {drive}", r"y_t = \operatorname{Re}(C z_t)",
             r"z = P^{-1} h,\; B = P^{-1} U,\; \beta = P^{-1} b,\; C = P"]
    phase = r" + i\theta_j" if recipe.complex else ""
    lines.append(rf"\lambda_j = e^{{-e^{{\nu_j}}{phase}}}" if recipe.exp else
                 r"\lambda_j = \mu_j" if recipe.complex else r"\lambda_j = |\mu_j|")
    if recipe.normalise:
        lines.append(r"\gamma_j = \sqrt{1 - |\lambda_j|^2}")
    return tuple(lines)


def _first_bad(values) -> int | None:
    bad = np.flatnonzero(~np.isfinite(np.asarray(values, dtype=np.complex128)).reshape(
        len(values), -1).all(axis=1))
    return int(bad[0]) if bad.size else None


def _what_changed(runs, act: str, loss: str) -> list[str]:
    """One sentence per switch that is on: what it did, in this run's numbers."""
    r, now = runs.recipe, runs.now
    rho = float(np.abs(runs.start.lam).max())
    out = []
    if not r.linear:
        out.append(f"Elman RNN: at every step back the gradient is multiplied by φ'(a_t) "
                   f"({act}) and by W (spectral radius {rho:.3g}).")
    else:
        out.append(f"Drop {act}: the gradient meets W alone at every step back, "
                   f"‖(Wᵀ)^k e‖; W's spectral radius is {rho:.3g}"
                   + (", above 1: it explodes walking back." if rho > 1 else "."))
    if r.diagonal and not r.complex:
        out.append("Diagonalise (real): λ_j = |μ_j| keeps each eigenvalue's size and drops "
                   "its phase, so each channel's gradient is |λ_j|^k exactly; this is another "
                   "network (its outputs differ from the linear RNN's, see above).")
    if r.complex and not r.exp:
        out.append(f"Complex eigenvalues: the diagonal network is the linear RNN in "
                   f"eigen-coordinates (outputs agree to rounding). Its gradient is taken "
                   f"per coordinate z = P⁻¹h, a product of |λ_j| alone: it differs from "
                   f"‖∂L/∂h_t‖ by the change of coordinates (cond P = "
                   f"{now.eigvec_condition:.3g}). "
                   + ("With the loss at the last step the phases leave this curve as the "
                      "real diagonal drew it (only |λ_j| enters)." if loss == "last" else
                      "With a loss at every step the phases make the steps' contributions "
                      "interfere: the curve differs from the real diagonal's."))
    if r.exp:
        top = float(np.abs(now.lam).max())  # the ring's largest draw, not r_max itself
        memory = 1 / -math.log(top)
        out.append(f"Exp parametrisation: |λ_j| = exp(−e^ν_j) < 1 for every ν_j, drawn on "
                   f"the ring {R_MIN:g} ≤ |λ| ≤ {R_MAX:g}: no channel's carry can "
                   f"grow the gradient step after step, and the slowest channel here "
                   f"(|λ| = {top:.3g}) remembers about {memory:.0f} steps. "
                   "It reaches |λ_j| through ν_j, ∂L/∂ν_j = ∂L/∂|λ_j| · |λ_j| ln|λ_j|, "
                   "which shrinks as |λ_j| → 1 (right chart below).")
    if r.normalise:
        out.append("γ normalisation scales the input, not the carry: this curve is exactly "
                   "the one without it. What it changes is the state's scale (largest |z| "
                   "above) and with it the gradient on ν_j (right chart): without γ, "
                   "E[(∂h/∂λ)²] grows like 1/(1 − λ²)³ as |λ| → 1 (the curse of memory).")
    return out


s = ui.settings()
on = s.recipe_switches()
ss = st.session_state
for k in SWITCHES:  # a page opened on its own (tests) has no sidebar to set them
    ss.setdefault(f"w_rc_{k}", k in on)
ui.header(
    "From Elman to LRU",
    "The Linear Recurrent Unit (Orvieto et al. 2023) is an Elman RNN changed in five steps, "
    "each a switch above the chart. Flip them in order and watch what each does to the "
    "gradient reaching back through time: dropping φ leaves W alone; diagonalising makes "
    "each channel's gradient a power of |λ_j|; the exp parametrisation keeps every |λ_j| "
    "below 1; γ normalisation keeps the state's scale when |λ_j| nears 1. The network "
    "is built from the sidebar's φ, hidden size, initialisation and seed (one layer, "
    "whatever the sidebar's cell), on its input signal.",
    s,
    equations=_equations(Recipe(**{k: True for k in on}), s.act),
)
if not ui.presenting():
    row = st.container(horizontal=True, gap="small")
    for k in SWITCHES:
        row.toggle(_label(k, s.act), key=f"w_rc_{k}", on_change=_flip, args=(k,),
                   help=HELP[k])
runs = ui.run_engine(compute.recipe_runs, s)
if runs is not None:
    now, state = runs.now, "z" if runs.recipe.diagonal else "h"
    bad = _first_bad(now.state)
    if bad is not None:
        st.warning(f"Overflow: the state becomes inf/NaN at step t = {bad} (an eigenvalue "
                   "beyond the unit circle grows it every step). Values from there on are "
                   "left out of the charts.")
    if not ui.presenting():
        row = st.container(horizontal=True, gap="medium")
        row.metric("largest |λ|", f"{float(np.abs(now.lam).max()):.3g}",
                   help="The largest eigenvalue size of the carry: W's spectral radius on the "
                        "dense steps, max |λ_j| on the diagonal. Above 1 the state and the "
                        "gradient grow without bound.")
        with np.errstate(invalid="ignore"):
            diff = float(np.max(np.abs(now.y - runs.linear.y)))
        row.metric("max |y − y of the linear RNN|", f"{diff:.1e}",
                   help="The outputs under these switches against the linear RNN's (drop φ "
                        "only). About 1e-15 means the same network: diagonalising with the "
                        "phases only changes coordinates.")
        row.metric(f"largest |{state}_t|", f"{float(np.max(np.abs(now.state))):.3g}",
                   help="The state's scale over the sequence: γ normalisation keeps it near "
                        "the input's as |λ_j| nears 1.")
        row.metric("‖∂L/∂(carry parameters)‖", f"{now.transition_grad_norm:.3g}",
                   help="The norm of the loss's gradient on what sets the carry: W on the "
                        "dense steps, the λ_j (or ν_j, θ_j under the exp parametrisation) on "
                        "the diagonal.")
    where = "the last step" if s.loss == "last" else "every step"
    start = None if runs.recipe == Recipe() else runs.start
    ui.chart(rv.gradient_figure(now, start, state,
                                f"‖∂L/∂{state}_t‖ walking back from the loss at {where}"),
             key="recipe_grad", primary=True, code=False)
    if ui.presenting():
        st.stop()
    for sentence in _what_changed(runs, s.act, s.loss):
        st.caption(sentence)
    left, right = st.columns(2)
    with left:
        name = "λ_j, the diagonal's carry" if runs.recipe.diagonal else "μ_j, eigenvalues of W"
        ui.chart(cv.lru_eigen_figure(now.lam, R_MIN, R_MAX, title="The carry's eigenvalues",
                                     name=name, ring=runs.recipe.exp, height=470),
                 key="recipe_eigen")
    with right:
        if runs.recipe.diagonal:
            param = "ν_j" if runs.recipe.exp else "|λ_j|"
            ui.chart(rv.magnitude_figure(now, param, f"Each channel's gradient on {param}"),
                     key="recipe_magnitude")
        else:
            st.info("The dense network has no per-channel memory parameter: switch on "
                    "'diagonalise' to see each channel's gradient on its |λ_j|.")

"""The equations with this network's numbers: the backward chain at a step (Gradients page)
and one step of the forward pass for one unit (Unroll page).

The numbers come from ``engine.explain`` (through the cached calls in ``app.compute``);
this module writes them into LaTeX and draws their spread over the units.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from app import compute, ui
from app.state import DIAGONAL, Settings
from app.views.common import COLORS, axis, base_layout
from engine.explain import Chain, fmt

# Pascanu's factor gamma * sigma_max per cell that has one (its LaTeX)
FACTOR_TEX = {"rnn": r"\gamma\,\sigma_{\max}(W_{hh})", "indrnn": r"\gamma \max_j |u_j|",
              "jordan": r"\gamma^2\,\sigma_{\max}(W_{ho})\,\sigma_{\max}(W_{hh})"}
CARRY_TEX = {"mingru": r"(1 - z_{s,j})", "minlstm": r"f'_{s,j}", "lru": r"|\lambda_j|",
             "s6": r"e^{\Delta_{s} A_j}"}


def _spread(values: np.ndarray) -> str:
    """min, median and max of a per-unit quantity."""
    v = np.asarray(values, dtype=np.float64).ravel()
    return (rf"\in [{fmt(v.min())},\ {fmt(v.max())}],\ \text{{median }} "
            rf"{fmt(float(np.median(v)))}")


def chain_latex(c: Chain, cell: str, h: str) -> str:
    """The chain at step t as one aligned block: each term with its number, and the bound
    beside it only where one holds (Pascanu's, for the cells it covers)."""
    k = c.steps
    prod_lhs = rf"\|\partial {h}_{{T-1}} / \partial {h}_t\|"
    grad_lhs = rf"\|\partial L / \partial {h}_t\|"
    top = rf"\|\partial L / \partial {h}_{{T-1}}\|"
    lines = []
    if c.slopes is not None:
        lines.append(rf"\varphi'(a_t) &{_spread(c.slopes)} \le \gamma = {fmt(c.gamma)}")
    if c.w_norm is not None:
        w = r"\max_j |u_j|" if cell == "indrnn" else r"\|W_{hh}\|"
        lines.append(rf"{w} &= {fmt(c.w_norm)}")
    step = rf"\|J_t\| = \|\partial {h}_t / \partial {h}_{{t-1}}\| &= "
    if cell in DIAGONAL:
        step += rf"\max_j {CARRY_TEX[cell].replace('{s,', '{t,').replace('_{s}', '_{t}')} = "
    step += fmt(c.step_norm)
    if c.factor is not None:
        step += rf" \le {FACTOR_TEX[cell]} = {fmt(c.factor)}"
    if cell == "lstm":
        step += r"\quad (c_{t-1}\ \text{held fixed})"
    lines.append(step)
    if c.forget_product is not None:
        lines.append(rf"\textstyle\prod_{{s=t+1}}^{{T-1}} f_{{s,j}} &{_spread(c.forget_product)}"
                     r"\quad \text{(along } c\text{)}")
    if c.carry_product is not None:
        lines.append(rf"\textstyle\prod_{{s=t+1}}^{{T-1}} {CARRY_TEX[cell]} "
                     rf"&{_spread(c.carry_product)}")
    if c.product is None:
        lines.append(rf"{prod_lhs} &: \text{{not multiplied out here ({k} steps back)}}")
    else:
        prod = rf"{prod_lhs} &= "
        if cell in DIAGONAL:
            prod += rf"\max_j \textstyle\prod_{{s=t+1}}^{{T-1}} {CARRY_TEX[cell]} = "
        lines.append(prod + fmt(c.product))
        if c.power is not None:
            lines.append(rf"&\le \left({FACTOR_TEX[cell]}\right)^{{{k}}} = {fmt(c.power)}")
            if c.factor >= 1:
                lines.append(r"&\phantom{\le}\ \text{(a factor} \ge 1\text{: this proves nothing)}")
    lines.append(rf"{grad_lhs} &= {fmt(c.grad_norm)}")
    # the bound goes on a row of its own, aligned at its sign: on one row it overflows 1280 px
    if c.bound is not None and c.single_entry:
        lines.append(rf"&\le {top} \left({FACTOR_TEX[cell]}\right)^{{{k}}} = {fmt(c.top_norm)} "
                     rf"\cdot {fmt(c.power)} = {fmt(c.bound)}")
    elif c.bound is not None:
        lines.append(rf"&\le \textstyle\sum_{{s \ge t}} \left({FACTOR_TEX[cell]}\right)^{{s-t}} "
                     rf"\|e_s\| = {fmt(c.bound)}")
    elif c.single_entry and c.product is not None:
        lines.append(rf"&\le {top} \cdot {prod_lhs} = {fmt(c.top_norm)} \cdot "
                     rf"{fmt(c.product)} = {fmt(c.top_norm * c.product)}")
    return r"\begin{aligned}" + r" \\ ".join(lines) + r"\end{aligned}"


SPREAD_NOTE = {
    "slopes": "Each unit's slope φ'(a_t) multiplies what passes back through it: "
              "J_t = diag(φ'(a_t)) W_hh. Slopes near 0 (a saturated tanh, a ReLU below 0) "
              "pass nothing, like a shut gate.",
    "forget": "Along the cell state c, the gradient from the last step is multiplied by "
              "the forget gates of every later step: a unit whose f stays near 1 keeps a "
              "path that does not vanish.",
    "carry": "Each channel's gradient is multiplied by its own carry at every later step: "
             "the largest product is ‖∂h_(T-1)/∂h_t‖ exactly.",
}


def _spread_kind(c: Chain) -> str | None:
    if c.slopes is not None:
        return "slopes"
    if c.forget_product is not None:
        return "forget"
    return "carry" if c.carry_product is not None else None


def spread_figure(c: Chain, cell: str) -> dict | None:
    """The per-unit term the chain multiplies by, over the units: phi'(a_t) (ungated
    cells), the forget gates' product along c (LSTM), each channel's product of carries
    (diagonal cells); None for the GRU, which has none of these."""
    kind = _spread_kind(c)
    if kind is None:
        return None
    values, label, log = {
        "slopes": (c.slopes, "φ'(a_t) of each unit", False),
        "forget": (c.forget_product, "∏ f_s from t+1 to T-1, each unit", True),
        "carry": (c.carry_product, "∏ |a_s| from t+1 to T-1, each channel", True)}[kind]
    v = np.asarray(values, dtype=np.float64).ravel()
    if log:
        with np.errstate(divide="ignore"):
            v = np.log10(v)
        label = "log₁₀ " + label
    v = v[np.isfinite(v)]
    layout = base_layout(f"At t = {c.t}: the spread over units", height=300, legend=False,
                         xaxis=axis(label), yaxis=axis("units"), bargap=0.05)
    return {"data": [{"type": "histogram", "x": v.tolist(), "nbinsx": 30,
                      "marker": {"color": COLORS.get(cell, COLORS["rnn"])}}],
            "layout": layout}


def _step(T: int, default: int, key: str, help: str) -> int:
    """A step slider over 0..T-1 (none for a single step), its kept value moved inside the
    range when T shrinks."""
    if T < 2:
        return 0
    if key in st.session_state and not 0 <= st.session_state[key] < T:
        st.session_state[key] = T - 1
    return st.slider("Step t", 0, T - 1, value=default, key=key, help=help)


def chain_panel(s: Settings, T: int, layer: int, h: str) -> None:
    """A step slider and the chain at that step; in a fragment: only the panel reruns."""
    st.markdown("#### The chain at one step, with this network's numbers")
    t = _step(T, T // 2, "w_chain_t",
              help="Walking back from the loss, the gradient reaching h_t has been "
                   "multiplied by the Jacobians of every later step; here is each term at "
                   "the step you choose (engine.explain.backward_chain).")
    chain = ui.run_engine(compute.cached_chain, s, layer, t)
    if chain is None:
        return
    st.latex(chain_latex(chain, s.cell, h))
    if chain.product is None:
        st.caption("The Jacobian product costs a product of (H, H) matrices per step back: "
                   "it is multiplied out for the steps the Jacobian chart below covers.")
    fig = spread_figure(chain, s.cell)
    if fig is not None:
        left, right = st.columns([3, 2], vertical_alignment="center")
        with left:
            ui.chart(fig, key="grad_chain_spread", code=False)
        right.caption(SPREAD_NOTE[_spread_kind(chain)])


def step_latex(lines: tuple) -> str:
    """Each equation of the step on one row, and under it the same with the numbers and
    what it comes to (one row each would not fit a projector's width)."""
    rows = []
    for ln in lines:
        rows.append(ln.symbols.replace(" = ", " &= ", 1))
        numbers = "" if ln.numbers == fmt(ln.value) else f" = {ln.numbers}"  # h~ = W x + b
        rows.append(rf"&{numbers} = {fmt(ln.value)}")
    return r"\begin{aligned}" + r" \\ ".join(rows) + r"\end{aligned}"


def step_panel(s: Settings, T: int, unit: int, layer: int) -> None:
    """A step slider and the cell's equations at that step for the coloured unit."""
    st.markdown("#### One step of the forward pass, with this network's numbers")
    t = _step(T, min(T - 1, 3), "w_step_t",
              help="The cell's equations at this step for the unit that colours the chart, "
                   "every value computed again from the weights, x_t and the previous state "
                   "(engine.explain.forward_step).")
    lines = ui.run_engine(compute.cached_step, s, layer, t, unit)
    if lines is None:
        return
    where = f"layer {layer}, " if s.layers > 1 else ""
    st.caption(f"Unit j = {unit}, {where}step t = {t}" + (
        " (h₋₁ is the initial state, zero)" if t == 0 else "") + ".")
    st.latex(step_latex(lines))

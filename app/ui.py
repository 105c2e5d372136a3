"""Small page helpers: this run's settings, the header, charts, errors without tracebacks."""

from __future__ import annotations

import streamlit as st

from app.state import DEFAULTS, Settings

PLOT_CONFIG = {"displaylogo": False, "responsive": True,
               "modeBarButtonsToRemove": ["lasso2d", "select2d", "autoScale2d"]}

EQUATIONS = {
    "rnn": [r"h_t = \varphi\left(W_{ih}\,x_t + b_{ih} + W_{hh}\,h_{t-1} + b_{hh}\right)"],
    "jordan": [r"h_t = \varphi\left(W_{ih}\,x_t + b_{ih} + W_{hh}\,y_{t-1} + b_{hh}\right)",
               r"y_t = \varphi\left(W_{ho}\,h_t + b_{ho}\right)"],
    "indrnn": [r"h_t = \varphi\left(W_{ih}\,x_t + b_{ih} + u \odot h_{t-1} + b_{hh}\right)"],
    "lstm": [r"\begin{aligned} i_t &= \sigma(W_{ii} x_t + W_{hi} h_{t-1} + b_i) \\ "
             r"f_t &= \sigma(W_{if} x_t + W_{hf} h_{t-1} + b_f) \\ "
             r"g_t &= \tanh(W_{ig} x_t + W_{hg} h_{t-1} + b_g) \\ "
             r"o_t &= \sigma(W_{io} x_t + W_{ho} h_{t-1} + b_o) \\ "
             r"c_t &= f_t \odot c_{t-1} + i_t \odot g_t \\ "
             r"h_t &= o_t \odot \tanh(c_t) \end{aligned}"],
    "gru": [r"\begin{aligned} r_t &= \sigma(W_{ir} x_t + W_{hr} h_{t-1} + b_r) \\ "
            r"z_t &= \sigma(W_{iz} x_t + W_{hz} h_{t-1} + b_z) \\ "
            r"n_t &= \tanh(W_{in} x_t + b_{in} \\ "
            r"&\qquad + r_t \odot (W_{hn} h_{t-1} + b_{hn})) \\ "
            r"h_t &= (1 - z_t) \odot n_t + z_t \odot h_{t-1} \end{aligned}"],
}


def settings() -> Settings:
    """The settings main.py computed for this run (defaults if a page runs on its own)."""
    return st.session_state.get("settings", DEFAULTS)


def header(title: str, text: str, s: Settings, extra_latex: tuple = ()) -> None:
    """Title, one plain paragraph, and the cell's equations in the charts' symbols."""
    st.title(title)
    left, right = st.columns([1, 1], gap="medium")
    left.markdown(text)
    with right:
        for line in EQUATIONS[s.cell]:
            st.latex(line)
        for line in extra_latex:
            st.latex(line)
        if s.uses_activation:
            st.caption(f"{s.cell.upper()} cell, φ = {s.act}")


def chart(fig: dict, key: str, height: int | None = None) -> None:
    st.plotly_chart(fig, key=key, config=PLOT_CONFIG, height=height or "content",
                    theme=None)


def run_engine(fn, *args):
    """Call the engine; on failure show its message (st.error) and return None: no traceback."""
    try:
        return fn(*args)
    except ValueError as exc:
        st.error(f"The engine refused these settings: {exc}")
    except Exception as exc:  # noqa: BLE001 - a page must never show a traceback
        st.error(f"Something went wrong while computing: {type(exc).__name__}: {exc}")
    return None


def show_notices(notices) -> None:
    for note in notices:
        st.warning(note)


def overflow_message(where: str, info: dict | None) -> None:
    if info:
        direction = "reverse" if info["direction"] else "forward"
        st.warning(f"Overflow: {where} became inf/NaN at step t = {info['step']} "
                   f"(layer {info['layer']}, {direction} direction). "
                   "Values from there on are left out of the charts.")

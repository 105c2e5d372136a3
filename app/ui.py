"""Small page helpers: this run's settings, the header, charts, errors without tracebacks."""

from __future__ import annotations

import streamlit as st

from app import compute, plot, talk
from app.export_panel import export_panel
from app.state import DEFAULTS, Settings
from app.views.common import TITLE_PX

# KaTeX blocks never cut off: a long equation scrolls inside its column instead of
# overflowing it (the layout keeps them short enough at 1280 and 1920 px).
STYLE = """<style>
[data-testid="stMarkdownContainer"] .katex-display { overflow-x: auto; overflow-y: hidden;
  padding: 2px 6px; margin: 0.4em 0; }
</style>"""

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


def presenting() -> bool:
    """Presenter view: pages show their title and main chart only (app/talk.py)."""
    return settings().present


def header(title: str, text: str, s: Settings, extra_latex: tuple = (),
           cell: str | None = None) -> None:
    """Title, one plain paragraph, and the cell's equations in the charts' symbols.

    ``cell`` (with tanh) replaces the sidebar's cell where a page computes with its own.

    As few elements as it takes (the style rides with the paragraph, all equations are one
    block): each element a rerun sends costs the browser ~3 ms of every slider change.
    """
    st.title(title)
    if s.present:
        return
    left, right = st.columns([1, 1], gap="medium")
    left.markdown(f"{STYLE}\n\n{text}", unsafe_allow_html=True)  # text: the page's own
    with right:
        lines = [*EQUATIONS[cell or s.cell], *extra_latex]
        st.latex(lines[0] if len(lines) == 1 else
                 r"\begin{gathered} " + r" \\[0.5em] ".join(lines) + r" \end{gathered}")
        if cell:
            st.caption(f"{cell.upper()} cell, φ = tanh")
        elif s.uses_activation:
            st.caption(f"{s.cell.upper()} cell, φ = {s.act}")


def chart(fig: dict, key: str, primary: bool = False) -> None:
    """The figure without its title band, its title shown above it as page text (it wraps).

    Builders keep ``TITLE_PX`` at the top for the title; taking it out of both the height
    and the top margin leaves the plot area, and so the pixel layout of the legend and the
    animation controls, unchanged. In presenter view only the ``primary`` chart is drawn,
    as tall as the window allows; elsewhere the primary chart gets an Export popover.
    """
    s = settings()
    if s.present and not primary:
        return
    original = fig
    layout = dict(fig.get("layout", {}))
    title = (layout.get("title") or {}).get("text", "")
    if title:
        margin = dict(layout["margin"])
        if margin.get("t", 0) >= TITLE_PX:
            margin["t"] -= TITLE_PX
            layout["height"] -= TITLE_PX
        layout["margin"] = margin
    layout.pop("title", None)
    if s.present and "height" in layout:
        layout["height"] = talk.main_chart_height(s, layout["height"])
    plot.draw({**fig, "layout": layout}, key, PLOT_CONFIG, title)
    if primary and not s.present:
        export_panel(original, key)


def run_engine(fn, *args):
    """Call the engine; on failure show its message (st.error) and return None: no traceback."""
    try:
        return fn(*args)
    except ValueError as exc:
        st.error(f"The engine refused these settings: {exc}")
    except Exception as exc:  # noqa: BLE001 - a page must never show a traceback
        st.error(f"Something went wrong while computing: {type(exc).__name__}: {exc}")
    return None


def simulation(s: Settings, state_name: str):
    """The cached simulation of these settings, its notices and any forward overflow in
    ``state_name`` shown above the page's charts; None (message shown) if the engine refused."""
    run = run_engine(compute.cached_simulate, s)
    if run is not None:
        show_notices(run.notices)
        overflow_message(state_name, run.overflow)
    return run


def show_notices(notices) -> None:
    for note in notices:
        st.warning(note)


def overflow_message(where: str, info: dict | None) -> None:
    if info:
        direction = "reverse" if info["direction"] else "forward"
        st.warning(f"Overflow: {where} became inf/NaN at step t = {info['step']} "
                   f"(layer {info['layer']}, {direction} direction). "
                   "Values from there on are left out of the charts.")

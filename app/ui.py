"""Small page helpers: this run's settings, the header, charts, errors without tracebacks."""

from __future__ import annotations

import numpy as np
import streamlit as st

from app import compute, first_paint, plot, talk
from app.export_panel import export_panel
from app.state import DEFAULTS, GATED, Settings, cell_name
from app.views.common import TITLE_PX
from engine import CELLS

# A compact header, so a page's main chart starts within the first screen at 1280x720: less
# of Streamlit's top padding, a smaller title, and KaTeX blocks that never cut off (a long
# equation scrolls inside its column instead of overflowing it).
STYLE = """<style>
[data-testid="stMainBlockContainer"] { padding-top: 2.6rem; }
[data-testid="stMainBlockContainer"] h1 { font-size: 2.1rem; padding: 0 0 0.2rem 0; }
[data-testid="stMarkdownContainer"] .katex-display { overflow-x: auto; overflow-y: hidden;
  padding: 2px 6px; margin: 0.15em 0; }
</style>"""

PLOT_CONFIG = {"displaylogo": False, "responsive": True,
               "modeBarButtonsToRemove": ["lasso2d", "select2d", "autoScale2d"]}

# Each cell's equations live with the cell (engine.cells: ``Cell.equations``).
EQUATIONS = {name: list(cell.equations) for name, cell in CELLS.items()}


def equation_blocks(lines: list[str], columns: int) -> list[str]:
    """``lines`` split into at most ``columns`` LaTeX blocks of about equal height: an
    ``aligned`` block where every line has an "&", else ``gathered`` (the "&" dropped)."""
    columns = max(1, min(columns, len(lines)))
    per = -(-len(lines) // columns)
    blocks = []
    for k in range(0, len(lines), per):
        part = lines[k:k + per]
        if all("&" in line for line in part):
            blocks.append(r"\begin{aligned} " + r" \\ ".join(part) + r" \end{aligned}")
        else:
            body = r" \\[0.4em] ".join(line.replace("&", "") for line in part)
            blocks.append(body if len(part) == 1 else
                          r"\begin{gathered} " + body + r" \end{gathered}")
    return blocks


def settings() -> Settings:
    """The settings main.py computed for this run (defaults if a page runs on its own)."""
    return st.session_state.get("settings", DEFAULTS)


def presenting() -> bool:
    """Presenter view: pages show their title and main chart only (app/talk.py)."""
    return settings().present


def header(title: str, text: str, s: Settings, extra_latex: tuple = (),
           cell: str | None = None, equations: tuple | None = None) -> None:
    """Title and the cell's equations (with the page's own) in the charts' symbols, in one
    or two columns; the page's paragraph ``text`` goes under its main chart (``chart``), so
    the chart starts within the first screen.

    ``cell`` (with tanh) replaces the sidebar's cell where a page computes with its own;
    ``equations`` replace the cell's where the page's network is none of the cells.
    As few elements as it takes: each element a rerun sends costs the browser ~3 ms.
    """
    st.session_state["page_text"] = text
    st.session_state["page_title"] = title
    st.html(STYLE)
    if s.present:
        st.title(title)
        return
    row = st.container(horizontal=True, vertical_alignment="center", gap="medium")
    with row:
        st.title(title, width="content")
        talk.link_box(s)
    lines = [*(EQUATIONS[cell or s.cell] if equations is None else equations), *extra_latex]
    blocks = equation_blocks(lines, 2 if len(lines) > 2 else 1)
    shown = cell or s.cell
    note = ("" if equations is not None or shown in GATED or not CELLS[shown].uses_activation
            else f"{cell_name(shown)} cell, φ = {'tanh' if cell else s.act}")
    if len(blocks) == 1:
        st.latex(blocks[0])
    else:
        for col, block in zip(st.columns(len(blocks), gap="small"), blocks, strict=True):
            col.latex(block)
    if note:
        st.caption(note)


def about() -> None:
    """The page's paragraph (from ``header``), under its main chart."""
    text = st.session_state.get("page_text")
    if text:
        st.markdown(text)


def chart(fig: dict, key: str, primary: bool = False, code: bool = True) -> None:
    """The figure without its title band, its title shown above it as page text (it wraps).

    Builders keep ``TITLE_PX`` at the top for the title; taking it out of both the height
    and the top margin leaves the plot area, and so the pixel layout of the legend and the
    animation controls, unchanged. In presenter view only the ``primary`` chart is drawn,
    as tall as the window allows; elsewhere the primary chart gets an Export popover
    (with the code that rebuilds it where ``code``: the sidebar network's run and BPTT).
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
    spec = plot.draw({**fig, "layout": layout}, key, PLOT_CONFIG, title)
    if primary:  # what this view's HTML draws before Streamlit boots (app/serve.py)
        first_paint.remember(st.session_state.get("page"), s,
                             st.session_state.get("page_title", ""), title, spec)
    if primary and not s.present:
        export_panel(original, key, code=code)
        about()


def layer_state(run, layer: int) -> np.ndarray:
    """A layer's h_t, (T, D*H): forward units, then reverse units."""
    return np.concatenate([pv.h for pv in run.passes[layer]], axis=1)


def network_output(run) -> np.ndarray:
    """The top layer's output, (T, D*H): what the network hands on (the LRU's and S6's
    y_t, the Jordan cell's y_t, else h_t)."""
    return np.concatenate([pv.out if pv.out is not None else pv.y if pv.y is not None
                           else pv.h for pv in run.passes[-1]], axis=1)


def intervention_effect(s: Settings, run, layer: int) -> None:
    """Under a page's main chart, when the settings intervene: how far the state (and a
    read-out) moved from the unmodified run, and the gradient with and without it."""
    from app.views import intervention as iv_view

    if run is None or run.base is None or s.present:
        return
    iv = run.intervention
    h, h_base = layer_state(run, layer), layer_state(run.base, layer)
    state = "y" if s.cell == "jordan" else "h"
    top = top_base = None
    if len(run.passes) > 1 or not CELLS[s.cell].out_is_h or s.cell == "jordan":
        top, top_base = network_output(run), network_output(run.base)
    fig = iv_view.effect_figure(h, h_base, run.hidden_norm[layer, 0],
                                run.base.hidden_norm[layer, 0], iv.step,
                                f"{iv.describe()}, layer {iv.layer}", state=state,
                                outputs=run.outputs, outputs_base=run.base.outputs,
                                top=top, top_base=top_base)
    chart(fig, key="intervention_effect", code=False)
    cut = {"clamp": " A clamp cuts the chain: nothing flows back through the clamped unit "
                    "at t" + (" (the cell state c_t still carries gradient back)."
                              if s.cell == "lstm" else "."),
           "gate": " A forced gate gets no gradient at t: its pre-activation no longer "
                   "matters there."}.get(iv.kind, "")
    also = "" if top is None else " (dotted: the network's output, its top layer)"
    st.caption(f"Top: ‖Δh_t‖, the distance of layer {layer}'s state from the unmodified "
               f"run's{also}, zero before t = {iv.step} (dotted line). Bottom: ‖∂L/∂{state}_t‖ of "
               f"the intervened network (solid; exact BPTT through the intervention) and "
               f"of the unmodified one (dashed).{cut}")


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

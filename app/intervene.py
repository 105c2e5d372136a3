"""The sidebar's Intervene controls: one intervention (engine.interventions) as widgets.

The widgets compose ``Settings.iv`` (``from_widgets``); a link's ``iv`` fills them
(``load``). Every explore page then runs the intervened network beside the unmodified one.
"""

from __future__ import annotations

import streamlit as st

from app.state import Settings, format_intervention, parse_intervention
from engine import Intervention
from engine.interventions import CLAMPABLE, FORCEABLE, PULSABLE

KIND_LABELS = {"none": "none", "clamp": "clamp a unit", "pulse": "pulse a unit",
               "zero_input": "zero the input", "gate": "force a gate"}
ALL_UNITS = -1  # the unit box's value for "every unit"


def kinds_for(cell: str) -> list[str]:
    """The kinds the cell takes (the LRU and S6 only a zeroed input)."""
    return ["none"] + [k for k, cells in (("clamp", CLAMPABLE), ("pulse", PULSABLE),
                                          ("zero_input", None), ("gate", tuple(FORCEABLE)))
                       if cells is None or cell in cells]


def load(s: Settings) -> None:
    """The widgets set to show ``s.iv`` (a session's first run, a tour scene)."""
    ss = st.session_state
    iv = parse_intervention(s.iv)
    ss["w_iv_kind"] = "none" if iv is None else iv.kind
    ss["w_iv_step"] = 0 if iv is None else iv.step
    ss["w_iv_unit"] = ALL_UNITS if iv is None or iv.unit is None else iv.unit
    ss["w_iv_value"] = 0.0 if iv is None else iv.value
    ss["w_iv_gate"] = None if iv is None else iv.gate
    ss["w_iv_layer"] = 0 if iv is None else iv.layer


def from_widgets() -> str:
    """``Settings.iv`` as the widgets say it ("" for none)."""
    ss = st.session_state
    kind = ss.get("w_iv_kind", "none")
    if kind in (None, "none"):
        return ""
    unit = ss.get("w_iv_unit", ALL_UNITS)
    iv = Intervention(kind, int(ss.get("w_iv_step") or 0),
                      unit=None if unit is None or unit < 0 else int(unit),
                      value=float(ss.get("w_iv_value") or 0.0),
                      gate=ss.get("w_iv_gate") if kind == "gate" else None,
                      layer=int(ss.get("w_iv_layer") or 0))
    return format_intervention(iv)


def panel(sb, cell: str, T: int, hidden: int, layers: int = 1) -> None:
    """The section's widgets; only those the chosen kind uses."""
    ss = st.session_state
    sb.markdown("### Intervene")
    kinds = kinds_for(cell)
    if ss.get("w_iv_kind") not in kinds:
        ss["w_iv_kind"] = "none"
    sb.selectbox("At one step", kinds, key="w_iv_kind", format_func=KIND_LABELS.get,
                 help="Change the running network at step t: every explore page recomputes "
                      "it, BPTT included, and draws the difference from the unmodified run.")
    kind = ss["w_iv_kind"]
    if kind == "none":
        return
    ss["w_iv_step"] = min(int(ss.get("w_iv_step") or 0), T - 1)
    sb.number_input("Step t", 0, T - 1, step=1, key="w_iv_step")
    ss["w_iv_layer"] = min(int(ss.get("w_iv_layer") or 0), layers - 1)
    if layers > 1:
        sb.number_input("In layer", 0, layers - 1, step=1, key="w_iv_layer")
    if kind == "zero_input":
        return
    if kind == "gate":
        gates = list(FORCEABLE[cell])
        if ss.get("w_iv_gate") not in gates:
            ss["w_iv_gate"] = gates[0]
        sb.radio("Gate", gates, key="w_iv_gate", horizontal=True)
    ss["w_iv_unit"] = min(int(ss.get("w_iv_unit", ALL_UNITS)), hidden - 1)
    sb.number_input("Unit (−1: every unit)", ALL_UNITS, hidden - 1, step=1, key="w_iv_unit")
    low, high = (0.0, 1.0) if kind == "gate" else (-100.0, 100.0)
    ss["w_iv_value"] = min(max(float(ss.get("w_iv_value") or 0.0), low), high)
    sb.number_input({"clamp": "Clamped to", "pulse": "Pulse size",
                     "gate": "Gate value"}[kind], low, high, step=0.1, key="w_iv_value",
                    format="%g")

"""The Sweeps page's setup (widgets ``sw_*``) and its URL: ``sweep=<id>`` names a stored
sweep, read once per session (main.py, before the URL is rewritten) and written back while
the page shows it."""

from __future__ import annotations

import re

import streamlit as st

from engine.sweep import AXES, SWEEP_CELLS, SweepSpec
from engine.tasks import TASKS

SWEEP_TASKS = tuple(t for t in ("adding", "copy", "sine", "selective_copy",
                                "running_parity") if t in TASKS)
NONE = "—"
DEFAULTS = {"sw_task": "adding", "sw_axis0": "cell", "sw_values0": "rnn, lstm, gru",
            "sw_axis1": "seq_len", "sw_values1": "10, 25, 50", "sw_axis2": NONE,
            "sw_values2": "", "sw_seeds": 2, "sw_steps": 400, "sw_hidden": 32,
            "sw_lr": 0.01, "sw_cell": "lstm", "sw_T": 25}
# The classic figure (engine.sweep.classic_figure): where RNN, IRNN, LSTM and GRU stop
# learning the adding problem
PRESET = {"sw_task": "adding", "sw_axis0": "cell", "sw_values0": "rnn, irnn, lstm, gru",
          "sw_axis1": "seq_len", "sw_values1": "10, 25, 50, 100, 200", "sw_axis2": NONE,
          "sw_values2": "", "sw_seeds": 2, "sw_steps": 600, "sw_hidden": 32, "sw_lr": 0.01}
SWEEP_ID = re.compile(r"^[0-9a-f]{16}$")


def defaults() -> None:
    ss = st.session_state
    for key, value in DEFAULTS.items():
        ss.setdefault(key, value)


def apply_preset() -> None:
    st.session_state.update(PRESET)


def read_url_once() -> None:
    """A link's ``sweep`` becomes the page's sweep (first run of a session only)."""
    ss = st.session_state
    if ss.get("sw_url_read"):
        return
    ss["sw_url_read"] = True
    sweep = st.query_params.get("sweep", "")
    if sweep:
        if SWEEP_ID.match(sweep):
            ss["sw_sweep"] = sweep
        else:
            ss["sw_notice"] = "The sweep in this link is not a sweep id; ignoring it."


def query() -> dict[str, str]:
    sweep = st.session_state.get("sw_sweep")
    return {"sweep": sweep} if sweep else {}


def _values(name: str, text: str) -> list:
    kind = AXES[name]
    parts = [p.strip() for p in re.split(r"[,\s]+", text) if p.strip()]
    if not parts:
        raise ValueError(f"give {name} at least one value")
    try:
        values = [kind(p) for p in parts]
    except ValueError:
        raise ValueError(f"{name}: {text!r} is not a list of {kind.__name__}s") from None
    if name == "cell":
        bad = [v for v in values if v not in SWEEP_CELLS]
        if bad:
            raise ValueError(f"cell: {', '.join(bad)} is not one of {', '.join(SWEEP_CELLS)}")
    return list(dict.fromkeys(values))


def spec() -> SweepSpec:
    """The sweep the widgets describe (ValueError, in the page's words, when they do not)."""
    ss = st.session_state
    axes = {}
    for i in range(3):
        name = ss.get(f"sw_axis{i}", NONE)
        if name == NONE:
            continue
        if name in axes:
            raise ValueError(f"{name} is chosen as two axes")
        axes[name] = _values(name, ss.get(f"sw_values{i}", ""))
    if not axes:
        raise ValueError("choose at least one axis")
    base = {"steps": int(ss["sw_steps"]), "batch": 32, "clip": 1.0}
    for name, key in (("hidden", "sw_hidden"), ("lr", "sw_lr"), ("cell", "sw_cell"),
                      ("seq_len", "sw_T")):
        if name not in axes:
            base[name] = AXES[name](ss[key])
    if "clip" in axes:
        base.pop("clip")
    return SweepSpec.make(ss["sw_task"], axes, int(ss["sw_seeds"]), **base)

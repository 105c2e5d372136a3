"""The sidebar: one set of network controls shared by every page, turned into ``Settings``.

Widgets hold their values in ``st.session_state['w_<field>']``. On a session's first run
those keys are filled from the URL (clamped), so a shared link opens the same view.
"""

from __future__ import annotations

from dataclasses import fields

import streamlit as st

from app import intervene, trained, your_model
from app.state import (
    CHOICES,
    DIAGONAL,
    FLOAT_RANGES,
    GATED,
    INT_RANGES,
    OWN_INIT,
    RADIUS_MIN,
    Settings,
    initial_from_url,
)
from engine import CELLS
from engine.lru_recipe import SWITCHES

# widgets that live on pages, kept across pages
RECIPE_KEYS = tuple(f"w_rc_{k}" for k in SWITCHES)  # the Elman-to-LRU page's switches
PAGE_KEYS = ("w_arch", "w_layer", "w_units", "w_scan", *RECIPE_KEYS)
CELL_LABELS = {"rnn": "Elman RNN", "lstm": "LSTM", "gru": "GRU", "jordan": "Jordan RNN",
               "indrnn": "IndRNN", "mingru": "minGRU", "minlstm": "minLSTM", "lru": "LRU",
               "s6": "S6 (Mamba)"}
OWN_INIT_NOTES = {
    "lru": "The LRU has its own initialisation: its eigenvalues λ uniform on a ring "
           "r_min ≤ |λ| ≤ r_max of the complex plane.",
    "s6": "S6 has its own initialisation (Mamba's): A[d, n] = −(n + 1), Δ log-uniform on "
          "[0.001, 0.1], D = 1.",
}
SIGNAL_LABELS = {"sine": "sine", "noise": "noise", "impulse": "impulse", "step": "step",
                 "sum": "running sum 1+1+1", "text": "typed text",
                 "sequence": "typed or uploaded sequence"}
SCALES = ("gain", "spectral radius")


def _init_session() -> None:
    """First run of a session: widget values from the URL, notices kept to show."""
    ss = st.session_state
    if "w_cell" in ss:
        return
    settings, notices = initial_from_url()
    load_widgets(settings)
    ss["url_notices"] = notices
    ss["url_settings"] = settings


def load_widgets(settings: Settings) -> None:
    """Every widget set to show ``settings`` (a session's first run, a tour scene)."""
    ss = st.session_state
    for f in fields(Settings):
        ss[f"w_{f.name}"] = getattr(settings, f.name)
    ss["w_scale"] = SCALES[1] if settings.radius > 0 else SCALES[0]
    if settings.radius <= 0:  # the radius slider's value if the visitor turns to it
        ss["w_radius"] = 1.0
    for k in SWITCHES:
        ss[f"w_rc_{k}"] = k in settings.recipe_switches()
    intervene.load(settings)


def _keep_page_widgets() -> None:
    """Page widgets vanish from session_state on pages that don't draw them; re-store them.

    The Training lab's value widgets (``tr_*``) too, so its setup survives a visit elsewhere.
    """
    ss = st.session_state
    for key in list(PAGE_KEYS) + [k for k in list(ss) if str(k).startswith("tr_")]:
        if key in ss:
            ss[key] = ss[key]


def _clear_weights() -> None:
    st.session_state["w_weights"] = ""


def _to_history_step() -> None:
    """The training-step slider moved: the pages get the network after that step."""
    ss = st.session_state
    ss["w_weights"] = trained.step_token(ss.get("w_weights") or "", ss["w_history"])


def _history_slider(sb, entry: trained.Trained) -> None:
    """Scrub through a trained network's history: every page shows it after that step."""
    steps = entry.history
    if len(steps) < 2:
        return
    st.session_state["w_history"] = steps[-1] if entry.step is None else entry.step
    sb.select_slider("Training step", steps, key="w_history", on_change=_to_history_step,
                     help="The network as it was after this many training steps (the "
                          "Training lab keeps its weights every few steps): move it to watch "
                          "what training changed, on every page.")


def _trained_network(notices: list[str]) -> trained.Trained | None:
    """The Training lab's network, if the settings name one: its shape fixes the controls."""
    ss = st.session_state
    token = ss.get("w_weights") or ""
    entry = trained.lookup(token)
    base = token.partition(".")[0]
    if entry is None and base != token and trained.lookup(base) is not None:
        notices.append(f"Step {token.partition('.')[2]} is not in this network's training "
                       "history; showing its final weights.")
        ss["w_weights"] = token = base
        entry = trained.lookup(base)
    if token and entry is None:
        notices.append(
            ("The trained network in this link was dropped from the server's run store, "
             "which keeps the most recently used runs within its size limit"
             if trained.evicted(token) else
             "The trained weights in this link are no longer on the server (they were "
             "uploaded, not trained here, and the server restarted)")
            + "; showing a freshly built network. Train again in the Training lab and "
              "press Inspect.")
        ss["w_weights"] = ""
        return None
    if entry is not None:
        net = entry.network
        ss["w_cell"], ss["w_hidden"] = net.cell_name, net.hidden_size
        ss["w_layers"], ss["w_bidir"] = net.num_layers, net.bidirectional
        ss["w_act"], ss["w_T"] = net.activation, int(entry.x.shape[0])
    return entry


def _on_upload() -> None:
    """An uploaded CSV replaces the typed sequence (so it travels in the URL too)."""
    file = st.session_state.get("w_upload")
    if file is not None:
        st.session_state["w_seq"] = file.getvalue()[: 4 * 8000].decode("utf-8", "replace")


def read() -> tuple[Settings, list[str], trained.Trained | None]:
    """This run's settings, notices and trained network, from the widgets' session state.

    Nothing is drawn: every control has a key, so its value is in session state before its
    widget is (``draw`` draws them after the page, see app/main.py).
    """
    _init_session()
    _keep_page_widgets()
    ss = st.session_state
    early: list[str] = []
    entry = _trained_network(early)
    raw = {f.name: ss.get(f"w_{f.name}") for f in fields(Settings)}
    raw["radius"] = ss["w_radius"] if ss["w_scale"] == SCALES[1] else 0.0
    raw["recipe"] = ",".join(k for k in SWITCHES if ss.get(f"w_rc_{k}"))
    raw["iv"] = intervene.from_widgets()
    settings, notices = Settings.validated(raw)
    if settings == ss.get("url_settings"):
        notices = list(ss.get("url_notices", [])) + notices
    return settings, early + notices, entry


def draw(entry: trained.Trained | None, own_network: bool = False) -> None:
    """The sidebar's widgets; ``entry`` is the trained network ``read`` found, if any.
    ``own_network``: the page computes with a network of its own (Edge of chaos sweeps a
    tanh RNN), so the initialisation controls apply whatever the cell."""
    ss = st.session_state
    sb = st.sidebar
    fixed = entry is not None  # a trained network fixes its shape, weights and input
    sb.markdown("### Network")
    if fixed:
        sb.info(f"Your network: {entry.label}; {entry.input_note} (T = {entry.seq_len})."
                if entry.input_note else
                f"Trained weights: {entry.label} on the {entry.task} task (T = "
                f"{entry.seq_len}, seed {entry.seed}); its input is one sequence of that "
                "task.")
        _history_slider(sb, entry)
        sb.button("Clear trained weights", key="w_clear_weights", on_click=_clear_weights)
    your_model.panel(sb)
    sb.selectbox("Cell", CHOICES["cell"], key="w_cell", format_func=CELL_LABELS.get,
                 disabled=fixed)
    fixed_act = ss["w_cell"] in GATED or not CELLS[ss["w_cell"]].uses_activation
    sb.selectbox("Activation φ", CHOICES["act"], key="w_act", disabled=fixed_act or fixed,
                 help="Gated cells fix their own: sigmoid gates; tanh candidates (LSTM, "
                      "GRU) or linear ones (minGRU, minLSTM). The LRU and S6 have none: "
                      "they are linear in their state.")
    sb.slider("Hidden size H", *INT_RANGES["hidden"], key="w_hidden", disabled=fixed)
    sb.slider("Layers", *INT_RANGES["layers"], key="w_layers", disabled=fixed)
    sb.toggle("Bidirectional", key="w_bidir", disabled=fixed)
    sb.slider("Sequence length T", *INT_RANGES["T"], key="w_T", disabled=fixed)

    sb.markdown("### Initialisation")
    ring = ss["w_cell"] in OWN_INIT and not own_network  # the LRU's ring, Mamba's S6 init
    ring_help = OWN_INIT_NOTES.get(ss["w_cell"]) if ring else None
    sb.selectbox("Scheme", CHOICES["init"], key="w_init", disabled=fixed or ring,
                 help=ring_help)
    sb.radio("Scale by", SCALES, key="w_scale", horizontal=True, disabled=fixed or ring)
    if ss["w_scale"] == SCALES[0]:
        sb.slider("Gain g", *FLOAT_RANGES["gain"], step=0.01, key="w_gain",
                  disabled=fixed or ring, help=ring_help)
    else:
        no_whh = ss["w_cell"] in DIAGONAL and not own_network
        sb.slider("Spectral radius ρ of W_hh", RADIUS_MIN, FLOAT_RANGES["radius"][1], step=0.01,
                  key="w_radius", disabled=fixed or no_whh,
                  help="minGRU, minLSTM, the LRU and S6 have no W_hh: nothing to rescale."
                  if no_whh
                  else None)
    sb.number_input("Seed", *INT_RANGES["seed"], step=1, key="w_seed", disabled=fixed)

    sb.markdown("### Input and loss")
    sb.selectbox("Input signal", CHOICES["signal"], key="w_signal",
                 format_func=SIGNAL_LABELS.get, disabled=fixed)
    if ss["w_signal"] == "text" and not fixed:
        sb.text_input("Text", key="w_text", max_chars=500)
        sb.radio("Characters as", CHOICES["encoding"], key="w_encoding", horizontal=True,
                 format_func={"onehot": "one-hot", "code": "code"}.get)
    elif ss["w_signal"] == "sequence" and not fixed:
        sb.text_area("One value or vector per line", key="w_seq", height=110)
        sb.file_uploader("...or upload a CSV", type=["csv", "txt"], key="w_upload",
                         on_change=_on_upload)
    sb.radio("Loss at", CHOICES["loss"], key="w_loss", horizontal=True,
             format_func={"last": "last step", "every": "every step"}.get)

    sb.markdown("### Gradient")
    sb.radio("Clipping", CHOICES["clip"], key="w_clip", horizontal=True)
    if ss["w_clip"] != "none":
        sb.number_input("Threshold θ", *FLOAT_RANGES["threshold"], key="w_threshold",
                        format="%g")
    sb.slider("Truncated BPTT window k (0 = full)", *INT_RANGES["truncate"], key="w_truncate")
    intervene.panel(sb, ss["w_cell"], int(ss["w_T"]), int(ss["w_hidden"]), int(ss["w_layers"]))

"""Your model on the explore pages: a ``.pt`` state_dict uploaded in the sidebar, read by
engine.state_dict (safely: weights only), handed to the pages like the lab's trained
networks (a token in the URL, ``app.trained``, kept in the store so the link outlives a
restart). Its input is the sidebar's signal when the
widths agree, else unit noise of the model's input width (the page says which).
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from app import trained
from app.compute import signal_for
from engine import Network
from engine import state_dict as sdm

UPLOAD_MB = 4


def _on_upload() -> None:
    """Read the file at once: its modules (or why not) wait in session state."""
    ss = st.session_state
    ss["model_error"], ss["model_found"], ss["model_sd"] = None, None, None
    file = ss.get("w_model_file")
    if file is None:
        return
    try:
        sd = sdm.load(file.getvalue())
        found = sdm.find(sd)
        if not found:
            sdm.choose(sd)  # raises: no recurrent weights
    except ValueError as exc:
        ss["model_error"] = f"{file.name}: {exc}"
        return
    except Exception as exc:  # noqa: BLE001 - a callback must never show a traceback
        ss["model_error"] = f"{file.name} could not be read: {type(exc).__name__}"
        return
    ss["model_sd"], ss["model_found"], ss["model_name"] = sd, found, file.name


def _picked(found: list) -> sdm.Found:
    """The recurrent module the visitor chose (the only one, or the selectbox's)."""
    index = int(st.session_state.get("w_model_pick") or 0) if len(found) > 1 else 0
    return found[min(index, len(found) - 1)]


def _open() -> None:
    """Build the chosen module's network and hand it to the pages."""
    ss = st.session_state
    pick = _picked(ss["model_found"])
    settings = ss.get("settings")
    try:
        net = Network.from_state_dict(ss["model_sd"], prefix=pick.prefix,
                                      nonlinearity=ss.get("w_model_act", "tanh"))
        readout = sdm.readout(ss["model_sd"], pick.prefix)
    except ValueError as exc:
        ss["model_error"] = f"{ss['model_name']}: {exc}"
        return
    except Exception as exc:  # noqa: BLE001 - a callback must never show a traceback
        ss["model_error"] = f"{ss['model_name']}: its weights could not be used " \
                            f"({type(exc).__name__})"
        return
    entry = entry_for(net, settings, f"your {pick.cell.upper()} ({ss['model_name']})",
                      readout)
    ss["w_weights"] = trained.keep_upload(entry)


def entry_for(net: Network, settings, label: str, readout=None) -> trained.Trained:
    """The pages' view of an uploaded network: the sidebar's signal as its input when the
    widths agree, else N(0, 1) noise of its input width, as long as the sidebar's T."""
    x, _ = signal_for(settings)
    if x.shape[1] == net.input_size:
        note = f"its input is the sidebar's {settings.signal} signal"
    else:
        note = (f"its input is N(0, 1) noise on its {net.input_size} input channels (the "
                f"sidebar's {settings.signal} signal has {x.shape[1]})")
        x = np.random.default_rng(settings.seed).standard_normal((x.shape[0], net.input_size))
    return trained.Trained(net, "uploaded", int(x.shape[0]), settings.seed, x, label,
                           input_note=note, readout=readout)


def panel(sb) -> None:
    """The sidebar's upload: the file, what was found in it, the choices it needs."""
    ss = st.session_state
    with sb.expander("Your model (.pt state_dict)"):
        st.file_uploader("A state_dict of torch.nn.RNN, LSTM or GRU (or of a module holding "
                         "one)", type=["pt", "pth", "bin"], key="w_model_file",
                         on_change=_on_upload, max_upload_size=UPLOAD_MB)
        if ss.get("model_error"):
            st.error(ss["model_error"])
        found = ss.get("model_found")
        if not found:
            st.caption("Saved with torch.save(model.state_dict(), 'model.pt'); read with "
                       "weights only (no code in the file runs).")
            return
        if len(found) > 1:
            st.selectbox("Recurrent module", range(len(found)), key="w_model_pick",
                         format_func=lambda i: found[i].label)
        else:
            st.caption(found[0].label)
        pick = _picked(found)
        if pick.cell == "rnn":
            st.radio("Its nonlinearity (a state_dict does not say)", ("tanh", "relu"),
                     key="w_model_act", horizontal=True)
        if pick.readout:
            st.caption(f"Read-out beside it: {pick.readout}. The Hidden state page draws "
                       "its outputs; the gradients are those of the recurrent part's "
                       "output, as for every network here.")
        st.button("Open it on the pages", key="w_model_open", on_click=_open,
                  type="primary")

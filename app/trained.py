"""Trained networks handed from the Training lab (and the Sweeps page) to the explore
pages, by a short token.

``Settings.weights`` carries the token (so it travels in the URL and is part of every cache
key); the network itself lives in one process-wide registry (``st.cache_resource``). An entry
never changes once registered, so a token always means the same weights. A network trained
here and kept in the run store (app.runs) gets its run's key as token: after a server
restart the registry is empty, and the network is rebuilt from the store. Other tokens
(uploaded weights) end with the process; the sidebar clears an unknown token with a notice.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass

import numpy as np
import streamlit as st
import torch

from app import runs
from app.lab_state import CELL_LABELS
from engine import Network
from engine.run_record import config_of
from engine.tasks import make_task
from engine.train import TrainConfig, load_weights, to_network

MAX_ENTRIES = 64
KEY_LENGTH = 24  # a run store key (engine.store.run_key)
_LOCK = threading.Lock()


@dataclass(frozen=True)
class Trained:
    network: Network  # engine copy of the trained recurrent part (torch bridge)
    task: str
    seq_len: int
    seed: int
    x: np.ndarray  # (T, I) float64: one sequence of the task, the pages' input
    label: str
    input_note: str = ""  # what x is, where it is not a sequence of the task (uploads)


@st.cache_resource(show_spinner=False)
def registry() -> dict:
    return {}


def entry_for(cfg: TrainConfig, model, label: str) -> Trained:
    """The explore pages' view of a trained model: its network and one task sequence."""
    task = make_task(cfg.task, cfg.seq_len, noise=cfg.noise, text=cfg.text)
    x = task.batch(1, np.random.default_rng(cfg.seed))[0][:, 0].astype(np.float64)
    return Trained(to_network(model), cfg.task, cfg.seq_len, cfg.seed, x, label)


def stored_token(cfg: TrainConfig, model) -> str | None:
    """The run store's key for this model when the store holds exactly these weights."""
    run = runs.finished(cfg)
    if run is None or not run.weights:
        return None
    kept = load_weights(run.weights, cfg).state_dict()
    same = all(torch.equal(kept[k], v) for k, v in model.state_dict().items())
    return run.key if same else None


def register(entry: Trained, token: str | None = None) -> str:
    token = token or uuid.uuid4().hex[:12]
    with _LOCK:
        reg = registry()
        while len(reg) >= MAX_ENTRIES:
            reg.pop(next(iter(reg)))
        reg[token] = entry
    return token


def lookup(token: str) -> Trained | None:
    """The network of ``token``: this process's, or rebuilt from the run store."""
    if not token:
        return None
    entry = registry().get(token)
    if entry is None and len(token) == KEY_LENGTH:
        entry = _from_store(token)
        if entry is not None:
            register(entry, token)
    return entry


def evicted(token: str) -> bool:
    """Whether the run store dropped this token's run to stay under its size cap."""
    return bool(token) and runs.store().was_evicted(token)


def _from_store(token: str) -> Trained | None:
    run = runs.store().get(token)
    if run is None or not run.weights:
        return None
    cfg = config_of(run)
    try:
        model = load_weights(run.weights, cfg)
    except ValueError:  # stored by other code (its key would differ; guarded anyway)
        return None
    return entry_for(cfg, model, CELL_LABELS.get(cfg.cell, cfg.cell))

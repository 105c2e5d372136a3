"""Trained networks handed from the Training lab (and the Sweeps page) to the explore
pages, by a short token.

``Settings.weights`` carries the token (so it travels in the URL and is part of every cache
key); the network itself lives in one process-wide registry (``st.cache_resource``). An entry
never changes once registered, so a token always means the same weights. A network trained
here and kept in the run store (app.runs) gets its run's key as token: after a server
restart the registry is empty, and the network is rebuilt from the store. A network
uploaded on the explore pages is kept in the store too (``keep_upload``); other tokens end
with the process, and the sidebar clears an unknown token with a notice.

A run trained in the lab keeps its history (``TrainResult.checkpoints``): ``<token>.<step>``
names its network after that many training steps, rebuilt from the checkpoint.
"""

from __future__ import annotations

import hashlib
import json
import threading
import uuid
from dataclasses import dataclass, replace

import numpy as np
import streamlit as st
import torch

from app import runs
from app.lab_state import CELL_LABELS
from engine import Network
from engine.run_record import to_result
from engine.tasks import make_task
from engine.train import TrainConfig, load_weights, model_at, to_network

MAX_ENTRIES = 64
MAX_STEP_ENTRIES = 16
KEY_LENGTH = 24  # a run store key (engine.store.run_key)
UPLOAD_TOKEN_LENGTH = 16  # an uploaded network's (a hash of its contents)
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
    config: TrainConfig | None = None  # what trained it (None: an upload)
    checkpoints: tuple = ()  # its training history: ((updates done, flat weights), ...)
    step: int | None = None  # the history's step this network is (None: the final one)
    readout: tuple | None = None  # (W, b): the model's outputs y_t = W out_t + b
    many_to_one: bool = False  # trained to answer at the last step alone

    @property
    def history(self) -> list[int]:
        """The training steps one can look at this network after."""
        return [k for k, _ in self.checkpoints]


@st.cache_resource(show_spinner=False)
def registry() -> dict:
    return {}


def entry_for(cfg: TrainConfig, model, label: str, checkpoints=()) -> Trained:
    """The explore pages' view of a trained model: its network and one task sequence (the
    same for every step of its history, so the pages compare like with like)."""
    task = make_task(cfg.task, cfg.seq_len, noise=cfg.noise, text=cfg.text)
    x = task.batch(1, np.random.default_rng(cfg.seed))[0][:, 0].astype(np.float64)
    last = task.where == "last"
    return Trained(to_network(model), cfg.task, cfg.seq_len, cfg.seed, x, label, config=cfg,
                   checkpoints=tuple(checkpoints), readout=_head(model, cfg, last),
                   many_to_one=last)


def _head(model, cfg: TrainConfig, many_to_one: bool) -> tuple | None:
    """The trained read-out (W, b), to apply at every step; None for a bidirectional
    many-to-one model, whose read-out joins two steps (forward last, reverse first)."""
    if cfg.bidirectional and many_to_one:
        return None
    return (model.head.weight.detach().double().numpy().copy(),
            model.head.bias.detach().double().numpy().copy())


def step_token(token: str, step: int) -> str:
    """The token of ``token``'s network after ``step`` training steps (its final step: the
    token itself)."""
    base = token.partition(".")[0]
    entry = lookup(base)
    if entry is not None and entry.history and step == entry.history[-1]:
        return base
    return f"{base}.{step}"


@st.cache_resource(show_spinner=False)
def _steps() -> dict:
    """Networks of history steps, rebuilt from their checkpoint (cheap) and kept apart
    from ``registry`` so a scrub through the history never pushes the base entries out."""
    return {}


def _at_step(base: str, step: int) -> Trained | None:
    token = f"{base}.{step}"
    steps = _steps()
    if token in steps:
        return steps[token]
    entry = lookup(base)
    weights = dict(entry.checkpoints).get(step) if entry is not None else None
    if weights is None:
        return None
    model = model_at(entry.config, weights)
    found = replace(entry, network=to_network(model), step=step,
                    readout=_head(model, entry.config, entry.many_to_one),
                    label=f"{entry.label} after {step} training steps")
    with _LOCK:
        while len(steps) >= MAX_STEP_ENTRIES:
            steps.pop(next(iter(steps)))
        steps[token] = found
    return found


def stored_token(cfg: TrainConfig, model) -> str | None:
    """The run store's key for this model when the store holds exactly these weights."""
    run = runs.finished(cfg)
    if run is None or not run.weights:
        return None
    kept = load_weights(run.weights, cfg).state_dict()
    same = all(torch.equal(kept[k], v) for k, v in model.state_dict().items())
    return run.key if same else None


def keep_upload(entry: Trained) -> str:
    """Register an uploaded network under a token made from its contents, and keep it in
    the store so its link outlives a restart (the same upload gets the same token)."""
    net = entry.network
    meta = {"cell": net.cell_name, "input_size": net.input_size, "hidden": net.hidden_size,
            "layers": net.num_layers, "bidirectional": net.bidirectional,
            "activation": net.activation, "task": entry.task, "seq_len": entry.seq_len,
            "seed": entry.seed, "label": entry.label, "input_note": entry.input_note}
    arrays = {**net.params, "x": entry.x}
    if entry.readout is not None:
        arrays["readout_w"], arrays["readout_b"] = entry.readout
    digest = hashlib.sha256(json.dumps(meta, sort_keys=True).encode())
    for name in sorted(arrays):
        digest.update(name.encode() + np.ascontiguousarray(arrays[name]).tobytes())
    token = digest.hexdigest()[:UPLOAD_TOKEN_LENGTH]
    runs.store().put_network(token, meta, arrays)
    return register(entry, token)


def _from_uploads(token: str) -> Trained | None:
    kept = runs.store().get_network(token)
    if kept is None:
        return None
    meta, arrays = kept
    net = Network(meta["cell"], meta["input_size"], meta["hidden"], meta["layers"],
                  meta["bidirectional"], meta["activation"])
    net.load_params({k: arrays[k] for k in net.params})
    readout = (arrays["readout_w"], arrays["readout_b"]) if "readout_w" in arrays else None
    return Trained(net, meta["task"], meta["seq_len"], meta["seed"], arrays["x"],
                   meta["label"], input_note=meta["input_note"], readout=readout)


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
    base, _, step = token.partition(".")
    if step:
        return _at_step(base, int(step))
    entry = registry().get(token)
    if entry is None:
        rebuild = {KEY_LENGTH: _from_store, UPLOAD_TOKEN_LENGTH: _from_uploads}.get(len(token))
        entry = rebuild(token) if rebuild else None
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
    try:
        result = to_result(run)
    except ValueError:  # stored by other code (its key would differ; guarded anyway)
        return None
    cfg = result.config
    return entry_for(cfg, result.model, CELL_LABELS.get(cfg.cell, cfg.cell), result.checkpoints)

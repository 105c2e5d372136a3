"""Trained networks handed from the Training lab to the explore pages, by a short token.

``Settings.weights`` carries the token (so it travels in the URL and is part of every cache
key); the network itself lives in one process-wide registry (``st.cache_resource``). An entry
never changes once registered, so a token always means the same weights. After a server
restart the registry is empty and the sidebar clears an unknown token with a notice.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass

import numpy as np
import streamlit as st

from engine import Network

MAX_ENTRIES = 64
_LOCK = threading.Lock()


@dataclass(frozen=True)
class Trained:
    network: Network  # engine copy of the trained recurrent part (torch bridge)
    task: str
    seq_len: int
    seed: int
    x: np.ndarray  # (T, I) float64: one sequence of the task, the pages' input
    label: str


@st.cache_resource(show_spinner=False)
def registry() -> dict:
    return {}


def register(entry: Trained) -> str:
    token = uuid.uuid4().hex[:12]
    with _LOCK:
        reg = registry()
        while len(reg) >= MAX_ENTRIES:
            reg.pop(next(iter(reg)))
        reg[token] = entry
    return token


def lookup(token: str) -> Trained | None:
    return registry().get(token) if token else None

"""The server's run store (engine.store), and what the app keeps there.

The Training lab stores every run that completes (or diverges): a second visitor asking for
the same runs gets them at once, and an Inspect link names a stored run, so it survives a
server restart. The Sweeps page reads and writes its sweeps here. One store per process,
opened on first use (``UNROLLED_DATA`` says where); never ``st.*``: training threads call it.
"""

from __future__ import annotations

import threading

from engine.run_record import complete, config_dict, key_of, to_record, to_result
from engine.store import RunStore, StoredRun
from engine.train import TrainConfig, TrainResult

_LOCK = threading.Lock()
_STORE: RunStore | None = None


def store() -> RunStore:
    global _STORE
    with _LOCK:
        if _STORE is None:
            _STORE = RunStore()
        return _STORE


def reset() -> None:
    """Forget the open store (tests point ``UNROLLED_DATA`` elsewhere)."""
    global _STORE
    with _LOCK:
        _STORE = None


def keep(result: TrainResult) -> str | None:
    """Store a run that ran all its steps or diverged; its key (None: not kept)."""
    if not complete(result):
        return None
    rec = to_record(result)
    return store().put(config_dict(result.config), rec["summary"], rec["curves"],
                       rec["weights"], rec["status"], rec["step"])


def finished(config: TrainConfig) -> StoredRun | None:
    """The stored, finished run of exactly this configuration, if there is one."""
    run = store().get(key_of(config))
    return run if run is not None and run.finished else None


def result_of(config: TrainConfig) -> TrainResult | None:
    run = finished(config)
    return None if run is None else to_result(run)

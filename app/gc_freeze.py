"""Keep Python's full garbage collections short in the server.

After the first page has run, the server holds a few hundred thousand long-lived objects
(Streamlit, NumPy, Plotly, the engine, numba's compiled kernels). Python's full collection
walks every one of them, 50 to 200 ms at a random rerun, which a user sees as a stalled
slider. ``gc.freeze`` moves what exists at that point into a permanent generation that
collections skip; anything created later is collected as before.
"""

from __future__ import annotations

import gc

_frozen = False


def freeze_once() -> None:
    """Freeze the objects alive now, the first time only (main.py calls it after each run)."""
    global _frozen
    if not _frozen:
        _frozen = True
        gc.freeze()

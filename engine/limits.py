"""The documented limits of the engine, and the checks that enforce them.

A bad argument raises ``ValueError`` naming the argument and the allowed range, so the app
can show the message as it is.
"""

from __future__ import annotations

import numpy as np

MAX_HIDDEN = 1024
MAX_INPUT = 4096
MAX_LAYERS = 8
MAX_STEPS = 100_000
MAX_BATCH = 4096


def check_int(name: str, value, low: int, high: int) -> int:
    """An integer in [low, high], or a ValueError that says so."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an integer in [{low}, {high}], got {value!r}")
    if not low <= value <= high:
        raise ValueError(f"{name} must be in [{low}, {high}], got {value}")
    return int(value)


def check_positive(name: str, value) -> float:
    """A finite number > 0."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}") from None
    if not np.isfinite(v) or v <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return v


def as_float_array(name: str, value, shape: tuple[int | None, ...],
                   dtype=np.float64) -> np.ndarray:
    """A finite float64 (or ``dtype``: complex128) array whose shape matches ``shape``
    (None matches any size). Complex values where real ones are due are refused, not cut."""
    try:
        if np.iscomplexobj(value) and not np.issubdtype(dtype, np.complexfloating):
            raise TypeError
        arr = np.asarray(value, dtype=dtype)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an array of {'real ' * (dtype == np.float64)}"
                         "numbers") from None
    fits = arr.ndim == len(shape) and all(
        s is None or s == a for s, a in zip(shape, arr.shape, strict=True))
    if not fits:
        want = "(" + ", ".join("any" if s is None else str(s) for s in shape) + ")"
        raise ValueError(f"{name} must have shape {want}, got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        bad = np.argwhere(~np.isfinite(arr))[0]
        raise ValueError(f"{name} must be finite; found {arr[tuple(bad)]} at index {tuple(bad)}")
    return arr

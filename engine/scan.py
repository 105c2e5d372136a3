"""The linear recurrence ``h_t = a_t * h_{t-1} + b_t`` (elementwise), by a loop and by the two
classic parallel scans, and its exact backward pass (a reverse scan).

This is what makes the modern diagonal recurrences (minGRU, LRU, S6) fast: the pairs
``(a_t, b_t)`` compose associatively, so all T states come out of log2 T rounds of
elementwise work instead of T dependent steps (../shared/SCIENCE.md, "The scan"):

    (a_i, b_i) . (a_j, b_j) = (a_j a_i, a_j b_i + b_j)      earlier pair first, identity (1, 0)

``h_0`` is folded into the first pair (``b_1 <- a_1 h_0 + b_1``). Hillis-Steele takes
ceil(log2 T) rounds and O(T log T) combines; Blelloch an up-sweep and a down-sweep, about
2 log2 T rounds and O(T) combines. Each returns the states with a ``ScanCost`` (rounds =
depth, combines = work), so a page can show what each costs. Arrays are time-major
``(T, ...)``, real or complex; every channel is independent.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

METHODS = ("loop", "hillis_steele", "blelloch")


@dataclass(frozen=True)
class ScanCost:
    """How a scan spent its work: ``rounds`` of elementwise combines that depend on each
    other (the depth: time on enough parallel hardware), ``combines`` in all (the work)."""

    method: str
    rounds: int
    combines: int


def combine(earlier: tuple, later: tuple) -> tuple:
    """``(a_i, b_i) . (a_j, b_j)``: first the earlier step, then the later one."""
    a_i, b_i = earlier
    a_j, b_j = later
    return a_j * a_i, a_j * b_i + b_j


def _pairs(a, b, h0):
    """The pairs as float/complex arrays of one shape, ``h_0`` folded into the first."""
    a, b = np.asarray(a), np.asarray(b)
    if a.ndim != b.ndim:  # numpy would align a (T,) with b's last axis, not its time axis
        raise ValueError(f"a {a.shape} and b {b.shape} need the same number of axes, time "
                         "first: give a per-step a as (T, 1)")
    a, b = np.broadcast_arrays(a, b)
    dtype = np.result_type(a, b, 0.0 if h0 is None else np.asarray(h0), np.float64)
    a, b = a.astype(dtype), b.astype(dtype)  # copies: the scans write in place
    if a.ndim == 0:
        raise ValueError("a and b need a time axis first: shape (T, ...)")
    if h0 is not None and len(a):
        b[0] = a[0] * h0 + b[0]
    return a, b


def loop(a, b, h0=None) -> tuple[np.ndarray, ScanCost]:
    """The sequential reference: T dependent steps, T - 1 combines."""
    a, b = _pairs(a, b, h0)
    h = np.empty_like(b)
    prev = None
    for t in range(len(b)):
        prev = b[t] if prev is None else a[t] * prev + b[t]
        h[t] = prev
    return h, ScanCost("loop", len(b), max(len(b) - 1, 0))


def hillis_steele(a, b, h0=None) -> tuple[np.ndarray, ScanCost]:
    """Hillis & Steele (1986): in round r every position t >= 2^r takes in the aggregate
    2^r steps before it; after ceil(log2 T) rounds position t holds the whole prefix."""
    a, b = _pairs(a, b, h0)
    T, rounds, combines, d = len(b), 0, 0, 1
    while d < T:
        a_new, b_new = combine((a[:-d], b[:-d]), (a[d:], b[d:]))
        a[d:], b[d:] = a_new, b_new
        rounds, combines, d = rounds + 1, combines + T - d, 2 * d
    return b, ScanCost("hillis_steele", rounds, combines)


def blelloch(a, b, h0=None) -> tuple[np.ndarray, ScanCost]:
    """Blelloch (1990), work-efficient: an up-sweep builds the aggregate of each aligned
    block of a binary tree, a down-sweep hands every block the prefix before it (an
    exclusive scan); one more combine per step makes it inclusive. T is padded to a power
    of two with the identity (1, 0); the combines counted are those a scan of T steps needs
    (none whose result only padding uses), at most 3T."""
    a, b = _pairs(a, b, h0)
    T = len(b)
    n = 1 << max(T - 1, 0).bit_length()
    pad = [(0, n - T)] + [(0, 0)] * (b.ndim - 1)
    A, B = np.pad(a, pad, constant_values=1), np.pad(b, pad, constant_values=0)
    rounds = combines = 0
    d = 1
    while d < n:  # up-sweep: the right end of each block of 2d holds its aggregate
        left, right = slice(d - 1, n, 2 * d), slice(2 * d - 1, n, 2 * d)
        A[right], B[right] = combine((A[left], B[left]), (A[right], B[right]))
        # needed where the block lies within T: a block past T feeds only padding
        rounds, combines, d = rounds + 1, combines + T // (2 * d), 2 * d
    A[-1], B[-1] = 1, 0  # the prefix before everything: the identity
    d = n // 2
    while d >= 1:  # down-sweep: left child gets the parent's prefix, right child that
        left, right = slice(d - 1, n, 2 * d), slice(2 * d - 1, n, 2 * d)
        a_left, b_left = A[left].copy(), B[left].copy()  # prefix with the left block
        A[left], B[left] = A[right], B[right]
        A[right], B[right] = combine((A[right], B[right]), (a_left, b_left))
        # needed where the right child's block [k + d ..] starts within T
        rounds, combines, d = rounds + 1, combines + (T + d - 1) // (2 * d), d // 2
    h = a * B[:T] + b  # inclusive: each step's own pair after the prefix before it
    return h, ScanCost("blelloch", rounds + 1, combines + max(T - 1, 0))


SCANS = {"loop": loop, "hillis_steele": hillis_steele, "blelloch": blelloch}


def scan(a, b, h0=None, method: str = "blelloch") -> tuple[np.ndarray, ScanCost]:
    """All states of ``h_t = a_t * h_{t-1} + b_t`` by ``method`` (one of ``METHODS``)."""
    if method not in SCANS:
        raise ValueError(f"unknown scan {method!r}: one of {', '.join(METHODS)}")
    return SCANS[method](a, b, h0)


@dataclass(frozen=True)
class ScanGradients:
    """The exact backward pass of the recurrence for a loss with ``dl_dh`` = dl_t/dh_t
    (each step's own term). ``g`` = dL/dh_t with everything later included: the per-step
    gradient the app draws. For complex arrays these follow torch's convention (the
    gradient of a real loss is dL/dRe + i dL/dIm), so they compare with autograd."""

    g: np.ndarray
    a: np.ndarray
    b: np.ndarray
    h0: np.ndarray


def backward(a, h, dl_dh, h0=None, method: str = "blelloch") -> ScanGradients:
    """BPTT as a reverse scan over steps t = 0..T-1: ``g_t = dl_t/dh_t + conj(a_{t+1})
    g_{t+1}``, then ``dL/db_t = g_t``, ``dL/da_t = g_t conj(h_{t-1})`` (h_{-1} = h0, zero
    if None) and ``dL/dh0 = conj(a_0) g_0``: the same scan, run backwards in time. ``a`` and
    ``h0`` are broadcast to ``h``'s shape, and so are their gradients (sum over the axes
    they were broadcast along to get the input's shape)."""
    a, h, dl_dh = np.asarray(a), np.asarray(h), np.asarray(dl_dh)
    a = np.broadcast_to(a, h.shape)
    if len(h) == 0:
        empty = np.zeros_like(h)
        return ScanGradients(g=empty, a=empty, b=empty, h0=np.zeros(h.shape[1:], h.dtype))
    # reversed, step s multiplies the later g by a_{t+1} (t = T-1-s); the first is unused
    carry = np.concatenate([np.ones_like(a[:1]), np.conj(a[1:][::-1])])
    g_rev, _ = scan(carry, dl_dh[::-1], method=method)
    g = g_rev[::-1]
    h_prev = np.concatenate([np.zeros_like(h[:1]) if h0 is None
                             else np.broadcast_to(h0, h[:1].shape), h[:-1]])
    return ScanGradients(g=g, a=g * np.conj(h_prev), b=g, h0=np.conj(a[0]) * g[0])


@dataclass(frozen=True)
class Node:
    """One combine of a scan, for drawing its tree: in ``round`` the value at ``position``
    came to cover the steps ``lo..hi`` (inclusive)."""

    round: int
    position: int
    lo: int
    hi: int


def tree(T: int, method: str = "blelloch") -> list[Node]:
    """The combines of a scan over T steps, as spans: what the Parallel scan page draws.
    Hillis-Steele: round r extends position t to [t - 2^(r+1) + 1 .. t]; Blelloch's
    up-sweep: the block [k .. k + 2d - 1] at its right end (the down-sweep hands out
    prefixes ending where each block starts)."""
    nodes = []
    if method == "hillis_steele":
        r, d = 0, 1
        while d < T:
            nodes += [Node(r, t, max(0, t - 2 * d + 1), t) for t in range(d, T)]
            r, d = r + 1, 2 * d
    elif method == "blelloch":
        r, d = 0, 1
        while d < T:
            nodes += [Node(r, k + 2 * d - 1, k, k + 2 * d - 1)
                      for k in range(0, T - 2 * d + 1, 2 * d)]
            r, d = r + 1, 2 * d
    else:
        raise ValueError(f"no tree for {method!r}: hillis_steele or blelloch")
    return nodes

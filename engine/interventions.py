"""Interventions: change a running network at one step and keep BPTT exact for the result.

Four kinds, at step ``step`` of one layer's forward pass:

- ``clamp``: h_t[u] := v. The unit no longer depends on its inputs at t, so BPTT carries
  nothing from h_t[u] back through step t (dL/dh_t[u] is still reported: it is how the
  loss changes with v).
- ``pulse``: h_t[u] := h_t[u] + v. The Jacobians are unchanged; the state is kicked.
- ``zero_input``: x_t := 0 for the whole layer (both directions); dL/dx_t is 0.
- ``gate``: one gate forced to v, e.g. the LSTM's f_t[u] = 1, the GRU's z_t[u] = 1. The
  step is recomputed with it, and its pre-activation gets no gradient at t.

``unit=None`` means every unit. The pass runs in segments cut after each intervened step:
the cell's own forward up to t, the record's step t patched, the next segment started from
the patched state. ``prepare``'s per-step factors are then cut where the patched values no
longer depend on their inputs, and every consumer of them (``Trace.backward``, the
Jacobian norms, the chain panel) walks the intervened network.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import numpy as np

KINDS = ("clamp", "pulse", "zero_input", "gate")
# the gates each cell lets you force (sigmoid gates: a value in [0, 1])
FORCEABLE = {"lstm": ("i", "f", "o"), "gru": ("r", "z"), "mingru": ("z",)}
# cells whose recurrent state a clamp may hold: a diagonal cell's Jacobian is its gates'
# carry (the pages read it from the gates), which a clamp would leave untrue
CLAMPABLE = ("rnn", "indrnn", "jordan", "lstm", "gru")
# cells whose state is what the layer outputs (the LRU's and S6's are read out of it)
PULSABLE = CLAMPABLE + ("mingru", "minlstm")


@dataclass(frozen=True)
class Intervention:
    """One change to the forward pass of ``layer`` (forward direction) at time ``step``."""

    kind: str
    step: int
    unit: int | None = None  # None: every unit
    value: float = 0.0
    gate: str | None = None  # kind "gate" only
    layer: int = 0

    def describe(self) -> str:
        """A short phrase for a legend or a caption: 'h[3] clamped to 0 at t = 10'."""
        who = "every unit" if self.unit is None else f"unit {self.unit}"
        at = f"at t = {self.step}"
        if self.kind == "clamp":
            return f"{who} clamped to {self.value:g} {at}"
        if self.kind == "pulse":
            return f"a pulse of {self.value:+g} into {who} {at}"
        if self.kind == "zero_input":
            return f"the input zeroed {at}"
        return f"gate {self.gate} of {who} forced to {self.value:g} {at}"


def check(interventions, cell: str, hidden: int, layers: int, T: int) -> tuple:
    """The interventions as a tuple, each checked against the network and T (ValueError
    naming what does not fit)."""
    out = []
    for iv in interventions or ():
        if not isinstance(iv, Intervention):
            raise ValueError(f"an intervention must be an engine.Intervention, got {iv!r}")
        if iv.kind not in KINDS:
            raise ValueError(f"intervention kind must be one of {list(KINDS)}, got {iv.kind!r}")
        if not 0 <= iv.step < T:
            raise ValueError(f"intervention step {iv.step} is outside 0..{T - 1}")
        if not 0 <= iv.layer < layers:
            raise ValueError(f"intervention layer {iv.layer} is outside 0..{layers - 1}")
        if iv.unit is not None and not 0 <= iv.unit < hidden:
            raise ValueError(f"intervention unit {iv.unit} is outside 0..{hidden - 1}")
        if not np.isfinite(iv.value):
            raise ValueError(f"intervention value must be finite, got {iv.value!r}")
        if iv.kind == "clamp" and cell not in CLAMPABLE:
            raise ValueError(f"a clamp applies to the {', '.join(CLAMPABLE)} cells: the "
                             f"{cell} cell's gradient is read from its gates")
        if iv.kind == "pulse" and cell not in PULSABLE:
            raise ValueError(f"a pulse applies to cells whose state is their output "
                             f"({', '.join(PULSABLE)}), not {cell}")
        if iv.kind == "gate":
            allowed = FORCEABLE.get(cell, ())
            if iv.gate not in allowed:
                raise ValueError(f"the {cell} cell has no gate {iv.gate!r} to force"
                                 + (f"; it has {', '.join(allowed)}" if allowed else ""))
            if not 0.0 <= iv.value <= 1.0:
                raise ValueError(f"a gate is a number in [0, 1], got {iv.value:g}")
        out.append(iv)
    return tuple(out)


def zero_inputs(x: np.ndarray, interventions, layer: int) -> np.ndarray:
    """The layer's input (T, B, I) with the zeroed steps set to 0 (a copy when any)."""
    steps = [iv.step for iv in interventions if iv.kind == "zero_input" and iv.layer == layer]
    if not steps:
        return x
    x = x.copy()
    x[steps] = 0.0
    return x


def _units(iv: Intervention):
    """The unit index(es) an intervention touches, as an index into the last axis."""
    return slice(None) if iv.unit is None else [iv.unit]


def _block(H: int, k: int, units):
    """Columns of unit(s) ``units`` in gate block k of a (.., blocks * H) array."""
    cols = np.arange(k * H, (k + 1) * H)
    return cols if isinstance(units, slice) else cols[units]


def _force_gate(cell, rec, iv: Intervention, h_prev, c_prev) -> None:
    """Recompute the segment's last step with the gate forced (in place)."""
    H, u, v = cell.H, _units(iv), iv.value
    if cell.name == "lstm":
        k = cell.gate_names.index(iv.gate)
        rec.act[-1][:, _block(H, k, u)] = v  # the gate views (rec.gates) see it too
        i, f, g, o = (rec.act[-1][:, b * H:(b + 1) * H] for b in range(4))
        rec.c[-1] = f * c_prev + i * g
        rec.tc[-1] = np.tanh(rec.c[-1])
        rec.h[-1] = o * rec.tc[-1]
    elif cell.name == "gru":
        r, z, n = (rec.gates[name][-1] for name in ("r", "z", "n"))
        if iv.gate == "r":  # n's pre-activation holds r * (W_hn h + b_hn): redo it
            rec.pre["n"][-1][:, u] -= r[:, u] * rec.ghn[-1][:, u]
            r[:, u] = v
            rec.pre["n"][-1][:, u] += v * rec.ghn[-1][:, u]
            n[:, u] = np.tanh(rec.pre["n"][-1][:, u])
        else:
            z[:, u] = v
        rec.h[-1] = (1.0 - z) * n + z * h_prev
    else:  # mingru
        z, htilde = rec.gates["z"][-1], rec.gates["htilde"][-1]
        z[:, u] = v
        rec.h[-1] = (1.0 - z) * h_prev + z * htilde


def _edit_state(rec, iv: Intervention) -> None:
    """Clamp or kick the segment's last state (in place; the output is the same array)."""
    u = _units(iv)
    if iv.kind == "clamp":
        rec.state[-1][:, u] = iv.value
    else:
        rec.state[-1][:, u] += iv.value


def _concat(records: list):
    """One record of consecutive segments: per-step arrays joined in time, arrays that
    were one object (h, state, out) joined once and shared again."""
    first = records[0]
    if len(records) == 1:
        return first
    joined: dict[int, np.ndarray] = {}

    def join(parts):
        key = id(parts[0])
        if key not in joined:
            joined[key] = np.concatenate(parts, axis=0)
        return joined[key]

    changes = {}
    for f in fields(first):
        if f.metadata.get("axes") != "steps":
            continue
        value = getattr(first, f.name)
        if value is None:
            continue
        if isinstance(value, dict):
            changes[f.name] = {k: join([getattr(r, f.name)[k] for r in records]) for k in value}
        else:
            changes[f.name] = join([getattr(r, f.name) for r in records])
    return replace(first, **changes, prepared=False)


def _cut(cell, rec, iv: Intervention) -> None:
    """Zero the prepared factors through which the patched values at t depended on their
    inputs, so that BPTT through the intervened step is exact."""
    t, H = iv.step, cell.H
    u = _units(iv)
    if iv.kind == "pulse":  # phi'(a_t) is read from h_t where it can be: not the kicked one
        pre = {"rnn": "h", "indrnn": "h", "jordan": "y"}.get(cell.name)
        if pre is not None:
            a = rec.pre[pre][t]
            slope = cell.act.derivative(a, cell.act.forward(a))
            (rec.dphi_o if pre == "y" else rec.dphi)[t] = slope
    elif iv.kind == "clamp":
        if cell.name in ("rnn", "indrnn"):
            rec.dphi[t][:, u] = 0.0
        elif cell.name == "jordan":
            rec.dphi_o[t][:, u] = 0.0
        elif cell.name == "lstm":  # h_t = o_t tanh(c_t): neither o_t nor c_t reaches it
            rec.K[t][:, u] = 0.0
            rec.M[t][:, _block(H, 3, u)] = 0.0
        else:  # gru: h_t = (1 - z) n + z h_{t-1}, all three paths cut
            rec.Kn[t][:, u] = 0.0
            rec.Kz[t][:, u] = 0.0
            rec.carry = rec.carry.copy() if rec.carry is rec.gates["z"] else rec.carry
            rec.carry[t][:, u] = 0.0
    elif iv.kind == "gate":
        if cell.name == "lstm":
            rec.M[t][:, _block(H, cell.gate_names.index(iv.gate), u)] = 0.0
        elif cell.name == "gru":
            (rec.Kz if iv.gate == "z" else rec.Kr)[t][:, u] = 0.0
        else:
            rec.Kz[t][:, u] = 0.0


def forward(cell, x, p, h0, c0, interventions):
    """``cell.forward`` with the state and gate interventions (one layer, forward
    direction), prepared and cut for an exact backward pass."""
    edits = sorted((iv for iv in interventions if iv.kind in ("clamp", "pulse", "gate")),
                   key=lambda iv: (iv.step, iv.kind != "gate"))  # gates first, then the state
    if not edits:
        return cell.forward(x, p, h0, c0)
    T = x.shape[0]
    cuts = sorted({iv.step for iv in edits})
    records, start, h_start, c_start = [], 0, h0, c0
    for end in cuts + ([T - 1] if cuts[-1] < T - 1 else []):
        rec = cell.forward(x[start:end + 1], p, h_start, c_start)
        h_prev = rec.state[-2] if rec.state.shape[0] > 1 else h_start
        c_prev = None if rec.c is None else (rec.c[-2] if rec.c.shape[0] > 1 else c_start)
        for iv in edits:
            if iv.step == end:
                if iv.kind == "gate":
                    _force_gate(cell, rec, iv, h_prev, c_prev)
                else:
                    _edit_state(rec, iv)
        records.append(rec)
        start, h_start = end + 1, rec.state[-1].copy()
        c_start = None if rec.c is None else rec.c[-1].copy()
    rec = _concat(records)
    rec.h0, rec.c0 = h0, c0
    cell.prepare(rec, p)
    for iv in sorted(edits, key=lambda iv: iv.kind != "pulse"):  # cuts win over a re-read
        _cut(cell, rec, iv)
    rec.prepared = True
    return rec


__all__ = ["CLAMPABLE", "FORCEABLE", "Intervention", "KINDS", "PULSABLE", "check"]

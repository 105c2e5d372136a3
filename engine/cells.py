"""Recurrent cells: a forward pass over a whole sequence and one exact backward step.

Every cell works on one layer in one direction, with the sequence already in processing
order (the network reverses it for the backward-in-time pass). Shapes: ``x`` is
``(T, B, I)``, states are ``(B, H)``. Weights follow PyTorch's layout and gate order, so the
short names here (``w_ih``, ``w_hh``, ``b_ih``, ``b_hh``) map one to one onto
``weight_ih_l{k}`` and friends.

Speed: the input projection of all steps is one matrix product before the loop, the loop
does a few vectorised operations per step, and the backward loop only propagates the state
gradient; weight gradients are one matrix product over all steps afterwards
(see ``param_grads``). The LSTM's two loops are compiled (``kernels.py``): its many
per-step calls cost three times torch's fused kernel in call overhead alone.

``step`` returns ``(das, dstate_prev, dc_prev, dc_total)``: the gradients of the
pre-activations at step t (accumulated by the caller, named by ``acc_names``), the gradient
flowing to the previous state, and for the LSTM the cell-state gradients. ``out``, when
given, holds the rows that ``das`` (then ``dc_total``) are written into, saving a copy per
step. ``dh`` may carry any number of rows when the record has batch 1 (broadcasting), which
the diagnostics use to push a whole identity matrix back through time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, replace
from typing import NamedTuple

import numpy as np

from . import scan
from .activations import Activation, get_activation, sigmoid


def _prev(first: np.ndarray, seq: np.ndarray) -> np.ndarray:
    """The sequence shifted one step into the past: [first, seq[0], ..., seq[T-2]]."""
    return np.concatenate((first[None], seq[:-1]), axis=0)


def _slot(out, i: int):
    """The i-th destination for a step's results, or None (numpy then allocates)."""
    return None if out is None else out[i]


def _contiguous(a: np.ndarray) -> np.ndarray:
    """float64, C order: the one layout the compiled kernels are built for."""
    return np.ascontiguousarray(a, dtype=np.float64)


def _flat(a: np.ndarray) -> np.ndarray:
    return a.reshape(-1, a.shape[-1])


def _project(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    """x @ w.T + b for all steps at once, as one 2-D product (a stacked (T, B, I) matmul is
    several times slower) written into one fresh array."""
    T, B, _ = x.shape
    out = np.matmul(_flat(x), w.T).reshape(T, B, -1)
    out += b
    return out


def _steps():
    """A per-step field of a record: (T, B, ...) in processing order (or a dict of them)."""
    return field(default=None, metadata={"axes": "steps"})


def _start():
    """A per-sequence field (h0, c0): (B, ...)."""
    return field(default=None, metadata={"axes": "batch"})


@dataclass(eq=False)
class Record:
    """One layer-direction's forward pass in processing order: what the pages read (``h``,
    ``gates``, ``pre``) and what its backward pass reads back. A cell's subclass adds the
    values its BPTT needs; ``prepare`` fills its per-step factors once (``prepared``)."""

    x: np.ndarray = _steps()
    h0: np.ndarray = _start()
    h: np.ndarray = _steps()  # what the pages draw as the cell's h_t
    state: np.ndarray = _steps()  # the recurrent state (Jordan: y; LRU: complex; S6: H N)
    out: np.ndarray = _steps()  # the layer's output, what the next layer reads
    pre: dict = field(default_factory=dict, metadata={"axes": "steps"})  # pre-activations
    gates: dict = field(default_factory=dict, metadata={"axes": "steps"})
    c0: np.ndarray | None = _start()
    c: np.ndarray | None = _steps()
    prepared: bool = False

    def _sliced(self, per_step, per_sequence) -> Record:
        """A copy with every per-step array through ``per_step``, h0/c0 through
        ``per_sequence``; other fields (the LRU's lambda) as they are."""
        changes = {}
        for f in fields(self):
            value = getattr(self, f.name)
            how = {"steps": per_step, "batch": per_sequence}.get(f.metadata.get("axes"))
            if how is None or value is None:
                continue
            changes[f.name] = ({k: how(v) for k, v in value.items()}
                               if isinstance(value, dict) else how(value))
        return replace(self, **changes)

    def window(self, offset: int, n: int) -> Record:
        """Steps offset..offset+n-1, with h0 the state before them: what ``param_grads``
        reads of a truncated-BPTT span."""
        out = self._sliced(lambda a: a[offset:offset + n], lambda a: a)
        if offset:
            out.h0 = self.state[offset - 1]
        return out

    def batch(self, b: int) -> Record:
        """Batch element ``b``, its batch axis kept (size 1) so seeds broadcast."""
        return self._sliced(lambda a: a[:, b:b + 1], lambda a: a[b:b + 1])


@dataclass(eq=False)
class PhiRecord(Record):
    dphi: np.ndarray = _steps()  # phi'(a_t)


@dataclass(eq=False)
class JordanRecord(PhiRecord):
    dphi_o: np.ndarray = _steps()  # phi'(a_o,t) of the output y_t


@dataclass(eq=False)
class LSTMRecord(Record):
    act: np.ndarray = _steps()  # i, f, g, o side by side (T, B, 4H)
    tc: np.ndarray = _steps()  # tanh(c_t)
    M: np.ndarray = _steps()  # d(pre-activation) per unit of (dc, dc, dc, dh), per gate
    K: np.ndarray = _steps()  # dc_t/dh_t = o_t (1 - tanh(c_t)^2)


@dataclass(eq=False)
class GRURecord(Record):
    ghn: np.ndarray = _steps()  # W_hn h_{t-1} + b_hn, what r_t multiplies
    Kn: np.ndarray = _steps()  # dh -> d(pre n)
    Kz: np.ndarray = _steps()  # dh -> d(pre z)
    Kr: np.ndarray = _steps()  # d(pre n) -> d(pre r)
    carry: np.ndarray = _steps()  # dh -> dh_{t-1} directly: z_t (0 where a unit is clamped)


@dataclass(eq=False)
class MinGRURecord(Record):
    Kz: np.ndarray = _steps()  # dh -> d(pre z)


@dataclass(eq=False)
class MinLSTMRecord(Record):
    Kf: np.ndarray = _steps()  # dh -> d(pre f)
    Ki: np.ndarray = _steps()  # dh -> d(pre i)


@dataclass(eq=False)
class LRURecord(Record):
    lam: np.ndarray = None  # (H,) lambda, the same every step
    Bu: np.ndarray = _steps()  # B u_t (complex)
    b: np.ndarray = _steps()  # gamma B u_t: what each step writes


@dataclass(eq=False)
class S6Record(Record):
    u: np.ndarray = _steps()  # W_in x_t
    s: np.ndarray = _steps()  # Delta_t's pre-activation
    Bt: np.ndarray = _steps()
    Ct: np.ndarray = _steps()
    Abar: np.ndarray = _steps()  # exp(Delta_t A), (T, B, H, N)
    Bbar: np.ndarray = _steps()


@dataclass(frozen=True)
class Span:
    """One block of (truncated) BPTT in processing order: the loss enters after step
    ``lo``; the gradient walks back from ``end`` to ``start``; step t writes row
    t - ``offset`` of the outputs, or adds to it when ``accumulate`` (windows overlap)."""

    lo: int
    end: int
    start: int
    offset: int
    accumulate: bool


class Step(NamedTuple):
    """One step back: the accumulated pre-activation gradients (one per ``acc_names``),
    dL/dh_{t-1}, and for the LSTM dL/dc_{t-1} and dL/dc_t."""

    acc: tuple
    dh: np.ndarray
    dc: np.ndarray | None = None
    dc_total: np.ndarray | None = None


class Cell:
    """Shared shape bookkeeping; subclasses add forward, prepare, step and param_grads."""

    name = ""
    blocks = 1  # gate blocks stacked in W_ih's rows
    gate_names: tuple[str, ...] = ()
    pre_names: tuple[str, ...] = ("h",)
    acc_names: tuple[str, ...] = ("a",)
    has_cell_state = False
    uses_activation = True
    diagonal = False  # h_t depends on h_{t-1} elementwise only (no W_hh): a scan computes it
    state_dtype = np.float64  # the recurrent state's type (the LRU's is complex)
    shown_gates: tuple[str, ...] | None = None  # the gates a page draws (None: gate_names)
    # the cell's equations as the pages show them, in the charts' symbols: LaTeX, one entry
    # each ("&" aligns them at "="; a long one breaks inside its entry)
    equations: tuple[str, ...] = ()
    h_label = "h_t"  # what ``h`` in a record is, as a page labels it
    out_is_h = True  # the layer's output is h (the LRU's and S6's is y_t)

    def __init__(self, hidden_size: int, activation: str = "tanh"):
        self.H = hidden_size
        self.act: Activation = get_activation(activation)

    def param_shapes(self, input_size: int) -> dict[str, tuple[int, ...]]:
        G, H = self.blocks * self.H, self.H
        return {"w_ih": (G, input_size), "w_hh": (G, H), "b_ih": (G,), "b_hh": (G,)}

    @property
    def acc_width(self) -> int:
        """Columns of a step's accumulated pre-activation gradients (one per gate unit)."""
        return self.blocks * self.H

    @property
    def state_width(self) -> int:
        """Numbers in the recurrent state per sequence (S6: H channels of N each)."""
        return self.H

    def _input_grads(self, rec, p, A: np.ndarray) -> dict[str, np.ndarray]:
        x = rec.x
        return {
            "w_ih": _flat(A).T @ _flat(x),
            "b_ih": A.sum(axis=(0, 1)),
            "dx": (_flat(A) @ p["w_ih"]).reshape(*A.shape[:2], -1),
        }

    def param_grads(self, rec, p, acc) -> dict[str, np.ndarray]:
        """Weight gradients from the accumulated pre-activation gradients, plus ``dx``."""
        A = acc["a"]
        grads = self._input_grads(rec, p, A)
        grads["w_hh"] = _flat(A).T @ _flat(_prev(rec.h0, rec.state))
        grads["b_hh"] = A.sum(axis=(0, 1))
        return grads

    def backward_span(self, rec: Record, p, direct, span: Span, dh, dc, out):
        """BPTT through steps span.end, ..., span.start, one ``step`` at a time.

        ``direct[t]`` (dL/dh_t from the loss or the layer above) joins at the steps after
        ``span.lo``; ``dh``, ``dc`` flow in from step end+1. ``out`` = (accumulators named
        by ``acc_names``..., dL/dh per step, dL/dc per step or None), written as ``Span``
        says. Returns the dL/dh and dL/dc flowing into step start-1.
        """
        *accs, dh_all, dc_all = out
        for t in range(span.end, span.start - 1, -1):
            k = t - span.offset
            if t > span.lo:
                dh = dh + direct[t]
            if span.accumulate:
                das, dh_prev, dc_prev, dc_total = self.step(rec, p, t, dh, dc)
                for a, da in zip(accs, das, strict=True):
                    a[k] += da
                dh_all[k] += dh
                if dc_all is not None:
                    dc_all[k] += dc_total
            else:
                dh_all[k] = dh
                rows = [a[k] for a in accs] + ([] if dc_all is None else [dc_all[k]])
                _, dh_prev, dc_prev, _ = self.step(rec, p, t, dh, dc, rows)
            dh, dc = dh_prev, dc_prev
        return dh, dc


class RNNCell(Cell):
    """Elman: h_t = phi(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)."""

    name = "rnn"
    equations = (
        r"h_t &= \varphi\left(W_{ih}\,x_t + b_{ih} + W_{hh}\,h_{t-1} + b_{hh}\right)",
    )

    def forward(self, x, p, h0, c0=None):
        xproj = _project(x, p["w_ih"], p["b_ih"] + p["b_hh"])
        T, B, H = xproj.shape
        a = np.empty((T, B, H))
        h = np.empty((T, B, H))
        whh_t = np.ascontiguousarray(p["w_hh"].T)
        phi = self.act.forward
        hp = h0
        for t in range(T):
            np.add(xproj[t], hp @ whh_t, out=a[t])
            h[t] = phi(a[t])
            hp = h[t]
        return PhiRecord(x=x, h0=h0, h=h, state=h, out=h, pre={"h": a})

    def prepare(self, rec, p):
        rec.dphi = self.act.derivative(rec.pre["h"], rec.h)

    def step(self, rec, p, t, dh, dc=None, out=None):
        da = np.multiply(dh, rec.dphi[t], out=_slot(out, 0))
        return Step((da,), da @ p["w_hh"])


class IndRNNCell(RNNCell):
    """IndRNN (Li et al. 2018): h_t = phi(W_ih x_t + b_ih + u * h_{t-1} + b_hh), u a vector."""

    name = "indrnn"
    equations = (
        r"h_t &= \varphi\left(W_{ih}\,x_t + b_{ih} + u \odot h_{t-1} + b_{hh}\right)",
    )

    def param_shapes(self, input_size):
        shapes = super().param_shapes(input_size)
        shapes["w_hh"] = (self.H,)
        return shapes

    def forward(self, x, p, h0, c0=None):
        xproj = _project(x, p["w_ih"], p["b_ih"] + p["b_hh"])
        T, B, H = xproj.shape
        a = np.empty((T, B, H))
        h = np.empty((T, B, H))
        u = p["w_hh"]
        phi = self.act.forward
        hp = h0
        for t in range(T):
            np.add(xproj[t], u * hp, out=a[t])
            h[t] = phi(a[t])
            hp = h[t]
        return PhiRecord(x=x, h0=h0, h=h, state=h, out=h, pre={"h": a})

    def step(self, rec, p, t, dh, dc=None, out=None):
        da = np.multiply(dh, rec.dphi[t], out=_slot(out, 0))
        return Step((da,), da * p["w_hh"])

    def param_grads(self, rec, p, acc):
        A = acc["a"]
        grads = self._input_grads(rec, p, A)
        grads["w_hh"] = (A * _prev(rec.h0, rec.state)).sum(axis=(0, 1))
        grads["b_hh"] = A.sum(axis=(0, 1))
        return grads


class JordanCell(Cell):
    """Jordan (1986): the context is the previous *output*, not the previous hidden state.

    h_t = phi(W_ih x_t + b_ih + W_hh y_{t-1} + b_hh),  y_t = phi(W_ho h_t + b_ho).
    The recurrent state (and the layer's output) is y; its gradient is what ``hidden_norm``
    reports for this cell.
    """

    name = "jordan"
    equations = (
        r"h_t &= \varphi\left(W_{ih}\,x_t + b_{ih} + W_{hh}\,y_{t-1} + b_{hh}\right)",
        r"y_t &= \varphi\left(W_{ho}\,h_t + b_{ho}\right)",
    )
    pre_names = ("h", "y")
    acc_names = ("a", "ao")

    def param_shapes(self, input_size):
        shapes = super().param_shapes(input_size)
        shapes["w_ho"] = (self.H, self.H)
        shapes["b_ho"] = (self.H,)
        return shapes

    def forward(self, x, p, h0, c0=None):
        xproj = _project(x, p["w_ih"], p["b_ih"] + p["b_hh"])
        T, B, H = xproj.shape
        a, h, ao, y = (np.empty((T, B, H)) for _ in range(4))
        whh_t = np.ascontiguousarray(p["w_hh"].T)
        who_t = np.ascontiguousarray(p["w_ho"].T)
        phi = self.act.forward
        yp = h0
        for t in range(T):
            np.add(xproj[t], yp @ whh_t, out=a[t])
            h[t] = phi(a[t])
            np.add(h[t] @ who_t, p["b_ho"], out=ao[t])
            y[t] = phi(ao[t])
            yp = y[t]
        return JordanRecord(x=x, h0=h0, h=h, state=y, out=y, pre={"h": a, "y": ao})

    def prepare(self, rec, p):
        rec.dphi = self.act.derivative(rec.pre["h"], rec.h)
        rec.dphi_o = self.act.derivative(rec.pre["y"], rec.state)

    def step(self, rec, p, t, dy, dc=None, out=None):
        dao = np.multiply(dy, rec.dphi_o[t], out=_slot(out, 1))
        da = np.multiply(dao @ p["w_ho"], rec.dphi[t], out=_slot(out, 0))
        return Step((da, dao), da @ p["w_hh"])

    def param_grads(self, rec, p, acc):
        grads = super().param_grads(rec, p, acc)
        Ao = acc["ao"]
        grads["w_ho"] = _flat(Ao).T @ _flat(rec.h)
        grads["b_ho"] = Ao.sum(axis=(0, 1))
        return grads


class LSTMCell(Cell):
    """LSTM with forget gate, PyTorch's gate order i, f, g, o.

    i, f, o = sigmoid(.), g = tanh(.), c_t = f * c_{t-1} + i * g, h_t = o * tanh(c_t).
    """

    name = "lstm"
    equations = (
        r"i_t &= \sigma(W_{ii} x_t + W_{hi} h_{t-1} + b_i)",
        r"f_t &= \sigma(W_{if} x_t + W_{hf} h_{t-1} + b_f)",
        r"g_t &= \tanh(W_{ig} x_t + W_{hg} h_{t-1} + b_g)",
        r"o_t &= \sigma(W_{io} x_t + W_{ho} h_{t-1} + b_o)",
        r"c_t &= f_t \odot c_{t-1} + i_t \odot g_t",
        r"h_t &= o_t \odot \tanh(c_t)",
    )
    blocks = 4
    gate_names = ("i", "f", "g", "o")
    pre_names = gate_names
    has_cell_state = True
    uses_activation = False

    def __init__(self, hidden_size: int, activation: str = "tanh"):
        super().__init__(hidden_size, "tanh")

    def forward(self, x, p, h0, c0):
        from . import kernels  # numba loads on the first LSTM run: ~0.4 s and ~100 MB

        H = self.H
        pre = _project(x, p["w_ih"], p["b_ih"] + p["b_hh"])
        T, B, G = pre.shape
        act = np.empty((T, B, G))
        c, tc, h = (np.empty((T, B, H)) for _ in range(3))
        kernels.lstm_forward(pre, _contiguous(p["w_hh"].T), _contiguous(h0),
                             _contiguous(c0), act, c, tc, h)
        gates = {n: act[..., k * H:(k + 1) * H] for k, n in enumerate(self.gate_names)}
        pres = {n: pre[..., k * H:(k + 1) * H] for k, n in enumerate(self.gate_names)}
        return LSTMRecord(x=x, h0=h0, c0=c0, h=h, state=h, out=h, c=c, tc=tc, act=act,
                          pre=pres, gates=gates)

    def prepare(self, rec, p):
        """M = d(pre-activation)/d(gate input) per block, K = dc_t/dh_t, built block by block
        in place (fresh temporaries of (T, B, 4H) cost page faults worth a third of BPTT)."""
        H, act, tc = self.H, rec.act, rec.tc
        i, f, g, o = (act[..., k * H:(k + 1) * H] for k in range(4))
        M = np.empty_like(act)
        Mi, Mf, Mg, Mo = (M[..., k * H:(k + 1) * H] for k in range(4))
        tmp = np.empty_like(tc)
        Mf[0] = rec.c0  # the forget gate multiplies the previous cell state
        Mf[1:] = rec.c[:-1]
        # da = [dc, dc, dc, dh] * M: dL/d(pre-activation) of i, f, g, o.
        for gate, other, dst in ((i, g, Mi), (f, Mf, Mf), (o, tc, Mo)):
            np.subtract(1.0, gate, out=tmp)  # sigmoid' = s(1 - s)
            tmp *= gate
            np.multiply(other, tmp, out=dst)
        np.multiply(g, g, out=Mg)  # tanh' = 1 - g^2, times i
        np.subtract(1.0, Mg, out=Mg)
        Mg *= i
        rec.M = M
        np.multiply(tc, tc, out=tmp)  # K = o * (1 - tanh(c)^2)
        np.subtract(1.0, tmp, out=tmp)
        tmp *= o
        rec.K = tmp

    def step(self, rec, p, t, dh, dc, out=None):
        dc_total = np.multiply(dh, rec.K[t], out=_slot(out, 1))
        if dc is not None:
            dc_total += dc
        da = np.multiply(np.concatenate((dc_total, dc_total, dc_total, dh), axis=-1),
                         rec.M[t], out=_slot(out, 0))
        return Step((da,), da @ p["w_hh"], dc_total * rec.gates["f"][t], dc_total)

    def backward_span(self, rec: Record, p, direct, span: Span, dh, dc, out):
        """``Cell.backward_span`` as one compiled loop (``kernels.lstm_backward``)."""
        from . import kernels

        A, dh_all, dc_all = out
        if dc is None:
            dc = np.zeros_like(dh)
        return kernels.lstm_backward(rec.M, rec.K, rec.act, _contiguous(p["w_hh"]),
                                     _contiguous(direct), span.lo, span.end, span.start,
                                     span.offset, _contiguous(dh), _contiguous(dc), A,
                                     dh_all, dc_all, span.accumulate)


class GRUCell(Cell):
    """GRU in PyTorch's formulation, blocks r, z, n.

    r = sig(W_ir x + b_ir + W_hr h + b_hr), z likewise,
    n = tanh(W_in x + b_in + r * (W_hn h + b_hn)), h_t = (1 - z) * n + z * h_{t-1}.
    """

    name = "gru"
    equations = (
        r"r_t &= \sigma(W_{ir} x_t + W_{hr} h_{t-1} + b_r)",
        r"z_t &= \sigma(W_{iz} x_t + W_{hz} h_{t-1} + b_z)",
        r"n_t &= \tanh(W_{in} x_t + b_{in} \\ &\qquad + r_t \odot (W_{hn} h_{t-1} + b_{hn}))",
        r"h_t &= (1 - z_t) \odot n_t + z_t \odot h_{t-1}",
    )
    blocks = 3
    gate_names = ("r", "z", "n")
    pre_names = gate_names
    acc_names = ("a_ih", "a_hh")
    uses_activation = False

    def __init__(self, hidden_size: int, activation: str = "tanh"):
        super().__init__(hidden_size, "tanh")

    def forward(self, x, p, h0, c0=None):
        H = self.H
        gi = _project(x, p["w_ih"], p["b_ih"])
        T, B, G = gi.shape
        pre = np.empty((T, B, G))
        act = np.empty((T, B, G))
        ghn = np.empty((T, B, H))
        h = np.empty((T, B, H))
        whh_t = np.ascontiguousarray(p["w_hh"].T)
        b_hh = p["b_hh"]
        hp = h0
        for t in range(T):
            gh = hp @ whh_t + b_hh
            ghn[t] = gh[:, 2 * H:]
            np.add(gi[t, :, :2 * H], gh[:, :2 * H], out=pre[t, :, :2 * H])
            rz = act[t, :, :2 * H]
            rz[...] = sigmoid(pre[t, :, :2 * H])
            np.add(gi[t, :, 2 * H:], rz[:, :H] * ghn[t], out=pre[t, :, 2 * H:])
            n = act[t, :, 2 * H:]
            np.tanh(pre[t, :, 2 * H:], out=n)
            np.add(n, rz[:, H:] * (hp - n), out=h[t])
            hp = h[t]
        gates = {n: act[..., k * H:(k + 1) * H] for k, n in enumerate(self.gate_names)}
        pres = {n: pre[..., k * H:(k + 1) * H] for k, n in enumerate(self.gate_names)}
        return GRURecord(x=x, h0=h0, h=h, state=h, out=h, ghn=ghn, pre=pres, gates=gates)

    def prepare(self, rec, p):
        g = rec.gates
        r, z, n = g["r"], g["z"], g["n"]
        h_prev = _prev(rec.h0, rec.h)
        rec.Kn = (1.0 - z) * (1.0 - n * n)  # dh -> d(pre n)
        rec.Kz = (h_prev - n) * z * (1.0 - z)  # dh -> d(pre z)
        rec.Kr = rec.ghn * r * (1.0 - r)  # d(pre n) -> d(pre r)
        rec.carry = z

    def step(self, rec, p, t, dh, dc=None, out=None):
        dan = dh * rec.Kn[t]
        daz = dh * rec.Kz[t]
        dar = dan * rec.Kr[t]
        da_ih = np.concatenate((dar, daz, dan), axis=-1, out=_slot(out, 0))
        da_hh = np.concatenate((dar, daz, dan * rec.gates["r"][t]), axis=-1,
                               out=_slot(out, 1))
        dh_prev = dh * rec.carry[t] + da_hh @ p["w_hh"]
        return Step((da_ih, da_hh), dh_prev)

    def param_grads(self, rec, p, acc):
        A_hh = acc["a_hh"]
        grads = self._input_grads(rec, p, acc["a_ih"])
        grads["w_hh"] = _flat(A_hh).T @ _flat(_prev(rec.h0, rec.h))
        grads["b_hh"] = A_hh.sum(axis=(0, 1))
        return grads


class MinGRUCell(Cell):
    """minGRU (Feng et al. 2024, "Were RNNs All We Needed?"): the gate and the candidate
    see the input only, so the recurrence is linear and diagonal in h.

    z_t = sig(W_z x_t + b_z),  h~_t = W_h x_t + b_h,  h_t = (1 - z_t) * h_{t-1} + z_t * h~_t

    (z weighs the *new* candidate, the reverse of torch's GRU, where z keeps h_{t-1}).
    W_ih stacks the blocks z, h~; there is no W_hh: dh_t/dh_{t-1} = diag(1 - z_t) exactly,
    so the gradient can only shrink going back. The forward pass is a parallel scan over
    the pairs (1 - z_t, z_t * h~_t) (engine.scan).
    """

    name = "mingru"
    equations = (
        r"z_t &= \sigma(W_z x_t + b_z)",
        r"\tilde h_t &= W_h x_t + b_h",
        r"h_t &= (1 - z_t) \odot h_{t-1} + z_t \odot \tilde h_t",
    )
    blocks = 2
    gate_names = ("z", "htilde")
    pre_names = gate_names
    uses_activation = False
    diagonal = True

    def __init__(self, hidden_size: int, activation: str = "tanh"):
        super().__init__(hidden_size, "tanh")

    def param_shapes(self, input_size):  # the input projection only: no W_hh, no b_hh
        return {"w_ih": (self.blocks * self.H, input_size), "b_ih": (self.blocks * self.H,)}

    def forward(self, x, p, h0, c0=None):
        H = self.H
        proj = _project(x, p["w_ih"], p["b_ih"])
        z = sigmoid(proj[..., :H])
        htilde = proj[..., H:]
        h, _ = scan.scan(1.0 - z, z * htilde, h0)
        return MinGRURecord(x=x, h0=h0, h=h, state=h, out=h,
                            pre={"z": proj[..., :H], "htilde": htilde},
                            gates={"z": z, "htilde": htilde})

    def prepare(self, rec, p):
        z, htilde = rec.gates["z"], rec.gates["htilde"]
        rec.Kz = (htilde - _prev(rec.h0, rec.h)) * z * (1.0 - z)  # dh -> d(pre z)

    def step(self, rec, p, t, dh, dc=None, out=None):
        z = rec.gates["z"][t]
        da_z = dh * rec.Kz[t]
        da_htilde = dh * z
        da = np.concatenate((da_z, da_htilde), axis=-1, out=_slot(out, 0))
        return Step((da,), dh * (1.0 - z))

    def param_grads(self, rec, p, acc):
        return self._input_grads(rec, p, acc["a"])

    @staticmethod
    def carry(gates: dict) -> np.ndarray:
        """a_t in h_t = a_t * h_{t-1} + b_t: what multiplies the state each step."""
        return 1.0 - gates["z"]

    @staticmethod
    def drive(gates: dict) -> np.ndarray:
        """b_t in h_t = a_t * h_{t-1} + b_t: what the step writes."""
        return gates["z"] * gates["htilde"]

    def pairs(self, rec: Record) -> tuple[np.ndarray, np.ndarray]:
        """The scan's pairs (a_t, b_t) of a record, processing order."""
        return self.carry(rec.gates), self.drive(rec.gates)


class MinLSTMCell(MinGRUCell):
    """minLSTM (Feng et al. 2024): an LSTM's forget and input gates from the input only,
    normalised to sum to one; no output gate, no separate cell state.

    f_t = sig(W_f x_t + b_f),  i_t = sig(W_i x_t + b_i),  h~_t = W_h x_t + b_h,
    f'_t = f_t / (f_t + i_t),  i'_t = i_t / (f_t + i_t),  h_t = f'_t * h_{t-1} + i'_t * h~_t

    W_ih stacks the blocks f, i, h~. dh_t/dh_{t-1} = diag(f'_t). The gates the pages show
    are f' and i' (what multiplies), ``gates["f_prime"]`` and ``gates["i_prime"]``. They are
    computed in log space, f' = sig(softplus(-a_i) - softplus(-a_f)) (the same number):
    f + i underflows to 0 when both pre-activations are below about -37, and 0/0 is NaN.
    """

    name = "minlstm"
    equations = (
        r"f_t &= \sigma(W_f x_t + b_f), \quad i_t = \sigma(W_i x_t + b_i)",
        r"\tilde h_t &= W_h x_t + b_h",
        r"f'_t &= \frac{f_t}{f_t + i_t}, \quad i'_t = \frac{i_t}{f_t + i_t}",
        r"h_t &= f'_t \odot h_{t-1} + i'_t \odot \tilde h_t",
    )
    blocks = 3
    gate_names = ("f", "i", "htilde")
    pre_names = gate_names
    shown_gates = ("f_prime", "i_prime", "htilde")  # what multiplies h_{t-1} and h~_t

    def forward(self, x, p, h0, c0=None):
        H = self.H
        proj = _project(x, p["w_ih"], p["b_ih"])
        f = sigmoid(proj[..., :H])
        i = sigmoid(proj[..., H:2 * H])
        htilde = proj[..., 2 * H:]
        log_ratio = np.logaddexp(0.0, -proj[..., H:2 * H]) - np.logaddexp(0.0, -proj[..., :H])
        f_prime = sigmoid(log_ratio)  # f / (f + i)
        i_prime = sigmoid(-log_ratio)  # i / (f + i)
        h, _ = scan.scan(f_prime, i_prime * htilde, h0)
        pres = {"f": proj[..., :H], "i": proj[..., H:2 * H], "htilde": htilde}
        gates = {"f": f, "i": i, "htilde": htilde, "f_prime": f_prime, "i_prime": i_prime}
        return MinLSTMRecord(x=x, h0=h0, h=h, state=h, out=h, pre=pres, gates=gates)

    def prepare(self, rec, p):
        g = rec.gates
        # d f'/d(pre f) = f' i' (1 - f), d f'/d(pre i) = -f' i' (1 - i): no division
        gap = (_prev(rec.h0, rec.h) - g["htilde"]) * g["f_prime"] * g["i_prime"]
        rec.Kf = gap * (1.0 - g["f"])  # dh -> d(pre f)
        rec.Ki = -gap * (1.0 - g["i"])  # dh -> d(pre i)

    @staticmethod
    def carry(gates: dict) -> np.ndarray:
        return gates["f_prime"]

    @staticmethod
    def drive(gates: dict) -> np.ndarray:
        return gates["i_prime"] * gates["htilde"]

    def step(self, rec, p, t, dh, dc=None, out=None):
        g = rec.gates
        da = np.concatenate((dh * rec.Kf[t], dh * rec.Ki[t], dh * g["i_prime"][t]),
                            axis=-1, out=_slot(out, 0))
        return Step((da,), dh * g["f_prime"][t])


class ReadOutCell(Cell):
    """A diagonal linear state read out as y_t (LRU, S6): BPTT is the reverse scan
    g_t = (dy_t through the read-out) + a_(t+1) g_(t+1), step by step, each step keeping
    ``acc_row(g_t, dy_t)`` for ``param_grads`` and g_t as dL/dh_t. ``step`` is one
    multiplication by the carry; the parameters' gradients come from the kept rows."""

    def into_state(self, rec, p, t, dy):
        """dL/dh_t from dL/dy_t through the read-out."""
        raise NotImplementedError

    def acc_row(self, dh, dy):
        return np.concatenate((dh, dy), axis=-1)

    def backward_span(self, rec: Record, p, direct, span: Span, dh, dc, out):
        acc, dh_all, _ = out
        for t in range(span.end, span.start - 1, -1):
            k = t - span.offset
            dy = direct[t] if t > span.lo else np.zeros_like(direct[t])
            dh = dh + self.into_state(rec, p, t, dy)
            row = self.acc_row(dh, dy)
            if span.accumulate:
                acc[k] += row
                dh_all[k] += dh
            else:
                acc[k] = row
                dh_all[k] = dh
            dh = self.step(rec, p, t, dh).dh
        return dh, None


class LRUCell(ReadOutCell):
    """LRU, the linear recurrent unit (Orvieto et al. 2023, "Resurrecting Recurrent Neural
    Networks for Long Sequences"): a complex diagonal state x_t in C^H, read out as a real y_t.

    lambda = exp(-exp(nu) + i exp(theta)),  gamma = exp(gamma_log),
    x_t = lambda * x_{t-1} + gamma * (B u_t),   y_t = Re(C x_t) + D u_t

    (u_t is the layer's input, the app's x_t). |lambda| = exp(-exp(nu)) < 1 whatever nu is
    (the exp parametrisation), and gamma starts at sqrt(1 - |lambda|^2), which keeps E|x|^2
    as large as the input's however close |lambda| is to 1 (the normalisation). Ring
    initialisation: |lambda|^2 uniform on [r_min^2, r_max^2], phase uniform on
    [0, max_phase]. B, C complex (stored as real and imaginary parts), D real (H, I).
    dx_t/dx_{t-1} = diag(lambda) exactly. The state is complex (``state``); ``h`` is its
    real part (what the pages draw of it), ``out`` the real y_t the next layer reads. Gradients with
    respect to a complex number z are dL/dRe z + i dL/dIm z (torch's convention), so one
    step back is a multiplication by conj(lambda).
    """

    name = "lru"
    equations = (
        r"\lambda &= \exp\left(-e^{\nu} + i\,e^{\theta}\right), \quad \gamma = e^{\gamma_{\log}}",
        r"h_t &= \lambda \odot h_{t-1} + \gamma \odot (B\,x_t) \quad (h_t \in \mathbb{C}^H)",
        r"y_t &= \operatorname{Re}(C\,h_t) + D\,x_t",
    )
    gate_names = ()
    pre_names = ()
    uses_activation = False
    diagonal = True
    state_dtype = np.complex128
    h_label = "Re h_t"  # ``h`` in a record is the real part of the complex state
    out_is_h = False
    r_min, r_max, max_phase = 0.4, 0.99, 2 * np.pi  # the ring initialisation

    def __init__(self, hidden_size: int, activation: str = "tanh"):
        super().__init__(hidden_size, "tanh")

    def param_shapes(self, input_size):
        H = self.H
        return {"nu_log": (H,), "theta_log": (H,), "gamma_log": (H,), "b_re": (H, input_size),
                "b_im": (H, input_size), "c_re": (H, H), "c_im": (H, H), "d": (H, input_size)}

    @property
    def acc_width(self) -> int:  # per step: Re and Im of dL/dx_t, and dL/dy_t
        return 3 * self.H

    def init_params(self, input_size: int, scheme: str, gain: float, rng) -> dict:
        """The ring initialisation (minimal-LRU's): the LRU has no other."""
        if scheme != "default":
            raise ValueError(f"the lru cell has its own (ring) initialisation, not {scheme!r}")
        H, I = self.H, input_size
        u1, u2 = rng.uniform(size=H), rng.uniform(size=H)
        nu_log = np.log(-0.5 * np.log(u1 * (self.r_max**2 - self.r_min**2) + self.r_min**2))
        theta_log = np.log(self.max_phase * u2)
        modulus = np.exp(-np.exp(nu_log))
        return {"nu_log": nu_log, "theta_log": theta_log,
                "gamma_log": np.log(np.sqrt(1 - modulus**2)),
                "b_re": rng.normal(0.0, 1.0 / np.sqrt(2 * I), (H, I)),
                "b_im": rng.normal(0.0, 1.0 / np.sqrt(2 * I), (H, I)),
                "c_re": rng.normal(0.0, 1.0 / np.sqrt(H), (H, H)),
                "c_im": rng.normal(0.0, 1.0 / np.sqrt(H), (H, H)),
                "d": rng.normal(0.0, 1.0 / np.sqrt(I), (H, I))}

    @staticmethod
    def eigenvalues(p: dict) -> np.ndarray:
        """lambda = exp(-exp(nu) + i exp(theta)), one per channel."""
        return np.exp(-np.exp(p["nu_log"]) + 1j * np.exp(p["theta_log"]))

    def forward(self, x, p, h0, c0=None):
        lam = self.eigenvalues(p)
        gamma = np.exp(p["gamma_log"])
        Bu = _project(x, p["b_re"], 0.0) + 1j * _project(x, p["b_im"], 0.0)
        b = gamma * Bu
        state, _ = scan.scan(np.broadcast_to(lam, b.shape), b, h0.astype(np.complex128))
        y = _project(state.real, p["c_re"], 0.0) - _project(state.imag, p["c_im"], 0.0)
        y += _project(x, p["d"], 0.0)
        # lambda as the pages draw a gate: real, per step (it is the same at every step)
        gates = {"lambda_abs": np.broadcast_to(np.abs(lam), y.shape),
                 "lambda_phase": np.broadcast_to(np.angle(lam), y.shape)}
        return LRURecord(x=x, h0=h0.astype(np.complex128), h=state.real, state=state, out=y,
                         gates=gates, lam=lam, Bu=Bu, b=b)

    def prepare(self, rec, p):
        pass

    @staticmethod
    def carry(gates: dict) -> np.ndarray:
        """lambda (complex), per step."""
        return gates["lambda_abs"] * np.exp(1j * gates["lambda_phase"])

    def pairs(self, rec: Record) -> tuple[np.ndarray, np.ndarray]:
        """(lambda, gamma * B x_t) per step, complex."""
        return np.broadcast_to(rec.lam, rec.b.shape), rec.b

    def into_state(self, rec, p, t, dy):
        """dL/dx_t from dL/dy_t through y = Re(C x) + D u: C_re^T dy - i C_im^T dy."""
        return dy @ p["c_re"] - 1j * (dy @ p["c_im"])

    def step(self, rec, p, t, dh, dc=None, out=None):
        """dL/dx_{t-1} = conj(lambda) dL/dx_t (no pre-activations: the gradient of the
        parameters comes from the per-step dL/dx_t in ``param_grads``)."""
        return Step((), np.conj(rec.lam) * dh)

    def acc_row(self, dh, dy):  # [Re g_t, Im g_t, dy_t]: the accumulators are real
        return np.concatenate((dh.real, dh.imag, dy), axis=-1)

    def param_grads(self, rec, p, acc):
        """From G_t = dL/dx_t and dy_t: dL/dlambda = sum G_t conj(x_{t-1}), then through
        lambda's exp parametrisation; B's and gamma's through b_t = gamma B u_t; C's and
        D's through y_t."""
        H, A = self.H, acc["a"]
        G = A[..., :H] + 1j * A[..., H:2 * H]
        dy = A[..., 2 * H:]
        x, state, Bu = rec.x, rec.state, rec.Bu
        lam, gamma = self.eigenvalues(p), np.exp(p["gamma_log"])
        d_lam = np.sum(G * np.conj(_prev(rec.h0, state)), axis=(0, 1))
        # dL/dp = Re(conj(dL/dlambda) dlambda/dp), dlambda/dnu_log = -exp(nu_log) lambda,
        # dlambda/dtheta_log = i exp(theta_log) lambda
        along = np.conj(d_lam) * lam
        Gg = gamma * G
        return {"nu_log": -np.exp(p["nu_log"]) * along.real,
                "theta_log": -np.exp(p["theta_log"]) * along.imag,
                "gamma_log": gamma * np.sum((np.conj(G) * Bu).real, axis=(0, 1)),
                "b_re": _flat(Gg.real).T @ _flat(x), "b_im": _flat(Gg.imag).T @ _flat(x),
                "c_re": _flat(dy).T @ _flat(state.real),
                "c_im": -(_flat(dy).T @ _flat(state.imag)),
                "d": _flat(dy).T @ _flat(x),
                "dx": dy @ p["d"] + Gg.real @ p["b_re"] + Gg.imag @ p["b_im"]}


def softplus(a: np.ndarray) -> np.ndarray:
    """log(1 + e^a), without overflow."""
    return np.logaddexp(0.0, a)


def zoh(delta: np.ndarray, A: np.ndarray, B: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Zero-order hold of dh/dt = A h + B x over a step delta (A diagonal, elementwise):
    Abar = exp(delta A), Bbar = (delta A)^-1 (exp(delta A) - 1) delta B = (Abar - 1) / A * B.

    With A = -1, B = 1 and delta = softplus(z) this is Abar = 1 - sig(z), Bbar = sig(z):
    the S6 step becomes minGRU's h_t = (1 - z_t) h_{t-1} + z_t x_t (Gu & Dao, Theorem 1).
    """
    x = delta * A
    return np.exp(x), np.expm1(x) / A * B  # expm1: exact where |delta A| is tiny


def zoh_dq_dA(delta: np.ndarray, A: np.ndarray) -> np.ndarray:
    """d/dA of q = (exp(delta A) - 1) / A, the factor Bbar = q B: delta^2 phi1'(delta A)
    with phi1(x) = (e^x - 1) / x. Its closed form (x e^x - e^x + 1) / x^2 cancels for small
    |x|, where the series sum_k (k + 1) x^k / (k + 2)! serves to rounding."""
    x = np.asarray(delta * A)
    small = np.abs(x) < 1e-2
    xs = np.where(small, x, 0.0)
    series = sum((k + 1) * xs**k / math.factorial(k + 2) for k in range(7))
    xl = np.where(small, 1.0, x)
    closed = (xl * np.exp(xl) - np.expm1(xl)) / xl**2
    return delta**2 * np.where(small, series, closed)


class S6Cell(ReadOutCell):
    """S6, the selective state space layer of Mamba (Gu & Dao 2023), without Mamba's
    convolution and gating around it: H channels, each with N states, whose step size, input
    and read-out matrices are computed from the input (the selection).

    u_t = W_in x_t,   Delta_t = softplus(W_up W_down u_t + b_Delta),
    B_t = W_B u_t,  C_t = W_C u_t,   A = -exp(A_log)   (H, N)
    h_t[d, n] = exp(Delta_t[d] A[d, n]) h_{t-1}[d, n] + Bbar_t[d, n] u_t[d]
    y_t[d] = sum_n C_t[n] h_t[d, n] + D[d] u_t[d]

    Bbar by zero-order hold (``zoh``), not the reference code's Euler Delta B: it makes
    Theorem 1 (S6 -> minGRU) exact. A large Delta_t resets a channel to the new input, a
    small one holds its state: how much to remember now. Init as the paper's:
    A[d, n] = -(n + 1), Delta from log-uniform [1e-3, 0.1] through softplus's inverse,
    D = 1. The state, (H, N) per sequence, is stored flat (``state_width`` = H N); ``h`` is
    each channel's first state h_t[d, 0] (what the pages draw of it), ``out`` is y_t.
    """

    name = "s6"
    equations = (
        r"u_t &= W_{in} x_t, \quad B_t = W_B u_t, \quad C_t = W_C u_t",
        r"\Delta_t &= \operatorname{softplus}(W_{\Delta} u_t + b_{\Delta})",
        r"\bar B_t &= (\Delta_t A)^{-1}(e^{\Delta_t A} - 1)\,\Delta_t B_t",
        r"h_t &= e^{\Delta_t A} \odot h_{t-1} + \bar B_t\, u_t",
        r"y_t &= C_t\, h_t + D \odot u_t",
    )
    h_label = "h_t[0]"  # ``h`` in a record: each channel's first state (A = -1)
    out_is_h = False
    gate_names = ()
    pre_names = ()
    uses_activation = False
    diagonal = True
    N = 8  # states per channel (Mamba: 16)
    delta_range = (1e-3, 0.1)

    def __init__(self, hidden_size: int, activation: str = "tanh"):
        super().__init__(hidden_size, "tanh")
        self.R = max(1, -(-hidden_size // 16))  # Delta's low rank, Mamba's ceil(H / 16)

    def param_shapes(self, input_size):
        H, N, R = self.H, self.N, self.R
        return {"w_in": (H, input_size), "w_down": (R, H), "w_up": (H, R), "b_delta": (H,),
                "w_b": (N, H), "w_c": (N, H), "a_log": (H, N), "d": (H,)}

    @property
    def state_width(self) -> int:
        return self.H * self.N

    @property
    def acc_width(self) -> int:  # per step: dL/dh_t (H N) and dL/dy_t (H)
        return self.H * self.N + self.H

    def init_params(self, input_size: int, scheme: str, gain: float, rng) -> dict:
        """Mamba's initialisation (S4D-real A, Delta's bias from its range); weights as
        torch.nn.Linear's, U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
        if scheme != "default":
            raise ValueError(f"the s6 cell has its own (Mamba's) initialisation, not {scheme!r}")
        H, N, R = self.H, self.N, self.R
        lo, hi = np.log(self.delta_range[0]), np.log(self.delta_range[1])
        delta = np.exp(rng.uniform(lo, hi, H))

        def linear(rows, cols):
            return rng.uniform(-1, 1, (rows, cols)) / np.sqrt(cols)

        return {"w_in": linear(H, input_size), "w_down": linear(R, H), "w_up": linear(H, R),
                "b_delta": delta + np.log(-np.expm1(-delta)),  # softplus(b) = delta
                "w_b": linear(N, H), "w_c": linear(N, H),
                "a_log": np.log(np.tile(np.arange(1.0, N + 1), (H, 1))), "d": np.ones(H)}

    def forward(self, x, p, h0, c0=None):
        T, B = x.shape[:2]
        H, N = self.H, self.N
        u = _project(x, p["w_in"], 0.0)
        s = _project(_project(u, p["w_down"], 0.0), p["w_up"], p["b_delta"])
        delta = softplus(s)
        Bt, Ct = _project(u, p["w_b"], 0.0), _project(u, p["w_c"], 0.0)
        A = -np.exp(p["a_log"])
        Abar, Bbar = zoh(delta[..., None], A, Bt[:, :, None, :])
        state, _ = scan.scan(Abar, Bbar * u[..., None], h0.reshape(B, H, N))
        y = np.einsum("tbhn,tbn->tbh", state, Ct) + p["d"] * u
        flat = state.reshape(T, B, H * N)
        return S6Record(x=x, h0=h0, h=state[..., 0], state=flat, out=y, pre={"delta": s},
                        gates={"delta": delta, "abar": Abar.reshape(T, B, H * N)},
                        u=u, s=s, Bt=Bt, Ct=Ct, Abar=Abar, Bbar=Bbar)

    def prepare(self, rec, p):
        pass

    @staticmethod
    def carry(gates: dict) -> np.ndarray:
        """exp(Delta_t A), per step and (channel, state), flat."""
        return gates["abar"]

    def pairs(self, rec: Record) -> tuple[np.ndarray, np.ndarray]:
        """(Abar_t, Bbar_t u_t) per step, flat over (channel, state)."""
        T, B = rec.u.shape[:2]
        b = rec.Bbar * rec.u[..., None]
        return rec.Abar.reshape(T, B, -1), b.reshape(T, B, -1)

    def step(self, rec, p, t, dh, dc=None, out=None):
        """dL/dh_{t-1} = Abar_t dL/dh_t (parameters: from the per-step dL/dh_t)."""
        return Step((), dh * rec.Abar[t].reshape(rec.Abar.shape[1], -1))

    def into_state(self, rec, p, t, dy):
        """dL/dh_t[d, n] from dL/dy_t[d] through y_t = C_t h_t + D u_t: dy[d] C_t[n]."""
        return (dy[:, :, None] * rec.Ct[t][:, None, :]).reshape(dy.shape[0], -1)

    def param_grads(self, rec, p, acc):
        """From G_t = dL/dh_t and dy_t, back through the read-out, the zero-order hold,
        Delta's softplus and low-rank projection, B_t, C_t and W_in."""
        H, N = self.H, self.N
        A_all = acc["a"]
        n = A_all.shape[0]
        B = A_all.shape[1]
        G = A_all[..., :H * N].reshape(n, B, H, N)
        dy = A_all[..., H * N:]
        x, u, s = rec.x, rec.u, rec.s
        Bt, Abar = rec.Bt, rec.Abar
        state = rec.state.reshape(n, B, H, N)
        prev = _prev(rec.h0.reshape(B, H, N), state)
        A = -np.exp(p["a_log"])
        delta = softplus(s)[..., None]
        q = np.expm1(delta * A) / A  # Bbar = q B_t
        gE = G * prev  # dL/dAbar
        GBu = G * Bt[:, :, None, :] * u[..., None]  # dL/dq
        d_delta = np.sum(Abar * (A * gE + GBu), axis=-1)  # dAbar/dDelta = A Abar, dq/dDelta = Abar
        dq_dA = zoh_dq_dA(delta, A)
        dA = np.sum(gE * delta * Abar + GBu * dq_dA, axis=(0, 1))
        dBt = np.einsum("tbhn,tbhn,tbh->tbn", G, q, u)
        dCt = np.einsum("tbh,tbhn->tbn", dy, state)
        du = p["d"] * dy + np.einsum("tbhn,tbhn,tbn->tbh", G, q, Bt)
        ds = d_delta * sigmoid(s)
        low = _project(u, p["w_down"], 0.0)  # (T, B, R)
        d_low = _flat(ds) @ p["w_up"]
        du = du + (d_low @ p["w_down"]).reshape(du.shape)
        du = du + (_flat(dBt) @ p["w_b"] + _flat(dCt) @ p["w_c"]).reshape(du.shape)
        return {"w_in": _flat(du).T @ _flat(x), "w_down": d_low.T @ _flat(u),
                "w_up": _flat(ds).T @ _flat(low), "b_delta": ds.sum(axis=(0, 1)),
                "w_b": _flat(dBt).T @ _flat(u), "w_c": _flat(dCt).T @ _flat(u),
                "a_log": dA * A, "d": np.sum(dy * u, axis=(0, 1)),
                "dx": (_flat(du) @ p["w_in"]).reshape(*du.shape[:2], -1)}


CELLS: dict[str, type[Cell]] = {
    c.name: c for c in (RNNCell, LSTMCell, GRUCell, JordanCell, IndRNNCell, MinGRUCell,
                        MinLSTMCell, LRUCell, S6Cell)
}


def make_cell(name: str, hidden_size: int, activation: str = "tanh") -> Cell:
    if name not in CELLS:
        raise ValueError(f"cell must be one of {sorted(CELLS)}, got {name!r}")
    return CELLS[name](hidden_size, activation)

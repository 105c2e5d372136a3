"""The equations with this network's numbers in them.

``forward_step``: one step of the forward pass for one unit, each of the cell's equations
with the values of x_t, h_{t-1}, the gates and h_t plugged in. The values are recomputed
here from the weights and the previous state (not copied from the trace), so a test can
check them against the forward pass. ``backward_chain``: BPTT's chain at one step, term
by term: phi'(a_t) over the units, ||W_hh||, ||J_t||, the Jacobian product back from the
last step, the bound where one holds, and the gradient itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .activations import get_activation, sigmoid
from .cells import softplus
from .diagnostics import activation_gamma, pascanu_factors, singular_values
from .limits import check_int
from .network import Gradients, Trace

__all__ = ["Chain", "Line", "backward_chain", "forward_step"]

PHI_TEX = {"tanh": r"\tanh", "sigmoid": r"\sigma", "relu": r"\mathrm{relu}",
           "leaky_relu": r"\mathrm{lrelu}", "identity": ""}


@dataclass(frozen=True)
class Line:
    """One equation of the step: ``name`` (what it computes: "h", "c", "f"...), its
    symbols, the same with this network's numbers, and the number it comes to."""

    name: str
    symbols: str  # LaTeX, e.g. r"c_{t,j} = f_{t,j}\,c_{t-1,j} + i_{t,j}\,g_{t,j}"
    numbers: str  # LaTeX, e.g. r"0.83 \cdot 0.12 + 0.41 \cdot (-0.77)"
    value: float | complex


def fmt(v) -> str:
    """Four significant digits; a complex number as a + bi."""
    if isinstance(v, complex) or np.iscomplexobj(v):
        v = complex(v)
        sign = "+" if v.imag >= 0 else "-"
        return rf"({fmt(v.real)} {sign} {fmt(abs(v.imag))}i)"
    v = float(v)
    if not np.isfinite(v):
        return r"\infty" if v > 0 else (r"-\infty" if v < 0 else r"\mathrm{NaN}")
    text = f"{v:.4g}"
    if "e" in text:
        mant, exp = text.split("e")
        text = rf"{mant} \times 10^{{{int(exp)}}}"
    return text


def _factor(v) -> str:
    """A number as a factor: negatives in parentheses."""
    text = fmt(v)
    return f"({text})" if text.startswith("-") else text


def _sum(*terms) -> str:
    out = fmt(terms[0])
    for v in terms[1:]:
        text = fmt(v)
        out += f" - {text[1:]}" if text.startswith("-") else f" + {text}"
    return out


@dataclass(frozen=True)
class _At:
    """The inputs of step ``p`` (processing order) for unit ``j``: x_t, the previous
    state and cell state, the layer's weights."""

    x: np.ndarray
    prev: np.ndarray  # the previous recurrent state, (W,)
    c_prev: np.ndarray | None
    w: dict
    j: int
    H: int
    forced: dict = field(default_factory=dict)  # gate -> the value an intervention forced

    def row(self, name: str, block: int, vec: np.ndarray) -> float:
        """(W vec)_j of gate block ``block``."""
        return float(self.w[name][block * self.H + self.j] @ vec)

    def bias(self, name: str, block: int) -> float:
        return float(self.w[name][block * self.H + self.j])


def _elman(at: _At, act: str, indep: bool) -> list[Line]:
    phi = get_activation(act).forward
    a_in = at.row("w_ih", 0, at.x) + at.bias("b_ih", 0)
    if indep:
        a_rec = float(at.w["w_hh"][at.j] * at.prev[at.j]) + at.bias("b_hh", 0)
        rec_tex = r"u_j\,h_{t-1,j} + b_{hh,j}"
    else:
        a_rec = at.row("w_hh", 0, at.prev) + at.bias("b_hh", 0)
        rec_tex = r"(W_{hh}\,h_{t-1} + b_{hh})_j"
    a = a_in + a_rec
    return [Line("a", rf"a_{{t,j}} = (W_{{ih}}\,x_t + b_{{ih}})_j + {rec_tex}",
                 _sum(a_in, a_rec), a),
            Line("h", r"h_{t,j} = \varphi(a_{t,j})", rf"{PHI_TEX[act]}({fmt(a)})",
                 float(phi(a)))]


def _jordan(at: _At, act: str) -> list[Line]:
    phi = get_activation(act).forward
    a_vec = at.w["w_ih"] @ at.x + at.w["b_ih"] + at.w["w_hh"] @ at.prev + at.w["b_hh"]
    h_vec = phi(a_vec)
    a_in = at.row("w_ih", 0, at.x) + at.bias("b_ih", 0)
    a_rec = at.row("w_hh", 0, at.prev) + at.bias("b_hh", 0)
    ao = at.row("w_ho", 0, h_vec) + at.bias("b_ho", 0)
    tex = PHI_TEX[act]
    return [Line("a", r"a_{t,j} = (W_{ih}\,x_t + b_{ih})_j + (W_{hh}\,y_{t-1} + b_{hh})_j",
                 _sum(a_in, a_rec), a_in + a_rec),
            Line("h", r"h_{t,j} = \varphi(a_{t,j})", rf"{tex}({fmt(a_in + a_rec)})",
                 float(h_vec[at.j])),
            Line("y", r"y_{t,j} = \varphi\left((W_{ho}\,h_t + b_{ho})_j\right)",
                 rf"{tex}({fmt(ao)})", float(phi(ao)))]


def _forced(name: str, tex: str, value: float) -> Line:
    return Line(name, rf"{tex}_{{t,j}} = \text{{forced}}", fmt(value), value)


def _gate(at: _At, name: str, block: int, squash: str, tex: str) -> Line:
    """A gate of the LSTM or GRU: squash(W_i x_t + W_h h_{t-1} + b)_j (or its forced value)."""
    if name in at.forced:
        return _forced(name, tex, at.forced[name])
    a_in = at.row("w_ih", block, at.x)
    a_rec = at.row("w_hh", block, at.prev)
    b = at.bias("b_ih", block) + at.bias("b_hh", block)
    a = a_in + a_rec + b
    value = float(sigmoid(a) if squash == "sigma" else np.tanh(a))
    f = r"\sigma" if squash == "sigma" else r"\tanh"
    return Line(name, rf"{tex}_{{t,j}} = {f}\left((W_{{i{tex}}} x_t)_j + "
                      rf"(W_{{h{tex}}} h_{{t-1}})_j + b_{{{tex},j}}\right)",
                rf"{f}({_sum(a_in, a_rec, b)})", value)


def _lstm(at: _At) -> list[Line]:
    i, f, g, o = (_gate(at, n, k, "tanh" if n == "g" else "sigma", n)
                  for k, n in enumerate("ifgo"))
    c_prev = float(at.c_prev[at.j])
    c = f.value * c_prev + i.value * g.value
    return [i, f, g, o,
            Line("c", r"c_{t,j} = f_{t,j}\,c_{t-1,j} + i_{t,j}\,g_{t,j}",
                 rf"{_factor(f.value)} \cdot {_factor(c_prev)} + {_factor(i.value)} \cdot "
                 rf"{_factor(g.value)}", c),
            Line("h", r"h_{t,j} = o_{t,j} \tanh(c_{t,j})",
                 rf"{_factor(o.value)} \cdot \tanh({fmt(c)})", o.value * float(np.tanh(c)))]


def _gru(at: _At) -> list[Line]:
    r, z = _gate(at, "r", 0, "sigma", "r"), _gate(at, "z", 1, "sigma", "z")
    n_in = at.row("w_ih", 2, at.x) + at.bias("b_ih", 2)
    n_rec = at.row("w_hh", 2, at.prev) + at.bias("b_hh", 2)
    n = float(np.tanh(n_in + r.value * n_rec))
    h_prev = float(at.prev[at.j])
    return [r, z,
            Line("n", r"n_{t,j} = \tanh\left((W_{in} x_t + b_{in})_j + "
                      r"r_{t,j} (W_{hn} h_{t-1} + b_{hn})_j\right)",
                 rf"\tanh({fmt(n_in)} + {_factor(r.value)} \cdot {_factor(n_rec)})", n),
            Line("h", r"h_{t,j} = (1 - z_{t,j})\,n_{t,j} + z_{t,j}\,h_{t-1,j}",
                 rf"{_factor(1 - z.value)} \cdot {_factor(n)} + {_factor(z.value)} \cdot "
                 rf"{_factor(h_prev)}", (1 - z.value) * n + z.value * h_prev)]


def _mingru(at: _At) -> list[Line]:
    a_z = at.row("w_ih", 0, at.x) + at.bias("b_ih", 0)
    ht = at.row("w_ih", 1, at.x) + at.bias("b_ih", 1)
    z = float(at.forced.get("z", sigmoid(a_z)))
    h_prev = float(at.prev[at.j])
    return [_forced("z", "z", z) if "z" in at.forced else
            Line("z", r"z_{t,j} = \sigma\left((W_z x_t + b_z)_j\right)", rf"\sigma({fmt(a_z)})",
                 z),
            Line("htilde", r"\tilde h_{t,j} = (W_h x_t + b_h)_j", fmt(ht), ht),
            Line("h", r"h_{t,j} = (1 - z_{t,j})\,h_{t-1,j} + z_{t,j}\,\tilde h_{t,j}",
                 rf"{_factor(1 - z)} \cdot {_factor(h_prev)} + {_factor(z)} \cdot {_factor(ht)}",
                 (1 - z) * h_prev + z * ht)]


def _minlstm(at: _At) -> list[Line]:
    a_f = at.row("w_ih", 0, at.x) + at.bias("b_ih", 0)
    a_i = at.row("w_ih", 1, at.x) + at.bias("b_ih", 1)
    ht = at.row("w_ih", 2, at.x) + at.bias("b_ih", 2)
    f, i = float(sigmoid(a_f)), float(sigmoid(a_i))
    fp, ip = f / (f + i), i / (f + i)
    h_prev = float(at.prev[at.j])
    return [Line("f", r"f_{t,j} = \sigma\left((W_f x_t + b_f)_j\right)", rf"\sigma({fmt(a_f)})",
                 f),
            Line("i", r"i_{t,j} = \sigma\left((W_i x_t + b_i)_j\right)", rf"\sigma({fmt(a_i)})",
                 i),
            Line("htilde", r"\tilde h_{t,j} = (W_h x_t + b_h)_j", fmt(ht), ht),
            Line("f_prime", r"f'_{t,j} = f_{t,j} / (f_{t,j} + i_{t,j})",
                 rf"{fmt(f)} / ({fmt(f)} + {fmt(i)})", fp),
            Line("h", r"h_{t,j} = f'_{t,j}\,h_{t-1,j} + (1 - f'_{t,j})\,\tilde h_{t,j}",
                 rf"{_factor(fp)} \cdot {_factor(h_prev)} + {_factor(ip)} \cdot {_factor(ht)}",
                 fp * h_prev + ip * ht)]


def _lru(at: _At, lam: np.ndarray) -> list[Line]:
    j = at.j
    Bu = complex(at.w["b_re"][j] @ at.x + 1j * (at.w["b_im"][j] @ at.x))
    gamma = float(np.exp(at.w["gamma_log"][j]))
    lj, prev = complex(lam[j]), complex(at.prev[j])
    return [Line("h", r"h_{t,j} = \lambda_j\,h_{t-1,j} + \gamma_j\,(B\,x_t)_j",
                 rf"{fmt(lj)} \cdot {fmt(prev)} + {fmt(gamma)} \cdot {fmt(Bu)}",
                 lj * prev + gamma * Bu)]


def _s6(at: _At, rec, p: int, b: int) -> list[Line]:
    """Channel j's first state (n = 0) of the selective SSM."""
    j, N = at.j, rec.Abar.shape[-1]
    s = float(rec.s[p, b, j])
    delta = float(softplus(s))
    A = -float(np.exp(at.w["a_log"][j, 0]))
    abar = float(np.exp(delta * A))
    bbar = float(np.expm1(delta * A) / A * rec.Bt[p, b, 0])
    u, prev = float(rec.u[p, b, j]), float(at.prev[j * N])
    return [Line("delta", r"\Delta_{t,j} = \mathrm{softplus}(s_{t,j})",
                 rf"\mathrm{{softplus}}({fmt(s)})", delta),
            Line("abar", r"\bar A_{t,j} = e^{\Delta_{t,j} A_j}", rf"e^{{{fmt(delta)} \cdot "
                 rf"{_factor(A)}}}", abar),
            Line("h", r"h_{t,j} = \bar A_{t,j}\,h_{t-1,j} + \bar B_{t,j}\,u_{t,j}",
                 rf"{_factor(abar)} \cdot {_factor(prev)} + {_factor(bbar)} \cdot {_factor(u)}",
                 abar * prev + bbar * u)]


def _processing(trace: Trace, t: int, layer: int, direction: int) -> int:
    net = trace.network
    check_int("layer", layer, 0, net.num_layers - 1)
    check_int("direction", direction, 0, net.num_directions - 1)
    t = check_int("t", t, 0, trace.T - 1)
    return trace.T - 1 - t if direction else t


def forward_step(trace: Trace, t: int, unit: int, layer: int = 0, direction: int = 0,
                 batch_index: int = 0) -> tuple[Line, ...]:
    """The cell's equations at step ``t`` (time order) for ``unit``, with its numbers.

    The last line computes the recurrent state (the LRU's is complex; S6: channel
    ``unit``'s first state; Jordan: y_t), and every value is computed again from the
    weights, x_t and the previous state, so it equals the forward pass's number. An
    intervention at this step shows as it acted: a forced gate's value, then a clamp or a
    pulse as one more line.
    """
    net = trace.network
    p = _processing(trace, t, layer, direction)
    j = check_int("unit", unit, 0, net.hidden_size - 1)
    b = check_int("batch_index", batch_index, 0, trace.x.shape[1] - 1)
    rec = trace.pass_trace(layer, direction).rec
    prev = (rec.h0 if p == 0 else rec.state[p - 1])[b]
    c_prev = None if rec.c is None else (rec.c0 if p == 0 else rec.c[p - 1])[b]
    w = net.layer_params(layer, direction)
    here = [iv for iv in trace.interventions if iv.layer == layer and not direction
            and iv.step == t and iv.unit in (None, j)]
    at = _At(x=rec.x[p, b], prev=prev, c_prev=c_prev, w=w, j=j, H=net.hidden_size,
             forced={iv.gate: iv.value for iv in here if iv.kind == "gate"})
    name = net.cell_name
    with np.errstate(all="ignore"):
        if name in ("rnn", "indrnn"):
            lines = _elman(at, net.activation, name == "indrnn")
        elif name == "jordan":
            lines = _jordan(at, net.activation)
        elif name == "lru":
            lines = _lru(at, rec.lam)
        elif name == "s6":
            lines = _s6(at, rec, p, b)
        else:
            lines = {"lstm": _lstm, "gru": _gru, "mingru": _mingru,
                     "minlstm": _minlstm}[name](at)
    for iv in here:  # a clamp or a pulse then edits the state the step computed
        if iv.kind in ("clamp", "pulse"):
            last = lines[-1]
            sym = last.symbols.split("=")[0].strip()
            lines.append(Line(last.name, rf"{sym} = \text{{clamped}}", fmt(iv.value), iv.value)
                         if iv.kind == "clamp" else
                         Line(last.name, rf"{sym} = \text{{the above}} + \text{{pulse}}",
                              rf"{fmt(last.value)} + {_factor(iv.value)}",
                              last.value + iv.value))
    return tuple(lines)


@dataclass(frozen=True)
class Chain:
    """BPTT's chain at step ``t`` of one pass, with this network's numbers.

    dL/dh_t = e_t + J_{t+1}^T dL/dh_{t+1}; what reaches h_t from the last step's loss is
    (dh_{T-1}/dh_t)^T e_{T-1}, a product of ``steps`` Jacobians.
    """

    t: int
    steps: int  # T - 1 - t: Jacobians between h_t and the pass's last step
    slopes: np.ndarray | None  # phi'(a_t) over the units (ungated cells), else None
    gamma: float | None  # max |phi'|
    w_norm: float | None  # ||W_hh||, its largest singular value (IndRNN: max |u|)
    factor: float | None  # Pascanu's gamma sigma_max: ||J_s|| <= factor for every s
    step_norm: float  # ||J_t|| = ||dh_t/dh_{t-1}|| (LSTM: c held fixed)
    product: float | None  # ||dh_{T-1}/dh_t|| (LSTM: c held fixed); None: beyond max_steps
    power: float | None  # factor ** steps, bounding ``product``
    grad_norm: float  # ||dL/dh_t||
    top_norm: float  # ||dL/dh_{T-1}||
    entry_norm: float  # ||e_t||: the gradient entering at t directly
    bound: float | None  # sum_{s>=t} factor^(s-t) ||e_s||, bounding ``grad_norm``
    single_entry: bool  # the gradient enters at the last step only
    forget_product: np.ndarray | None  # LSTM: prod_{s=t+1}^{T-1} f_s per unit (along c)
    carry_product: np.ndarray | None  # diagonal cells: prod |a_s| per channel, s in (t, T-1]


def _spectral(m: np.ndarray) -> float:
    if not np.isfinite(m).all():
        return float("nan")
    return float(singular_values(m)[0]) if m.ndim == 2 else float(np.abs(m).max())


def backward_chain(trace: Trace, grads: Gradients, t: int, layer: int = 0, direction: int = 0,
                   batch_index: int = 0, max_steps: int | None = None) -> Chain:
    """The chain at step ``t`` (time order) of ``grads``, computed from ``trace``.

    ``product`` pushes the identity back from the pass's last step through the cells'
    exact backward steps (``steps`` products of (W, W) matrices; the diagonal cells
    multiply their carries instead), so it costs up to T W^3 for one t: with more than
    ``max_steps`` steps to walk it is left out (None).
    """
    net = trace.network
    p = _processing(trace, t, layer, direction)
    b = check_int("batch_index", batch_index, 0, trace.x.shape[1] - 1)
    pt = trace.pass_trace(layer, direction)
    cell, rec, w = net.cell, pt.rec, net.layer_params(layer, direction)
    if not rec.prepared:
        cell.prepare(rec, w)
        rec.prepared = True
    one = rec.batch(b)
    T, W = trace.T, cell.state_width
    steps = T - 1 - p
    with np.errstate(all="ignore"):
        if cell.diagonal:
            a = np.abs(cell.carry(one.gates)[:, 0])  # processing order, (T, W)
            carry = np.prod(a[p + 1:], axis=0)
            step_norm, product = float(a[p].max()), float(carry.max())
        else:
            carry = None
            eye = np.eye(W, dtype=cell.state_dtype)
            zeros = np.zeros((W, W)) if cell.has_cell_state else None
            step_norm = _spectral(cell.step(one, w, p, eye, zeros).dh)
            product = None
            if max_steps is None or steps <= max_steps:
                dh, dc = eye, zeros
                for s in range(T - 1, p, -1):
                    _, dh, dc, _ = cell.step(one, w, s, dh, dc)
                product = _spectral(dh)
        factors = pascanu_factors(net, layer, direction)
        w_norm = None if "w_hh" not in w else _spectral(w["w_hh"])
        factor = power = bound = None
        if factors is not None:
            factor = factors[0] * factors[1]
            power = factor ** steps
            e = grads.direct_norm[layer, direction]
            walk = e[::-1] if direction else e  # processing order
            bound = float(sum(factor ** (s - p) * walk[s] for s in range(p, T)))
        slopes = gamma = None
        if not cell.gate_names and cell.uses_activation:
            slopes = np.asarray(one.dphi[p, 0], dtype=np.float64)
            gamma = activation_gamma(net.activation)
        forget = None
        if cell.has_cell_state:
            forget = np.prod(one.gates["f"][p + 1:, 0], axis=0)
    norms = grads.hidden_norm[layer, direction]
    direct = grads.direct_norm[layer, direction]
    last = 0 if direction else T - 1
    entering = np.flatnonzero(direct > 0)
    return Chain(t=int(t), steps=steps, slopes=slopes, gamma=gamma, w_norm=w_norm, factor=factor,
                 step_norm=step_norm, product=product, power=power,
                 grad_norm=float(norms[t]), top_norm=float(norms[last]),
                 entry_norm=float(direct[t]), bound=bound,
                 single_entry=bool(entering.size <= 1 and (entering.size == 0
                                                          or entering[0] == last)),
                 forget_product=forget, carry_product=carry)

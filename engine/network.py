"""A stack of recurrent layers, each run forward (and backward in time when bidirectional).

``Network.run(x)`` returns a ``Trace`` that records everything the playground draws; its
``backward`` is exact BPTT (optionally truncated) and returns ``Gradients`` keyed like the
torch ``state_dict``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import interventions as iv_mod
from . import limits
from .activations import get_activation
from .cells import CELLS, Cell, Record, Span, make_cell
from .init import INITS, init_tensor, rescale_radius

PARAM_PREFIX = {"w_ih": "weight_ih", "w_hh": "weight_hh", "b_ih": "bias_ih", "b_hh": "bias_hh",
                "w_ho": "weight_ho", "b_ho": "bias_ho",
                # the LRU's, named as in minimal-LRU (B, C complex as real and imaginary parts)
                "nu_log": "nu_log", "theta_log": "theta_log", "gamma_log": "gamma_log",
                "b_re": "B_re", "b_im": "B_im", "c_re": "C_re", "c_im": "C_im", "d": "D",
                # S6's
                "w_in": "W_in", "w_down": "W_delta_down", "w_up": "W_delta_up",
                "b_delta": "b_delta", "w_b": "W_B", "w_c": "W_C", "a_log": "A_log"}


def _first_bad_step(arr: np.ndarray) -> int | None:
    """Index along axis 0 of the first step holding inf or NaN, or None."""
    bad = ~np.isfinite(arr).reshape(arr.shape[0], -1).all(axis=1)
    return int(np.argmax(bad)) if bad.any() else None


def _step_norms(arrays: list[list[np.ndarray]]) -> np.ndarray:
    """Per-step Frobenius norms, (L, D, T), scaled so that huge finite values don't overflow."""
    out = []
    with np.errstate(all="ignore"):
        for row in arrays:
            out.append([])
            for a in row:
                flat = a.reshape(a.shape[0], -1)
                scale = np.max(np.abs(flat), axis=1, keepdims=True)
                safe = np.where((scale > 0) & np.isfinite(scale), scale, 1.0)
                norm = safe[:, 0] * np.sqrt(np.sum(np.abs(flat / safe) ** 2, axis=1))
                out[-1].append(np.where(np.isfinite(scale[:, 0]), norm, np.inf + scale[:, 0]))
    return np.array(out)


@dataclass
class PassTrace:
    """One layer in one direction. Arrays are in time order, shaped (T, B, H)."""

    layer: int
    direction: int
    h: np.ndarray  # hidden units
    state: np.ndarray  # the recurrent state (h, or the output y for the Jordan cell)
    output: np.ndarray
    c: np.ndarray | None  # LSTM cell state
    gates: dict[str, np.ndarray]  # gate activations, e.g. LSTM i, f, g, o
    preacts: dict[str, np.ndarray]  # pre-activations of the gates (or of h)
    overflow_step: int | None  # first time step whose state is inf/NaN
    rec: Record = field(repr=False)  # the cell's record, in processing order


@dataclass
class Gradients:
    """The result of BPTT. ``hidden_norm[l, d, t]`` is ||dL/dh_t|| over the (B, H) block."""

    params: dict[str, np.ndarray]
    input: np.ndarray
    h0: np.ndarray
    c0: np.ndarray | None
    hidden: list[list[np.ndarray]]  # dL/dh_t per layer and direction, (T, B, H), time order
    cell: list[list[np.ndarray]] | None  # dL/dc_t for the LSTM
    hidden_norm: np.ndarray  # (num_layers, num_directions, T)
    cell_norm: np.ndarray | None
    overflow: dict | None  # where a gradient first became inf/NaN walking back
    window: int | None  # truncated-BPTT window, None for full BPTT (or a window >= T)
    # ||e_t||, (num_layers, num_directions, T): the gradient that enters each pass's output at
    # step t directly, from the loss (top layer) or from the layer above; not through the
    # pass's own recurrence. dL/dh_t = e_t + J_{t+1}^T dL/dh_{t+1} (plus grad_h_n at the end).
    direct_norm: np.ndarray | None = None

    def total_norm(self) -> float:
        """The global L2 norm of all parameter gradients (what clip_grad_norm_ measures)."""
        return float(np.sqrt(sum(float(np.sum(g * g)) for g in self.params.values())))


def truncation_blocks(T: int, window: int | None, stride: int | None):
    """Williams & Peng's BPTT(k2, k1) as (lo, end, start) triples in processing order.

    Flushes happen every ``stride`` (k1) steps counted back from the last step: at each
    flush ``end`` the losses of steps lo+1..end are propagated back down to
    ``start = end - window + 1`` (k2 = window); gradients from further back are cut. So a
    loss at the last step sees exactly the last ``window`` steps, and with stride = window
    (the default) the blocks are disjoint chunks of ``window`` steps: torch's "detach every
    k steps", counted from the end (identical when k divides T). ``window=None`` is full BPTT.
    """
    if window is None:
        return [(-1, T - 1, 0)]
    window = limits.check_int("truncate", window, 1, limits.MAX_STEPS)
    stride = window if stride is None else limits.check_int("stride", stride, 1, window)
    if window >= T:  # every block would reach step 0: that is full BPTT
        return [(-1, T - 1, 0)]
    ends = sorted(range(T - 1, -1, -stride))
    blocks, lo = [], -1
    for end in ends:
        blocks.append((lo, end, max(0, end - window + 1)))
        lo = end
    return blocks


def bptt_pass(cell: Cell, rec: Record, p: dict, direct: np.ndarray, dh_last, dc_last, blocks):
    """Backpropagate one layer-direction through time (processing order).

    ``direct`` is dL/d(output_t) from the loss or the layer above. Returns ``offset`` and,
    for steps offset.. of the blocks' span, the accumulated pre-activation gradients and
    dL/dh_t, dL/dc_t per step; then the initial-state gradients.
    """
    T, B, H = rec.state.shape
    single = blocks == [(-1, T - 1, 0)]  # full BPTT visits every step once: write in place
    offset = min(b[2] for b in blocks)
    n = max(b[1] for b in blocks) - offset + 1
    alloc = np.empty if single else np.zeros
    acc = {name: alloc((n, B, cell.acc_width)) for name in cell.acc_names}
    dh_all = alloc((n, B, H), dtype=cell.state_dtype)
    dc_all = alloc((n, B, H)) if cell.has_cell_state else None
    dh0 = np.zeros((B, H), dtype=cell.state_dtype)
    dc0 = np.zeros((B, H)) if cell.has_cell_state else None
    out = [acc[name] for name in cell.acc_names] + [dh_all, dc_all]
    for lo, end, start in blocks:
        final = end == T - 1
        dh = (dh_last.astype(cell.state_dtype) if final and dh_last is not None
              else np.zeros((B, H), dtype=cell.state_dtype))
        dc = dc_last.copy() if final and dc_last is not None else None
        dh, dc = cell.backward_span(rec, p, direct, Span(lo, end, start, offset, not single),
                                    dh, dc, out)
        if start == 0:
            dh0 += dh
            if dc0 is not None:
                dc0 += dc
    return offset, acc, dh_all, dc_all, dh0, dc0


def _time_order(values: np.ndarray, offset: int, T: int, d: int) -> tuple[int, np.ndarray]:
    """A pass's per-step values for steps offset.. in processing order, as (first time step,
    values in time order): the reverse direction processes time backwards."""
    if d:
        return T - offset - values.shape[0], values[::-1]
    return offset, values


def _accumulate(store: list, d: int, values: np.ndarray, offset: int, T: int) -> None:
    """Add one pass's per-step gradients (processing order, steps offset..) into store[d]
    (time order). The first full-length pass is kept as it is, without a zeroed copy."""
    n = values.shape[0]
    offset, values = _time_order(values, offset, T, d)
    if store[d] is None:
        if n == T:
            store[d] = values
            return
        store[d] = np.zeros((T,) + values.shape[1:], dtype=values.dtype)
    store[d][offset:offset + n] += values


class Network:
    """A recurrent network: ``cell`` in CELLS, ``num_layers`` deep, optionally bidirectional.

    ``params`` holds float64 arrays keyed like the torch ``state_dict``
    (``weight_ih_l0``, ``bias_hh_l1_reverse``, ...). The Jordan cell adds
    ``weight_ho_l{k}``/``bias_ho_l{k}``, and IndRNN's ``weight_hh_l{k}`` is a vector.
    """

    def __init__(self, cell: str = "rnn", input_size: int = 1, hidden_size: int = 16,
                 num_layers: int = 1, bidirectional: bool = False, activation: str = "tanh",
                 init: str = "default", gain: float = 1.0, spectral_radius: float | None = None,
                 forget_bias: float | None = None, seed: int = 0):
        self.input_size = limits.check_int("input_size", input_size, 1, limits.MAX_INPUT)
        self.hidden_size = limits.check_int("hidden_size", hidden_size, 1, limits.MAX_HIDDEN)
        self.num_layers = limits.check_int("num_layers", num_layers, 1, limits.MAX_LAYERS)
        if not isinstance(bidirectional, (bool, np.bool_)):
            raise ValueError(f"bidirectional must be True or False, got {bidirectional!r}")
        self.bidirectional = bool(bidirectional)
        get_activation(activation)  # unknown names fail for every cell, gated ones too
        self.cell: Cell = make_cell(cell, self.hidden_size, activation)
        self.activation = activation if self.cell.uses_activation else "tanh"
        if init not in INITS:
            raise ValueError(f"init must be one of {list(INITS)}, got {init!r}")
        if spectral_radius is not None and "w_hh" not in self.cell.param_shapes(1):
            raise ValueError(f"the {cell} cell has no W_hh whose spectral radius could be set")
        gain = limits.check_positive("gain", gain)
        rng = np.random.default_rng(limits.check_int("seed", seed, 0, 2**32 - 1))
        self.params: dict[str, np.ndarray] = {}
        for layer in range(self.num_layers):
            for d in range(self.num_directions):
                for short, w in self._initial(self.layer_input_size(layer), init, gain,
                                              rng).items():
                    if spectral_radius is not None and short == "w_hh":
                        radius = limits.check_positive("spectral_radius", spectral_radius)
                        w = rescale_radius(w, self.hidden_size, radius)
                    self.params[self.key(short, layer, d)] = w
        if forget_bias is not None:
            self.set_forget_bias(forget_bias)

    def _initial(self, input_size: int, init: str, gain: float, rng) -> dict:
        """One layer-direction's initial weights: the cell's own scheme where it has one
        (the LRU's ring), else ``init_tensor`` per parameter."""
        if hasattr(self.cell, "init_params"):
            return self.cell.init_params(input_size, init, gain, rng)
        return {short: init_tensor(init, short, shape, self.cell.blocks, self.hidden_size,
                                   gain, rng)
                for short, shape in self.cell.param_shapes(input_size).items()}

    # --- layout -------------------------------------------------------------------------
    @property
    def cell_name(self) -> str:
        return self.cell.name

    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1

    def layer_input_size(self, layer: int) -> int:
        return self.input_size if layer == 0 else self.hidden_size * self.num_directions

    def key(self, short: str, layer: int, direction: int) -> str:
        """The state_dict key of a parameter, e.g. ('w_hh', 1, 1) -> 'weight_hh_l1_reverse'."""
        return f"{PARAM_PREFIX[short]}_l{layer}{'_reverse' if direction else ''}"

    def layer_params(self, layer: int, direction: int = 0) -> dict[str, np.ndarray]:
        shapes = self.cell.param_shapes(self.layer_input_size(layer))
        return {s: self.params[self.key(s, layer, direction)] for s in shapes}

    def set_forget_bias(self, value: float) -> None:
        """LSTM only: total forget-gate bias = value (b_ih carries it, b_hh's block is 0)."""
        if self.cell.name != "lstm":
            raise ValueError(f"forget_bias applies to the lstm cell only, not {self.cell.name!r}")
        if not np.isfinite(float(value)):
            raise ValueError(f"forget_bias must be a finite number, got {value!r}")
        H = self.hidden_size
        for layer in range(self.num_layers):
            for d in range(self.num_directions):
                self.params[self.key("b_ih", layer, d)][H:2 * H] = float(value)
                self.params[self.key("b_hh", layer, d)][H:2 * H] = 0.0

    def load_params(self, params: dict) -> None:
        """Replace the weights, checking names and shapes (a clear error on mismatch)."""
        missing = sorted(set(self.params) - set(params))
        extra = sorted(set(params) - set(self.params))
        if missing or extra:
            raise ValueError(
                f"params do not fit this network: missing {missing}, unexpected {extra}")
        new = {k: limits.as_float_array(k, params[k], self.params[k].shape) for k in self.params}
        self.params = {k: v.copy() for k, v in new.items()}

    # --- torch bridge -------------------------------------------------------------------
    @classmethod
    def from_torch(cls, module) -> Network:
        from .torch_bridge import network_from_torch

        return network_from_torch(cls, module)

    @classmethod
    def from_state_dict(cls, sd: dict, prefix: str | None = None,
                        nonlinearity: str | None = None) -> Network:
        """The recurrent module of any torch state_dict (keys like
        ``encoder.lstm.weight_ih_l0``): cell, sizes, layers and directions from its keys
        and shapes (engine.state_dict). ``prefix`` picks one of several; an RNN needs its
        ``nonlinearity``."""
        from .state_dict import network

        return network(cls, sd, prefix, nonlinearity)

    def to_torch(self):
        from .torch_bridge import network_to_torch

        return network_to_torch(self)

    # --- forward ------------------------------------------------------------------------
    def _check_state(self, name, value, B, batched, dtype=np.float64, width=None):
        """A state argument as (L*D, B, width): h0, c0, their gradients (width: H, or the
        cell's ``state_width`` for the recurrent state)."""
        LD, H = self.num_layers * self.num_directions, width or self.hidden_size
        if value is None:
            return np.zeros((LD, B, H))
        arr = limits.as_float_array(name, value, (LD, B, H) if batched else (LD, H), dtype)
        return arr if batched else arr[:, None, :]

    def run(self, x, h0=None, c0=None, interventions=()) -> Trace:
        """Forward pass over ``x`` shaped (T, batch, input) or (T, input); records everything.

        ``interventions`` (engine.Intervention) change the run at chosen steps; the trace's
        ``backward`` is exact for the network so changed (engine.interventions)."""
        try:
            x = np.asarray(x, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError("x must be an array of numbers shaped (T, batch, input)") from None
        if x.ndim not in (2, 3):
            raise ValueError(f"x must have shape (T, batch, input) or (T, input), got {x.shape}")
        batched = x.ndim == 3
        xb = x if batched else x[:, None, :]
        limits.check_int("sequence length T", xb.shape[0], 1, limits.MAX_STEPS)
        limits.check_int("batch", xb.shape[1], 1, limits.MAX_BATCH)
        xb = limits.as_float_array("x", xb, (None, None, self.input_size))
        B = xb.shape[1]
        h0b = self._check_state("h0", h0, B, batched, self.cell.state_dtype,
                                self.cell.state_width)  # the LRU's h0 is complex, like its h_n
        c0b = self._check_state("c0", c0, B, batched) if self.cell.has_cell_state else None
        if c0 is not None and not self.cell.has_cell_state:
            raise ValueError(f"c0 applies to the lstm cell only, not {self.cell.name!r}")

        ivs = iv_mod.check(interventions, self.cell.name, self.hidden_size, self.num_layers,
                           xb.shape[0])
        passes: list[list[PassTrace]] = []
        inp = xb
        with np.errstate(all="ignore"):
            for layer in range(self.num_layers):
                inp = iv_mod.zero_inputs(inp, ivs, layer)
                if layer == 0:
                    xb = inp  # the trace keeps the input the network read
                here = [iv for iv in ivs if iv.layer == layer]
                row = []
                for d in range(self.num_directions):
                    idx = layer * self.num_directions + d
                    args = (inp if d == 0 else inp[::-1], self.layer_params(layer, d),
                            h0b[idx], None if c0b is None else c0b[idx])
                    rec = (iv_mod.forward(self.cell, *args, here) if d == 0 and here
                           else self.cell.forward(*args))
                    row.append(_pass_trace(rec, layer, d))
                passes.append(row)
                inp = np.concatenate([pt.output for pt in row], axis=-1) if d else row[0].output
        return Trace(self, xb, batched, passes, inp, ivs)


def _pass_trace(rec: Record, layer: int, direction: int) -> PassTrace:
    def timed(a):
        return None if a is None else (a[::-1] if direction else a)

    bad = _first_bad_step(rec.state)
    if rec.c is not None:
        bad_c = _first_bad_step(rec.c)
        bad = bad_c if bad is None else (bad if bad_c is None else min(bad, bad_c))
    T = rec.state.shape[0]
    return PassTrace(
        layer=layer, direction=direction, h=timed(rec.h), state=timed(rec.state),
        output=timed(rec.out), c=timed(rec.c),
        gates={k: timed(v) for k, v in rec.gates.items()},
        preacts={k: timed(v) for k, v in rec.pre.items()},
        overflow_step=None if bad is None else (T - 1 - bad if direction else bad), rec=rec)


class Trace:
    """Everything one forward pass computed, and the way back (``backward``)."""

    def __init__(self, network: Network, x: np.ndarray, batched: bool,
                 passes: list[list[PassTrace]], output: np.ndarray, interventions: tuple = ()):
        self.network = network
        self.interventions = interventions  # what changed this run (engine.interventions)
        self.x = x  # (T, B, I)
        self.batched = batched
        self.passes = passes
        self._output = output  # (T, B, D*H)

    @property
    def T(self) -> int:
        return self.x.shape[0]

    @property
    def output(self) -> np.ndarray:
        """Shaped like torch's output: (T, B, D*H), or (T, D*H) for unbatched input."""
        return self._output if self.batched else self._output[:, 0]

    def _final(self, attr: str) -> np.ndarray:
        """Last state of every pass in torch's (L*D, B, H) order (time 0 for reverse passes)."""
        stack = np.stack([getattr(pt, attr)[0 if pt.direction else -1]
                          for row in self.passes for pt in row])
        return stack if self.batched else stack[:, 0]

    @property
    def h_n(self) -> np.ndarray:
        return self._final("state")

    @property
    def c_n(self) -> np.ndarray | None:
        return self._final("c") if self.network.cell.has_cell_state else None

    @property
    def overflow(self) -> dict | None:
        """Where values first became inf/NaN: {'layer', 'direction', 'step'}, or None."""
        for row in self.passes:
            for pt in row:
                if pt.overflow_step is not None:
                    return {"layer": pt.layer, "direction": pt.direction,
                            "step": pt.overflow_step}
        return None

    def pass_trace(self, layer: int = 0, direction: int = 0) -> PassTrace:
        return self.passes[layer][direction]

    def backward(self, grad_output, grad_h_n=None, grad_c_n=None, truncate: int | None = None,
                 stride: int | None = None) -> Gradients:
        """Exact BPTT from dL/d(output), optionally with dL/dh_n and dL/dc_n.

        ``truncate`` (k2) and ``stride`` (k1, default k2) select truncated BPTT, see
        ``truncation_blocks``. Non-finite values are propagated, never raised: see
        ``Gradients.overflow``.
        """
        net = self.network
        L, D, H = net.num_layers, net.num_directions, net.hidden_size
        T, B = self.x.shape[:2]
        want = (T, B, D * H) if self.batched else (T, D * H)
        g = limits.as_float_array("grad_output", grad_output, want)
        g = g if self.batched else g[:, None, :]
        ghn = None if grad_h_n is None else net._check_state(
            "grad_h_n", grad_h_n, B, self.batched, net.cell.state_dtype,
            net.cell.state_width)  # shaped and typed like h_n
        gcn = None
        if grad_c_n is not None:
            if not net.cell.has_cell_state:
                raise ValueError("grad_c_n applies to the lstm cell only")
            gcn = net._check_state("grad_c_n", grad_c_n, B, self.batched)
        blocks = truncation_blocks(T, truncate, stride)
        full = blocks == [(-1, T - 1, 0)]
        if not full and D == 2:
            raise ValueError("truncate applies to unidirectional networks: the reverse pass "
                             "reads the future, so there is no 'k steps back' to cut at")
        # One layer, or full BPTT: each layer takes every block at once. Deeper truncated
        # networks go block by block: the block's losses go down through every layer, each
        # layer cut at the block's start (what detaching all states there would do).
        groups = [blocks] if full or L == 1 else [[b] for b in blocks]

        grads = {k: np.zeros_like(v) for k, v in net.params.items()}
        hidden = [[None] * D for _ in range(L)]  # filled by _accumulate
        direct_in = [[np.zeros((T, B, H)) for _ in range(D)] for _ in range(L)]
        cells = [[None] * D for _ in range(L)] if net.cell.has_cell_state else None
        dh0 = np.zeros((L * D, B, net.cell.state_width), dtype=net.cell.state_dtype)
        dc0 = np.zeros((L * D, B, H)) if net.cell.has_cell_state else None
        grad_input = np.zeros_like(self.x)
        with np.errstate(all="ignore"):
            for group in groups:
                if len(groups) == 1:
                    above = g
                else:
                    lo, end, _ = group[0]
                    above = np.zeros_like(g)
                    above[lo + 1:end + 1] = g[lo + 1:end + 1]
                for layer in reversed(range(L)):
                    below = np.zeros((T, B, net.layer_input_size(layer)))
                    layer_blocks = group if layer == L - 1 else [(b[2] - 1, b[1], b[2])
                                                                 for b in group]
                    for d in range(D):
                        pt = self.passes[layer][d]
                        p = net.layer_params(layer, d)
                        if not pt.rec.prepared:
                            net.cell.prepare(pt.rec, p)
                            pt.rec.prepared = True
                        direct = above[..., d * H:(d + 1) * H]
                        direct_in[layer][d] += direct
                        idx = layer * D + d
                        offset, acc, dh_all, dc_all, h0_grad, c0_grad = bptt_pass(
                            net.cell, pt.rec, p, direct[::-1] if d else direct,
                            None if ghn is None else ghn[idx],
                            None if gcn is None else gcn[idx], layer_blocks)
                        n = dh_all.shape[0]
                        dh0[idx] += h0_grad  # complex for the LRU (torch's convention)
                        if dc0 is not None:
                            dc0[idx] += c0_grad
                        pg = net.cell.param_grads(pt.rec.window(offset, n), p, acc)
                        for short, value in pg.items():
                            if short != "dx":
                                grads[net.key(short, layer, d)] += value
                        first, dx = _time_order(pg["dx"], offset, T, d)
                        below[first:first + n] += dx
                        _accumulate(hidden[layer], d, dh_all, offset, T)
                        if cells is not None:
                            _accumulate(cells[layer], d, dc_all, offset, T)
                    below[[iv.step for iv in self.interventions  # a zeroed input is constant
                           if iv.kind == "zero_input" and iv.layer == layer]] = 0.0
                    above = below
                grad_input += above

        overflow = None
        for layer in reversed(range(L)):
            for d in range(D):
                # the first inf/NaN met walking back through the pass: a reverse pass walks
                # back in time order, a forward pass from the last step
                walk = hidden[layer][d] if d else hidden[layer][d][::-1]
                bad = _first_bad_step(walk)
                if overflow is None and bad is not None:
                    overflow = {"layer": layer, "direction": d,
                                "step": bad if d else T - 1 - bad}

        return Gradients(
            params=grads,
            input=grad_input if self.batched else grad_input[:, 0],
            h0=dh0 if self.batched else dh0[:, 0],
            c0=None if dc0 is None else (dc0 if self.batched else dc0[:, 0]),
            hidden=hidden, cell=cells, hidden_norm=_step_norms(hidden),
            cell_norm=None if cells is None else _step_norms(cells), overflow=overflow,
            window=None if full else int(truncate), direct_norm=_step_norms(direct_in))


__all__ = ["CELLS", "Gradients", "Network", "PassTrace", "Trace", "truncation_blocks"]

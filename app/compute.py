"""Cached engine calls: one forward + backward per distinct setting, shared by all viewers.

Only the engine computes; this module packs its results into small float32 arrays that the
figure builders read. ``simulate`` is the pure function (testable without Streamlit);
``cached_simulate`` and friends wrap it in ``st.cache_data``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import streamlit as st

from app import trained
from app.state import DIAGONAL, Settings
from engine import (
    Network,
    clip_by_norm,
    clip_by_value,
    diagnostics,
    explain,
    global_norm,
    interventions,
    lru_recipe,
)
from engine.network import truncation_blocks
from engine.signals import encode_text, loss_seed, make_signal

CHAOS_POINTS = (0.25, 0.5, 0.75, 0.9, 1.0, 1.1, 1.25, 1.5, 2.0, 3.0)
CHAOS_HIDDEN = 64
CHAOS_STEPS = 600
# ||dh_{T-1}/dh_t|| costs a product of (H, H) matrices and an SVD per step back: the
# Jacobian chart covers as many steps as H^3 * steps <= this allows (all of T at H <= 40,
# 250 steps at H = 64, 31 at H = 128; ~0.2 s on this VM).
JACOBIAN_BUDGET = 64**3 * 250


@dataclass(frozen=True)
class PassView:
    """One layer in one direction, in time order; (T, H) float32 arrays."""

    h: np.ndarray
    c: np.ndarray | None
    gates: dict
    y: np.ndarray | None = None  # Jordan: the pass's output y_t, its recurrent state
    out: np.ndarray | None = None  # LRU, S6: the pass's output y_t, which h is not
    slopes: dict = field(default_factory=dict)  # ungated cells: phi'(a_t) per activation


@dataclass(frozen=True)
class Run:
    """What the pages draw for one setting; every number comes from the engine."""

    T: int
    x: np.ndarray  # (T, I) float32
    vocab: tuple
    passes: tuple  # passes[layer][direction] -> PassView
    hidden_norm: np.ndarray  # (L, D, T) ||dL/dh_t||, full BPTT
    direct_norm: np.ndarray  # (L, D, T) ||e_t||: gradient entering at t (loss or layer above)
    last_norm: np.ndarray  # (L, D, T) ||dl_{T-1}/dh_t||: the last step's loss alone
    cell_norm: np.ndarray | None
    trunc_norm: np.ndarray | None  # the same with trace.backward(truncate=k)
    window: int | None
    kept: tuple  # truncated BPTT: the (start, end) spans that receive gradient
    overflow: dict | None  # forward values inf/NaN (Trace.overflow)
    grad_overflow: dict | None  # gradients inf/NaN (Gradients.overflow)
    param_norms: dict  # parameter name -> (norm before clipping, after)
    norm_before: float
    norm_after: float
    singular: tuple  # per layer: {gate: singular values of its W_hh block, forward direction}
    bound: tuple  # per layer: (gamma, sigma) for Pascanu's bound, or None (gated cells)
    bound_curve: tuple  # per layer: the bound on ||dL/dh_t|| (forward direction), or None
    gamma: float
    notices: tuple
    outputs: np.ndarray | None = None  # (T, O): a trained or uploaded model's read-out
    base: Run | None = None  # the same settings without the intervention, when there is one
    intervention: object = None  # the engine.Intervention this run made, or None


def signal_for(s: Settings) -> tuple[np.ndarray, tuple]:
    """The input sequence the settings ask for (engine.signals), with the text vocabulary."""
    x = make_signal(s.signal, s.T, seed=s.seed, text=s.text, encoding=s.encoding,
                    sequence=s.seq)
    vocab = tuple(encode_text(s.text, s.encoding)[1]) if s.signal == "text" else ()
    return x, vocab


def build_network(s: Settings, input_size: int) -> Network:
    return Network(s.cell, input_size=input_size, hidden_size=s.hidden, num_layers=s.layers,
                   bidirectional=s.bidir, activation=s.activation, init=s.init_scheme,
                   gain=s.gain,
                   spectral_radius=s.spectral_radius, seed=s.seed)


F32_MAX = float(np.finfo(np.float32).max)


def first_beyond_float32(trace) -> int | None:
    """The first time step at which a state (h or c) is finite but beyond float32's range:
    the engine's float64 still holds it, the charts (float32) cannot and leave it blank."""
    first = None
    for row in trace.passes:
        for pt in row:
            for a in (pt.h, pt.c):
                if a is None:
                    continue
                with np.errstate(invalid="ignore"):
                    big = np.isfinite(a) & (np.abs(a) > F32_MAX)
                steps = np.flatnonzero(big.reshape(a.shape[0], -1).any(axis=1))
                if steps.size and (first is None or steps[0] < first):
                    first = int(steps[0])
    return first


def _f32(a):
    """float32 halves what the charts carry; values beyond its range become inf (masked)."""
    if a is None:
        return None
    with np.errstate(over="ignore", invalid="ignore"):
        return np.asarray(a, dtype=np.float32)


def network_and_input(s: Settings, notices: list | None = None):
    """The network and input sequence the settings describe: ``(net, x, vocab)``.

    With ``s.weights`` the Training lab's trained network runs on one sequence of its task
    instead of a freshly built network on the sidebar's signal.
    """
    entry = trained.lookup(s.weights)
    if s.weights and entry is None:
        raise ValueError("the trained weights are no longer on the server; train again")
    if entry is not None:
        return entry.network, entry.x, ()
    x, vocab = signal_for(s)
    if x.shape[0] < s.T and notices is not None:
        notices.append(f"The {s.signal} input has {x.shape[0]} steps, so T = "
                       f"{x.shape[0]} here (not {s.T}).")
    return build_network(s, x.shape[1]), x, vocab


def kept_spans(T: int, window: int | None, seed: np.ndarray) -> tuple:
    """Truncated BPTT: the (start, end) blocks of steps that receive gradient.

    Each block of ``truncation_blocks`` carries the losses of its own steps back to its
    start; a block without a loss receives none. Loss at the last step: the last ``window``
    steps; a loss at every step: every block, each cut at its start.
    """
    if window is None:
        return ()
    has_loss = np.abs(seed.reshape(T, -1)).sum(axis=1) > 0
    return tuple((start, end) for lo, end, start in truncation_blocks(T, window, None)
                 if has_loss[lo + 1:end + 1].any())


def interventions_for(s: Settings, net: Network, T: int, notices: list | None = None) -> tuple:
    """The settings' intervention where it fits the network and input that ran (a typed
    sequence may be shorter than T); else none, said in a notice."""
    ivs = s.interventions()
    try:
        return interventions.check(ivs, net.cell_name, net.hidden_size, net.num_layers, T)
    except ValueError as exc:
        if notices is not None:
            notices.append(f"The intervention is left out: {exc}.")
        return ()


def simulate(s: Settings) -> Run:
    """Forward, backward (full, truncated, and of the last step's loss alone), clipping and
    spectra for one setting; with an intervention, the unmodified run too (``base``)."""
    notices = []
    net, x, vocab = network_and_input(s, notices)
    ivs = interventions_for(s, net, x.shape[0], notices)
    trace = net.run(x, interventions=ivs)
    big = first_beyond_float32(trace)
    if big is not None:
        notices.append(f"From step t = {big} the state grows past ±3.4e38, the largest "
                       "number the charts can draw (they carry float32); those cells are left "
                       "blank. The engine computes in float64, where the values are still "
                       "finite: the network is exploding, not broken.")
    seed = loss_seed(trace.output.shape, s.loss)
    grads = trace.backward(seed)
    window = s.truncate if 0 < s.truncate < x.shape[0] else None
    if window and net.bidirectional:
        notices.append("Truncated BPTT is shown for one-directional networks only: a "
                       "bidirectional layer's reverse pass reads the future, so there is no "
                       "'k steps back' to cut at.")
        window = None
    trunc = trace.backward(seed, truncate=window) if window else None
    last = grads if s.loss == "last" else trace.backward(loss_seed(trace.output.shape, "last"))
    if s.clip == "norm":
        clipped = clip_by_norm(grads.params, s.threshold)
    elif s.clip == "value":
        clipped = clip_by_value(grads.params, s.threshold)
    else:
        clipped = None
    after = clipped.grads if clipped else grads.params
    param_norms = {k: (global_norm({k: g}), global_norm({k: after[k]}))
                   for k, g in grads.params.items()}
    gamma = diagnostics.activation_gamma(net.activation)
    singular = [{g: diagnostics.singular_values(w)
                 for g, w in diagnostics.recurrent_blocks(net, layer, 0).items()}
                for layer in range(net.num_layers)]
    bound = [diagnostics.pascanu_factors(net, layer, 0) for layer in range(net.num_layers)]
    bound_curve = [None if f is None else diagnostics.gradient_bound(grads.direct_norm[k, 0], *f)
                   for k, f in enumerate(bound)]
    passes = tuple(
        tuple(PassView(h=_f32(pt.h[:, 0]), c=_f32(None if pt.c is None else pt.c[:, 0]),
                       gates={k: _f32(v[:, 0]) for k, v in pt.gates.items()},
                       y=_f32(pt.output[:, 0]) if net.cell_name == "jordan" else None,
                       out=None if net.cell.out_is_h else _f32(pt.output[:, 0]),
                       slopes={k: _f32(v[:, 0]) for k, v in diagnostics.activation_slopes(
                           trace, pt.layer, pt.direction).items()})
              for pt in row)
        for row in trace.passes)
    entry = trained.lookup(s.weights)
    outputs = None
    if entry is not None and entry.readout is not None:
        w, b = entry.readout
        with np.errstate(all="ignore"):
            outputs = _f32(np.asarray(trace.output).reshape(x.shape[0], -1) @ w.T + b)
    return Run(
        outputs=outputs, base=simulate(replace(s, iv="")) if ivs else None,
        intervention=ivs[0] if ivs else None,
        T=x.shape[0], x=_f32(x), vocab=vocab, passes=passes,
        hidden_norm=np.asarray(grads.hidden_norm), direct_norm=np.asarray(grads.direct_norm),
        last_norm=np.asarray(last.hidden_norm), cell_norm=grads.cell_norm,
        trunc_norm=None if trunc is None else np.asarray(trunc.hidden_norm), window=window,
        kept=kept_spans(x.shape[0], window, seed),
        overflow=trace.overflow, grad_overflow=grads.overflow, param_norms=param_norms,
        norm_before=grads.total_norm(), norm_after=global_norm(after),
        singular=tuple(singular), bound=tuple(bound), bound_curve=tuple(bound_curve),
        gamma=gamma, notices=tuple(notices))


@st.cache_data(max_entries=24, show_spinner=False)
def cached_simulate(s: Settings) -> Run:
    return simulate(s.physics())


def jacobian_curve(s: Settings, layer: int) -> np.ndarray:
    """||dh_{T-1}/dh_t|| of ``layer`` (forward direction), exact, over the last steps that
    ``JACOBIAN_BUDGET`` allows (NaN before them)."""
    net, x, _ = network_and_input(s)
    trace = net.run(x, interventions=interventions_for(s, net, x.shape[0]))
    if net.cell.diagonal:  # a product of diagonals: every step, exactly, at no cost
        return diagnostics.diagonal_jacobian_norms(trace, layer=layer)
    steps = int(min(x.shape[0], max(2, JACOBIAN_BUDGET // net.hidden_size**3)))
    return diagnostics.jacobian_norms(trace, layer=layer, steps=steps)


@st.cache_data(max_entries=24, show_spinner=False)
def cached_jacobian(s: Settings, layer: int) -> np.ndarray:
    return jacobian_curve(s.physics(), layer)


def _traced(s: Settings):
    """The settings' network run forward and backward (the full-BPTT gradient the page draws)."""
    net, x, _ = network_and_input(s)
    trace = net.run(x, interventions=interventions_for(s, net, x.shape[0]))
    return trace, trace.backward(loss_seed(trace.output.shape, s.loss))


@st.cache_data(max_entries=64, show_spinner=False)
def cached_chain(s: Settings, layer: int, t: int) -> explain.Chain:
    """BPTT's chain at step t of ``layer`` (forward direction), with the Jacobian product
    left out where the Jacobian chart's budget leaves it out too."""
    trace, grads = _traced(s.physics())
    steps = max(2, JACOBIAN_BUDGET // trace.network.hidden_size**3)
    return explain.backward_chain(trace, grads, t, layer=layer, max_steps=steps)


@st.cache_data(max_entries=64, show_spinner=False)
def cached_step(s: Settings, layer: int, t: int, unit: int) -> tuple:
    """The cell's equations at step t for one unit of ``layer`` (forward direction)."""
    net, x, _ = network_and_input(s.physics())
    trace = net.run(x, interventions=interventions_for(s, net, x.shape[0]))
    return explain.forward_step(trace, t, unit, layer=layer)


def compare_cells(s: Settings, cells=("rnn", "lstm", "gru")) -> dict:
    """||dL/dh_t|| of the first layer, forward direction, per cell on the same input and seed
    (the sidebar's cell joins the three when it is another one)."""
    # freshly built cells, not the trained one, none intervened (a gate is one cell's)
    fresh = replace(s.physics(), weights="", iv="")
    chosen = tuple(dict.fromkeys((*cells, s.cell)))
    return {c: cached_simulate(replace(fresh, cell=c)).hidden_norm[0, 0] for c in chosen}


def chaos_point(value: float, by: str, hidden: int, x: np.ndarray, seed: int) -> tuple:
    """Largest Lyapunov exponent and gradient decay rate of a gaussian tanh RNN."""
    kw = {"spectral_radius": value} if by == "radius" else {"gain": value}
    net = Network("rnn", input_size=x.shape[1], hidden_size=hidden, activation="tanh",
                  init="gaussian", seed=seed, **kw)
    lyap = float(diagnostics.lyapunov_exponent(net, steps=CHAOS_STEPS, seed=seed)[0])
    trace = net.run(x)
    norms = trace.backward(loss_seed(trace.output.shape, "last")).hidden_norm[0, 0]
    return lyap, diagnostics.gradient_decay_rate(norms)


@st.cache_data(max_entries=16, show_spinner=False)
def chaos_sweep(by: str, hidden: int, seed: int, signal_settings: Settings,
                extra: tuple = ()) -> dict:
    """A few points of the sweep (cheap: H <= 64, 600 steps), plus any extra values."""
    x, _ = signal_for(replace(signal_settings, T=min(signal_settings.T, 200)))
    values = sorted(set(CHAOS_POINTS) | set(extra))
    h = min(hidden, CHAOS_HIDDEN)
    points = [chaos_point(v, by, h, x, seed) for v in values]
    return {"values": values, "lyapunov": [p[0] for p in points],
            "decay": [p[1] for p in points], "hidden": h}


SCAN_STEPS = 32  # the scan tree stays readable up to 32 leaves


@dataclass(frozen=True)
class ScanPairs:
    """One unit's recurrence h_t = a_t h_{t-1} + b_t over the first steps, from a diagonal
    cell (the sidebar's, or a minGRU with the sidebar's input, size and seed)."""

    cell: str
    unit: int
    a: np.ndarray  # (T,) the carry
    b: np.ndarray  # (T,) the drive
    h: np.ndarray  # (T,) the state the network computed (float64; the LRU's complex)
    label: str = ""  # which recurrence: "unit 3" (S6: "channel 3, state 0")


@st.cache_data(max_entries=16, show_spinner=False)
def scan_pairs(s: Settings) -> ScanPairs:
    """The pairs the Parallel scan page combines: layer 0, forward, the first chosen unit,
    the first ``SCAN_STEPS`` steps (h_0 = 0, so the first pair is the first state)."""
    cell = s.cell if s.cell in DIAGONAL else "mingru"
    fresh = replace(s.physics(), cell=cell, weights="", layers=1, bidir=False)
    net, x, _ = network_and_input(fresh)
    x = x[:SCAN_STEPS]
    pt = net.run(x).pass_trace(0, 0)
    a, b = net.cell.pairs(pt.rec)
    unit = s.chosen_units()[0]  # an existing unit (0 when none is)
    per_unit = net.cell.state_width // net.hidden_size  # S6: N states per channel
    col = unit * per_unit  # S6: the channel's first state, A = -1
    return ScanPairs(cell=cell, unit=unit, a=a[:, 0, col], b=b[:, 0, col],
                     h=pt.state[:, 0, col],
                     label=f"unit {unit}" if per_unit == 1 else f"channel {unit}, state 0")


@dataclass(frozen=True)
class RecipeRuns:
    """The Elman-to-LRU page's runs on the sidebar's input: the Elman start, the linear RNN
    (what the diagonal network equals with its phases), and the recipe the switches ask for."""

    start: lru_recipe.RecipeRun
    linear: lru_recipe.RecipeRun
    now: lru_recipe.RecipeRun
    recipe: lru_recipe.Recipe


@st.cache_data(max_entries=16, show_spinner=False)
def recipe_runs(s: Settings) -> RecipeRuns:
    """One Elman RNN (the sidebar's φ, size, init, scale and seed; one layer, one
    direction, whatever the sidebar's cell), taken through the recipe's switches."""
    x, _ = signal_for(s)
    net = Network("rnn", input_size=x.shape[1], hidden_size=s.hidden, activation=s.act,
                  init=s.init, gain=s.gain, spectral_radius=s.radius or None, seed=s.seed)
    e = loss_seed((x.shape[0], s.hidden), s.loss)
    recipe = lru_recipe.Recipe(**{k: True for k in s.recipe_switches()})

    def run(r):
        return lru_recipe.recipe_run(net, x, e, r, seed=s.seed)

    return RecipeRuns(start=run(lru_recipe.Recipe()), linear=run(lru_recipe.Recipe.upto("linear")),
                      now=run(recipe), recipe=recipe)

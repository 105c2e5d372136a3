"""Every bound the Gradients page draws lies on or above the curve it bounds, in every
setting the controls allow (SCIENCE.md, "What the bound bounds"); the metrics mean what
their help says with a loss at every step too."""

from dataclasses import replace

import numpy as np
import pytest

from app import compute, tour
from app.state import DEFAULTS, Settings
from app.views import gradients as gv
from engine import Network
from engine.signals import loss_seed
from tests.app.charts import figures, open_page

CELLS = [("rnn", "tanh"), ("rnn", "sigmoid"), ("rnn", "relu"), ("rnn", "identity"),
         ("rnn", "leaky_relu"), ("jordan", "tanh"), ("jordan", "identity"),
         ("indrnn", "tanh"), ("indrnn", "relu"), ("lstm", "tanh"), ("gru", "tanh")]
RTOL = 1e-9  # the bound is computed in float64 from the same norms


def _trace(fig: dict, prefix: str) -> np.ndarray | None:
    for t in fig["data"]:
        if (t.get("name") or "").startswith(prefix):
            return np.array([np.nan if v is None else v for v in t["y"]], dtype=float)
    return None


def _assert_bounds(curve: np.ndarray, bound: np.ndarray, what: str) -> None:
    both = np.isfinite(curve) & np.isfinite(bound)
    assert both.any(), what
    short = bound[both] < curve[both] * (1 - RTOL)
    assert not short.any(), (what, np.flatnonzero(both)[short][:5],
                             bound[both][short][:3], curve[both][short][:3])


def _settings(cell, act, **kw) -> Settings:
    return replace(DEFAULTS, cell=cell, act=act, T=kw.pop("T", 30), hidden=kw.pop("hidden", 8),
                   **kw)


GRID = [dict(loss=loss, layers=layers, seed=seed)
        for loss in ("last", "every") for layers in (1, 2, 3) for seed in (0, 1)]
EXTRA = [dict(loss="every", init="orthogonal", gain=0.9),  # the identity-cell case
         dict(loss="every", init="orthogonal", gain=1.3, T=60),
         dict(loss="last", bidir=True, layers=2), dict(loss="every", bidir=True),
         dict(loss="every", truncate=7), dict(loss="last", truncate=7, layers=2),
         dict(loss="every", signal="noise", clip="norm", threshold=0.1),
         dict(loss="last", init="gaussian", gain=2.5, T=80),
         dict(loss="every", init="identity", T=40)]


@pytest.mark.parametrize("cell,act", CELLS)
def test_the_drawn_bound_holds_over_a_grid_of_settings(cell, act):
    for kw in GRID + EXTRA:
        s = _settings(cell, act, **kw)
        run = compute.simulate(s)
        state = "y" if cell == "jordan" else "h"
        for layer in range(s.layers):
            fig = gv.gradient_figure(run, layer, s.loss, state)
            curve = _trace(fig, f"‖∂L/∂{state}_t‖")
            bound = _trace(fig, "Pascanu") if gv.single_entry(run, layer) else \
                _trace(fig, "bound")
            if cell in ("lstm", "gru"):
                assert not any("bound" in (t.get("name") or "").lower() for t in fig["data"])
                continue
            assert bound is not None, (cell, kw, layer)
            _assert_bounds(curve, bound, (cell, act, kw, layer))


@pytest.mark.parametrize("cell,act", [c for c in CELLS if c[0] not in ("lstm", "gru")])
def test_pascanu_line_lies_over_the_exact_jacobian_product(cell, act):
    for kw in (dict(layers=1), dict(layers=2, init="orthogonal", gain=1.2),
               dict(layers=1, init="gaussian", gain=3.0, T=50)):
        s = _settings(cell, act, **kw)
        run = compute.simulate(s)
        for layer in range(s.layers):
            jac = compute.jacobian_curve(s, layer)
            f = run.bound[layer]
            fig = gv.jacobian_figure(jac, f[0] * f[1], "y" if cell == "jordan" else "h")
            _assert_bounds(_trace(fig, "‖∂"), _trace(fig, "Pascanu"), (cell, kw, layer))


def test_the_single_step_formula_is_false_where_the_page_no_longer_draws_it():
    """What the page drew before: ||dL/dh_{T-1}|| (gamma sigma)^(T-1-t). Below the curve with
    a loss at every step (tour scene 5) and on a lower layer: so the sum form is needed."""
    for kw, layer, by in ((dict(loss="every"), 0, 1e3),
                          (dict(layers=2, act="identity", gain=0.9), 0, 2)):
        s = replace(tour.scene(5).apply(5), **kw)
        run = compute.simulate(s)
        norms = run.hidden_norm[layer, 0]
        gamma, sigma = run.bound[layer]
        old = norms[-1] * (gamma * sigma) ** (run.T - 1 - np.arange(run.T))
        assert np.any(old * by < norms), kw
        assert not gv.single_entry(run, layer)
        _assert_bounds(norms, run.bound_curve[layer], kw)


def test_direct_gradient_of_a_lower_layer_is_what_the_layer_above_sends_down():
    net = Network("rnn", 2, 5, num_layers=2, seed=3)
    x = np.random.default_rng(0).standard_normal((12, 2))
    trace = net.run(x)
    seed = loss_seed(trace.output.shape, "every")
    grads = trace.backward(seed)
    top = Network("rnn", 5, 5, seed=0)
    top.load_params({k.replace("_l1", "_l0"): v for k, v in net.params.items() if "_l1" in k})
    sent_down = top.run(trace.pass_trace(0).output[:, 0]).backward(seed).input
    np.testing.assert_allclose(grads.direct_norm[0, 0], np.linalg.norm(sent_down, axis=1),
                               rtol=1e-12)
    np.testing.assert_allclose(grads.direct_norm[1, 0], np.linalg.norm(seed, axis=1),
                               rtol=1e-12)


def test_truncation_shades_the_steps_that_receive_gradient():
    last = compute.simulate(_settings("rnn", "tanh", truncate=7, loss="last"))
    assert last.kept == ((23, 29),)
    every = compute.simulate(_settings("rnn", "tanh", truncate=7, loss="every"))
    assert every.kept == ((0, 1), (2, 8), (9, 15), (16, 22), (23, 29))
    steps = {t for a, b in every.kept for t in range(a, b + 1)}
    assert steps == set(range(30))
    got = np.flatnonzero(every.trunc_norm[0, 0] > 0)
    assert set(got) <= steps
    fig = gv.gradient_figure(every, 0, "every")
    rects = [sh for sh in fig["layout"]["shapes"] if sh["type"] == "rect"]
    cuts = [sh for sh in fig["layout"]["shapes"] if sh["type"] == "line"]
    assert len(rects) == 5 and sorted(c["x0"] for c in cuts) == [1.5, 8.5, 15.5, 22.5]


def _page(query: dict):
    return open_page("screens/gradients.py", query)


def _metrics(at) -> dict:
    return {m.label: m.value for m in at.metric}


def test_scene_5_with_every_step_loss_has_a_horizon_and_a_rate():
    sc = tour.scene(5).apply(5)
    query = {k: v for k, v in replace(sc, scene=0, loss="every").to_query().items()}
    at = _page(query)
    m = _metrics(at)
    assert m["Memory horizon"].endswith("steps"), m
    rate = float(m["Fitted change per step back"].lstrip("× "))
    assert rate < 0.5, m  # the sigmoid's slope <= 1/4 makes it vanish fast
    curve = _trace(figures(at)[0], "‖∂L/∂h_t‖")
    bound = _trace(figures(at)[0], "bound")
    _assert_bounds(curve, bound, "scene 5, every step")


def test_jordan_and_indrnn_label_their_state_and_factor():
    at = _page({"cell": "jordan", "T": "20", "hidden": "6"})
    m = _metrics(at)
    assert "γ² · σ_max(W_ho) · σ_max(W_hh)" in m
    fig = figures(at)[0]
    assert "∂y_t" in fig["layout"]["yaxis"]["title"]["text"]
    assert fig["data"][0]["name"] == "‖∂L/∂y_t‖"
    run = compute.simulate(Settings(cell="jordan", T=20, hidden=6))
    g, sg = run.bound[0]
    assert float(m["γ² · σ_max(W_ho) · σ_max(W_hh)"]) == pytest.approx(g * sg, rel=2e-3)
    at = _page({"cell": "indrnn", "T": "20", "hidden": "6"})
    assert "γ · max|u|" in _metrics(at)
    assert not any("1/γ" in (t.get("name") or "") for t in figures(_page(
        {"cell": "lstm", "T": "20", "hidden": "6"}))[3]["data"])


def test_equations_use_one_exponent_convention_and_no_bound_for_gated_cells():
    at = _page({"T": "20", "hidden": "6"})
    latex = " ".join(x.value for x in at.latex)
    assert "T-1-t" in latex and "^{T-t}" not in latex and r"\sum_{s \ge t}" in latex
    at = _page({"cell": "gru", "T": "20", "hidden": "6"})
    # the header's equations: BPTT's recursion, no bound; the chain at a step (its own
    # block) bounds only by the product it computed, never by Pascanu's gamma * sigma
    header = [x.value for x in at.latex if r"\partial L /" not in x.value]
    assert header and not any(r"\le" in x for x in header)
    chain = " ".join(x.value for x in at.latex if r"\partial L /" in x.value)
    assert r"\gamma" not in chain and r"\le \|\partial L / \partial h_{T-1}\| \cdot" in chain

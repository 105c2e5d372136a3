"""The LRU and S6 on every explore page: each draws, and what it says is true of them (no
W_hh and no gate; the LRU's carry lambda is the same at every step, S6's step size Delta_t
follows the input; their Jacobians are exact diagonals; their own initialisations replace
the sidebar's)."""

import base64

import numpy as np
import pytest

from app import compute
from app.state import Settings
from engine import Network
from engine.cells import LRUCell
from tests.app.charts import figures, open_page

PAGES = ["screens/unroll.py", "screens/hidden.py", "screens/gates.py",
         "screens/gradients.py", "screens/chaos.py", "screens/scan.py"]
QUERY = {"cell": "lru", "T": "30", "hidden": "6", "seed": "4"}


def decoded(z) -> np.ndarray:
    """A heatmap's z, a typed-array spec (app.views.common.typed), as an array."""
    arr = np.frombuffer(base64.b64decode(z["bdata"]), dtype=z["dtype"])
    return arr.reshape([int(n) for n in z["shape"].split(",")]).astype(float)


def eigenvalues(seed=4, hidden=6) -> np.ndarray:
    return LRUCell.eigenvalues(Network("lru", 1, hidden, seed=seed).layer_params(0))


@pytest.mark.parametrize("cell", ["lru", "s6"])
@pytest.mark.parametrize("page", PAGES)
def test_every_page_draws_the_lru_and_s6(page, cell):
    # an initialisation, a gain and a radius in the link: these cells have their own, ignored
    at = open_page(page, {**QUERY, "cell": cell, "layers": "2", "init": "orthogonal",
                          "gain": "3", "radius": "0.9"})
    assert not at.error, [e.value for e in at.error]
    assert figures(at), page
    captions = " ".join(c.value for c in at.caption)
    if page == "screens/chaos.py":  # the page's own RNN has a φ; the cell is named apart
        assert "its own initialisation" in captions and "'orthogonal'" not in captions
    else:
        assert " cell, φ" not in captions


def test_every_engine_cell_has_a_label_in_the_sidebar_and_the_lab():
    from app import lab_state, sidebar
    from engine import CELLS
    from engine.train import CELLS as TRAINABLE
    assert set(CELLS) <= set(sidebar.CELL_LABELS)
    assert set(TRAINABLE) <= set(lab_state.CELL_LABELS)


def test_s6_gates_page_draws_its_step_size_and_gradients_its_carry():
    q = {**QUERY, "cell": "s6"}
    s, _ = Settings.from_query(q)
    x, _ = compute.signal_for(s)
    trace = Network("s6", 1, 6, seed=4).run(x)
    gates = trace.pass_trace(0, 0).gates
    at = open_page("screens/gates.py", q)
    fig = figures(at)[0]
    log_delta = decoded(fig["data"][0]["z"])
    np.testing.assert_allclose(log_delta, np.log10(gates["delta"][:, 0]).T, atol=6e-4)
    delta = gates["delta"][:, 0]
    np.testing.assert_allclose(decoded(fig["data"][1]["z"]),
                               (100 * (delta / delta.mean(axis=0) - 1)).T, atol=6e-4)
    metrics = {m.label: m.value for m in at.metric}
    assert float(metrics["largest e^(Δ_t A)"]) == pytest.approx(gates["abar"].max(), rel=2e-3)
    at = open_page("screens/gradients.py", q)
    metric = next(m for m in at.metric if m.label == "largest e^(Δ_t A)")
    assert float(metric.value) == pytest.approx(gates["abar"].max(), rel=2e-3)
    assert "No bound is needed" in " ".join(c.value for c in at.caption)


def test_the_ring_initialisation_replaces_the_sidebars():
    s, _ = Settings.from_query({**QUERY, "init": "orthogonal", "gain": "3"})
    net = compute.build_network(s, 1)
    np.testing.assert_array_equal(LRUCell.eigenvalues(net.layer_params(0)), eigenvalues())
    at = open_page("screens/hidden.py", {**QUERY, "init": "orthogonal"})
    widgets = {w.label: w for w in at.sidebar.selectbox}
    assert widgets["Scheme"].disabled
    assert next(s for s in at.sidebar.slider if s.label == "Gain g").disabled


def test_gradients_page_shows_the_exact_carry_not_a_bound():
    at = open_page("screens/gradients.py", QUERY)
    metric = next(m for m in at.metric if m.label == "largest |λ|")
    assert float(metric.value) == pytest.approx(np.abs(eigenvalues()).max(), rel=2e-3)
    names = {t.get("name", "") for fig in figures(at) for t in fig["data"]}
    assert not any("bound" in n.lower() for n in names), names
    captions = " ".join(c.value for c in at.caption)
    assert "No bound is needed" in captions and "diag(λ)" in captions
    assert "no W_hh" in captions


def test_gates_page_draws_lambda_the_same_at_every_step():
    at = open_page("screens/gates.py", QUERY)
    fig = figures(at)[0]
    carry = decoded(fig["data"][0]["z"])  # (units, steps)
    lam = np.abs(eigenvalues())
    np.testing.assert_allclose(carry, np.repeat(lam[:, None], carry.shape[1], axis=1),
                               atol=6e-4)  # the chart rounds to 3 places
    metrics = {m.label: m.value for m in at.metric}
    assert float(metrics["largest |λ|"]) == pytest.approx(lam.max(), rel=2e-3)
    assert float(metrics["its memory"].split()[0]) == pytest.approx(-1 / np.log(lam.max()),
                                                                     rel=2e-3)


def test_hidden_page_names_the_real_part_of_the_complex_state():
    at = open_page("screens/hidden.py", QUERY)
    fig = figures(at)[0]
    s, _ = Settings.from_query(QUERY)
    x, _ = compute.signal_for(s)
    state = Network("lru", 1, 6, seed=4).run(x).pass_trace(0, 0).state[:, 0]
    heat = decoded(fig["data"][0]["z"])
    np.testing.assert_allclose(heat, state.real.T, atol=1e-3)  # the chart rounds to 3 places
    assert "Re h_t" in fig["layout"]["yaxis2"]["title"]["text"]


def test_edge_of_chaos_draws_the_lru_eigenvalues_inside_the_circle():
    at = open_page("screens/chaos.py", QUERY)
    assert not at.error, [e.value for e in at.error]
    fig = next(f for f in figures(at) if any(t.get("name", "").startswith("λ_j")
                                             for t in f["data"]))
    dots = next(t for t in fig["data"] if t["name"].startswith("λ_j"))
    lam = eigenvalues()
    np.testing.assert_allclose(dots["x"], lam.real)
    np.testing.assert_allclose(dots["y"], lam.imag)
    radii = sorted(s["x1"] for s in fig["layout"]["shapes"])
    assert radii == [LRUCell.r_min, LRUCell.r_max, 1.0]
    assert fig["layout"]["yaxis"]["scaleanchor"] == "x"  # a circle drawn as a circle
    metrics = {m.label: m for m in at.metric}
    top = np.abs(lam).max()
    state = metrics[f"E[h²] at |λ| = {top:.3g}"]
    assert float(state.value) == pytest.approx(1 / (1 - top**2), rel=2e-3)
    assert state.delta == "× γ² = 1"
    # another cell: no LRU section
    at = open_page("screens/chaos.py", {**QUERY, "cell": "gru"})
    assert not any(t.get("name", "").startswith("λ_j") for f in figures(at)
                   for t in f["data"])


@pytest.mark.parametrize("cell,label", [("lru", "Re h_t"), ("s6", "h_t[0]")])
def test_unroll_draws_the_state_and_the_output_each_under_its_label(cell, label):
    """Found in review: the LRU's output row drew Re h_t, S6's state row its output."""
    from app.views import unroll as uv
    s, _ = Settings.from_query({**QUERY, "cell": cell})
    run = compute.simulate(s.physics())
    x, _ = compute.signal_for(s)
    trace = Network(cell, 1, 6, seed=4).run(x)
    rows = {r["key"]: r for r in uv._rows(run.passes, cell, 0, run.x, (), run.T)}
    assert rows["h"]["label"] == label
    np.testing.assert_allclose(rows["h"]["values"], trace.pass_trace(0, 0).h[:, 0, 0],
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(rows["y"]["values"], trace.pass_trace(0, 0).output[:, 0, 0],
                               rtol=1e-5, atol=1e-6)

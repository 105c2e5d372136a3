"""The LRU on every explore page: each draws, and what it says is true of a complex diagonal
recurrence (no W_hh and no gate; its carry lambda is the same at every step; the Jacobian
diag(lambda) is exact; the ring initialisation replaces the sidebar's)."""

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


@pytest.mark.parametrize("page", PAGES)
def test_every_page_draws_the_lru(page):
    # an initialisation, a gain and a radius in the link: the LRU has its own, ignored
    at = open_page(page, {**QUERY, "layers": "2", "init": "orthogonal", "gain": "3",
                          "radius": "0.9"})
    assert not at.error, [e.value for e in at.error]
    assert figures(at), page
    assert "LRU cell, φ" not in " ".join(c.value for c in at.caption)


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

"""minGRU and minLSTM on every explore page: each draws, and what it says is true of a
diagonal cell (no W_hh, no bound needed: the Jacobian is diag of the carry)."""

import numpy as np
import pytest

from app import compute
from app.state import Settings, cell_name
from app.views import unroll as uv
from engine import CELLS, Network, diagnostics
from tests.app.charts import figures, open_page

MIN_CELLS = ["mingru", "minlstm"]
CARRY_LABEL = {"mingru": "largest 1 − z_t", "minlstm": "largest f'_t"}
PAGES = ["screens/unroll.py", "screens/hidden.py", "screens/gates.py",
         "screens/gradients.py", "screens/chaos.py"]


@pytest.mark.parametrize("cell", MIN_CELLS)
@pytest.mark.parametrize("page", PAGES)
def test_every_page_draws_a_min_cell(cell, page):
    at = open_page(page, {"cell": cell, "T": "30", "hidden": "8", "layers": "2",
                          "radius": "0.9"})  # a radius in the link: no W_hh, ignored
    assert not at.error, [e.value for e in at.error]
    assert figures(at), page
    caption = " ".join(c.value for c in at.caption)
    # no activation to name: gates and a linear candidate (Edge of chaos names its own RNN's)
    assert f"{cell_name(cell)} cell, φ" not in caption and f"{cell.upper()} cell, φ" not in caption


@pytest.mark.parametrize("cell", MIN_CELLS)
def test_gradients_page_shows_the_exact_carry_not_a_bound(cell):
    at = open_page("screens/gradients.py", {"cell": cell, "T": "40", "hidden": "6",
                                            "seed": "4"})
    metric = next(m for m in at.metric if m.label == CARRY_LABEL[cell])
    net = Network(cell, 1, 6, seed=4)
    s = Settings(cell=cell, T=40, hidden=6, seed=4)
    x, _ = compute.signal_for(s)
    carry = diagnostics.diagonal_carry(net.run(x))
    assert float(metric.value) == pytest.approx(float(carry.max()), rel=2e-3)
    assert 0 < float(metric.value) < 1
    names = {t.get("name", "") for fig in figures(at) for t in fig["data"]}
    assert not any("bound" in n.lower() for n in names), names
    captions = " ".join(c.value for c in at.caption)
    assert "No bound is needed" in captions and "no W_hh" in captions
    assert not any("γ · σ_max" in m.label for m in at.metric)


def test_diagonal_carry_is_the_cells_own():
    x = np.random.default_rng(0).standard_normal((12, 2))
    gru = Network("mingru", 2, 3).run(x)
    np.testing.assert_allclose(diagnostics.diagonal_carry(gru),
                               1 - gru.pass_trace(0, 0).gates["z"])
    lstm = Network("minlstm", 2, 3).run(x)
    np.testing.assert_allclose(diagnostics.diagonal_carry(lstm),
                               lstm.pass_trace(0, 0).gates["f_prime"])
    with pytest.raises(ValueError, match="not diagonal"):
        diagnostics.diagonal_carry(Network("gru", 2, 3).run(x))


@pytest.mark.parametrize("cell", MIN_CELLS)
def test_gates_page_draws_the_gates_that_multiply(cell):
    at = open_page("screens/gates.py", {"cell": cell, "T": "20", "hidden": "4"})
    main = figures(at)[0]
    panels = [t["name"] for t in main["data"] if t.get("type") == "heatmap"]
    assert panels == list(CELLS[cell].shown_gates or CELLS[cell].gate_names)


def test_the_folded_loop_says_what_it_goes_through():
    def label(cell):
        return [a["text"] for a in uv.folded_figure(cell)["layout"]["annotations"]][-1]
    assert label("rnn") == "W<sub>hh</sub>" and label("lstm") == "W<sub>hh</sub>"
    assert "z" in label("mingru") and "f′" in label("minlstm") and "u" in label("indrnn")


def test_the_lab_offers_every_cell_it_can_train():
    from app import lab_state
    from engine import train

    assert tuple(lab_state.CELL_LABELS) == train.CELLS
    assert {"mingru", "minlstm"} <= set(train.CELLS)


def test_the_radius_slider_is_off_only_where_there_is_no_w_hh():
    """minGRU has no W_hh to rescale; Edge of chaos sweeps a tanh RNN of its own, whose
    radius the slider sets whatever the sidebar's cell."""
    for page, disabled in [("screens/gradients.py", True), ("screens/chaos.py", False)]:
        at = open_page(page, {"cell": "mingru", "radius": "0.9", "T": "20", "hidden": "8"})
        assert at.sidebar.slider(key="w_radius").disabled is disabled, page

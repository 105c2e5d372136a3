"""Labels that say what is drawn: Jordan's output row, the Edge of chaos equations."""


import numpy as np
import pytest

from app import compute
from app.state import Settings
from app.views import unroll as uv
from engine import Network
from tests.app.charts import open_page


def _nodes(fig: dict, name: str) -> dict:
    return next(t for t in fig["data"] if t.get("name") == name)


@pytest.mark.parametrize("layers,bidir", [(1, False), (2, False), (1, True)])
def test_jordan_unroll_shows_y_where_it_says_y(layers, bidir):
    s = Settings(cell="jordan", T=6, hidden=4, layers=layers, bidir=bidir, seed=2)
    run = compute.simulate(s)
    fig = uv.unroll_figure(run.passes, run.x, "jordan", "many-to-many")
    net = Network("jordan", run.x.shape[1], 4, layers, bidir, seed=2)
    trace = net.run(run.x.astype(np.float64))
    out = [t for t in fig["data"] if (t.get("name") or "").startswith("output y_t")][0]
    np.testing.assert_allclose(out["marker"]["color"], trace.output[:, 0], atol=6e-4)
    assert not np.allclose(trace.output[:, 0], trace.pass_trace(layers - 1).h[:, 0, 0],
                           atol=1e-2)  # h and y differ: the row shows the right one
    if layers > 1:  # a lower layer's y_t row holds that layer's output
        low = _nodes(fig, "y_t layer 1")
        np.testing.assert_allclose(low["marker"]["color"],
                                   trace.pass_trace(0).output[:, 0, 0], atol=6e-4)


def test_jordan_recurrent_arrows_leave_from_y_not_h():
    run = compute.simulate(Settings(cell="jordan", T=5, hidden=3))
    fig = uv.unroll_figure(run.passes, run.x, "jordan", "many-to-many")
    rows = {t["name"]: t["y"][0] for t in fig["data"]
            if t.get("name") in ("h_t", "output y_t (fed back)")}
    rec = _nodes(fig, "recurrent")
    starts = {round(y, 6) for y in rec["y"][0::3]}
    ends = {round(y, 6) for y in rec["y"][1::3]}
    assert rows["output y_t (fed back)"] > rows["h_t"]
    # arrows run from the y row down to h one step later (shortened at both ends)
    assert all(y > rows["h_t"] for y in starts) and all(y < rows["output y_t (fed back)"]
                                                        for y in ends)
    elman = compute.simulate(Settings(cell="rnn", T=5, hidden=3))
    rec = _nodes(uv.unroll_figure(elman.passes, elman.x, "rnn", "many-to-many"), "recurrent")
    assert len({round(y, 6) for y in rec["y"] if y is not None}) == 1  # h to h: level


def _chaos_latex(query: dict) -> str:
    return " ".join(x.value for x in open_page("screens/chaos.py", query).latex)


def test_edge_of_chaos_equations_follow_the_swept_quantity():
    by_gain = _chaos_latex({"hidden": "16", "T": "30"})
    assert r"g^2/H" in by_gain and r"\rho(W)" not in by_gain
    by_radius = _chaos_latex({"hidden": "16", "T": "30", "radius": "0.9"})
    assert r"\rho(W)" in by_radius and "g^2" not in by_radius
    lstm = _chaos_latex({"hidden": "16", "T": "30", "cell": "lstm"})
    assert "f_t" not in lstm and r"\varphi" in lstm  # the sweep's own tanh RNN, not the LSTM

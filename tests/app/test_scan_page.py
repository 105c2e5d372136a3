"""The Parallel scan page: its tree is the engine's (one bar per combine, over the span it
covers, coloured by the carry of that span), its counts are the scan's, and its states are
the network's own, by the loop and by the scan."""

import numpy as np
import pytest

from app import compute
from app.state import Settings
from app.views import scan as sv
from engine import Network, diagnostics, scan
from tests.app.charts import figures, open_page


@pytest.mark.parametrize("query", [{}, {"cell": "minlstm", "scan": "hillis_steele"},
                                   {"cell": "mingru", "T": "13", "units": "3", "seed": "5"},
                                   {"cell": "lstm", "T": "1"}, {"cell": "lru", "T": "20"}])
def test_the_page_draws_the_engines_scan(query):
    at = open_page("screens/scan.py", {"hidden": "8", **query})
    assert not at.error, [e.value for e in at.error]
    s, _ = Settings.from_query({"hidden": "8", **query})
    method = query.get("scan", "blelloch")
    pairs = compute.scan_pairs(s)
    T = len(pairs.a)
    assert T == min(s.T, compute.SCAN_STEPS)
    tree = figures(at)[0]["data"][0]
    nodes = scan.tree(T, method)
    assert len(tree["x"]) == T + len(nodes)  # the pairs, then one bar per combine
    spans = [(round(b + 0.42), round(b + 0.42 + w - 0.84)) for b, w in
             zip(tree["base"], tree["x"], strict=True)]
    assert spans == [(t, t) for t in range(T)] + [(n.lo, n.hi) for n in nodes]
    for (lo, hi), (clo, chi, memory) in zip(spans, tree["customdata"], strict=True):
        assert (clo, chi) == (lo, hi)
        assert memory == pytest.approx(np.log10(np.abs(np.prod(pairs.a[lo:hi + 1]))), abs=1e-9)
    _, cost = scan.scan(pairs.a, pairs.b, method=method)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Rounds (depth)"] == str(cost.rounds)
    assert metrics["Combines (work)"] == str(cost.combines)
    assert float(metrics["max |scan − loop|"]) < 1e-12


def test_the_pairs_are_the_networks_own_recurrence():
    s = Settings(cell="minlstm", hidden=6, T=20, seed=3, units="2")
    pairs = compute.scan_pairs(s)
    x, _ = compute.signal_for(s)
    trace = Network("minlstm", x.shape[1], 6, seed=3).run(x[:20])
    np.testing.assert_allclose(pairs.a, diagnostics.diagonal_carry(trace)[:, 0, 2])
    h, _ = scan.loop(pairs.a, pairs.b)
    np.testing.assert_allclose(h, trace.pass_trace(0, 0).h[:, 0, 2], rtol=1e-12, atol=1e-14)
    assert pairs.unit == 2 and pairs.cell == "minlstm"
    # a non-diagonal cell in the sidebar: the page explains it uses a minGRU instead
    at = open_page("screens/scan.py", {"cell": "gru", "hidden": "4"})
    assert compute.scan_pairs(Settings(cell="gru", hidden=4)).cell == "mingru"
    assert any("not diagonal" in c.value for c in at.caption)


def test_span_memory_is_the_carry_of_the_span():
    a = np.array([0.5, 0.1, 1.0, 0.0])
    assert sv.span_memory(a, 0, 0) == pytest.approx(np.log10(0.5))
    assert sv.span_memory(a, 0, 2) == pytest.approx(np.log10(0.05))
    assert sv.span_memory(a, 2, 3) == -np.inf  # a zero carry forgets everything before it
    fig = sv.tree_figure(a, "blelloch")
    assert np.isfinite(fig["data"][0]["marker"]["color"]).all()  # drawn at the scale's end


def test_a_deep_network_says_which_recurrence_is_scanned():
    at = open_page("screens/scan.py", {"cell": "mingru", "layers": "2", "bidir": "true",
                                       "hidden": "4"})
    assert any("layer 0, forward direction" in c.value for c in at.caption)
    at = open_page("screens/scan.py", {"cell": "mingru", "hidden": "4"})
    assert not any("layer 0" in c.value for c in at.caption)  # one recurrence: nothing to say


@pytest.mark.parametrize("method", ["blelloch", "hillis_steele"])
def test_the_tree_animates_the_forward_sweep_then_the_reverse_scan(method):
    T = 13
    a = np.linspace(0.3, 0.95, T)
    fig = sv.tree_figure(a, method)
    nodes = scan.tree(T, method)
    rounds = max(n.round for n in nodes) + 1
    first, *frames = fig["frames"]
    assert first["name"] == "all" and first["data"][0]["marker"]["opacity"] == [1.0] * (
        T + len(nodes))  # the figure as drawn before Play
    assert first["data"][0]["customdata"] == fig["data"][0]["customdata"]
    assert len(frames) == 2 * (rounds + 1)  # the pairs, then each round; forward, backward
    forward, backward = frames[:rounds + 1], frames[rounds + 1:]
    rows = [-1] * T + [n.round for n in nodes]
    for k, frame in enumerate(forward):  # round k-1 and before drawn, the rest faint
        opacity = frame["data"][0]["marker"]["opacity"]
        assert opacity == [1.0 if r <= k - 1 else sv.FAINT for r in rows]
    assert backward[-1]["data"][0]["marker"]["opacity"] == [1.0] * len(rows)
    spans = [(t, t) for t in range(T)] + [(n.lo, n.hi) for n in nodes]
    after = np.append(a[1:], 1.0)  # the reverse scan's carry at t is a_(t+1)
    for (lo, hi), (blo, bhi, memory) in zip(spans, backward[-1]["data"][0]["customdata"],
                                            strict=True):
        assert (blo, bhi) == (T - 1 - hi, T - 1 - lo)  # the same tree, from the end
        assert memory == pytest.approx(np.log10(np.prod(after[blo:bhi + 1])))
    assert fig["layout"]["updatemenus"] and fig["layout"]["sliders"]


def test_the_page_draws_the_animated_tree():
    at = open_page("screens/scan.py", {"hidden": "4"})
    tree = figures(at)[0]
    assert tree["frames"] and tree["frames"][-1]["name"].startswith("b")

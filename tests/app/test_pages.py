"""Every page through AppTest: defaults, changed controls, hostile URLs; no exceptions."""

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.app.charts import figures

MAIN = str(Path(__file__).resolve().parents[2] / "app" / "main.py")
PAGES = ["screens/unroll.py", "screens/hidden.py", "screens/gates.py",
         "screens/gradients.py", "screens/chaos.py", "screens/scan.py", "screens/recipe.py"]


def _run(page: str, query: dict | None = None) -> AppTest:
    at = AppTest.from_file(MAIN, default_timeout=60)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    at.switch_page(page)
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def test_default_page_is_unroll_with_true_defaults():
    at = AppTest.from_file(MAIN, default_timeout=60)
    at.run()
    assert not at.exception and figures(at)
    assert at.title[0].value == "Unroll"


@pytest.mark.parametrize("page", PAGES)
def test_page_renders_small(page):
    query = {"T": "20", "hidden": "8"}
    if "gates" in page:
        query["cell"] = "lstm"  # the default Elman cell has no gates to draw
    at = _run(page, query)
    assert figures(at), "no chart"
    assert at.latex, "no equations"
    assert not at.error


def test_gates_page_explains_cells_without_gates_and_draws_lstm_gates():
    """Issue 13: a visitor who clicks Gates with the default Elman cell sees a chart, not
    only a note: the slope phi'(a_t) that gates its gradient, and an LSTM's and a GRU's
    gates on the same input."""
    at = _run("screens/gates.py", {"T": "15", "hidden": "4"})
    assert any("no gates" in m.value for m in at.markdown)
    figs = figures(at)
    assert [t.get("name") for t in figs[0]["data"] if t["type"] == "heatmap"] == ["φ'h", "h"]
    assert [t.get("name") for t in figs[1]["data"] if t["type"] == "heatmap"] == ["f", "z"]
    at.sidebar.selectbox(key="w_cell").set_value("lstm").run()
    assert not at.exception
    names = [t.get("name") for t in figures(at)[0]["data"]]
    assert {"i", "f", "g", "o", "c"} <= set(names)


@pytest.mark.parametrize("cell,act,panels", [
    ("rnn", "sigmoid", ["φ'h", "h"]), ("indrnn", "relu", ["φ'h", "h"]),
    ("jordan", "tanh", ["φ'h", "φ'y", "h", "y"]), ("gru", "tanh", ["r", "z", "n"])])
def test_gates_page_draws_a_chart_for_every_cell(cell, act, panels):
    at = _run("screens/gates.py", {"T": "12", "hidden": "3", "cell": cell, "act": act})
    main = figures(at)[0]
    assert [t.get("name") for t in main["data"] if t["type"] == "heatmap"] == panels
    if cell != "gru":  # the slope panel spans 0..gamma, gamma = max phi'
        slope = next(t for t in main["data"] if t.get("name") == "φ'h")
        assert slope["zmin"] == 0 and slope["zmax"] == (0.25 if act == "sigmoid" else 1.0)


def test_changing_controls_updates_charts_and_url():
    at = _run("screens/gradients.py", {"T": "20", "hidden": "8"})
    at.sidebar.slider(key="w_T").set_value(30).run()
    at.sidebar.selectbox(key="w_cell").set_value("gru").run()
    at.sidebar.radio(key="w_clip").set_value("norm").run()
    assert not at.exception
    assert at.query_params["T"] == ["30"] or at.query_params["T"] == "30"
    assert len(figures(at)[0]["data"][0]["x"]) == 30
    assert "clipping" in json.dumps(figures(at)[-1])


@pytest.mark.parametrize("page", ["screens/hidden.py", "screens/gradients.py"])
def test_hostile_url_opens_clamped_with_a_warning(page):
    at = _run(page, {"hidden": "99999", "cell": "<script>", "T": "-5", "layers": "abc",
                     "threshold": "-1", "units": "1e9"})
    text = " ".join(w.value for w in at.warning)
    assert "hidden" in text and "<script>" in text and "T=" in text
    assert at.sidebar.slider(key="w_hidden").value == 256
    assert figures(at)


def test_engine_errors_show_as_st_error_not_traceback():
    at = _run("screens/hidden.py", {"signal": "sequence", "seq": "1,2\n3\n"})
    assert at.error and "line 2" in at.error[0].value


def test_overflow_is_reported_not_crashed():
    at = _run("screens/gradients.py", {"T": "400", "hidden": "8", "act": "identity",
                                       "init": "orthogonal", "gain": "10", "signal": "sum"})
    assert any("Overflow" in w.value for w in at.warning)
    spec = figures(at)[0]
    assert "overflow at t" in json.dumps(spec)


def test_states_beyond_float32_are_explained_not_left_blank_silently():
    """A ReLU network with W_hh = 3I grows like 3^t: past float32's 3.4e38 (t = 137 here)
    long before float64's 1.8e308. The engine reports no overflow, the charts cannot draw
    those cells, and the page says why."""
    at = _run("screens/hidden.py", {"T": "200", "act": "relu", "init": "identity",
                                     "gain": "3", "signal": "step"})
    notes = [w.value for w in at.warning if "float32" in w.value]
    assert len(notes) == 1 and "From step t = " in notes[0]
    assert not any("Overflow" in w.value for w in at.warning)
    ok = _run("screens/hidden.py", {"T": "60", "act": "relu", "init": "identity",
                                     "gain": "3", "signal": "step"})
    assert not any("float32" in w.value for w in ok.warning)


@pytest.mark.parametrize("query", [{"radius": "0.005"},
                                   {"bidir": "1", "truncate": "5", "T": "30"}])
def test_more_hostile_urls_open_without_a_traceback(query):
    at = AppTest.from_file(MAIN, default_timeout=120)
    at.query_params.update(query)
    at.run()
    assert not at.exception

"""Interventions on the explore pages: a link's ``iv`` reaches the engine, each page draws
what it changed beside the unmodified run, the sidebar composes it, bad ones are named."""

import numpy as np
import pytest

from app import compute
from app.state import Settings, format_intervention, parse_intervention
from engine import Intervention
from tests.app.charts import figures, open_page

EXPLORE = ["screens/unroll.py", "screens/hidden.py", "screens/gates.py",
           "screens/gradients.py", "screens/chaos.py"]


def _effects(at) -> list[dict]:
    return [f for f in figures(at) if f["data"] and f["data"][0].get("name") == "‖Δh_t‖"]


def _effect(at) -> dict:
    found = _effects(at)
    assert len(found) == 1, f"{len(found)} intervention charts"
    return found[0]


@pytest.mark.parametrize("page", EXPLORE)
def test_every_explore_page_draws_what_a_clamp_changed(page):
    at = open_page(page, {"iv": "clamp@20,u=0,v=0", "T": "40", "hidden": "8"})
    fig = _effect(at)
    delta = np.array([np.nan if v is None else v for v in fig["data"][0]["y"]], dtype=float)
    assert np.all(delta[:20] == 0) and delta[20] > 0  # nothing moves before the clamp
    assert fig["layout"]["shapes"][0]["x0"] == 20
    assert not at.warning


def test_the_pages_numbers_are_the_intervened_engines():
    s, _ = Settings.validated({"cell": "lstm", "iv": "gate@10,g=f,v=1", "T": "30"})
    run = compute.simulate(s)
    net, x, _ = compute.network_and_input(s)
    iv = Intervention("gate", 10, value=1.0, gate="f")
    trace = net.run(x, interventions=[iv])
    grads = trace.backward(_last_seed(trace))
    assert np.allclose(run.hidden_norm[0, 0], grads.hidden_norm[0, 0])
    assert np.all(run.passes[0][0].gates["f"][10] == 1.0)
    base = net.run(x).backward(_last_seed(trace))
    assert np.allclose(run.base.hidden_norm[0, 0], base.hidden_norm[0, 0])
    assert run.intervention == iv


def _last_seed(trace):
    from engine.signals import loss_seed

    return loss_seed(trace.output.shape, "last")


@pytest.mark.parametrize("text", ["clamp@10,u=3,v=0", "gate@20,g=f,v=1", "zero_input@5",
                                  "pulse@3,u=1,v=-0.5", "clamp@4,v=0.25,l=1"])
def test_the_url_form_reads_back_what_it_wrote(text):
    assert format_intervention(parse_intervention(text)) == text


@pytest.mark.parametrize("query, says", [
    ({"iv": "gate@3,g=f,v=1"}, "no gate 'f'"),
    ({"iv": "clamp@99,u=0"}, "outside 0..49"),
    ({"iv": "<script>@1"}, "not kind@step"),
    ({"iv": "clamp@1,u=0,v=nan"}, "finite"),
    ({"iv": "clamp@2,u=1", "cell": "mingru"}, "clamp applies"),
])
def test_a_bad_intervention_is_left_out_with_a_notice_naming_why(query, says):
    at = open_page("screens/hidden.py", query)
    assert any(says in w.value for w in at.warning), [w.value for w in at.warning]
    assert not _effects(at)


def test_a_typed_sequence_shorter_than_the_step_leaves_it_out_with_a_notice():
    at = open_page("screens/gradients.py", {"signal": "sequence", "iv": "clamp@10,u=0"})
    assert any("intervention is left out" in w.value for w in at.warning)


def test_the_sidebar_composes_the_intervention_and_the_link_keeps_it():
    at = open_page("screens/gates.py", {"cell": "gru", "T": "30"})
    at.selectbox(key="w_iv_kind").set_value("gate").run()
    at.number_input(key="w_iv_step").set_value(12).run()
    at.radio(key="w_iv_gate").set_value("z").run()
    at.number_input(key="w_iv_value").set_value(1.0).run()
    assert not at.exception
    assert at.query_params["iv"] == "gate@12,g=z,v=1"
    fig = _effect(at)
    assert fig["layout"]["shapes"][0]["x0"] == 12
    at.selectbox(key="w_iv_kind").set_value("none").run()
    assert "iv" not in at.query_params
    assert not _effects(at)


@pytest.mark.parametrize("page, name", [("screens/hidden.py", "unit 0 unmodified"),
                                        ("screens/gradients.py", "without the intervention")])
def test_the_main_chart_draws_the_unmodified_run_beside_the_intervened_one(page, name):
    at = open_page(page, {"iv": "pulse@15,u=0,v=2", "T": "40"})
    traces = [tr for f in figures(at) for tr in f["data"] if tr.get("name") == name]
    assert len(traces) == 1 and traces[0]["line"]["dash"] == "dash"


def test_a_deep_networks_output_difference_is_drawn_too():
    at = open_page("screens/hidden.py", {"iv": "pulse@10,u=0,v=1", "layers": "2", "T": "30"})
    names = [tr["name"] for tr in _effect(at)["data"]]
    assert "‖Δ output_t‖ (top layer)" in names
    at = open_page("screens/gates.py", {"cell": "s6", "iv": "zero_input@7", "T": "30"})
    delta = _effect(at)["data"][1]
    assert delta["name"] == "‖Δ output_t‖ (top layer)" and max(delta["y"]) > 0


def test_edge_of_chaos_kicks_the_sweeps_own_network_at_your_gain():
    """A pulse into the starred network: it dies out on the ordered side and stays on the
    chaotic side, whatever the sidebar's cell; a gate it does not have is said."""
    tail = {}
    for gain in ("0.5", "2"):
        at = open_page("screens/chaos.py", {"iv": "pulse@20,u=0,v=1", "T": "120",
                                            "gain": gain, "cell": "lstm"})
        delta = [v for v in _effect(at)["data"][0]["y"] if v is not None]
        tail[gain] = float(np.mean(delta[-20:]))
    assert tail["0.5"] < 1e-3 < 0.5 < tail["2"]
    at = open_page("screens/chaos.py", {"iv": "gate@20,g=f,v=1", "cell": "lstm"})
    assert any("does not apply to the sweep's network" in i.value for i in at.info)
    assert not _effects(at)


def test_a_links_intervention_in_a_deeper_layer_stays_in_that_layer():
    text = "pulse@3,u=1,v=0.5,l=1"
    at = open_page("screens/hidden.py", {"layers": "2", "iv": text})
    assert at.session_state["settings"].iv == text  # the sidebar's widgets kept l=1
    assert at.query_params["iv"] == [text] or at.query_params["iv"] == text
    assert at.session_state["w_iv_layer"] == 1
    at.session_state["w_iv_layer"] = 0  # the sidebar's "In layer" box
    at.run()
    assert at.session_state["settings"].iv == "pulse@3,u=1,v=0.5"

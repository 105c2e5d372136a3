"""The equations with the network's numbers: the Gradients page's chain at a step and the
Unroll page's forward step print the engine's numbers for the page's own network, and a
bound appears only beside what it bounds."""

import pytest

from app import compute, equations
from app.state import Settings
from engine import explain
from tests.app.charts import open_page


def _chain_block(at) -> str:
    return next(e.value for e in at.latex if r"\partial L /" in e.value
                and "aligned" in e.value)


@pytest.mark.parametrize("query", [{}, {"cell": "lstm", "T": "80"},
                                   {"cell": "rnn", "act": "relu", "loss": "every", "T": "40"},
                                   {"cell": "mingru"}, {"cell": "gru", "layers": "2"}])
def test_the_chain_prints_the_engines_numbers(query):
    at = open_page("screens/gradients.py", query)
    at.slider(key="w_chain_t").set_value(7).run()
    assert not at.exception
    s = Settings.from_query(dict(query))[0]
    trace, grads = compute._traced(s.physics())
    chain = explain.backward_chain(trace, grads, 7)
    block = _chain_block(at)
    assert explain.fmt(chain.grad_norm) in block and explain.fmt(chain.step_norm) in block
    # Pascanu's bound is written only for the cells it covers
    assert (r"\sigma_{\max}(W_{hh})\right)^{" in block) == (s.cell == "rnn")
    if chain.product is not None:
        assert explain.fmt(chain.product) in block


def test_the_latex_names_the_gradients_entry():
    s = Settings.from_query({"cell": "rnn", "loss": "every", "T": "30"})[0]
    trace, grads = compute._traced(s.physics())
    every = equations.chain_latex(explain.backward_chain(trace, grads, 3), "rnn", "h")
    assert r"\sum_{s \ge t}" in every  # the sum over entries, not Pascanu's single product
    s = Settings.from_query({"cell": "rnn", "T": "30"})[0]
    trace, grads = compute._traced(s.physics())
    last = equations.chain_latex(explain.backward_chain(trace, grads, 3), "rnn", "h")
    assert r"\sum_{s \ge t}" not in last and r"\|\partial L / \partial h_{T-1}\|" in last


def test_a_product_too_costly_is_said_not_drawn():
    s = Settings.from_query({"cell": "rnn", "T": "400", "hidden": "128"})[0]
    trace, grads = compute._traced(s.physics())
    chain = explain.backward_chain(trace, grads, 2, max_steps=50)
    assert chain.product is None
    assert "not multiplied out" in equations.chain_latex(chain, "rnn", "h")


@pytest.mark.parametrize("query", [{}, {"cell": "lstm", "units": "4"},
                                   {"cell": "lru", "units": "2"}, {"cell": "jordan"}])
def test_the_unroll_step_is_the_forward_pass(query):
    at = open_page("screens/unroll.py", query)
    at.slider(key="w_step_t").set_value(6).run()
    assert not at.exception
    s = Settings.from_query(dict(query))[0]
    net, x, _ = compute.network_and_input(s.physics())
    pt = net.run(x).pass_trace()
    unit = s.chosen_units()[0]
    block = next(e.value for e in at.latex if "aligned" in e.value and "_{t,j}" in e.value)
    assert block.rstrip("$ \n").endswith(explain.fmt(complex(pt.state[6, 0, unit])
                                                     if s.cell == "lru"
                                                     else float(pt.state[6, 0, unit]))
                                         + r"\end{aligned}")
    assert any(f"Unit j = {unit}" in c.value for c in at.caption)


def test_the_step_stays_inside_a_shorter_sequence_and_a_single_step_has_no_slider():
    at = open_page("screens/gradients.py", {"T": "60"})
    at.slider(key="w_chain_t").set_value(55).run()
    at.sidebar.slider(key="w_T").set_value(20).run()
    assert not at.exception
    assert at.slider(key="w_chain_t").value == 19
    at = open_page("screens/gradients.py", {"T": "1"})
    assert not any(w.key == "w_chain_t" for w in at.slider)
    assert any(r"\partial L /" in e.value for e in at.latex)

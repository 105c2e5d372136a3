"""The Elman-to-LRU page: every combination of switches draws the engine's numbers under
labels that say what they are, the switches keep their order, and the URL carries them."""

import numpy as np
import pytest

from app import compute
from app.state import Settings
from engine.lru_recipe import SWITCHES, Recipe, recipe_run
from engine.signals import loss_seed
from tests.app.charts import figures, open_page

COMBOS = ["", "linear", "linear,diagonal", "linear,diagonal,complex", "linear,diagonal,exp",
          "linear,diagonal,complex,exp", "linear,diagonal,exp,normalise",
          ",".join(SWITCHES)]


@pytest.mark.parametrize("recipe", COMBOS)
@pytest.mark.parametrize("extra", [{}, {"loss": "every", "act": "relu", "gain": "1.6",
                                        "init": "gaussian", "seed": "7", "signal": "noise"}])
def test_every_combination_draws_the_engines_gradient(recipe, extra):
    query = {"T": "30", "hidden": "8", "recipe": recipe, **extra}
    at = open_page("screens/recipe.py", query)
    assert not at.error, [e.value for e in at.error]
    s, notices = Settings.from_query(query)
    assert not notices and s.recipe == recipe
    x, _ = compute.signal_for(s)
    from engine import Network
    net = Network("rnn", input_size=x.shape[1], hidden_size=8, activation=s.act,
                  init=s.init, gain=s.gain, seed=s.seed)
    on = Recipe(**{k: True for k in s.recipe_switches()})
    want = recipe_run(net, x, loss_seed((30, 8), s.loss), on, seed=s.seed)
    figs = figures(at)
    curve = figs[0]["data"][-1]
    state = "z" if on.diagonal else "h"
    assert curve["name"].endswith(f"‖∂L/∂{state}_t‖")
    drawn = np.array([np.nan if v is None else v for v in curve["y"]], dtype=float)
    np.testing.assert_allclose(drawn, want.state_grad_norm, rtol=1e-12)
    if recipe:  # the Elman start, dashed, beside it
        start = recipe_run(net, x, loss_seed((30, 8), s.loss), Recipe(), seed=s.seed)
        np.testing.assert_allclose(figs[0]["data"][0]["y"], start.state_grad_norm, rtol=1e-12)
    eig = figs[1]["data"][0]
    np.testing.assert_allclose(eig["x"], want.lam.real, atol=1e-12)
    np.testing.assert_allclose(eig["y"], want.lam.imag, atol=1e-12)
    if on.diagonal:
        dots = figs[2]["data"][0]
        assert ("ν_j" if on.exp else "|λ_j|") in dots["name"]
        np.testing.assert_allclose([v or 0.0 for v in dots["y"]],
                                   np.where(want.magnitude_grad > 0, want.magnitude_grad, 0),
                                   rtol=1e-12)
    metrics = {m.label: m.value for m in at.metric}
    if on.complex and not on.exp:  # the linear RNN in eigen-coordinates: the same outputs
        assert float(metrics["max |y − y of the linear RNN|"]) < 1e-9
    toggles = {t.key: t.value for t in at.toggle if t.key and t.key.startswith("w_rc_")}
    assert toggles == {f"w_rc_{k}": k in s.recipe_switches() for k in SWITCHES}


def test_a_switch_brings_what_it_needs_and_takes_what_needs_it():
    at = open_page("screens/recipe.py", {"T": "20", "hidden": "6"})
    at.toggle(key="w_rc_normalise").set_value(True).run()
    assert not at.exception
    on = {k for k in SWITCHES if at.toggle(key=f"w_rc_{k}").value}
    assert on == {"linear", "diagonal", "exp", "normalise"}
    assert at.query_params["recipe"] == "linear,diagonal,exp,normalise"
    at.toggle(key="w_rc_complex").set_value(True).run()
    at.toggle(key="w_rc_diagonal").set_value(False).run()
    assert not at.exception
    assert [k for k in SWITCHES if at.toggle(key=f"w_rc_{k}").value] == ["linear"]


@pytest.mark.parametrize("bad", ["tanh,exp", "<script>", "normalise" * 40])
def test_a_hostile_recipe_in_the_url(bad):
    s, notices = Settings.from_query({"recipe": bad})
    assert set(s.recipe_switches()) <= set(SWITCHES)
    if bad == "tanh,exp":  # the known one kept, with what it needs
        assert s.recipe == "linear,diagonal,exp" and notices
    at = open_page("screens/recipe.py", {"recipe": bad, "T": "10", "hidden": "4"})
    assert not at.error


def test_an_exploding_linear_network_says_so():
    at = open_page("screens/recipe.py", {"recipe": "linear", "gain": "6", "T": "1000",
                                         "hidden": "16", "init": "gaussian"})
    assert any("Overflow" in w.value for w in at.warning)
    assert not at.error


def test_presenter_view_shows_the_gradient_chart_alone():
    at = open_page("screens/recipe.py", {"recipe": "linear,diagonal", "present": "1"})
    assert len(figures(at)) == 1 and not at.toggle

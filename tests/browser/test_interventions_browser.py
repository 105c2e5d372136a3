"""Interventions in a real browser (issue 15): chosen in the sidebar, the Gradients page
draws the intervened network's gradient (the engine's numbers) beside the unmodified one,
the link keeps it, and a fresh visitor opening that link sees the same."""

import numpy as np

from app import compute
from app.state import Settings
from engine import Intervention
from engine.signals import loss_seed
from tests.browser.conftest import ARTIFACTS, layout_problems, wait_chart, wait_idle

EFFECT = ".st-key-intervention_effect .js-plotly-plot"


def _engine_norms(cell: str, T: int, iv: Intervention) -> np.ndarray:
    net, x, _ = compute.network_and_input(Settings(cell=cell, T=T))
    trace = net.run(x, interventions=[iv])
    return trace.backward(loss_seed(trace.output.shape, "last")).hidden_norm[0, 0]


def test_forcing_the_forget_gate_from_the_sidebar_redraws_the_gradient(page):
    page.set_viewport_size({"width": 1280, "height": 720})
    page.goto(f"{page.base}/gradients?cell=lstm&T=60")
    wait_chart(page)
    sidebar = page.locator("[data-testid='stSidebar']")
    sidebar.get_by_text("At one step").scroll_into_view_if_needed()
    sidebar.locator(".st-key-w_iv_kind").click()
    page.get_by_role("option", name="force a gate").click()
    step = sidebar.locator(".st-key-w_iv_step input")
    step.wait_for(timeout=30_000)
    step.fill("30")
    step.press("Enter")
    wait_idle(page)
    value = sidebar.locator(".st-key-w_iv_value input")
    value.fill("0")
    value.press("Enter")
    page.locator(EFFECT).wait_for(timeout=60_000)
    wait_idle(page)
    assert "iv=gate%4030%2Cg%3Di%2Cv%3D0" in page.url or "iv=gate@30,g=i,v=0" in page.url
    drawn = page.evaluate(f"() => document.querySelector('{EFFECT}').data[1].y")
    want = _engine_norms("lstm", 60, Intervention("gate", 30, value=0.0, gate="i"))
    np.testing.assert_allclose(np.array(drawn, dtype=float), want, rtol=1e-5)
    assert page.locator("[data-testid='stException']").count() == 0
    page.screenshot(path=str(ARTIFACTS / "intervention_sidebar.png"), full_page=True)


def test_a_link_with_a_clamp_opens_with_it_on_the_hidden_page(page):
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(f"{page.base}/hidden?iv=clamp@25,u=0,v=1&T=50")
    wait_chart(page)
    page.locator(EFFECT).wait_for(timeout=60_000)
    wait_idle(page)
    delta = page.evaluate(f"() => document.querySelector('{EFFECT}').data[0].y")
    delta = np.array([np.nan if v is None else v for v in delta], dtype=float)
    assert np.all(delta[:25] == 0) and delta[25] > 0.5
    names = page.evaluate("() => document.querySelector('.st-key-hidden_state .js-plotly-plot')"
                          ".data.map(d => d.name)")
    assert "unit 0 unmodified" in names
    assert page.locator("[data-testid='stSidebar'] .st-key-w_iv_step input").input_value() == "25"
    assert not layout_problems(page)

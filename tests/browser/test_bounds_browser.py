"""In Chromium, on the live Gradients page: every drawn bound lies on or above its curve
(read from the drawn traces, ``gd.data``), over settings nobody tuned to."""

from urllib.parse import urlencode

import pytest

from tests.browser.conftest import ARTIFACTS, wait_chart

SETTINGS = [
    # tour scene 5 with a loss at every step: the old line drew 1.7e-18 under 1.04
    {"act": "sigmoid", "T": "60", "init": "orthogonal", "gain": "2", "loss": "every"},
    {"layers": "2", "layer": "0", "act": "identity", "init": "orthogonal", "gain": "0.9",
     "loss": "every"},
    {"cell": "jordan", "loss": "every", "T": "40"},
    {"cell": "indrnn", "act": "relu", "layers": "3", "layer": "1", "T": "35"},
    {"bidir": "1", "layers": "2", "layer": "1", "signal": "noise", "seed": "7"},
]

# Each chart's traces by name, as plotly.js holds them after drawing.
TRACES_JS = """() => Array.from(document.querySelectorAll('.js-plotly-plot')).map(gd =>
  (gd.data || []).map(t => ({name: t.name || '', y: Array.from(t.y || [])})))"""


def _pairs(chart: list[dict]) -> list[tuple[list, list]]:
    curve = next((t["y"] for t in chart if t["name"].startswith("‖∂")), None)
    bounds = [t["y"] for t in chart if "bound" in t["name"] or t["name"].startswith("Pascanu")]
    return [(curve, b) for b in bounds if curve is not None]


@pytest.mark.parametrize("query", SETTINGS, ids=lambda q: urlencode(q))
def test_drawn_bounds_hold_on_the_live_page(page, query):
    page.goto(f"{page.base}/gradients?{urlencode(query)}")
    wait_chart(page)
    page.wait_for_function("document.querySelectorAll('.js-plotly-plot').length >= 2",
                           timeout=60_000)
    charts = page.evaluate(TRACES_JS)
    checked = 0
    for chart in charts[:2]:  # the main chart and the Jacobian product
        for curve, bound in _pairs(chart):
            for c, b in zip(curve, bound, strict=True):
                if c is not None and b is not None:
                    assert b >= c * (1 - 1e-9), (query, b, c)
                    checked += 1
    assert checked > 20, (query, [[t["name"] for t in c] for c in charts[:2]])


def test_gradients_page_screenshots(browser, server):
    """For looking at: the page at a projector's size and a laptop's."""
    ARTIFACTS.mkdir(exist_ok=True)
    for w, h in ((1280, 720), (1440, 900)):
        context = browser.new_context(viewport={"width": w, "height": h})
        pg = context.new_page()
        pg.goto(f"{server}/gradients?loss=every&layers=2&truncate=12")
        wait_chart(pg)
        pg.wait_for_timeout(800)
        pg.screenshot(path=str(ARTIFACTS / f"gradients-{w}x{h}.png"), full_page=True)
        assert not pg.query_selector("[data-testid='stException']")
        context.close()

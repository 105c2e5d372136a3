"""The first paint in Chromium (app/first_paint.py): a link a run has drawn shows its main
chart before Streamlit boots, the same figure the page then draws, and gives way to it; where
its plotly.js fails, the page loads as it did without it."""

from __future__ import annotations

import urllib.request

import pytest

from tests.browser.conftest import ARTIFACTS, layout_problems, wait_chart

OVERLAY_DRAWN = """() => { const gd = document.querySelector('#unrolled-first .js-plotly-plot');
  return !!(gd && gd._fullData && gd.querySelector('.main-svg .trace')); }"""
PAGE_DRAWN = """() => { const gd = document.querySelector('.unrolled-plot.js-plotly-plot');
  return !!(gd && gd._fullData && gd.querySelector('.main-svg .trace')); }"""
DATA = """(sel) => JSON.stringify(document.querySelector(sel).data.map(
  (t) => [t.type, t.name, t.x, t.y, t.z]))"""


def _html(url: str) -> str:
    with urllib.request.urlopen(url, timeout=30) as r:
        return r.read().decode()


@pytest.mark.parametrize("size", [(1280, 720), (1440, 900)])
def test_a_drawn_link_paints_its_chart_first_and_gives_way_to_the_page(browser, server, size):
    view = f"{server}/gradients?cell=gru&T=61&seed={size[0]}"  # opened by no other test
    ARTIFACTS.mkdir(exist_ok=True)
    assert 'id="unrolled-first"' not in _html(view)  # nothing drawn yet: Streamlit's page
    first = browser.new_context(viewport={"width": size[0], "height": size[1]})
    pg = first.new_page()
    pg.goto(view)
    wait_chart(pg)
    first.close()
    assert 'id="unrolled-first"' in _html(view)

    context = browser.new_context(viewport={"width": size[0], "height": size[1]})
    try:
        pg = context.new_page()
        errors = []
        pg.on("pageerror", lambda e: errors.append(str(e)))
        pg.goto(view, wait_until="commit")
        pg.wait_for_function(OVERLAY_DRAWN, timeout=30_000, polling="raf")
        # drawn before Streamlit's frontend has put anything on the page
        assert pg.evaluate("() => document.querySelector('h1, [data-testid=stSidebar]')") is None
        painted = pg.evaluate(DATA, "#unrolled-first .js-plotly-plot")
        pg.screenshot(path=str(ARTIFACTS / f"first_paint_{size[0]}x{size[1]}.png"))
        box = pg.locator("#unrolled-first .js-plotly-plot").bounding_box()
        assert box["y"] + 250 <= size[1]  # its chart within the first screen
        pg.wait_for_function(PAGE_DRAWN, timeout=60_000, polling="raf")
        # it gives way as the page's own chart draws, not on a timer
        pg.wait_for_function("() => !document.getElementById('unrolled-first')", timeout=1_000)
        wait_chart(pg)
        assert pg.evaluate(DATA, ".unrolled-plot.js-plotly-plot") == painted  # the same chart
        assert pg.locator("[data-testid='stException']").count() == 0 and not errors
        assert not layout_problems(pg)
    finally:
        context.close()


@pytest.mark.parametrize("answer", ["404", "never"])
def test_a_first_paint_whose_plotly_js_fails_leaves_the_page_to_load_as_before(
        browser, server, answer):
    view = f"{server}/hidden?T=29&hidden=5&seed=3"
    if 'id="unrolled-first"' not in _html(view):
        context = browser.new_context()
        pg = context.new_page()
        pg.goto(view)
        wait_chart(pg)  # drawn once: its HTML has a first paint now
        context.close()
    assert 'id="unrolled-first"' in _html(view)
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        pending = []  # "never": the request is left hanging (Streamlit starts after 4 s)
        context.route("**/unrolled/**", (lambda route: route.fulfill(status=404))
                      if answer == "404" else (lambda route: pending.append(route)))
        pg = context.new_page()
        pg.goto(view, wait_until="commit")
        if answer == "404":  # gone at once: Streamlit's page shows as it always did
            pg.wait_for_selector("h1", timeout=60_000)
            assert pg.evaluate("() => document.getElementById('unrolled-first')") is None
        pg.wait_for_function(PAGE_DRAWN, timeout=60_000, polling="raf")
        pg.wait_for_function("() => !document.getElementById('unrolled-first')", timeout=1_000)
        assert pg.locator(".unrolled-plot-error:not([hidden])").count() == 0
        assert pg.locator("[data-testid='stException']").count() == 0
    finally:
        context.close()

"""The app in real Chromium: every page renders, Play animates, sliders redraw, the URL
round-trips, and nothing leaves the machine."""

from __future__ import annotations

import re
from urllib.parse import urlparse

import pytest

from tests.browser.conftest import ARTIFACTS, layout_problems, wait_chart, wait_idle

PAGES = {"": "Unroll", "hidden": "Hidden state", "gates": "Gates",
         "gradients": "Gradients through time", "chaos": "Edge of chaos",
         "scan": "Parallel scan", "recipe": "From Elman to LRU"}
LOCAL = {"127.0.0.1", "localhost"}
T_SLIDER = "[data-testid='stSidebar'] input[type='range'][aria-label='Sequence length T']"


def _local_only(page) -> None:
    hosts = {urlparse(u).hostname for u in page.requests if not u.startswith(("data:", "blob:"))}
    assert hosts <= LOCAL, f"requests left the machine: {hosts - LOCAL}"


def _chart_x_len(page, index: int = 0) -> int:
    return page.evaluate(
        "i => document.querySelectorAll('.js-plotly-plot')[i].data[0].x.length", index)


def test_every_page_renders_offline(page):
    for path, title in PAGES.items():
        query = "?cell=lstm&T=40&hidden=16" if path == "gates" else "?T=40&hidden=16"
        page.goto(f"{page.base}/{path}{query}")
        wait_chart(page)
        page.wait_for_timeout(400)
        assert page.locator("h1", has_text=title).count() == 1
        assert page.locator("[data-testid='stException']").count() == 0
        assert page.locator(".js-plotly-plot").count() >= 1
        page.screenshot(path=str(ARTIFACTS / f"browser_{path or 'unroll'}.png"))
    _local_only(page)


def test_play_advances_frames(page):
    page.goto(f"{page.base}/hidden?T=30&hidden=8")
    wait_chart(page)
    cursor = ("() => { const d = document.querySelector('.js-plotly-plot').data;"
              " return d[d.length - 3].x[0]; }")  # the heatmap's time cursor
    assert page.evaluate(cursor) == 0
    current = page.locator(".unrolled-current").first
    assert current.text_content() == "t = 0"
    page.locator(".unrolled-play").first.click()
    page.wait_for_function(cursor.replace("return d", "return 5 < d"), timeout=15_000)
    page.locator(".unrolled-pause").first.click()
    page.wait_for_timeout(300)
    stopped = page.evaluate(cursor)
    page.wait_for_timeout(500)
    assert page.evaluate(cursor) == stopped  # Pause stopped it
    assert current.text_content() == f"t = {stopped}"  # the bar followed the frames
    # the heatmap must survive the animation (plotly's redraw=False path blanks it)
    assert page.locator(".js-plotly-plot .heatmaplayer image").count() >= 1
    page.screenshot(path=str(ARTIFACTS / "browser_hidden_playing.png"))
    page.locator(".unrolled-step").first.fill("3")  # the step slider jumps to a frame
    page.wait_for_function(cursor.replace("return d", "return 3 === d"), timeout=10_000)
    assert current.text_content() == "t = 3"
    _local_only(page)


# Each element Streamlit marks stale while a rerun is under way, as it is marked: its opacity
# and transition (app/plot.py turns the fade off: it cost paints on every slider change).
STALE_WATCH = """() => {
  window.__stale = [];
  window.__staleWatch = new MutationObserver((changes) => {
    for (const c of changes) {
      if (c.target.getAttribute('data-stale') !== 'true') continue;
      const s = getComputedStyle(c.target);
      window.__stale.push(s.opacity + ' ' + s.transitionDuration);
    }
  });
  window.__staleWatch.observe(document.body,
    {attributes: true, subtree: true, attributeFilter: ['data-stale']});
}"""


def test_unchanged_elements_do_not_fade_during_a_slow_rerun(page):
    """A rerun long enough (T=1000, H=256) that Streamlit marks the page's elements stale
    before their new versions arrive; each one is checked as it is marked."""
    page.goto(f"{page.base}/hidden?T=1000&hidden=256")
    wait_chart(page)
    lines = "() => document.querySelector('.js-plotly-plot').data[1].x.length"
    assert page.evaluate(lines) == 1000
    page.evaluate(STALE_WATCH)
    page.locator(T_SLIDER).focus()
    page.keyboard.press("ArrowLeft")
    page.wait_for_function(lines.replace(".length", ".length === 999"), timeout=60_000)
    stale = page.evaluate("() => { window.__staleWatch.disconnect(); return window.__stale; }")
    assert stale, "no element was ever waiting for the rerun: nothing checked"
    assert set(stale) == {"1 0s"}, f"unchanged elements faded during the rerun: {set(stale)}"
    _local_only(page)


def test_slider_change_redraws_and_url_round_trips(page):
    page.goto(f"{page.base}/hidden?T=30&hidden=8")
    wait_chart(page)
    assert _chart_x_len(page) == 30
    graph = page.evaluate_handle("() => document.querySelector('.js-plotly-plot')")
    thumb = page.locator(T_SLIDER)
    assert thumb.input_value() == "30"
    thumb.focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    wait_chart(page)
    page.wait_for_function(
        "() => document.querySelector('.js-plotly-plot').data[0].x.length === 32",
        timeout=30_000)
    page.wait_for_function("() => location.search.includes('T=32')", timeout=10_000)
    # updated in place (Plotly.react), not a remounted chart drawn from nothing
    assert page.evaluate("g => g.isConnected && g === document.querySelector('.js-plotly-plot')",
                         graph)
    url = page.url
    assert "hidden=8" in url and "/hidden" in url
    page.goto(url)  # a fresh session from the shared link
    wait_chart(page)
    assert _chart_x_len(page) == 32
    assert page.locator(T_SLIDER).input_value() == "32"
    _local_only(page)


def test_chart_says_so_when_plotly_js_cannot_load(page):
    # neither the partial bundle nor the full plotly.js it falls back to (app/plot.py)
    page.route(re.compile(r"/plotly[^/]*\.js"), lambda route: route.abort())
    page.goto(f"{page.base}/hidden?T=20&hidden=8")
    page.wait_for_selector("text=This chart could not be drawn", timeout=60_000)
    assert page.locator("[data-testid='stException']").count() == 0


@pytest.mark.parametrize("query", ["?hidden=99999&cell=%3Cscript%3E&T=-5"])
def test_hostile_url_shows_a_warning_not_a_traceback(page, query):
    page.goto(f"{page.base}/gradients{query}")
    wait_idle(page)
    page.wait_for_selector("[data-testid='stAlert']", timeout=60_000)
    assert page.locator("[data-testid='stException']").count() == 0
    assert "<script>" in page.locator("[data-testid='stAlert']").first.inner_text() or \
        page.locator("text=is not one of").count()
    page.screenshot(path=str(ARTIFACTS / "browser_hostile_url.png"))
    _local_only(page)


# Pages as a speaker shows them: defaults, the gated cells, a deep bidirectional network.
LAYOUT_CASES = ["", "?cell=lstm&layers=2&bidir=true", "hidden?cell=lstm",
                "gates?cell=gru", "gradients?cell=lstm&clip=norm", "chaos",
                "gates?cell=minlstm", "scan?scan=hillis_steele", "gates?cell=s6",
                "gates?cell=lru", "chaos?cell=lru"]


@pytest.mark.parametrize("size", [(1280, 720), (1920, 1080)], ids=["1280", "1920"])
def test_nothing_overlaps_or_is_cut_off(browser, server, size):
    """Play/Pause vs the slider's value, titles vs legends, colour bars vs axis titles, and
    text or equations past their box: none, on every page, at both projector widths. Saves a
    full-height screenshot of each for a human look."""
    ARTIFACTS.mkdir(exist_ok=True)
    width, height = size
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    problems = []
    try:
        for case in LAYOUT_CASES:
            page.set_viewport_size({"width": width, "height": height})
            page.goto(f"{server}/{case}")
            wait_chart(page)
            page.wait_for_timeout(600)
            assert page.locator("[data-testid='stException']").count() == 0
            problems += [f"{case or 'unroll'} at {width}: {p}" for p in layout_problems(page)]
            full = page.evaluate("() => document.querySelector('[data-testid=stMain]')"
                                 ".scrollHeight")
            page.set_viewport_size({"width": width, "height": min(full + 40, 5000)})
            page.wait_for_timeout(500)
            slug = (case.replace("?", "_").replace("&", "_").replace("=", "") or "unroll")
            page.screenshot(path=str(ARTIFACTS / f"layout_{width}_{slug}.png"))
    finally:
        context.close()
    assert not problems, "\n".join(problems)


CHAIN_CASES = ["rnn&act=relu&gain=2", "rnn&loss=every", "gru", "jordan", "indrnn", "mingru",
               "minlstm", "lru", "s6", "lstm&T=400"]


def test_the_chain_at_one_step_fits_its_column_for_every_cell(browser, server):
    """The chain panel's rows grow with the bounds a cell has; at 1280 px none may run past
    its column, on settings that were not tuned for it (a ReLU with a factor above 1 too)."""
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    page = context.new_page()
    problems = []
    try:
        for case in CHAIN_CASES:
            page.goto(f"{server}/gradients?cell={case}")
            wait_chart(page)
            page.locator(".katex-display").last.wait_for()
            assert page.locator("[data-testid='stException']").count() == 0
            problems += page.evaluate("""() => Array.from(document.querySelectorAll(
                '.katex-display')).filter(el => el.scrollWidth > el.clientWidth + 1)
                .map(el => el.textContent.slice(0, 60))""")
            problems = [f"{case}: {p}" if ":" not in p[:12] else p for p in problems]
    finally:
        context.close()
    assert not problems, "\n".join(problems)

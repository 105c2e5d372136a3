"""The Sweeps page in Chromium: a stored sweep's link draws its phase diagram, the main
chart within the first screen at a projector's 1280x720."""

from engine.store import RunStore
from engine.sweep import LocalBackend, SweepSpec, run_sweep
from tests.browser.conftest import ARTIFACTS, wait_chart


def test_a_sweep_link_draws_its_phase_diagram(browser, server):
    spec = SweepSpec.make("adding", {"cell": ["rnn", "lstm"], "seq_len": [5, 8]}, seeds=1,
                          steps=5, hidden=4, batch=4)
    progress = run_sweep(spec, RunStore(), LocalBackend(1))  # the server's store file
    assert progress.done == 4
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    page = context.new_page()
    page.goto(f"{server}/sweeps?sweep={progress.sweep}")
    wait_chart(page)
    page.wait_for_selector(".st-key-sweep_map .js-plotly-plot .main-svg", timeout=60_000)
    page.wait_for_timeout(500)
    assert page.locator("[data-testid='stException']").count() == 0
    cells = page.locator(".st-key-sweep_map .js-plotly-plot").evaluate(
        "el => el.data[0].text.flat()")
    assert len(cells) == 4 and all("learned" in c for c in cells)
    top = page.evaluate("() => document.querySelector('.st-key-sweep_map')"
                        ".getBoundingClientRect().top")
    assert top <= 720 - 250, top
    assert progress.sweep in page.url
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "sweeps_1280x720.png"))
    context.close()

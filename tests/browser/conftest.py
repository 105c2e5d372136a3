"""One Streamlit server and one Debian Chromium for all browser tests (session-scoped)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts"
CHROME_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync"]
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int, script: str = "app/serve.py", cwd=ROOT,
                 timeout: float = 60) -> subprocess.Popen:
    """``streamlit run app/serve.py`` (the app as ``make run`` serves it, first paint
    included) bound to 127.0.0.1, no telemetry, no file watcher, from the checkout ``cwd``;
    healthy within ``timeout`` seconds or an error."""
    cmd = [sys.executable, "-m", "streamlit", "run", script, "--server.headless=true",
           "--server.address=127.0.0.1", f"--server.port={port}",
           "--browser.gatherUsageStats=false", "--server.fileWatcherType=none"]
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited: {proc.stderr.read().decode()[-2000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1):
                return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"streamlit did not become healthy within {timeout:g} s")


def wait_idle(page, timeout: float = 60_000) -> None:
    """A rerun is over when the app says notRunning (checked after the rerun could start)."""
    page.wait_for_timeout(150)
    page.wait_for_selector(IDLE, state="attached", timeout=timeout)


def wait_chart(page, timeout: float = 60_000) -> None:
    """The run over and a chart drawn in the page itself: past the first paint's overlay
    (app/first_paint.py), which leaves once the page's own chart has drawn."""
    wait_idle(page, timeout)
    page.wait_for_function("() => !document.getElementById('unrolled-first')", timeout=timeout)
    page.wait_for_selector(".js-plotly-plot .main-svg", timeout=timeout)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    if not os.path.exists(CHROMIUM):
        reason = f"Debian Chromium not found at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason + "; CI=true, so this is an error")
        pytest.skip(reason)
    return CHROMIUM


@pytest.fixture(scope="session")
def server(chromium_path):
    port = _free_port()
    proc = start_server(port)
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="session")
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path, args=CHROME_ARGS)
        yield b
        b.close()


@pytest.fixture()
def page(browser, server):
    """A fresh 1280x800 page that records every request it makes."""
    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    pg = context.new_page()
    pg.requests = []
    pg.on("request", lambda r: pg.requests.append(r.url))
    pg.base = server
    yield pg
    context.close()


# Every chart's parts, as page rectangles, for the layout checks: the animation bar's Play/Pause
# buttons, current value and step slider (app/plot.py), axis titles, legend, colour bars, and
# all visible text.
CHART_PARTS_JS = """() => Array.from(document.querySelectorAll('.js-plotly-plot')).map((gd, i) => {
  const box = el => { const r = el.getBoundingClientRect();
                      return [r.left, r.top, r.right, r.bottom]; };
  const all = sel => Array.from(gd.querySelectorAll(sel)).map(box);
  const shown = el => { const s = getComputedStyle(el);
    return s.display !== 'none' && s.visibility !== 'hidden' && s.fillOpacity !== '0'
           && s.opacity !== '0' && el.textContent.trim() !== ''; };
  const texts = Array.from(gd.querySelectorAll('text')).filter(shown)
    .map(el => ({box: box(el), text: el.textContent, cls: el.getAttribute('class') || ''}));
  const bar = sel => Array.from(gd.parentElement.querySelectorAll(
    '.unrolled-anim:not([hidden]) ' + sel)).map(box);
  return {index: i, chart: box(gd), buttons: bar('button'),
          current: bar('.unrolled-current'), rail: bar('.unrolled-step'),
          legend: all('g.legend'), colorbars: all('g.colorbar'),
          titles: texts.filter(t => /^[xy][0-9]*title$/.test(t.cls)).map(t => t.box),
          texts};
})"""


def overlap(a, b, tol: float = 1.0) -> bool:
    """Whether two [left, top, right, bottom] rectangles share more than a sliver."""
    return (min(a[2], b[2]) - max(a[0], b[0]) > tol
            and min(a[3], b[3]) - max(a[1], b[1]) > tol)


def layout_problems(page) -> list[str]:
    """Overlaps and cut-offs a projector would show: controls, titles, legends, equations."""
    problems = []
    for c in page.evaluate(CHART_PARTS_JS):
        name = f"chart {c['index']}"
        controls = ([("button", b) for b in c["buttons"]] + [("current value", b)
                    for b in c["current"]] + [("slider rail", b) for b in c["rail"]])
        others = ([("axis title", b) for b in c["titles"]]
                  + [("legend", b) for b in c["legend"]]
                  + [("colour bar", b) for b in c["colorbars"]])
        parts = controls + others
        for i, (na, a) in enumerate(parts):
            for nb, b in parts[i + 1:]:
                if na == nb == "button" or (na, nb) == ("axis title", "axis title"):
                    continue
                if overlap(a, b):
                    problems.append(f"{name}: {na} {a} overlaps {nb} {b}")
        left, top, right, bottom = c["chart"]
        for na, (x0, y0, x1, _y1) in controls:
            if x0 < left - 1 or x1 > right + 1 or y0 < bottom - 1:
                problems.append(f"{name}: {na} not in the row under the chart")
        for t in c["texts"]:
            x0, y0, x1, y1 = t["box"]
            if x0 < left - 1 or x1 > right + 1 or y0 < top - 1 or y1 > bottom + 1:
                problems.append(f"{name}: text {t['text']!r} cut at the chart's edge")
    problems += page.evaluate("""() => Array.from(document.querySelectorAll('.katex-display'))
        .filter(el => el.scrollWidth > el.clientWidth + 1)
        .map(el => 'equation wider than its column: ' + el.textContent.slice(0, 40))""")
    return problems

"""Time to the first chart: a fresh visitor opens a deep link in real Chromium.

Each visit is a new browser context (empty cache, no cookies), timed by the page's own clock
from navigation start (``performance.now()``; a page that reloads itself, as presenter view
does once, is timed from the first navigation). Interleaved, in one browser:

  (a) title    benchmarks/title_app.py, a bare Streamlit page with only a title: title shown
  (b) grads    the app's ``/gradients?cell=lstm&T=200``: first chart drawn
  (c) unroll   the app's ``/`` (Unroll, defaults): first chart drawn
  (d) st-chart benchmarks/title_app.py?chart=1, one ``st.plotly_chart``: chart drawn
               (Streamlit's own plotly.js, for reference; --no-st-chart leaves it out)

"Drawn" is measured the way benchmarks/app_speed.py measures a redraw: a frame callback that
first sees a ``.js-plotly-plot`` with its figure applied (``_fullData``) and a trace painted
into its ``.main-svg`` (a path with points or a heatmap's image), then the next frame's
callback, which runs after the paint that showed it. "Title shown" is the same with the
page's ``h1``. The app is served as ``make run`` serves it (app/serve.py, where the checkout
has it): a link a run has drawn gets its first paint (app/first_paint.py), so "chart" is the
first chart the visitor sees, and "page" the page's own chart component drawn (the
Streamlit page ready to use). After each fresh visit, a second page in the same context
opens the same URL again: a returning visitor (warm HTTP cache). The order of the cases
rotates every run.

The servers are fresh processes started here (app/serve.py and the floor app); the first
visit of each link warms its server (imports, numba, the cached simulation) and is reported
apart. ``--app NAME=DIR`` (repeatable) serves app/main.py from other checkouts instead (e.g.
``git archive HEAD | tar -x -C /tmp/head``) and interleaves their visits: an A/B in one run.
Prints the medians, (b)/(a) and (c)/(a), and where the time went (title shown, chart
component mounted, plotly.js requested / received / run, the first Plotly.react, the page's
own chart drawn).
Figures, not a test; machines shared with other work: compare ratios within one run.

    .venv/bin/python benchmarks/first_chart.py [--runs 7] [--app new=. --app head=/tmp/head]

Target (issue 13): (b) within 1.5x (a).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.browser.conftest import CHROME_ARGS, CHROMIUM, _free_port, start_server  # noqa: E402

TARGET = 1.5
# --slow: each visitor's link as a busy venue's wifi gives it (Chromium's network emulation)
SLOW = {"latency": 40, "downloadThroughput": 2_500_000, "uploadThroughput": 1_000_000}
THROTTLE: dict | None = None
LOCAL = {"127.0.0.1", "localhost"}

# Installed in every document before its own scripts (top frame only). A frame-callback loop
# stamps, once each: the page's h1 shown ("title"), a chart element mounted ("mount") and a
# window.Plotly defined ("plotly"), and a chart drawn ("chart"); each stamp is taken in
# the frame after the one that first saw it, i.e. after the paint that showed it.
PROBE = """(() => {
  if (window.top !== window) return;
  // stamps count from the tab's first navigation: a page that reloads itself (presenter
  // view learns the window's height so) is timed from the visitor's click, not its reload
  const KEY = '__ttc_origin';
  let first = Number(sessionStorage.getItem(KEY));
  if (!first) { first = performance.timeOrigin; sessionStorage.setItem(KEY, String(first)); }
  const offset = performance.timeOrigin - first;
  const now = () => performance.now() + offset;
  const T = (window.__ttc = {});
  const drawn = (gd) => gd._fullData && gd._fullData.length > 0 && gd.querySelector(
    '.main-svg .cartesianlayer .trace path[d]:not([d=""]), .main-svg .heatmaplayer image');
  const checks = {
    title: () => Array.from(document.querySelectorAll('h1')).some(
      (h) => h.textContent.trim() !== '' && h.getBoundingClientRect().height > 0),
    mount: () => document.querySelector('.unrolled-plot, [data-testid="stPlotlyChart"]'),
    chart: () => Array.from(document.querySelectorAll('.js-plotly-plot')).some(drawn),
    page: () => Array.from(document.querySelectorAll(
      '.unrolled-plot.js-plotly-plot, [data-testid="stPlotlyChart"] .js-plotly-plot')).some(drawn),
  };
  // window.Plotly as plotly.js assigns it, the moment its script has run; its first
  // Plotly.react call timed from the start to the promise (the figure applied)
  let plotly;
  Object.defineProperty(window, 'Plotly', {configurable: true, get: () => plotly, set: (v) => {
    plotly = v;
    if (!('plotly_run' in T)) T.plotly_run = now();
    const react = v && v.react;
    if (react && !v.__ttcWrapped) {
      v.__ttcWrapped = true;
      v.react = function (...args) {
        const t0 = now();
        const done = react.apply(this, args);
        if (!('react_start' in T)) {
          T.react_start = t0;
          T.react_sync = now() - t0;
          Promise.resolve(done).then(() => { T.react_end = now(); });
        }
        return done;
      };
    }
  }});
  const seen = {};
  const tick = () => {
    const t = now();
    for (const [k, check] of Object.entries(checks)) {
      if (seen[k] && !(k in T)) T[k] = t;  // the frame after the one that saw it
      if (!seen[k] && check()) { seen[k] = t; T[k + '_seen'] = t; }
    }
    if (!('page' in T && 'chart' in T) && t < 180000) requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
})();"""

RESOURCES = """() => {
  const offset = performance.timeOrigin - Number(sessionStorage.getItem('__ttc_origin'));
  return performance.getEntriesByType('resource')
  .filter((e) => /plotly[^/]*\\.js/.test(e.name))
  .map((e) => ({name: e.name, start: e.startTime + offset, end: e.responseEnd + offset,
                transfer: e.transferSize, encoded: e.encodedBodySize,
                decoded: e.decodedBodySize}));
}"""


def start(port: int, script: str, cwd: Path) -> subprocess.Popen:
    """``streamlit run`` as the browser tests start it, from ``cwd`` (its own checkout)."""
    return start_server(port, script, cwd=cwd, timeout=90)


def visit(context, url: str, until: str = "chart", timeout_ms: float = 60_000) -> dict:
    """Open ``url`` in a new page of ``context`` and wait for ``until`` ("chart" or "title").

    Returns the page's stamps in ms from navigation start (title, mount, plotly, chart, as
    far as they happened), the plotly.js resources it loaded (resource timing: start, end,
    bytes on the wire and decoded) with their response headers, every URL it requested,
    and whether an exception box showed. A visit that never gets there (``timeout_ms``)
    returns the stamps it got, without ``until``.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page = context.new_page()
    if THROTTLE:
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.emulateNetworkConditions", {"offline": False, **THROTTLE})
    requests, responses = [], []
    page.on("request", lambda r: requests.append(r.url))
    page.on("response", lambda r: responses.append(r) if "plotly" in r.url else None)
    try:
        page.goto(url, wait_until="commit")
        try:
            # "chart": the first chart drawn, and the page's own chart (past a first paint)
            need = [until, "page"] if until == "chart" else [until]
            page.wait_for_function(f"() => window.__ttc && {need}.every((k) => k in window.__ttc)",
                                   timeout=timeout_ms, polling=100)
        except PlaywrightTimeout:
            pass  # reported: the marks lack ``until``
        marks = page.evaluate("() => ({...window.__ttc})")
        resources = page.evaluate(RESOURCES)
        for res in resources:
            match = [r for r in responses if r.url == res["name"]]
            res["status"] = match[0].status if match else None
            res["headers"] = match[0].all_headers() if match else {}
        exception = page.locator("[data-testid='stException']").count() > 0
    finally:
        page.close()
    return {"marks": marks, "plotly": resources, "requests": requests,
            "exception": exception}


def first_chart(browser, url: str, until: str = "chart", second: bool = True) -> dict:
    """A fresh visitor (new context, empty cache) opens ``url``; then, if ``second``, a new
    page of the same context opens it again (warm cache). The measuring function of this
    benchmark (and of tests/browser/test_first_chart.py)."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.add_init_script(PROBE)
    try:
        out = {"fresh": visit(context, url, until)}
        if second:
            out["again"] = visit(context, url, until)
    finally:
        context.close()
    return out


def local_only(requests: list[str]) -> set[str]:
    """The hosts other than this machine that a visit requested (empty: none)."""
    hosts = {urlparse(u).hostname for u in requests if not u.startswith(("data:", "blob:"))}
    return hosts - LOCAL


def _med(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--app", action="append", default=[], metavar="NAME=DIR",
                        help="serve app/main.py of the checkout DIR as NAME (repeatable; "
                             "default: this checkout); e.g. --app new=. --app head=/tmp/head")
    parser.add_argument("--page", action="append", default=[], metavar="NAME=PATH",
                        help="also time the app's PATH (e.g. present=gradients?present=1)")
    parser.add_argument("--no-st-chart", action="store_true",
                        help="leave out (d), the bare page with one st.plotly_chart")
    parser.add_argument("--slow", action="store_true",
                        help="emulate a slow link per visitor (40 ms, 20 Mbit/s down)")
    args = parser.parse_args()
    global THROTTLE
    THROTTLE = SLOW if args.slow else None
    apps = [tuple(a.split("=", 1)) for a in args.app] or [("", str(ROOT))]
    from playwright.sync_api import sync_playwright

    procs, cases = [], []
    try:
        floor_port = _free_port()
        procs.append(start(floor_port, "benchmarks/title_app.py", ROOT))
        floor = f"http://127.0.0.1:{floor_port}"
        cases.append(("title", f"{floor}/", "title"))
        for name, folder in apps:
            port = _free_port()
            here = Path(folder).resolve()
            script = "app/serve.py" if (here / "app/serve.py").is_file() else "app/main.py"
            procs.append(start(port, script, here))
            at = f"@{name}" if name else ""
            cases += [(f"grads{at}", f"http://127.0.0.1:{port}/gradients?cell=lstm&T=200",
                       "chart"), (f"unroll{at}", f"http://127.0.0.1:{port}/", "chart")]
            cases += [(f"{extra.split('=', 1)[0]}{at}",
                       f"http://127.0.0.1:{port}/{extra.split('=', 1)[1]}", "chart")
                      for extra in args.page]
        if not args.no_st_chart:
            cases.append(("st-chart", f"{floor}/?chart=1", "chart"))
        fresh = {name: [] for name, _, _ in cases}
        again = {name: [] for name, _, _ in cases}
        parts: dict[str, dict[str, list[float]]] = {name: {} for name, _, _ in cases}
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROME_ARGS)
            for name, url, until in cases:  # warm each server (imports, caches): reported apart
                t = first_chart(browser, url, until, second=False)["fresh"]["marks"]
                print(f"first visit to a fresh server: {name:12s} "
                      f"{t.get(until, float('nan')):6.0f} ms", flush=True)
            for i in range(args.runs):
                shift = i % len(cases)  # rotate the order: no case always runs first
                for name, url, until in cases[shift:] + cases[:shift]:
                    out = first_chart(browser, url, until)
                    f, a = out["fresh"], out["again"]
                    if f["exception"] or local_only(f["requests"]) or until not in f["marks"]:
                        print(f"  {name}: exception {f['exception']}, outside requests "
                              f"{local_only(f['requests'])}, stamps {f['marks']}", flush=True)
                    if until not in f["marks"] or until not in a["marks"]:
                        print(f"  {name}: no {until} within the time limit (left out): fresh "
                              f"{f['marks']}, again {a['marks']}", flush=True)
                        continue
                    fresh[name].append(f["marks"][until])
                    again[name].append(a["marks"][until])
                    row, m = parts[name], f["marks"]
                    for k, v in m.items():
                        row.setdefault(k, []).append(v)
                    if "react_end" in m:
                        row.setdefault("react", []).append(m["react_end"] - m["react_start"])
                    for res in f["plotly"][:1]:
                        row.setdefault("js asked", []).append(res["start"])
                        row.setdefault("js in", []).append(res["end"])
                        if "plotly_run" in m:
                            row.setdefault("js run", []).append(m["plotly_run"] - res["end"])
                        row.setdefault("wire kB", []).append(res["transfer"] / 1e3)
                        row.setdefault("js kB", []).append(res["decoded"] / 1e3)
                    for res in a["plotly"][:1]:
                        row.setdefault("again kB", []).append(res["transfer"] / 1e3)
                print(f"run {i + 1}/{args.runs}: " + ", ".join(
                    f"{n} {fresh[n][-1]:.0f}" for n, _, _ in cases if fresh[n]), flush=True)
            browser.close()
    finally:
        for proc in procs:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()

    floor_med = _med(fresh["title"])
    print(f"\nmedians over {args.runs} fresh visits, ms from navigation start (a second visit "
          "in the same context after each: 'again'):")
    for name, _, until in cases:
        med = _med(fresh[name])
        note = ""
        if name != "title":
            note = f"  {med / floor_med:4.2f}x title"
            if name.startswith("grads"):
                note += "  (target ok)" if med / floor_med <= TARGET else "  (OVER target)"
        print(f"  {name:12s} {until:5s} {med:6.0f}  again {_med(again[name]):6.0f}{note}"
              "   all: " + ", ".join(f"{t:.0f}" for t in fresh[name]))
    keys = ["title", "mount", "js asked", "js in", "js run", "react", "chart", "page",
            "wire kB", "js kB", "again kB"]
    print("\nwhere the time went (medians; ms from navigation start, except js run: from the "
          "response's end\nto window.Plotly set, and react: the first Plotly.react; kB of "
          "plotly.js on the wire, decoded, on the second visit):")
    print("  " + " " * 12 + "".join(f"{k:>9s}" for k in keys))
    for name, _, _ in cases:
        row = parts[name]
        print(f"  {name:12s}" + "".join(
            f"{_med(row[k]):9.0f}" if row.get(k) else f"{'-':>9s}" for k in keys))
    print()
    for name, _, _ in cases:
        if name.startswith(("grads", "unroll")):
            label = "(b)" if name.startswith("grads") else "(c)"
            print(f"{label}/(a) {name}: {_med(fresh[name]) / floor_med:.2f}")


if __name__ == "__main__":
    main()

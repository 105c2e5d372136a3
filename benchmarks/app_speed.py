"""How fast the app answers a slider: real Streamlit, real Chromium, wall-clock times.

Starts ``streamlit run app/main.py``, opens the Hidden state page (or others), moves the
sequence-length slider a few times and reports the median time from the key press to the
painted chart (its first trace holds the new number of steps), from the defaults (T=50,
H=32) and from T=999, H=128. Times are taken by the page's own clock (``performance.now``
at the keydown, and after the paint that first shows the new chart), as a user sees them;
beside them, the time until the whole rerun is applied ("settled"), in the page's clock and
as the Playwright caller sees it. Every press is a new T (no cache hits) unless --alternate.
First, in the same browser, the floor: benchmarks/floor_app.py, a slider and a one-trace
chart through the same chart component, so the app's own share can be read as a ratio on a
machine that is slower or faster than the one the targets were set for. Also prints the JSON
payload of each page's main chart. Figures, not a test.

    .venv/bin/python benchmarks/app_speed.py [--repeats 5] [--pages hidden,gradients]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.browser.conftest import (  # noqa: E402
    CHROME_ARGS,
    CHROMIUM,
    _free_port,
    start_server,
    wait_chart,
    wait_idle,
)

T_SLIDER = "[data-testid='stSidebar'] input[type='range'][aria-label='Sequence length T']"
TARGETS = {"defaults": 0.300, "large": 1.5}


# In the page: the time of the key press on the slider, and a probe that, once the first chart
# holds `steps` points (seen in a frame callback: that frame paints the new chart), stamps
# the next frame's callback, which runs after that paint ("painted"), and a task queued from
# there, which runs only after every message of the rerun already waiting ("settled": the
# sidebar's controls, drawn after the page, are applied by then).
PAGE_CLOCK = """
window.__unrolledKey = null;
document.addEventListener('keydown', () => { window.__unrolledKey = performance.now(); }, true);
"""
PAINTED = """(steps) => {
  const g = document.querySelector('.js-plotly-plot');
  if (!window.__unrolledSeen && g && g.data && g.data[0].x.length === steps) {
    window.__unrolledSeen = true;
    requestAnimationFrame(() => {
      window.__unrolledPainted = performance.now();
      setTimeout(() => { window.__unrolledSettled = performance.now(); }, 0);
    });
  }
  const k = window.__unrolledKey;
  return window.__unrolledSettled > 0
    ? [window.__unrolledPainted - k, window.__unrolledSettled - k] : null;
}"""


def time_slider(page, base: str, path: str, query: str, repeats: int, step: int,
                alternate: bool = False) -> tuple[list[float], list[float], list[float]]:
    """Times from the key press to the painted chart holding the new T and to the settled
    page, in the page's own clock, and to the settled page as Playwright's caller sees it
    (which adds its round trips).

    By default every press moves T the same way (``step`` = +1 or -1), so each interaction
    is a setting the server has not computed yet (no cache hits); ``alternate`` goes back
    and forth between two values instead (cache hits after the first two). Each press
    starts from a settled page: the previous rerun over, then a pause.
    """
    page.goto(f"{base}/{path}{query}")
    wait_chart(page)
    painted, settled, outside = [], [], []
    for i in range(repeats):
        wait_idle(page)
        page.wait_for_timeout(400)
        thumb = page.locator(T_SLIDER)
        T = int(thumb.input_value())
        d = -step if alternate and i % 2 else step
        key = "ArrowRight" if d > 0 else "ArrowLeft"
        thumb.focus()
        page.evaluate("() => { window.__unrolledSeen = false; window.__unrolledPainted = 0; "
                      "window.__unrolledSettled = 0; }")
        start = time.perf_counter()
        page.keyboard.press(key)
        handle = page.wait_for_function(PAINTED, arg=T + d, timeout=60_000, polling="raf")
        outside.append(time.perf_counter() - start)
        paint_ms, settle_ms = handle.json_value()
        painted.append(paint_ms / 1000)
        settled.append(settle_ms / 1000)
    return painted, settled, outside


def payloads() -> dict[str, int]:
    """JSON bytes of the main chart of each page at T=1000, H=64 and T=1000, H=128."""
    from dataclasses import replace

    from app.compute import simulate
    from app.state import Settings
    from app.views import common, gates, gradients, hidden, unroll

    out = {}
    for H in (64, 128):
        s = Settings(T=1000, hidden=H)
        rnn, lstm = simulate(s), simulate(replace(s, cell="lstm"))
        pv = lstm.passes[0][0]
        figs = {
            "hidden": hidden.hidden_figure(rnn.passes[0][0].h, [0, 1, 2]),
            "gates": gates.gates_figure({**pv.gates, "c": pv.c}),
            "gradients": gradients.norm_figure(rnn.hidden_norm[0, 0]),
            "unroll": unroll.unroll_figure(lstm.passes, lstm.x, "lstm", "many-to-many"),
        }
        for name, fig in figs.items():
            out[f"{name} T=1000 H={H}"] = common.payload_bytes(fig)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--pages", default="hidden",
                        help="comma-separated pages whose first chart has T points: "
                             "hidden, gradients")
    parser.add_argument("--alternate", action="store_true",
                        help="go back and forth between two T values (cache hits)")
    parser.add_argument("--no-payloads", action="store_true")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    port, floor_port = _free_port(), _free_port()
    proc, floor_proc = start_server(port), start_server(floor_port, "benchmarks/floor_app.py")
    base = f"http://127.0.0.1:{port}"
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROME_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.add_init_script(PAGE_CLOCK)
            floor, _, _ = time_slider(page, f"http://127.0.0.1:{floor_port}", "", "",
                                      args.repeats, 1, args.alternate)
            floor_med = statistics.median(floor)
            print(f"floor (benchmarks/floor_app.py): slider -> painted chart, median "
                  f"{floor_med * 1000:.0f} ms; all: " + ", ".join(f"{t * 1000:.0f}" for t in floor),
                  flush=True)
            for path in args.pages.split(","):
                for name, query, step in (("defaults", "?T=50&hidden=32", 1),
                                          ("large", "?T=999&hidden=128", -1)):
                    times, settled, outside = time_slider(page, base, path, query,
                                                          args.repeats, step, args.alternate)
                    med = statistics.median(times)
                    verdict = "ok" if med <= TARGETS[name] else "SLOWER than target"
                    print(f"{path}: slider -> painted chart, {name:8s} ({query[1:]}): median "
                          f"{med * 1000:7.0f} ms over {len(times)} (target "
                          f"{TARGETS[name] * 1000:.0f} ms, {verdict}); all: "
                          + ", ".join(f"{t * 1000:.0f}" for t in times)
                          + f"; page settled: median {statistics.median(settled) * 1000:.0f} "
                          f"ms, seen from Playwright {statistics.median(outside) * 1000:.0f} ms; "
                          f"{med / floor_med:.2f}x the floor", flush=True)
            browser.close()
    finally:
        for server in (proc, floor_proc):
            server.terminate()
            server.wait(timeout=10)
    if args.no_payloads:
        return
    for name, size in payloads().items():
        print(f"payload {name:22s} {size / 1e6:6.3f} MB")


if __name__ == "__main__":
    main()

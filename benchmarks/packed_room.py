"""A packed room: N viewers open the same view within a few seconds, one 2-core server.

Starts ``streamlit run app/main.py`` on loopback and drives N websocket sessions the way a
browser does: GET the page, open ``/_stcore/stream`` (subprotocol ``streamlit``), send a
``rerun_script`` BackMsg with the view's query string, and read ForwardMsgs until the first
Plotly chart arrives (the server's reply) and the script finishes. Sessions start spread over
``--spread`` seconds. Meanwhile ``--browsers`` real Chromium pages (fresh contexts, empty
caches) open the same link at random times in the spread: for them the time to the chart
drawn in the page, what a visitor waits for. Reports p50/p95/max, failures, and the server's
memory (RSS) before, at peak and after. Bounded: at most 200 sessions and 10 browsers, every
session and the whole run time out, traffic only to 127.0.0.1.

    .venv/bin/python benchmarks/packed_room.py [--sessions 50] [--spread 5] [--browsers 3]

Target (the talk-mode issue): everyone gets the page, p95 <= 3 s, memory bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import time
import urllib.request
from pathlib import Path

from websockets.asyncio.client import connect

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from streamlit.proto.BackMsg_pb2 import BackMsg  # noqa: E402
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg  # noqa: E402

from tests.browser.conftest import _free_port, start_server  # noqa: E402

DEFAULT_VIEW = "gradients?cell=lstm&T=200&hidden=64"
SESSION_TIMEOUT = 60.0
RUN_TIMEOUT = 300.0


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def has_chart(msg: ForwardMsg) -> bool:
    if msg.WhichOneof("type") != "delta":
        return False
    delta = msg.delta
    return (delta.WhichOneof("type") == "new_element"
            and delta.new_element.WhichOneof("type") == "bidi_component")


async def viewer(base: str, page: str, query: str, delay: float) -> dict:
    """One visitor: the HTML page, then a websocket session until a chart and the end."""
    await asyncio.sleep(delay)
    start = time.perf_counter()
    result = {"ok": False, "chart_s": None, "finished_s": None, "bytes": 0}
    try:
        html = await asyncio.to_thread(
            lambda: urllib.request.urlopen(f"{base}/{page}?{query}", timeout=30).read())
        result["bytes"] += len(html)
        ws_url = base.replace("http://", "ws://") + "/_stcore/stream"
        async with connect(ws_url, subprotocols=["streamlit"], max_size=None,
                           open_timeout=SESSION_TIMEOUT) as conn:
            back = BackMsg()
            back.rerun_script.query_string = query
            back.rerun_script.page_name = page
            await conn.send(back.SerializeToString())
            deadline = start + SESSION_TIMEOUT
            while time.perf_counter() < deadline:
                raw = await asyncio.wait_for(conn.recv(), deadline - time.perf_counter())
                result["bytes"] += len(raw)
                msg = ForwardMsg()
                msg.ParseFromString(raw)
                if result["chart_s"] is None and has_chart(msg):
                    result["chart_s"] = time.perf_counter() - start
                if msg.WhichOneof("type") == "script_finished":
                    result["finished_s"] = time.perf_counter() - start
                    break
        result["ok"] = result["chart_s"] is not None
    except (OSError, TimeoutError, ConnectionError) as err:
        result["error"] = f"{type(err).__name__}: {err}"
    return result


# The first chart is drawn: a Plotly graph with its traces, painted (a frame after).
DRAWN_JS = """() => new Promise(done => {
  const check = () => {
    const gd = document.querySelector('.js-plotly-plot');
    if (gd && gd.data && gd.data.length && gd.querySelector('.main-svg'))
      requestAnimationFrame(() => done(performance.now() / 1000));
    else setTimeout(check, 20);
  };
  check();
})"""


async def browser_viewer(browser, url: str, delay: float) -> dict:
    """A real visitor: a fresh Chromium context opens the link; seconds to the drawn chart,
    counted from the navigation's start."""
    await asyncio.sleep(delay)
    context = await browser.new_context(viewport={"width": 1280, "height": 720})
    try:
        page = await context.new_page()
        await page.goto(url, timeout=SESSION_TIMEOUT * 1000)
        drawn = await asyncio.wait_for(page.evaluate(DRAWN_JS), SESSION_TIMEOUT)
        return {"ok": True, "chart_s": drawn}
    except Exception as err:  # noqa: BLE001 - a failed visitor is counted, not fatal
        return {"ok": False, "error": f"{type(err).__name__}: {str(err)[:80]}"}
    finally:
        await context.close()


async def room(base: str, view: str, sessions: int, spread: float, pid: int,
               browser=None, browsers: int = 0) -> dict:
    page, _, query = view.partition("?")
    rng = random.Random(0)
    peak = [rss_mb(pid)]

    async def sample():
        while True:
            peak.append(rss_mb(pid))
            await asyncio.sleep(0.2)

    sampler = asyncio.create_task(sample())
    tasks = [viewer(base, page, query, rng.uniform(0, spread)) for _ in range(sessions)]
    tasks += [browser_viewer(browser, f"{base}/{view}", rng.uniform(0, spread))
              for _ in range(browsers if browser is not None else 0)]
    results = await asyncio.wait_for(asyncio.gather(*tasks), RUN_TIMEOUT)
    sampler.cancel()
    return {"results": results[:sessions], "browsers": results[sessions:],
            "peak_rss_mb": max(peak)}


async def room_with_browsers(base: str, view: str, sessions: int, spread: float, pid: int,
                             browsers: int) -> dict:
    if browsers <= 0:
        return await room(base, view, sessions, spread, pid)
    from playwright.async_api import async_playwright

    from tests.browser.conftest import CHROME_ARGS, CHROMIUM

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROME_ARGS)
        try:
            return await room(base, view, sessions, spread, pid, browser, browsers)
        finally:
            await browser.close()


def summarise(results: list[dict]) -> dict:
    times = sorted(r["chart_s"] for r in results if r["ok"])
    if not times:
        return {"ok": 0, "failed": len(results)}
    p95 = times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]
    out = {"ok": len(times), "failed": len(results) - len(times),
           "p50_s": round(statistics.median(times), 3), "p95_s": round(p95, 3),
           "max_s": round(times[-1], 3)}
    if all("bytes" in r for r in results):  # websocket viewers count what they received
        out["mean_kB"] = round(statistics.mean(r["bytes"] for r in results) / 1024, 1)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--spread", type=float, default=5.0, help="seconds over which they arrive")
    parser.add_argument("--view", default=DEFAULT_VIEW, help="page?query of the shared view")
    parser.add_argument("--rounds", type=int, default=2, help="rooms in a row (memory growth)")
    parser.add_argument("--browsers", type=int, default=3,
                        help="real Chromium visitors among them (time to the drawn chart)")
    args = parser.parse_args()
    sessions = max(1, min(args.sessions, 200))
    port = _free_port()
    proc = start_server(port)
    base = f"http://127.0.0.1:{port}"
    try:
        before = rss_mb(proc.pid)
        rounds = []
        for k in range(max(1, min(args.rounds, 5))):
            out = asyncio.run(room_with_browsers(base, args.view, sessions, args.spread,
                                                 proc.pid, max(0, min(args.browsers, 10))))
            summary = summarise(out["results"])
            drawn = summarise(out["browsers"]) if out["browsers"] else {}
            summary.update(round=k + 1, peak_rss_mb=round(out["peak_rss_mb"], 1),
                           rss_after_mb=round(rss_mb(proc.pid), 1))
            errors = sorted({r.get("error", "") for r in out["results"] if not r["ok"]})
            if errors:
                summary["errors"] = errors[:3]
            if drawn:
                summary["browsers"] = drawn
            rounds.append(summary)
            print(f"round {k + 1}: {sessions} viewers over {args.spread:.0f} s -> "
                  f"{summary.get('ok', 0)} got a chart, p50 {summary.get('p50_s')} s, "
                  f"p95 {summary.get('p95_s')} s (target <= 3), max {summary.get('max_s')} s; "
                  f"server RSS {before:.0f} MB before, peak {summary['peak_rss_mb']} MB, "
                  f"after {summary['rss_after_mb']} MB", flush=True)
            if drawn:
                print(f"  {len(out['browsers'])} Chromium visitors among them: "
                      f"{drawn.get('ok', 0)} drew the chart, p50 {drawn.get('p50_s')} s, "
                      f"max {drawn.get('max_s')} s (navigation start to the painted chart)",
                      flush=True)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    print(json.dumps({"view": args.view, "sessions": sessions, "rss_before_mb": round(before, 1),
                      "rounds": rounds}))


if __name__ == "__main__":
    main()

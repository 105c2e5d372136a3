"""The first paint: a link's main chart drawn from the page's HTML, before Streamlit boots.

Why: a fresh visitor used to wait for Streamlit's frontend to boot (~1.1 s on 2 cores, all
of a bare title page), render every element of the run, mount the chart and only then load
and run plotly.js (~0.5 s) and draw: 2.4-2.8x the bare title page (benchmarks/first_chart.py).
Streamlit runs no app code in the browser before it has rendered a run's elements, so the
chart has to come with the HTML itself.

How: every run of an explore page remembers the bytes its main chart sent (``remember``,
keyed by the page and the run's ``Settings``). When a browser asks for a page's HTML, the
middleware (``FirstPaint``, installed by app/serve.py) parses the link's query into
``Settings`` exactly as a fresh session does; where a run has drawn that view before, it adds
to Streamlit's index.html an overlay with the page's title and that very chart, plotly.js
(served gzipped, kept by the browser for good: ``bundle_route``) and a script that draws it
and only then starts Streamlit (its entry module, which the page still preloads). The
page's own chart component takes plotly.js over (no second load), and its first draw of the
same chart removes the overlay. The overlay is what the page will show, the same bytes, not
a picture of it; where anything is uncertain (a link with notices, presenter view, a trained
network, a view no run has drawn since the server started) the HTML goes
out as Streamlit wrote it and the page loads as before.
"""

from __future__ import annotations

import gzip
import hashlib
import html
import json
import logging
import re
import threading
from collections import OrderedDict
from urllib.parse import parse_qs

from app import tour
from app.state import Settings

_LOG = logging.getLogger(__name__)
# the explore pages, by url_path ("" is the default page's "/"), and their main chart's key
PAGES = {"": "unroll", "unroll": "unroll", "hidden": "hidden", "gates": "gates",
         "gradients": "gradients", "chaos": "chaos", "scan": "scan", "recipe": "recipe"}
MAX_SPEC = 2_000_000  # bytes of one chart (T = 1000, H = 128 is ~0.9 MB)
MAX_TOTAL = 64_000_000  # bytes kept, least recently used out first

_lock = threading.Lock()
_specs: OrderedDict[tuple[str, Settings], tuple[str, bytes]] = OrderedDict()
_total = 0


def eligible(s: Settings) -> bool:
    """A view a fresh visitor sees exactly as a run drew it: no presenter view (sized to the
    window), no trained network (a token into this server's store, which a session may
    change)."""
    return not (s.present or s.vh or s.weights)


def remember(page: str, s: Settings, title: str, spec: bytes) -> None:
    """Keep the main chart ``spec`` (app/plot.py's bytes) that ``page`` drew with ``s``, under
    the page's ``title``."""
    global _total
    if page not in PAGES.values() or not eligible(s) or len(spec) > MAX_SPEC:
        return
    key = (page, s)
    with _lock:
        old = _specs.pop(key, None)
        _total -= len(old[1]) if old else 0
        _specs[key] = (title, spec)
        _total += len(spec)
        while _total > MAX_TOTAL:
            _total -= len(_specs.popitem(last=False)[1][1])


def recall(path: str, query: str) -> tuple[str, bytes] | None:
    """The title and chart a fresh session opening ``path?query`` would draw first, if a run
    has drawn it; None otherwise (or where the link's values need a notice)."""
    page = PAGES.get(path.strip("/"))
    params = parse_qs(query, keep_blank_values=True)
    s, notices = Settings.from_query(params)
    if s.scene and set(params) == {"scene"} and tour.scene(s.scene) is not None:
        # a bare scene link opens its scene's page with its settings (app/talk.py)
        page, s = tour.scene(s.scene).page, tour.scene(s.scene).apply(s.scene)
    if page is None or notices or not eligible(s):
        return None
    with _lock:
        found = _specs.get((page, s))
        if found is not None:
            _specs.move_to_end((page, s))
        return found


def forget() -> None:
    """Drop every remembered chart (tests)."""
    global _total
    with _lock:
        _specs.clear()
        _total = 0


# --- the HTML ------------------------------------------------------------------------------
# The overlay sits where Streamlit's page will be: the sidebar's colour on the left, the
# title at the title's place, the chart under it. It takes no clicks (what lies under it is
# the page booting) and leaves when the page's own chart has drawn, when the page shows an
# error, or 20 s after Streamlit started, whichever comes first.
STYLE = """<style>
#unrolled-first { position: fixed; inset: 0; z-index: 999990; pointer-events: none;
  background: #ffffff; display: flex; font-family: "Source Sans", "Source Sans Pro",
  sans-serif; color: #0f172a; }
#unrolled-first .uf-side { width: 319px; flex: none; background: #f1f5f9; }
#unrolled-first .uf-main { flex: 1; min-width: 0; padding: 44px 85px 0 85px; }
#unrolled-first .uf-title { font-size: 35.7px; font-weight: 700; line-height: 46px; }
#unrolled-first .uf-wait { color: #64748b; font-size: 17px; margin: 0.5rem 0 1.2rem 0; }
#unrolled-first .uf-chart-title { font-size: 1.3rem; font-weight: 600; line-height: 1.3;
  margin: 0.4rem 0 0 0.2rem; }
@media (max-width: 800px) { #unrolled-first .uf-side { display: none; }
  #unrolled-first .uf-main { padding: 44px 16px 0 16px; } }
</style>"""

SCRIPT = """<script>((cfg) => {
  const root = document.getElementById('unrolled-first');
  const spec = JSON.parse(document.getElementById('unrolled-first-spec').textContent);
  let booted = false, ran = false;
  const leave = () => root.remove();
  const boot = () => {  // Streamlit's entry module, as its index.html would have run it
    if (booted) return;
    booted = true;
    const s = document.createElement('script');
    s.type = 'module';
    s.crossOrigin = '';
    s.src = cfg.entry;
    document.head.appendChild(s);
    setTimeout(leave, 20000);
    const watch = setInterval(() => {  // a page that shows an error, or ends its run
      if (!root.isConnected) { clearInterval(watch); return; }  // without this chart
      if (document.querySelector('[data-testid="stException"], [data-testid="stAlert"]')) {
        clearInterval(watch);
        leave();
      } else if (document.querySelector(cfg.running)) {
        ran = true;
      } else if (ran && document.querySelector(cfg.idle)) {
        clearInterval(watch);
        setTimeout(leave, 2000);
      }
    }, 250);
  };
  window.__unrolledFirstDrawn = (key) => { if (key === spec.key) leave(); };
  setTimeout(boot, 4000);  // never keep Streamlit waiting on plotly.js longer than this
  const fail = () => { leave(); boot(); };
  const s = document.createElement('script');
  s.src = cfg.bundle;
  s.onerror = fail;
  s.onload = () => {
    if (!window.Plotly || !window.Plotly.newPlot) { fail(); return; }
    window.__unrolledPlotly = Promise.resolve(window.Plotly);  // app/plot.py's loader
    const gd = root.querySelector('.uf-plot');
    gd.style.minHeight = (spec.figure.layout.height || 450) + 'px';
    window.Plotly.newPlot(gd, {...spec.figure, config: {...spec.config, staticPlot: true}})
      .then(() => requestAnimationFrame(() => setTimeout(boot, 0)), fail);
  };
  document.head.appendChild(s);
})(CONFIG);</script>"""

# Streamlit's index.html runs its frontend from one module script in the head; its app is
# idle once a run has ended
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
RUNNING = '[data-testid="stApp"][data-test-script-state="running"]'
ENTRY = re.compile(r'<script type="module" crossorigin src="(?P<src>[^"]+)"></script>')


def inject(index: str, title: str, spec: bytes, bundle_url: str) -> str | None:
    """Streamlit's ``index`` with the overlay drawing ``spec`` under ``title``, its entry
    module preloaded and started by the overlay's script; None where ``index`` is not the
    page this expects (a Streamlit upgrade): the caller serves it untouched."""
    found = ENTRY.search(index)
    if found is None or "</body>" not in index:
        return None
    src = found.group("src")
    head = index[:found.start()] + f'<link rel="modulepreload" crossorigin href="{src}">'
    # plotly.js first in the queue, ahead of Streamlit's ~55 module chunks
    head = head.replace("<head>", f'<head><link rel="preload" as="script" fetchpriority="high" '
                                  f'href="{html.escape(bundle_url)}">', 1)
    chart_title = json.loads(spec).get("title", "")
    # the spec inside a <script>: no "<" at all (only strings hold one; JSON reads \u003c
    # back), so nothing in it can end or re-open the element
    data = spec.decode().replace("<", "\\u003c")
    body = (STYLE + '<div id="unrolled-first" aria-hidden="true"><div class="uf-side"></div>'
            f'<div class="uf-main"><div class="uf-title">{html.escape(title)}</div>'
            '<div class="uf-wait">Loading the controls and the equations…</div>'
            f'<div class="uf-chart-title">{html.escape(chart_title)}</div>'
            '<div class="uf-plot"></div></div></div>'
            f'<script id="unrolled-first-spec" type="application/json">{data}</script>'
            + SCRIPT.replace("CONFIG", json.dumps({"entry": src, "bundle": bundle_url,
                                                   "idle": IDLE, "running": RUNNING})))
    rest = index[found.end():]
    return head + rest.replace("</body>", body + "</body>", 1)


def bundle_route(gz_bytes: bytes, name: str) -> tuple[str, dict[str, str]]:
    """The path the partial plotly.js bundle is served at (its content's hash in the name,
    so a browser keeps it for good) and the headers it goes with."""
    digest = hashlib.sha256(gz_bytes).hexdigest()[:16]
    stem = name.removesuffix(".min.js.gz")
    return (f"/unrolled/{stem}.{digest}.min.js",
            {"content-type": "text/javascript; charset=utf-8", "content-encoding": "gzip",
             "cache-control": "public, max-age=31536000, immutable", "vary": "accept-encoding"})


class FirstPaint:
    """ASGI middleware: an explore page's HTML gets the first paint of its link's main chart
    where a run has drawn it (``recall``); every other response passes untouched."""

    def __init__(self, app, bundle_url: str):
        self.app = app
        self.bundle_url = bundle_url

    async def __call__(self, scope, receive, send):
        found = None
        if scope["type"] == "http" and scope["method"] == "GET":
            try:
                found = recall(scope["path"], scope.get("query_string", b"").decode("latin-1"))
            except Exception:  # a link this cannot read loads the page as Streamlit serves it
                _LOG.exception("first paint: could not read %r", scope.get("query_string"))
        if found is None:
            await self.app(scope, receive, send)
            return
        # the page as a file, whole and plain: no 304 for a cached copy of another paint,
        # no gzip (this gzips the page once it is complete)
        asked = dict(scope["headers"])
        scope = {**scope, "headers": [(k, v) for k, v in scope["headers"] if k not in (
            b"accept-encoding", b"if-none-match", b"if-modified-since", b"range")]}
        gzip_ok = b"gzip" in asked.get(b"accept-encoding", b"")
        start, chunks = None, []

        async def keep(message):
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return
            await send_page(start, b"".join(chunks))

        async def send_page(start_msg, body):
            headers = dict((k.lower(), v) for k, v in start_msg.get("headers", []))
            page = None
            if (start_msg["status"] == 200 and b"text/html" in headers.get(b"content-type", b"")
                    and b"content-encoding" not in headers):
                page = inject(body.decode(), found[0], found[1], self.bundle_url)
            if page is not None:
                body = page.encode()
                for name in (b"etag", b"last-modified", b"accept-ranges"):
                    headers.pop(name, None)
                if gzip_ok:
                    body = gzip.compress(body, compresslevel=5)
                    headers[b"content-encoding"] = b"gzip"
                headers[b"vary"] = b"Accept-Encoding"
                headers[b"content-length"] = str(len(body)).encode()
                headers[b"cache-control"] = b"no-cache"
            await send({**start_msg, "headers": list(headers.items())})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, keep)

"""The first paint: a link's main chart drawn from the page's HTML, before Streamlit boots.

Why: a fresh visitor used to wait for Streamlit's frontend to boot (~1.1 s on 2 cores, all
of a bare title page), render every element of the run, mount the chart and only then load
and run plotly.js (~0.5 s) and draw: 2.4-2.8x the bare title page (benchmarks/first_chart.py).
Streamlit runs no app code in the browser before it has rendered a run's elements, so the
chart has to come with the HTML itself.

How: every run of an explore page remembers the bytes its main chart sent (``remember``,
keyed by the page and the run's ``Settings``). When a browser asks for a page's HTML, the
middleware (app/first_paint_http.py, installed by app/serve.py) parses the link's query into
``Settings`` exactly as a fresh session does; where a run has drawn that view before, it adds
to Streamlit's index.html an overlay with the page's title and that very chart, plotly.js
(served gzipped, kept by the browser for good) and a script that draws it
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
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field, replace

from streamlit.runtime.state.query_params import QueryParams

from app import tour
from app.state import Settings

# the explore pages, by url_path; every path the app serves a page at ("" is "/", Unroll;
# a bare scene link may name any)
EXPLORE = frozenset({"unroll", "hidden", "gates", "gradients", "chaos", "scan", "recipe"})
PAGE_PATHS = EXPLORE | {"", "train", "sweeps"}
MAX_SPEC = 2_000_000  # bytes of one chart (T = 1000, H = 128 is ~0.9 MB)
MAX_TOTAL = 64_000_000  # bytes kept (charts, their settings, finished pages), oldest out first


@dataclass
class Kept:
    """A main chart as a run sent it, and the pages made from it (made once, on demand)."""

    key: tuple  # (page, Settings)
    title: str  # the page's
    chart_title: str
    spec: bytes
    size: int
    pages: dict = field(default_factory=dict)  # (Streamlit's index digest, gzip) -> bytes


_lock = threading.Lock()
_kept: OrderedDict[tuple[str, Settings], Kept] = OrderedDict()
_total = 0


def explore_page(url_path: str) -> str | None:
    """The explore page a path (or a page's url_path) names, None for any other."""
    name = url_path.strip("/") or "unroll"
    return name if name in EXPLORE else None


def eligible(s: Settings) -> bool:
    """A view a fresh visitor sees exactly as a run drew it: no presenter view (sized to the
    window), no trained network (a token into this server's store, which a session may
    change)."""
    return not (s.present or s.vh or s.weights)


def _shrink() -> None:
    global _total
    while _total > MAX_TOTAL and _kept:
        _total -= _kept.popitem(last=False)[1].size


def remember(page: str | None, s: Settings, title: str, chart_title: str, spec: bytes) -> None:
    """Keep the main chart ``spec`` (app/plot.py's bytes, shown under ``chart_title``) that
    ``page`` (titled ``title``) drew with ``s``."""
    global _total
    if page not in EXPLORE or not eligible(s) or len(spec) > MAX_SPEC:
        return
    key = (page, s)
    kept = Kept(key, title, chart_title, spec,
                len(spec) + len(repr(s)) + 4 * len(title + chart_title))
    with _lock:
        old = _kept.pop(key, None)
        if old is not None and old.spec == spec:
            kept = old  # the same chart again: its pages stay good
        _total += kept.size - (old.size if old is not None else 0)
        _kept[key] = kept
        _shrink()


def link_view(path: str, query: str) -> tuple[str | None, Settings, list[str]]:
    """The page and settings a fresh session opening ``path?query`` starts with, read as
    Streamlit reads a query (its limits, ``embed`` left out) and as app/main.py reads it:
    a bare scene link (``tour.bare_scene_link``) opens its scene's page and settings."""
    if path.strip("/") not in PAGE_PATHS:  # a file, not a page: nothing to read
        return None, Settings(), []
    params = QueryParams()
    params.populate_from_query_string(query)
    raw = {k: params[k] for k in params}
    s, notices = Settings.from_query(raw)
    page = explore_page(path)
    scene = tour.scene(s.scene)
    if tour.bare_scene_link(raw) and scene is not None:
        page, s = scene.page, replace(scene.apply(s.scene), present=s.present, vh=s.vh)
    return page, s, notices


def recall(path: str, query: str) -> Kept | None:
    """The chart a fresh session opening ``path?query`` would draw first, if a run has drawn
    it; None otherwise (or where the link's values need a notice)."""
    page, s, notices = link_view(path, query)
    if page is None or notices or not eligible(s):
        return None
    with _lock:
        found = _kept.get((page, s))
        if found is not None:
            _kept.move_to_end((page, s))
        return found


def page_for(kept: Kept, index: bytes, bundle_url: str, gzipped: bool) -> bytes | None:
    """Streamlit's ``index`` with ``kept``'s first paint (gzipped or not), made once per
    chart and kept with it; None where ``index`` is not the page ``inject`` expects."""
    global _total
    key = (hashlib.sha256(index).digest(), gzipped)
    with _lock:
        made = kept.pages.get(key)
    if made is not None:
        return made
    page = inject(index.decode(), kept.title, kept.chart_title, kept.spec, bundle_url)
    if page is None:
        return None
    made = gzip.compress(page.encode(), compresslevel=6) if gzipped else page.encode()
    with _lock:
        if key not in kept.pages:
            kept.pages[key] = made
            kept.size += len(made)
            if _kept.get(kept.key) is kept:  # still kept: counts
                _total += len(made)
                _shrink()
    return made


def forget() -> None:
    """Drop every remembered chart (tests)."""
    global _total
    with _lock:
        _kept.clear()
        _total = 0


# --- the HTML ------------------------------------------------------------------------------
# The overlay sits where Streamlit's page will be: the sidebar's colour on the left, the
# title at the title's place, the chart under it. It takes no clicks (what lies under it is
# the page booting) and leaves when the page's own chart has drawn (or shown why it could
# not), when the page shows an error, when a run ends without that chart, when the server is
# gone, or 10 s after Streamlit started, whichever comes first.
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

# Streamlit's state, as its frontend writes it on the app's root: a run has ended (it reads
# "initial" before the first), the server is gone, the page shows an error
ENDED = '[data-testid="stApp"][data-test-script-state="notRunning"]'
GONE = '[data-test-connection-state="DISCONNECTED_FOREVER"]'
ERROR = '[data-testid="stException"], [data-testid="stAlertContentError"]'

SCRIPT = """<script>((cfg) => {
  let booted = false;
  const root = document.getElementById('unrolled-first');
  const leave = () => root.remove();
  const boot = () => {  // Streamlit's entry module, as its index.html would have run it
    if (booted) return;
    booted = true;
    const s = document.createElement('script');
    s.type = 'module';
    s.crossOrigin = '';
    s.src = cfg.entry;
    document.head.appendChild(s);
    setTimeout(leave, 10000);
    const watch = setInterval(() => {
      if (!root.isConnected) clearInterval(watch);
      else if (document.querySelector(cfg.error + ', ' + cfg.gone)) leave();
      else if (document.querySelector(cfg.ended)) {  // a run ended: its chart draws now
        clearInterval(watch);
        setTimeout(leave, 1500);
      }
    }, 200);
  };
  setTimeout(boot, 4000);  // never keep Streamlit waiting on plotly.js longer than this
  const fail = () => { leave(); boot(); };
  try {
    const spec = JSON.parse(document.getElementById('unrolled-first-spec').textContent);
    window.__unrolledFirstDrawn = (key) => { if (key === spec.key) leave(); };  // app/plot.py
    const s = document.createElement('script');
    s.src = cfg.bundle;
    s.onerror = fail;
    s.onload = () => {
      if (!root.isConnected) return;
      if (!window.Plotly || !window.Plotly.newPlot) { fail(); return; }
      window.__unrolledPlotly = window.__unrolledPlotly || Promise.resolve(window.Plotly);
      const gd = root.querySelector('.uf-plot');
      gd.style.minHeight = (spec.figure.layout.height || 450) + 'px';
      window.Plotly.newPlot(gd, {...spec.figure, config: {...spec.config, staticPlot: true}})
        .then(() => requestAnimationFrame(() => setTimeout(boot, 0)), fail);
    };
    document.head.appendChild(s);
  } catch (err) {
    fail();
  }
})(CONFIG);</script>"""

# Streamlit's index.html runs its frontend from one module script in the head
ENTRY = re.compile(r'<script type="module" crossorigin src="(?P<src>[^"]+)"></script>')


def inject(index: str, title: str, chart_title: str, spec: bytes, bundle_url: str) -> str | None:
    """Streamlit's ``index`` with the overlay drawing ``spec`` under ``title`` and
    ``chart_title``, its entry module preloaded and started by the overlay's script; None
    where ``index`` is not the page this expects (a Streamlit upgrade): it goes out as it is.
    """
    found = ENTRY.search(index)
    if found is None or "<head>" not in index or "</body>" not in index:
        return None
    src = found.group("src")
    head = index[:found.start()] + f'<link rel="modulepreload" crossorigin href="{src}">'
    # plotly.js first in the queue, ahead of Streamlit's ~55 module chunks
    head = head.replace("<head>", f'<head><link rel="preload" as="script" fetchpriority="high" '
                                  f'href="{html.escape(bundle_url)}">', 1)
    # JSON inside a <script>: no "<" at all (only strings hold one; JSON reads \\u003c back),
    # so nothing in it can end or re-open the element
    data = spec.decode().replace("<", "\\u003c")
    settings = json.dumps({"entry": src, "bundle": bundle_url, "ended": ENDED, "gone": GONE,
                           "error": ERROR}).replace("<", "\\u003c")
    body = (STYLE + '<div id="unrolled-first" aria-hidden="true"><div class="uf-side"></div>'
            f'<div class="uf-main"><div class="uf-title">{html.escape(title)}</div>'
            '<div class="uf-wait">Loading the controls and the equations…</div>'
            f'<div class="uf-chart-title">{html.escape(chart_title)}</div>'
            '<div class="uf-plot"></div></div></div>'
            f'<script id="unrolled-first-spec" type="application/json">{data}</script>'
            + SCRIPT.replace("CONFIG", settings))
    rest = index[found.end():]
    return head + rest.replace("</body>", body + "</body>", 1)

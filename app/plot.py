"""Plotly charts that update in place: one Plotly graph per chart key, each rerun's figure
applied to it with ``Plotly.react``.

Why not ``st.plotly_chart``: in Streamlit 1.67 its element id is a hash of the figure, so a
new figure is a new element. Every slider move unmounted the chart and drew a fresh one
from nothing: Plotly's share of a slider move on the Hidden state page roughly halved when
the graph is reacted instead (streamlit/streamlit#16052, open, gives keyed charts a stable
id). This is an ``st.components.v2`` component with a key, mounted in the page's own DOM:
its script runs again with each new figure and reacts the graph it drew before.

plotly.js: the app draws only scatter, bar and heatmap traces, so the page loads plotly's
cartesian partial bundle of the same version as the plotly.js inside the installed plotly
package (``app/static/plotly-cartesian-<version>.min.js.gz``, from the npm package
``plotly.js-cartesian-dist-min``, MIT, see ``app/static/plotly.js-LICENSE.txt``; made with
``npm pack plotly.js-cartesian-dist-min@<version>`` and ``gzip -9 -n``): 1.5 MB to parse
instead of 4.8 MB; a fresh browser runs it in ~0.4 s instead of ~1.0 s, and drew the
Gradients page's first chart 0.7 s sooner on loopback, 1.3 s on a slow link
(benchmarks/first_chart.py). It is stored gzipped and served as it is, 0.5 MB
(Streamlit's file route gzips other responses at level 9 in Python on every request: 0.6 s
of server CPU per visitor for the full plotly.js),
fetched from the browser's HTTP cache when it is there (the route sends no max-age; a
returning visitor downloads nothing), decompressed in the page and run as a script. Where
that fails, or the installed plotly has another plotly.js version, the full plotly.min.js
from the plotly package loads instead. Both are served by the app itself through
Streamlit's component file route (v1 components declared only for that route): no network
at run time.
"""

from __future__ import annotations

import hashlib
import json

import streamlit as st
import streamlit.components.v1 as components
from plotly.io.json import to_json_plotly

from app.export import frame_name
from app.plotly_files import (  # noqa: F401 (plot.PLOTLY_VERSION and the rest: one place)
    BUNDLE,
    BUNDLE_TRACES,
    HAS_BUNDLE,
    PACKAGE_DATA,
    PLOTLY_JS,
    PLOTLY_VERSION,
    STATIC,
)
from app.views.common import CONTROLS_PX

_plotly_files = components.declare_component("plotlyjs", path=str(PACKAGE_DATA))
PLOTLY_URL = f"./component/{_plotly_files.name}/{PLOTLY_JS}"
_bundle_files = components.declare_component("plotlybundle", path=str(STATIC))
# its content's hash in the URL: a browser may keep it for good (fetched with force-cache)
BUNDLE_URL = (f"./component/{_bundle_files.name}/{BUNDLE}?v="
              + hashlib.sha256((STATIC / BUNDLE).read_bytes()).hexdigest()[:16]
              if HAS_BUNDLE else None)

# plotly.js loads once per page, when the first chart mounts: the gzipped partial bundle
# fetched (from the HTTP cache if it is there: the URL carries its hash), decompressed, run
# as a script from a blob URL; where any of that fails, the full plotly.min.js. A page whose
# HTML brought a first paint (app/first_paint.py) has run plotly.js already and set
# window.__unrolledPlotly: nothing loads again.
LOADER = """
const runScript = (src) => new Promise((resolve, reject) => {
  const s = document.createElement('script');
  s.src = src;
  s.onload = () => (window.Plotly && window.Plotly.react ? resolve(window.Plotly)
    : reject(new Error('plotly.js from ' + src + ' did not define Plotly')));
  s.onerror = () => reject(new Error('plotly.js did not load from ' + src));
  document.head.appendChild(s);
});
const runBundle = async (bundle) => {
  const res = await fetch(bundle, { cache: 'force-cache' });
  if (!res.ok) throw new Error('HTTP ' + res.status + ' for ' + bundle);
  const code = await new Response(res.body.pipeThrough(new DecompressionStream('gzip'))).blob();
  const url = URL.createObjectURL(new Blob([code], { type: 'text/javascript' }));
  try { return await runScript(url); } finally { URL.revokeObjectURL(url); }
};
const loadPlotly = ({ src, bundle }) => window.__unrolledPlotly || (window.__unrolledPlotly =
  (bundle && typeof DecompressionStream === 'function'
    ? runBundle(bundle).catch((err) => {
      console.warn('Unrolled: the partial plotly.js bundle failed, loading the full one', err);
      return runScript(src);
    })
    : runScript(src)));
"""

# Runs on mount and again with each new figure; the graph div and plotly.js (loaded once per
# page) outlive the runs. Charts are drawn one at a time, in page order, with a paint after
# each: the first chart a slider changes shows before the next ones are computed. A figure
# replaced before its turn is skipped. Failures become a message in the chart's place. The
# cleanup runs when the chart leaves the page (Plotly.purge drops its window listeners).
# An animated figure gets the bar of ``live_controls`` under it: Play runs Plotly.animate
# over the frames from the current one, the range input jumps to a frame, Pause stops.
SCRIPT = LOADER + """
const afterPaint = () => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));

function animationBar(gd) {
  const bar = document.createElement('div');
  bar.className = 'unrolled-anim';
  bar.hidden = true;
  bar.innerHTML = '<button type="button" class="unrolled-play">▶ Play</button>'
    + '<button type="button" class="unrolled-pause">❚❚ Pause</button>'
    + '<input type="range" class="unrolled-step" min="0" max="0" step="1" value="0"'
    + ' aria-label="Animation step"><span class="unrolled-current"></span>';
  const [play, pause, range, current] = bar.children;
  const c = () => gd.__unrolledControls;
  bar.show = (i) => { range.value = String(i); current.textContent = c().prefix + c().labels[i]; };
  // Plotly.animate rejects when a newer call interrupts it: expected here
  const animate = (names, duration) => window.Plotly.animate(gd, names, {
    mode: 'immediate', transition: { duration: 0 },
    frame: { duration, redraw: names[0] !== null && c().redraw } }).catch(() => {});
  bar.stop = () => {
    if (gd.__unrolledPlaying) { gd.__unrolledPlaying = false; animate([null], 0); }
  };
  range.addEventListener('input', () => {
    const i = Number(range.value);
    gd.__unrolledPlaying = false;
    bar.show(i);
    animate([c().names[i]], 0);
  });
  play.addEventListener('click', () => {
    const names = c().names, i = Number(range.value);
    gd.__unrolledPlaying = true;
    animate(names.slice(i >= names.length - 1 ? 0 : i + 1), c().duration)
      .then(() => { gd.__unrolledPlaying = false; });
  });
  pause.addEventListener('click', bar.stop);
  return bar;
}

function showControls(gd, bar, controls) {
  gd.__unrolledControls = controls;
  bar.hidden = !controls;
  if (!controls) return;
  if (!gd.__unrolledListening) {  // gd.on exists once Plotly has drawn into gd
    gd.on('plotly_animatingframe', (e) => {
      const i = gd.__unrolledControls ? gd.__unrolledControls.names.indexOf(e.name) : -1;
      if (i >= 0) bar.show(i);
    });
    gd.__unrolledListening = true;
  }
  bar.querySelector('.unrolled-step').max = String(controls.names.length - 1);
  bar.style.paddingLeft = controls.left + 'px';
  bar.show(0);
}

export default function ({ data, parentElement }) {
  const spec = JSON.parse(new TextDecoder().decode(data));  // bytes: see spec_json
  let gd = parentElement.querySelector('.unrolled-plot');
  let note = parentElement.querySelector('.unrolled-plot-error');
  let bar = parentElement.querySelector('.unrolled-anim');
  let title = parentElement.querySelector('.unrolled-chart-title');
  if (!gd) {
    title = document.createElement('div');
    title.className = 'unrolled-chart-title';
    note = document.createElement('div');
    note.className = 'unrolled-plot-error';
    note.hidden = true;  // takes no room unless something failed
    gd = document.createElement('div');
    gd.className = 'unrolled-plot';
    bar = animationBar(gd);
    parentElement.append(title, note, gd, bar);
  }
  title.textContent = spec.title;  // text, never parsed as HTML
  title.hidden = !spec.title;
  gd.style.minHeight = (spec.figure.layout.height || 450) + 'px';
  gd.__unrolledNext = spec;
  const draw = (Plotly) => {
    const next = gd.__unrolledNext;
    if (!next || !gd.isConnected) return null;
    gd.__unrolledNext = null;
    bar.stop();
    return Plotly.react(gd, { ...next.figure, config: next.config })
      .then(() => {
        note.hidden = true;
        showControls(gd, bar, next.controls);
        if (window.__unrolledFirstDrawn) window.__unrolledFirstDrawn(next.key);  // first_paint
        return afterPaint();
      });
  };
  window.__unrolledQueue = (window.__unrolledQueue || Promise.resolve())
    .then(() => loadPlotly(spec))
    .then(draw)
    .catch((err) => {
      note.textContent = 'This chart could not be drawn: ' + (err.message || err);
      note.hidden = false;
      if (window.__unrolledFirstDrawn) window.__unrolledFirstDrawn(spec.key);  // shown
    });
  return () => window.Plotly && window.Plotly.purge(gd);  // only on unmount
}
"""

# While a rerun is under way Streamlit fades each element it has not re-sent yet (an opacity
# transition per element): on a slider move that repainted the whole page two or three times
# before the chart could draw, ~50 ms of the browser's main thread on the Hidden state page.
# The charts update in place, so wherever one is on the page the fade is off. (The style of a
# component mounted in the page's DOM applies to the whole page.)
# The chart's title is page text above it, so it wraps in a narrow column instead of being
# clipped by Plotly. The animation bar: one row under the plot area, aligned with its left
# edge, big enough to hit on a projector; the current step right-aligned as Plotly's slider
# showed it.
CSS = """
.stElementContainer[data-stale="true"] { opacity: 1 !important; transition: none !important; }
.unrolled-chart-title { font-size: 1.3rem; font-weight: 600; line-height: 1.3;
  color: #0f172a; margin: 0.4rem 0 0 0.2rem; }
.unrolled-plot-error { color: #b91c1c; padding: 0.5rem 0; }
.unrolled-anim { display: flex; align-items: center; gap: 0.5rem; padding: 0 1rem 0.5rem 0; }
.unrolled-anim[hidden], .unrolled-plot-error[hidden], .unrolled-chart-title[hidden] {
  display: none; }
.unrolled-anim button { font: inherit; font-size: 15px; line-height: 1.2; color: #0f172a;
  background: #f8fafc; border: 1px solid #94a3b8; border-radius: 6px;
  padding: 0.3rem 0.75rem; cursor: pointer; white-space: nowrap; }
.unrolled-anim button:hover { border-color: #c2410c; color: #c2410c; }
.unrolled-anim .unrolled-step { flex: 1; min-width: 4rem; height: 1.6rem; margin: 0 0.5rem;
  accent-color: #c2410c; cursor: pointer; }
.unrolled-anim .unrolled-current { font-size: 16px; color: #0f172a; min-width: 5.5em;
  text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
"""

_component = st.components.v2.component("unrolled_plot", js=SCRIPT, css=CSS,
                                        isolate_styles=False)


def live_controls(fig: dict) -> tuple[dict, dict | None]:
    """The figure without Plotly's Play/Pause buttons and step slider, and what the
    component draws in their place: HTML buttons and a range input under the chart.

    The figure builders keep Plotly's own controls, which an exported HTML file needs. On
    the page they cost about a quarter of every redraw (plotly.js lays out and measures a
    button and a label per step each time); the HTML bar costs nothing to redraw. The rows
    the figure kept for them (``CONTROLS_PX``, see ``animation_controls``) come out of its
    bottom margin and height, so the plot area is unchanged and the bar sits under it.
    """
    layout = fig.get("layout") or {}
    sliders, menus = layout.get("sliders") or [], layout.get("updatemenus") or []
    if len(sliders) != 1 or len(menus) != 1 or not fig.get("frames"):
        return fig, None
    steps = sliders[0].get("steps") or []
    names = [frame_name(step.get("args")) for step in steps]
    if not names or None in names:
        return fig, None
    try:  # the Play button of animation_controls; any other menu keeps Plotly's controls
        play = menus[0]["buttons"][0]["args"][1]["frame"]
        duration, redraw = play["duration"], bool(play["redraw"])
    except (KeyError, IndexError, TypeError):
        return fig, None
    controls = {"names": names, "labels": [str(step.get("label", n))
                                            for step, n in zip(steps, names, strict=True)],
                "prefix": (sliders[0].get("currentvalue") or {}).get("prefix", ""),
                "duration": duration, "redraw": redraw,
                "left": (layout.get("margin") or {}).get("l", 0)}
    layout = {k: v for k, v in layout.items() if k not in ("sliders", "updatemenus")}
    margin = dict(layout.get("margin") or {})
    if margin.get("b", 0) >= CONTROLS_PX and layout.get("height", 0) > CONTROLS_PX:
        margin["b"] -= CONTROLS_PX
        layout["height"] -= CONTROLS_PX
        layout["margin"] = margin
    return {**fig, "layout": layout}, controls


def spec_json(fig: dict, config: dict, title: str = "", key: str = "") -> bytes:
    """What the component receives: the figure (as st.plotly_chart serialised it: numpy,
    NaN as null, orjson when installed) with its animation controls taken out
    (``live_controls``), the controls, the title shown above it, its Plotly config, its
    chart key and where plotly.js lies.

    As bytes, which the component passes on as they are: a ``str`` would first be tested as
    a dataframe, which imports pandas and pyarrow into the server (+60 MB, +0.5 s on the
    first chart).
    """
    fig, controls = live_controls(fig)
    return to_json_plotly({"figure": fig, "controls": controls, "title": title,
                           "config": config, "key": key, **_sources(fig)}).encode()


def trace_types(fig: dict) -> set[str]:
    """The trace types a figure draws, its frames' included (no type: scatter)."""
    traces = list(fig.get("data") or [])
    for frame in fig.get("frames") or []:
        traces += [t for t in frame.get("data") or [] if "type" in t]
    return {t.get("type", "scatter") for t in traces}


def _sources(fig: dict) -> dict:
    """Where the page loads plotly.js from: ``bundle``, the partial bundle (None where the
    installed plotly has no bundle of its version), ``src``, the full plotly.js.

    A figure that needs a trace type the bundle lacks is an error: plotly.js would leave
    those traces out without a word. Draw it with one of ``BUNDLE_TRACES``, or change the
    bundle (and ``BUNDLE_TRACES``) for one that has the type.
    """
    if BUNDLE_URL is not None:
        missing = trace_types(fig) - BUNDLE_TRACES
        if missing:
            raise ValueError(f"trace types {sorted(missing)} are not in the app's plotly.js "
                             f"bundle ({BUNDLE}): see app/plot.py")
    return {"src": PLOTLY_URL, "bundle": BUNDLE_URL}


def draw(fig: dict, key: str, config: dict, title: str = "") -> bytes:
    """Draw ``fig`` under ``title`` as the chart ``key``; the next run's figure for that key
    updates it. One element per chart: each element a rerun sends costs the browser ~3 ms.
    Returns the bytes sent (app/first_paint.py keeps a page's main chart's)."""
    spec = spec_json(fig, config, title, key)
    _component(key=key, data=spec, height="content")
    return spec


def sent_figure(proto) -> dict:
    """The figure a chart element carries (its ``BidiComponent`` proto): for tests."""
    return json.loads(proto.bytes)["figure"]

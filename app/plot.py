"""Plotly charts that update in place: one Plotly graph per chart key, each rerun's figure
applied to it with ``Plotly.react``.

Why not ``st.plotly_chart``: in Streamlit 1.67 its element id is a hash of the figure, so a
new figure is a new element. Every slider move unmounted the chart and drew a fresh one
from nothing: Plotly's share of a slider move on the Hidden state page roughly halved when
the graph is reacted instead (streamlit/streamlit#16052, open, gives keyed charts a stable
id). This is an ``st.components.v2`` component with a key, mounted in the page's own DOM:
its script runs again with each new figure and reacts the graph it drew before.

plotly.js is the one in the installed plotly package, served from its folder by Streamlit's
component file route (a v1 component declared only for that route): no network, no copy in
the repository, and always the version the Python package was written for.
"""

from __future__ import annotations

import json
from pathlib import Path

import plotly
import streamlit as st
import streamlit.components.v1 as components
from plotly.io.json import to_json_plotly

PLOTLY_JS = "plotly.min.js"
_plotly_files = components.declare_component(
    "plotlyjs", path=str(Path(plotly.__file__).parent / "package_data"))
PLOTLY_URL = f"./component/{_plotly_files.name}/{PLOTLY_JS}"

# Runs on mount and again with each new figure; the graph div and plotly.js (loaded once per
# page) outlive the runs. Charts are drawn one at a time, in page order, with a paint after
# each: the first chart a slider changes shows before the next ones are computed. A figure
# replaced before its turn is skipped. Failures become a message in the chart's place. The
# cleanup runs when the chart leaves the page (Plotly.purge drops its window listeners).
SCRIPT = """
const loadPlotly = (src) => window.__unrolledPlotly || (window.__unrolledPlotly =
  new Promise((resolve, reject) => {
    const s = document.createElement('script');
    s.src = src;
    s.onload = () => resolve(window.Plotly);
    s.onerror = () => reject(new Error('plotly.js did not load from ' + src));
    document.head.appendChild(s);
  }));
const afterPaint = () => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));

export default function ({ data, parentElement }) {
  const spec = JSON.parse(new TextDecoder().decode(data));  // bytes: see spec_json
  let gd = parentElement.querySelector('.unrolled-plot');
  let note = parentElement.querySelector('.unrolled-plot-error');
  if (!gd) {
    note = document.createElement('div');
    note.className = 'unrolled-plot-error';
    note.style.cssText = 'color:#b91c1c;padding:0.5rem 0';
    note.hidden = true;  // takes no room unless something failed
    gd = document.createElement('div');
    gd.className = 'unrolled-plot';
    parentElement.append(note, gd);
  }
  gd.style.minHeight = (spec.figure.layout.height || 450) + 'px';
  gd.__unrolledNext = spec;
  const draw = (Plotly) => {
    const next = gd.__unrolledNext;
    if (!next || !gd.isConnected) return null;
    gd.__unrolledNext = null;
    return Plotly.react(gd, { ...next.figure, config: next.config })
      .then(() => { note.hidden = true; return afterPaint(); });
  };
  window.__unrolledQueue = (window.__unrolledQueue || Promise.resolve())
    .then(() => loadPlotly(spec.src))
    .then(draw)
    .catch((err) => {
      note.textContent = 'This chart could not be drawn: ' + (err.message || err);
      note.hidden = false;
    });
  return () => window.Plotly && window.Plotly.purge(gd);  // only on unmount
}
"""

_component = st.components.v2.component("unrolled_plot", js=SCRIPT, isolate_styles=False)


def spec_json(fig: dict, config: dict) -> bytes:
    """What the component receives: the figure (as st.plotly_chart serialised it: numpy,
    NaN as null, orjson when installed), its Plotly config and where plotly.js lies.

    As bytes, which the component passes on as they are: a ``str`` would first be tested as
    a dataframe, which imports pandas and pyarrow into the server (+60 MB, +0.5 s on the
    first chart).
    """
    return to_json_plotly({"figure": fig, "config": config, "src": PLOTLY_URL}).encode()


def draw(fig: dict, key: str, config: dict) -> None:
    """Draw ``fig`` as the chart ``key``; the next run's figure for that key updates it."""
    _component(key=key, data=spec_json(fig, config), height="content")


def sent_figure(proto) -> dict:
    """The figure a chart element carries (its ``BidiComponent`` proto): for tests."""
    return json.loads(proto.bytes)["figure"]

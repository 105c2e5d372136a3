"""Plotly charts that update in place: one Plotly graph per chart key, each rerun's figure
applied to it with ``Plotly.react``.

Why not ``st.plotly_chart``: in Streamlit 1.67 its element id is a hash of the figure, so a
new figure is a new element. Every slider move unmounted the chart and drew a fresh one
from nothing, 150-200 ms of the browser's time on our figures, most of issue 3's 300 ms.
(streamlit/streamlit#16052, open, gives keyed charts a stable id.) This is an
``st.components.v2`` component with a key, mounted in the page's own DOM: its script runs
again with each new figure and reacts the graph it drew before.

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
# page) outlive the runs. Failures become a message in the chart's place. The cleanup runs
# when the chart leaves the page (Plotly.purge drops its window listeners).
SCRIPT = """
export default function ({ data, parentElement }) {
  const spec = JSON.parse(data);
  let gd = parentElement.querySelector('.unrolled-plot');
  if (!gd) {
    gd = document.createElement('div');
    gd.className = 'unrolled-plot';
    parentElement.appendChild(gd);
  }
  gd.style.minHeight = (spec.figure.layout.height || 450) + 'px';
  const fail = (what) => {
    gd.textContent = 'This chart could not be drawn: ' + what;
    gd.style.cssText = 'color:#b91c1c;padding:1rem;min-height:0';
  };
  if (!window.__unrolledPlotly) {
    window.__unrolledPlotly = new Promise((resolve, reject) => {
      const s = document.createElement('script');
      s.src = spec.src;
      s.onload = () => resolve(window.Plotly);
      s.onerror = () => reject(new Error('plotly.js did not load from ' + spec.src));
      document.head.appendChild(s);
    });
  }
  window.__unrolledPlotly
    .then((Plotly) => Plotly.react(gd, { ...spec.figure, config: spec.config }))
    .catch((err) => fail(err.message || String(err)));
  return () => window.Plotly && window.Plotly.purge(gd);  // only on unmount
}
"""

_component = st.components.v2.component("unrolled_plot", js=SCRIPT, isolate_styles=False)


def spec_json(fig: dict, config: dict) -> str:
    """What the component receives: the figure (as st.plotly_chart serialised it: numpy,
    NaN as null, orjson when installed), its Plotly config and where plotly.js lies."""
    return to_json_plotly({"figure": fig, "config": config, "src": PLOTLY_URL})


def draw(fig: dict, key: str, config: dict) -> None:
    """Draw ``fig`` as the chart ``key``; the next run's figure for that key updates it."""
    _component(key=key, data=spec_json(fig, config), height="content")


def sent_figure(proto) -> dict:
    """The figure a chart element carries (its ``BidiComponent`` proto): for tests."""
    return json.loads(json.loads(proto.json))["figure"]

"""Which plotly.js the app runs: the version inside the installed ``plotly`` package, and
the partial bundle of that version in ``app/static`` (see app/plot.py). No Streamlit here:
app/serve.py reads it before Streamlit's runtime exists."""

from __future__ import annotations

import re
from pathlib import Path

import plotly

PLOTLY_JS = "plotly.min.js"
PACKAGE_DATA = Path(plotly.__file__).parent / "package_data"
STATIC = Path(__file__).parent / "static"


def plotly_js_version(head: bytes) -> str | None:
    """The version in a plotly.js bundle's banner (``* plotly.js ... v4.1.1``)."""
    found = re.search(rb"plotly\.js[^\n]*? v(\d+\.\d+\.\d+)", head[:400])
    return found.group(1).decode() if found else None


with open(PACKAGE_DATA / PLOTLY_JS, "rb") as _f:
    PLOTLY_VERSION = plotly_js_version(_f.read(400))

# The partial bundle: the trace types it registers (its npm README), which every figure the
# app draws must keep to (app/plot.py's spec_json checks).
BUNDLE = f"plotly-cartesian-{PLOTLY_VERSION}.min.js.gz"
BUNDLE_TRACES = frozenset({"bar", "box", "contour", "heatmap", "histogram", "histogram2d",
                           "histogram2dcontour", "image", "pie", "scatter", "scatterternary",
                           "violin"})
HAS_BUNDLE = (STATIC / BUNDLE).is_file()

"""The chart component's payload: what the browser gets, and what the server must not load."""

import gzip
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from app import plot

ROOT = Path(__file__).resolve().parents[2]


def test_payload_is_the_figure_config_and_local_plotly_js():
    fig = {"data": [{"type": "scatter", "x": np.arange(3), "y": [1.0, float("nan"), np.inf]}],
           "layout": {"height": 300}}
    raw = plot.spec_json(fig, {"displaylogo": False})
    assert isinstance(raw, bytes)
    spec = json.loads(raw)
    assert spec["figure"]["data"][0]["x"] == [0, 1, 2]
    assert spec["figure"]["data"][0]["y"] == [1.0, None, None]  # never NaN/Infinity tokens
    assert spec["config"] == {"displaylogo": False}
    assert spec["src"].startswith("./component/") and spec["src"].endswith("/plotly.min.js")
    assert spec["bundle"].startswith("./component/") and f"/{plot.BUNDLE}?v=" in spec["bundle"]
    assert spec["controls"] is None and spec["title"] == ""


def test_payload_carries_the_title_and_the_animation_controls():
    steps = [{"label": str(t), "method": "animate",
              "args": [[str(t)], {"frame": {"duration": 0, "redraw": True}}]} for t in range(3)]
    play = {"frame": {"duration": 80, "redraw": True}}
    fig = {"data": [{"type": "scatter", "x": [0], "y": [0]}],
           "layout": {"height": 400, "margin": {"l": 70, "b": 200},
                      "sliders": [{"steps": steps, "currentvalue": {"prefix": "t = "}}],
                      "updatemenus": [{"buttons": [{"label": "Play", "args": [None, play]}]}]},
           "frames": [{"name": str(t), "data": [{"x": [t]}]} for t in range(3)]}
    spec = json.loads(plot.spec_json(fig, {}, "A <b>title</b>"))
    assert spec["title"] == "A <b>title</b>"
    assert spec["controls"] == {"names": ["0", "1", "2"], "labels": ["0", "1", "2"],
                                "prefix": "t = ", "duration": 80, "redraw": True, "left": 70}
    layout = spec["figure"]["layout"]
    assert "sliders" not in layout and "updatemenus" not in layout
    assert (layout["height"], layout["margin"]["b"]) == (400 - plot.CONTROLS_PX,
                                                         200 - plot.CONTROLS_PX)
    assert len(spec["figure"]["frames"]) == 3
    assert "sliders" in fig["layout"]  # the caller's figure is left as it was
    odd = {**fig, "layout": {**fig["layout"], "updatemenus": [{"buttons": []}]}}
    assert plot.live_controls(odd) == (odd, None)  # a menu of another shape: Plotly's own


def test_drawing_a_page_does_not_load_pandas_into_the_server():
    """A str payload is first tested as a dataframe, which imports pandas and pyarrow
    (+60 MB per server); spec_json sends bytes."""
    code = ("import sys; from streamlit.testing.v1 import AppTest; "
            "at = AppTest.from_file('app/main.py', default_timeout=60); "
            "at.switch_page('screens/hidden.py'); at.run(); "
            "assert not at.exception and at.get('bidi_component'); "
            "print(sorted(m for m in ('pandas', 'pyarrow') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_the_bundle_is_plotlys_cartesian_build_of_the_installed_plotly_js():
    """The page loads app/static's partial bundle, of the very version of plotly.js the
    installed plotly package bundles (its figures are written for that version). After an
    upgrade of plotly: ``npm pack plotly.js-cartesian-dist-min@<version>``, then
    ``gzip -9 -n -c package/plotly-cartesian.min.js > app/static/plotly-cartesian-<version>
    .min.js.gz`` (and remove the old one)."""
    assert plot.PLOTLY_VERSION and plot.BUNDLE_URL, (
        f"no app/static/{plot.BUNDLE} for plotly.js {plot.PLOTLY_VERSION}: the page falls "
        "back to the full plotly.min.js (4.8 MB)")
    raw = (plot.STATIC / plot.BUNDLE).read_bytes()
    code = gzip.decompress(raw)
    head = code[:300].decode()
    assert f"plotly.js (cartesian - minified) v{plot.PLOTLY_VERSION}" in head
    assert "Licensed under the MIT license" in head
    assert "MIT License" in (plot.STATIC / "plotly.js-LICENSE.txt").read_text()
    assert code.rstrip().endswith(b"window.Plotly = Plotly;\nreturn Plotly;\n}));")
    full = (plot.PACKAGE_DATA / plot.PLOTLY_JS).stat().st_size
    assert len(code) < full / 3 and len(raw) < 600_000  # 1.5 MB to parse, 0.5 MB to send
    assert plot.BUNDLE_URL.endswith("?v=" + hashlib.sha256(raw).hexdigest()[:16])
    assert sorted(p.name for p in plot.STATIC.glob("plotly-*.js.gz")) == [plot.BUNDLE]


def test_every_trace_type_the_pages_draw_is_in_the_bundle():
    """What the builders draw (every page at its defaults, and the other cells, layers and
    losses that change which charts show) keeps to the bundle's trace types; a figure that
    does not is refused loudly (plotly.js would drop its traces without a word)."""
    from streamlit.testing.v1 import AppTest

    from tests.app.charts import figures

    seen = set()
    for page, query in [("screens/unroll.py", {}), ("screens/hidden.py", {}),
                        ("screens/gates.py", {"cell": "lstm"}), ("screens/gates.py",
                                                                 {"cell": "gru"}),
                        ("screens/gradients.py", {"cell": "lstm", "clip": "norm"}),
                        ("screens/gradients.py", {"layers": "2", "loss": "every"}),
                        ("screens/chaos.py", {}), ("screens/train.py", {})]:
        at = AppTest.from_file(str(ROOT / "app/main.py"), default_timeout=120)
        for k, v in {"T": "40", "hidden": "8", **query}.items():
            at.query_params[k] = v
        at.switch_page(page)
        at.run()
        assert not at.exception, (page, at.exception)
        for fig in figures(at):
            seen |= plot.trace_types(fig)
    assert {"scatter", "heatmap", "bar"} <= seen <= plot.BUNDLE_TRACES, seen


def test_a_trace_type_outside_the_bundle_is_an_error_not_a_blank_chart():
    fig = {"data": [{"type": "scatter", "x": [0], "y": [0]}],
           "frames": [{"data": [{"type": "scatter3d", "x": [0], "y": [0], "z": [0]}]}]}
    assert plot.trace_types(fig) == {"scatter", "scatter3d"}
    with pytest.raises(ValueError, match="scatter3d"):
        plot.spec_json(fig, {})
    assert plot.trace_types({"data": [{"x": [0]}]}) == {"scatter"}  # plotly's default type


"""The chart component's payload: what the browser gets, and what the server must not load."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

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

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

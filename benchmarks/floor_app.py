"""The floor for benchmarks/app_speed.py: Streamlit's rerun with nothing else in it.

A sidebar slider labelled like the app's and one chart through the app's own chart
component (app/plot.py) holding a single trace of T points: what a slider move costs on this
machine before the app draws or computes anything. Not part of the app.
"""

import sys
from pathlib import Path

import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app import plot  # noqa: E402

T = st.sidebar.slider("Sequence length T", 1, 1000, 50, key="w_T")
plot.draw({"data": [{"type": "scatter", "x": list(range(T)), "y": [t % 7 for t in range(T)]}],
           "layout": {"height": 400}}, key="floor", config={"displaylogo": False})

"""The floor for benchmarks/first_chart.py: a bare Streamlit page with only a title.

How long a fresh browser takes to show Streamlit's own page on this machine, before the app
imports, computes or draws anything. With ``?chart=1`` it also draws one small
``st.plotly_chart`` (Streamlit's own plotly.js, loaded on demand), for reference. Not part
of the app.
"""

import streamlit as st

st.title("Unrolled")
if st.query_params.get("chart"):
    st.plotly_chart({"data": [{"type": "scatter", "x": [0, 1, 2], "y": [0, 1, 0]}],
                     "layout": {"height": 400}}, key="floor")

"""Hand Streamlit a figure it does not validate again.

``st.plotly_chart`` turns a dict into ``go.Figure(**spec)`` to validate it: 100-160 ms per
animated chart here, against 3-5 ms for the JSON it sends (measured on the Gradients,
Hidden state and Gates figures, LSTM T=200 H=64). A ``go.Figure`` is taken as already
valid and only asked for ``to_dict()``, so this subclass returns the spec as built. The
figure builders are validated by the tests instead (tests/app/test_fast_figure.py), once,
not on every rerun of every viewer.
"""

from __future__ import annotations

import plotly.graph_objects as go


class SpecFigure(go.Figure):
    """An empty go.Figure whose ``to_dict()`` is the given plain-dict spec."""

    def __init__(self, spec: dict):
        super().__init__()
        self._spec = spec

    def to_dict(self) -> dict:
        return self._spec

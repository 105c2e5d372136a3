"""SpecFigure skips Streamlit's validation, so every builder's output is validated here."""

import plotly
import plotly.graph_objects as go

from app.fast_figure import SpecFigure


def test_streamlit_takes_the_spec_as_is():
    spec = {"data": [{"type": "scatter", "y": [1, 2]}], "layout": {"height": 300}}
    out = plotly.tools.return_figure_from_figure_or_data(SpecFigure(spec), True)
    assert out is spec


def test_an_invalid_spec_is_still_caught_by_plotly():
    bad = {"data": [{"type": "scatter", "y": [1], "no_such_property": 1}]}
    try:
        go.Figure(bad)
    except ValueError:
        return
    raise AssertionError("plotly accepted an invalid property")

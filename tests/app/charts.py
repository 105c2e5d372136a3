"""AppTest helpers: a page opened on a query, and the charts it drew (app/plot.py's
component) as figure dicts."""

from pathlib import Path

from streamlit.testing.v1 import AppTest

from app import plot

MAIN = str(Path(__file__).resolve().parents[2] / "app" / "main.py")


def figures(at) -> list[dict]:
    return [plot.sent_figure(c.proto) for c in at.get("bidi_component")
            if c.proto.component_name == "unrolled_plot"]


def open_page(page: str, query: dict) -> AppTest:
    """``page`` (e.g. "screens/gradients.py") opened on ``query``, run once, no exception."""
    at = AppTest.from_file(MAIN, default_timeout=120)
    for key, value in query.items():
        at.query_params[key] = value
    at.switch_page(page)
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at

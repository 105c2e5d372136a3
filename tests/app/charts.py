"""The charts an AppTest run drew (app/plot.py's component), as figure dicts."""

from app import plot


def figures(at) -> list[dict]:
    return [plot.sent_figure(c.proto) for c in at.get("bidi_component")
            if c.proto.component_name == "unrolled_plot"]

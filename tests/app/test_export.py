"""Export for slides: offline HTML, one frame as a figure, PNG and GIF through Chromium."""

from __future__ import annotations

import io
import os
from html.parser import HTMLParser

import pytest

from app import export
from app.views.common import animation_controls, base_layout, controls_margin

N_FRAMES = 5


def tiny_figure() -> dict:
    """2 traces (a line and a moving dot), 5 frames that move only the dot (trace 1)."""
    layout = base_layout("Tiny", height=300, margin={"b": controls_margin()},
                         xaxis={"range": [-0.5, 4.5]}, yaxis={"range": [-1, 17]})
    names = [str(t) for t in range(N_FRAMES)]
    layout.update(animation_controls(names, layout, prefix="t = "))
    data = [{"type": "scatter", "mode": "lines", "x": list(range(5)),
             "y": [t * t for t in range(5)], "name": "curve"},
            {"type": "scatter", "mode": "markers", "x": [0], "y": [0], "name": "dot",
             "marker": {"size": 14, "color": "#c2410c"}}]
    frames = [{"name": n, "traces": [1], "data": [{"x": [t], "y": [t * t]}]}
              for t, n in enumerate(names)]
    return {"data": data, "layout": layout, "frames": frames}


class _Urls(HTMLParser):
    """src/href attributes of the page's real tags (not strings inside plotly.js's code)."""

    def __init__(self):
        super().__init__()
        self.urls, self.scripts = [], 0

    def handle_starttag(self, tag, attrs):
        self.scripts += tag == "script"
        self.urls += [v for k, v in attrs if k in ("src", "href") and v]


def test_html_is_offline_and_holds_every_frame():
    fig = tiny_figure()
    page = export.to_html(fig).decode("utf-8")
    for name in ("0", "1", "2", "3", "4"):
        assert page.count(f'"name":"{name}"') + page.count(f'"name": "{name}"') == 1
    assert "Plotly.addFrames" in page and "plotly.js v" in page  # plotly.js is inlined
    assert '"▶ Play"' in page or "\\u25b6 Play" in page
    assert 'src="http' not in page.split("<script>", 1)[0]
    parser = _Urls()
    parser.feed(page)
    assert parser.scripts >= 2
    assert [u for u in parser.urls if "//" in u] == []  # no script, style or font from a URL
    assert "cdn.plot.ly/plotly" not in page.replace('dflt:"https://cdn.plot.ly/un/"', "")
    assert "<title>Tiny</title>" in page


def test_frame_figure_applies_the_frame_to_its_traces():
    fig = tiny_figure()
    out = export.frame_figure(fig, 3)
    assert "frames" not in out
    assert out["data"][1]["x"] == [3] and out["data"][1]["y"] == [9]
    assert out["data"][1]["marker"] == {"size": 14, "color": "#c2410c"}  # merged, not replaced
    assert out["data"][0] is fig["data"][0]  # untouched traces are shared
    assert out["layout"]["sliders"][0]["active"] == 3
    assert fig["data"][1]["x"] == [0] and fig["layout"]["sliders"][0]["active"] == 0
    assert export.frame_figure(fig, -1)["data"][1]["x"] == [4]
    with pytest.raises(IndexError):
        export.frame_figure(fig, N_FRAMES)


def test_frame_without_traces_updates_traces_in_order_and_layout():
    fig = tiny_figure()
    fig["frames"] = [{"name": "a", "data": [{"y": [1] * 5}],
                      "layout": {"xaxis": {"title": {"text": "moved"}}}}]
    out = export.frame_figure(fig, 0)
    assert out["data"][0]["y"] == [1] * 5 and out["data"][0]["name"] == "curve"
    assert out["layout"]["xaxis"] == {"range": [-0.5, 4.5], "title": {"text": "moved"}}


def test_pick_frames_spreads_and_keeps_the_last():
    assert export.pick_frames(5, 60) == [0, 1, 2, 3, 4]
    picked = export.pick_frames(120, 60)
    assert len(picked) == 60 and picked[0] == 0 and picked[-1] == 119
    assert export.pick_frames(10, 1) == [9]
    assert export.gif_size(3840, 2160) == (1280, 720)


def test_missing_browser_is_a_plain_runtime_error(monkeypatch):
    monkeypatch.setenv("BROWSER_PATH", "/nonexistent/chromium")
    with pytest.raises(RuntimeError, match="needs Chromium at /usr/bin/chromium"):
        export.to_png(tiny_figure(), width=320, height=180, scale=1)


@pytest.fixture(scope="module")
def chromium():
    if not os.path.exists(export.CHROMIUM):
        reason = f"Debian Chromium not found at {export.CHROMIUM} (apt-get install chromium)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason + "; CI=true, so this is an error")
        pytest.skip(reason)
    return export.CHROMIUM


def test_png_and_gif_through_chromium(chromium, monkeypatch):
    from PIL import Image

    monkeypatch.delenv("BROWSER_PATH", raising=False)
    fig = tiny_figure()
    png = export.to_png(fig, frame=2, width=320, height=180, scale=1)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert os.environ["BROWSER_PATH"] == chromium
    with Image.open(io.BytesIO(png)) as img:
        assert img.size == (320, 180)

    seen = []
    gif = export.to_gif(fig, fps=5, width=320, height=180, progress=seen.append)
    with Image.open(io.BytesIO(gif)) as img:
        assert img.format == "GIF" and img.size == (320, 180)
        assert img.n_frames == N_FRAMES
        img.seek(0)
        assert img.convert("RGB").getpixel((2, 2)) == (255, 255, 255)  # white stays white
    assert seen[-1] == 1.0 and seen == sorted(seen)


def _panel_page():
    from app.export_panel import export_panel
    from tests.app.test_export import tiny_figure

    export_panel(tiny_figure(), "Tiny chart")


def test_panel_draws_when_open_builds_html_on_click_and_shows_errors_as_messages(monkeypatch):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_function(_panel_page, default_timeout=60)
    at.run()
    assert not at.exception
    assert not at.button  # closed: its widgets are not even drawn
    at.session_state["export-tiny-chart-popover"] = True  # what opening it does
    at.run()
    assert [b.label for b in at.button] == ["Python script and notebook", "Build HTML",
                                            "Render PNG (1920 × 1080)",
                                            "Render GIF (5 frames)"]
    assert not at.get("download_button")  # nothing is built on an ordinary rerun
    at.button(key="export-tiny-chart-code").click().run()
    (download,) = at.get("download_button")
    assert download.proto.label == "Download unrolled_view.zip" and not at.exception
    at.button(key="export-tiny-chart-html").click().run()
    (download,) = at.get("download_button")
    assert download.proto.label.startswith("Download tiny-chart.html")

    monkeypatch.setenv("BROWSER_PATH", "/nonexistent/chromium")
    at.button(key="export-tiny-chart-png").click().run()
    assert not at.exception and not at.get("download_button")
    assert "needs Chromium at /usr/bin/chromium" in at.error[0].value


def test_images_carry_no_dead_slider_but_keep_the_step_it_shows():
    fig = tiny_figure()
    still = export._static(export.frame_figure(fig, 3))
    layout = still["layout"]
    assert "sliders" not in layout and "updatemenus" not in layout
    assert [a["text"] for a in layout["annotations"]] == ["t = 3"]
    plot_px = fig["layout"]["height"] - fig["layout"]["margin"]["t"] - fig["layout"]["margin"]["b"]
    assert layout["height"] - layout["margin"]["t"] - layout["margin"]["b"] == plot_px
    assert layout["height"] < fig["layout"]["height"]  # the rail's row is gone
    assert "sliders" in fig["layout"]  # the figure itself (and so HTML export) keeps it
    html_text = export.to_html(fig).decode()
    assert '"sliders"' in html_text

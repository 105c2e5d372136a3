"""The first paint (app/first_paint.py): a link's HTML carries the very chart a run drew for
its settings, and nothing where that is not certain; the HTML stays Streamlit's otherwise."""

import asyncio
import gzip
import json
from pathlib import Path

import pytest
import streamlit
from streamlit.testing.v1 import AppTest

from app import first_paint, tour
from app.state import Settings
from tests.app.charts import MAIN, open_page

INDEX = (Path(streamlit.__file__).parent / "static" / "index.html").read_text()
BUNDLE = "./unrolled/plotly-cartesian-4.1.1.0123456789abcdef.min.js"


@pytest.fixture(autouse=True)
def _empty():
    first_paint.forget()
    yield
    first_paint.forget()


def _sent(at, key: str) -> bytes:
    [c] = [c for c in at.get("bidi_component") if json.loads(c.proto.bytes)["key"] == key]
    return c.proto.bytes


def test_a_page_run_remembers_its_main_chart_for_the_links_that_open_it():
    at = open_page("screens/gradients.py", {"cell": "lstm", "T": "200"})
    title, spec = first_paint.recall("/gradients", "cell=lstm&T=200")
    assert spec == _sent(at, "grad_norms")  # the bytes the page sent, not a copy made apart
    assert title == "Gradients through time"
    # any link a fresh session reads as the same settings
    assert first_paint.recall("/gradients/", "T=200&cell=lstm&cell=lstm")[1] == spec
    assert first_paint.recall("/gradients", "cell=lstm&T=200&unknown=1")[1] == spec
    # other settings, another page, a page without a first paint: nothing
    assert first_paint.recall("/gradients", "cell=lstm&T=201") is None
    assert first_paint.recall("/hidden", "cell=lstm&T=200") is None
    assert first_paint.recall("/train", "cell=lstm&T=200") is None
    assert first_paint.recall("/nowhere", "") is None


def test_the_default_page_is_both_slash_and_unroll():
    at = open_page("screens/unroll.py", {})
    spec = _sent(at, "unroll")
    assert first_paint.recall("/", "")[1] == spec
    assert first_paint.recall("/unroll", "")[1] == spec


def test_a_bare_scene_link_is_its_scenes_page_and_settings():
    number = next(n for n, sc in enumerate(tour.SCENES, 1)
                  if sc.page in ("hidden", "gradients", "gates"))
    at = AppTest.from_file(MAIN, default_timeout=120)
    at.query_params["scene"] = str(number)
    at.run()
    assert not at.exception
    key = {"hidden": "hidden_state", "gradients": "grad_norms", "gates": "gates"}
    spec = _sent(at, key[tour.SCENES[number - 1].page])
    for path in ("/", "/unroll", "/hidden"):  # whatever path the link named
        assert first_paint.recall(path, f"scene={number}")[1] == spec
    assert first_paint.recall("/", f"scene={number}&present=1") is None


def test_only_views_a_fresh_visitor_sees_exactly_as_drawn():
    s = Settings(T=40)
    for page_s in (s, Settings(T=40, present=True), Settings(T=40, weights="abc")):
        first_paint.remember("hidden", page_s, "Hidden state", b'{"title": ""}')
    assert first_paint.recall("/hidden", "T=40") is not None
    for query in ("T=40&present=1", "T=40&weights=abc", "T=40&vh=700"):
        assert first_paint.recall("/hidden", query) is None, query
    # a link whose values need a notice (clamped): its page says why, so no first paint
    first_paint.remember("hidden", Settings(T=1000), "Hidden state", b'{"title": ""}')
    assert first_paint.recall("/hidden", "T=1000") is not None
    assert first_paint.recall("/hidden", "T=99999") is None
    for hostile in ("%ff%fe=%00", "T=" + "9" * 5000, "cell=<script>", "&&&==&", "iv=clamp@x"):
        first_paint.recall("/hidden", hostile)  # reads as Settings or None, never raises


def test_what_is_kept_is_bounded(monkeypatch):
    monkeypatch.setattr(first_paint, "MAX_TOTAL", 250)
    for T in range(10, 20):
        first_paint.remember("hidden", Settings(T=T), "t", b"x" * 100)
    kept = [T for T in range(10, 20) if first_paint.recall("/hidden", f"T={T}") is not None]
    assert kept == [18, 19]
    first_paint.remember("hidden", Settings(T=5), "t", b"x" * (first_paint.MAX_SPEC + 1))
    assert first_paint.recall("/hidden", "T=5") is None


def _spec(title="‖∂L/∂h_t‖ of layer 0", key="grad_norms") -> bytes:
    return json.dumps({"figure": {"data": [{"type": "scatter", "y": [1, 2]}],
                                  "layout": {"height": 300}},
                       "title": title, "key": key, "config": {}}).encode()


def test_the_page_draws_the_chart_then_starts_streamlit():
    page = first_paint.inject(INDEX, "Gradients <through> time", _spec(), BUNDLE)
    entry = first_paint.ENTRY.search(INDEX).group("src")
    assert '<script type="module"' not in page  # started by the overlay's script, after it
    assert f'<link rel="modulepreload" crossorigin href="{entry}">' in page  # still fetched
    head = page[:page.index("</head>")]
    assert head.index(BUNDLE) < head.index("modulepreload")  # plotly.js first in the queue
    assert json.dumps(entry) in page and json.dumps(BUNDLE) in page
    assert "Gradients &lt;through&gt; time" in page
    assert page.index('id="unrolled-first"') > page.index('<div id="root">')


def test_nothing_in_the_spec_can_end_its_script_element():
    evil = "</script><script>alert(1)</script>"
    page = first_paint.inject(INDEX, evil, _spec(title=evil), BUNDLE)
    start = page.index('<script id="unrolled-first-spec" type="application/json">')
    body = page[start:].split(">", 1)[1]
    data = body[:body.index("</script>")]
    assert "<" not in data and json.loads(data)["title"] == evil
    assert "<script>alert" not in page


def test_an_index_it_does_not_know_is_served_untouched():
    assert first_paint.inject("<html><body>other</body></html>", "t", _spec(), BUNDLE) is None
    assert first_paint.inject(INDEX.replace("</body>", ""), "t", _spec(), BUNDLE) is None


def test_the_bundle_is_served_gzipped_and_kept_for_good():
    path, headers = first_paint.bundle_route(b"\x1f\x8bdata", "plotly-cartesian-4.1.1.min.js.gz")
    assert path.startswith("/unrolled/plotly-cartesian-4.1.1.") and path.endswith(".min.js")
    assert headers["content-encoding"] == "gzip" and "immutable" in headers["cache-control"]
    assert first_paint.bundle_route(b"other", "plotly-cartesian-4.1.1.min.js.gz")[0] != path


# --- the middleware, around a stand-in for Streamlit's static route -------------------------
def _streamlit(status=200):
    """Answers like Streamlit's route: gzip where asked, an etag, the index as a file."""
    seen = {}

    async def app(scope, receive, send):
        seen["headers"] = dict(scope["headers"])
        body, headers = INDEX.encode(), [(b"content-type", b"text/html; charset=utf-8"),
                                         (b"etag", b'"abc"')]
        if b"gzip" in seen["headers"].get(b"accept-encoding", b""):
            body, headers = gzip.compress(body), headers + [(b"content-encoding", b"gzip")]
        await send({"type": "http.response.start", "status": status,
                    "headers": headers + [(b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
    return app, seen


def _get(app, path, query=b"", headers=()):
    scope = {"type": "http", "method": "GET", "path": path, "query_string": query,
             "headers": list(headers)}
    out = []

    async def send(message):
        out.append(message)

    async def receive():
        return {"type": "http.request", "body": b""}
    asyncio.run(app(scope, receive, send))
    start, body = out[0], b"".join(m.get("body", b"") for m in out[1:])
    return start["status"], dict(start["headers"]), body


def test_the_middleware_adds_the_first_paint_to_a_remembered_view():
    first_paint.remember("hidden", Settings(T=40), "Hidden state", _spec(key="hidden_state"))
    inner, seen = _streamlit()
    app = first_paint.FirstPaint(inner, BUNDLE)
    status, headers, body = _get(app, "/hidden", b"T=40", [
        (b"accept-encoding", b"gzip, br"), (b"if-none-match", b'"abc"')])
    # Streamlit was asked for the whole plain file (no 304 for a copy holding another paint)
    assert b"accept-encoding" not in seen["headers"] and b"if-none-match" not in seen["headers"]
    assert status == 200 and headers[b"content-encoding"] == b"gzip"
    assert int(headers[b"content-length"]) == len(body) and b"etag" not in headers
    page = gzip.decompress(body).decode()
    assert 'id="unrolled-first"' in page and "Hidden state" in page
    # without gzip asked: plain
    _, headers, body = _get(app, "/hidden", b"T=40")
    assert b"content-encoding" not in headers and b'id="unrolled-first"' in body


def test_the_middleware_leaves_everything_else_as_streamlit_sent_it():
    inner, _ = _streamlit()
    app = first_paint.FirstPaint(inner, BUNDLE)
    plain = _get(inner, "/hidden", b"T=41", [(b"accept-encoding", b"gzip")])
    assert _get(app, "/hidden", b"T=41", [(b"accept-encoding", b"gzip")]) == plain  # not drawn
    first_paint.remember("hidden", Settings(T=41), "Hidden state", _spec())
    inner304, _ = _streamlit(status=304)
    status, _, body = _get(first_paint.FirstPaint(inner304, BUNDLE), "/hidden", b"T=41")
    assert status == 304 and b"unrolled-first" not in body

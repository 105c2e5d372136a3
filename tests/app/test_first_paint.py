"""The first paint (app/first_paint.py): a link's HTML carries the very chart a run drew for
its settings, and nothing where that is not certain; the HTML stays Streamlit's otherwise."""

import asyncio
import gzip
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import streamlit
from streamlit.testing.v1 import AppTest

from app import first_paint, first_paint_http, tour
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
    kept = first_paint.recall("/gradients", "cell=lstm&T=200")
    spec = kept.spec
    assert spec == _sent(at, "grad_norms")  # the bytes the page sent, not a copy made apart
    assert kept.title == "Gradients through time"
    assert kept.chart_title == json.loads(spec)["title"]
    # any link a fresh session reads as the same settings (as Streamlit reads a query)
    for query in ("T=200&cell=lstm&cell=lstm", "cell=lstm&T=200&unknown=1",
                  "cell=lstm&T=200&embed=true&EMBED_OPTIONS=x"):
        assert first_paint.recall("/gradients/", query).spec == spec, query
    # beyond Streamlit's limits the query is ignored: the default view, not this one
    assert first_paint.recall("/gradients", "cell=lstm&T=200" + "&" * 1000) is None
    # other settings, another page, a page without a first paint: nothing
    assert first_paint.recall("/gradients", "cell=lstm&T=201") is None
    assert first_paint.recall("/hidden", "cell=lstm&T=200") is None
    assert first_paint.recall("/train", "cell=lstm&T=200") is None
    assert first_paint.recall("/nowhere", "") is None


def test_the_default_page_is_both_slash_and_unroll():
    at = open_page("screens/unroll.py", {})
    spec = _sent(at, "unroll")
    assert first_paint.recall("/", "").spec == spec
    assert first_paint.recall("/unroll", "").spec == spec


def test_a_bare_scene_link_is_its_scenes_page_and_settings():
    number = next(n for n, sc in enumerate(tour.SCENES, 1)
                  if sc.page in ("hidden", "gradients", "gates"))
    at = AppTest.from_file(MAIN, default_timeout=120)
    at.query_params["scene"] = str(number)
    at.run()
    assert not at.exception
    key = {"hidden": "hidden_state", "gradients": "grad_norms", "gates": "gates"}
    spec = _sent(at, key[tour.SCENES[number - 1].page])
    for path in ("/", "/unroll", "/hidden", "/train"):  # whatever path the link named
        for query in (f"scene={number}", f"scene={number}&present=0", f"scene={number}&vh=0"):
            assert first_paint.recall(path, query).spec == spec, (path, query)
    assert first_paint.recall("/", f"scene={number}&present=1") is None
    # a scene link that carries settings keeps its own page and values (app/talk.py)
    assert first_paint.recall("/unroll", f"scene={number}&T=50") is None


def test_only_views_a_fresh_visitor_sees_exactly_as_drawn():
    s = Settings(T=40)
    for page_s in (s, Settings(T=40, present=True), Settings(T=40, weights="abc")):
        first_paint.remember("hidden", page_s, "Hidden state", "", b'{"title": ""}')
    assert first_paint.recall("/hidden", "T=40") is not None
    for query in ("T=40&present=1", "T=40&weights=abc", "T=40&vh=700"):
        assert first_paint.recall("/hidden", query) is None, query
    # a link whose values need a notice (clamped): its page says why, so no first paint
    first_paint.remember("hidden", Settings(T=1000), "Hidden state", "", b'{"title": ""}')
    assert first_paint.recall("/hidden", "T=1000") is not None
    assert first_paint.recall("/hidden", "T=99999") is None
    for hostile in ("%ff%fe=%00", "T=" + "9" * 5000, "cell=<script>", "&&&==&", "iv=clamp@x"):
        first_paint.recall("/hidden", hostile)  # reads as Settings or None, never raises


def test_what_is_kept_is_bounded(monkeypatch):
    spec = _spec(title="x" * 9_869)
    size = len(repr(Settings(T=10))) + 4 + len(spec)  # the chart, its settings, its title
    monkeypatch.setattr(first_paint, "MAX_TOTAL", 2 * size + 100)
    for T in range(10, 20):
        first_paint.remember("hidden", Settings(T=T), "t", "", spec)
    kept = [T for T in range(10, 20) if first_paint.recall("/hidden", f"T={T}") is not None]
    assert kept == [18, 19]
    # a page made from a kept chart counts too: the oldest goes
    made = len(first_paint.inject(INDEX, "t", "", spec, BUNDLE).encode())
    monkeypatch.setattr(first_paint, "MAX_TOTAL", 2 * size + made - 1)
    page = first_paint.page_for(first_paint.recall("/hidden", "T=19"), INDEX.encode(),
                                BUNDLE, gzipped=False)
    assert len(page) == made
    assert first_paint.recall("/hidden", "T=18") is None
    assert first_paint.recall("/hidden", "T=19").pages  # made once, kept with its chart
    first_paint.remember("hidden", Settings(T=5), "t", "", b"x" * (first_paint.MAX_SPEC + 1))
    assert first_paint.recall("/hidden", "T=5") is None


def _spec(title="‖∂L/∂h_t‖ of layer 0", key="grad_norms") -> bytes:
    return json.dumps({"figure": {"data": [{"type": "scatter", "y": [1, 2]}],
                                  "layout": {"height": 300}},
                       "title": title, "key": key, "config": {}}).encode()


def test_the_page_draws_the_chart_then_starts_streamlit():
    page = first_paint.inject(INDEX, "Gradients <through> time", "‖∂L/∂h_t‖", _spec(), BUNDLE)
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
    page = first_paint.inject(INDEX, evil, evil, _spec(title=evil), BUNDLE)
    start = page.index('<script id="unrolled-first-spec" type="application/json">')
    body = page[start:].split(">", 1)[1]
    data = body[:body.index("</script>")]
    assert "<" not in data and json.loads(data)["title"] == evil
    assert "<script>alert" not in page


def test_an_index_it_does_not_know_is_served_untouched():
    for index in ("<html><head></head><body>other</body></html>", INDEX.replace("</body>", "")):
        assert first_paint.inject(index, "t", "c", _spec(), BUNDLE) is None


def test_the_bundle_is_served_gzipped_and_kept_for_good():
    name = "plotly-cartesian-4.1.1.min.js.gz"
    path, headers = first_paint_http.bundle_route(b"\x1f\x8bdata", name)
    assert path.startswith("/unrolled/plotly-cartesian-4.1.1.") and path.endswith(".min.js")
    assert headers["content-encoding"] == "gzip" and "immutable" in headers["cache-control"]
    assert first_paint_http.bundle_route(b"other", name)[0] != path


# --- the middleware, around a stand-in for Streamlit's static route -------------------------
def _streamlit(status=200):
    """Answers like Streamlit's route: gzip where asked, an etag, the index as a file."""
    seen = {}

    async def app(scope, receive, send):
        seen["headers"] = dict(scope["headers"])
        body, headers = INDEX.encode(), [(b"content-type", b"text/html; charset=utf-8"),
                                         (b"etag", b'"abc"'), (b"set-cookie", b"a=1"),
                                         (b"set-cookie", b"b=2")]
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
    # in a thread of its own: a test run that has Playwright's loop going in this one
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, app(scope, receive, send)).result()
    start, body = out[0], b"".join(m.get("body", b"") for m in out[1:])
    headers = {}
    for k, v in start["headers"]:  # a header sent twice: a list of both
        headers[k] = [*(headers[k] if isinstance(headers[k], list) else [headers[k]]), v] \
            if k in headers else v
    return start["status"], headers, body


def test_the_middleware_adds_the_first_paint_to_a_remembered_view():
    first_paint.remember("hidden", Settings(T=40), "Hidden state", "h_t",
                         _spec(key="hidden_state"))
    inner, seen = _streamlit()
    app = first_paint_http.FirstPaint(inner, BUNDLE)
    status, headers, body = _get(app, "/hidden", b"T=40", [
        (b"accept-encoding", b"gzip, br"), (b"if-none-match", b'"abc"')])
    # Streamlit was asked for the whole plain file (no 304 for a copy holding another paint)
    assert b"accept-encoding" not in seen["headers"] and b"if-none-match" not in seen["headers"]
    assert status == 200 and headers[b"content-encoding"] == b"gzip"
    assert int(headers[b"content-length"]) == len(body) and b"etag" not in headers
    page = gzip.decompress(body).decode()
    assert 'id="unrolled-first"' in page and "Hidden state" in page
    # without gzip asked, or refused: plain
    for refused in ([], [(b"accept-encoding", b"gzip;q=0, br")]):
        _, headers, body = _get(app, "/hidden", b"T=40", refused)
        assert b"content-encoding" not in headers and b'id="unrolled-first"' in body
    # headers Streamlit sends twice stay twice
    assert headers[b"set-cookie"] == [b"a=1", b"b=2"]


def test_the_middleware_leaves_everything_else_as_streamlit_sent_it(monkeypatch):
    inner, _ = _streamlit()
    app = first_paint_http.FirstPaint(inner, BUNDLE)
    plain = _get(inner, "/hidden", b"T=41", [(b"accept-encoding", b"gzip")])
    assert _get(app, "/hidden", b"T=41", [(b"accept-encoding", b"gzip")]) == plain  # not drawn
    first_paint.remember("hidden", Settings(T=41), "Hidden state", "", _spec())
    missing, _ = _streamlit(status=404)
    status, _, body = _get(first_paint_http.FirstPaint(missing, BUNDLE), "/hidden", b"T=41")
    assert status == 404 and b"unrolled-first" not in body
    # a page that cannot be made goes out as Streamlit sent it, not as an error
    monkeypatch.setattr(first_paint, "inject", lambda *a: 1 / 0)
    status, headers, body = _get(app, "/hidden", b"T=41")
    assert status == 200 and body == INDEX.encode() and b"unrolled-first" not in body


def test_gzip_is_what_the_browser_takes():
    for header, takes in ((b"gzip, deflate, br", True), (b"br", False), (b"gzip;q=0", False),
                          (b"GZIP; q=0.5", True), (b"*", True), (b"", False)):
        assert first_paint_http.accepts_gzip(header) is takes, header

"""The first paint over HTTP (app/first_paint.py says what it is): the middleware that gives
an explore page's HTML the first paint of its link's main chart, and the route that serves
the partial plotly.js bundle gzipped, kept by browsers for good. app/serve.py installs both.
"""

from __future__ import annotations

import hashlib
import logging

import anyio
from streamlit import config

from app.first_paint import Kept, page_for, recall

_LOG = logging.getLogger(__name__)


def bundle_route(gz_bytes: bytes, name: str) -> tuple[str, dict[str, str]]:
    """The path the partial plotly.js bundle is served at (its content's hash in the name,
    so a browser keeps it for good) and the headers it goes with."""
    digest = hashlib.sha256(gz_bytes).hexdigest()[:16]
    stem = name.removesuffix(".min.js.gz")
    return (f"/unrolled/{stem}.{digest}.min.js",
            {"content-type": "text/javascript; charset=utf-8", "content-encoding": "gzip",
             "cache-control": "public, max-age=31536000, immutable", "vary": "accept-encoding"})


def accepts_gzip(accept_encoding: bytes) -> bool:
    """Whether an Accept-Encoding header takes gzip (``gzip;q=0`` refuses it)."""
    for part in accept_encoding.decode("latin-1").lower().split(","):
        name, _, params = part.strip().partition(";")
        if name.strip() in ("gzip", "*"):
            q = params.replace(" ", "").removeprefix("q=")
            try:
                return not params or float(q) > 0
            except ValueError:
                return False
    return False


# what this asks Streamlit's file route not to do: a 304 for a copy holding another paint,
# gzip (the finished page is gzipped here), a part of the file
_DROPPED = (b"accept-encoding", b"if-none-match", b"if-modified-since", b"range", b"if-range")


class FirstPaint:
    """ASGI middleware: an explore page's HTML gets the first paint of its link's main chart
    where a run has drawn it (``recall``); every other response passes untouched. Off where
    the server has a base URL path (its page paths and the bundle's route would differ)."""

    def __init__(self, app, bundle_url: str):
        self.app = app
        self.bundle_url = bundle_url

    def _found(self, scope) -> Kept | None:
        if scope["type"] != "http" or scope["method"] != "GET":
            return None
        if (config.get_option("server.baseUrlPath") or "").strip("/"):
            return None
        try:
            return recall(scope["path"], scope.get("query_string", b"").decode("latin-1"))
        except Exception:  # a link this cannot read loads the page as Streamlit serves it
            _LOG.exception("first paint: could not read %r", scope.get("query_string"))
            return None

    async def __call__(self, scope, receive, send):
        kept = self._found(scope)
        if kept is None:
            await self.app(scope, receive, send)
            return
        asked = [(k.lower(), v) for k, v in scope["headers"]]
        gzipped = any(k == b"accept-encoding" and accepts_gzip(v) for k, v in asked)
        scope = {**scope, "headers": [(k, v) for k, v in asked if k not in _DROPPED]}
        held: list[dict] = []  # Streamlit's response, until it is whole

        async def hold(message):
            if held is None:
                await send(message)
                return
            if message["type"] not in ("http.response.start", "http.response.body"):
                await flush(held, message)  # anything else: Streamlit's response as it is
                return
            held.append(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                await finish(held)

        async def flush(messages, *more):
            nonlocal held
            held = None
            for message in (*messages, *more):
                await send(message)

        async def finish(messages):
            start, body = messages[0], b"".join(m.get("body", b"") for m in messages[1:])
            headers = start.get("headers", [])
            plain = (start["status"] == 200 and not any(k.lower() == b"content-encoding"
                                                        for k, _ in headers)
                     and any(k.lower() == b"content-type" and b"text/html" in v
                             for k, v in headers))
            page = None
            if plain:
                try:
                    page = await anyio.to_thread.run_sync(
                        page_for, kept, body, self.bundle_url, gzipped)
                except Exception:
                    _LOG.exception("first paint: the page could not be made")
            if page is None:
                await flush(messages)
                return
            drop = {b"content-length", b"etag", b"last-modified", b"accept-ranges",
                    b"cache-control", b"vary", b"content-encoding"}
            headers = [(k, v) for k, v in headers if k.lower() not in drop] + [
                (b"content-length", str(len(page)).encode()), (b"cache-control", b"no-cache"),
                (b"vary", b"Accept-Encoding")] + ([(b"content-encoding", b"gzip")]
                                                  if gzipped else [])
            await flush([{**start, "headers": headers},
                         {"type": "http.response.body", "body": page}])

        await self.app(scope, receive, hold)

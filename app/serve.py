"""The server: ``streamlit run app/serve.py`` serves app/main.py with the first paint
(app/first_paint.py): an explore page's HTML draws its link's main chart before Streamlit
boots, and the partial plotly.js bundle is served gzipped with a year of caching.

``streamlit run app/main.py`` still serves the same app, without the first paint.
"""

import sys
from pathlib import Path

ROOT = str(Path(__file__).resolve().parent.parent)
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import streamlit as st  # noqa: E402
from starlette.middleware import Middleware  # noqa: E402
from starlette.responses import Response  # noqa: E402
from starlette.routing import Route  # noqa: E402

from app import first_paint_http, plotly_files  # noqa: E402


async def _plotly_bundle(request):
    return Response(_gz, headers=_headers)


if not plotly_files.HAS_BUNDLE:  # no bundle of the installed plotly's plotly.js: no first paint
    app = st.App("main.py")
else:  # the very bundle the chart component loads, so both draw with one plotly.js
    _gz = (plotly_files.STATIC / plotly_files.BUNDLE).read_bytes()
    BUNDLE_PATH, _headers = first_paint_http.bundle_route(_gz, plotly_files.BUNDLE)
    app = st.App("main.py", routes=[Route(BUNDLE_PATH, _plotly_bundle)],
                 middleware=[Middleware(first_paint_http.FirstPaint,
                                        bundle_url="." + BUNDLE_PATH)])

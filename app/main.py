"""Unrolled: the entry point. Sidebar state -> Settings (shared by all pages) -> the chosen
page, then the sidebar's widgets.

Run with ``streamlit run app/main.py``. The repository root goes on sys.path so pages can
``import engine`` and ``import app``.
"""

import sys
from pathlib import Path

ROOT = str(Path(__file__).resolve().parent.parent)
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import streamlit as st  # noqa: E402

from app import first_paint, gc_freeze, lab_state, sidebar, state, sweep_state, talk  # noqa: E402

st.set_page_config(page_title="Unrolled: how RNNs work and fail", layout="wide")

PAGES = [
    st.Page("screens/unroll.py", title="Unroll", url_path="unroll", default=True),
    st.Page("screens/hidden.py", title="Hidden state", url_path="hidden"),
    st.Page("screens/gates.py", title="Gates", url_path="gates"),
    st.Page("screens/gradients.py", title="Gradients", url_path="gradients"),
    st.Page("screens/chaos.py", title="Edge of chaos", url_path="chaos"),
    st.Page("screens/scan.py", title="Parallel scan", url_path="scan"),
    st.Page("screens/recipe.py", title="Elman to LRU", url_path="recipe"),
    st.Page("screens/train.py", title="Training lab", url_path="train"),
    st.Page("screens/sweeps.py", title="Sweeps", url_path="sweeps"),
]
page = st.navigation(PAGES, position="sidebar")
talk.scene_from_url()  # a bare scene link (?scene=8) loads the scene, whatever its path
lab_state.read_url_once()  # the link's tr_ params become the lab's widgets (first run only)
sweep_state.read_url_once()  # the link's sweep id, before the URL is rewritten
goto = talk.pending_page()  # the scene's page, asked for by that link or a tour button
if goto and goto != f"screens/{page.url_path or 'unroll'}.py":
    # the link's present/vh ride along (the widgets hold them too; the next run rewrites all)
    st.switch_page(goto, query_params=st.query_params.to_dict())
if page.url_path in ("train", "sweeps"):
    st.sidebar.info(f"The {page.title} page has its own setup. The controls below "
                    "shape the explore pages (Inspect sends a trained network there).")
settings, notices, trained_entry = sidebar.read()
st.session_state["settings"] = settings
if st.session_state.get("w_layer", settings.layer) != settings.layer:
    st.session_state["w_layer"] = settings.layer
lab_query = (lab_state.query() if page.url_path == "train" else
             sweep_state.query() if page.url_path == "sweeps" else None)
state.write_url(settings, extra=lab_query)
talk.presenter(settings)
for note in notices:
    st.warning(note)
talk.tour_bar(settings)
if not settings.present and page.url_path in ("train", "sweeps"):
    talk.link_box(settings, extra=lab_query)  # explore pages: beside their title (ui.header)
# The page first, the sidebar's widgets after it: the browser applies a rerun's elements in
# the order they are sent, so the chart no longer waits behind ~25 unchanged controls
# (about 35 ms of a slider change). ``finally``: pages end early with st.stop().
st.session_state.pop("page_text", None)  # ui.header sets this run's page paragraph...
st.session_state.pop("page_title", None)  # ...and title
st.session_state["page"] = first_paint.explore_page(page.url_path)  # its main chart: ui.chart
try:
    page.run()
finally:
    if not st.session_state.get("w_scene"):
        st.sidebar.button("▶ Start the guided tour", key="tour-start",
                          on_click=talk.apply_scene, args=(1,), use_container_width=True)
    sidebar.draw(trained_entry, own_network=page.url_path == "chaos")
    gc_freeze.freeze_once()  # after the first page's imports and caches

"""Talk mode: the tour banner, keyboard navigation, the presenter view and deep links.

Everything here is driven by ``Settings`` (``scene``, ``present``, ``vh``) so that it lives in
the URL: a speaker can put a link to scene 5 in presenter view on a slide.
"""

from __future__ import annotations

import copy
from dataclasses import replace
from urllib.parse import urlencode, urlsplit, urlunsplit

import streamlit as st

from app import sidebar, tour
from app.state import Settings

SCENE_PAGES = {
    "unroll": "screens/unroll.py", "hidden": "screens/hidden.py", "gates": "screens/gates.py",
    "gradients": "screens/gradients.py", "chaos": "screens/chaos.py", "train": "screens/train.py",
    "scan": "screens/scan.py", "recipe": "screens/recipe.py",
}
PRESENTER_CHROME_PX = 160  # title, tour bar and margins above the chart in presenter view

# Arrow keys press the tour's Previous/Next buttons; keys typed into inputs or sliders are
# left alone. Guarded so reruns don't stack listeners.
KEYS_JS = """
<style>
.st-key-tour-bar [data-testid="stMarkdownContainer"] p { font-size: 0.95rem; line-height: 1.45;
  margin-bottom: 0; }
</style>
<script>
(() => {
  const doc = window.document;
  if (doc.__unrolledKeys) return;
  doc.__unrolledKeys = true;
  doc.addEventListener("keydown", (e) => {
    const t = e.target;
    if (e.altKey || e.ctrlKey || e.metaKey) return;
    if (["INPUT", "TEXTAREA", "SELECT"].includes(t.tagName) || t.isContentEditable) return;
    if (t.getAttribute && t.getAttribute("role") === "slider") return;
    const want = {ArrowRight: "tour-next", ArrowLeft: "tour-prev"}[e.key];
    if (!want) return;
    const box = doc.querySelector(`.st-key-${want} button`);
    if (box && !box.disabled) { e.preventDefault(); box.click(); }
  });
})();
</script>
"""

# Presenter view: no sidebar or toolbar, the page uses the whole width, big type.
PRESENTER_CSS = """
<style>
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"],
[data-testid="stHeader"], [data-testid="stToolbar"], [data-testid="stDecoration"] {
  display: none !important;
}
[data-testid="stMainBlockContainer"], .block-container {
  max-width: 100% !important; padding: 0.6rem 2rem 0.4rem 2rem !important;
}
[data-testid="stMarkdownContainer"] p, [data-testid="stCaptionContainer"] { font-size: 1.45rem; }
h1 { font-size: 2.4rem !important; padding: 0.2rem 0 !important; }
[data-testid="stMetricValue"] { font-size: 2.6rem !important; }
</style>
"""

# Presenter view learns the window's height once (a query param), so the chart can fill it.
VIEWPORT_JS = """
<script>
(() => {
  const url = new URL(window.location.href);
  if (!url.searchParams.get("vh")) {
    url.searchParams.set("vh", String(window.innerHeight));
    window.location.replace(url.toString());
  }
})();
</script>
"""


def _scene_settings(number: int) -> Settings:
    """Scene ``number``'s settings, in this session's presenter view (or not)."""
    ss = st.session_state
    return replace(tour.scene(number).apply(number),
                   present=bool(ss.get("w_present", False)), vh=int(ss.get("w_vh", 0) or 0))


def apply_scene(number: int) -> None:
    """Callback: load scene ``number`` into the widgets, and ask main.py to open its page.

    Everything the scene does not set goes back to its default, the Training lab's setup
    included (its keys are dropped, and the lab page fills them in again).
    """
    sc = tour.scene(number)
    if sc is None:
        return
    ss = st.session_state
    sidebar.load_widgets(_scene_settings(number))
    job = ss.get("train_job")
    if sc.lab and not (job is not None and job.running):  # never touch a running lab
        for key in [k for k in ss if str(k).startswith("tr_")]:
            del ss[key]
        ss.update(copy.deepcopy(sc.lab))  # the scene's lists are shared by every session
    ss["tour_goto"] = sc.page


def scene_from_url() -> None:
    """A session opened on a bare scene link (``?scene=5``) gets that scene's settings and
    asks for the scene's page, whatever path the link named (main.py switches to it).

    A scene out of range is clamped like any other value, with the notice saying so
    (``?scene=999`` opens scene 11); ``scene=0`` or a non-number opens no tour. A link that
    also carries settings (as ``view_link`` writes them) keeps its own values and page.
    """
    ss = st.session_state
    if "w_cell" in ss:  # not the session's first run: the widgets already hold the truth
        return
    params = {k: st.query_params[k] for k in st.query_params}
    if not tour.bare_scene_link(params):
        return
    s, notices = Settings.validated(params)
    if tour.scene(s.scene) is None:
        return  # no tour: the sidebar reads the URL as usual, notices included
    ss["w_present"], ss["w_vh"] = s.present, s.vh
    apply_scene(s.scene)
    # the sidebar shows these while the view is still the one the link opened
    ss["url_notices"], ss["url_settings"] = notices, _scene_settings(s.scene)


def end_tour() -> None:
    st.session_state["w_scene"] = 0


def pending_page() -> str | None:
    """The page a tour button or a scene link asked for (once), as a path for
    st.switch_page."""
    page = st.session_state.pop("tour_goto", None)
    return SCENE_PAGES.get(page) if page else None


def tour_bar(s: Settings) -> None:
    """The scene's caption and what to look at, with Previous / Next (and the arrow keys)."""
    sc = tour.scene(s.scene)
    if sc is None:
        return
    n = len(tour.SCENES)
    if s.present:  # one line: the chart gets the room, the speaker tells the story
        with st.container(border=True):
            left, mid, right = st.columns([1.5, 7, 1.5], vertical_alignment="center")
            _tour_button(left, s, -1)
            mid.markdown(f"**{s.scene}/{n} {sc.title}.** *Look at:* {sc.look_at}")
            _tour_button(right, s, +1)
    else:  # the title and buttons in one row, the text under them across the full width
        with st.container(border=True, key="tour-bar", gap="small"):
            with st.container(horizontal=True, vertical_alignment="center", gap="small"):
                st.markdown(f"**Scene {s.scene} of {n}: {sc.title}.**", width="stretch")
                _tour_button(st, s, -1)
                _tour_button(st, s, +1)
            st.markdown(f"{sc.caption} *Look at:* {sc.look_at}")
    st.html(KEYS_JS, unsafe_allow_javascript=True)


def _tour_button(where, s: Settings, step: int) -> None:
    """Previous (``step`` -1) or Next / End tour (+1), in ``where`` (a column or ``st``)."""
    width = "stretch" if s.present else "content"
    if step < 0:
        where.button("◀ Previous", key="tour-prev", on_click=apply_scene,
                     args=(s.scene - 1,), disabled=s.scene <= 1, width=width)
    elif s.scene < len(tour.SCENES):
        where.button("Next ▶", key="tour-next", on_click=apply_scene, args=(s.scene + 1,),
                     width=width)
    else:
        where.button("End tour", key="tour-next", on_click=end_tour, width=width)


def presenter(s: Settings) -> None:
    """Presenter view's chrome: hide the sidebar, big type, learn the viewport height."""
    if not s.present:
        return
    st.html(PRESENTER_CSS)
    if not s.vh:
        st.html(VIEWPORT_JS, unsafe_allow_javascript=True)


def main_chart_height(s: Settings, default: int) -> int:
    """In presenter view the main chart fills the window below the title and tour bar."""
    if s.present and s.vh:
        return max(360, s.vh - PRESENTER_CHROME_PX - (110 if s.scene else 0))
    return default


def view_link(s: Settings, page_path: str = "", extra: dict | None = None) -> str:
    """An absolute link that reopens exactly this view (every setting, seed included);
    ``extra`` params ride along (the Training lab's ``tr_`` setup)."""
    try:
        base = st.context.url or ""
    except Exception:  # noqa: BLE001 - outside a browser session (AppTest) there is no URL
        base = ""
    parts = urlsplit(base or "http://127.0.0.1:8501/")
    path = parts.path if not page_path else "/" + page_path.strip("/")
    query = {**{k: v for k, v in s.to_query().items() if k != "vh"}, **(extra or {})}
    return urlunsplit((parts.scheme, parts.netloc, path, urlencode(query), ""))


def link_box(s: Settings, extra: dict | None = None) -> None:
    """'Copy link to this view': the URL in a code box, whose copy button does the rest."""
    # drawn only while open (on_change="rerun"): the links change with every setting
    pop = st.popover("Link to this view", key="link-popover", on_change="rerun")
    if not pop.open:
        return
    with pop:
        st.caption("Opens exactly this view, seed included. Copy it with the button.")
        st.code(view_link(s, extra=extra), language=None, wrap_lines=True)
        present = replace(s, present=True, vh=0)
        st.caption("The same view in presenter view (big type, no sidebar):")
        st.code(view_link(present, extra=extra), language=None, wrap_lines=True)

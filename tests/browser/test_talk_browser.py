"""Talk mode in real Chromium: every scene renders, the arrow keys move through the tour,
presenter view fills the screen at 1280x720 and 1920x1080, and nothing leaves the machine."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

from app import tour
from tests.browser.conftest import ARTIFACTS, wait_chart, wait_idle

LOCAL = {"127.0.0.1", "localhost"}


def _local_only(page) -> None:
    hosts = {urlparse(u).hostname for u in page.requests if not u.startswith(("data:", "blob:"))}
    assert hosts <= LOCAL, f"requests left the machine: {hosts - LOCAL}"


def _scene_in_url(page) -> int:
    return int(parse_qs(urlparse(page.url).query).get("scene", ["0"])[0])


def _banner(page):
    return page.locator("[data-testid='stMarkdownContainer']", has_text=f"of {len(tour.SCENES)}:")


def test_every_scene_renders_and_arrow_keys_walk_the_tour(page):
    page.goto(f"{page.base}/?scene=1")
    wait_idle(page)
    for number, sc in enumerate(tour.SCENES, start=1):
        _banner(page).first.wait_for(timeout=60_000)
        page.wait_for_function(
            f"() => document.body.innerText.includes('Scene {number} of {len(tour.SCENES)}')",
            timeout=60_000)
        wait_idle(page)
        assert page.locator("[data-testid='stException']").count() == 0, sc.title
        assert _scene_in_url(page) == number
        if sc.page != "train":
            page.wait_for_selector(".js-plotly-plot .main-svg", timeout=60_000)
        page.screenshot(path=str(ARTIFACTS / f"tour_scene_{number:02d}.png"))
        if number < len(tour.SCENES):
            page.evaluate("() => document.activeElement && document.activeElement.blur()")
            page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowLeft")
    n = len(tour.SCENES)
    page.wait_for_function(f"() => document.body.innerText.includes('Scene {n - 1} of {n}')",
                           timeout=60_000)
    _local_only(page)


def test_presenter_view_fills_the_screen(browser, server):
    for width, height in ((1280, 720), (1920, 1080)):
        context = browser.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        page.requests = []
        page.on("request", lambda r, p=page: p.requests.append(r.url))
        page.goto(f"{server}/gradients?scene=5&present=1")
        page.wait_for_url("**vh=*", timeout=60_000)
        wait_chart(page)
        page.wait_for_timeout(500)
        assert page.locator("[data-testid='stException']").count() == 0
        assert not page.locator("[data-testid='stSidebar']").is_visible()
        box = page.locator(".js-plotly-plot").first.bounding_box()
        assert box["width"] > 0.85 * width, box
        assert box["y"] + box["height"] <= height + 2, box  # the chart fits on the screen
        assert box["height"] > 0.45 * height, box
        page.screenshot(path=str(ARTIFACTS / f"presenter_{width}x{height}.png"))
        _local_only(page)
        context.close()


def test_link_to_this_view_reopens_it_seed_included(page, browser):
    page.goto(f"{page.base}/gates?cell=gru&seed=5&T=70")
    wait_chart(page)
    page.get_by_text("Link to this view").click()
    page.locator("[data-testid='stCode'] code").first.wait_for(timeout=30_000)
    links = page.locator("[data-testid='stCode'] code").all_inner_texts()
    link = next(x.strip() for x in links if "present" not in x)
    query = parse_qs(urlparse(link).query)
    assert urlparse(link).path == "/gates"
    assert query["seed"] == ["5"] and query["cell"] == ["gru"] and query["T"] == ["70"]
    other = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    other.goto(link)
    wait_chart(other)
    assert other.locator("h1").first.inner_text() == "Gates"
    slider = "[data-testid='stSidebar'] input[type='range'][aria-label='Sequence length T']"
    assert other.locator(slider).input_value() == "70"
    assert other.locator("[data-testid='stSidebar'] input[aria-label='Seed']").input_value() \
        == "5"
    other.context.close()
    _local_only(page)


def test_a_bare_scene_link_opens_the_scenes_page(browser, server):
    """``/?scene=8`` is the Gates page, ``/?scene=5&present=1`` the Gradients page in
    presenter view: the scene's page, whatever path the link names."""
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    page = context.new_page()
    page.requests = []
    page.on("request", lambda r: page.requests.append(r.url))
    for link, path, title, present in (("/?scene=8", "/gates", "Gates", False),
                                       ("/?scene=5&present=1", "/gradients",
                                        "Gradients through time", True),
                                       # Unroll is the default page: its path is /
                                       ("/hidden?scene=3", "/", "Unroll", False)):
        page.goto(f"{server}{link}")
        if present:
            page.wait_for_url("**vh=*", timeout=60_000)
        wait_chart(page)
        page.wait_for_function(f"() => location.pathname === '{path}'", timeout=30_000)
        wait_idle(page)
        assert page.locator("[data-testid='stException']").count() == 0, link
        assert page.locator("h1").first.inner_text() == title, link
        assert urlparse(page.url).path == path, link
        query = parse_qs(urlparse(page.url).query)
        number = link.split("scene=")[1].split("&")[0]
        assert query["scene"] == [number], (link, page.url)
        assert query.get("present") == (["1"] if present else None), (link, page.url)
        assert page.locator("[data-testid='stSidebar']").is_visible() != present, link
        sc = tour.SCENES[int(number) - 1]
        n = len(tour.SCENES)
        banner = f"{number}/{n} {sc.title}." if present else f"Scene {number} of {n}: {sc.title}."
        assert banner in page.locator("body").inner_text(), link
    page.screenshot(path=str(ARTIFACTS / "scene_link_1280x720.png"))
    _local_only(page)
    context.close()

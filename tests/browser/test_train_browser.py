"""The Training lab in real Chromium: a live run draws its curves, Stop ends it early with a
message, nothing breaks, and nothing leaves the machine."""

from __future__ import annotations

from urllib.parse import urlparse

from tests.browser.conftest import ARTIFACTS, wait_idle

LOCAL = {"127.0.0.1", "localhost"}
LOSS_POINTS = """() => {
  for (const el of document.querySelectorAll('.js-plotly-plot')) {
    const d = el.data || [];
    if (d.some(t => (t.name || '').startsWith('baseline'))) return d[0].x.length;
  }
  return 0;
}"""


def _local_only(page) -> None:
    hosts = {urlparse(u).hostname for u in page.requests if not u.startswith(("data:", "blob:"))}
    assert hosts <= LOCAL, f"requests left the machine: {hosts - LOCAL}"


def test_live_run_draws_curves_and_stop_ends_it_early(page):
    page.goto(f"{page.base}/train")
    wait_idle(page)
    steps = page.get_by_role("spinbutton", name="Steps")
    steps.fill("3000")  # far more than the test waits for: the run must still be going
    steps.press("Enter")
    wait_idle(page)
    page.get_by_role("button", name="Train", exact=True).click()
    page.wait_for_function(f"({LOSS_POINTS})() >= 10", timeout=60_000)
    first = page.evaluate(LOSS_POINTS)
    # a later live redraw holds more points: the curve keeps growing while the run goes on
    # (polled, since the fragment may be swapping the chart at any single instant)
    page.wait_for_function(f"({LOSS_POINTS})() > {first}", timeout=30_000)
    assert page.locator("[data-testid='stException']").count() == 0
    page.get_by_role("button", name="Stop").scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "train_live.png"))

    page.get_by_role("button", name="Stop").click()
    page.get_by_text("stopped by the user at step").first.wait_for(timeout=30_000)
    wait_idle(page)
    page.wait_for_timeout(500)
    steps_run = page.evaluate(LOSS_POINTS)
    assert 10 <= steps_run < 3000
    assert page.get_by_text("not started: stopped by the user").count() >= 1  # the LSTM
    assert page.locator("[data-testid='stException']").count() == 0
    assert page.get_by_role("button", name="Train", exact=True).is_enabled()
    page.locator(".js-plotly-plot").first.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "train_stopped.png"))
    page.get_by_text("not started: stopped by the user").first.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "train_stopped_results.png"))
    _local_only(page)


def _choose(page, label: str, option: str) -> None:
    """Pick ``option`` in the selectbox labelled ``label`` (again if a rerun closed it)."""
    for attempt in range(3):
        wait_idle(page)
        page.locator("[data-testid='stSelectbox']", has_text=label).first.click()
        try:
            page.get_by_role("option", name=option, exact=True).click(timeout=10_000)
            break
        except Exception:  # noqa: BLE001 - the dropdown closed under a rerun: open it again
            page.keyboard.press("Escape")
            if attempt == 2:
                raise
    wait_idle(page)


def _set_steps(page, n: int) -> None:
    steps = page.get_by_role("spinbutton", name="Steps")
    steps.fill(str(n))
    steps.press("Enter")
    wait_idle(page)


def _train_to_the_end(page) -> None:
    page.get_by_role("button", name="Train", exact=True).click()
    page.wait_for_selector("[data-testid='stDataFrame']", state="attached", timeout=90_000)
    wait_idle(page)


def test_exploding_run_stops_with_a_message_and_a_marker(page):
    page.goto(f"{page.base}/train")
    wait_idle(page)
    _set_steps(page, 40)
    main = page.get_by_test_id("stMainBlockContainer")
    main.get_by_text("none", exact=True).click()  # clipping off
    wait_idle(page)
    _choose(page, "Optimiser", "sgd")
    lr = page.locator("[data-testid='stSlider']", has_text="Learning rate")
    lr.get_by_role("slider").press("End")  # plain SGD at learning rate 10: the RNN blows up
    wait_idle(page)
    _train_to_the_end(page)
    assert page.get_by_text("the gradients exploded").count() >= 1
    assert page.locator("[data-testid='stException']").count() == 0
    marked = page.evaluate("""() => [...document.querySelectorAll('.js-plotly-plot')]
        .some(el => (el.data || []).some(t => (t.name || '').endsWith('exploded')))""")
    assert marked, "the step where the loss became inf is not marked on the chart"
    page.locator(".js-plotly-plot").first.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "train_exploded.png"))
    _local_only(page)


def test_inspect_sends_the_trained_lstm_to_the_gates_page(page):
    page.goto(f"{page.base}/train")
    wait_idle(page)
    _set_steps(page, 10)
    _train_to_the_end(page)
    page.get_by_role("button", name="Inspect → Gates").click()
    page.wait_for_url("**/gates?**", timeout=30_000)
    page.wait_for_selector(".js-plotly-plot .main-svg", timeout=60_000)
    wait_idle(page)
    assert "weights=" in page.url
    assert page.get_by_text("Trained weights: LSTM").count() == 1
    assert page.locator("[data-testid='stException']").count() == 0
    page.locator(".js-plotly-plot").first.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "train_inspect_gates.png"))
    _local_only(page)


def test_bad_uploads_show_errors_and_the_page_keeps_working(page, tmp_path):
    from engine.train import TrainConfig, build, save_weights

    cfg, _, model = build(TrainConfig(task="adding", seq_len=50, hidden=4, cell="rnn"))
    weights = tmp_path / "h4.pt"
    weights.write_bytes(save_weights(model, cfg))
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    page.goto(f"{page.base}/train")
    wait_idle(page)
    page.locator("[data-testid='stFileUploader']", has_text="Weights file").locator(
        "input[type='file']").set_input_files(str(weights))
    page.get_by_text("Could not load h4.pt").wait_for(timeout=30_000)
    wait_idle(page)
    assert page.get_by_text("shape (4, 2) != (32, 2)").count() == 1
    page.get_by_text("Could not load h4.pt").scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "train_bad_weights.png"))

    _choose(page, "Task", "character language model")
    page.locator("[data-testid='stFileUploader']", has_text="Your own text").locator(
        "input[type='file']").set_input_files(str(empty))
    page.get_by_text("text must not be empty").first.wait_for(timeout=30_000)
    wait_idle(page)
    page.get_by_role("button", name="Train", exact=True).click()
    page.get_by_text("Not training: empty.txt: text must not be empty").wait_for(timeout=30_000)
    assert page.locator("[data-testid='stException']").count() == 0
    page.get_by_role("button", name="Train", exact=True).scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "train_empty_text.png"))
    _local_only(page)

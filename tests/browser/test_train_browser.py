"""The Training lab in real Chromium: compared runs grow side by side, Stop ends them all with
a message, a full server queues a visitor with a message, a closed tab's runs stop, nothing
breaks, and nothing leaves the machine."""

from __future__ import annotations

import subprocess
from urllib.parse import urlparse

import pytest

from tests.browser.conftest import (
    ARTIFACTS,
    _free_port,
    layout_problems,
    start_server,
    wait_idle,
)

LOCAL = {"127.0.0.1", "localhost"}


def _local_only(page) -> None:
    hosts = {urlparse(u).hostname for u in page.requests if not u.startswith(("data:", "blob:"))}
    assert hosts <= LOCAL, f"requests left the machine: {hosts - LOCAL}"


RUN_ENDS = """() => {
  for (const el of document.querySelectorAll('.js-plotly-plot')) {
    const d = el.data || [];
    if (!d.some(t => (t.name || '').startsWith('baseline'))) continue;
    const out = {};
    for (const t of d) {
      const name = t.name || '';
      if (t.mode !== 'lines' || name.startsWith('baseline') || name in out) continue;
      out[name] = t.x.length ? t.x[t.x.length - 1] : -1;  // the last step drawn
    }
    return out;
  }
  return {};
}"""


def _race(page, steps: int = 3000) -> None:
    """Open the lab, set the steps, press Train: the default RNN and LSTM start."""
    page.goto(f"{page.base}/train")
    wait_idle(page)
    _set_steps(page, steps)
    page.get_by_role("button", name="Train", exact=True).click()


def test_compared_runs_grow_side_by_side_and_stop_ends_them_all(page):
    _race(page)  # far more steps than the test waits for: the runs must still be going
    page.wait_for_function(f"Object.values(({RUN_ENDS})()).filter(v => v >= 10).length == 2",
                           timeout=60_000)
    first = page.evaluate(RUN_ENDS)
    assert set(first) == {"RNN", "LSTM"}
    # a later live redraw reaches further on every curve, before either run finishes
    # (polled, since the fragment may be swapping the chart at any single instant)
    page.wait_for_function(f"""(() => {{ const a = {first}, b = ({RUN_ENDS})();
        return Object.keys(a).every(k => b[k] > a[k]); }})()""", timeout=30_000)
    second = page.evaluate(RUN_ENDS)
    assert all(second[k] > first[k] for k in first) and max(second.values()) < 2999
    assert abs(second["RNN"] - second["LSTM"]) <= 30  # one step each in turn (thinned)
    assert page.get_by_role("button", name="Stop").is_visible()  # neither has finished
    assert page.get_by_text("Training side by side: RNN").count() == 1
    assert page.locator("[data-testid='stException']").count() == 0
    page.get_by_role("button", name="Stop").scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "train_live.png"))

    page.get_by_role("button", name="Stop").click()
    page.get_by_text("LSTM: stopped by the user at step").wait_for(timeout=30_000)
    wait_idle(page)
    page.wait_for_timeout(500)
    ends = page.evaluate(RUN_ENDS)
    assert all(10 <= v < 3000 for v in ends.values()), ends
    assert page.get_by_text("RNN: stopped by the user at step").count() == 1  # Stop stops all
    assert page.get_by_text("not started").count() == 0  # side by side: both had started
    assert page.locator("[data-testid='stException']").count() == 0
    assert page.get_by_role("button", name="Train", exact=True).is_enabled()
    page.locator(".js-plotly-plot").first.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "train_stopped.png"))
    page.get_by_text("stopped by the user at step").first.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "train_stopped_results.png"))
    _local_only(page)


@pytest.mark.parametrize("size", [(1280, 720), (1440, 900)])
def test_a_race_of_three_fits_the_screen(browser, server, size):
    """While RNN, LSTM and GRU race, the setup folds into one line and the progress, Stop and
    both live charts are on screen: nothing overlaps or is cut at a chart's edge."""
    context = browser.new_context(viewport={"width": size[0], "height": size[1]})
    pg = context.new_page()
    pg.base = server
    try:
        pg.goto(f"{server}/train")
        wait_idle(pg)
        pg.get_by_role("button", name="GRU", exact=True).click()
        wait_idle(pg)
        _set_steps(pg, 3000)
        pg.get_by_role("button", name="Train", exact=True).click()
        pg.wait_for_function(f"Object.values(({RUN_ENDS})()).filter(v => v >= 30).length == 3",
                             timeout=90_000)
        pg.get_by_text("Training lab", exact=True).last.scroll_into_view_if_needed()
        pg.mouse.move(5, 5)  # no hover: Plotly's mode bar stays hidden
        pg.wait_for_timeout(1200)
        assert layout_problems(pg) == []
        assert pg.get_by_text("Setup (locked while training): RNN vs LSTM vs GRU").count() == 1
        stop = pg.get_by_role("button", name="Stop").bounding_box()
        charts = pg.evaluate("""() => [...document.querySelectorAll('.js-plotly-plot')]
            .slice(0, 2).map(e => e.getBoundingClientRect().toJSON())""")
        assert stop["y"] + stop["height"] < size[1]
        assert len(charts) == 2 and all(c["top"] < size[1] * 0.7 for c in charts), charts
        assert pg.locator("[data-testid='stException']").count() == 0
        pg.screenshot(path=str(ARTIFACTS / f"train_race_{size[0]}x{size[1]}.png"))
        pg.get_by_role("button", name="Stop").click()
        pg.get_by_text("stopped by the user at step").first.wait_for(timeout=30_000)
    finally:
        context.close()


@pytest.fixture()
def small_server(chromium_path, monkeypatch):
    """A server of its own that trains one job at a time and stops an unwatched one after 4 s
    (the defaults: 2 jobs, 15 s), so the test needs two tabs and little waiting."""
    monkeypatch.setenv("UNROLLED_TRAIN_JOBS", "1")
    monkeypatch.setenv("UNROLLED_UNWATCHED_S", "4")
    port = _free_port()
    proc = start_server(port)
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


def test_a_full_server_queues_a_visitor_and_a_closed_tab_stops_its_runs(browser, small_server):
    """One visitor races; a second waits with a message; the first closes their tab, so
    nobody watches their runs: they stop, and the second visitor's start."""
    contexts = [browser.new_context(viewport={"width": 1280, "height": 800}) for _ in range(2)]
    first, second = (c.new_page() for c in contexts)
    first.base = second.base = small_server
    try:
        _race(first, 5000)
        first.get_by_text("Training side by side: RNN").wait_for(timeout=60_000)
        _race(second, 4000)  # other settings (the same would watch the first race)
        second.get_by_text("The server is training 2 runs for other visitors; yours starts "
                           "when one finishes.").wait_for(timeout=30_000)
        assert second.locator("[data-testid='stException']").count() == 0
        second.screenshot(path=str(ARTIFACTS / "train_waiting.png"))
        contexts[0].close()  # nobody watches the first race any more: it stops
        second.get_by_text("Training side by side: RNN").wait_for(timeout=60_000)
        second.get_by_role("button", name="Stop").click()
        second.get_by_text("stopped by the user at step").first.wait_for(timeout=30_000)
        assert second.locator("[data-testid='stException']").count() == 0
    finally:
        for c in contexts:
            c.close()


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


def test_your_data_trains_against_its_baseline_and_a_bad_file_loses_nothing(page, tmp_path):
    import numpy as np

    rng = np.random.default_rng(0)
    rows = ["seq,value,label"]  # the label is the sign of the first value: memory needed
    for k in range(60):
        v = rng.standard_normal(10)
        rows += [f"{k},{x},{int(v[0] > 0)}" for x in v]
    good, ragged = tmp_path / "signs.csv", tmp_path / "ragged.csv"
    good.write_text("\n".join(rows))
    ragged.write_text("a,b\n1,2\n3\n")
    page.goto(f"{page.base}/train?tr_T=10")
    wait_idle(page)
    _set_steps(page, 30)
    _choose(page, "Task", "your data (CSV / NPY)")
    upload = page.locator("[data-testid='stFileUploader']", has_text="Your data").locator(
        "input[type='file']")
    page.get_by_role("button", name="Train", exact=True).click()
    page.get_by_text("Not training: upload your data first").wait_for(timeout=30_000)
    upload.set_input_files(str(good))
    page.get_by_text("signs.csv: 60 sequence(s)").wait_for(timeout=30_000)
    assert page.get_by_text("many-to-one classification into 2 classes").count() == 1
    upload.set_input_files(str(ragged))
    page.get_by_text("ragged.csv: row 3 has 1 values").wait_for(timeout=30_000)
    assert page.get_by_text("(still using signs.csv)").count() == 1  # nothing lost
    assert page.get_by_role("spinbutton", name="Steps").input_value() == "30"
    _train_to_the_end(page)
    table = page.locator("[data-testid='stDataFrame']")
    assert table.count() == 1 and page.get_by_text("Baseline: the best validation loss "
                                                   "without memory").count() == 1
    assert page.locator("[data-testid='stException']").count() == 0
    page.locator("[data-testid='stDataFrame']").scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "train_your_data.png"))
    _local_only(page)

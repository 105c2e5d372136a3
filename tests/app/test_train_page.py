"""The Training lab through AppTest: tiny runs, every early stop explained, Inspect hands over.

``train_wait`` makes the page join its training thread before drawing: the same thread and
the same ``engine.train.train`` call as live, just awaited so AppTest sees the end.
"""

import time
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from app import lab_state, training
from engine.tasks import make_task
from engine.train import TrainConfig, build, save_weights
from tests.app.charts import figures

MAIN = str(Path(__file__).resolve().parents[2] / "app" / "main.py")
TINY = {"tr_T": 10, "tr_hidden": 8, "tr_steps": 6, "tr_batch": 8, "tr_cells": ["lstm"]}


def _page(**state) -> AppTest:
    at = AppTest.from_file(MAIN, default_timeout=120)
    at.switch_page("screens/train.py")
    at.session_state["train_wait"] = True
    for key, value in {**TINY, **state}.items():
        at.session_state[key] = value
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def _train(at: AppTest) -> AppTest:
    at.button(key="train_go").click().run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def _chart(at, has_trace: str) -> dict | None:
    """The first chart with a trace whose name contains ``has_trace`` (titles may move)."""
    for spec in figures(at):
        if any(has_trace in (d.get("name") or "") for d in spec["data"]):
            return spec
    return None


def test_renders_with_defaults():
    at = AppTest.from_file(MAIN, default_timeout=120)
    at.switch_page("screens/train.py")
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.title[0].value == "Training lab"
    assert at.button(key="train_go").label == "Train"
    assert at.session_state["tr_task"] == "adding" and at.session_state["tr_steps"] == 1000


def test_short_run_of_two_cells_draws_shared_charts_and_results():
    at = _train(_page(tr_cells=["rnn", "gru"]))
    loss = _chart(at, "baseline")
    names = [d["name"] for d in loss["data"]]
    assert names[:2] == ["RNN", "GRU"] and names[-1].startswith("baseline 0.1667")
    assert len(loss["data"][0]["x"]) == 6
    assert loss["data"][-1]["line"]["dash"] == "dash"
    grad = _chart(at, "after clipping")  # clipping on by default: solid before, dotted after
    lines = {d["name"]: d for d in grad["data"]}
    for label in ("RNN", "GRU"):
        assert "dash" not in lines[label]["line"] and len(lines[label]["x"]) == 6
        assert lines[f"{label} after clipping"]["line"]["dash"] == "dot"
        assert not lines[f"{label} after clipping"]["showlegend"]
        assert max(lines[f"{label} after clipping"]["y"]) <= 1.0 + 1e-6  # clipped at θ = 1
    assert [n for n, d in lines.items() if d.get("showlegend", True)] == [
        "RNN", "GRU", "dotted: after clipping"]  # one legend row for any number of runs
    snap = _chart(at, "(step 5)")  # the last step's ||dL/dh_t|| snapshot, one point per t
    assert len(snap["data"]) == 2 and len(snap["data"][0]["x"]) == 10
    assert at.dataframe and not at.error
    assert {b.label for b in at.button} >= {"Inspect → Hidden state", "Inspect → Gates"}


def test_same_seed_same_curve():
    cfg = TrainConfig(task="adding", seq_len=8, hidden=4, steps=4, batch=4, clip=1.0)
    curves = []
    for _ in range(2):
        job = training.Job(training.variants(cfg, ["rnn"], False))
        training.run_job(job)
        curves.append(job.runs[0].losses)
    assert curves[0] == curves[1] and len(curves[0]) == 4


def test_nan_loss_stops_the_run_with_a_message_and_a_marker():
    at = _train(_page(tr_cells=["rnn"], tr_opt="sgd", tr_lr=10.0, tr_clip="none",
                      tr_steps=60))
    assert at.error and "loss became" in at.error[0].value
    assert "turn clipping on" in at.error[0].value  # not the CLI's --clip hint
    loss = _chart(at, "baseline")
    marker = [d for d in loss["data"] if d.get("name", "").endswith("exploded")]
    assert marker and "loss = inf" in marker[0]["text"][0]
    assert len(loss["data"][0]["x"]) < 60


def test_weights_upload_of_the_wrong_shape_shows_an_error():
    cfg, _, other = build(TrainConfig(task="adding", seq_len=10, hidden=4, cell="lstm"))
    at = _page()
    at.session_state["train_upload_bytes"] = ("h4.pt", save_weights(other, cfg))
    at.run()
    assert not at.exception
    assert at.error and "do not fit" in at.error[0].value and "h4.pt" in at.error[0].value


def test_weights_upload_that_fits_loads_and_evaluates():
    cfg, _, model = build(TrainConfig(task="adding", seq_len=10, hidden=8, cell="lstm"))
    at = _page()
    at.session_state["train_upload_bytes"] = ("h8.pt", save_weights(model, cfg))
    at.run()
    assert not at.exception and not at.error
    assert at.success and "Loaded h8.pt" in at.success[0].value


def test_empty_uploaded_text_stops_the_language_model_with_a_message():
    at = _page(tr_task="chars")
    at.session_state["train_text"] = ""
    _train(at)
    assert at.error and "text must not be empty" in at.error[0].value


def test_language_model_samples_text():
    at = _train(_page(tr_task="chars", tr_steps=2, tr_prompt="Shall ", tr_length=20))
    samples = [c.value for c in at.code if c.value.startswith("Shall ")]
    assert len(samples) == 1 and len(samples[0]) == len("Shall ") + 20


def test_inspect_hands_the_trained_lstm_to_the_gates_page():
    at = _train(_page())
    at.button(key="inspect_0").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.title[0].value == "Gates"
    token = at.session_state["w_weights"]
    assert token and at.query_params["weights"] in (token, [token])
    assert "Trained weights: LSTM" in at.sidebar.info[0].value
    assert at.sidebar.selectbox(key="w_cell").value == "lstm"
    assert at.sidebar.slider(key="w_hidden").value == 8
    assert at.sidebar.slider(key="w_T").disabled
    assert figures(at)
    at.sidebar.button(key="w_clear_weights").click().run()
    assert not at.exception and at.session_state["w_weights"] == ""


def test_unknown_weights_token_in_the_url_is_cleared_with_a_notice():
    at = AppTest.from_file(MAIN, default_timeout=120)
    at.query_params["weights"] = "0123456789ab"
    at.query_params["T"] = "10"
    at.switch_page("screens/hidden.py")
    at.run()
    assert not at.exception
    assert any("no longer on the server" in w.value for w in at.warning)
    assert at.session_state["w_weights"] == ""


def test_weights_token_round_trips_and_a_hostile_one_is_refused():
    from app.state import Settings

    s, notices = Settings.from_query({"weights": "0123456789ab"})
    assert s.weights == "0123456789ab" and notices == []
    s, notices = Settings.from_query({"weights": "<script>"})
    assert s.weights == "" and "not a trained-weights token" in notices[0]


def test_every_explore_page_draws_a_trained_deep_bidirectional_gru():
    at = _train(_page(tr_task="copy", tr_cells=["gru"], tr_layers=2, tr_bidir=True,
                      tr_steps=2, tr_hidden=4))
    at.button(key="inspect_0").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.sidebar.slider(key="w_T").value == 30  # the copy task: T + 20 steps
    for page in ("screens/unroll.py", "screens/hidden.py", "screens/gradients.py",
                 "screens/chaos.py", "screens/gates.py"):
        at.switch_page(page).run()
        assert not at.exception, (page, [e.message for e in at.exception])
        assert figures(at), page
        assert "Trained weights: GRU" in at.sidebar.info[0].value


def test_figure_helpers_thin_smooth_and_pick_log_ticks():
    import math

    from app.views import train as tv

    idx, vals = tv.thin(list(range(5000)), 600)
    assert len(idx) <= 601 and idx[-1] == 4999 and vals == idx
    assert tv.smooth([1.0, 3.0, float("inf"), 5.0], 2) == [1.0, 2.0, 3.0, 5.0]
    # powers of ten only (no "2" and "5" labels between them), at most ~7 of them
    assert tv.log_axis([[0.1, 0.5]])["dtick"] == 1
    assert tv.log_axis([[0.01, 1.0]])["dtick"] == 1
    wide = tv.log_axis([[1.0, 1e30, math.inf]])  # an explosion
    lo, hi = wide["range"]
    assert isinstance(wide["dtick"], int) and (hi - lo) / wide["dtick"] <= 7
    assert "dtick" not in tv.log_axis([[0.30, 0.31]])  # within a decade: plotly's own few
    run = {"label": "RNN", "color": "#000", "loss": [1.0, 10.0], "before": [1.0, 2.0],
           "after": [1.0, 1.0], "clipped": None, "blowup": 2}
    fig = tv.loss_figure([run], 1 / 6)
    assert fig["layout"]["xaxis"]["range"][1] >= 2  # the blow-up step is on the chart
    assert fig["data"][1]["x"] == [2] and "inf at step 2" in fig["data"][1]["text"][0]


# --- side by side, Stop, nobody watching, the server's bound, the URL ------------------------
PAGE = Path(MAIN).parent / "screens" / "train.py"


def _live_page(**state) -> AppTest:
    """The page with a job that trains in the background (the page does not wait)."""
    at = _page(**state)
    at.session_state["train_wait"] = False
    return _train(at)


def _loss_lengths(at) -> dict[str, int]:
    """Steps each run's raw loss trace on the loss chart reaches (the first trace of its
    name): its last point's step + 1 (a long curve is thinned, so not its point count)."""
    out = {}
    for trace in _chart(at, "baseline")["data"]:
        name = trace.get("name") or ""
        if trace.get("mode") == "lines" and not name.startswith("baseline"):
            out.setdefault(name, trace["x"][-1] + 1 if trace["x"] else 0)
    return out


def _until_finished(job, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while job.running:
        assert time.monotonic() < deadline, "the job did not end"
        time.sleep(0.05)


def test_compared_runs_grow_together_and_stop_stops_them_all():
    at = _live_page(tr_cells=["rnn", "lstm", "gru"], tr_steps=5000)
    job = at.session_state["train_job"]
    try:
        assert at.slider(key="tr_T").disabled  # the setup is locked at once
        assert not [b for b in at.button if b.key == "train_go"]  # Stop stands in its place
        deadline = time.monotonic() + 60  # the engine's first snapshot compiles its kernels
        while not all(r.losses for r in job.runs):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        reads = []
        for _ in range(2):
            time.sleep(1.5)
            at.run()
            assert not at.exception, [e.message for e in at.exception]
            reads.append(_loss_lengths(at))
            assert "Training side by side: RNN" in at.get("progress")[0].proto.text
        assert set(reads[0]) == {"RNN", "LSTM", "GRU"}
        assert all(reads[1][k] > reads[0][k] > 0 for k in reads[0]), reads  # every curve grew
        assert all(r.state == "training" and r.result is None for r in job.runs)  # none done
        at.button(key="train_stop").click().run()
    finally:
        job.request_stop()
    _until_finished(job)
    at.run()
    assert not at.exception
    stops = [w.value for w in at.warning if "stopped by the user at step" in w.value]
    assert len(stops) == 3 and {s.split(":")[0] for s in stops} == {"RNN", "LSTM", "GRU"}
    steps = [len(r.losses) for r in job.runs]
    assert max(steps) - min(steps) <= 1 and max(steps) < 5000
    assert not at.button(key="train_go").disabled and not at.slider(key="tr_T").disabled


def test_a_job_nobody_watches_stops_with_a_message(monkeypatch):
    monkeypatch.setattr(training, "UNWATCHED_S", 0.5)
    at = _live_page(tr_cells=["rnn", "lstm"], tr_steps=5000)
    job = at.session_state["train_job"]
    _until_finished(job)  # nobody reruns the page: its fragment stops looking
    at.run()
    assert not at.exception
    notes = [w.value for w in at.warning if "nobody was watching" in w.value]
    assert len(notes) == 2 and all(n.split(":")[0] in ("RNN", "LSTM") for n in notes)
    assert all(0 < len(r.losses) < 5000 for r in job.runs)


def test_a_full_server_says_why_the_run_waits_then_refuses(monkeypatch):
    monkeypatch.setattr(training, "MAX_JOBS", 1)
    other = training.Job(training.variants(
        TrainConfig(task="adding", seq_len=6, hidden=4, batch=4, steps=5000, clip=1.0),
        ["rnn", "gru", "lstm"], False))
    assert training.start(other) is None
    try:
        at = _page()
        assert any("training 3 run(s) for other visitors" in c.value for c in at.caption)
        at.session_state["train_wait"] = False
        _train(at)
        job = at.session_state["train_job"]
        other.watch()
        time.sleep(0.5)
        at.run()
        assert job.queued and not at.exception
        assert at.get("progress")[0].proto.text == (
            "The server is training 3 runs for other visitors; yours starts when one "
            "finishes.")
        monkeypatch.setattr(training, "MAX_WAITING", 0)
        twin = _page()  # the same settings: it watches the waiting job, no new training
        twin.session_state["train_wait"] = False
        _train(twin)
        assert twin.session_state["train_job"] is job and not twin.error
        visitor = _page(tr_seed=7)  # a third visitor with other settings: the line is full
        visitor.session_state["train_wait"] = False
        _train(visitor)
        assert "train_job" not in visitor.session_state
        assert visitor.error and "not training now" in visitor.error[0].value
        other.request_stop()
        deadline = time.monotonic() + 30
        while job.queued:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        other.request_stop()
        job = at.session_state["train_job"] if "train_job" in at.session_state else None
        if job is not None:
            job.request_stop()
            _until_finished(job)
    assert job.runs[0].state == "done"


def test_the_lab_setup_comes_from_the_url_with_notices_for_hostile_values():
    at = AppTest.from_file(str(PAGE), default_timeout=120)  # as main.py's hook runs it
    query = {"tr_T": "20", "tr_cells": "gru,rnn", "tr_lr": "0.02", "tr_steps": "abc",
             "tr_task": "<script>", "tr_seed": "7", "tr_tbptt": "999"}
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.slider(key="tr_T").value == 20
    assert at.pills(key="tr_cells").value == ["gru", "rnn"]
    assert at.select_slider(key="tr_lr").value == 0.03
    assert at.number_input(key="tr_seed").value == 7
    assert at.number_input(key="tr_steps").value == 1000
    assert at.selectbox(key="tr_task").value == "adding"
    warnings = "\n".join(w.value for w in at.warning)
    for part in ("tr_lr='0.02'", "tr_steps='abc' is not a number", "tr_task='<script>'",
                 "tr_tbptt='999' is outside 0..200"):
        assert part in warnings, part
    s, notices = lab_state.from_state(at.session_state)
    assert notices == [] and s.to_query() == {"tr_T": "20", "tr_cells": "gru,rnn",
                                              "tr_lr": "0.03", "tr_seed": "7", "tr_tbptt": "20"}
    at.run()
    assert len(at.warning) >= 4  # shown while the view is the link's
    at.slider(key="tr_T").set_value(25).run()
    assert not any("tr_" in w.value for w in at.warning)  # moved on: the notices go
    assert lab_state.from_state(at.session_state)[0].to_query()["tr_T"] == "25"


@pytest.mark.skipif("lab_state" not in Path(MAIN).read_text(),
                    reason="app/main.py does not call app.lab_state yet (issue 13 part 4)")
def test_the_lab_setup_round_trips_through_main_and_its_url():
    at = AppTest.from_file(MAIN, default_timeout=120)
    at.switch_page("screens/train.py")
    at.query_params["tr_T"] = "20"
    at.query_params["tr_cells"] = "gru"
    at.query_params["tr_hidden"] = "1e9"
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.slider(key="tr_T").value == 20 and at.select_slider(key="tr_hidden").value == 128
    assert any("tr_hidden='1e9'" in w.value for w in at.warning)
    url = {k: at.query_params[k] for k in at.query_params}
    assert {k: (v[-1] if isinstance(v, list) else v) for k, v in url.items()
            if k.startswith("tr_")} == {"tr_T": "20", "tr_cells": "gru", "tr_hidden": "128"}


def test_the_page_is_thin():
    lines = PAGE.read_text().splitlines()
    assert len(lines) <= 160, len(lines)


def test_upload_limits_fit_what_is_uploaded_and_agree_with_the_page():
    import tomllib

    from app import lab_panels
    from engine.tasks import MAX_TEXT_CHARS

    config = tomllib.loads((Path(MAIN).parents[1] / ".streamlit" / "config.toml").read_text())
    server_mb = config["server"]["maxUploadSize"]
    assert server_mb <= 10  # not Streamlit's 200 MB
    biggest, _, model = build(TrainConfig(task="adding", seq_len=10, hidden=128, layers=3,
                                          bidirectional=True, cell="lstm"))
    weights = len(save_weights(model, biggest))  # the largest the lab's widgets can make
    limit = lab_panels.UPLOAD_MB * 2**20
    assert weights < limit <= server_mb * 2**20
    assert lab_panels.MAX_UPLOAD == 4 * MAX_TEXT_CHARS <= limit  # the text check comes first
    at = _page(tr_task="chars")
    shown = {u.proto.label: u.proto.max_upload_size_mb for u in at.file_uploader}
    # the lab's text and weights, and the sidebar's "your model": one limit for all
    assert set(shown.values()) == {lab_panels.UPLOAD_MB} and len(shown) == 3, shown


def test_the_lru_trains_on_selective_copying_and_inspect_opens_it():
    at = _train(_page(tr_task="selective_copy", tr_T=12, tr_cells=["lru", "mingru"]))
    assert not at.error, [e.value for e in at.error]
    names = [d["name"] for d in _chart(at, "baseline")["data"]]
    assert names[:2] == ["LRU", "minGRU"] and names[-1].startswith("baseline 0.693")  # 4 ln 8/12
    at.button(key="inspect_0").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.title[0].value == "Hidden state"  # an ungated cell: its state first
    assert at.sidebar.selectbox(key="w_cell").value == "lru"
    assert figures(at) and not at.error


def test_selective_copying_too_short_says_why():
    at = _train(_page(tr_task="selective_copy", tr_T=6))
    assert any("at least 9" in e.value for e in at.error), [e.value for e in at.error]


def test_a_target_loss_ends_the_run_and_says_so():
    at = _train(_page(tr_task="sine", tr_cells=["gru"], tr_steps=3000, tr_lr=0.01,
                      tr_target=0.05, tr_patience=0))
    job = at.session_state["train_job"]
    assert len(job.runs[0].losses) < 3000
    assert any("GRU: reached the target loss 0.05" in w.value for w in at.warning)
    assert at.query_params["tr_target"] in ("0.05", ["0.05"])


def test_stop_on_a_watched_twin_leaves_its_owners_runs_going():
    owner = _live_page(tr_steps=5000)
    job = owner.session_state["train_job"]
    try:
        watcher = _page(tr_steps=5000)
        watcher.session_state["train_wait"] = False
        _train(watcher)
        assert watcher.session_state["train_job"] is job
        watcher.button(key="train_stop").click().run()
        assert not watcher.exception and "train_job" not in watcher.session_state
        assert job.running and not job.stop.is_set()  # the owner's race goes on
    finally:
        job.request_stop()
        _until_finished(job)


def test_classification_shows_accuracy_beside_the_share_without_memory():
    at = _train(_page(tr_task="running_parity"))
    table = at.dataframe[0].value
    res = at.session_state["train_job"].runs[0].result
    assert table["accuracy (fresh batch)"][0] == res.final_accuracy
    assert table["accuracy without memory"][0] == pytest.approx((10 + 1) / 20)
    at = _train(_page())  # the adding problem: a regression, no accuracy
    assert "accuracy (fresh batch)" not in at.dataframe[0].value.columns


def test_your_data_trains_and_its_network_opens_on_the_pages():
    from engine.datasets import canonical_csv

    series = "x\n" + "\n".join(str(np.sin(0.3 * t)) for t in range(300))
    text = canonical_csv("sine.csv", series.encode())
    at = _page(tr_task="dataset", train_data=text, train_data_name="sine.csv")
    assert any("sine.csv: 1 sequence(s), 300 steps" in c.value for c in at.caption)
    at = _train(at)
    res = at.session_state["train_job"].runs[0].result
    table = at.dataframe[0].value
    assert table["final loss (validation)"][0] == res.final_loss
    assert res.baseline_loss == make_task("dataset", 10, text=text).baseline_loss
    assert res.config.text == text  # the run (and its key) carries the data
    at.button(key="inspect_0").click().run()
    assert not at.exception and at.session_state["w_weights"]

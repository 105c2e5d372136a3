"""The Training lab through AppTest: tiny runs, every early stop explained, Inspect hands over.

``train_wait`` makes the page join its training thread before drawing: the same thread and
the same ``engine.train.train`` call as live, just awaited so AppTest sees the end.
"""

from pathlib import Path

from streamlit.testing.v1 import AppTest

from app import training
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
    grad = _chart(at, "RNN before")
    assert any(d["name"] == "after clipping" for d in grad["data"])  # clipping on by default
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

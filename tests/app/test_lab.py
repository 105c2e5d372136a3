"""The Training lab without a page: ``LabSettings`` (validated, clamped with notices, through
the URL) and the runner (runs side by side in turn, Stop stops all, a job nobody watches
stops, the server's bound on jobs with its messages)."""

from __future__ import annotations

import threading
import time
from dataclasses import fields

import pytest

from app import lab_state, training
from app.lab_state import DEFAULTS, LabSettings
from engine.tasks import make_task
from engine.train import TrainConfig

HOSTILE = ["", "abc", "nan", "inf", "-inf", "1e999", "-5", "0", "3.7", "1e9", "<script>",
           "rnn,foo", "x" * 400, "true", "🦄", "0x10", " 12 "]


def test_defaults_write_no_params_and_a_changed_view_round_trips():
    assert DEFAULTS.to_query() == {}
    s = LabSettings(task="copy", T=20, cells=("gru",), hidden=8, lr=0.1, batch=4, steps=7,
                    seed=42, clip="value", threshold=2.5, tbptt=5, noclip=True, temp=1.5,
                    prompt="Hello, world", length=40, radius=1.2, esn_hidden=50)
    query = s.to_query()
    assert all(k.startswith("tr_") for k in query) and query["tr_cells"] == "gru"
    back, notices = LabSettings.from_query({**query, "T": "999", "cell": "lstm"})
    assert back == s and notices == []  # the explore pages' params are not the lab's


def test_every_hostile_value_is_clamped_into_its_widget_with_a_notice():
    for f in fields(LabSettings):
        for value in HOSTILE:
            s, notices = LabSettings.from_query({f"tr_{f.name}": value})
            got = getattr(s, f.name)
            assert isinstance(got, type(f.default)), (f.name, value)
            assert notices or _same(value, got), (f.name, value)  # never silently different
            _fits_widgets(s)
            assert LabSettings.from_query(s.to_query()) == (s, [])


def _same(raw: str, got) -> bool:
    """Whether a value taken without a notice is the one the URL said."""
    if isinstance(got, bool):
        return raw.strip().lower() in (("1", "true", "yes", "on") if got else
                                       ("0", "false", "no", "off", ""))
    if isinstance(got, tuple):
        return ",".join(got) == raw.strip()
    if isinstance(got, str):
        return got == raw.strip() or got == raw
    return float(raw) == got


def _fits_widgets(s: LabSettings) -> None:
    assert s.task in lab_state.TASK_LABELS and 2 <= s.T <= 200
    assert set(s.cells) <= set(lab_state.CELL_LABELS) and len(s.cells) <= 3
    assert s.hidden in lab_state.HIDDENS and s.batch in lab_state.BATCHES
    assert s.lr in lab_state.LRS and s.esn_hidden in lab_state.ESN_SIZES
    assert 1 <= s.steps <= training.MAX_STEPS and 0 <= s.seed <= 999_999
    assert 0 <= s.tbptt <= s.T and 1 <= s.layers <= 3
    assert 0.001 <= s.threshold <= 1e6 and 0.1 <= s.radius <= 1.5 and 0.1 <= s.temp <= 2.0
    assert 20 <= s.length <= 600 and s.length % 20 == 0 and len(s.prompt) <= 200
    s.config().validated()  # the engine accepts what the lab hands it


def test_notices_name_the_param_and_what_was_used():
    s, notices = LabSettings.from_query({"tr_T": "abc", "tr_lr": "0.02", "tr_cells": "rnn,foo",
                                         "tr_steps": "1e99", "tr_bidir": "maybe",
                                         "tr_task": "sine", "tr_tbptt": "60"})
    text = "\n".join(notices)
    assert "tr_T='abc' is not a number; using 30." in text
    assert "tr_lr='0.02' is not one of" in text and "using 0.03" in text
    assert "tr_cells='rnn,foo'" in text and s.cells == ("rnn",)
    assert "tr_steps='1e99' is outside 1..5000; using 5000." in text
    assert "Truncated BPTT k = 60 is longer than T = 30; using 30." in text
    s, notices = LabSettings.from_query({"tr_task": "chars", "tr_bidir": "1"})
    assert not s.bidir and "Bidirectional is off" in notices[0]


def test_config_is_what_the_engine_trains():
    cfg = DEFAULTS.config()
    assert (cfg.task, cfg.seq_len, cfg.hidden, cfg.lr, cfg.batch, cfg.steps, cfg.clip) == (
        "adding", 30, 32, 0.01, 32, 1000, 1.0)
    assert cfg.tbptt is None and cfg.text is None and cfg.snapshot_every == 40
    s = LabSettings(task="chars", tbptt=5, clip="none")
    cfg = s.config("some text")
    assert cfg.tbptt == 5 and cfg.clip is None and cfg.text == "some text"
    assert LabSettings(task="adding", tbptt=5).config("x").tbptt is None  # loss at the end
    assert LabSettings(task="adding").config("x").text is None


def _job(cells=("rnn", "lstm"), steps=5000, **kw) -> training.Job:
    cfg = TrainConfig(task="adding", seq_len=6, hidden=4, batch=4, steps=steps, clip=1.0,
                      snapshot_every=1000, **kw)
    return training.Job(training.variants(cfg, list(cells), False))


def _until(predicate, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def _finish(*jobs: training.Job) -> None:
    for job in jobs:
        job.request_stop()
    for job in jobs:
        if job.thread is not None:
            job.thread.join(30)
        assert not job.running


def test_runs_train_side_by_side_one_step_each_in_turn(monkeypatch):
    order = []
    monkeypatch.setattr(training.RunLog, "on_step",
                        lambda self, info, _orig=training.RunLog.on_step:
                        (order.append(self.label), _orig(self, info)))
    job = _job(cells=("rnn", "lstm", "gru"), steps=12)
    training.run_job(job)
    assert order == ["RNN", "LSTM", "GRU"] * 12  # exactly fair: a race in steps
    assert all(r.state == "done" and len(r.losses) == 12 and r.stopped is None
               for r in job.runs)


def test_a_run_that_ends_early_hands_its_turn_on():
    cfg = TrainConfig(task="adding", seq_len=6, hidden=4, batch=4, steps=40, optimizer="sgd",
                      lr=1e6, snapshot_every=1000)  # no clipping: the RNN blows up
    job = training.Job([*training.variants(cfg, ["rnn"], False),
                        *training.variants(replace_cfg(cfg, lr=0.01), ["gru"], False)])
    training.run_job(job)
    rnn, gru = job.runs
    assert rnn.exploded and len(rnn.losses) < 40
    assert len(gru.losses) == 40 and gru.stopped is None


def replace_cfg(cfg, **kw):
    from dataclasses import replace

    return replace(cfg, **kw)


def test_stop_stops_every_run_at_the_same_step():
    job = _job()
    assert training.start(job) is None
    try:
        _until(lambda: all(len(r.losses) >= 5 for r in job.runs))
        assert job.running and all(r.state == "training" for r in job.runs)
    finally:
        _finish(job)
    steps = [len(r.losses) for r in job.runs]
    assert max(steps) - min(steps) <= 1 and max(steps) < 5000
    assert all(r.stopped.startswith("stopped by the user at step") for r in job.runs)


def test_a_job_nobody_watches_stops_and_says_so(monkeypatch):
    monkeypatch.setattr(training, "UNWATCHED_S", 0.5)
    job = _job()
    training.start(job)
    job.thread.join(60)
    assert not job.running and job.why == training.UNWATCHED
    for run in job.runs:
        assert 0 < len(run.losses) < 5000
        assert run.stopped == f"stopped at step {len(run.losses)}: nobody was watching"
    assert all(len(r.losses) < 5000 for r in job.runs)


def test_a_watched_job_keeps_training(monkeypatch):
    monkeypatch.setattr(training, "UNWATCHED_S", 0.3)
    job = _job()
    training.start(job)
    try:
        for _ in range(20):  # 1 s, more than three times the limit: the page keeps looking
            job.watch()
            time.sleep(0.05)
        assert job.running and job.why is None
    finally:
        _finish(job)
    assert not job.why


def test_the_server_bound_queues_with_a_message_then_refuses(monkeypatch):
    monkeypatch.setattr(training, "MAX_JOBS", 1)
    monkeypatch.setattr(training, "MAX_WAITING", 1)
    first, second, third = _job(), _job(cells=("gru",)), _job()
    try:
        assert training.start(first) is None
        _until(lambda: first.started is not None)
        assert training.start(second) is None
        time.sleep(0.3)
        assert second.queued and second.runs[0].losses == []
        assert training.progress(second)[1] == (
            "The server is training 2 runs for other visitors; yours starts when one "
            "finishes.")
        assert training.load(third) == {"jobs": 1, "runs": 2, "waiting": 1, "ahead": 1}
        refused = training.start(third)
        assert refused and "not training now" in refused and third.thread is None
        first.request_stop()
        _until(lambda: len(second.runs[0].losses) > 0)  # the next in line starts
        assert not second.queued
    finally:
        _finish(first, second)


def test_a_waiting_job_that_is_stopped_never_starts(monkeypatch):
    monkeypatch.setattr(training, "MAX_JOBS", 1)
    first, second = _job(), _job()
    try:
        training.start(first)
        training.start(second)
        time.sleep(0.3)
        second.request_stop()
        second.thread.join(30)
        assert all(r.state == "skipped" and r.stopped == "not started: stopped by the user"
                   for r in second.runs)
    finally:
        _finish(first, second)
    assert training.load() == {"jobs": 0, "runs": 0, "waiting": 0, "ahead": 0}


def test_the_baseline_is_the_runs_own_task():
    cfg = TrainConfig(task="sine", seq_len=20, noise=0.3, hidden=4, steps=1)
    job = training.Job(training.variants(cfg, ["gru"], False))
    loss, note = job.baseline()
    task = make_task("sine", 20, noise=0.3)
    assert loss == task.baseline_loss and note == task.baseline_note
    assert loss != make_task("sine", 2).baseline_loss  # not T = 2 and the default noise
    bad = training.Job(training.variants(TrainConfig(task="chars", text=""), ["gru"], False))
    assert bad.baseline() == (None, "")


def test_threads_end_with_their_jobs():
    before = threading.active_count()
    job = _job(steps=3)
    training.start(job, wait=True)
    assert all(len(r.losses) == 3 for r in job.runs)
    _until(lambda: threading.active_count() <= before, 10)


@pytest.mark.parametrize("session", [None, "", "no-such-session"])
def test_outside_a_server_no_session_is_connected(session):
    assert training._connected(session) is False


def test_same_seed_same_curves_when_jobs_build_at_the_same_time():
    """The engine seeds torch's global RNG to build a model: builds take turns (BUILD_LOCK)."""
    from engine.train import train

    cfg = TrainConfig(task="adding", seq_len=6, hidden=4, batch=4, steps=5, clip=1.0, seed=3,
                      snapshot_every=1000)
    alone = {c: train(replace_cfg(cfg, cell=c)).losses for c in ("rnn", "lstm", "gru")}
    jobs = [training.Job(training.variants(cfg, ["rnn", "lstm", "gru"], False))
            for _ in range(2)]
    for job in jobs:
        assert training.start(job) is None
    for job in jobs:
        job.thread.join(60)
        assert {r.config.cell: r.losses for r in job.runs} == alone

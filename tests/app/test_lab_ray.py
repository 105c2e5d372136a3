"""The Training lab with its runs on a Ray cluster (UNROLLED_LAB_BACKEND=ray): the curves
arrive while the runs train on the workers, the results are the trainer's and are kept in
the run store, and Stop stops them all."""

import threading
import time

import pytest

from app import runs, training
from engine.train import TrainConfig, train


@pytest.fixture
def on_ray(ray_head, monkeypatch):
    monkeypatch.setenv("RAY_ADDRESS", ray_head)
    monkeypatch.setattr(training, "LAB_BACKEND", "ray")
    yield
    import ray

    ray.shutdown()


def test_runs_train_on_the_cluster_and_come_back_whole(on_ray):
    base = TrainConfig(task="adding", seq_len=6, hidden=4, batch=4, steps=30, snapshot_every=10)
    job = training.Job(training.variants(base, ["rnn", "gru"], False))
    training.run_job(job)
    for run in job.runs:
        assert run.error is None and run.state == "done"
        here = train(run.config)  # the same seed trains the same numbers anywhere
        assert run.losses == pytest.approx(here.losses, rel=1e-5)
        assert len(run.before) == len(run.after) == 30 and run.hidden_norm is not None
        assert run.result.final_loss == pytest.approx(here.final_loss, rel=1e-5)
        assert runs.finished(run.config) is not None  # kept in the run store
    assert training.models(job)  # Inspect gets their models


def test_stop_stops_the_runs_on_the_cluster(on_ray):
    base = TrainConfig(task="adding", seq_len=6, hidden=4, batch=4, steps=100_000)
    job = training.Job(training.variants(base, ["lstm"], False))
    thread = threading.Thread(target=training.run_job, args=(job,))
    thread.start()
    deadline = time.monotonic() + 120
    while len(job.runs[0].losses) < 20:  # the steps arrive while it trains
        assert time.monotonic() < deadline
        job.watch()
        time.sleep(0.1)
    job.request_stop()
    thread.join(60)
    run = job.runs[0]
    assert not thread.is_alive() and run.state == "done"
    assert run.result.stopped.startswith("stopped by the user")
    assert len(run.losses) < 100_000 and runs.finished(run.config) is None  # not kept


def test_a_cluster_that_cannot_be_reached_ends_every_run_with_a_message(monkeypatch):
    from engine import remote

    def unreachable(address=None):
        raise ConnectionError("no Ray cluster at 127.0.0.1:1")

    monkeypatch.setattr(training, "LAB_BACKEND", "ray")
    monkeypatch.setattr(remote, "connect", unreachable)
    job = training.Job(training.variants(TrainConfig(task="adding", steps=5), ["rnn"], False))
    training.run_job(job)
    assert job.runs[0].state == "done"
    assert "training on the cluster failed: ConnectionError" in job.runs[0].error

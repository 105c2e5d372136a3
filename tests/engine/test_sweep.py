"""Sweeps: the grid, the local and Ray backends end to end, resuming after a restart,
retrying a dead worker a bounded number of times, and a NaN run stored as diverged."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import pytest

from engine.store import RunStore
from engine.sweep import (
    LocalBackend,
    SweepSpec,
    classic_figure,
    config_dict,
    main,
    run_config,
    run_sweep,
)
from engine.train import TrainConfig

ROOT = Path(__file__).resolve().parents[2]
TINY = {"steps": 4, "hidden": 4, "batch": 4, "snapshot_every": 2}


def _spec(**axes):
    return SweepSpec.make("adding", axes or {"cell": ["rnn", "gru"], "seq_len": [5, 8]},
                          seeds=1, **TINY)


def marked_run(config: dict) -> dict:
    """run_config, leaving a mark per call (MARKS env: a folder) so a test can count."""
    marks = Path(os.environ["MARKS"])
    (marks / f"{time.time_ns()}-{os.getpid()}").touch()
    return run_config(config)


def dying_run(config: dict) -> dict:
    """Kills its worker the first time it sees a configuration (MARKS folder), or always
    when the seq_len is 7."""
    marks = Path(os.environ["MARKS"])
    mark = marks / f"seen-{config['cell']}-{config['seq_len']}"
    if config["seq_len"] == 7 or not mark.exists():
        mark.touch()
        os._exit(3)
    return run_config(config)


def test_the_grid_is_every_point_times_every_seed():
    spec = SweepSpec.make("adding", {"cell": ["rnn", "lstm"], "seq_len": [10, 25, 50]},
                          seeds=3, steps=50)
    configs = spec.configs()
    assert spec.size == len(configs) == 18
    assert configs[0] == TrainConfig(task="adding", cell="rnn", seq_len=10, seed=0, steps=50)
    assert [c.seed for c in configs[:3]] == [0, 1, 2]
    assert SweepSpec.from_json(json.loads(json.dumps(spec.to_json()))) == spec
    assert classic_figure().size == 40
    irnn = SweepSpec.make("adding", {"cell": ["irnn"]}).configs()[0]
    assert (irnn.cell, irnn.activation, irnn.init) == ("rnn", "relu", "identity")
    for bad, match in (({"colour": [1]}, "axis must be"), ({}, "one to three"),
                       ({"cell": []}, "no values"), ({"cell": ["elman"]}, "cell must be")):
        with pytest.raises(ValueError, match=match):
            SweepSpec.make("adding", bad)
    with pytest.raises(ValueError, match="more than"):
        SweepSpec.make("adding", {"seq_len": list(range(2, 500))})


def test_a_nan_run_is_stored_as_diverged_at_its_step():
    config = config_dict(TrainConfig(task="adding", cell="rnn", seq_len=20, hidden=16,
                                     activation="relu", init="identity", gain=3.0,
                                     optimizer="sgd", lr=50.0, steps=60, batch=8))
    out = run_config(config)
    assert out["status"] == "diverged" and out["step"] < 60 and out["weights"] is None


def test_a_local_sweep_runs_once_and_resumes_after_a_restart(tmp_path, monkeypatch):
    marks = tmp_path / "marks"
    marks.mkdir()
    monkeypatch.setenv("MARKS", str(marks))
    path = tmp_path / "runs.sqlite"
    spec = _spec()
    stop, seen = threading.Event(), []

    def first_result_then_stop(key, info):  # the "server" goes down after one result
        seen.append(info["status"])
        stop.set()

    run_sweep(spec, RunStore(path), LocalBackend(1), stop=stop, fn=marked_run,
              on_result=first_result_then_stop)
    assert seen == ["done"]
    done_before = len(list(marks.iterdir()))
    progress = run_sweep(spec, RunStore(path), LocalBackend(2), fn=marked_run)
    assert progress.done == 4 and progress.failed == 0
    # the finished run was not repeated (at most the one cut short ran again)
    assert len(list(marks.iterdir())) <= done_before + 3 + 1
    store = RunStore(path)
    stored = [store.get(k) for k in progress.keys]
    assert all(r.status == "done" and r.weights for r in stored)
    assert {r.config["cell"] for r in stored} == {"rnn", "gru"}
    assert len(stored[0].curves["loss"]) == 4
    again = run_sweep(spec, store, LocalBackend(1), fn=marked_run)  # everything stored
    assert again.done == 4 and len(list(marks.iterdir())) <= done_before + 4


def test_a_dead_worker_is_retried_then_marked_failed(tmp_path, monkeypatch):
    marks = tmp_path / "marks"
    marks.mkdir()
    monkeypatch.setenv("MARKS", str(marks))
    store = RunStore(tmp_path / "runs.sqlite")
    spec = _spec(cell=["rnn"], seq_len=[5, 7])
    progress = run_sweep(spec, store, LocalBackend(1), fn=dying_run, max_attempts=3)
    runs = {store.get(k).config["seq_len"]: store.get(k) for k in progress.keys}
    assert runs[5].status == "done"  # died once, then ran (alone, to tell who died)
    assert runs[7].status == "failed" and runs[7].attempts == 3
    assert "WorkerDied" in runs[7].error
    assert progress.done == 1 and progress.failed == 1


def test_two_sweeps_asking_for_the_same_runs_share_them(tmp_path, monkeypatch):
    marks = tmp_path / "marks"
    marks.mkdir()
    monkeypatch.setenv("MARKS", str(marks))
    path = tmp_path / "runs.sqlite"
    spec = _spec(cell=["rnn"], seq_len=[5, 6, 8])
    results = []
    threads = [threading.Thread(target=lambda: results.append(
        run_sweep(spec, RunStore(path), LocalBackend(1), fn=marked_run, poll=0.05)))
        for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [p.done for p in results] == [3, 3]
    assert len(list(marks.iterdir())) == 3  # each run trained once


def test_the_command_line_prints_json_lines(tmp_path, capsys):
    code = main(["--task", "adding", "--cells", "rnn", "--seq-len", "5,6", "--steps", "3",
                 "--batch", "4", "--store", str(tmp_path / "runs.sqlite"),
                 "--backend", "local", "--workers", "1"])
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == 0 and len(lines) == 3
    assert {line["status"] for line in lines[:2]} == {"done"}
    assert lines[-1]["runs"] == 2 and lines[-1]["done"] == 2


def test_a_sweep_runs_on_a_ray_cluster(tmp_path, ray_head):
    from engine.sweep import RayBackend

    store = RunStore(tmp_path / "runs.sqlite")
    progress = run_sweep(_spec(cell=["rnn", "lstm"], seq_len=[5]), store,
                         RayBackend(address=ray_head))
    assert progress.done == 2 and progress.failed == 0
    assert all(store.get(k).status == "done" for k in progress.keys)


def test_a_stored_run_gives_back_what_the_trainer_returned(tmp_path):
    from engine.run_record import to_record, to_result
    from engine.train import train

    config = TrainConfig(task="adding", cell="gru", seq_len=6, steps=5, hidden=4, batch=4,
                         snapshot_every=2, layers=2)
    result = train(config)
    store = RunStore(tmp_path / "runs.sqlite")
    record = to_record(result)
    key = store.put(config_dict(config), record["summary"], record["curves"],
                    record["weights"], record["status"], record["step"])
    back = to_result(store.get(key))
    assert back.config == config and back.losses == result.losses
    assert back.final_loss == result.final_loss and back.stopped is None
    assert [s for s, _ in back.snapshots] == [s for s, _ in result.snapshots]
    assert back.snapshots[-1][1].shape == result.snapshots[-1][1].shape == (2, 1, 6)
    for name, value in result.model.state_dict().items():
        assert (back.model.state_dict()[name] == value).all()


def test_one_crashing_run_does_not_fail_the_runs_beside_it(tmp_path, monkeypatch):
    """A worker that dies breaks the whole pool: the runs that had started run again alone,
    so only the crashing one is charged and, in the end, marked failed."""
    marks = tmp_path / "marks"
    marks.mkdir()
    monkeypatch.setenv("MARKS", str(marks))
    store = RunStore(tmp_path / "runs.sqlite")
    spec = _spec(cell=["rnn", "gru"], seq_len=[5, 6, 7])  # seq_len 7 always dies
    progress = run_sweep(spec, store, LocalBackend(2), fn=dying_run, max_attempts=3)
    runs = {(r.config["cell"], r.config["seq_len"]): r
            for r in (store.get(k) for k in progress.keys)}
    assert {k for k, r in runs.items() if r.status == "failed"} == {("rnn", 7), ("gru", 7)}
    assert all(r.status == "done" for k, r in runs.items() if k[1] != 7)


def test_a_value_given_twice_counts_once():
    spec = SweepSpec.make("adding", {"cell": ["rnn", "lstm"], "seq_len": [10, 10]})
    assert spec.size == 2
    with pytest.raises(ValueError, match="repeats a value"):
        SweepSpec(axes=(("seq_len", (10, 10)),))

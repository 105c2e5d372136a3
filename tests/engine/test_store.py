"""The run store: one row per configuration, shared by concurrent callers, kept across a
restart, bounded by least-recently-used eviction."""

import sqlite3
import threading

import numpy as np
import pytest

from engine import store as store_module
from engine.store import RunStore, pack_arrays, run_key, unpack_arrays


def _config(seed=0, **extra):
    return {"task": "adding", "cell": "lstm", "seq_len": 10, "seed": seed, **extra}


def test_fifty_identical_submissions_at_once_make_one_run(tmp_path):
    store = RunStore(tmp_path / "runs.sqlite")
    owners, barrier = [], threading.Barrier(50)

    def submit():
        barrier.wait()
        owners.append(RunStore(tmp_path / "runs.sqlite").submit(_config())[1])

    threads = [threading.Thread(target=submit) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(owners) == [False] * 49 + [True]
    assert store.statuses([run_key(_config())]) == {run_key(_config()): "running"}


def test_a_result_survives_a_restart(tmp_path):
    path = tmp_path / "runs.sqlite"
    key, owner = RunStore(path).submit(_config())
    assert owner
    curves = pack_arrays(loss=[1.0, 0.5], snapshots=np.ones((2, 10)))
    RunStore(path).finish(key, {"final_loss": 0.5}, curves, b"weights", step=2)
    again = RunStore(path)  # a new server process opens the same file
    run = again.get(key)
    assert run.status == "done" and run.summary == {"final_loss": 0.5}
    np.testing.assert_array_equal(run.curves["loss"], [1.0, 0.5])
    assert run.weights == b"weights" and run.step == 2
    assert again.submit(_config()) == (key, False)  # finished: nothing to run
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_the_key_is_the_whole_configuration_and_the_code():
    assert run_key(_config()) == run_key(dict(reversed(list(_config().items()))))
    assert run_key(_config()) != run_key(_config(seed=1))
    assert len(store_module.CODE_VERSION) == 12


def test_eviction_drops_the_least_recently_used_and_says_so(tmp_path):
    store = RunStore(tmp_path / "runs.sqlite", cap_bytes=3 * 1536)
    keys = []
    for seed in range(3):
        key, _ = store.submit(_config(seed))
        store.finish(key, {}, weights=b"x" * 1024)
        keys.append(key)
    store.get(keys[0])  # used again: the oldest now is keys[1]
    key, _ = store.submit(_config(3))
    store.finish(key, {}, b"x" * 1024)
    assert store.get(keys[1]) is None and store.was_evicted(keys[1])
    assert store.get(keys[0]) is not None and not store.was_evicted(keys[0])
    assert store.total_bytes() <= store.cap_bytes
    store.submit(_config(1))  # asked for again: queued, no longer "evicted"
    assert not store.was_evicted(keys[1])


def test_a_failing_run_is_retried_a_bounded_number_of_times(tmp_path):
    store = RunStore(tmp_path / "runs.sqlite")
    key, _ = store.submit(_config())
    assert store.fail(key, "boom 1", max_attempts=2)  # back in the queue
    assert store.claim(key)
    assert not store.fail(key, "boom 2", max_attempts=2)
    run = store.get(key)
    assert run.status == "failed" and run.error == "boom 2" and run.attempts == 2
    assert not store.claim(key)


def test_a_stale_run_is_taken_over_and_a_released_one_requeued(tmp_path, monkeypatch):
    store = RunStore(tmp_path / "runs.sqlite")
    key, _ = store.submit(_config())
    assert not store.claim(key)  # running, heartbeat fresh
    monkeypatch.setattr(store_module, "STALE_SECONDS", -1.0)
    assert store.claim(key)  # its owner went quiet: taken over
    store.release(key)
    assert store.get(key).status == "queued"


def test_sweeps_keep_their_runs_in_order(tmp_path):
    store = RunStore(tmp_path / "runs.sqlite")
    keys = [run_key(_config(s)) for s in range(3)]
    sweep = store.add_sweep({"task": "adding"}, keys)
    assert store.sweep(sweep) == ({"task": "adding"}, keys)
    assert store.sweep("nope") is None


def test_bad_finish_status_is_refused(tmp_path):
    store = RunStore(tmp_path / "runs.sqlite")
    key, _ = store.submit(_config())
    with pytest.raises(ValueError, match="status"):
        store.finish(key, {}, status="crashed")
    assert unpack_arrays(None) == {}


def test_a_run_whose_process_died_is_taken_over_at_once(tmp_path):
    """A server restarted mid-sweep: its runs' rows say 'running' with a fresh heartbeat,
    but their owner (a pid on this machine) is gone, so the new process takes them."""
    import os
    import socket

    store = RunStore(tmp_path / "runs.sqlite")
    dead, alive = run_key(_config(1)), run_key(_config(2))
    for key, pid in ((dead, 2**22 + 12345), (alive, os.getppid())):
        store.submit(_config(1 if key == dead else 2))
        with sqlite3.connect(store.path) as db:
            db.execute("UPDATE runs SET owner = ? WHERE key = ?",
                       (f"{socket.gethostname()}:{pid}", key))
    assert store.claim(dead)
    assert not store.claim(alive)  # its owner lives and beats: not taken


def test_many_processes_threads_opening_a_new_file_at_once(tmp_path):
    """Creating the file races: switching it to WAL answers 'locked' at once (no busy
    wait) while another connection creates it; every opener must still get in."""
    errors, barrier = [], threading.Barrier(16)

    def open_it():
        barrier.wait()
        try:
            RunStore(tmp_path / "new.sqlite").submit(_config())
        except Exception as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []

"""The Sweeps page: launch a small grid, watch it finish, read the phase diagram (the
store's numbers), open a run and Inspect it; the URL reopens the sweep; bad input gets a
message."""

import math
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app import runs, sweep_jobs, sweep_state
from tests.app.charts import figures

MAIN = str(Path(__file__).resolve().parents[2] / "app" / "main.py")
SMALL = {"sw_steps": 20, "sw_hidden": 8, "sw_seeds": 2, "sw_values0": "rnn, gru",
         "sw_values1": "5, 8"}


def _page(query=None, **state) -> AppTest:
    at = AppTest.from_file(MAIN, default_timeout=120)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    at.switch_page("screens/sweeps.py")
    at.run()
    for k, v in state.items():
        at.session_state[k] = v
    if state:
        at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def _finish(sweep: str, timeout: float = 120) -> None:
    job = sweep_jobs.job(sweep)
    deadline = time.monotonic() + timeout
    while job.running:
        assert time.monotonic() < deadline, "the sweep did not finish"
        time.sleep(0.2)
    assert job.error is None, job.error


def test_a_small_sweep_runs_and_draws_the_stores_numbers():
    at = _page(**SMALL)
    assert any("8 runs, about" in c.value for c in at.caption)  # the cost estimate
    at.button(key="sw_launch").click().run()
    sweep = at.session_state["sw_sweep"]
    _finish(sweep)
    at.run()
    assert not at.exception and not at.error
    assert at.query_params["sweep"] in (sweep, [sweep])
    spec, cells = sweep_jobs.table(sweep)
    heat = figures(at)[0]["data"][0]
    assert heat["x"] == ["RNN", "GRU"] and heat["y"] == ["5", "8"]
    for row, yv in zip(heat["z"], (5, 8), strict=True):
        for z, xv in zip(row, ("rnn", "gru"), strict=True):
            cell = next(c for c in cells if c.point == {"cell": xv, "seq_len": yv})
            ratios = []
            for key in cell.keys:
                s = runs.store().get(key).summary
                ratios.append(s["final_loss"] / s["baseline_loss"])
            want = min(max(math.log10((ratios[0] + ratios[1]) / 2), -3.0), 0.5)
            assert z == pytest.approx(want, rel=1e-12)
    assert all("learned" in t for row in heat["text"] for t in row)
    # open a run: its curves, then Inspect sends its network to the Gradients page
    assert len(figures(at)) == 3
    at.button(key="sw_inspect").click().run()
    assert not at.exception
    assert at.title[0].value == "Gradients through time"
    token = at.session_state["w_weights"]
    assert runs.store().get(token) is not None  # the stored run's key


def test_the_same_sweep_launched_twice_shares_its_runs_and_the_link_reopens_it():
    first = _page(**SMALL)
    first.button(key="sw_launch").click().run()
    sweep = first.session_state["sw_sweep"]
    second = _page(**SMALL)  # another visitor, the same grid
    second.button(key="sw_launch").click().run()
    assert second.session_state["sw_sweep"] == sweep
    _finish(sweep)
    keys = sweep_state_spec().keys()
    assert all(runs.store().get(k).attempts == 1 for k in keys)  # each trained once
    link = _page({"sweep": sweep})
    assert link.session_state["sw_sweep"] == sweep and figures(link)


def sweep_state_spec():
    from engine.sweep import SweepSpec

    return SweepSpec.make("adding", {"cell": ["rnn", "gru"], "seq_len": [5, 8]}, seeds=2,
                          steps=20, batch=32, clip=1.0, hidden=8, lr=0.01)


def test_bad_setups_and_links_get_a_message():
    at = _page(sw_values0="rnn, elman")
    assert any("elman is not one of" in w.value for w in at.warning)
    assert at.button(key="sw_launch").disabled
    at = _page(sw_axis1="cell")
    assert any("chosen as two axes" in w.value for w in at.warning)
    at = _page(sw_values1="ten")
    assert any("not a list of ints" in w.value for w in at.warning)
    at = _page({"sweep": "<script>"})
    assert any("not a sweep id" in w.value for w in at.warning)
    at = _page({"sweep": "0123456789abcdef"})
    assert any("not in the run store" in w.value for w in at.warning)


def test_the_preset_is_the_classic_figure():
    at = _page()
    at.button(key="sw_preset").click().run()
    assert at.session_state["sw_values1"] == "10, 25, 50, 100, 200"
    assert {k: at.session_state[k] for k in sweep_state.PRESET} == sweep_state.PRESET
    assert any("40 runs, about" in c.value for c in at.caption)
    from engine.sweep import classic_figure

    assert at.session_state["sw_spec_now"].configs() == classic_figure().configs()


def test_a_sweep_cut_by_a_restart_resumes_when_its_link_is_opened(monkeypatch):
    import socket
    import sqlite3

    at = _page(**SMALL)
    at.button(key="sw_launch").click().run()
    sweep = at.session_state["sw_sweep"]
    _finish(sweep)
    spec, cells = sweep_jobs.table(sweep)
    # the server died with two runs under way: rows 'running', owned by a gone process
    cut = list(cells[0].keys)
    with sqlite3.connect(runs.store().path) as db:
        db.executemany("UPDATE runs SET status = 'running', owner = ?, heartbeat = ? "
                       "WHERE key = ?",
                       [(f"{socket.gethostname()}:{2**22 + 7}", time.time(), k) for k in cut])
    monkeypatch.setattr(sweep_jobs, "_JOBS", {})  # the new process runs nothing yet
    link = _page({"sweep": sweep})
    assert sweep_jobs.job(sweep) is not None  # opening the link resumed it
    _finish(sweep)
    assert all(runs.store().get(k).status == "done" for k in cut)
    assert all(runs.store().get(k).attempts == 1 for c in cells[1:] for k in c.keys)
    # a sweep someone stopped stays stopped until Resume
    sweep_jobs.stop(sweep)
    with sqlite3.connect(runs.store().path) as db:
        db.execute("UPDATE runs SET status = 'queued' WHERE key = ?", (cut[0],))
    monkeypatch.setattr(sweep_jobs, "_JOBS", {})
    link = _page({"sweep": sweep})
    assert sweep_jobs.job(sweep) is None
    assert any("was stopped" in i.value for i in link.info)
    link.button(key="sw_resume").click().run()
    _finish(sweep)
    assert runs.store().get(cut[0]).status == "done"

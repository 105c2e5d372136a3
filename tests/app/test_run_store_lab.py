"""The Training lab and the run store (issue 16): a run trained once is kept; the same
request from another visitor gets it at once; an Inspect link outlives the server's
registry (a restart); a link whose run was evicted says so."""

from streamlit.testing.v1 import AppTest

from app import runs, trained, training
from tests.app.charts import figures
from tests.app.test_train_page import MAIN, _page, _train


def test_the_same_settings_get_the_stored_runs_at_once():
    first = _train(_page(tr_cells=["lstm", "gru"]))
    job = first.session_state["train_job"]
    assert not job.from_store and all(r.result is not None for r in job.runs)
    assert all(runs.finished(r.config) is not None for r in job.runs)  # kept
    second = _train(_page(tr_cells=["lstm", "gru"]))  # another visitor, same settings
    again = second.session_state["train_job"]
    assert again is not job and again.from_store and not again.running
    assert any("trained before with exactly these settings" in i.value for i in second.info)
    for old, new in zip(job.runs, again.runs, strict=True):
        assert new.losses == old.losses and new.result.final_loss == old.result.final_loss
    assert training.result_rows(again)[0]["final loss (fresh batch)"] == (
        training.result_rows(job)[0]["final loss (fresh batch)"])
    third = _train(_page(tr_cells=["lstm", "gru"], tr_seed=3))  # another seed: trains
    assert not third.session_state["train_job"].from_store


def test_an_inspect_link_survives_a_restart():
    at = _train(_page())
    at.button(key="inspect_0").click().run()
    token = at.session_state["w_weights"]
    assert len(token) == trained.KEY_LENGTH  # the run's key in the store
    trained.registry().clear()  # the server restarted: its registry is empty
    runs.reset()
    fresh = AppTest.from_file(MAIN, default_timeout=120)
    fresh.query_params["weights"] = token
    fresh.switch_page("screens/gates.py")
    fresh.run()
    assert not fresh.exception and not fresh.warning
    assert fresh.session_state["w_weights"] == token
    assert "Trained weights: LSTM" in fresh.sidebar.info[0].value
    assert figures(fresh)


def test_a_link_to_an_evicted_run_says_so():
    at = _train(_page())
    at.button(key="inspect_0").click().run()
    token = at.session_state["w_weights"]
    trained.registry().clear()
    store = runs.store()
    store.cap_bytes = 0
    store.evict()
    fresh = AppTest.from_file(MAIN, default_timeout=120)
    fresh.query_params["weights"] = token
    fresh.switch_page("screens/hidden.py")
    fresh.run()
    assert not fresh.exception
    assert any("dropped from the server's run store" in w.value for w in fresh.warning)
    assert fresh.session_state["w_weights"] == ""

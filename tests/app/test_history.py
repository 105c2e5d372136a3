"""The training-history scrubber (issue 15): the lab keeps its runs' weights every few
steps; the sidebar's "Training step" slider sends the network after that step to every
explore page, by a token that travels in the URL and outlives a restart."""

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from app import compute, runs, trained
from app.state import Settings
from engine.train import model_at, to_network
from tests.app.charts import figures
from tests.app.test_train_page import MAIN, _page, _train


def _inspected():
    at = _train(_page())
    job = at.session_state["train_job"]
    at.button(key="inspect_0").click().run()
    assert not at.exception
    return at, job.runs[0].result


def _open(page: str, token: str) -> AppTest:
    at = AppTest.from_file(MAIN, default_timeout=120)
    at.query_params["weights"] = token
    at.switch_page(page)
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def test_the_slider_sends_the_network_after_that_step_to_the_pages():
    lab, result = _inspected()
    token = lab.session_state["w_weights"]
    at = _open("screens/gates.py", token)
    steps = [k for k, _ in result.checkpoints]
    assert steps[0] == 0 and steps[-1] == len(result.losses) and len(steps) > 2
    slider = at.sidebar.select_slider(key="w_history")
    assert list(slider.options) == [str(k) for k in steps] and slider.value == steps[-1]
    final_figs = figures(at)
    slider.set_value(steps[0]).run()
    assert not at.exception
    assert at.session_state["w_weights"] == f"{token}.0"
    assert "after 0 training steps" in at.sidebar.info[0].value
    net, x, _ = compute.network_and_input(Settings(weights=f"{token}.0"))
    want = to_network(model_at(result.config, result.checkpoints[0][1]))
    for k, v in want.params.items():
        np.testing.assert_array_equal(net.params[k], v)
    assert figures(at) != final_figs  # the page redrew the untrained network
    at.sidebar.select_slider(key="w_history").set_value(steps[-1]).run()
    assert at.session_state["w_weights"] == token  # the last step is the final network


def test_a_history_link_survives_a_restart_and_a_bad_step_is_said():
    at, result = _inspected()
    token = at.session_state["w_weights"]
    mid = result.checkpoints[len(result.checkpoints) // 2][0]
    trained.registry().clear()  # the server restarted
    trained._steps().clear()
    runs.reset()
    fresh = _open("screens/gates.py", f"{token}.{mid}")
    assert fresh.session_state["w_weights"] == f"{token}.{mid}"
    assert fresh.sidebar.select_slider(key="w_history").value == mid
    assert f"after {mid} training steps" in fresh.sidebar.info[0].value
    bad = _open("screens/hidden.py", f"{token}.9999999")
    assert any("not in this network's training history" in w.value for w in bad.warning)
    assert bad.session_state["w_weights"] == token


def test_a_history_token_is_validated_like_any_token():
    assert Settings.validated({"weights": "0a1b.120"})[0].weights == "0a1b.120"
    for hostile in ("0a1b.", ".12", "0a1b.1.2", "0a1b.12x", "0a1b.123456789"):
        s, notices = Settings.validated({"weights": hostile})
        assert s.weights == "" and notices, hostile


def test_a_trained_many_to_one_model_shows_its_answer_at_the_last_step():
    import torch

    lab, result = _inspected()
    token = lab.session_state["w_weights"]
    at = _open("screens/hidden.py", token)
    fig = next(f for f in figures(at) if any(d.get("name") == "its answer (t = T-1)"
                                             for d in f["data"]))
    entry = trained.lookup(token)
    with torch.no_grad():
        answer = result.model(torch.tensor(entry.x[:, None, :], dtype=torch.float32))[0]
    drawn = fig["data"][-1]["y"][0]
    assert drawn == pytest.approx(float(answer[0, 0]), abs=6e-4)  # drawn to 3 decimals
    assert any("answers at the last step" in c.value for c in at.caption)

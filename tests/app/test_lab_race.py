"""The Training lab's default race tells its story: RNN against LSTM on the adding problem,
side by side, the LSTM far below the memoryless baseline and the RNN near it.

Measured on the shared 2-core machine (T = 30, H = 32, Adam lr 0.01, batch 32, 1000 steps,
clipping at 1; the lab's runner, both runs in turn on one core):

| seed | RNN / baseline | LSTM / baseline | LSTM's mean of 50 below baseline/2 | job |
|---|---|---|---|---|
| 0 | 1.37 | 0.004 | step 524 (8-12 s in) | 14-16 s CPU, 21-23 s wall |
| 1 | 1.12 | 0.005 | step 602 (11-20 s in) | 13-15 s CPU, 16-28 s wall |
| 2 | 0.97 | 0.006 | step 468 (8-11 s in) | 13-14 s CPU, 18-20 s wall |

(wall clock with other work on the machine, load 3-7; the job uses one core.)

The same numbers as ``engine.train.train`` run alone (side by side changes no curve).
"""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app.lab_state import DEFAULTS

MAIN = str(Path(__file__).resolve().parents[2] / "app" / "main.py")


def test_the_default_race_shows_the_lstm_learning_and_the_rnn_not():
    at = AppTest.from_file(MAIN, default_timeout=600)
    at.switch_page("screens/train.py")
    at.session_state["train_wait"] = True  # the page joins the job (and keeps looking)
    at.run()
    at.button(key="train_go").click().run()
    assert not at.exception, [e.message for e in at.exception]
    job = at.session_state["train_job"]
    assert [r.label for r in job.runs] == ["RNN", "LSTM"]
    cfg = job.runs[0].config
    assert (cfg.task, cfg.seq_len, cfg.hidden, cfg.batch, cfg.steps) == (
        "adding", DEFAULTS.T, DEFAULTS.hidden, DEFAULTS.batch, DEFAULTS.steps)
    ratio = {r.label: r.result.final_loss / r.result.baseline_loss for r in job.runs}
    assert all(r.result.baseline_loss == pytest.approx(1 / 6, rel=0.02) for r in job.runs)
    assert all(len(r.losses) == DEFAULTS.steps and r.stopped is None for r in job.runs)
    assert ratio["LSTM"] < 0.05, ratio
    assert ratio["RNN"] > 0.8, ratio
    table = at.dataframe[0].value
    assert list(table["ratio to baseline"]) == pytest.approx([ratio["RNN"], ratio["LSTM"]])

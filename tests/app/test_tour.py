"""The guided tour: every scene is valid, renders, and Previous/Next walk the story."""

import base64
import re
from dataclasses import asdict

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from app import talk, tour
from app.state import DEFAULTS, SCENE_COUNT, Settings
from tests.app.charts import figures

MAIN = str(__import__("pathlib").Path(__file__).resolve().parents[2] / "app" / "main.py")
N = len(tour.SCENES)


def test_scenes_follow_the_story_and_are_valid_settings():
    assert len(tour.SCENES) == SCENE_COUNT == 15
    titles = [s.title.lower() for s in tour.SCENES]
    for word in ("feed-forward", "unrolling", "patterns", "backpropagation", "vanishing",
                 "exploding", "clipping", "lstm", "gru", "bidirectional", "training"):
        assert any(word in t for t in titles), word
    for number, sc in enumerate(tour.SCENES, start=1):
        assert sc.page in talk.SCENE_PAGES
        s = sc.apply(number)
        back, notices = Settings.validated(asdict(s))
        assert back == s and notices == [], (sc.title, notices)
        sentences = re.findall(r"[.!?](?:\s|$)", sc.caption)
        assert 2 <= len(sentences) <= 3, (sc.title, len(sentences))
    assert tour.scene(0) is None and tour.scene(SCENE_COUNT + 1) is None


# What a visitor might have changed before entering the tour: sidebar and page widgets.
VISITOR = {"w_cell": "gru", "w_hidden": 100, "w_seed": 7, "w_init": "xavier", "w_T": 300,
           "w_signal": "noise", "w_loss": "every", "w_truncate": 20, "w_clip": "value",
           "w_threshold": 5.0, "w_scale": "spectral radius", "w_radius": 2.0,
           "w_arch": "one-to-one", "w_units": "5,6"}
# ...and in the Training lab (setup and sampling widgets)
VISITOR_LAB = {"tr_task": "sine", "tr_T": 20, "tr_cells": ["gru"], "tr_noclip": True,
               "tr_hidden": 8, "tr_layers": 2, "tr_init": "orthogonal", "tr_opt": "sgd",
               "tr_lr": 0.1, "tr_batch": 4, "tr_steps": 5, "tr_seed": 9, "tr_clip": "value",
               "tr_threshold": 3.0, "tr_temp": 1.5, "tr_prompt": "Hello"}
PAGE_TITLES = {"unroll": "Unroll", "hidden": "Hidden state", "gates": "Gates",
               "gradients": "Gradients through time", "chaos": "Edge of chaos",
               "train": "Training lab", "scan": "Parallel scan", "recipe": "From Elman to LRU"}


def _title(at) -> str:
    return at.title[0].value if at.title else ""


def test_a_scene_ignores_what_the_visitor_changed_before():
    at = AppTest.from_file(MAIN, default_timeout=120)
    at.query_params["scene"] = "4"
    at.run()
    for key, value in VISITOR.items():
        at.session_state[key] = value
    at.run()
    assert at.session_state["settings"].hidden == 100  # the visitor's view
    at.button(key="tour-next").click().run()
    assert not at.exception, [e.message for e in at.exception]
    want = tour.SCENES[4].apply(5)
    assert tour.SCENES[4].settings and want != DEFAULTS
    # the scene's own settings, and the defaults for everything the scene does not set
    assert at.session_state["settings"] == want
    assert want.hidden == DEFAULTS.hidden and want.seed == DEFAULTS.seed
    assert (want.act, want.T, want.gain) == ("sigmoid", 60, 2.0)
    assert _title(at) == "Gradients through time"
    at.session_state["w_scale"] = "spectral radius"  # the visitor moves on from the scene
    at.run()
    assert not at.exception, [e.message for e in at.exception]


def test_the_showdown_ignores_what_the_visitor_changed_in_the_lab():
    at = AppTest.from_file(MAIN, default_timeout=120)
    at.query_params["scene"] = "10"
    at.run()
    for key, value in VISITOR_LAB.items():
        at.session_state[key] = value
    at.button(key="tour-next").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert _title(at) == "Training lab"
    lab = tour.SCENES[10].lab
    for key, value in lab.items():
        assert at.session_state[key] == value, key
    # every widget the visitor changed is the scene's or the lab's default again
    for key, value in VISITOR_LAB.items():
        assert at.session_state[key] != value, key
    for key in ("tr_noclip", "tr_layers", "tr_init", "tr_opt", "tr_lr", "tr_batch",
                "tr_steps", "tr_seed", "tr_clip", "tr_threshold"):
        assert key in lab, key  # the scene says every setting of its training
    assert at.session_state["tr_temp"] == 0.8 and at.session_state["tr_prompt"] == "Shall I "


@pytest.mark.parametrize(("path", "query", "page"), [
    ("", {"scene": "8"}, "gates"),
    ("", {"scene": "5", "present": "1"}, "gradients"),
    ("screens/chaos.py", {"scene": "6", "present": "1", "vh": "700"}, "gradients"),
    ("screens/hidden.py", {"scene": "3"}, "unroll"),
    ("screens/gates.py", {"scene": "11"}, "train"),
])
def test_a_bare_scene_link_opens_the_scenes_page(path, query, page):
    at = AppTest.from_file(MAIN, default_timeout=120)
    if path:
        at.switch_page(path)
    at.query_params.update(query)
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    number = int(query["scene"])
    assert tour.SCENES[number - 1].page == page
    assert _title(at) == PAGE_TITLES[page]
    s = at.session_state["settings"]
    assert s.scene == number and s.present == ("present" in query)
    assert s.vh == int(query.get("vh", 0))
    banner = (f"{number}/{N} {tour.SCENES[number - 1].title}" if s.present
              else f"Scene {number} of {N}")
    assert any(banner in m.value for m in at.markdown)


def test_a_scene_out_of_range_opens_the_last_scene_with_a_notice():
    at = AppTest.from_file(MAIN, default_timeout=120)
    at.query_params["scene"] = "999"
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert any(f"scene='999' is outside 0..{N}; using {N}." in w.value for w in at.warning), \
        [w.value for w in at.warning]
    assert _title(at) == PAGE_TITLES[tour.SCENES[-1].page]
    assert any(f"Scene {N} of {N}" in m.value for m in at.markdown)


def _trace(fig: dict, name: str) -> dict:
    return next(d for d in fig["data"] if d.get("name", "").startswith(name))


def _heatmap(fig: dict, name: str) -> np.ndarray:
    """A heatmap's z as sent (float32 base64 or nested lists), units x steps."""
    z = _trace(fig, name)["z"]
    if isinstance(z, dict):  # Plotly's typed array: {"dtype", "bdata", "shape": "32, 60"}
        values = np.frombuffer(base64.b64decode(z["bdata"]), dtype=np.dtype(z["dtype"]))
        return values.reshape([int(n) for n in str(z["shape"]).split(",")])
    return np.asarray(z, dtype=float)


def _presented(number: int) -> tuple[dict, AppTest]:
    """Scene ``number`` in presenter view: its one chart, and the app."""
    at = AppTest.from_file(MAIN, default_timeout=120)
    at.query_params.update({"scene": str(number), "present": "1", "vh": "720"})
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    sc = tour.SCENES[number - 1]
    assert any(f"*Look at:* {sc.look_at}" in m.value for m in at.markdown)
    charts = figures(at)
    assert len(charts) == 1  # presenter view draws the page's main chart only
    return charts[0], at


def _norms(fig: dict) -> np.ndarray:
    return np.array(_trace(fig, "‖∂L/∂h_t‖")["y"], dtype=float)


# What each scene's "Look at" names, checked on the one chart presenter view draws (the
# normal view draws the same chart, and more). Scene 11's results table: see the showdown test.
LOOK_AT = {
    1: lambda f: (_trace(f, "recurrent")["line"]["color"] == "#c2410c"  # orange h_t -> h_t+1
                  and len(_trace(f, "recurrent")["x"]) == 3 * (8 - 1)),
    2: lambda f: (_trace(f, "now")["marker"]["line"]["color"] == "#facc15"
                  and len(f["frames"]) == 12),
    3: lambda f: (len(_trace(f, "input x_t")["x"]) == 10 and _trace(f, "output y_t")["x"] == [9]),
    4: lambda f: (_trace(f, "backward wave")["x"] == [29] and len(f["frames"]) == 30
                  and f["frames"][-1]["data"][1]["x"] == [0]),
    5: lambda f: (_trace(f, "Pascanu bound")["line"]["dash"] == "dash"
                  and np.all(_norms(f) <= np.array(_trace(f, "Pascanu bound")["y"]) * 1.000001)
                  and _norms(f)[0] / _norms(f)[-1] < 1e-20
                  and np.ptp(np.diff(np.log10(_norms(f)))) < 0.5),  # a straight fall
    6: lambda f: (np.all(np.diff(_norms(f)) < 0)  # larger at every step back
                  and 5e5 < _norms(f)[0] / _norms(f)[-1] < 2e6),
    8: lambda f: (f["layout"]["yaxis2"]["title"]["text"] == "forget gate f_t"
                  and f["layout"]["yaxis5"]["title"]["text"] == "cell state c_t"
                  and 0.35 < _heatmap(f, "f").min() and _heatmap(f, "f").max() < 0.65
                  and np.abs(_heatmap(f, "c")[:, 10:] - _heatmap(f, "c")[:, -1:]).max() < 0.01),
    9: lambda f: (f["layout"]["yaxis2"]["title"]["text"] == "update gate z_t"
                  and f["layout"]["yaxis3"]["title"]["text"] == "candidate n_t"
                  and 0.35 < _heatmap(f, "z").min() and _heatmap(f, "z").max() < 0.65),
    10: lambda f: all(_trace(f, f"h_t layer {k} {a}") for k in (1, 2) for a in "→←"),
    12: lambda f: (np.all(np.diff(_norms(f)) > 0)  # smaller at every step back
                   and not any("bound" in t.get("name", "").lower() for t in f["data"])),
    13: lambda f: (f["data"][0]["customdata"][-1][:2] == [0, 31]  # one bar over all 32
                   and f["data"][0]["customdata"][-1][2]
                   < min(m for *_, m in f["data"][0]["customdata"][:32]) - 3),  # darker
    14: lambda f: (f["layout"]["yaxis"]["title"]["text"] == "log₁₀ Δ_t"
                   and f["layout"]["yaxis2"]["title"]["text"] == "Δ_t vs mean"
                   and f["data"][1]["colorbar"]["title"]["text"] == "%"
                   and np.all(np.ptp(_heatmap(f, "delta_change"), axis=1) > 3)  # % every row
                   and 15 < np.max(np.abs(_heatmap(f, "delta_change"))) < 30  # a fifth
                   and -3.5 < _heatmap(f, "log_delta").min() < -2.5
                   and -1.5 < _heatmap(f, "log_delta").max() < -0.5),
    15: lambda f: (0.02 < _trace(f, "with the switches")["y"][0] < 0.1
                   and _trace(f, "Elman RNN (the start)")["y"][0] < 1e-27
                   and _trace(f, "Elman RNN (the start)")["line"]["dash"] == "dash"),
}


def test_the_modern_chapter_shows_its_numbers():
    """Scene 12: 'largest 1 − z_t' below 1; scene 13: 11 rounds against the loop's 32."""
    at = AppTest.from_file(MAIN, default_timeout=120)
    at.query_params["scene"] = "12"
    at.run()
    assert not at.exception
    carry = next(m for m in at.metric if m.label == "largest 1 − z_t")
    assert 0 < float(carry.value) < 1
    at.button(key="tour-next").click().run()
    assert _title(at) == "Parallel scan"
    metrics = {m.label: (m.value, m.delta) for m in at.metric}
    assert metrics["Rounds (depth)"] == ("11", "loop: 32")


@pytest.mark.parametrize("number", sorted(LOOK_AT))
def test_what_the_scene_says_to_look_at_is_in_the_presenter_view(number):
    fig, _ = _presented(number)
    assert LOOK_AT[number](fig)


def test_clipping_leaves_the_curve_it_says_it_leaves():
    """Scene 7 points at the curve of scene 6, unchanged: clipping acts after BPTT."""
    clipped, at = _presented(7)
    assert at.session_state["settings"].clip == "norm"
    assert _norms(clipped).tolist() == _norms(_presented(6)[0]).tolist()


@pytest.mark.parametrize("number", range(1, N + 1))
def test_every_scene_renders_from_a_bare_link(number):
    at = AppTest.from_file(MAIN, default_timeout=120)
    at.query_params["scene"] = str(number)
    at.run()
    assert not at.exception
    assert any(f"Scene {number} of {N}" in m.value for m in at.markdown)
    assert _title(at) == PAGE_TITLES[tour.SCENES[number - 1].page]
    assert at.query_params["scene"] == [str(number)] or at.query_params["scene"] == str(number)


def test_next_and_previous_walk_the_tour_and_end_it():
    at = AppTest.from_file(MAIN, default_timeout=120)
    at.query_params["scene"] = str(N - 1)
    at.run()
    at.button(key="tour-next").click().run()
    assert any(f"Scene {N} of {N}" in m.value for m in at.markdown)
    at.button(key="tour-prev").click().run()
    assert any(f"Scene {N - 1} of {N}" in m.value for m in at.markdown)
    at.button(key="tour-next").click().run()
    at.button(key="tour-next").click().run()  # "End tour"
    assert not any(f"of {N}" in m.value for m in at.markdown)
    assert not at.exception


def test_link_box_holds_a_link_that_reopens_the_view():
    at = AppTest.from_file(MAIN, default_timeout=120)
    at.query_params.update({"cell": "gru", "seed": "7", "T": "80"})
    at.run()
    assert not [c for c in at.code if "seed=7" in c.value]  # drawn only while open
    at.session_state["link-popover"] = True  # what opening it does
    at.run()
    links = [c.value for c in at.code if "seed=7" in c.value]
    assert links and all("cell=gru" in v and "T=80" in v for v in links)
    assert any("present=1" in v for v in links)


def test_the_showdown_scene_sets_up_the_training_lab():
    at = AppTest.from_file(MAIN, default_timeout=120)
    at.query_params["scene"] = "10"
    at.run()
    at.session_state["tr_task"] = "sine"  # the visitor had changed the lab before
    at.button(key="tour-next").click().run()
    assert not at.exception
    assert at.session_state["tr_task"] == "adding"
    assert at.session_state["tr_cells"] == ["rnn", "lstm"]


def test_the_showdown_shows_what_its_caption_says():
    """Scene 11's own lab settings, trained as pressing Train does (the page's job, the lab's
    runner): the LSTM learns the adding problem, the vanilla RNN stays at the baseline.
    (benchmarks/tour_showdown.py: more seeds, and the time.)"""
    at = AppTest.from_file(MAIN, default_timeout=300)
    at.query_params["scene"] = "11"
    at.run()
    assert _title(at) == "Training lab"
    at.session_state["train_wait"] = True  # the page joins its training thread
    at.button(key="train_go").click().run()
    assert not at.exception, [e.message for e in at.exception]
    job = at.session_state["train_job"]
    lab = tour.SCENES[10].lab
    assert [r.config.cell for r in job.runs] == lab["tr_cells"] == ["rnn", "lstm"]
    cfg = job.runs[0].config
    assert (cfg.task, cfg.seq_len, cfg.hidden, cfg.lr, cfg.batch, cfg.steps, cfg.seed) == (
        lab["tr_task"], lab["tr_T"], lab["tr_hidden"], lab["tr_lr"], lab["tr_batch"],
        lab["tr_steps"], lab["tr_seed"])
    ratio = {r.config.cell: r.result.final_loss / r.result.baseline_loss for r in job.runs}
    assert all(r.result.baseline_loss == pytest.approx(1 / 6, rel=0.02) for r in job.runs)
    assert all(len(r.losses) == cfg.steps for r in job.runs)  # nothing stopped early
    assert ratio["lstm"] < 0.2, ratio
    assert ratio["rnn"] > 0.6, ratio
    table = at.dataframe[0].value  # what the scene's "Look at" points to
    assert list(table["run"]) == ["RNN", "LSTM"]
    assert list(table["ratio to baseline"]) == pytest.approx([ratio["rnn"], ratio["lstm"]])

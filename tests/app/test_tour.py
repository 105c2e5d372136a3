"""The guided tour: every scene is valid, renders, and Previous/Next walk the story."""

import re
from dataclasses import asdict

import pytest
from streamlit.testing.v1 import AppTest

from app import talk, tour
from app.state import DEFAULTS, Settings

MAIN = str(__import__("pathlib").Path(__file__).resolve().parents[2] / "app" / "main.py")


def test_scenes_follow_the_story_and_are_valid_settings():
    assert len(tour.SCENES) == 11
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
    assert tour.scene(0) is None and tour.scene(12) is None


def test_a_scene_ignores_what_the_visitor_changed_before():
    assert tour.SCENES[4].apply(5).hidden == DEFAULTS.hidden


@pytest.mark.parametrize("number", range(1, 12))
def test_every_scene_renders_from_a_bare_link(number):
    at = AppTest.from_file(MAIN, default_timeout=120)
    at.query_params["scene"] = str(number)
    at.run()
    assert not at.exception
    assert any(f"Scene {number} of 11" in m.value for m in at.markdown)
    assert at.query_params["scene"] == [str(number)] or at.query_params["scene"] == str(number)


def test_next_and_previous_walk_the_tour_and_end_it():
    at = AppTest.from_file(MAIN, default_timeout=120)
    at.query_params["scene"] = "10"
    at.run()
    at.button(key="tour-next").click().run()
    assert any("Scene 11 of 11" in m.value for m in at.markdown)
    at.button(key="tour-prev").click().run()
    assert any("Scene 10 of 11" in m.value for m in at.markdown)
    at.button(key="tour-next").click().run()
    at.button(key="tour-next").click().run()  # "End tour"
    assert not any("of 11" in m.value for m in at.markdown)
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

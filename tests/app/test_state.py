"""Settings: clamping with notices, and a lossless URL round trip."""

from dataclasses import fields

from app.state import DEFAULTS, Settings


def test_defaults_have_an_empty_query_and_no_notices():
    assert DEFAULTS.to_query() == {}
    s, notices = Settings.from_query({})
    assert s == DEFAULTS and notices == []


def test_hostile_values_are_clamped_with_notices():
    s, notices = Settings.from_query({"hidden": "99999", "cell": "<script>", "T": "-5",
                                      "gain": "nan", "bidir": "maybe", "seq": "1\n" * 9000,
                                      "unknown": "x"})
    assert (s.hidden, s.cell, s.T, s.gain, s.bidir) == (256, "rnn", 1, 1.0, False)
    assert len(s.seq) == 8000
    assert len(notices) == 6
    assert any("<script>" in n for n in notices)


def test_every_field_round_trips_through_the_url():
    s = Settings(cell="lstm", act="relu", hidden=7, layers=3, bidir=True, T=123, init="gaussian",
                 gain=1.5, radius=0.9, seed=42, signal="text", text="a,b c&d", encoding="code",
                 seq="1,2\n3,4", loss="every", clip="value", threshold=0.25, truncate=20,
                 arch="one-to-many", layer=2, units="3,4", weights="0123456789ab", scene=4,
                 present=True, vh=900, scan="hillis_steele", recipe="linear,diagonal,exp",
                 iv="gate@40,g=f,u=2,v=0.5,l=1")
    assert set(s.to_query()) == {f.name for f in fields(Settings)}
    back, notices = Settings.from_query(s.to_query())
    assert back == s and notices == []


def test_layer_beyond_the_stack_is_clamped():
    s, notices = Settings.validated({"layers": 2, "layer": 3})
    assert s.layer == 1 and notices


def test_physics_drops_page_only_fields():
    a = Settings(arch="one-to-one", units="5", layer=0)
    assert a.physics() == DEFAULTS


def test_window_and_units():
    assert Settings(T=50, truncate=0).window is None
    assert Settings(T=50, truncate=60).window is None
    assert Settings(T=50, truncate=10).window == 10
    assert Settings(hidden=4, units="9, 2,2,x,1").chosen_units() == [2, 1]


def test_a_radius_below_the_slider_minimum_is_raised_to_it():
    s, notices = Settings.from_query({"radius": "0.005"})
    assert s.radius == 0.01 and notices
    s, notices = Settings.from_query({"radius": "0"})
    assert s.radius == 0.0 and not notices

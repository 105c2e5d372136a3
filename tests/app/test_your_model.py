"""An uploaded network's input: the sidebar's signal where the widths agree, else noise of
its own width, and the page says which."""

import numpy as np

from app import compute, your_model
from app.state import Settings
from engine import Network


def test_the_input_is_the_signal_or_noise_of_the_models_width():
    s = Settings(T=20, seed=4)
    same = your_model.entry_for(Network("gru", 1, 4), s, "yours")
    np.testing.assert_array_equal(same.x, compute.signal_for(s)[0])
    assert "sine signal" in same.input_note and same.label == "yours"
    other = your_model.entry_for(Network("lstm", 3, 4), s, "yours")
    assert other.x.shape == (20, 3) and "noise on its 3 input channels" in other.input_note
    assert "has 1" in other.input_note

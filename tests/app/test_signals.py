"""engine.signals: input sequences and loss seeds."""

import numpy as np
import pytest

from engine.signals import SIGNALS, encode_text, loss_seed, make_signal, parse_sequence


@pytest.mark.parametrize("where", ["last", "every"])
def test_loss_seed_is_unit_norm_where_asked(where):
    g = loss_seed((5, 4), where)
    norms = np.linalg.norm(g, axis=1)
    assert np.allclose(norms[-1], 1.0)
    assert np.allclose(norms[:-1], 0.0 if where == "last" else 1.0)
    assert loss_seed((5, 2, 4), where).shape == (5, 2, 4)
    with pytest.raises(ValueError):
        loss_seed((5, 4), "first")


@pytest.mark.parametrize("kind", SIGNALS)
def test_every_signal_has_shape_T_by_I(kind):
    x = make_signal(kind, 30, seed=1, text="abcab", sequence="1,2\n3,4\n5,6")
    assert x.ndim == 2 and 1 <= x.shape[0] <= 30 and np.isfinite(x).all()


def test_signals_values():
    assert make_signal("impulse", 4)[:, 0].tolist() == [1, 0, 0, 0]
    assert make_signal("step", 8)[:, 0].tolist() == [0, 0, 1, 1, 1, 1, 1, 1]
    assert make_signal("sum", 3)[:, 0].tolist() == [1, 1, 1]
    x, vocab = encode_text("abca")
    assert vocab == ["a", "b", "c"] and x.shape == (4, 3) and x.sum() == 4
    assert encode_text("A", "code")[0].tolist() == [[65 / 128]]


def test_parse_sequence_errors_name_the_line():
    assert parse_sequence("# c\n1\n\n2.5\n").tolist() == [[1.0], [2.5]]
    with pytest.raises(ValueError, match="line 2"):
        parse_sequence("1,2\n3\n")
    with pytest.raises(ValueError, match="line 1"):
        parse_sequence("abc")
    with pytest.raises(ValueError, match="empty"):
        parse_sequence("\n")

"""Your data (issue 15): a CSV or NPY of sequences becomes a task with a validation split
and the memoryless baseline computed on it; every malformed file gets a message naming
what is wrong."""

import io

import numpy as np
import pytest

from engine import datasets as ds
from engine.tasks import baseline_accuracy, make_task
from engine.train import TrainConfig, train


def _csv(header, rows) -> str:
    return "\n".join([",".join(header)] + [",".join(str(v) for v in r) for r in rows])


def _npy(a) -> bytes:
    buf = io.BytesIO()
    np.save(buf, a)
    return buf.getvalue()


def _labelled(n=30, T=10, rule=lambda v: int(v[-1] > 0), seed=0) -> str:
    rng = np.random.default_rng(seed)
    rows = []
    for k in range(n):
        v = rng.standard_normal(T)
        rows += [(k, x, rule(v)) for x in v]
    return _csv(["seq", "value", "label"], rows)


@pytest.mark.parametrize("text,words", [
    ("", "empty"),
    ("a,b\n", "no rows"),
    ("1,2\n3\n", "row 2 has 1 values; the first row has 2 (ragged"),
    ("a,b\n1,2\n3,x\n", "row 3, column b: 'x' is not a number"),
    ("a\n1\nnan\n", "row 3, column a: nan is not a finite number"),
    ("a\n1\ninf\n", "not a finite number"),
    ("a,a\n1,2\n", "same name"),
    ("seq,label\n0,1\n", "no input columns"),
    ("x,label,target\n1,0,1\n", "a label column and target columns"),
    ("seq,x,label\n0,1,0\n0,2,1\n", "sequence 1 (rows 2-3) has several labels: 0, 1"),
    ("seq,x,label\n0,1,0.5\n", "not a whole number"),
    ("seq,x,label\n0,1,1\n1,2,1\n", "every sequence has the same label"),
])
def test_every_malformed_csv_is_named(text, words):
    with pytest.raises(ValueError, match="empty|rows|ragged|number|name|input|label|several"
                       "|whole|same") as err:
        ds.parse_csv(text)
    assert words in str(err.value)


def test_size_limits():
    with pytest.raises(ValueError, match="larger than"):
        ds.parse_csv("1\n" * (ds.MAX_BYTES // 2 + 1))
    with pytest.raises(ValueError, match=f"limit is {ds.MAX_ROWS:,}"):
        ds.parse_csv("1\n" * (ds.MAX_ROWS + 1))
    with pytest.raises(ValueError, match="columns; the limit"):
        ds.parse_csv(",".join(["1"] * (ds.MAX_COLUMNS + 3)))
    with pytest.raises(ValueError, match="bytes; the limit"):
        ds.canonical_csv("big.csv", b"1\n" * ds.MAX_BYTES)


@pytest.mark.parametrize("data,words", [
    (b"not an npy file", "not an NPY file"),
    (_npy(np.array(["a", "b"])), "array of numbers"),
    (_npy(np.zeros((0, 2))), "empty"),
    (_npy(np.zeros((2, 3, 4, 5))), "4 axes"),
    (_npy(np.array([[1.0], [np.nan]])), "sequence 1, step 1, feature 0: nan"),
])
def test_every_malformed_npy_is_named(data, words):
    with pytest.raises(ValueError) as err:
        ds.canonical_csv("data.npy", data)
    assert words in str(err.value)


def test_a_pickled_npy_is_refused_not_run():
    buf = io.BytesIO()
    np.save(buf, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match="object arrays are refused"):
        ds.canonical_csv("evil.npy", buf.getvalue())


def test_the_three_kinds_and_the_sequence_column():
    d = ds.parse_csv("seq,a,b,label\n0,1,2,3\n0,4,5,3\n1,6,7,5\n")
    assert d.kind == "label" and d.lengths == [2, 1] and d.classes == (3, 5)
    assert d.labels.tolist() == [0, 1] and d.columns == ("a", "b")
    d = ds.parse_csv("x,target\n1,2\n3,4\n")
    assert d.kind == "targets" and d.targets[0].tolist() == [[2], [4]]
    d = ds.parse_csv("1,2\n3,4\n5,6\n")  # no header: every column an input, next step
    assert d.kind == "next" and d.columns == ("x0", "x1") and d.inputs[0].shape == (3, 2)


def test_an_npy_becomes_the_same_sequences():
    a = np.random.default_rng(0).standard_normal((3, 7, 2))
    d = ds.parse_csv(ds.canonical_csv("seqs.npy", _npy(a)))
    assert d.kind == "next" and d.lengths == [7, 7, 7]
    for k in range(3):
        np.testing.assert_array_equal(d.inputs[k], a[k])
    one = ds.parse_csv(ds.canonical_csv("one.npy", _npy(a[0, :, 0])))
    assert one.lengths == [7] and one.inputs[0].shape == (7, 1)


def test_validation_holds_out_whole_sequences_or_each_ones_end():
    text = _labelled(n=10)
    task = make_task("dataset", 10, text=text)
    split = task.extra["split"]
    assert split.valid[:, 0].tolist() == [8, 9] and split.train[:, 0].tolist() == list(range(8))
    series = _csv(["x"], [(v,) for v in np.sin(np.arange(200))])
    split = make_task("dataset", 20, text=series).extra["split"]
    (_, a, cut), (_, b, end) = split.train[0], split.valid[0]
    assert a == 0 and b == cut == 160 and end == 200  # the last fifth, after the training part
    x, y = make_task("dataset", 20, text=series).held_out_batch(64, np.random.default_rng(0))
    assert x.shape == (20, 64, 1) and y.shape == (20, 64, 1)
    np.testing.assert_allclose(x[1:], y[:-1])  # next step: the target is the next input


def test_too_little_data_for_the_split_or_for_t():
    with pytest.raises(ValueError, match="needs at least 5"):
        make_task("dataset", 10, text=_labelled(n=4))
    with pytest.raises(ValueError, match="lower T"):
        make_task("dataset", 11, text=_labelled(n=10, T=10))
    with pytest.raises(ValueError, match="validation part"):
        make_task("dataset", 30, text=_csv(["x"], [(v,) for v in range(50)]))
    with pytest.raises(ValueError, match="no dataset"):
        make_task("dataset", 10, text=None)


def test_the_baseline_is_the_validation_loss_of_a_predictor_without_memory():
    rng = np.random.default_rng(1)
    series = np.sin(0.3 * np.arange(800)) + 0.2 * rng.standard_normal(800)
    task = make_task("dataset", 25, text=_csv(["x"], [(v,) for v in series]))
    d, split = task.extra["data"], task.extra["split"]
    # the weights are exactly the evaluation's: every validation window counted once
    x, y = ds._windows(d, 25, split.valid, rng, None)
    xs, ys, w = ds._steps(d, 25, split.valid)
    persistence = float(np.sum(w[:, None] * (xs - ys) ** 2) / w.sum())
    assert persistence == pytest.approx(float(np.mean((x - y) ** 2)), rel=1e-6)
    assert task.baseline_loss <= persistence + 1e-12
    assert task.baseline_loss <= float(np.var(series)) and baseline_accuracy(task) is None
    assert "validation" in task.baseline_note


def test_a_label_the_last_input_gives_away_has_a_perfect_baseline_one_it_does_not_a_poor_one():
    easy = make_task("dataset", 10, text=_labelled(n=40))
    assert baseline_accuracy(easy) == 1.0 and easy.baseline_loss < 0.05
    hard = make_task("dataset", 10, text=_labelled(n=40, rule=lambda v: int(v[0] > 0)))
    assert baseline_accuracy(hard) <= 0.75 and hard.baseline_loss > 0.5


def test_a_network_with_memory_beats_the_baseline_on_data_that_needs_it():
    text = _labelled(n=200, T=8, rule=lambda v: int(v[0] > 0), seed=3)
    cfg = TrainConfig(task="dataset", text=text, seq_len=8, cell="gru", hidden=16, steps=300,
                      batch=32, lr=0.02)
    result = train(cfg)
    assert result.final_accuracy > result.baseline_accuracy + 0.15
    assert result.final_loss < result.baseline_loss
    with pytest.raises(ValueError, match="bidirectional"):
        train(TrainConfig(task="dataset", text=_csv(["x"], [(v,) for v in range(100)]),
                          seq_len=10, bidirectional=True, steps=1))

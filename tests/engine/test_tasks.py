"""Task shapes and their analytic memoryless baselines."""

import numpy as np
import pytest

from engine.tasks import TASKS, make_task, text_task


@pytest.mark.parametrize("name", TASKS)
def test_shapes_and_dtypes(name):
    task = make_task(name, 30)
    x, y = task.batch(5, np.random.default_rng(0))
    T = 50 if name == "copy" else 30
    assert x.shape == (T, 5, task.input_size) and x.dtype == np.float32
    if task.kind == "regression":
        want = (5, task.output_size) if task.where == "last" else (T, 5, task.output_size)
        assert y.shape == want and y.dtype == np.float32
    else:
        assert y.shape == ((5,) if task.where == "last" else (T, 5))
        assert y.dtype == np.int64 and y.min() >= 0 and y.max() < task.output_size
    x2, y2 = task.batch(5, np.random.default_rng(0))
    assert np.array_equal(x, x2) and np.array_equal(y, y2)  # seeded


def test_adding_baseline_is_one_sixth():
    task = make_task("adding", 50)
    x, y = task.batch(4096, np.random.default_rng(1))
    assert np.all(x[..., 1].sum(axis=0) == 2)
    assert np.all(x[:25, :, 1].sum(axis=0) == 1)  # one marker in each half
    marked = (x[..., 0] * x[..., 1]).sum(axis=0)
    np.testing.assert_allclose(marked, y[:, 0], rtol=1e-6)
    assert task.baseline_loss == pytest.approx(1 / 6)
    assert np.mean((y - 1.0) ** 2) == pytest.approx(1 / 6, rel=0.05)


def test_copy_memory_layout_and_baseline():
    task = make_task("copy", 100)
    assert task.baseline_loss == pytest.approx(0.1733, abs=1e-4)
    assert make_task("copy", 200).baseline_loss == pytest.approx(0.0945, abs=1e-4)
    x, y = task.batch(3, np.random.default_rng(0))
    tokens = x.argmax(axis=-1)
    assert np.all(tokens[109] == 9)  # delimiter
    assert np.array_equal(y[-10:], tokens[:10])
    assert np.all(y[:-10] == 0)
    # the memoryless predictor: blank where blank, uniform over 8 symbols at the end
    probs = np.zeros((120, 3, 10))
    probs[:-10, :, 0] = 1.0
    probs[-10:, :, 1:9] = 1 / 8
    ce = -np.mean(np.log(np.take_along_axis(probs, y[..., None], -1)))
    assert ce == pytest.approx(task.baseline_loss)


def test_running_sum_and_sine_baselines_match_monte_carlo():
    task = make_task("running_sum", 40)
    _, y = task.batch(4096, np.random.default_rng(2))
    assert np.mean((y - y.mean()) ** 2) == pytest.approx(task.baseline_loss, rel=0.05)
    sine = make_task("sine", 40)
    _, y = sine.batch(4000, np.random.default_rng(3))
    assert np.mean(y**2) == pytest.approx(0.5, rel=0.03)


def test_parity_and_chars_baselines():
    parity = make_task("parity", 12)
    x, y = parity.batch(64, np.random.default_rng(0))
    assert np.array_equal(y, x[..., 0].sum(axis=0).astype(int) % 2)
    assert parity.baseline_loss == pytest.approx(np.log(2))
    chars = make_task("chars", 20)
    codes = chars.extra["codes"]
    freq = np.bincount(codes) / len(codes)
    assert chars.baseline_loss == pytest.approx(-np.sum(freq * np.log(freq)))
    x, y = chars.batch(4, np.random.default_rng(0))
    assert np.array_equal(x[1:].argmax(-1), y[:-1])  # the target is the next character


@pytest.mark.parametrize("text,word", [("", "empty"), ("   ", "empty"), ("ab", "longer"),
                                       ("x" * 1_000_001, "at most")])
def test_bad_texts(text, word):
    with pytest.raises(ValueError, match=word):
        text_task(text, 10)


def test_bad_task_arguments():
    with pytest.raises(ValueError, match="task"):
        make_task("sorting", 10)
    with pytest.raises(ValueError, match="seq_len"):
        make_task("adding", 1)

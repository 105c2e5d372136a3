"""Task shapes and their memoryless baselines: exact, and no memoryless predictor beats them."""

import numpy as np
import pytest

from engine.tasks import TASKS, baseline_over, make_task, text_task


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


def test_sine_generator_is_a_unit_sine():
    sine = make_task("sine", 40)
    _, y = sine.batch(4000, np.random.default_rng(3))
    assert np.mean(y**2) == pytest.approx(0.5, rel=0.03)  # so predicting 0 scores 1/2


def _sample(task, n_batches, seed):
    """Several seeded batches joined along the batch axis."""
    rng = np.random.default_rng(seed)
    parts = [task.batch(4096, rng) for _ in range(n_batches)]
    x = np.concatenate([p[0] for p in parts], axis=1)
    return x, np.concatenate([p[1] for p in parts], axis=0 if task.where == "last" else 1)


def _current_input(task, x):
    """What a memoryless predictor sees where the loss is: the last step, or every step."""
    return x[-1] if task.where == "last" else x


def _memoryless_fit(task, key, n_batches=1, seeds=(11, 12)):
    """A lookup table from a key of the current input alone to the best guess.

    The conditional mean (regression) or the conditional frequencies (classification),
    fitted on one large seeded sample and scored on another. Returns the loss and its
    standard error, from the per-sequence losses (independent of each other).
    """
    (xa, ya), (xb, yb) = (_sample(task, n_batches, s) for s in seeds)
    ka, kb = key(_current_input(task, xa)), key(_current_input(task, xb))
    n_keys = int(max(ka.max(), kb.max())) + 1
    if task.kind == "regression":
        ya, yb = ya[..., 0], yb[..., 0]
        sums = np.bincount(ka.ravel(), weights=ya.ravel(), minlength=n_keys)
        counts = np.bincount(ka.ravel(), minlength=n_keys)
        table = np.where(counts > 0, sums / np.maximum(counts, 1), ya.mean())
        loss = (table[kb] - yb) ** 2
    else:
        C = task.output_size
        counts = np.bincount((ka * C + ya).ravel(), minlength=n_keys * C).reshape(n_keys, C)
        probs = (counts + 1e-3) / (counts + 1e-3).sum(axis=1, keepdims=True)
        loss = -np.log(probs[kb, yb])
    per_seq = loss if task.where == "last" else loss.mean(axis=0)
    return float(per_seq.mean()), float(per_seq.std() / np.sqrt(per_seq.size))


def _bits(x):
    return x[..., 0].astype(np.int64)


def _token(x):
    return x.argmax(axis=-1)


def _value_bin(x, width=0.01, lo=-1.6, hi=1.6):
    return np.clip(((x[..., 0] - lo) / width).astype(np.int64), 0, int((hi - lo) / width) - 1)


def _assert_best_memoryless(loss, se, best, slack):
    """No memoryless fit beats ``best`` beyond noise, and one gets within noise + slack."""
    assert loss >= best - 4 * se, f"a memoryless lookup scores {loss:.5f} < {best:.5f}"
    assert loss <= best + 4 * se + slack, f"{best:.5f} is loose: the lookup scores {loss:.5f}"


@pytest.mark.parametrize("noise", [0.1, 0.3])
def test_sine_baseline_is_the_best_guess_from_the_current_noisy_value(noise):
    task = make_task("sine", 100, noise=noise)
    fitted, se = _memoryless_fit(task, _value_bin)
    _assert_best_memoryless(fitted, se, task.baseline_loss, 2e-4)
    x, y = task.batch(4096, np.random.default_rng(5))
    copy_loss = np.mean((x - y) ** 2)  # predict x_t itself
    assert task.baseline_loss <= copy_loss
    if noise == 0.1:  # the app's sine
        assert task.baseline_loss < 0.1 * 0.5  # far below "predict 0"
        assert task.baseline_loss == pytest.approx(0.02559, abs=5e-5)
        assert copy_loss == pytest.approx(0.0278, abs=1e-3)
        assert task.baseline_loss < 0.95 * copy_loss  # E[y | x] is not x: it shrinks
    # the best linear guess a * x_t is not the best either (E[y | x] bends near the crests)
    a = np.sum(x * y) / np.sum(x * x)
    assert task.baseline_loss < np.mean((a * x - y) ** 2)


def test_sine_baseline_depends_on_the_noise_not_on_the_length():
    short, long = make_task("sine", 10), make_task("sine", 500)
    assert short.baseline_loss == long.baseline_loss
    fitted, se = _memoryless_fit(short, _value_bin, n_batches=4)
    _assert_best_memoryless(fitted, se, short.baseline_loss, 2e-4)
    losses = [make_task("sine", 20, noise=n).baseline_loss for n in (0, 0.05, 0.1, 0.5, 2.0)]
    assert losses == sorted(losses) and losses[-1] < 0.5
    ecos = (np.sin(0.3) - np.sin(0.05)) / 0.25
    assert losses[0] == pytest.approx(0.5 * (1 - ecos**2))  # noiseless: E[y | x] = E[cos f] x
    # the small-noise expansion below 0.002 meets the quadrature above it
    below, above = (make_task("sine", 20, noise=n).baseline_loss for n in (0.00199, 0.00201))
    assert above == pytest.approx(below, abs=1e-7)
    for bad in (-0.1, float("nan"), 11.0, "loud"):
        with pytest.raises(ValueError, match="noise"):
            make_task("sine", 20, noise=bad)


def test_running_sum_baseline_is_exact_from_the_current_bit():
    """Every bit string of length T, equally likely: the best guess per current bit, exactly."""
    for T in (2, 3, 5, 7):
        bits = (np.arange(2**T)[:, None] >> np.arange(T)[None, :]) & 1  # (strings, T)
        y = np.cumsum(bits, axis=1) / T
        sq = sum(np.sum((y[bits == b] - y[bits == b].mean()) ** 2) for b in (0, 1))
        assert make_task("running_sum", T).baseline_loss == pytest.approx(sq / y.size,
                                                                          rel=1e-12)
        if T == 3:
            assert sq / y.size < 0.7 * np.var(y)  # far below the best constant
    task = make_task("running_sum", 40)
    fitted, se = _memoryless_fit(task, _bits)
    _assert_best_memoryless(fitted, se, task.baseline_loss, 1e-5)


def test_running_sum_baseline_over_the_later_steps():
    task = make_task("running_sum", 30)
    (x, y), first = _sample(task, 1, 7), 10
    x, y = x[first:, :, 0], y[first:, :, 0]
    fitted = sum(np.sum((y[x == b] - y[x == b].mean()) ** 2) for b in (0, 1)) / y.size
    assert baseline_over(task, first) == pytest.approx(fitted, rel=0.02)
    assert baseline_over(task, first) < 0.7 * task.baseline_loss  # t varies less over 10..29
    assert baseline_over(task, 0) == task.baseline_loss
    sine = make_task("sine", 30)
    assert baseline_over(sine, first) == sine.baseline_loss
    with pytest.raises(ValueError, match="first"):
        baseline_over(task, 30)


def test_parity_baseline_is_a_coin_flip_given_the_last_bit():
    for T in (2, 3, 6):
        bits = (np.arange(2**T)[:, None] >> np.arange(T)[None, :]) & 1
        parity = bits.sum(axis=1) % 2
        for b in (0, 1):  # given the last bit, the parity is odd exactly half the time
            assert parity[bits[:, -1] == b].mean() == 0.5
    task = make_task("parity", 12)
    x, y = task.batch(64, np.random.default_rng(0))
    assert np.array_equal(y, x[..., 0].sum(axis=0).astype(int) % 2)
    assert task.baseline_loss == pytest.approx(np.log(2))
    fitted, se = _memoryless_fit(task, _bits)
    _assert_best_memoryless(fitted, se, task.baseline_loss, 1e-3)


def test_chars_baseline_is_the_bigram_cross_entropy():
    chars = make_task("chars", 20)
    codes = chars.extra["codes"]
    V = chars.input_size
    freq = np.bincount(codes) / len(codes)
    unigram = -np.sum(freq * np.log(freq))
    pairs = np.bincount(codes[:-1] * V + codes[1:], minlength=V * V).reshape(V, V)
    cond = pairs / np.maximum(pairs.sum(axis=1, keepdims=True), 1)
    bigram = -np.sum(pairs[pairs > 0] * np.log(cond[pairs > 0])) / pairs.sum()
    assert unigram == pytest.approx(3.09, abs=0.01) and bigram == pytest.approx(2.24, abs=0.01)
    assert chars.baseline_loss == pytest.approx(bigram, abs=2e-3)  # the text's edges aside
    longer = make_task("chars", 50)
    fitted, se = _memoryless_fit(longer, _token, n_batches=2)
    _assert_best_memoryless(fitted, se, longer.baseline_loss, 0.01)
    x, y = chars.batch(4, np.random.default_rng(0))
    assert np.array_equal(x[1:].argmax(-1), y[:-1])  # the target is the next character


def test_chars_baseline_of_your_own_text_weights_the_windows_pairs():
    assert text_task("ab" * 50, 10).baseline_loss == pytest.approx(0.0)  # b always follows a
    text, T = "abaabbbaab", 4
    task = text_task(text, T)
    codes = task.extra["codes"]
    starts = range(len(codes) - T - 1)  # every window the generator can draw, equally likely
    counts = {}
    for s in starts:
        for i in range(T):
            pair = codes[s + i], codes[s + i + 1]
            counts[pair] = counts.get(pair, 0) + 1
    rows = {}
    for (a, _), c in counts.items():
        rows[a] = rows.get(a, 0) + c
    total = sum(counts.values())
    want = -sum(c * np.log(c / rows[a]) for (a, _), c in counts.items()) / total
    assert task.baseline_loss == pytest.approx(want, rel=1e-12)


def test_adding_memoryless_predictor_beats_the_convention_only_by_the_last_marker():
    """Reading the last step's (value, marker): when the second marker is there, half the sum
    is known. Least squares on quadratic features of that input alone reaches 1/6 - p/12."""
    for T, n_batches in ((10, 8), (100, 1)):
        task = make_task("adding", T)
        assert task.baseline_loss == pytest.approx(1 / 6)  # the literature's convention
        p = 1 / (T - T // 2)  # the second marker is on the last step
        best = task.extra["memoryless"]
        assert best == pytest.approx(1 / 6 - p / 12)
        fits = []
        for seed in (11, 12):
            x, y = _sample(task, n_batches, seed)
            v, m = x[-1, :, 0].astype(np.float64), x[-1, :, 1].astype(np.float64)
            features = np.stack([np.ones_like(v), v, v * v, m, m * v, m * v * v], axis=-1)
            fits.append((features, y[:, 0]))
        (fa, ya), (fb, yb) = fits
        coef = np.linalg.lstsq(fa, ya, rcond=None)[0]
        err = (fb @ coef - yb) ** 2
        _assert_best_memoryless(err.mean(), err.std() / np.sqrt(err.size), best, 1e-3)
    # at T = 100 the gap is 1%: the convention stands
    assert 1 / 6 - make_task("adding", 100).extra["memoryless"] == pytest.approx(1 / 600)


def test_selective_copy_layout_and_baseline():
    """Mamba's selective copying: n tokens scattered among blanks, recalled in order at the n
    markers; a lookup from the current token alone scores n ln V / T and no better."""
    task = make_task("selective_copy", 64)
    n, V = task.extra["tokens"], task.extra["vocab"]
    x, y = task.batch(200, np.random.default_rng(0))
    tokens = x.argmax(axis=-1)
    data = (tokens >= 1) & (tokens <= V)
    assert np.all(data[:64 - n].sum(axis=0) == n) and not data[64 - n:].any()
    assert np.all(tokens[64 - n:] == V + 1)
    for b in range(200):  # the targets are the data tokens, in order
        assert np.array_equal(y[64 - n:, b], tokens[:64 - n, b][data[:64 - n, b]])
    assert np.all(y[:64 - n] == 0)
    assert len({tuple(np.flatnonzero(data[:, b])) for b in range(200)}) > 150  # places vary
    assert task.baseline_loss == pytest.approx(n * np.log(V) / 64)
    fitted, se = _memoryless_fit(task, _token)
    _assert_best_memoryless(fitted, se, task.baseline_loss, 1e-3)
    with pytest.raises(ValueError, match="at least 9"):
        make_task("selective_copy", 8)


def test_running_parity_and_its_memoryless_baseline():
    task = make_task("running_parity", 20)
    x, y = task.batch(64, np.random.default_rng(0))
    np.testing.assert_array_equal(y, np.cumsum(x[..., 0], axis=0).astype(int) % 2)
    assert make_task("running_parity", 1000).baseline_loss == pytest.approx(np.log(2), abs=1e-5)
    fitted, se = _memoryless_fit(task, _token_bit)
    _assert_best_memoryless(fitted, se, task.baseline_loss, 1e-3)


def _token_bit(x):
    return x[..., 0].astype(np.int64)


def test_copy_memoryless_predictor_cannot_reach_the_convention():
    """The convention knows the step (blank until the recall); from the current token alone
    a blank input could be filler or recall, so the best loss is higher."""
    for T in (10, 100):
        task = make_task("copy", T)
        fitted, se = _memoryless_fit(task, _token)
        _assert_best_memoryless(fitted, se, task.extra["memoryless"], 1e-3)
        assert task.extra["memoryless"] > task.baseline_loss
    assert make_task("copy", 100).extra["memoryless"] == pytest.approx(0.4517, abs=1e-4)


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


def _best_share(keys: np.ndarray, targets: np.ndarray) -> float:
    """The share a predictor that sees only ``keys`` gets right at best: per key, its most
    frequent target (in sample: the optimum over every such predictor)."""
    pairs = np.stack([keys.ravel(), targets.ravel()], axis=1)
    uniq, counts = np.unique(pairs, axis=0, return_counts=True)
    best = {}
    for (k, _), c in zip(uniq.tolist(), counts.tolist(), strict=True):
        best[k] = max(best.get(k, 0), c)
    return sum(best.values()) / targets.size


@pytest.mark.parametrize("name,T", [("parity", 20), ("running_parity", 8),
                                    ("running_parity", 40), ("selective_copy", 12),
                                    ("selective_copy", 30), ("copy", 5), ("copy", 30),
                                    ("chars", 16)])
def test_the_accuracy_baseline_is_the_best_without_memory(name, T):
    from engine.tasks import baseline_accuracy

    task = make_task(name, T)
    rng = np.random.default_rng(7)
    parts = [task.batch(4000, rng) for _ in range(1 if task.where == "every" else 10)]
    x = np.concatenate([p[0] for p in parts], axis=1)  # (T, B, I)
    y = np.concatenate([p[1] for p in parts], axis=-1)  # (T, B) or (B,): batch last
    token = x.argmax(axis=-1) if x.shape[-1] > 1 else x[..., 0].astype(int)
    if task.where == "last":  # many-to-one: what the last step's input shows
        keys = token[-1]
    elif name == "copy":  # the literature's convention knows the step (as for its loss)
        keys = token * (T + 20) + np.arange(T + 20)[:, None]
        assert _best_share(token, y) <= baseline_accuracy(task) + 0.01  # current token only
    else:
        keys = token
    assert _best_share(keys, y) == pytest.approx(baseline_accuracy(task), abs=0.01)


def test_regression_tasks_have_no_accuracy():
    from engine.tasks import baseline_accuracy

    assert baseline_accuracy(make_task("adding", 10)) is None

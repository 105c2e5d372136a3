"""Classic sequence tasks: seeded batch generators, each with the loss of a memoryless baseline.

A task says what the model must output (``kind``: regression with MSE, or classification with
cross-entropy) and where the loss sits (``where``: the last step or every step). Inputs are
float32 arrays (T, B, input_size); targets are (B, out) / (T, B, out) floats for regression
and (B,) / (T, B) class indices for classification. ``baseline_loss`` is the memoryless
baseline: the lowest loss of a predictor that sees only the current step's input (and not the
step number), so "learned to remember" means "beat the baseline". Adding and copy keep the
literature's convention (1/6; 10 ln 8 / (T + 20)); ``extra["memoryless"]`` holds what a
predictor reading only the current input really scores there. The others are computed
exactly: a conditional mean or the pair statistics of the current input.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from .limits import check_int

TEXT_PATH = Path(__file__).with_name("data") / "sonnets.txt"
MAX_TEXT_CHARS = 1_000_000
MAX_VOCAB = 256
SINE_FREQS = (0.05, 0.3)  # the sine task's frequency range, uniform
SINE_MAX_NOISE = 10.0


@dataclass(frozen=True)
class Task:
    name: str
    seq_len: int
    input_size: int
    output_size: int  # regression outputs, or number of classes
    kind: str  # "regression" | "classification"
    where: str  # "last" | "every"
    baseline_loss: float
    baseline_note: str
    extra: dict = field(default_factory=dict, compare=False, repr=False)

    def batch(self, batch_size: int, rng: np.random.Generator):
        batch_size = check_int("batch", batch_size, 1, 4096)
        if self.name == "dataset":
            from .datasets import batch
            return batch(self, batch_size, rng)
        return GENERATORS[self.name](self, batch_size, rng)

    def held_out_batch(self, batch_size: int, rng: np.random.Generator):
        """A batch for evaluation: your data's validation part; the classic tasks draw
        fresh sequences (from an rng training never uses)."""
        if self.name == "dataset":
            from .datasets import batch
            return batch(self, check_int("batch", batch_size, 1, 4096), rng, held_out=True)
        return self.batch(batch_size, rng)


def _adding(task: Task, B: int, rng):
    """Le et al. (2015): value U(0,1) and a marker at one step in each half; target = sum."""
    T = task.seq_len
    values = rng.uniform(0, 1, (T, B))
    first = rng.integers(0, T // 2, B)
    second = rng.integers(T // 2, T, B)
    marks = np.zeros((T, B))
    marks[first, np.arange(B)] = 1.0
    marks[second, np.arange(B)] = 1.0
    x = np.stack([values, marks], axis=-1).astype(np.float32)
    y = (values[first, np.arange(B)] + values[second, np.arange(B)])[:, None]
    return x, y.astype(np.float32)


def _copy(task: Task, B: int, rng):
    """Arjovsky et al. (2016): 10 symbols of 8, T-1 blanks, a delimiter, 10 blanks -> recall."""
    T = task.seq_len  # the delay; the sequence is T + 20 long
    symbols = rng.integers(1, 9, (10, B))
    tokens = np.zeros((T + 20, B), dtype=np.int64)
    tokens[:10] = symbols
    tokens[T + 9] = 9  # delimiter
    target = np.zeros((T + 20, B), dtype=np.int64)
    target[-10:] = symbols
    x = np.eye(10, dtype=np.float32)[tokens]
    return x, target


def _selective_copy(task: Task, B: int, rng):
    """Mamba's selective copying (Gu & Dao 2023, section 4.1), scaled down: ``n`` data tokens
    of ``vocab`` symbols at random places among T - n blanks, then n markers; at the
    markers, the data tokens in order. Where they sit differs from sequence to sequence,
    so a recurrence whose forgetting does not depend on the input cannot know what to keep.
    Tokens: 0 blank, 1..vocab data, vocab + 1 marker (one-hot); targets 0 (blank) or 1..vocab.
    """
    T, n, V = task.seq_len, task.extra["tokens"], task.extra["vocab"]
    places = np.sort(rng.random((T - n, B)).argsort(axis=0)[:n], axis=0)  # n distinct, in order
    symbols = rng.integers(1, V + 1, (n, B))
    tokens = np.zeros((T, B), dtype=np.int64)
    tokens[places, np.arange(B)] = symbols
    tokens[T - n:] = V + 1
    target = np.zeros((T, B), dtype=np.int64)
    target[T - n:] = symbols
    return np.eye(V + 2, dtype=np.float32)[tokens], target


def _sine(task: Task, B: int, rng):
    """Next-step prediction of a sine with random frequency and phase, seen through noise."""
    T = task.seq_len
    freq = rng.uniform(*SINE_FREQS, B)
    phase = rng.uniform(0, 2 * np.pi, B)
    t = np.arange(T + 1)[:, None]
    clean = np.sin(freq * t + phase)
    noisy = clean[:-1] + task.extra["noise"] * rng.standard_normal((T, B))
    return noisy[..., None].astype(np.float32), clean[1:, :, None].astype(np.float32)


def _running_sum(task: Task, B: int, rng):
    """"1+1+1": bits in, the running count so far (divided by T) out, at every step."""
    T = task.seq_len
    bits = rng.integers(0, 2, (T, B)).astype(np.float64)
    total = np.cumsum(bits, axis=0) / T
    return bits[..., None].astype(np.float32), total[..., None].astype(np.float32)


def _parity(task: Task, B: int, rng):
    """Many-to-one: is the number of ones in the bit string odd?"""
    bits = rng.integers(0, 2, (task.seq_len, B))
    return bits[..., None].astype(np.float32), (bits.sum(axis=0) % 2).astype(np.int64)


def _running_parity(task: Task, B: int, rng):
    """State tracking (Grazzi et al. 2025): bits in, at every step the parity of the bits so
    far. Each 1-bit flips the answer: a recurrence must be able to negate its state."""
    bits = rng.integers(0, 2, (task.seq_len, B))
    return bits[..., None].astype(np.float32), (np.cumsum(bits, axis=0) % 2).astype(np.int64)


def _running_parity_baseline(T: int) -> float:
    """Cross-entropy of the best guess from the current bit alone, pooled over the steps: at
    t = 0 the parity is the bit, later it is a coin flip whatever the bit, so the parity
    matches the bit with probability p = (1 + (T - 1) / 2) / T; the loss is H(p) (exact)."""
    p = (T + 1) / (2 * T)
    return float(-(p * np.log(p) + (1 - p) * np.log(1 - p)))


def _chars(task: Task, B: int, rng):
    """Random windows of the text: one-hot characters in, the next character out."""
    codes = task.extra["codes"]
    T = task.seq_len
    starts = rng.integers(0, len(codes) - T - 1, B)
    idx = starts[None, :] + np.arange(T + 1)[:, None]
    window = codes[idx]
    x = np.eye(task.input_size, dtype=np.float32)[window[:-1]]
    return x, window[1:].astype(np.int64)


GENERATORS = {"adding": _adding, "copy": _copy, "selective_copy": _selective_copy,
              "sine": _sine, "running_sum": _running_sum, "parity": _parity,
              "running_parity": _running_parity, "chars": _chars}
SELECTIVE_TOKENS, SELECTIVE_VOCAB = 4, 8  # data tokens to recall, and their vocabulary
TASKS = tuple(GENERATORS)
ALL_TASKS = (*TASKS, "dataset")  # and your data (engine.datasets), carried as the config's text


def _running_sum_baseline(T: int, first: int = 0) -> float:
    """MSE of the best predictor of y_t = (b_0 + ... + b_t) / T from the current bit b_t alone.

    Without memory the predictor does not know t either: pooled over the scored steps
    t = first..T-1 (uniform), E[y | b] = (b + mean(t) / 2) / T and the loss is
    E[Var(y | b)] = (mean(t) / 4 + Var(t) / 4) / T^2, exactly.
    """
    t = np.arange(first, T, dtype=np.float64)
    return float((t.mean() / 4 + t.var() / 4) / T**2)


def _adding_memoryless(T: int) -> float:
    """MSE of the best predictor from the last step's (value, marker): 1/6 - p/12.

    The second marker sits at the last step with probability p = 1 / (T - T//2); then the
    predictor knows one of the two values (Var = 1/12 left), otherwise it knows nothing (1/6).
    """
    return 1 / 6 - 1 / (12 * (T - T // 2))


def _copy_memoryless(T: int) -> float:
    """Cross-entropy of the best predictor from the current token alone (exact).

    Symbols and the delimiter are always followed by a blank target. A blank input is the
    T-1 filler steps (target blank) or the 10 recall steps (target one of 8 symbols): the best
    guess there is those pooled frequencies.
    """
    n = T + 9  # steps whose input is a blank
    p_blank, p_symbol = (T - 1) / n, 10 / (8 * n)
    h = -p_blank * np.log(p_blank) - 8 * p_symbol * np.log(p_symbol)
    return float(n * h / (T + 20))


def _sine_copy_loss(noise: float) -> float:
    """MSE of predicting x_t itself: 1 - E[cos f] + noise^2 (exact)."""
    lo, hi = SINE_FREQS
    return float(1 - (np.sin(hi) - np.sin(lo)) / (hi - lo) + noise**2)


@lru_cache(maxsize=64)
def _sine_baseline(noise: float) -> float:
    """MSE of E[y_{t+1} | x_t], the best predictor of the next clean value from the noisy one.

    x = sin(theta) + noise * eps, y = sin(theta + f), theta uniform (so the pair does not
    depend on t), f ~ U(SINE_FREQS). The cos(theta) sin(f) part of y is odd under
    theta -> pi - theta while x is even, so E[y | x] = E[cos f] E[sin theta | x] and the loss is
    1/2 - E[cos f]^2 E[E[sin theta | x]^2]. The inner means are trapezoid sums over theta
    and the outer integral one over x, both on grids finer than the noise (spectrally
    accurate: 1e-14 against grids twice as fine). Below noise 0.002 the small-noise
    expansion 1/2 (1 - E[cos f]^2) + E[cos f]^2 noise^2 is used (error < 1e-7).
    """
    lo, hi = SINE_FREQS
    ecos = (np.sin(hi) - np.sin(lo)) / (hi - lo)
    if noise < 0.002:
        return float(0.5 * (1 - ecos**2) + ecos**2 * noise**2)
    n_theta = max(128, int(np.ceil(2 * np.pi / noise)))
    s = np.sin((np.arange(n_theta) + 0.5) * 2 * np.pi / n_theta)
    dx = noise / 2
    xs = np.arange(-1 - 9 * noise, 1 + 9 * noise + dx / 2, dx)
    m2 = 0.0
    for chunk in np.array_split(xs, max(1, len(xs) * n_theta // 500_000)):
        k = np.exp(-0.5 * ((chunk[:, None] - s[None, :]) / noise) ** 2)
        den = k.sum(axis=1)
        num = k @ s
        m2 += float(np.sum(num**2 / np.maximum(den, 1e-300)))
    m2 *= dx / (n_theta * noise * np.sqrt(2 * np.pi))
    return float(0.5 - ecos**2 * m2)


def _bigram_baseline(codes: np.ndarray, vocab_size: int, seq_len: int) -> float:
    """Cross-entropy of the best next-character guess from the current character alone.

    Exactly the conditional entropy H(next | current) of the character pairs the task's
    windows contain, each pair weighted by how many window starts cover it (the text's
    first and last seq_len pairs are sampled less often).
    """
    starts = len(codes) - seq_len - 1  # windows start at 0..starts-1
    j = np.arange(len(codes) - 1)  # the pair (codes[j], codes[j + 1])
    weight = np.clip(np.minimum(j, starts - 1) - np.maximum(0, j - seq_len + 1) + 1, 0, None)
    counts = np.bincount(codes[:-1] * vocab_size + codes[1:], weights=weight.astype(np.float64),
                         minlength=vocab_size * vocab_size).reshape(vocab_size, vocab_size)
    rows = np.broadcast_to(counts.sum(axis=1, keepdims=True), counts.shape)
    seen = counts > 0
    return float(-np.sum(counts[seen] * np.log(counts[seen] / rows[seen])) / counts.sum())


def text_task(text: str, seq_len: int) -> Task:
    """A character-level language model on ``text`` (validated: not empty, not huge)."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError("text must not be empty")
    if len(text) > MAX_TEXT_CHARS:
        raise ValueError(f"text must be at most {MAX_TEXT_CHARS:,} characters, got {len(text):,}")
    vocab = sorted(set(text))
    if len(vocab) > MAX_VOCAB:
        raise ValueError(f"text must use at most {MAX_VOCAB} distinct characters, "
                         f"got {len(vocab)}")
    if len(text) < seq_len + 2:
        raise ValueError(f"text must be longer than seq_len + 1 = {seq_len + 1} characters, "
                         f"got {len(text)}")
    lookup = {ch: i for i, ch in enumerate(vocab)}
    codes = np.array([lookup[ch] for ch in text], dtype=np.int64)
    return Task("chars", seq_len, len(vocab), len(vocab), "classification", "every",
                _bigram_baseline(codes, len(vocab), seq_len),
                "the bigram cross-entropy: the best guess of the next character from the "
                "current one alone", {"codes": codes, "vocab": vocab})


def _bigram_accuracy(codes: np.ndarray, vocab_size: int, seq_len: int) -> float:
    """Accuracy of the most frequent next character after the current one, over the pairs
    the windows contain, weighted as in ``_bigram_baseline``."""
    starts = len(codes) - seq_len - 1
    j = np.arange(len(codes) - 1)
    weight = np.clip(np.minimum(j, starts - 1) - np.maximum(0, j - seq_len + 1) + 1, 0, None)
    counts = np.bincount(codes[:-1] * vocab_size + codes[1:], weights=weight.astype(np.float64),
                         minlength=vocab_size * vocab_size).reshape(vocab_size, vocab_size)
    return float(counts.max(axis=1).sum() / counts.sum())


def baseline_accuracy(task: Task) -> float | None:
    """The share of targets a predictor without memory gets right, on the loss baseline's
    terms (None for regression). Parity: a coin flip; running parity: the current bit is
    the parity at the first step, a coin flip after it; selective copying: blanks right, a
    guess of 1 in V at the markers; copy, the literature's convention as for its loss: blanks
    right, a guess of 1 in 8 at the 10 recall steps (from the current token alone:
    (11 + max(T - 1, 10/8)) / (T + 20), a little lower); characters: the most frequent
    character after the current one."""
    T = task.seq_len
    if task.kind != "classification":
        return None
    if task.name == "parity":
        return 0.5
    if task.name == "running_parity":
        return (T + 1) / (2 * T)
    if task.name == "selective_copy":
        n, V = task.extra["tokens"], task.extra["vocab"]
        return (T - n + n / V) / T
    if task.name == "copy":
        return (T + 10 + 10 / 8) / (T + 20)
    if task.name == "chars":
        return _bigram_accuracy(task.extra["codes"], len(task.extra["vocab"]), T)
    if task.name == "dataset":  # fitted and scored on its validation part (engine.datasets)
        return task.extra["accuracy"]
    raise ValueError(f"no accuracy baseline for the {task.name!r} task")


def make_task(name: str, seq_len: int, noise: float = 0.1, text: str | None = None) -> Task:
    """The task called ``name`` (see TASKS) over sequences of ``seq_len`` steps."""
    seq_len = check_int("seq_len", seq_len, 2, 10_000)
    if name == "adding":
        return Task(name, seq_len, 2, 1, "regression", "last", 1 / 6,
                    "predict the mean sum 1: MSE = Var(U1 + U2) = 1/6, the literature's "
                    "convention (reading the last step's marker too gives "
                    "1/6 - 1/(12 ceil(T/2)))",
                    {"memoryless": _adding_memoryless(seq_len)})
    if name == "copy":
        return Task(name, seq_len, 10, 10, "classification", "every",
                    10 * np.log(8) / (seq_len + 20),
                    "blanks right, then a uniform guess of 8 symbols: 10 ln 8 / (T + 20), the "
                    "literature's convention (it knows the step; from the current token alone "
                    "the loss is higher)",
                    {"memoryless": _copy_memoryless(seq_len)})
    if name == "selective_copy":
        n, V = SELECTIVE_TOKENS, SELECTIVE_VOCAB
        if seq_len < 2 * n + 1:
            raise ValueError(f"seq_len must be at least {2 * n + 1} for selective copying "
                             f"({n} tokens among blanks, then {n} markers), got {seq_len}")
        return Task(name, seq_len, V + 2, V + 1, "classification", "every",
                    float(n * np.log(V) / seq_len),
                    f"blanks right, then a uniform guess of {V} symbols at the {n} markers: "
                    f"{n} ln {V} / T, exactly what the current token alone allows (it tells "
                    "a marker from the rest, never which symbol is due)",
                    {"tokens": n, "vocab": V})
    if name == "sine":
        try:
            noise = float(noise)
        except (TypeError, ValueError):
            raise ValueError(f"noise must be a number in [0, {SINE_MAX_NOISE}], "
                             f"got {noise!r}") from None
        if not 0 <= noise <= SINE_MAX_NOISE:  # also refuses NaN
            raise ValueError(f"noise must be in [0, {SINE_MAX_NOISE}], got {noise}")
        return Task(name, seq_len, 1, 1, "regression", "every", _sine_baseline(noise),
                    f"the best guess of the next clean value from the current noisy one alone "
                    f"(noise {noise:g}); predicting x_t itself scores "
                    f"{_sine_copy_loss(noise):.4g}", {"noise": noise})
    if name == "running_sum":
        return Task(name, seq_len, 1, 1, "regression", "every", _running_sum_baseline(seq_len),
                    "the best guess from the current bit alone, E[count/T | bit], "
                    "pooled over the steps")
    if name == "parity":
        return Task(name, seq_len, 1, 2, "classification", "last", float(np.log(2)),
                    "a coin flip, ln 2: the last bit alone says nothing about the parity")
    if name == "running_parity":
        return Task(name, seq_len, 1, 2, "classification", "every",
                    _running_parity_baseline(seq_len),
                    "the best guess from the current bit alone, pooled over the steps: right "
                    "at the first step, a coin flip after it")
    if name == "chars":
        return text_task(TEXT_PATH.read_text() if text is None else text, seq_len)
    if name == "dataset":
        from .datasets import dataset_task
        return dataset_task(text, seq_len)
    raise ValueError(f"task must be one of {list(ALL_TASKS)}, got {name!r}")


def baseline_over(task: Task, first: int) -> float:
    """The memoryless baseline of the loss over steps ``first``..T-1 only (a washout).

    The sine's (input, target) pairs do not depend on the step, so its baseline is the same;
    the running sum's is the same formula pooled over the later steps.
    """
    first = check_int("first", first, 0, task.seq_len - 1)
    if task.where == "last" or first == 0 or task.name == "sine":
        return task.baseline_loss
    if task.name == "running_sum":
        return _running_sum_baseline(task.seq_len, first)
    raise ValueError(f"no baseline over later steps for the {task.name!r} task")

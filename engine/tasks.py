"""Classic sequence tasks: seeded batch generators, each with the loss of a memoryless baseline.

A task says what the model must output (``kind``: regression with MSE, or classification with
cross-entropy) and where the loss sits (``where``: the last step or every step). Inputs are
float32 arrays (T, B, input_size); targets are (B, out) / (T, B, out) floats for regression
and (B,) / (T, B) class indices for classification. ``baseline_loss`` is what a model without
memory scores, so "learned something" means "beat the baseline".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .limits import check_int

TEXT_PATH = Path(__file__).with_name("data") / "sonnets.txt"
MAX_TEXT_CHARS = 1_000_000
MAX_VOCAB = 256


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
        return GENERATORS[self.name](self, batch_size, rng)


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


def _sine(task: Task, B: int, rng):
    """Next-step prediction of a sine with random frequency and phase, seen through noise."""
    T = task.seq_len
    freq = rng.uniform(0.05, 0.3, B)
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


def _chars(task: Task, B: int, rng):
    """Random windows of the text: one-hot characters in, the next character out."""
    codes = task.extra["codes"]
    T = task.seq_len
    starts = rng.integers(0, len(codes) - T - 1, B)
    idx = starts[None, :] + np.arange(T + 1)[:, None]
    window = codes[idx]
    x = np.eye(task.input_size, dtype=np.float32)[window[:-1]]
    return x, window[1:].astype(np.int64)


GENERATORS = {"adding": _adding, "copy": _copy, "sine": _sine, "running_sum": _running_sum,
              "parity": _parity, "chars": _chars}
TASKS = tuple(GENERATORS)


def _running_sum_baseline(T: int) -> float:
    """MSE of the best constant for y_t = Bin(t+1, 1/2) / T, pooled over t (exact)."""
    n = np.arange(1, T + 1)
    mean_t, var_t = n / (2 * T), n / (4 * T * T)
    return float(np.mean(var_t + (mean_t - mean_t.mean()) ** 2))


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
    freq = np.bincount(codes, minlength=len(vocab)) / len(codes)
    entropy = float(-np.sum(freq[freq > 0] * np.log(freq[freq > 0])))
    return Task("chars", seq_len, len(vocab), len(vocab), "classification", "every", entropy,
                "cross-entropy of the unigram character frequencies (no memory)",
                {"codes": codes, "vocab": vocab})


def make_task(name: str, seq_len: int, noise: float = 0.1, text: str | None = None) -> Task:
    """The task called ``name`` (see TASKS) over sequences of ``seq_len`` steps."""
    seq_len = check_int("seq_len", seq_len, 2, 10_000)
    if name == "adding":
        return Task(name, seq_len, 2, 1, "regression", "last", 1 / 6,
                    "predict the mean sum 1: MSE = Var(U1 + U2) = 1/6")
    if name == "copy":
        return Task(name, seq_len, 10, 10, "classification", "every",
                    10 * np.log(8) / (seq_len + 20),
                    "blanks right, then a uniform guess of 8 symbols: 10 ln 8 / (T + 20)")
    if name == "sine":
        return Task(name, seq_len, 1, 1, "regression", "every", 0.5,
                    "predict 0: MSE = E[sin^2] = 1/2", {"noise": float(noise)})
    if name == "running_sum":
        return Task(name, seq_len, 1, 1, "regression", "every", _running_sum_baseline(seq_len),
                    "the best constant: the pooled variance of the running count")
    if name == "parity":
        return Task(name, seq_len, 1, 2, "classification", "last", float(np.log(2)),
                    "a coin flip: ln 2")
    if name == "chars":
        return text_task(TEXT_PATH.read_text() if text is None else text, seq_len)
    raise ValueError(f"task must be one of {list(TASKS)}, got {name!r}")

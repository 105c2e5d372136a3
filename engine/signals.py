"""Input signals and loss seeds for the playground: small, pure, NumPy only.

Kept apart from the network so a notebook can feed the same sequences the app shows:

    from engine import Network
    from engine.signals import make_signal, loss_seed
    x = make_signal("sine", 50)
    trace = Network("rnn", input_size=x.shape[1]).run(x)
    grads = trace.backward(loss_seed(trace.output.shape, "last"))
"""

from __future__ import annotations

import numpy as np

SIGNALS = ("sine", "noise", "impulse", "step", "sum", "text", "sequence")
ENCODINGS = ("onehot", "code")
LOSS_WHERE = ("last", "every")
SINE_PERIOD = 20.0  # steps per cycle: a few cycles fit the default T = 50
MAX_VOCAB = 128  # one-hot inputs wider than this are not helpful to look at


def loss_seed(trace_output_shape, where: str = "last") -> np.ndarray:
    """dL/d(output) for a loss whose gradient has unit norm at the chosen steps.

    ``where="last"``: a vector ones/sqrt(n) at the last step only (many-to-one);
    ``"every"``: the same vector at every step (many-to-many). Time is axis 0.
    """
    if where not in LOSS_WHERE:
        raise ValueError(f"where must be one of {list(LOSS_WHERE)}, got {where!r}")
    shape = tuple(int(s) for s in trace_output_shape)
    if len(shape) < 2 or min(shape) < 1:
        raise ValueError(f"trace_output_shape must be (T, ..., n) with sizes >= 1, got {shape}")
    n = shape[-1]
    seed = np.zeros(shape)
    unit = 1.0 / np.sqrt(n)
    if where == "last":
        seed[-1] = unit
    else:
        seed[...] = unit
    return seed


def parse_sequence(text: str) -> np.ndarray:
    """A CSV-like text, one value or one comma/space separated vector per line -> (T, I).

    Blank lines and lines starting with '#' are skipped. Every line must have the same
    number of finite values; otherwise a ValueError names the offending line.
    """
    rows: list[list[float]] = []
    for lineno, raw in enumerate(str(text).splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = [p for p in line.replace(";", ",").replace(",", " ").split() if p]
        try:
            values = [float(p) for p in parts]
        except ValueError:
            raise ValueError(f"line {lineno} is not a list of numbers: {raw[:40]!r}") from None
        if not all(np.isfinite(values)):
            raise ValueError(f"line {lineno} holds a non-finite value: {raw[:40]!r}")
        if rows and len(values) != len(rows[0]):
            raise ValueError(f"line {lineno} has {len(values)} values, the first line "
                             f"{len(rows[0])}")
        rows.append(values)
    if not rows:
        raise ValueError("the sequence is empty: write one value (or vector) per line")
    return np.asarray(rows, dtype=np.float64)


def encode_text(text: str, encoding: str = "onehot") -> tuple[np.ndarray, list[str]]:
    """Characters as inputs: one-hot over the sorted characters used, or a scalar code.

    Returns ``(x, vocab)``; ``code`` maps each character to ord(c)/128 (one channel).
    """
    if encoding not in ENCODINGS:
        raise ValueError(f"encoding must be one of {list(ENCODINGS)}, got {encoding!r}")
    if not text:
        raise ValueError("the text is empty: type a few characters")
    if encoding == "code":
        return np.array([[min(ord(c), 1023) / 128.0] for c in text]), []
    vocab = sorted(set(text))
    if len(vocab) > MAX_VOCAB:
        raise ValueError(f"the text uses {len(vocab)} distinct characters; one-hot allows "
                         f"{MAX_VOCAB} (use the 'code' encoding)")
    index = {c: i for i, c in enumerate(vocab)}
    x = np.zeros((len(text), len(vocab)))
    x[np.arange(len(text)), [index[c] for c in text]] = 1.0
    return x, vocab


def make_signal(kind: str, T: int, seed: int = 0, text: str = "", encoding: str = "onehot",
                sequence: str = "") -> np.ndarray:
    """The input sequence, shaped (T, I).

    ``sine``: sin(2 pi t / 20); ``noise``: N(0, 1) from ``seed``; ``impulse``: 1 at t = 0;
    ``step``: 0 then 1 from t = T // 4; ``sum``: the running sum "1+1+1", a 1 at every step
    (the network must count); ``text``: the characters of ``text``; ``sequence``: parsed
    with ``parse_sequence``. Text and sequences longer than T are cut to T; shorter ones
    keep their own length (nothing is invented).
    """
    T = int(T)
    if T < 1:
        raise ValueError(f"T must be >= 1, got {T}")
    t = np.arange(T, dtype=np.float64)
    if kind == "sine":
        return np.sin(2 * np.pi * t / SINE_PERIOD)[:, None]
    if kind == "noise":
        return np.random.default_rng(int(seed)).standard_normal((T, 1))
    if kind == "impulse":
        return (t == 0).astype(np.float64)[:, None]
    if kind == "step":
        return (t >= T // 4).astype(np.float64)[:, None]
    if kind == "sum":
        return np.ones((T, 1))
    if kind == "text":
        return encode_text(text, encoding)[0][:T]
    if kind == "sequence":
        return parse_sequence(sequence)[:T]
    raise ValueError(f"signal must be one of {list(SIGNALS)}, got {kind!r}")


__all__ = ["ENCODINGS", "LOSS_WHERE", "SIGNALS", "encode_text", "loss_seed", "make_signal",
           "parse_sequence"]

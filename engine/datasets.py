"""Your data as a training task: a CSV (or NPY) of sequences, split for validation, with
the memoryless baseline computed on the held-out part.

The CSV: one row per time step, numbers only, a header row naming the columns (optional).
A column named ``seq`` (or ``sequence``, ``id``) says which sequence a row belongs to
(consecutive rows with the same value; without it the file is one sequence). Then:

- a ``label`` (or ``class``) column: many-to-one classification, one integer label per
  sequence (the same on each of its rows), read from the sequence's last ``T`` steps;
- columns named ``target...`` (or ``y...``): many-to-many regression of those columns from
  the others, over windows of ``T`` steps;
- neither: next-step prediction of every column, x_t -> x_{t+1}.

An NPY holds (T,) or (T, F): one sequence, or (N, T, F): N sequences; next-step prediction.
``canonical_csv`` turns either into the CSV form ``TrainConfig.text`` carries (so a run's
key is its data). Validation: the last fifth of the sequences when there are at least 5,
else the last fifth of each sequence's steps. The baseline is the best validation loss of
predictors that see only the current step's input (the last step's, many-to-one): the
constant, x_t itself (next-step), a linear map and a small MLP, each fitted on the training
part, so "below the baseline" means the network used its memory.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .tasks import Task

MAX_BYTES = 4_000_000
MAX_ROWS = 200_000
MAX_COLUMNS = 64
MAX_CLASSES = 64
MIN_SEQUENCES_SPLIT = 5  # from this many sequences on, whole sequences are held out
VALID_SHARE = 0.2
SEQ_NAMES = ("seq", "sequence", "id")
LABEL_NAMES = ("label", "class")


@dataclass(frozen=True)
class Data:
    """Parsed sequences: ``inputs[k]`` (T_k, I) and ``targets[k]`` (T_k, O) floats, or
    ``labels`` (one class index per sequence); ``kind`` is "next", "targets" or "label"."""

    kind: str
    inputs: tuple
    targets: tuple
    labels: np.ndarray | None
    columns: tuple  # the input columns' names
    classes: tuple  # the label values, in index order

    @property
    def lengths(self) -> list[int]:
        return [len(x) for x in self.inputs]


def _number(text: str, row: int, col: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"row {row}, column {col}: {text.strip()[:20]!r} is not a "
                         "number") from None
    if not np.isfinite(value):
        raise ValueError(f"row {row}, column {col}: {text.strip()} is not a finite number "
                         "(NaN and inf are refused)")
    return value


def _is_header(cells: list[str]) -> bool:
    def numeric(c):
        try:
            float(c)
            return True
        except ValueError:
            return False
    return not all(numeric(c) for c in cells)


def parse_csv(text: str) -> Data:
    """The sequences of a CSV text (see the module's doc); ValueError naming the row and
    column of anything malformed."""
    if len(text.encode()) > MAX_BYTES:
        raise ValueError(f"the file is larger than {MAX_BYTES:,} bytes")
    rows = [r for r in csv.reader(io.StringIO(text)) if any(c.strip() for c in r)]
    if not rows:
        raise ValueError("the file is empty")
    header = [c.strip().lower() for c in rows[0]] if _is_header(rows[0]) else None
    body = rows[1:] if header else rows
    if not body:
        raise ValueError("the file has a header but no rows of numbers")
    if len(body) > MAX_ROWS:
        raise ValueError(f"the file has {len(body):,} rows; the limit is {MAX_ROWS:,}")
    width = len(header) if header else len(body[0])
    if width > MAX_COLUMNS + 2:
        raise ValueError(f"the file has {width} columns; the limit is {MAX_COLUMNS}")
    names = header or [f"x{k}" for k in range(width)]
    if len(set(names)) < len(names):
        raise ValueError("two columns have the same name")
    first = 2 if header else 1  # the file's line number of the first row of numbers
    values = np.empty((len(body), width))
    for i, r in enumerate(body):
        if len(r) != width:
            raise ValueError(f"row {i + first} has {len(r)} values; the "
                             f"{'header' if header else 'first row'} has {width} (ragged rows)")
        values[i] = [_number(c, i + first, names[k]) for k, c in enumerate(r)]
    seq = next((k for k, n in enumerate(names) if n in SEQ_NAMES), None)
    label = next((k for k, n in enumerate(names) if n in LABEL_NAMES), None)
    target = [k for k, n in enumerate(names) if n.startswith(("target", "y")) and k != seq]
    if label is not None and target:
        raise ValueError("a label column and target columns: say one task (a label for "
                         "classification, targets for regression)")
    inputs = [k for k in range(width) if k not in (seq, label, *target)]
    if not inputs:
        raise ValueError("no input columns: every column is a sequence id, label or target")
    if len(inputs) > MAX_COLUMNS:
        raise ValueError(f"{len(inputs)} input columns; the limit is {MAX_COLUMNS}")
    if seq is None:
        bounds = [0, len(body)]
    else:
        change = np.flatnonzero(np.diff(values[:, seq]) != 0) + 1
        bounds = [0, *change.tolist(), len(body)]
    pieces = [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    xs = tuple(values[p][:, inputs] for p in pieces)
    if label is not None:
        raw = []
        for k, p in enumerate(pieces):
            seen = np.unique(values[p, label])
            if seen.size > 1:
                raise ValueError(f"sequence {k + 1} (rows {p.start + first}-{p.stop + first - 1})"
                                 f" has several labels: {', '.join(f'{v:g}' for v in seen[:4])}")
            if seen[0] != np.round(seen[0]):
                raise ValueError(f"sequence {k + 1}: the label {seen[0]:g} is not a whole "
                                 "number (classes are 0, 1, 2, ...)")
            raw.append(int(seen[0]))
        classes = tuple(sorted(set(raw)))
        if len(classes) < 2:
            raise ValueError("every sequence has the same label: nothing to classify")
        if len(classes) > MAX_CLASSES:
            raise ValueError(f"{len(classes)} classes; the limit is {MAX_CLASSES}")
        index = {c: i for i, c in enumerate(classes)}
        return Data("label", xs, (), np.array([index[c] for c in raw]),
                    tuple(names[k] for k in inputs), classes)
    if target:
        ys = tuple(values[p][:, target] for p in pieces)
        return Data("targets", xs, ys, None, tuple(names[k] for k in inputs), ())
    return Data("next", xs, xs, None, tuple(names[k] for k in inputs), ())


def npy_to_csv(data: bytes) -> str:
    """An NPY file ((T,), (T, F) or (N, T, F) numbers) as the canonical CSV text."""
    if len(data) > MAX_BYTES:
        raise ValueError(f"the file is larger than {MAX_BYTES:,} bytes")
    try:
        a = np.load(io.BytesIO(data), allow_pickle=False)
    except Exception as err:  # noqa: BLE001 - every unreadable file gets a message
        raise ValueError(f"this is not an NPY file numpy can read ({type(err).__name__}; "
                         "object arrays are refused)") from None
    if not isinstance(a, np.ndarray) or a.dtype.kind not in "biuf":
        raise ValueError("the NPY file must hold an array of numbers")
    if a.size == 0:
        raise ValueError("the array is empty")
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim == 2:
        a = a[None]
    if a.ndim != 3:
        raise ValueError(f"the array has {a.ndim} axes; expected (T,), (T, F) or (N, T, F)")
    a = a.astype(np.float64)
    bad = np.argwhere(~np.isfinite(a))
    if bad.size:
        n, t, f = bad[0]
        raise ValueError(f"sequence {n + 1}, step {t}, feature {f}: {a[n, t, f]} is not a "
                         "finite number (NaN and inf are refused)")
    N, T, F = a.shape
    if N * T > MAX_ROWS:
        raise ValueError(f"{N * T:,} steps in all; the limit is {MAX_ROWS:,}")
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow((["seq"] if N > 1 else []) + [f"x{k}" for k in range(F)])
    for n in range(N):
        for t in range(T):
            w.writerow(([n] if N > 1 else []) + [repr(float(v)) for v in a[n, t]])
    return out.getvalue()


def canonical_csv(name: str, data: bytes) -> str:
    """The upload as the CSV text a run carries: NPY converted, CSV decoded and checked."""
    if name.lower().endswith(".npy"):
        text = npy_to_csv(data)
    else:
        if len(data) > MAX_BYTES:
            raise ValueError(f"the file is {len(data):,} bytes; the limit is {MAX_BYTES:,}")
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ValueError("the file is not UTF-8 text (a CSV of numbers)") from None
    parse_csv(text)
    return text


@dataclass(frozen=True)
class Split:
    """Windows of T steps: (sequence, start) pairs of the training and validation parts."""

    train: np.ndarray  # (n, 3): sequence, first step, one past the last usable step
    valid: np.ndarray


def _split(d: Data, T: int) -> Split:
    """Whole sequences held out from ``MIN_SEQUENCES_SPLIT`` on, else the end of each."""
    need = T + 1 if d.kind == "next" else T  # rows one window uses
    n = len(d.inputs)
    short = [k + 1 for k, L in enumerate(d.lengths) if L < need]
    if n >= MIN_SEQUENCES_SPLIT:
        if short:
            raise ValueError(f"sequence {short[0]} has {d.lengths[short[0] - 1]} steps; T = "
                             f"{T} needs {need} (lower T)")
        held = max(1, round(n * VALID_SHARE))
        parts = ([(k, 0, L) for k, L in enumerate(d.lengths[:n - held])],
                 [(k, 0, L) for k, L in enumerate(d.lengths) if k >= n - held])
    else:
        if d.kind == "label":
            raise ValueError(f"{n} sequence(s): many-to-one classification needs at least "
                             f"{MIN_SEQUENCES_SPLIT} (one label each) to hold some out for "
                             "validation")
        parts = ([], [])
        for k, L in enumerate(d.lengths):
            cut = L - max(need, int(round(L * VALID_SHARE)))
            if cut < need:
                raise ValueError(f"sequence {k + 1} has {L} steps: with T = {T} it needs "
                                 f"{2 * need} to keep a validation part of {need} after "
                                 "training (lower T, or add sequences)")
            parts[0].append((k, 0, cut))
            parts[1].append((k, cut, L))
    return Split(np.array(parts[0], dtype=np.int64).reshape(-1, 3),
                 np.array(parts[1], dtype=np.int64).reshape(-1, 3))


def _windows(d: Data, T: int, spans: np.ndarray, rng, B: int | None):
    """B random windows (all the label windows when B is None) as (x, y) arrays."""
    need = T + 1 if d.kind == "next" else T
    if d.kind == "label":  # the sequence's last T steps
        picks = np.arange(len(spans)) if B is None else rng.integers(0, len(spans), B)
        rows = [(int(spans[i, 0]), int(spans[i, 2]) - T) for i in picks]
    else:
        counts = spans[:, 2] - spans[:, 1] - need + 1  # windows per span
        if B is None:
            rows = [(int(s), int(a) + j) for s, a, _, c in zip(*spans.T, counts, strict=True)
                    for j in range(c)]
        else:
            which = rng.choice(len(spans), B, p=counts / counts.sum())
            rows = [(int(spans[i, 0]), int(spans[i, 1] + rng.integers(0, counts[i])))
                    for i in which]
    x = np.stack([d.inputs[s][a:a + T] for s, a in rows], axis=1)
    if d.kind == "label":
        y = d.labels[[s for s, _ in rows]].astype(np.int64)
    elif d.kind == "next":
        y = np.stack([d.inputs[s][a + 1:a + T + 1] for s, a in rows], axis=1)
    else:
        y = np.stack([d.targets[s][a:a + T] for s, a in rows], axis=1)
    yf = y if d.kind == "label" else y.astype(np.float32)
    return x.astype(np.float32), yf


def batch(task: Task, B: int, rng, held_out: bool = False):
    d, split = task.extra["data"], task.extra["split"]
    return _windows(d, task.seq_len, split.valid if held_out else split.train, rng, B)


MAX_BASELINE_ROWS = 20_000  # the memoryless predictors are fitted on this many steps at most


def _fit(x, y, classify: bool, classes: int, hidden: int | None, seed: int = 0,
         steps: int = 300, lr: float = 0.02):
    """A memoryless predictor of y from x alone: a linear map, or an MLP of ``hidden`` tanh
    units, fitted by full-batch Adam (mean squared error, or cross-entropy on ``classes``).
    NumPy: a few milliseconds a step, where torch's overhead per call was most of it."""
    rng = np.random.default_rng(seed)
    mean, std = x.mean(axis=0), x.std(axis=0) + 1e-6
    xn = (x - mean) / std
    n, I = xn.shape
    O = classes if classify else y.shape[1]
    target = np.eye(O)[y] if classify else y
    sizes = [(I, O)] if hidden is None else [(I, hidden), (hidden, O)]
    params = []
    for a, b in sizes:
        params += [rng.standard_normal((a, b)) / np.sqrt(a), np.zeros(b)]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]

    def forward(inp):
        if hidden is None:
            return inp @ params[0] + params[1], None
        z = np.tanh(inp @ params[0] + params[1])
        return z @ params[2] + params[3], z

    for k in range(1, steps + 1):
        out, z = forward(xn)
        if classify:
            e = np.exp(out - out.max(axis=1, keepdims=True))
            dout = (e / e.sum(axis=1, keepdims=True) - target) / n
        else:
            dout = 2 * (out - target) / (n * O)
        if hidden is None:
            grads = [xn.T @ dout, dout.sum(axis=0)]
        else:
            dz = dout @ params[2].T * (1 - z * z)
            grads = [xn.T @ dz, dz.sum(axis=0), z.T @ dout, dout.sum(axis=0)]
        for i, g in enumerate(grads):
            m[i] = 0.9 * m[i] + 0.1 * g
            v[i] = 0.999 * v[i] + 0.001 * g * g
            params[i] -= lr * (m[i] / (1 - 0.9**k)) / (np.sqrt(v[i] / (1 - 0.999**k)) + 1e-8)

    return lambda inp: forward((inp - mean) / std)[0]


def _ce(logits: np.ndarray, y: np.ndarray) -> float:
    z = logits - logits.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return float(-logp[np.arange(len(y)), y].mean())


def _steps(d: Data, T: int, spans: np.ndarray):
    """Every step of the spans once, (x_t, y_t), weighted by how many windows of T steps
    cover it: the weights ``batch``'s uniform choice of windows gives each step."""
    need = T + 1 if d.kind == "next" else T
    xs, ys, ws = [], [], []
    for s, a, b in spans.tolist():
        n = b - a - need + 1  # windows in the span, starting at a .. a + n - 1
        if d.kind == "next":
            x, y = d.inputs[s][a:b - 1], d.inputs[s][a + 1:b]
        else:
            x, y = d.inputs[s][a:b], d.targets[s][a:b]
        k = np.arange(len(x))  # step a + k is covered by the windows starting in [k-T+1, k]
        ws.append((np.minimum(k, n - 1) - np.maximum(0, k - T + 1) + 1).clip(0))
        xs.append(x)
        ys.append(y)
    return np.concatenate(xs), np.concatenate(ys), np.concatenate(ws).astype(np.float64)


def memoryless_baseline(d: Data, T: int, split: Split) -> tuple[float, float | None, str]:
    """(loss, accuracy or None, which predictor): the best validation score of predictors
    that see only the current step's input (many-to-one: the last step's), each step
    weighted as the evaluation's random windows weigh it."""
    rng = np.random.default_rng(0)
    if d.kind == "label":
        xtr, ytr = _windows(d, T, split.train, rng, None)
        xva, yva = _windows(d, T, split.valid, rng, None)
        xtr, xva = xtr[-1], xva[-1]  # the last step's input alone
        K = len(d.classes)
        prior = np.bincount(ytr, minlength=K) + 0.5
        scores = {"the training labels' frequencies":
                  np.log(np.broadcast_to(prior / prior.sum(), (len(yva), K)))}
        for name, hidden in (("a linear map of the last input", None),
                             ("an MLP of the last input", 32)):
            scores[name] = _fit(xtr, ytr, True, K, hidden)(xva)
        losses = {n: _ce(s, yva) for n, s in scores.items()}
        best = min(losses, key=losses.get)
        acc = max(float((s.argmax(axis=1) == yva).mean()) for s in scores.values())
        return losses[best], acc, best
    xtr, ytr, _ = _steps(d, T, split.train)
    xva, yva, w = _steps(d, T, split.valid)
    if len(xtr) > MAX_BASELINE_ROWS:
        keep = rng.choice(len(xtr), MAX_BASELINE_ROWS, replace=False)
        xtr, ytr = xtr[keep], ytr[keep]
    preds = {"the training targets' mean": np.broadcast_to(ytr.mean(axis=0), yva.shape)}
    if d.kind == "next":
        preds["x_t itself"] = xva
    for name, hidden in (("a linear map of x_t", None), ("an MLP of x_t", 32)):
        preds[name] = _fit(xtr, ytr, False, 0, hidden)(xva)
    losses = {n: float(np.sum(w[:, None] * (p - yva) ** 2) / (w.sum() * yva.shape[1]))
              for n, p in preds.items()}
    best = min(losses, key=losses.get)
    return losses[best], None, best


@lru_cache(maxsize=8)
def parsed(text: str) -> Data:
    """``parse_csv``, cached: the lab asks about the same upload on every rerun."""
    return parse_csv(text)


@lru_cache(maxsize=8)
def _task(text: str, T: int) -> Task:
    d = parsed(text)
    split = _split(d, T)
    loss, acc, how = memoryless_baseline(d, T, split)
    n_seq = len(d.inputs)
    where = "last" if d.kind == "label" else "every"
    kind = "classification" if d.kind == "label" else "regression"
    out = len(d.classes) if d.kind == "label" else d.targets[0].shape[1]
    held = (f"{len(split.valid)} of {n_seq} sequences held out" if n_seq >= MIN_SEQUENCES_SPLIT
            else "the last fifth of each sequence held out")
    note = (f"the best validation loss without memory: {how}, fitted on the training part "
            f"({held} for validation)")
    return Task("dataset", T, d.inputs[0].shape[1], out, kind, where, loss, note,
                {"data": d, "split": split, "accuracy": acc, "next_step": d.kind == "next",
                 "predictor": how})


def dataset_task(text: str, seq_len: int) -> Task:
    """The task of a CSV text (cached: the baseline fits take a moment)."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError("no dataset: upload a CSV or NPY file first")
    return _task(text, seq_len)

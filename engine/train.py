"""Train RNN, LSTM and GRU on the classic tasks with torch, and watch the gradients while doing so.

``train(config, callback, should_stop)`` runs the loop; the callback receives a ``StepInfo``
every step (loss, gradient norm before and after clipping) and, every ``snapshot_every``
steps, the per-step ||dL/dh_t|| of the current model computed by the engine through its torch
bridge: on the step's first sequence, before the update, under the step's truncated BPTT.
Headless: ``python -m engine.train --task adding --cell lstm --seq-len 100 ...`` prints
a JSON object (``final_loss``, ``baseline_loss``, ...) as its last line.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace

import numpy as np
import torch

from . import limits
from .cells import CELLS as ENGINE_CELLS
from .network import Network, truncation_blocks
from .tasks import ALL_TASKS, TASKS, Task, baseline_accuracy, make_task

OPTIMIZERS = ("sgd", "momentum", "adagrad", "rmsprop", "adam")
CELLS = ("rnn", "lstm", "gru", "mingru", "minlstm", "lru", "s6")
INITS = ("default", "orthogonal", "identity")  # identity + relu = IRNN (Le et al. 2015)
CLIP_MODES = ("norm", "value")
NEXT_STEP_TASKS = ("sine", "chars")  # a backward pass would see the answer


@dataclass(frozen=True)
class TrainConfig:
    task: str = "adding"
    seq_len: int = 100
    cell: str = "lstm"
    hidden: int = 64
    layers: int = 1
    bidirectional: bool = False
    activation: str = "tanh"  # rnn only: tanh or relu
    init: str = "default"
    gain: float = 1.0  # the init's scale (engine.init); cells with their own init ignore it
    optimizer: str = "adam"
    lr: float = 0.01
    batch: int = 64
    steps: int = 1500
    clip: float | None = None  # threshold; None = no clipping
    clip_mode: str = "norm"
    tbptt: int | None = None  # truncated-BPTT window for every-step tasks
    seed: int = 0
    snapshot_every: int = 100
    noise: float = 0.1
    text: str | None = field(default=None, repr=False)  # chars task: your own text
    target_loss: float | None = None  # stop once the mean loss of the last steps is this low
    patience: int | None = None  # stop when that mean has not improved for this many steps
    checkpoint_every: int | None = None  # keep the weights every this many updates (history)

    def validated(self) -> TrainConfig:
        """Check every field (ValueError naming it), return self."""
        for name, allowed in (("task", ALL_TASKS), ("cell", CELLS), ("optimizer", OPTIMIZERS),
                              ("init", INITS), ("clip_mode", CLIP_MODES)):
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {list(allowed)}, "
                                 f"got {getattr(self, name)!r}")
        if self.activation not in ("tanh", "relu"):
            raise ValueError(f"activation must be 'tanh' or 'relu', got {self.activation!r}")
        limits.check_int("seq_len", self.seq_len, 2, 10_000)
        limits.check_int("hidden", self.hidden, 1, 1024)
        limits.check_int("layers", self.layers, 1, 4)
        limits.check_int("batch", self.batch, 1, 4096)
        limits.check_int("steps", self.steps, 1, 1_000_000)
        limits.check_int("seed", self.seed, 0, 2**32 - 1)
        limits.check_int("snapshot_every", self.snapshot_every, 1, 1_000_000)
        if self.checkpoint_every is not None:
            limits.check_int("checkpoint_every", self.checkpoint_every, 1, 1_000_000)
        limits.check_positive("lr", self.lr)
        limits.check_positive("gain", self.gain)
        if self.target_loss is not None:
            limits.check_positive("target_loss", self.target_loss)
        if self.patience is not None:
            limits.check_int("patience", self.patience, 1, 1_000_000)
        if self.clip is not None:
            limits.check_positive("clip", self.clip)
        if self.tbptt is not None:
            limits.check_int("tbptt", self.tbptt, 1, 10_000)
        if self.bidirectional and self.task in NEXT_STEP_TASKS:
            raise ValueError(f"bidirectional makes no sense for {self.task!r}: next-step "
                             "prediction would see the answer")
        if self.bidirectional and self.tbptt is not None:
            raise ValueError("tbptt cannot be combined with bidirectional: the reverse pass "
                             "would carry its state in from the future chunk")
        return self


@dataclass
class StepInfo:
    step: int
    loss: float
    grad_norm_before: float
    grad_norm_after: float
    hidden_norm: np.ndarray | None = None  # (layers, directions, T) on snapshot steps


@dataclass
class TrainResult:
    config: TrainConfig
    baseline_loss: float
    losses: list[float]
    grad_norm_before: list[float]
    grad_norm_after: list[float]
    snapshots: list[tuple[int, np.ndarray]]
    final_loss: float  # on a fresh evaluation batch; NaN when the run blew up
    stopped: str | None  # why the run ended early, or None
    seconds: float
    model: SequenceModel = field(repr=False)
    final_accuracy: float | None = None  # classification: on the fresh batch
    baseline_accuracy: float | None = None  # classification: without memory (tasks)
    # (updates done, every trainable parameter flattened): the training history
    checkpoints: list[tuple[int, np.ndarray]] = field(default_factory=list, repr=False)

    def summary(self) -> dict:
        cfg = {k: v for k, v in asdict(self.config).items() if k != "text"}
        return {**cfg, "final_loss": self.final_loss, "baseline_loss": self.baseline_loss,
                "ratio_to_baseline": self.final_loss / self.baseline_loss,
                "final_accuracy": self.final_accuracy,
                "baseline_accuracy": self.baseline_accuracy,
                "steps_run": len(self.losses), "seconds": round(self.seconds, 2),
                "stopped": self.stopped}


def summary(out, where: str, hidden: int):
    """What the read-out sees: every step, or the whole sequence for a loss at the end.

    For a bidirectional network "the whole sequence" is the forward pass at the last step
    joined with the reverse pass at the first step (out[-1] would give a reverse half that
    has seen only the last input).
    """
    if where != "last":
        return out
    if out.shape[-1] == hidden:
        return out[-1]
    return torch.cat((out[-1, ..., :hidden], out[0, ..., hidden:]), dim=-1)


class SequenceModel(torch.nn.Module):
    """A torch RNN/LSTM/GRU and a linear read-out, at the last step or every step."""

    def __init__(self, config: TrainConfig, task: Task):
        super().__init__()
        # The engine's initialisers, then its torch bridge: one source for every init scheme
        # (a cell with its own, the LRU's ring, keeps it: runs compared share one config).
        own = hasattr(ENGINE_CELLS[config.cell], "init_params")
        net = Network(config.cell, task.input_size, config.hidden, config.layers,
                      config.bidirectional, config.activation,
                      init="default" if own else config.init,
                      gain=1.0 if own else config.gain, seed=config.seed)
        self.rnn = net.to_torch().float()
        self.head = torch.nn.Linear(config.hidden * net.num_directions, task.output_size)
        self.where = task.where

    def forward(self, x, state=None):
        out, state = self.rnn(x, state)
        return self.head(summary(out, self.where, self.rnn.hidden_size)), state


def _loss(task: Task, pred, target):
    if task.kind == "regression":
        return torch.nn.functional.mse_loss(pred, target)
    return torch.nn.functional.cross_entropy(pred.reshape(-1, pred.shape[-1]), target.reshape(-1))


def _optimizer(config: TrainConfig, params):
    lr = config.lr
    return {
        "sgd": lambda: torch.optim.SGD(params, lr=lr),
        "momentum": lambda: torch.optim.SGD(params, lr=lr, momentum=0.9),
        "adagrad": lambda: torch.optim.Adagrad(params, lr=lr),
        "rmsprop": lambda: torch.optim.RMSprop(params, lr=lr),
        "adam": lambda: torch.optim.Adam(params, lr=lr),
    }[config.optimizer]()


def _grad_norm(params) -> float:
    return float(torch.nn.utils.get_total_norm([p.grad for p in params if p.grad is not None]))


def to_network(model: SequenceModel) -> Network:
    """The trained recurrent part as an engine Network (float64 copy) for the explore pages."""
    return Network.from_torch(model.rnn)


def truncation(tbptt: int | None, task: Task, steps: int) -> int | None:
    """The truncated-BPTT window training uses over ``steps`` steps, or None for full BPTT.

    ``tbptt`` applies to every-step losses only (a loss at the last step alone is trained
    with full BPTT), and a window of ``steps`` or more is full BPTT.
    """
    if not tbptt or task.where == "last" or tbptt >= steps:
        return None
    return tbptt


def hidden_norm_snapshot(model: SequenceModel, task: Task, x: np.ndarray, y: np.ndarray,
                         tbptt: int | None = None):
    """||dL/dh_t|| per layer, direction and step for one sequence, exactly, via the engine.

    With ``tbptt`` (the config's) it is the gradient under the truncated BPTT that training
    uses: the engine's ``backward(truncate=...)``, the same chunks and the same loss.
    """
    trace = to_network(model).run(x[:, :1].astype(np.float64))
    out = torch.tensor(trace.output, requires_grad=True)
    w, b = model.head.weight.detach().double(), model.head.bias.detach().double()
    pred = torch.nn.functional.linear(summary(out, task.where, model.rnn.hidden_size), w, b)
    target = torch.as_tensor(y[:1] if task.where == "last" else y[:, :1])
    target = target.double() if task.kind == "regression" else target
    _loss(task, pred, target).backward()
    window = truncation(tbptt, task, x.shape[0])
    return trace.backward(out.grad.numpy(), truncate=window).hidden_norm


def _forward_backward(model, task: Task, config: TrainConfig, x, y):
    """Loss and gradients; with ``tbptt`` the state is detached every ``tbptt`` steps."""
    T = x.shape[0]
    window = truncation(config.tbptt, task, T)
    if window is None:
        loss = _loss(task, model(x)[0], y)
        loss.backward()
        return loss.item()
    total, state = 0.0, None
    # The engine's chunks (disjoint, counted back from the last step). Detaching every
    # layer's state at a chunk's start is the engine's truncate=window cut (each layer cut
    # at the block's start), and each chunk's mean loss weighted by its share of T sums to
    # the full loss: so the gradients equal the engine's backward(dL/dout, truncate=window),
    # which hidden_norm_snapshot draws (tests/engine/test_train.py checks both to 1e-12).
    for _, end, start in truncation_blocks(T, window, None):
        stop = end + 1
        pred, state = model(x[start:stop], state)
        loss = _loss(task, pred, y[start:stop]) * ((stop - start) / T)
        loss.backward()
        total += loss.item()
        state = tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()
    return total


def _clip(config: TrainConfig, params) -> tuple[float, float]:
    if config.clip is None:
        norm = _grad_norm(params)
        return norm, norm
    if config.clip_mode == "norm":
        before = float(torch.nn.utils.clip_grad_norm_(params, config.clip))
    else:
        before = _grad_norm(params)
        torch.nn.utils.clip_grad_value_(params, config.clip)
    return before, _grad_norm(params)


def _fresh(task: Task, seed: int, batch: int):
    return task.held_out_batch(batch, np.random.default_rng(seed + 10_000_019))


def evaluate(model: SequenceModel, task: Task, seed: int, batch: int = 512) -> float:
    """Loss on a fresh batch that training never saw (your data: its validation part)."""
    x, y = _fresh(task, seed, batch)
    with torch.no_grad():
        return float(_loss(task, model(torch.from_numpy(x))[0], torch.from_numpy(y)))


def accuracy(model: SequenceModel, task: Task, seed: int, batch: int = 512) -> float | None:
    """The share of targets the most likely class gets right, on ``evaluate``'s fresh batch
    (every step of an every-step task); None for regression."""
    if task.kind != "classification":
        return None
    x, y = _fresh(task, seed, batch)
    with torch.no_grad():
        pred = model(torch.from_numpy(x))[0].argmax(dim=-1)
    return float((pred == torch.from_numpy(y)).double().mean())


def build(config: TrainConfig) -> tuple[TrainConfig, Task, SequenceModel]:
    config = config.validated()
    task = make_task(config.task, config.seq_len, noise=config.noise, text=config.text)
    if config.bidirectional and task.extra.get("next_step"):
        raise ValueError("bidirectional cannot be combined with next-step prediction: the "
                         "reverse pass would see the answer")
    torch.manual_seed(config.seed)
    return config, task, SequenceModel(config, task)


MEAN_OF = 50  # the stop conditions watch the mean loss of this many last steps
EARLY_STOPS = ("reached the target loss", "no improvement for")


class StopConditions:
    """A target loss and a patience, on the mean loss of the last ``MEAN_OF`` steps (one
    minibatch's loss is too noisy to stop on)."""

    def __init__(self, config: TrainConfig):
        self.target, self.patience = config.target_loss, config.patience
        self.recent: list[float] = []
        self.best, self.best_step = math.inf, 0

    def stop(self, step: int, loss: float) -> str | None:
        """Why to stop after ``step``, or None."""
        self.recent = (self.recent + [loss])[-MEAN_OF:]
        mean = sum(self.recent) / len(self.recent)
        if self.target is not None and len(self.recent) == MEAN_OF and mean <= self.target:
            return (f"reached the target loss {self.target:g} at step {step} (mean of the "
                    f"last {MEAN_OF} steps {mean:.4g})")
        if self.patience is not None:
            if mean < self.best * (1 - 1e-3):
                self.best, self.best_step = mean, step
            elif step - self.best_step >= self.patience:
                return (f"no improvement for {self.patience} steps: stopped at step {step} "
                        f"(best mean loss {self.best:.4g} at step {self.best_step})")
        return None


MAX_CHECKPOINTS = 32  # the history keeps at most this many weights (plus the final ones)


class History:
    """The weights every ``every`` updates, from the first (0 updates); past
    ``MAX_CHECKPOINTS`` every other one is dropped and the interval doubles, so a long run
    keeps a bounded, evenly spread history."""

    def __init__(self, every: int | None):
        self.every = every
        self.kept: list[tuple[int, np.ndarray]] = []

    def after(self, updates: int, params) -> None:
        """Called with the number of updates done so far."""
        if self.every is None or updates % self.every:
            return
        self.kept.append((updates, flat_params(params)))
        if len(self.kept) > MAX_CHECKPOINTS:
            self.kept = self.kept[::2]
            self.every *= 2

    def final(self, updates: int, params) -> list[tuple[int, np.ndarray]]:
        """The history with the final weights at its end."""
        if self.every is not None and (not self.kept or self.kept[-1][0] != updates):
            self.kept.append((updates, flat_params(params)))
        return self.kept


def flat_params(params) -> np.ndarray:
    """Every trainable parameter, flattened in order (float32, as trained)."""
    return torch.nn.utils.parameters_to_vector(list(params)).detach().numpy().copy()


def model_at(config: TrainConfig, weights: np.ndarray) -> SequenceModel:
    """A model for ``config`` holding a checkpoint's flattened weights."""
    _, _, model = build(config)
    params = [p for p in model.parameters() if p.requires_grad]
    if weights.shape != (sum(p.numel() for p in params),):
        raise ValueError(f"a checkpoint of {weights.shape} numbers does not fit this model")
    torch.nn.utils.vector_to_parameters(torch.from_numpy(np.asarray(weights, np.float32)),
                                        params)
    return model


def stopped_early(result: TrainResult) -> bool:
    """Ended by a stop condition: a finished result, not an interruption."""
    return result.stopped is not None and result.stopped.startswith(EARLY_STOPS)


def train(config: TrainConfig, callback: Callable[[StepInfo], None] | None = None,
          should_stop: Callable[[], bool] | None = None,
          model: SequenceModel | None = None) -> TrainResult:
    """Train ``config.steps`` steps (or until a NaN loss or ``should_stop()``)."""
    config, task, fresh = build(config)
    model = model or fresh
    params = [p for p in model.parameters() if p.requires_grad]
    opt = _optimizer(config, params)
    rng = np.random.default_rng(config.seed)
    losses, before, after, snapshots = [], [], [], []
    stopped = None
    watch = StopConditions(config)
    history = History(config.checkpoint_every)
    history.after(0, params)
    start = time.perf_counter()
    for step in range(config.steps):
        if should_stop is not None and should_stop():
            stopped = f"stopped by the user at step {step}"
            break
        x, y = task.batch(config.batch, rng)
        opt.zero_grad(set_to_none=True)
        loss = _forward_backward(model, task, config, torch.from_numpy(x), torch.from_numpy(y))
        if not math.isfinite(loss):
            stopped = (f"the loss became {loss} at step {step}: the gradients exploded"
                       + (" (clipping is off; try --clip 1.0)" if config.clip is None else ""))
            break
        hidden_norm = None
        if step % config.snapshot_every == 0 or step == config.steps - 1:
            # before the update: the weights, batch and truncation this step's gradient used
            hidden_norm = hidden_norm_snapshot(model, task, x, y, config.tbptt)
            snapshots.append((step, hidden_norm))
        norm_before, norm_after = _clip(config, params)
        opt.step()
        losses.append(loss)
        before.append(norm_before)
        after.append(norm_after)
        history.after(len(losses), params)
        info = StepInfo(step, loss, norm_before, norm_after, hidden_norm)
        if callback is not None:
            callback(info)
        stopped = watch.stop(step, loss)
        if stopped:
            break
    seconds = time.perf_counter() - start
    blew_up = stopped is not None and stopped.startswith("the loss")
    final = float("nan") if blew_up else evaluate(model, task, config.seed)
    kept = history.kept if blew_up else history.final(len(losses), params)
    right = None if blew_up else accuracy(model, task, config.seed)
    return TrainResult(config, task.baseline_loss, losses, before, after, snapshots, final,
                       stopped, seconds, model, right, baseline_accuracy(task), kept)


def save_weights(model: SequenceModel, config: TrainConfig) -> bytes:
    """The model and the settings that built it, as bytes for a download."""
    buf = io.BytesIO()
    cfg = {k: v for k, v in asdict(config).items() if k != "text"}
    torch.save({"config": cfg, "state_dict": model.state_dict()}, buf)
    return buf.getvalue()


def load_weights(data: bytes, config: TrainConfig) -> SequenceModel:
    """A model for ``config`` holding uploaded weights; safe (weights_only) and shape-checked."""
    try:
        obj = torch.load(io.BytesIO(data), weights_only=True, map_location="cpu")
    except Exception as err:  # noqa: BLE001 - any unreadable upload gets the same message
        raise ValueError(f"weights file could not be read: {type(err).__name__}") from None
    if not isinstance(obj, dict) or not isinstance(obj.get("state_dict"), dict):
        raise ValueError("weights file must hold a dict with a 'state_dict' (from Download)")
    _, _, model = build(config)
    want = model.state_dict()
    got = obj["state_dict"]
    problems = [f"{k}: missing" for k in want if k not in got]
    problems += [f"{k}: unexpected" for k in got if k not in want]
    problems += [f"{k}: shape {tuple(got[k].shape)} != {tuple(v.shape)}"
                 for k, v in want.items() if k in got and tuple(got[k].shape) != tuple(v.shape)]
    if problems:
        raise ValueError("weights do not fit these settings: " + "; ".join(problems[:6]))
    model.load_state_dict({k: v.float() for k, v in got.items()})
    return model


def sample_text(model: SequenceModel, task: Task, prompt: str, length: int = 200,
                temperature: float = 1.0, seed: int = 0) -> str:
    """Generate ``length`` characters after ``prompt`` (one-to-many), at ``temperature``."""
    if task.name != "chars":
        raise ValueError("sampling needs the chars task")
    vocab = task.extra["vocab"]
    lookup = {ch: i for i, ch in enumerate(vocab)}
    unknown = sorted(set(prompt) - set(lookup))
    if not prompt or unknown:
        raise ValueError(f"prompt must be non-empty and use the text's characters; "
                         f"unknown: {unknown}")
    temperature = limits.check_positive("temperature", temperature)
    length = limits.check_int("length", length, 1, 10_000)
    gen = torch.Generator().manual_seed(seed)
    eye = torch.eye(len(vocab))
    out = []
    with torch.no_grad():
        logits, state = model(eye[[lookup[c] for c in prompt]][:, None, :])
        for _ in range(length):
            probs = torch.softmax(logits[-1, 0] / temperature, dim=-1)
            idx = int(torch.multinomial(probs, 1, generator=gen))
            out.append(vocab[idx])
            logits, state = model(eye[[idx]][:, None, :], state)
    return "".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m engine.train", description=__doc__)
    defaults = TrainConfig()
    parser.add_argument("--task", default=defaults.task, choices=TASKS)
    parser.add_argument("--cell", default=defaults.cell, choices=CELLS)
    parser.add_argument("--seq-len", type=int, default=defaults.seq_len)
    parser.add_argument("--hidden", type=int, default=defaults.hidden)
    parser.add_argument("--layers", type=int, default=defaults.layers)
    parser.add_argument("--bidirectional", action="store_true")
    parser.add_argument("--activation", default=defaults.activation, choices=("tanh", "relu"))
    parser.add_argument("--init", default=defaults.init, choices=INITS)
    parser.add_argument("--gain", type=float, default=defaults.gain)
    parser.add_argument("--optimizer", default=defaults.optimizer, choices=OPTIMIZERS)
    parser.add_argument("--lr", type=float, default=defaults.lr)
    parser.add_argument("--batch", type=int, default=defaults.batch)
    parser.add_argument("--steps", type=int, default=defaults.steps)
    parser.add_argument("--clip", type=float, default=None, help="threshold; omit for none")
    parser.add_argument("--clip-mode", default=defaults.clip_mode, choices=CLIP_MODES)
    parser.add_argument("--tbptt", type=int, default=None)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--target-loss", type=float, default=None,
                        help="stop once the mean loss of the last 50 steps is this low")
    parser.add_argument("--patience", type=int, default=None,
                        help="stop when that mean has not improved for this many steps")
    parser.add_argument("--snapshot-every", type=int, default=defaults.snapshot_every)
    parser.add_argument("--log-every", type=int, default=100, help="progress lines on stderr")
    args = parser.parse_args(argv)
    fields = {k: v for k, v in vars(args).items() if k != "log_every"}
    try:
        config = replace(defaults, **fields).validated()
    except ValueError as err:
        parser.error(str(err))

    def log(info: StepInfo) -> None:
        if info.step % args.log_every == 0:
            print(f"step {info.step:>6}  loss {info.loss:.5f}  |g| {info.grad_norm_before:.3g}"
                  f" -> {info.grad_norm_after:.3g}", file=sys.stderr)

    result = train(config, callback=log)
    if result.stopped:
        print(result.stopped, file=sys.stderr)
    print(json.dumps(result.summary()))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The Training lab's runner: engine.train in a background thread, progress in plain objects.

Streamlit reruns the page script many times while a run goes on, so the run cannot live in
the script. A ``Job`` (kept in ``st.session_state``) owns a thread that calls
``engine.train.train`` for each variant in turn; the trainer's callback appends to plain
lists that the page's live fragment reads, and ``should_stop`` reads the Stop flag. This module
never calls ``st.*`` from the thread. ``run_job`` is the whole job, synchronously: the thread
runs it, and tests can call it directly (the same code path trains).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field, replace

import numpy as np
import torch

from engine.train import StepInfo, TrainConfig, TrainResult, train

MAX_STEPS = 5000  # a page never trains longer than this
MAX_RUNS = 3
SLOTS = threading.BoundedSemaphore(2)  # trainings at once, process-wide (2 cores)
RUN_COLORS = ("#2563eb", "#c2410c", "#059669")
CELL_LABELS = {"rnn": "RNN", "lstm": "LSTM", "gru": "GRU"}


@dataclass
class RunLog:
    """One variant: its config and what the trainer has reported so far."""

    label: str
    config: TrainConfig
    color: str
    losses: list = field(default_factory=list)
    before: list = field(default_factory=list)
    after: list = field(default_factory=list)
    snapshot_step: int | None = None
    hidden_norm: np.ndarray | None = None  # latest (layers, directions, T) from the engine
    result: TrainResult | None = None
    error: str | None = None  # the engine refused the settings (e.g. an empty text)
    state: str = "waiting"  # waiting | training | done | skipped

    def on_step(self, info: StepInfo) -> None:
        """The trainer's callback: append only (safe to read from another thread)."""
        self.losses.append(info.loss)
        self.before.append(info.grad_norm_before)
        self.after.append(info.grad_norm_after)
        if info.hidden_norm is not None:
            self.hidden_norm = info.hidden_norm
            self.snapshot_step = info.step

    def curves(self) -> dict:
        """A consistent copy of the curves (the lists may grow while we read)."""
        n = min(len(self.losses), len(self.before), len(self.after))
        return {"loss": self.losses[:n], "before": self.before[:n], "after": self.after[:n]}

    @property
    def stopped(self) -> str | None:
        if self.error:
            return self.error
        return self.result.stopped if self.result is not None else None

    @property
    def exploded(self) -> bool:
        return bool(self.result and self.result.stopped
                    and self.result.stopped.startswith("the loss"))


@dataclass
class Job:
    """Up to three runs on the same data and seed, trained one after another."""

    runs: list[RunLog]
    stop: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None
    started: float = field(default_factory=time.perf_counter)
    finished: float | None = None
    queued: bool = False  # waiting for a free trainer slot

    @property
    def running(self) -> bool:
        return self.finished is None

    @property
    def elapsed(self) -> float:
        return (self.finished or time.perf_counter()) - self.started

    @property
    def total_steps(self) -> int:
        return sum(r.config.steps for r in self.runs)

    @property
    def done_steps(self) -> int:
        return sum(r.config.steps if r.state in ("done", "skipped") else len(r.losses)
                   for r in self.runs)


def variants(base: TrainConfig, cells: list[str], without_clip: bool) -> list[RunLog]:
    """The runs to compare: one per chosen cell, plus the first cell with clipping off."""
    runs = []
    for cell in list(dict.fromkeys(cells))[:MAX_RUNS]:
        runs.append((CELL_LABELS.get(cell, cell), replace(base, cell=cell)))
    if without_clip and base.clip is not None and runs and len(runs) < MAX_RUNS:
        first = runs[0][1]
        runs.append((f"{CELL_LABELS.get(first.cell, first.cell)}, no clipping",
                     replace(first, clip=None)))
    return [RunLog(label, cfg, RUN_COLORS[i]) for i, (label, cfg) in enumerate(runs)]


def clamp_steps(steps: int) -> int:
    return int(min(max(int(steps), 1), MAX_STEPS))


def run_job(job: Job) -> None:
    """Train every run in turn (the thread's body). Errors end that run with a message."""
    job.queued = True
    with SLOTS:
        job.queued = False
        torch.set_num_threads(1)  # one core per training: the room shares the server
        for run in job.runs:
            if job.stop.is_set():
                run.state = "skipped"
                run.error = "not started: stopped by the user"
                continue
            run.state = "training"
            try:
                run.result = train(run.config, callback=run.on_step,
                                   should_stop=job.stop.is_set)
            except ValueError as exc:
                run.error = f"the engine refused these settings: {exc}"
            except Exception as exc:  # noqa: BLE001 - a thread must not die silently
                run.error = f"training failed: {type(exc).__name__}: {exc}"
            run.state = "done"
    job.finished = time.perf_counter()


def start(job: Job, wait: bool = False) -> Job:
    """Run the job in a daemon thread; ``wait`` joins it (tests)."""
    job.thread = threading.Thread(target=run_job, args=(job,), daemon=True,
                                  name="unrolled-train")
    job.thread.start()
    if wait:
        job.thread.join()
    return job

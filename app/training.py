"""The Training lab's runner: a job's runs train side by side, in background threads.

Streamlit reruns the page script many times while a job goes on, so the job cannot live in
the script. A ``Job`` (kept in ``st.session_state``) has up to three runs on the same data
and seed. They train **side by side, one step each in turn**: every run's
``engine.train.train`` has its own thread, and a baton (``_Turns``) lets one step run at a
time, round-robin. So the curves grow together, exactly fairly in steps, whatever each cell
costs per step, and a job takes one core: with torch on one thread per training and one job
per core (``MAX_JOBS``), the server's two cores train two visitors' jobs and still answer
every page. (Free-running threads were measured too, in Chromium on the shared 2-core
machine: the page answered as fast within the noise (a full rerun ~1 s, the live redraw
every ~1 s either way), they finish sooner only when a core is idle, and they let the
cheaper cells run ahead: RNN 457, LSTM 423, GRU 242 steps at the same moment.)

A job waits for a trainer when ``MAX_JOBS`` jobs are training (the page says so and how
many runs are training for others); beyond ``MAX_WAITING`` waiting jobs a new one is
refused with a message. A job nobody watches stops: the page's live fragment calls
``Job.watch`` every second, and a job whose last look is older than ``UNWATCHED_S`` while
its Streamlit session is disconnected (the tab was closed) ends "nobody was watching".

The trainer's callback appends to plain lists that the page reads; this module never calls
``st.*`` from a thread. ``run_job`` is the whole job, synchronously: the thread runs it and
tests can call it directly (the same code path trains).
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from dataclasses import dataclass, field, replace

import numpy as np
import torch

from app import runs
from app.lab_state import CELL_LABELS, MAX_RUNS, MAX_STEPS
from engine.run_record import config_dict, record_result
from engine.tasks import make_task
from engine.train import StepInfo, TrainConfig, TrainResult, train

__all__ = ["CELL_LABELS", "MAX_RUNS", "MAX_STEPS", "Job", "RunLog", "run_job", "start",
           "variants"]

# jobs training at once, process-wide: a job takes one core (2 cores; a bigger server says so)
MAX_JOBS = max(1, int(os.environ.get("UNROLLED_TRAIN_JOBS", "2")))
MAX_WAITING = 4  # jobs waiting for a trainer; one more is refused with a message
# no look at a job for this long and its session gone: it stops
UNWATCHED_S = float(os.environ.get("UNROLLED_UNWATCHED_S", "15"))
UNWATCHED = "nobody was watching"
RUN_COLORS = ("#2563eb", "#c2410c", "#059669")
# Where a job's runs train: "threads", side by side on this server (one core a job), or
# "ray", each run a task on the Ray cluster at RAY_ADDRESS: a classroom server hands its
# training to a cluster and keeps its cores for the pages (the curves still arrive live).
LAB_BACKEND = os.environ.get("UNROLLED_LAB_BACKEND", "threads")

# engine.train.build seeds torch's global RNG and draws the read-out's weights from it: two
# builds at once (runs side by side, another visitor's, a weights upload) would take each
# other's numbers. Every build holds this lock, so the same seed gives the same curve.
BUILD_LOCK = threading.Lock()
_SERVER = threading.Condition()  # guards _TRAINING and _WAITING
_TRAINING: list[Job] = []
_WAITING: list[Job] = []  # first come, first trained
_SHARED: dict[tuple, Job] = {}  # running jobs by their runs' keys: a twin watches, not trains


@dataclass(eq=False)
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
    note: str | None = None  # why the runner stopped it, when not the user (nobody watched)
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
        if self.note:
            return self.note
        return self.result.stopped if self.result is not None else None

    @property
    def exploded(self) -> bool:
        return bool(self.result and self.result.stopped
                    and self.result.stopped.startswith("the loss"))


@dataclass(eq=False)
class Job:
    """Up to three runs on the same data and seed, trained side by side."""

    runs: list[RunLog]
    session: str | None = None  # the Streamlit session that started it (is it still there?)
    stop: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None
    created: float = field(default_factory=time.perf_counter)
    started: float | None = None  # when it got a trainer
    finished: float | None = None
    seen: float = field(default_factory=time.monotonic)  # the page's last look (heartbeat)
    why: str | None = None  # UNWATCHED when the runner stopped it
    from_store: bool = False  # every run came finished from the run store
    _baseline: tuple | None = field(default=None, repr=False)

    @property
    def key(self) -> tuple:
        """The runs' store keys: two jobs with one key train the same numbers."""
        return tuple(runs.key_of(r.config) for r in self.runs)

    @property
    def running(self) -> bool:
        """Waiting for a trainer or training: the page keeps redrawing."""
        return self.finished is None

    @property
    def queued(self) -> bool:
        return self.running and self.started is None

    @property
    def elapsed(self) -> float:
        """Seconds of training (0 while waiting)."""
        if self.started is None:
            return 0.0
        return (self.finished or time.perf_counter()) - self.started

    @property
    def total_steps(self) -> int:
        return sum(r.config.steps for r in self.runs)

    @property
    def done_steps(self) -> int:
        return sum(r.config.steps if r.state in ("done", "skipped") else len(r.losses)
                   for r in self.runs)

    def watch(self) -> None:
        """The page looked at the job (its live fragment calls this every second)."""
        self.seen = time.monotonic()

    def request_stop(self) -> None:
        """Stop: every run ends at its next step (a waiting job never starts)."""
        self.stop.set()

    def check_watched(self) -> None:
        """Stop the job, saying why, when nobody has looked at it for ``UNWATCHED_S``
        and its session is disconnected."""
        if self.stop.is_set() or time.monotonic() - self.seen <= UNWATCHED_S:
            return
        if _connected(self.session):
            return
        self.why = UNWATCHED
        self.stop.set()

    def baseline(self) -> tuple[float | None, str]:
        """The memoryless baseline of the runs' own task (T, noise, text): loss and note."""
        if self._baseline is None:
            cfg = self.runs[0].config
            try:
                task = make_task(cfg.task, cfg.seq_len, noise=cfg.noise, text=cfg.text)
                self._baseline = (task.baseline_loss, task.baseline_note)
            except ValueError:  # a bad uploaded text: the run says why
                self._baseline = (None, "")
        return self._baseline


def _connected(session: str | None) -> bool:
    """Whether the Streamlit session is still connected (False outside a server)."""
    if not session:
        return False
    try:
        from streamlit.runtime import Runtime

        return Runtime.exists() and Runtime.instance().is_active_session(session)
    except Exception:  # noqa: BLE001 - an internal API: without it, the heartbeat decides
        return False


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


# --- the server's trainers -------------------------------------------------------------------
def load(job: Job | None = None) -> dict:
    """What the server is training for others than ``job``: jobs, runs, and waiting jobs
    (``ahead``: those in line before ``job``)."""
    with _SERVER:
        others = [j for j in _TRAINING if j is not job]
        ahead = _WAITING.index(job) if job in _WAITING else len(_WAITING)
        return {"jobs": len(others), "runs": sum(len(j.runs) for j in others),
                "waiting": len([j for j in _WAITING if j is not job]), "ahead": ahead}


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def queue_message(job: Job) -> str:
    """What a waiting job's page says."""
    info = load(job)
    text = (f"The server is training {_plural(info['runs'], 'run')} for other visitors; "
            "yours starts when one finishes.")
    if info["ahead"]:
        text += f" {_plural(info['ahead'], 'job')} waiting before yours."
    return text


def _admit(job: Job) -> bool:
    """Wait in line for a trainer; False when stopped (or unwatched) while waiting."""
    with _SERVER:
        if job not in _WAITING:
            _WAITING.append(job)
        try:
            while True:
                job.check_watched()
                if job.stop.is_set():
                    return False
                if len(_TRAINING) < MAX_JOBS and _WAITING[0] is job:
                    _TRAINING.append(job)
                    return True
                _SERVER.wait(0.2)
        finally:
            _WAITING.remove(job)
            _SERVER.notify_all()


def _release(job: Job) -> None:
    with _SERVER:
        if job in _TRAINING:
            _TRAINING.remove(job)
        _SERVER.notify_all()


class _Turns:
    """The baton: run ``i`` trains one step, then the next run still training."""

    def __init__(self, n: int):
        self.cond = threading.Condition()
        self.turn = 0
        self.active = [True] * n

    def _next(self, i: int) -> int:
        n = len(self.active)
        return next((j % n for j in range(i + 1, i + n + 1) if self.active[j % n]), i)

    def wait(self, i: int, stop: threading.Event) -> None:
        with self.cond:
            while self.turn != i and not stop.is_set():
                self.cond.wait(0.1)

    def passed(self, i: int) -> None:
        with self.cond:
            self.turn = self._next(i)
            self.cond.notify_all()

    def finished(self, i: int) -> None:
        with self.cond:
            self.active[i] = False
            if self.turn == i:
                self.turn = self._next(i)
            self.cond.notify_all()


def _train_run(job: Job, i: int, turns: _Turns) -> None:
    """One run's thread: ``engine.train.train``, one step per turn."""
    run = job.runs[i]
    torch.set_num_threads(1)  # one core per training: the room shares the server
    building = [True]  # train() builds the model, then asks should_stop before step 0

    def built() -> None:
        if building[0]:
            building[0] = False
            BUILD_LOCK.release()

    def should_stop() -> bool:  # called before every step
        built()
        turns.wait(i, job.stop)
        job.check_watched()
        return job.stop.is_set()

    def on_step(info: StepInfo) -> None:  # after every step
        run.on_step(info)
        turns.passed(i)

    run.state = "training"
    BUILD_LOCK.acquire()
    try:
        run.result = train(run.config, callback=on_step, should_stop=should_stop)
        _finish(job, run)
    except ValueError as exc:
        run.error = f"the engine refused these settings: {exc}"
    except Exception as exc:  # noqa: BLE001 - a thread must not die silently
        run.error = f"training failed: {type(exc).__name__}: {exc}"
    finally:
        built()  # (the engine refused the config before its first step)
        run.state = "done"
        turns.finished(i)


def _train_on_ray(job: Job) -> None:
    """Every run as a Ray task on the cluster (engine.remote), all at once; the steps they
    report are drained into the runs' curves (the page draws them live) until each returns.
    Stop (or nobody watching) tells the workers to stop."""
    pending: dict = {}
    try:
        _race_on_ray(job, pending)
    except Exception as exc:  # noqa: BLE001 - the cluster is gone: every open run says so
        for run in job.runs:
            if run.result is None and run.error is None:
                run.error = f"training on the cluster failed: {type(exc).__name__}: {exc}"
            run.state = "done"
    finally:
        for ref in pending:  # nothing keeps training for a job that ended
            with contextlib.suppress(Exception):
                _ray().cancel(ref, force=True)


def _ray():
    import ray

    return ray


def _race_on_ray(job: Job, pending: dict) -> None:
    from engine import remote

    ray = remote.connect()
    board = remote.board(len(job.runs))
    for i, run in enumerate(job.runs):
        pending[remote.submit(config_dict(run.config), board, i)] = i
        run.state = "training"
    stopping = False
    while pending:
        job.check_watched()
        if job.stop.is_set() and not stopping:
            board.request_stop.remote()
            stopping = True
        done, _ = ray.wait(list(pending), num_returns=len(pending), timeout=0.3)
        _drain(job, ray.get(board.take.remote()))  # a finished task's steps are all there
        for ref in done:
            run = job.runs[pending.pop(ref)]
            try:
                run.result = record_result(run.config, ray.get(ref))
            except Exception as exc:  # noqa: BLE001 - the run says why; the others go on
                run.error = f"training failed on the cluster: {type(exc).__name__}: {exc}"
            else:
                _finish(job, run)
            run.state = "done"


def _drain(job: Job, steps_per_run: list) -> None:
    for run, steps in zip(job.runs, steps_per_run, strict=True):
        for loss, before, after, step, hidden_norm in steps:
            run.losses.append(loss)
            run.before.append(before)
            run.after.append(after)
            if hidden_norm is not None:
                run.hidden_norm, run.snapshot_step = hidden_norm, step


def _finish(job: Job, run: RunLog) -> None:
    """A run's result is in: say why the runner stopped it, and keep it if complete."""
    if job.why and run.result.stopped and run.result.stopped.startswith("stopped by"):
        run.note = f"stopped at step {len(run.losses)}: {job.why}"
    _keep(run)


def _keep(run: RunLog) -> None:
    """Put a complete run in the run store; a store that fails costs only the sharing."""
    try:
        runs.keep(run.result)
    except Exception as exc:  # noqa: BLE001 - the training itself succeeded
        run.note = run.note or f"(not kept in the run store: {type(exc).__name__})"


def run_job(job: Job) -> None:
    """The whole job (the thread's body): wait for a trainer, then train every run side by
    side, one step each in turn. Errors end that run with a message."""
    try:
        if not _admit(job):
            for run in job.runs:
                run.state = "skipped"
                run.error = f"not started: {job.why or 'stopped by the user'}"
            return
        job.started = time.perf_counter()
        if LAB_BACKEND == "ray":
            _train_on_ray(job)
            return
        turns = _Turns(len(job.runs))
        threads = [threading.Thread(target=_train_run, args=(job, i, turns), daemon=True,
                                    name=f"unrolled-train-{i}") for i in range(len(job.runs))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        _release(job)
        job.finished = time.perf_counter()
        with _SERVER:
            if _SHARED.get(job.key) is job:
                del _SHARED[job.key]


def refusal(job: Job) -> str | None:
    """The message when the line of waiting jobs is full (the job is then not started)."""
    info = load(job)
    if info["jobs"] < MAX_JOBS or info["waiting"] < MAX_WAITING:
        return None
    return (f"The server is training {_plural(info['runs'], 'run')} for other visitors and "
            f"{_plural(info['waiting'], 'job')} are waiting: not training now. Try again "
            "in a minute.")


def start(job: Job, wait: bool = False) -> str | None:
    """Train the job in a daemon thread (it waits in line for a trainer if need be), or
    return why not (the server is full). ``wait`` joins it, looking at it meanwhile
    (tests: the page waits, so someone is watching)."""
    message = refusal(job)
    if message:
        return message
    with _SERVER:
        _SHARED.setdefault(job.key, job)
    job.thread = threading.Thread(target=run_job, args=(job,), daemon=True,
                                  name="unrolled-job")
    job.thread.start()
    while wait and job.thread.is_alive():
        job.watch()
        job.thread.join(0.5)
    return None


def twin(job: Job) -> Job | None:
    """A job with exactly these runs that another visitor started and is still running:
    watching it costs nothing, training it again would cost a core."""
    with _SERVER:
        other = _SHARED.get(job.key)
    return other if other is not None and other is not job and other.running else None


def stored_job(runs_: list[RunLog]) -> Job | None:
    """These runs as a finished job, when the run store holds every one of them."""
    if not runs_ or any(runs.finished(r.config) is None for r in runs_):
        return None  # (before any weights are loaded)
    results = [runs.result_of(r.config) for r in runs_]
    if any(res is None for res in results):  # evicted in between
        return None
    for run, res in zip(runs_, results, strict=True):
        run.losses, run.before, run.after = (list(res.losses), list(res.grad_norm_before),
                                             list(res.grad_norm_after))
        if res.snapshots:
            run.snapshot_step, run.hidden_norm = res.snapshots[-1]
        run.result, run.state = res, "done"
    now = time.perf_counter()
    return Job(runs_, started=now, finished=now, from_store=True)


# --- what the page shows ---------------------------------------------------------------------
def series(job: Job) -> list[dict]:
    """The runs' curves for ``app.views.train``."""
    out = []
    for run in job.runs:
        curves = run.curves()
        out.append({"label": run.label, "color": run.color, "clipped": run.config.clip,
                    "blowup": len(curves["loss"]) if run.exploded else None, **curves})
    return out


def progress(job: Job) -> tuple[float, str]:
    """The progress bar's fraction and text: every run's step, side by side."""
    if job.queued:
        return 0.0, queue_message(job)
    steps = " · ".join(f"{r.label} {len(r.losses)}/{r.config.steps}" for r in job.runs)
    return min(job.done_steps / max(job.total_steps, 1), 1.0), (
        f"Training side by side: {steps} · {job.elapsed:.1f} s")


def result_rows(job: Job) -> list[dict]:
    """One row per run for the results table: the loss on a fresh batch (your data: on its
    validation part), the baseline, and for classification the share right beside the
    share a predictor without memory gets."""
    rows = []
    for run in job.runs:
        res = run.result
        on = "validation" if run.config.task == "dataset" else "fresh batch"
        row = {"run": run.label, "steps run": len(run.losses),
               f"final loss ({on})": None if res is None else res.final_loss,
               "baseline": None if res is None else res.baseline_loss,
               "ratio to baseline": None if res is None or res.baseline_loss == 0
               else res.final_loss / res.baseline_loss}
        if res is not None and res.baseline_accuracy is not None:  # classification
            row[f"accuracy ({on})"] = res.final_accuracy
            row["accuracy without memory"] = res.baseline_accuracy
        row["seconds"] = None if res is None else round(res.seconds, 1)
        rows.append(row)
    return rows


def stop_messages(job: Job) -> list[tuple[bool, str]]:
    """(is it an error, text) for every run that ended early, in the page's words."""
    out = []
    for run in job.runs:
        if run.stopped:  # the engine's words; its CLI hint becomes the page's control
            why = run.stopped.replace("try --clip 1.0", "turn clipping on or lower the "
                                      "learning rate")
            bad = run.exploded or bool(run.error and run.state != "skipped")
            out.append((bad, f"{run.label}: {why}."))
    return out


def history(job: Job | None, label: str) -> list:
    """The training history (checkpoints) of the finished job's run ``label``."""
    for r in [] if job is None or job.running else job.runs:
        if r.label == label and r.result is not None:
            return r.result.checkpoints
    return []


def models(job: Job | None) -> list[tuple[str, TrainConfig, object]]:
    """The finished job's trained models: (label, config, torch model)."""
    if job is None or job.running:
        return []
    return [(r.label, r.config, r.result.model) for r in job.runs
            if r.result is not None and not r.exploded]

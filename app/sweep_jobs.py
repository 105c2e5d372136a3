"""Sweeps launched from the Sweeps page: one background thread per sweep, process-wide.

Everyone who launches the same sweep (the same spec) shares its thread, and whatever the
run store already holds is not trained again (engine.sweep.run_sweep). The thread hands the
runs to ``engine.sweep.make_backend("auto")``: Ray when ``RAY_ADDRESS`` names a cluster,
else a pool of local processes (``UNROLLED_SWEEP_WORKERS``, default: the cores). Nothing
here calls ``st.*``: the page reads the store and ``job(sweep)``.
"""

from __future__ import annotations

import math
import os
import threading
import time
from dataclasses import dataclass, field

import numpy as np

from app import runs
from engine.sweep import SUCCESS_RATIO, SweepSpec, make_backend, run_sweep

WORKERS = max(1, int(os.environ.get("UNROLLED_SWEEP_WORKERS", os.cpu_count() or 1)))
# ms per training step and time step, hidden 32, batch 32, one torch thread, measured on
# this 2-core machine: what the cost estimate multiplies (it says "about")
MS_PER_STEP_T = {"rnn": 0.1, "lstm": 0.1, "gru": 0.1, "mingru": 0.12, "minlstm": 0.12,
                 "lru": 0.12, "s6": 0.45}
RUN_OVERHEAD_S = 0.3

_LOCK = threading.Lock()
_JOBS: dict[str, SweepJob] = {}


@dataclass(eq=False)
class SweepJob:
    sweep: str
    spec: SweepSpec
    stop: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None
    error: str | None = None
    started: float = field(default_factory=time.monotonic)
    finished: float | None = None

    @property
    def running(self) -> bool:
        return self.finished is None


def estimate_seconds(spec: SweepSpec, workers: int = WORKERS) -> float:
    """About how long the sweep trains here, its runs spread over ``workers``."""
    total = 0.0
    for c in spec.configs():
        per_step = MS_PER_STEP_T.get(c.cell, 0.12) * 1e-3 * c.seq_len
        per_step *= math.sqrt(c.hidden / 32) * (c.batch / 32) ** 0.3 * c.layers
        total += c.steps * per_step + RUN_OVERHEAD_S
    return total / max(1, min(workers, spec.size))


def _run(job: SweepJob) -> None:
    try:
        run_sweep(job.spec, runs.store(), make_backend("auto", WORKERS), stop=job.stop)
    except Exception as exc:  # noqa: BLE001 - the page shows it; the thread must not die mute
        job.error = f"{type(exc).__name__}: {exc}"
    finally:
        job.finished = time.monotonic()


def launch(spec: SweepSpec) -> str:
    """Start (or join) the sweep ``spec``; its id, which the page's URL carries."""
    sweep = runs.store().add_sweep(spec.to_json(), spec.keys())
    runs.store().mark_stopped(sweep, False)
    return _start(sweep, spec)


def resume(sweep: str) -> bool:
    """Go on with a stored sweep that has runs left, nobody stopped, and no thread here
    runs (a server restart ended it): whoever opens its link resumes it. Whether it runs."""
    found = table(sweep)
    if found is None or runs.store().stopped(sweep):
        return False
    spec, cells = found
    if all(c.finished == len(c.keys) for c in cells):
        return False
    _start(sweep, spec)
    return True


def _start(sweep: str, spec: SweepSpec) -> str:
    with _LOCK:
        job = _JOBS.get(sweep)
        if job is not None and job.running:
            return sweep
        job = _JOBS[sweep] = SweepJob(sweep, spec)
        job.thread = threading.Thread(target=_run, args=(job,), daemon=True,
                                      name=f"unrolled-sweep-{sweep}")
        job.thread.start()
    return sweep


def job(sweep: str) -> SweepJob | None:
    with _LOCK:
        return _JOBS.get(sweep)


def stop(sweep: str) -> None:
    """Stop: its runs under way end, and a visit no longer resumes it (Launch does)."""
    runs.store().mark_stopped(sweep)
    j = job(sweep)
    if j is not None:
        j.stop.set()


@dataclass(frozen=True)
class Cell:
    """One grid point's runs: their statuses and, where finished, loss / baseline."""

    point: dict
    keys: tuple
    statuses: tuple
    ratios: tuple  # per seed, NaN where not finished (or diverged: inf)

    @property
    def median(self) -> float:
        """Over the seeds that finished without diverging (inf where all diverged)."""
        done = [r for r in self.ratios if not math.isnan(r)]
        finite = [r for r in done if math.isfinite(r)]
        return float(np.median(finite)) if finite else (math.inf if done else math.nan)

    @property
    def diverged(self) -> int:
        return sum(math.isinf(r) for r in self.ratios)

    @property
    def learned(self) -> int:
        return sum(r < SUCCESS_RATIO for r in self.ratios if not math.isnan(r))

    @property
    def finished(self) -> int:
        return sum(s in ("done", "diverged", "failed") for s in self.statuses)


def table(sweep: str) -> tuple[SweepSpec, list[Cell]] | None:
    """The stored sweep, grid point by grid point (None: not in the store)."""
    stored = runs.store().sweep(sweep)
    if stored is None:
        return None
    spec_json, keys = stored
    spec = SweepSpec.from_json(spec_json)
    rows = runs.store().summaries(keys)
    cells, per = [], int(spec.seeds)
    for i, point in enumerate(spec.points()):
        ks = tuple(keys[i * per:(i + 1) * per])
        statuses = tuple(rows.get(k, ("evicted", {}))[0] for k in ks)
        ratios = tuple(_ratio(*rows[k]) if k in rows else math.nan for k in ks)
        cells.append(Cell(point, ks, statuses, ratios))
    return spec, cells


def _ratio(status: str, summary: dict) -> float:
    """Final loss / baseline: NaN until finished, inf for a run that diverged."""
    if status == "diverged":
        return math.inf
    if status != "done":
        return math.nan
    return summary["final_loss"] / summary["baseline_loss"]

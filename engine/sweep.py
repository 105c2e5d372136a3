"""Hyperparameter sweeps: a grid over one to three axes, a few seeds each, trained through
one interface with two backends, every run kept in the run store (engine.store).

``SweepSpec`` names the task, the grid and the settings every run shares; ``run_sweep``
skips what the store already holds (a restarted sweep resumes where it left off), claims
the rest (identical runs requested twice run once), hands them to a backend and writes each
result back as it arrives. Backends: ``LocalBackend`` (a process pool on this machine's
cores) and ``RayBackend`` (Ray tasks on a cluster at ``RAY_ADDRESS``, or a local Ray),
each retrying a run whose worker died a bounded number of times. A run whose loss turns
NaN is stored as diverged at its step, not as a failure.

Headless: ``python -m engine.sweep --task adding --cells rnn,lstm,gru --seq-len 10,25,50
--seeds 3 --steps 300`` prints one JSON line per run and a last line for the sweep.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import itertools
import json
import math
import multiprocessing
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace

from .run_record import config_dict, key_of, to_record
from .store import RunStore, run_key
from .train import CELLS, TrainConfig, train

AXES = {"cell": str, "seq_len": int, "lr": float, "clip": float, "gain": float,
        "hidden": int}
AXIS_LABELS = {"cell": "cell", "seq_len": "sequence length T", "lr": "learning rate",
               "clip": "clipping threshold", "gain": "gain", "hidden": "hidden size"}
MAX_RUNS = 400
MAX_ATTEMPTS = 3  # a run whose worker died is tried this many times, then marked failed
SUCCESS_RATIO = 0.1  # a run "learns" the task when its loss ends below a tenth of baseline


@dataclass(frozen=True)
class SweepSpec:
    """A grid: ``axes`` as ((name, (values...)), ...) in AXES, ``seeds`` seeds per point,
    ``base`` the TrainConfig fields every run shares."""

    task: str = "adding"
    axes: tuple = (("cell", ("rnn", "lstm", "gru")), ("seq_len", (10, 25, 50)))
    seeds: int = 1
    base: tuple = ()  # (("steps", 300), ...): sorted (name, value) pairs

    def __post_init__(self):
        if not 1 <= len(self.axes) <= 3:
            raise ValueError("a sweep has one to three axes")
        names = [name for name, _ in self.axes]
        if len(set(names)) != len(names):
            raise ValueError(f"an axis appears twice: {names}")
        for name, values in self.axes:
            if name not in AXES:
                raise ValueError(f"axis must be one of {list(AXES)}, got {name!r}")
            if not values:
                raise ValueError(f"axis {name!r} has no values")
            if len(set(values)) != len(values):
                raise ValueError(f"axis {name!r} repeats a value: {list(values)}")
        if not 1 <= int(self.seeds) <= 20:
            raise ValueError(f"seeds must be 1..20, got {self.seeds}")
        if self.size > MAX_RUNS:
            raise ValueError(f"{self.size} runs is more than a sweep may hold ({MAX_RUNS})")
        for cfg in self.configs():
            cfg.validated()

    @classmethod
    def make(cls, task: str, axes: dict, seeds: int = 1, **base) -> SweepSpec:
        """From plain values: axes {"cell": ["rnn", "lstm"], "seq_len": [10, 50]}."""
        typed = tuple((name, tuple(dict.fromkeys(AXES[name](v) if name in AXES else v
                                                 for v in values)))
                      for name, values in axes.items())  # a value given twice counts once
        return cls(task=task, axes=typed, seeds=int(seeds), base=tuple(sorted(base.items())))

    @property
    def size(self) -> int:
        return math.prod(len(v) for _, v in self.axes) * int(self.seeds)

    def points(self) -> list[dict]:
        """Every grid point, as {axis: value}, first axis slowest."""
        names = [name for name, _ in self.axes]
        return [dict(zip(names, combo, strict=True))
                for combo in itertools.product(*(values for _, values in self.axes))]

    def configs(self) -> list[TrainConfig]:
        """Every run, grid point by grid point, seeds 0..seeds-1 within each. The cell
        "irnn" is Le et al.'s IRNN: an Elman RNN with ReLU and W_hh = I."""
        base = replace(TrainConfig(), task=self.task, **dict(self.base))
        return [replace(base, **_cell_settings(point), seed=seed)
                for point in self.points() for seed in range(int(self.seeds))]

    def keys(self) -> list[str]:
        """The run store's key of every run, in ``configs`` order."""
        return [key_of(c) for c in self.configs()]

    def to_json(self) -> dict:
        return {"task": self.task, "axes": [[n, list(v)] for n, v in self.axes],
                "seeds": int(self.seeds), "base": dict(self.base)}

    @classmethod
    def from_json(cls, data: dict) -> SweepSpec:
        return cls.make(data["task"], {n: v for n, v in data["axes"]}, data.get("seeds", 1),
                        **data.get("base", {}))


SWEEP_CELLS = (*CELLS, "irnn")  # what a cell axis takes: the trainable cells and the IRNN
IRNN = {"cell": "rnn", "activation": "relu", "init": "identity"}


def _cell_settings(point: dict) -> dict:
    """A grid point as TrainConfig fields (the IRNN's cell, activation and init)."""
    return {**point, **IRNN} if point.get("cell") == "irnn" else dict(point)


def classic_figure(steps: int = 600) -> SweepSpec:
    """Where each cell stops learning the adding problem: RNN, LSTM, GRU and the IRNN over
    T in {10, 25, 50, 100, 200}, two seeds each."""
    return SweepSpec.make("adding", {"cell": ["rnn", "irnn", "lstm", "gru"],
                                     "seq_len": [10, 25, 50, 100, 200]},
                          seeds=2, steps=steps, hidden=32, batch=32, clip=1.0)


# --- one run -------------------------------------------------------------------------
def run_config(config: dict, threads: int = 1) -> dict:
    """Train one configuration (in a worker) and return what the store keeps."""
    import torch

    torch.set_num_threads(threads)
    return to_record(train(TrainConfig(**config)))


# --- backends ------------------------------------------------------------------------
class WorkerDied(RuntimeError):
    """The process running a run ended without a result."""


class LocalBackend:
    """A pool of ``workers`` processes on this machine (spawned: a forked torch can hang),
    one torch thread each. A pool broken by a dying worker is rebuilt; the runs it held
    come back as ``WorkerDied``."""

    name = "local"

    def __init__(self, workers: int | None = None):
        self.workers = workers or max(1, min(os.cpu_count() or 1, 4))
        self._pool, self._size = None, 0

    def _executor(self, workers: int | None = None):
        if self._pool is None or (workers or self.workers) != self._size:
            self.close()
            self._size = workers or self.workers
            self._pool = cf.ProcessPoolExecutor(
                self._size, mp_context=multiprocessing.get_context("spawn"))
        return self._pool

    def run(self, fn: Callable, items: list, stop: threading.Event,
            tick: Callable[[], None] = lambda: None, workers: int | None = None
            ) -> Iterator[tuple]:
        """Yield (item, result or exception) as each finishes; stop early on ``stop``;
        ``tick()`` while waiting.

        A dying worker breaks the whole pool. The runs that had started then run again one
        at a time, each alone in a pool of its own: only a run that dies alone comes back
        as ``WorkerDied``; the runs that had not started go on in a fresh pool."""
        pending = {self._executor(workers).submit(fn, item): item for item in items}
        started: set = set()
        try:
            while pending:
                if stop.is_set():
                    self.close(kill=True)  # a Stop stops the runs under way too
                    return
                tick()
                started |= {f for f in pending if f.running()}
                done, _ = cf.wait(pending, timeout=0.2, return_when=cf.FIRST_COMPLETED)
                broken = []
                for fut in done:
                    item = pending.pop(fut)
                    try:
                        yield item, fut.result()
                    except cf.process.BrokenProcessPool:
                        broken.append((fut, item))
                    except Exception as err:  # noqa: BLE001 - reported per run
                        yield item, err
                if broken:
                    suspects = [i for f, i in broken if f in started] or [
                        i for _, i in broken]  # none seen running: any of them may be it
                    waiting = [i for _, i in broken if i not in suspects]
                    waiting += [i for f, i in pending.items()]
                    pending = {}
                    self.close(kill=True)
                    if len(suspects) == 1:  # it died alone: it is the one
                        yield suspects[0], WorkerDied("the worker process died")
                    else:
                        for item in suspects:
                            yield from self.run(fn, [item], stop, tick, workers=1)
                    yield from self.run(fn, waiting, stop, tick, workers)
                    return
        finally:
            for fut in pending:
                fut.cancel()

    def close(self, kill: bool = False) -> None:
        """Shut the pool down; ``kill``: end its workers now, runs under way included
        (3.14's ``terminate_workers``; here the pool's own process table)."""
        if self._pool is not None:
            workers = list(getattr(self._pool, "_processes", {}).values()) if kill else []
            self._pool.shutdown(wait=False, cancel_futures=True)
            for proc in workers:
                proc.terminate()
            self._pool = None


class RayBackend:
    """Ray tasks, one CPU each, on the cluster at ``address`` (default ``RAY_ADDRESS``; a
    local Ray when neither is set). Ray retries a task whose worker died
    (``max_retries``); what still fails comes back as the error."""

    name = "ray"

    def __init__(self, address: str | None = None, retries: int = MAX_ATTEMPTS - 1):
        from .remote import connect

        self.ray = connect(address)
        self.retries = retries

    def run(self, fn: Callable, items: list, stop: threading.Event,
            tick: Callable[[], None] = lambda: None) -> Iterator[tuple]:
        remote = self.ray.remote(num_cpus=1, max_retries=self.retries)(fn)
        refs = {remote.remote(item): item for item in items}
        try:
            while refs:
                if stop.is_set():
                    return
                tick()
                done, _ = self.ray.wait(list(refs), num_returns=1, timeout=0.2)
                for ref in done:
                    item = refs.pop(ref)
                    try:
                        yield item, self.ray.get(ref)
                    except self.ray.exceptions.WorkerCrashedError as err:
                        yield item, WorkerDied(str(err).splitlines()[0])
                    except Exception as err:  # noqa: BLE001 - reported per run
                        yield item, err
        finally:
            for ref in refs:
                self.ray.cancel(ref, force=True)

    def close(self) -> None:
        pass


def make_backend(name: str = "auto", workers: int | None = None):
    """"local", "ray", or "auto": Ray when ``RAY_ADDRESS`` names a cluster, else local."""
    if name == "auto":
        name = "ray" if os.environ.get("RAY_ADDRESS") else "local"
    if name == "local":
        return LocalBackend(workers)
    if name == "ray":
        return RayBackend()
    raise ValueError(f"backend must be 'local', 'ray' or 'auto', got {name!r}")


# --- the sweep -----------------------------------------------------------------------
class Heartbeat:
    """Called by a backend while it waits: keeps the in-flight runs' rows fresh in the
    store (every ``every`` seconds), so no other process takes them over as stale."""

    def __init__(self, store: RunStore, keys, every: float = 20.0):
        self.store, self.keys, self.every = store, set(keys), every
        self.last = time.monotonic()

    def __call__(self) -> None:
        if time.monotonic() - self.last >= self.every:
            self.last = time.monotonic()
            for key in list(self.keys):
                self.store.heartbeat(key)



@dataclass
class SweepProgress:
    sweep: str
    keys: list[str]
    done: int = 0
    failed: int = 0
    waiting: int = 0  # runs another caller is running (watched in the store)
    results: list = field(default_factory=list)  # (key, status) in arrival order


def run_sweep(spec: SweepSpec, store: RunStore, backend, stop: threading.Event | None = None,
              on_result: Callable[[str, dict], None] | None = None,
              fn: Callable = run_config, max_attempts: int = MAX_ATTEMPTS,
              poll: float = 0.5) -> SweepProgress:
    """Run every run of ``spec`` that the store does not hold yet; returns the progress.

    Runs that another process is running are watched until they finish there. A run that
    raised, or whose worker died, is tried again up to ``max_attempts`` times, then stored
    as failed with its error. ``stop`` ends the sweep early; its unfinished runs go back
    to the queue (a later call resumes them).
    """
    stop = stop or threading.Event()
    grid = [config_dict(cfg) for cfg in spec.configs()]
    keys = spec.keys()  # grid order, one per point and seed
    configs = dict(zip(keys, grid, strict=True))  # two points may be one run (irnn = ...)
    sweep = store.add_sweep(spec.to_json(), keys)
    progress = SweepProgress(sweep, keys)
    beat, mine = Heartbeat(store, ()), set()
    try:
        _sweep(configs, store, backend, stop, fn, max_attempts, poll, progress, on_result,
               beat, mine)
    except BaseException:
        stop.set()  # an error here (the store, a callback): nothing keeps training
        raise
    finally:
        if stop.is_set():  # what was running here goes back to the queue
            if isinstance(backend, LocalBackend):
                backend.close(kill=True)
            for key in beat.keys | mine:
                store.release(key)
        backend.close()
    return progress


def _sweep(configs, store, backend, stop, fn, max_attempts, poll, progress, on_result,
           beat, mine) -> None:
    """run_sweep's rounds: claim what is free, run it, watch what others run."""

    def record(key: str, status: str, payload: dict | None = None) -> None:
        progress.results.append((key, status))
        if on_result is not None:
            on_result(key, {"status": status, **(payload or {})})

    todo = list(configs)
    while todo and not stop.is_set():
        owned, watched, lost = [], [], []
        for key in todo:
            _, claimed = (None, True) if key in mine else store.submit(configs[key])
            stored = store.get(key, touch=False)
            if stored is None:  # evicted in between: ask again
                lost.append(key)
            elif stored.finished or stored.status == "failed":
                progress.done += stored.finished
                progress.failed += stored.status == "failed"
                record(key, stored.status, stored.summary)
            elif claimed:
                owned.append(key)
            else:
                watched.append(key)
        progress.waiting = len(watched)
        mine.clear()
        retry = []
        beat.keys = set(owned)
        for config, out in backend.run(fn, [configs[k] for k in owned], stop, beat):
            key = run_key(config)
            beat.keys.discard(key)
            if isinstance(out, Exception):
                message = f"{type(out).__name__}: {out}"
                if store.fail(key, message, max_attempts):
                    retry.append(key)
                else:
                    progress.failed += 1
                    record(key, "failed", {"error": message})
                continue
            store.finish(key, out["summary"], out["curves"], out["weights"], out["status"],
                         out["step"])
            progress.done += 1
            record(key, out["status"], out["summary"])
        # runs another caller holds: watch them finish there, or take them over when
        # they are released or their heartbeat goes stale
        while watched and not retry and not lost and not stop.is_set():
            status = store.statuses(watched)
            mine |= {k for k in watched if status.get(k) == "running" and store.claim(k)}
            if mine or any(status.get(k) in (None, "queued") for k in watched) or all(
                    status.get(k) in ("done", "diverged", "failed") for k in watched):
                break  # taken over, released, evicted (None) or all finished
            time.sleep(poll)
        todo = retry + watched + lost


# --- command line --------------------------------------------------------------------
def _values(text: str | None, kind) -> list | None:
    if text is None:
        return None
    return [kind(v) for v in text.split(",") if v.strip()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m engine.sweep", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", default="adding")
    parser.add_argument("--cells", help=f"comma-separated, of {', '.join(SWEEP_CELLS)}")
    parser.add_argument("--seq-len", help="comma-separated sequence lengths")
    parser.add_argument("--lr", help="comma-separated learning rates")
    parser.add_argument("--clip", help="comma-separated clipping thresholds")
    parser.add_argument("--gain", help="comma-separated init gains")
    parser.add_argument("--hidden", help="comma-separated hidden sizes")
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--store", default=None, help="SQLite file (default $UNROLLED_DATA)")
    parser.add_argument("--backend", default="auto", choices=("auto", "local", "ray"))
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args(argv)
    given = {name: values for name, values in (
        ("cell", _values(args.cells, str)), ("seq_len", _values(args.seq_len, int)),
        ("lr", _values(args.lr, float)), ("clip", _values(args.clip, float)),
        ("gain", _values(args.gain, float)), ("hidden", _values(args.hidden, int)))
        if values}
    # one value is a setting every run shares; several make an axis
    axes = {name: values for name, values in given.items() if len(values) > 1}
    base = {"steps": args.steps, "batch": args.batch,
            **{name: values[0] for name, values in given.items() if len(values) == 1}}
    if not axes and given:  # a sweep of one point still has an axis
        name = next(iter(given))
        axes[name] = given[name]
        base.pop(name)
    try:
        spec = SweepSpec.make(args.task, axes or {"cell": ["lstm"]}, args.seeds, **base)
        backend = make_backend(args.backend, args.workers)
    except (ValueError, ImportError) as err:
        parser.error(str(err))
    store = RunStore(args.store)
    start = time.perf_counter()

    def show(key: str, info: dict) -> None:
        print(json.dumps({"key": key, **info}), flush=True)

    progress = run_sweep(spec, store, backend, on_result=show)
    print(json.dumps({"sweep": progress.sweep, "runs": len(progress.keys),
                      "done": progress.done, "failed": progress.failed,
                      "seconds": round(time.perf_counter() - start, 2)}), flush=True)
    return 0 if progress.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

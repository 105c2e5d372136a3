"""Training on a Ray cluster, watched live: the Training lab's runs handed to Ray workers.

A run is a Ray task (``train_task``) that trains with ``engine.train.train`` and reports its
steps to a small actor, the ``Board``, every ``REPORT_S`` seconds; the caller drains the
board as often as it likes (the lab's page: every second) and asks it to stop the runs
(Stop). The task returns what the run store keeps (``engine.run_record.to_record``).
Ray is imported on first use only: the app runs without it.
"""

from __future__ import annotations

import os
import time
from functools import cache

from .run_record import to_record
from .train import TrainConfig, train

REPORT_S = 0.3  # how often a worker hands its new steps to the board
RETRIES = 2  # a task whose worker died is run again this many times (Ray's max_retries)


def connect(address: str | None = None):
    """Ray, joined to the cluster at ``address`` (default ``RAY_ADDRESS``; a local Ray
    when neither is set), with this checkout importable on its workers."""
    import ray

    if not ray.is_initialized():
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        ray.init(address=address or os.environ.get("RAY_ADDRESS"), include_dashboard=False,
                 log_to_driver=False, runtime_env={"env_vars": {"PYTHONPATH": root}})
    return ray


@cache
def _remote():
    """The actor and the task, defined once Ray is there."""
    import ray

    @ray.remote(num_cpus=0)
    class Board:
        """Per run, the steps reported and not yet taken; and whether to stop."""

        def __init__(self, runs: int):
            self.steps = [[] for _ in range(runs)]
            self.stop = False

        def push(self, index: int, steps: list) -> None:
            self.steps[index].extend(steps)

        def take(self) -> list:
            out, self.steps = self.steps, [[] for _ in self.steps]
            return out

        def request_stop(self) -> None:
            self.stop = True

        def stopped(self) -> bool:
            return self.stop

    @ray.remote(num_cpus=1, max_retries=RETRIES)
    def train_task(config: dict, board, index: int) -> dict:
        import torch

        torch.set_num_threads(1)
        pending, clock, stop = [], [time.monotonic()], [False]

        def report(force: bool = False) -> None:
            if pending and (force or time.monotonic() - clock[0] >= REPORT_S):
                board.push.remote(index, list(pending))
                pending.clear()
                clock[0] = time.monotonic()
                stop[0] = ray.get(board.stopped.remote())

        def on_step(info) -> None:
            pending.append((info.loss, info.grad_norm_before, info.grad_norm_after,
                            info.step, info.hidden_norm))
            report()

        result = train(TrainConfig(**config), callback=on_step, should_stop=lambda: stop[0])
        report(force=True)
        ray.get(board.push.remote(index, []))  # the last steps are on the board before we end
        return to_record(result)

    return Board, train_task


def board(runs: int):
    """A new board for ``runs`` runs (a Ray actor handle)."""
    return _remote()[0].remote(runs)


def submit(config: dict, board_handle, index: int):
    """Train ``config`` on the cluster, reporting as run ``index``: a Ray object ref."""
    return _remote()[1].remote(config, board_handle, index)

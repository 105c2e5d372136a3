"""A 24-run sweep on each backend against the same runs one after another in one process.

Issue 16's target: the local backend at most 0.6x the sequential time on 2 cores. Each
backend runs into a fresh store (nothing cached); the sequential reference calls
``engine.sweep.run_config`` in this process, one torch thread (and again with torch's
default threads). Per-run overhead: (wall x workers - the runs' own training seconds) / runs.

    .venv/bin/python benchmarks/sweep_speed.py [--steps 150] [--no-ray]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

from engine.store import RunStore  # noqa: E402
from engine.sweep import LocalBackend, SweepSpec, config_dict, run_config, run_sweep  # noqa: E402


def spec(steps: int) -> SweepSpec:
    return SweepSpec.make("adding", {"cell": ["rnn", "lstm", "gru"],
                                     "seq_len": [10, 20, 30, 40]},
                          seeds=2, steps=steps, hidden=32, batch=32)


def sequential(s: SweepSpec, threads: int) -> tuple[float, float]:
    """Wall seconds, and the runs' own training seconds."""
    default = torch.get_num_threads()
    start, trained = time.perf_counter(), 0.0
    for cfg in s.configs():
        trained += run_config(config_dict(cfg), threads=threads)["summary"]["seconds"]
    torch.set_num_threads(default)
    return time.perf_counter() - start, trained


def backend_run(s: SweepSpec, backend, workers: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        store = RunStore(Path(tmp) / "runs.sqlite")
        start = time.perf_counter()
        progress = run_sweep(s, store, backend)
        wall = time.perf_counter() - start
        trained = sum(store.get(k).summary["seconds"] for k in progress.keys)
    return {"wall": wall, "trained": trained, "done": progress.done,
            "overhead_per_run": (wall * workers - trained) / s.size}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--no-ray", action="store_true")
    args = parser.parse_args()
    s = spec(args.steps)
    workers = min(2, os.cpu_count() or 1)
    seq_wall, seq_trained = sequential(s, threads=1)
    seq_default, _ = sequential(s, threads=torch.get_num_threads())
    out = {"runs": s.size, "cores": os.cpu_count(), "sequential_1_thread_s": round(seq_wall, 2),
           "sequential_default_threads_s": round(seq_default, 2)}
    local = backend_run(s, LocalBackend(workers), workers)
    out["local"] = {**{k: round(v, 3) for k, v in local.items()},
                    "ratio_to_sequential": round(local["wall"] / min(seq_wall, seq_default), 3)}
    if not args.no_ray:
        try:
            os.environ.setdefault("RAY_AUTH_MODE", "disabled")
            import ray

            from engine.sweep import RayBackend

            ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
            ray_out = backend_run(s, RayBackend(), workers)
            ray.shutdown()
            out["ray_local"] = {**{k: round(v, 3) for k, v in ray_out.items()},
                                "ratio_to_sequential":
                                    round(ray_out["wall"] / min(seq_wall, seq_default), 3)}
        except ImportError:
            out["ray_local"] = "ray is not installed"
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

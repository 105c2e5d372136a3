"""The modern chapter's classic results, measured with the Training lab's trainer (2 cores):

1. Selective copying (Mamba section 4.1, scaled: T = 64, 4 symbols of 8 among blanks, recalled
   at 4 markers): the selective S6 learns it, the time-invariant LRU stalls. The LRU stack
   with a linear read-out is linear in its one-hot input, and where the symbols sit changes
   from sequence to sequence: no fixed filter can pick "the k-th symbol".
2. Running parity of T = 20 bits, the parity so far at every step (state tracking, Grazzi et
   al. 2025): a tanh RNN learns it; minGRU, a diagonal linear recurrence whose transitions
   1 - z_t lie in (0, 1), cannot (each 1-bit must flip the state: a transition of -1). The
   many-to-one parity (one answer at the end) stays at chance for every cell here in a few
   thousand steps at T = 6..10: too sparse a signal for these budgets.
3. The adding problem, T = 50: minGRU against GRU.

Each row: final loss on a fresh batch against the task's memoryless baseline, the accuracy
where there is one (the markers' symbols; the parity bit), seconds. Figures, not a test.

    .venv/bin/python benchmarks/modern_results.py [--quick] [--only selective,parity,adding]
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from engine import train as tr  # noqa: E402
from engine.tasks import make_task  # noqa: E402

SELECTIVE = tr.TrainConfig(task="selective_copy", seq_len=64, cell="s6", hidden=32, layers=2,
                           steps=2500, batch=64, lr=0.01, clip=1.0, seed=0)
PARITY = tr.TrainConfig(task="running_parity", seq_len=20, cell="rnn", hidden=32, steps=1500,
                        batch=64, lr=0.01, clip=1.0, seed=0)
ADDING = tr.TrainConfig(task="adding", seq_len=50, cell="gru", hidden=64, steps=1000,
                        batch=64, lr=0.01, clip=1.0, seed=0)


def accuracy(result: tr.TrainResult, config: tr.TrainConfig) -> float | None:
    """Share of right answers on a fresh batch: the recalled symbols (selective copying,
    at the markers only) or the parity bits; None for regression."""
    task = make_task(config.task, config.seq_len)
    if task.kind != "classification":
        return None
    x, y = task.batch(512, np.random.default_rng(config.seed + 77))
    with torch.no_grad():
        guess = result.model(torch.from_numpy(x))[0].argmax(-1).numpy()
    if config.task == "selective_copy":
        n = task.extra["tokens"]
        return float(np.mean(guess[-n:] == y[-n:]))
    return float(np.mean(guess == y))


def run(config: tr.TrainConfig, label: str) -> dict:
    result = tr.train(config)
    acc = accuracy(result, config)
    row = {"label": label, "cell": config.cell, "task": config.task, "T": config.seq_len,
           "steps": len(result.losses), "final_loss": round(result.final_loss, 4),
           "baseline_loss": round(result.baseline_loss, 4),
           "ratio": round(result.final_loss / result.baseline_loss, 3),
           "accuracy": None if acc is None else round(acc, 3),
           "seconds": round(result.seconds, 1)}
    shown = "" if acc is None else f"  accuracy {acc:.1%}"
    print(f"  {label:<28} loss {row['final_loss']:.4f} = {row['ratio']:.3f} x baseline "
          f"{row['baseline_loss']:.4f}{shown}  {row['seconds']:>6.1f} s", flush=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a fifth of the steps")
    parser.add_argument("--only", default="selective,parity,adding")
    args = parser.parse_args()
    torch.set_num_threads(2)
    scale = 0.2 if args.quick else 1.0

    def cfg(base, **kw):
        return replace(base, steps=max(1, int(base.steps * scale)), **kw)

    rows = []
    if "selective" in args.only:
        print("1. selective copying, T = 64 (chance at the markers: 1/8)")
        rows += [run(cfg(SELECTIVE), "S6 (selective)"),
                 run(cfg(SELECTIVE, cell="lru"), "LRU (time-invariant)")]
    if "parity" in args.only:
        print("2. running parity of 20 bits (chance: 1/2)")
        rows += [run(cfg(PARITY), "tanh RNN"),
                 run(cfg(PARITY, cell="mingru"), "minGRU (transitions in (0, 1))"),
                 run(cfg(PARITY, cell="gru"), "GRU")]
    if "adding" in args.only:
        print("3. adding problem, T = 50")
        rows += [run(cfg(ADDING, cell="mingru"), "minGRU"), run(cfg(ADDING), "GRU")]
    print(json.dumps({"modern_results": rows}))


if __name__ == "__main__":
    main()

"""The classic result, measured: LSTM solves the adding problem, a vanilla tanh RNN does not.

1. Adding problem, T=100: LSTM (H=64, Adam lr 0.01, batch 64, clip 1.0) below 0.1 x baseline
   in 1500 steps; vanilla tanh RNN (lr 0.001) stays above 0.5 x baseline; IRNN (ReLU, identity
   init) alongside.
2. The trainer's time against a bare torch loop doing the same steps (target <= 1.5x).
3. Copy-memory curves per cell (T=100; memoryless baseline 10 ln 8 / 120 = 0.1733).

Run: `.venv/bin/python benchmarks/train_classic.py [--quick]`. Prints a table and a JSON line.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from engine import train as tr  # noqa: E402

ADDING_LSTM = tr.TrainConfig(task="adding", seq_len=100, cell="lstm", hidden=64, steps=1500,
                             batch=64, lr=0.01, clip=1.0, seed=0)


def run(config: tr.TrainConfig, label: str) -> dict:
    result = tr.train(config)
    row = {"label": label, "final_loss": round(result.final_loss, 5),
           "baseline_loss": round(result.baseline_loss, 5),
           "ratio": round(result.final_loss / result.baseline_loss, 4),
           "seconds": round(result.seconds, 1), "stopped": result.stopped,
           "curve": [round(float(np.mean(result.losses[i:i + 100])), 4)
                     for i in range(0, len(result.losses), 100)]}
    print(f"  {label:<34} final {row['final_loss']:.4f}  baseline {row['baseline_loss']:.4f}  "
          f"ratio {row['ratio']:.3f}  {row['seconds']:>6.1f} s", flush=True)
    return row


def bare_loop(config: tr.TrainConfig) -> float:
    """The same steps as tr.train with nothing but torch: the overhead yardstick."""
    config, task, model = tr.build(config)
    opt = torch.optim.Adam(model.parameters(), lr=config.lr)
    rng = np.random.default_rng(config.seed)
    start = time.perf_counter()
    for _ in range(config.steps):
        x, y = task.batch(config.batch, rng)
        opt.zero_grad(set_to_none=True)
        pred, _ = model(torch.from_numpy(x))
        torch.nn.functional.mse_loss(pred, torch.from_numpy(y)).backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), config.clip)
        opt.step()
    return time.perf_counter() - start


def overhead(steps: int) -> dict:
    cfg = replace(ADDING_LSTM, steps=steps)
    tr.train(replace(cfg, steps=2))  # warm up imports and kernels
    bare, ours = [], []
    for _ in range(3):  # interleaved, best of three
        bare.append(bare_loop(cfg))
        ours.append(tr.train(cfg).seconds)
    row = {"steps": steps, "bare_torch_s": round(min(bare), 2), "trainer_s": round(min(ours), 2),
           "ratio": round(min(ours) / min(bare), 3)}
    print(f"  trainer {row['trainer_s']} s vs bare torch loop {row['bare_torch_s']} s for {steps} "
          f"steps: ratio {row['ratio']} (target <= 1.5)", flush=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer steps, for a smoke run")
    args = parser.parse_args()
    steps = 150 if args.quick else 1500
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}")
    print("Adding problem, T=100 (baseline 1/6):")
    adding = [
        run(replace(ADDING_LSTM, steps=steps), "LSTM H=64 Adam lr 0.01 clip 1"),
        run(replace(ADDING_LSTM, cell="rnn", lr=0.001, steps=steps),
            "tanh RNN H=64 Adam lr 0.001 clip 1"),
        run(replace(ADDING_LSTM, cell="rnn", activation="relu", init="identity", lr=0.001,
                    steps=steps), "IRNN H=64 Adam lr 0.001 clip 1"),
    ]
    print("Trainer overhead:")
    over = overhead(30 if args.quick else 300)
    print("Copy memory, T=100 (baseline 0.1733):")
    copy = [run(replace(ADDING_LSTM, task="copy", cell=cell, steps=steps // 3 * 2), f"copy {cell}")
            for cell in ("rnn", "lstm", "gru")]
    lstm, rnn = adding[0], adding[1]
    verdict = {"lstm_below_0.1x": lstm["ratio"] < 0.1, "rnn_above_0.5x": rnn["ratio"] > 0.5,
               "overhead_below_1.5x": over["ratio"] <= 1.5}
    print("Verdict:", verdict)
    print(json.dumps({"adding": adding, "overhead": over, "copy": copy, "verdict": verdict}))


if __name__ == "__main__":
    main()

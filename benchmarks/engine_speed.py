"""Engine speed against torch, measured in one process (ratios, not absolute times).

1. The engine's full trace + exact BPTT against torch.nn.LSTM's fused forward+backward on the
   same weights (float32, torch's fast path; float64 shown too), T=1000, H=128, batch 1.
   Target: engine / torch-fused <= 3.
2. Time and peak memory for T = 100, 1,000, 10,000: both must grow linearly in T.

Run: `make bench` (or `.venv/bin/python benchmarks/engine_speed.py`). Prints a table and a JSON
line with every figure.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from engine import Network  # noqa: E402

H, T, REPEATS = 128, 1000, 9


def median_time(fn, repeats: int = REPEATS) -> float:
    fn()  # warm up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def engine_step(net: Network, x: np.ndarray):
    def run():
        trace = net.run(x)
        return trace.backward(np.ones_like(trace.output))
    return run


def torch_step(module, x: np.ndarray, dtype):
    xt = torch.tensor(x, dtype=dtype)

    def run():
        inp = xt.clone().requires_grad_(True)
        out, _ = module(inp)
        out.sum().backward()
    return run


def compare_with_torch() -> dict:
    torch.manual_seed(0)
    lstm64 = torch.nn.LSTM(1, H, dtype=torch.float64)
    lstm32 = torch.nn.LSTM(1, H)
    lstm32.load_state_dict({k: v.float() for k, v in lstm64.state_dict().items()})
    net = Network.from_torch(lstm64)
    x = np.random.default_rng(0).standard_normal((T, 1, 1))
    out = {}
    default_threads = torch.get_num_threads()
    for threads in sorted({default_threads, 1}, reverse=True):
        torch.set_num_threads(threads)
        # interleave so that machine noise hits every contender alike
        eng, fused, t64 = [], [], []
        for _ in range(3):
            eng.append(median_time(engine_step(net, x), 3))
            fused.append(median_time(torch_step(lstm32, x, torch.float32), 3))
            t64.append(median_time(torch_step(lstm64, x, torch.float64), 1))
        e, f, d = min(eng), min(fused), min(t64)
        out[f"torch_threads_{threads}"] = {
            "engine_ms": round(e * 1e3, 2), "torch_fused_float32_ms": round(f * 1e3, 2),
            "torch_float64_ms": round(d * 1e3, 2), "ratio_vs_fused": round(e / f, 2),
            "ratio_vs_float64": round(e / d, 2)}
    torch.set_num_threads(default_threads)
    return out


def scaling() -> dict:
    rows = {}
    torch.manual_seed(0)
    net = Network.from_torch(torch.nn.LSTM(1, H, dtype=torch.float64))
    for steps in (100, 1000, 10000):
        x = np.random.default_rng(0).standard_normal((steps, 1, 1))
        seconds = median_time(engine_step(net, x), 3 if steps < 10000 else 1)
        tracemalloc.start()
        engine_step(net, x)()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        rows[steps] = {"seconds": round(seconds, 4), "peak_MB": round(peak / 2**20, 2),
                       "us_per_step": round(seconds / steps * 1e6, 1),
                       "peak_KB_per_step": round(peak / steps / 2**10, 2)}
    return rows


def main() -> None:
    print(f"numpy {np.__version__}, torch {torch.__version__}, torch threads "
          f"{torch.get_num_threads()}")
    cmp = compare_with_torch()
    print(f"\nLSTM T={T} H={H} batch 1, forward trace + full BPTT (best of 3 medians):")
    for key, row in cmp.items():
        print(f"  {key}: engine {row['engine_ms']} ms | torch fused fp32 "
              f"{row['torch_fused_float32_ms']} ms (ratio {row['ratio_vs_fused']}x, target <= 3) "
              f"| torch fp64 {row['torch_float64_ms']} ms (ratio {row['ratio_vs_float64']}x)")
    rows = scaling()
    print("\nScaling in T (engine, LSTM H=128):")
    for steps, row in rows.items():
        print(f"  T={steps:>6}: {row['seconds']:.4f} s, {row['us_per_step']} us/step, "
              f"peak {row['peak_MB']} MB, {row['peak_KB_per_step']} KB/step")
    t_ratio = rows[10000]["seconds"] / rows[100]["seconds"]
    m_ratio = rows[10000]["peak_MB"] / rows[100]["peak_MB"]
    print(f"  T x100 -> time x{t_ratio:.0f}, peak memory x{m_ratio:.0f} (linear: ~100)")
    print(json.dumps({"compare": cmp, "scaling": rows}))


if __name__ == "__main__":
    main()

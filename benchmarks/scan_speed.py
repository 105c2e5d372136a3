"""The parallel scans against the loop, in NumPy on this machine (ratios in one process).

``h_t = a_t * h_{t-1} + b_t`` for T = 1,000 and 100,000 steps at H = 64 and 512 channels,
float64, forward only: engine.scan's loop, Hillis-Steele and Blelloch, interleaved, medians.
Figures, not a test. Measured (2 cores, medians of 3): the scans win only where
the channels are few: at H = 1 Hillis-Steele and Blelloch take 0.06-0.23x the loop's time
(T = 1,000 and 100,000), at H = 8 and T = 100,000 0.45-0.64x; from H = 64 up they lose,
1.1-1.4x the loop at T = 1,000, H = 64, up to 5x (Blelloch) and 8x (Hillis-Steele) at
T = 100,000, H = 512. Why: the loop is T dependent NumPy calls of H elements each, ~1-1.5 us
a step of Python overhead, which dominates at small H; a scan is ~log2 T (Hillis-Steele) or
~2 log2 T (Blelloch) calls over the whole (T, H) array, so its cost is its work: 16x the
loop's combines for Hillis-Steele at T = 100,000, 3x for Blelloch (plus strided access),
streamed through memory once the arrays leave the cache. Depth (rounds) is what a scan
saves, and it pays only on hardware that runs a round's combines in parallel (a GPU's
thousands of lanes); NumPy runs each call on one core.

    .venv/bin/python benchmarks/scan_speed.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from engine import scan  # noqa: E402

CASES = [(1_000, 1), (1_000, 64), (1_000, 512), (100_000, 1), (100_000, 8), (100_000, 64),
         (100_000, 512)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    rows = []
    for T, H in CASES:
        a = rng.uniform(0.5, 1.0, (T, H))
        b = rng.normal(size=(T, H))
        times = {m: [] for m in scan.METHODS}
        costs = {}
        for _ in range(args.repeats):
            for method in scan.METHODS:  # interleaved: a noisy moment hits all of them
                t0 = time.perf_counter()
                h, cost = scan.scan(a, b, method=method)
                times[method].append(time.perf_counter() - t0)
                costs[method] = cost
        want = scan.loop(a, b)[0]
        for method in scan.METHODS:
            err = float(np.max(np.abs(scan.scan(a, b, method=method)[0] - want)))
            med = statistics.median(times[method])
            row = {"T": T, "H": H, "method": method, "median_s": round(med, 4),
                   "vs_loop": round(med / statistics.median(times["loop"]), 3),
                   "rounds": costs[method].rounds, "combines": costs[method].combines,
                   "max_abs_diff": err}
            rows.append(row)
            print(f"T={T:>7,} H={H:>3}  {method:13s} {med * 1e3:9.1f} ms  "
                  f"{row['vs_loop']:6.2f}x loop  rounds {row['rounds']:>7,}  "
                  f"combines {row['combines']:>9,}  max |diff| {err:.1e}", flush=True)
    print(json.dumps(rows))


if __name__ == "__main__":
    main()

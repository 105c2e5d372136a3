"""Scene 11 of the guided tour, "A training showdown", measured: what pressing Train does.

The tour promises that on the scene's own Training-lab settings (``app/tour.py``) the LSTM
learns the adding problem (final loss well below 0.2 x the baseline 1/6) while the vanilla
RNN stays at the baseline (above 0.6 x), both runs together within 60 s on 2 cores. This
opens ``?scene=11`` and presses Train through Streamlit's AppTest, so the page builds the job
from its widgets and ``app.training`` trains it exactly as in the browser (one torch thread
per run, the runs one after another), for several seeds (the scene's seed, then others
typed into the lab's Seed box). It prints each run's ratio to the baseline and its seconds
(wall clock), the job's wall and CPU seconds (one thread trains, so on an idle machine
the two agree; the load average says how busy it was), and a JSON line. ``tests/app/test_tour.py``
checks the scene's own seed; this is for the timing and the other seeds, not a timed test.

Run: ``.venv/bin/python benchmarks/tour_showdown.py [--seeds 0 1 2 3 4]``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from streamlit.testing.v1 import AppTest  # noqa: E402

from app import tour  # noqa: E402

MAIN = str(ROOT / "app" / "main.py")
SCENE = next(n for n, sc in enumerate(tour.SCENES, start=1) if sc.page == "train")
LSTM_BELOW, RNN_ABOVE, BUDGET_S = 0.2, 0.6, 60.0  # what the scene's caption rests on


def press_train(seed: int | None = None) -> dict:
    """Open the showdown scene, optionally type another seed, press Train, wait for the end."""
    at = AppTest.from_file(MAIN, default_timeout=600)
    at.query_params["scene"] = str(SCENE)
    at.run()
    at.session_state["train_wait"] = True  # the page joins its training thread (as in tests)
    if seed is not None:
        at.session_state["tr_seed"] = seed
    wall, cpu = time.perf_counter(), time.process_time()
    at.button(key="train_go").click().run()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    if at.exception:
        raise RuntimeError([e.message for e in at.exception])
    job = at.session_state["train_job"]
    runs = {r.label: {"ratio": round(r.result.final_loss / r.result.baseline_loss, 4),
                      "final_loss": round(r.result.final_loss, 5),
                      "seconds": round(r.result.seconds, 1), "steps": len(r.losses)}
            for r in job.runs}
    return {"seed": job.runs[0].config.seed, "runs": runs, "wall_s": round(wall, 1),
            "cpu_s": round(cpu, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="*", default=None,
                        help="seeds to train (default: the scene's, then four more)")
    args = parser.parse_args()
    # AppTest outside `streamlit run`: Streamlit warns about a missing ScriptRunContext
    logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context").disabled = True
    lab = tour.SCENES[SCENE - 1].lab
    seeds = args.seeds if args.seeds else [lab["tr_seed"]] + [
        lab["tr_seed"] + k for k in range(1, 5)]
    print(f"scene {SCENE}, {tour.SCENES[SCENE - 1].title}: "
          + ", ".join(f"{k[3:]}={v}" for k, v in lab.items()), flush=True)
    rows, ok = [], True
    for seed in seeds:
        load = os.getloadavg()[0]
        row = press_train(seed)
        rows.append({**row, "load_before": round(load, 2)})
        r = row["runs"]
        learned = r["LSTM"]["ratio"] < LSTM_BELOW and r["RNN"]["ratio"] > RNN_ABOVE
        # one torch thread trains: on an idle machine the wall time is about the CPU time,
        # so a wall time far above it means others were using the cores
        in_time = row["cpu_s"] <= BUDGET_S
        ok &= learned and in_time
        print(f"  seed {seed:>3}: RNN {r['RNN']['ratio']:.3f} x baseline "
              f"({r['RNN']['seconds']:.1f} s), LSTM {r['LSTM']['ratio']:.3f} x baseline "
              f"({r['LSTM']['seconds']:.1f} s); job {row['wall_s']:.1f} s wall, "
              f"{row['cpu_s']:.1f} s CPU (load {load:.1f})  "
              f"{'as the scene says' if learned else 'NOT AS THE SCENE SAYS'}"
              f"{'' if in_time else ', over the time budget'}", flush=True)
    print(json.dumps({"scene": SCENE, "lab": lab, "rows": rows, "as_the_scene_says": ok}))

if __name__ == "__main__":
    main()

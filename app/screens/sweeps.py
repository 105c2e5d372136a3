"""Sweeps: a grid of trainings read as a phase diagram (where does each cell stop learning
the adding problem?), run in the background, kept in the run store, shared by all."""

from __future__ import annotations

import streamlit as st

from app import runs, sweep_jobs, sweep_state, trained, ui
from app.lab_state import CELL_LABELS, TASK_LABELS
from app.views import sweeps as swv
from app.views import train as tv
from engine.run_record import config_of, to_result
from engine.sweep import AXES, AXIS_LABELS

ss = st.session_state
sweep_state.defaults()


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"


def setup() -> None:
    st.button("Preset: where RNN, IRNN, LSTM and GRU stop learning the adding problem",
              key="sw_preset", on_click=sweep_state.apply_preset)
    c = st.columns([1.3, 1, 1, 1, 1])
    c[0].selectbox("Task", sweep_state.SWEEP_TASKS, key="sw_task", format_func=TASK_LABELS.get)
    c[1].number_input("Seeds per point", 1, 5, key="sw_seeds")
    c[2].number_input("Steps per run", 20, 3000, step=50, key="sw_steps")
    c[3].selectbox("Hidden size", (8, 16, 32, 64, 128), key="sw_hidden",
                   help="Every run's, unless the hidden size is an axis.")
    c[4].number_input("Learning rate", 1e-4, 1.0, format="%g", key="sw_lr",
                      help="Adam's, unless the learning rate is an axis.")
    options = [sweep_state.NONE, *AXES]
    for i in range(3):
        a, b = st.columns([1, 3])
        a.selectbox(f"Axis {i + 1}", options[1:] if i == 0 else options, key=f"sw_axis{i}",
                    format_func=lambda v: AXIS_LABELS.get(v, v))
        b.text_input(f"Values of axis {i + 1}", key=f"sw_values{i}",
                     disabled=ss[f"sw_axis{i}"] == sweep_state.NONE,
                     placeholder="comma-separated, e.g. 10, 25, 50")
    c = st.columns(2)
    c[0].selectbox("Cell (unless an axis)", list(CELL_LABELS), key="sw_cell",
                   format_func=CELL_LABELS.get)
    c[1].number_input("Sequence length T (unless an axis)", 2, 1000, key="sw_T")


def launch() -> None:
    try:
        ss["sw_sweep"] = sweep_jobs.launch(sweep_state.spec())
    except ValueError as exc:
        ss["sw_error"] = str(exc)


def progress(sweep: str) -> None:
    """Progress, Stop and the phase diagram; re-runs itself every 2 s while running."""
    found = sweep_jobs.table(sweep)
    if found is None:
        st.warning("This sweep is not in the run store (it was evicted to keep the store "
                   "within its size, or never ran on this server). Launch it again.")
        return
    spec, cells = found
    job = sweep_jobs.job(sweep)
    done = sum(c.finished for c in cells)
    running = job is not None and job.running
    if running:
        left, right = st.columns([5, 1])
        left.progress(done / spec.size, text=f"{done} of {spec.size} runs finished")
        right.button("Stop", key="sw_stop", on_click=sweep_jobs.stop, args=(sweep,),
                     type="primary", width="stretch")
    elif done < spec.size:
        gone = sum(s == "evicted" for c in cells for s in c.statuses)
        why = (f"{gone} of its runs were dropped from the run store (its size limit)"
               if gone else "the sweep was stopped")
        st.info(f"{done} of {spec.size} runs finished; {why}. Resume goes on where it "
                "stopped (finished runs are not trained again).")
        st.button("Resume", key="sw_resume", on_click=sweep_jobs.launch, args=(spec,))
    if job is not None and job.error:
        st.error(f"The sweep stopped: {job.error}")
    fixed = {}
    if len(spec.axes) == 3:
        name, values = spec.axes[2]
        fixed[name] = st.select_slider(f"Showing {AXIS_LABELS[name]} =", values,
                                       key=f"sw_fixed_{sweep}")
    title = f"{TASK_LABELS[spec.task]}: final loss / baseline, median of {spec.seeds} seed(s)"
    ui.chart(swv.heatmap_figure(spec, cells, fixed, title), key="sweep_map", primary=True,
             code=False)
    if ui.presenting():
        return
    st.caption(swv.SUCCESS_NOTE)
    failed = [(c, k) for c in cells for k, s in zip(c.keys, c.statuses, strict=True)
              if s == "failed"]
    for cell, key in failed[:5]:
        run = runs.store().get(key, touch=False)
        if run is not None:  # (evicted since the table was read)
            st.error(f"{cell.point} failed after {run.attempts} attempts: {run.error}")


def open_run(cells) -> None:
    """One run's curves, and Inspect: its network on the explore pages."""
    finished = [(c, k, seed) for c in cells for seed, (k, s) in
                enumerate(zip(c.keys, c.statuses, strict=True)) if s in ("done", "diverged")]
    if not finished:
        return
    labels = {k: ", ".join(CELL_LABELS.get(v, v) if n == "cell" else f"{AXIS_LABELS[n]} {v}"
                           for n, v in c.point.items()) + f", seed {seed}"
              for c, k, seed in finished}
    key = st.selectbox("Open a run", list(labels), format_func=labels.get, key="sw_open")
    run = runs.store().get(key)
    if run is None:
        return
    result = to_result(run)
    series = [{"label": CELL_LABELS.get(run.config["cell"], run.config["cell"]),
               "color": "#2563eb", "clipped": result.config.clip, "loss": result.losses,
               "before": result.grad_norm_before, "after": result.grad_norm_after,
               "blowup": len(result.losses) if run.status == "diverged" else None}]
    left, right = st.columns(2)
    with left:
        ui.chart(tv.loss_figure(series, result.baseline_loss), key="sw_run_loss")
    with right:
        ui.chart(tv.grad_figure(series), key="sw_run_grad")
    if result.model is not None and st.button("Inspect → Gradients", key="sw_inspect"):
        cfg = config_of(run)
        token = trained.register(trained.entry_for(cfg, result.model, labels[key]), run.key)
        ss["w_weights"] = token
        st.switch_page("screens/gradients.py",
                       query_params={**ui.settings().to_query(), "weights": token})


st.title("Sweeps")
if not ui.presenting():
    st.markdown("Train a grid of runs and read it as a phase diagram: at which sequence "
                "length does the RNN stop learning, and the LSTM? Which learning rate and "
                "clipping threshold work together? Every run is kept in the server's run "
                "store: a run anyone trained before is not trained again, and the sweep's "
                "link reopens it.")
    if notice := ss.pop("sw_notice", None):
        st.warning(notice)
    with st.expander("New sweep", expanded=not ss.get("sw_sweep")):
        setup()
        try:
            spec = ss["sw_spec_now"] = sweep_state.spec()
            seconds = sweep_jobs.estimate_seconds(spec)
            st.caption(f"{spec.size} runs, about {_duration(seconds)} on "
                       f"{sweep_jobs.WORKERS} worker(s) here (runs already stored cost "
                       "nothing).")
        except ValueError as exc:
            spec = None
            st.warning(str(exc))
        st.button("Launch", key="sw_launch", type="primary", on_click=launch,
                  disabled=spec is None)
    if error := ss.pop("sw_error", None):
        st.error(error)
sweep = ss.get("sw_sweep")
if sweep:
    job = sweep_jobs.job(sweep)
    if job is None or not job.running:  # a restart ended it mid-way: it goes on
        sweep_jobs.resume(sweep)
        job = sweep_jobs.job(sweep)
    live = job is not None and job.running
    st.fragment(progress, run_every=2.0 if live else None)(sweep)
    if not ui.presenting() and (found := sweep_jobs.table(sweep)) is not None:
        open_run(found[1])

"""Training lab: train RNN, LSTM and GRU side by side on a classic task and watch them learn.

The page is thin: its widgets (keys ``tr_*``) hold a ``LabSettings`` (``app.lab_state``:
validated, in the URL); Train starts an ``app.training`` job whose runs train side by side
in the background; a fragment that re-runs itself every second draws the live curves (and
tells the runner someone is watching); the panels below come from ``app.lab_panels``.
"""

from __future__ import annotations

import streamlit as st

from app import lab_panels as panels
from app import lab_state, training, ui
from app.lab_state import LabSettings
from app.views import train as tv
from engine.tasks import ALL_TASKS
from engine.train import OPTIMIZERS

ss = st.session_state


def controls(lab: LabSettings, busy: bool) -> None:
    """The setup panel: one widget per ``LabSettings`` field, its value already in ss. While
    a job trains it is locked and folded into one line, so the race fills the screen."""
    box = (st.expander(f"Setup (locked while training): {lab.summary()}") if busy
           else st.container(border=True))
    c = box.columns([1.1, 0.9, 2.3])  # five cell pills need the room of one row
    c[0].selectbox("Task", ALL_TASKS, key="tr_task", format_func=lab_state.TASK_LABELS.get,
                   disabled=busy)
    c[1].slider("Sequence length T", 2, 200, key="tr_T", disabled=busy)
    c[2].pills("Cells to compare", list(lab_state.CELL_LABELS), selection_mode="multi",
               key="tr_cells", format_func=lab_state.CELL_LABELS.get, disabled=busy)
    c[2].checkbox("+ no-clipping run", key="tr_noclip",
                  disabled=busy or lab.clip == "none" or len(lab.cells) >= lab_state.MAX_RUNS,
                  help="Adds a run of the first cell with clipping off (3 runs at most).")
    box.caption(lab_state.TASK_NOTES[lab.task])
    c = box.columns([1, 1, 1.25, 1, 1])
    c[0].select_slider("Hidden size H", lab_state.HIDDENS, key="tr_hidden", disabled=busy)
    c[1].slider("Layers", 1, 3, key="tr_layers", disabled=busy)
    c[2].toggle("Bidirectional", key="tr_bidir", disabled=busy or panels.predicts_next_step(lab),
                help="Not for next-step prediction: the backward pass would see the answer.")
    c[3].selectbox("RNN activation", ("tanh", "relu"), key="tr_act", disabled=busy,
                   help="LSTM and GRU fix their own. ReLU + identity init = IRNN.")
    c[4].selectbox("Init", ("default", "orthogonal", "identity"), key="tr_init",
                   disabled=busy, help="The LRU and S6 keep their own initialisations.")
    c = box.columns(5)
    c[0].selectbox("Optimiser", OPTIMIZERS, key="tr_opt", disabled=busy)
    c[1].select_slider("Learning rate", lab_state.LRS, key="tr_lr", format_func=lambda v: f"{v:g}",
                       disabled=busy)
    c[2].select_slider("Batch", lab_state.BATCHES, key="tr_batch", disabled=busy)
    c[3].number_input("Steps", 1, lab_state.MAX_STEPS, key="tr_steps", disabled=busy,
                      help=f"At most {lab_state.MAX_STEPS} so a page never hangs.")
    c[4].number_input("Seed", 0, 999_999, key="tr_seed", disabled=busy,
                      help="Same seed, same data, same curve.")
    c = box.columns([1.6, 1, 1.2, 1.4])
    c[0].radio("Clipping", ("none", "norm", "value"), key="tr_clip", horizontal=True,
               disabled=busy)
    c[1].number_input("Threshold θ", 0.001, 1e6, key="tr_threshold", format="%g",
                      disabled=busy or lab.clip == "none")
    c[2].slider("Truncated BPTT k", 0, lab.T, key="tr_tbptt",
                disabled=busy or not panels.loss_at_every_step(lab),
                help="Backpropagate k steps at a time (every-step tasks); 0: full BPTT.")
    panels.task_upload(box, c[3], lab, busy)
    panels.stop_conditions(c[3], busy)


def _live() -> None:
    """Progress, Stop, and the live charts; re-runs itself every second while training."""
    job = ss.get("train_job")
    if job is None:
        return
    job.watch()  # the heartbeat: a job nobody looks at stops (app.training)
    if job.running:
        fraction, text = panels.progress(job)
        left, right = st.columns([5, 1])
        left.progress(fraction, text=text)
        right.button("Stop", key="train_stop", on_click=panels.stop, args=(job,), type="primary",
                     width="stretch", help="Stops every run of this job.")
    elif ss.get("train_page_saw_running"):
        ss["train_page_saw_running"] = False
        st.rerun()  # the whole page once, to show the results
    baseline, note = job.baseline()
    series = training.series(job)
    # while training the x axis spans the planned steps (the curves grow into it); after,
    # it spans the steps actually run
    span = max(r.config.steps for r in job.runs) if job.running else None
    left, right = st.columns(2)
    with left:
        # the race itself: presenter view draws it (and only it), for the showdown scene
        ui.chart(tv.loss_figure(series, baseline, note, span), key="train_loss",
                 primary=True, code=False)
    with right:
        ui.chart(tv.grad_figure(series, span), key="train_grad")
    snaps = [{"label": r.label, "color": r.color, "step": r.snapshot_step,
              "norm": r.hidden_norm[0, 0]} for r in job.runs if r.hidden_norm is not None]
    if any(tv.smoothing_window(len(r.losses)) > 1 for r in job.runs):
        st.caption("Faint lines: the loss of each minibatch. Bold: its running mean.")
    if snaps:
        ui.chart(tv.hidden_norm_figure(snaps), key="train_hidden_norm")
        every = job.runs[0].config.snapshot_every
        st.caption("‖∂L/∂h_t‖ from the engine on one training sequence, "
                   f"{'at every step' if every == 1 else f'every {every} steps'}. A steep "
                   "fall towards t = 0 is the vanishing gradient: early steps barely learn.")


def results(job: training.Job) -> None:
    """After a job: one line per run, every early stop explained."""
    panels.stored_note(job)
    for bad, text in training.stop_messages(job):
        (st.error if bad else st.warning)(text)
    st.dataframe(training.result_rows(job), hide_index=True)
    baseline, note = job.baseline()
    if note and any(r.result is not None for r in job.runs):
        st.caption(f"Baseline: {note}.")


def server_note(job: training.Job | None) -> None:
    """Other visitors' trainings, so a wait in line is no surprise."""
    load = training.load(job)
    if load["jobs"] and not (job is not None and job.queued):
        st.caption(f"This server is training {load['runs']} run(s) for other visitors right "
                   f"now; it trains {training.MAX_JOBS} jobs at a time and the next wait "
                   "their turn.")


# --- the page ------------------------------------------------------------------------------
lab_state.read_url_once()  # main.py has done so already where it calls it (a no-op then)
lab, notices = lab_state.current()
job: training.Job | None = ss.get("train_job")
busy = job is not None and job.running
st.title("Training lab")
if not busy:  # while a race runs, its charts get the screen
    st.markdown(
        "Train up to three networks **side by side, on the same data and seed** and watch "
        "them learn: the loss against what a network without memory can do (dashed), the "
        "gradient norm before and after clipping, and how far back the gradient reaches. Try "
        "RNN vs LSTM on the adding problem, or clipping off with a large learning rate.")
ui.show_notices(notices)
controls(lab, busy)
if not busy:  # while training, Stop stands in its place
    st.button("Train", type="primary", key="train_go", on_click=panels.on_train)
if message := ss.pop("train_message", None):  # why the last Train did not train
    st.error(message)
server_note(job)
if job is not None:
    ss["train_page_saw_running"] = job.running
    st.fragment(_live, run_every=1.0 if job.running else None)()
    if not job.running:
        results(job)
if not busy:
    held = panels.models()
    panels.weights_panel(held, panels.lab_config(lab))
    panels.sampling_panel(held, lab)
panels.esn_panel(lab, job)

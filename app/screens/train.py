"""Training lab: train RNN, LSTM and GRU side by side on a classic task and watch them learn.

The page is thin: widgets make a ``TrainConfig``; ``app.training`` trains in a background
thread; a fragment that re-runs itself every second draws the live curves (the rest of the
page stays still); results, weights and samples come from ``engine.train``.
"""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np
import streamlit as st

from app import trained, training, ui
from app.views import train as tv
from engine.esn import fit_esn
from engine.tasks import MAX_TEXT_CHARS, TASKS, make_task, text_task
from engine.train import (
    OPTIMIZERS,
    TrainConfig,
    evaluate,
    load_weights,
    sample_text,
    save_weights,
    to_network,
)

ss = st.session_state
TASK_LABELS = {"adding": "adding problem", "copy": "copy memory", "sine": "next-step sine",
               "running_sum": "running sum 1+1+1", "parity": "parity of bits",
               "chars": "character language model"}
TASK_NOTES = {
    "adding": "Two marked values among T random ones; output their sum at the end (MSE).",
    "copy": "Ten symbols, T - 1 blanks and a delimiter, then ten blanks during which to "
            "repeat the symbols (the sequence is T + 20 long).",
    "sine": "Read a noisy sine; at every step predict its next clean value (MSE).",
    "running_sum": "Bits in; at every step output how many ones so far (divided by T).",
    "parity": "Is the number of ones odd? One answer at the end (cross-entropy).",
    "chars": "Predict the next character of Shakespeare's sonnets, or of your own text.",
}
EVERY_STEP = ("copy", "sine", "running_sum", "chars")  # truncated BPTT applies
NEXT_STEP = ("sine", "chars")  # a backward pass would see the answer: no bidirectional
LRS = (1e-4, 3e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)
BATCHES = (1, 4, 8, 16, 32, 64, 128, 256)
HIDDENS = (4, 8, 16, 32, 64, 128)
ESN_MIN_T = 60  # the washout takes 10 steps: leave a few periods to see
MAX_UPLOAD = 4 * MAX_TEXT_CHARS  # bytes: bigger files are refused before decoding
DEFAULTS = {"tr_task": "adding", "tr_T": 50, "tr_cells": ["rnn", "lstm"], "tr_noclip": False,
            "tr_hidden": 32, "tr_layers": 1, "tr_bidir": False, "tr_act": "tanh",
            "tr_init": "default", "tr_opt": "adam", "tr_lr": 0.01, "tr_batch": 32,
            "tr_steps": 300, "tr_seed": 0, "tr_clip": "norm", "tr_threshold": 1.0,
            "tr_tbptt": 0, "tr_radius": 0.9, "tr_esn_hidden": 100, "tr_temp": 0.8,
            "tr_prompt": "Shall I ", "tr_length": 200}


def _defaults() -> None:
    for key, value in DEFAULTS.items():
        ss.setdefault(key, value)


def _on_text_upload() -> None:
    """Keep the uploaded text (validated at once, and again by the engine when training)."""
    file = ss.get("up_text")
    ss["train_text"], ss["train_text_error"] = None, None
    if file is None:
        return
    data = file.getvalue()
    if len(data) > MAX_UPLOAD:
        ss["train_text_error"] = (f"{file.name} is {len(data):,} bytes; the limit is "
                                  f"{MAX_TEXT_CHARS:,} characters.")
        return
    text = data.decode("utf-8", "replace")
    try:
        text_task(text, int(ss["tr_T"]))
    except ValueError as exc:
        ss["train_text_error"] = f"{file.name}: {exc}"
    ss["train_text"] = text  # kept even when bad: training then stops with the same message


def controls(busy: bool) -> tuple[TrainConfig, list[str], bool]:
    """The setup panel; returns the base config, the cells to compare, and the no-clip extra."""
    box = st.container(border=True)
    c = box.columns([1.3, 1, 1.4, 1])
    task = c[0].selectbox("Task", TASKS, key="tr_task", format_func=TASK_LABELS.get,
                          disabled=busy)
    c[1].slider("Sequence length T", 2, 200, key="tr_T", disabled=busy)
    c[2].multiselect("Cells to compare (up to 3)", list(training.CELL_LABELS), key="tr_cells",
                     format_func=training.CELL_LABELS.get, max_selections=3, disabled=busy)
    c[3].checkbox("+ same cell without clipping", key="tr_noclip",
                  disabled=busy or ss["tr_clip"] == "none",
                  help="Adds a run of the first cell with clipping off (3 runs at most).")
    box.caption(TASK_NOTES[task])
    c = box.columns(5)
    c[0].select_slider("Hidden size H", HIDDENS, key="tr_hidden", disabled=busy)
    c[1].slider("Layers", 1, 3, key="tr_layers", disabled=busy)
    if task in NEXT_STEP:
        ss["tr_bidir"] = False
    c[2].toggle("Bidirectional", key="tr_bidir", disabled=busy or task in NEXT_STEP,
                help="Not for next-step prediction: the backward pass would see the answer.")
    c[3].selectbox("RNN activation", ("tanh", "relu"), key="tr_act", disabled=busy,
                   help="LSTM and GRU fix their own. ReLU + identity init = IRNN.")
    c[4].selectbox("Init", ("default", "orthogonal", "identity"), key="tr_init",
                   disabled=busy)
    c = box.columns(5)
    c[0].selectbox("Optimiser", OPTIMIZERS, key="tr_opt", disabled=busy)
    c[1].select_slider("Learning rate", LRS, key="tr_lr", format_func=lambda v: f"{v:g}",
                       disabled=busy)
    c[2].select_slider("Batch", BATCHES, key="tr_batch", disabled=busy)
    c[3].number_input("Steps", 1, training.MAX_STEPS, key="tr_steps", disabled=busy,
                      help=f"At most {training.MAX_STEPS} so a page never hangs.")
    c[4].number_input("Seed", 0, 999_999, key="tr_seed", disabled=busy,
                      help="Same seed, same data, same curve.")
    c = box.columns(5)
    c[0].radio("Clipping", ("none", "norm", "value"), key="tr_clip", horizontal=True,
               disabled=busy)
    c[1].number_input("Threshold θ", 0.001, 1e6, key="tr_threshold", format="%g",
                      disabled=busy or ss["tr_clip"] == "none")
    c[2].slider("Truncated BPTT k (0 = full)", 0, max(int(ss["tr_T"]), 1), key="tr_tbptt",
                disabled=busy or task not in EVERY_STEP,
                help="Backpropagate k steps at a time (every-step tasks).")
    if task == "chars":
        c[3].file_uploader("Your own text (.txt)", type=["txt"], key="up_text",
                           on_change=_on_text_upload, disabled=busy)
        if ss.get("train_text_error"):
            box.error(ss["train_text_error"])
    clip = None if ss["tr_clip"] == "none" else float(ss["tr_threshold"])
    tbptt = int(ss["tr_tbptt"]) if task in EVERY_STEP and ss["tr_tbptt"] > 0 else None
    steps = training.clamp_steps(ss["tr_steps"])
    text = ss.get("train_text") if task == "chars" else None
    cfg = TrainConfig(task=task, seq_len=int(ss["tr_T"]), cell="lstm",
                      hidden=int(ss["tr_hidden"]), layers=int(ss["tr_layers"]),
                      bidirectional=bool(ss["tr_bidir"]), activation=ss["tr_act"],
                      init=ss["tr_init"], optimizer=ss["tr_opt"], lr=float(ss["tr_lr"]),
                      batch=int(ss["tr_batch"]), steps=steps,
                      clip=clip, clip_mode=ss["tr_clip"] if clip else "norm", tbptt=tbptt,
                      seed=int(ss["tr_seed"]), snapshot_every=max(1, steps // 25), text=text)
    return cfg, list(ss["tr_cells"]), bool(ss["tr_noclip"])


def _series(job: training.Job) -> list[dict]:
    out = []
    for run in job.runs:
        curves = run.curves()
        out.append({"label": run.label, "color": run.color, "clipped": run.config.clip,
                    "blowup": len(curves["loss"]) if run.exploded else None, **curves})
    return out


def _baseline(job: training.Job) -> tuple[float | None, str]:
    for run in job.runs:
        if run.result is not None:
            return run.result.baseline_loss, ""
    cfg = job.runs[0].config
    if cfg.task == "chars":
        return None, ""
    task = make_task(cfg.task, cfg.seq_len)
    return task.baseline_loss, task.baseline_note


def _live() -> None:
    """Progress, Stop, and the live charts; re-runs itself every second while training."""
    job = ss.get("train_job")
    if job is None:
        return
    if job.running:
        current = next((r for r in job.runs if r.state == "training"), job.runs[0])
        done = job.done_steps
        where = ("waiting for a free trainer (others are training)" if job.queued else
                 f"{current.label}: step {len(current.losses)} of {current.config.steps}")
        left, right = st.columns([5, 1])
        left.progress(min(done / max(job.total_steps, 1), 1.0),
                      text=f"Training {where} · {job.elapsed:.1f} s")
        right.button("Stop", key="train_stop", on_click=job.stop.set, type="primary",
                     width="stretch")
    elif ss.get("train_page_saw_running"):
        ss["train_page_saw_running"] = False
        st.rerun()  # the whole page once, to show the results
    baseline, note = _baseline(job)
    series = _series(job)
    # while training the x axis spans the planned steps (the curve grows into it); after,
    # it spans the steps actually run
    span = max(r.config.steps for r in job.runs) if job.running else None
    left, right = st.columns(2)
    with left:
        ui.chart(tv.loss_figure(series, baseline, note, span), key="train_loss")
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
    rows = []
    for run in job.runs:
        res = run.result
        rows.append({"run": run.label, "steps run": len(run.losses),
                     "final loss (fresh batch)": None if res is None else res.final_loss,
                     "baseline": None if res is None else res.baseline_loss,
                     "ratio to baseline": None if res is None or res.baseline_loss == 0
                     else res.final_loss / res.baseline_loss,
                     "seconds": None if res is None else round(res.seconds, 1)})
        if run.stopped:  # the engine's words; its CLI hint becomes the page's control
            why = run.stopped.replace("try --clip 1.0", "turn clipping on or lower the "
                                      "learning rate")
            bad = run.exploded or (run.error and run.state != "skipped")
            (st.error if bad else st.warning)(f"{run.label}: {why}.")
    st.dataframe(rows, hide_index=True)
    if rows and job.runs[0].result is not None and job.runs[0].config.task != "chars":
        st.caption(f"Baseline: {make_task(job.runs[0].config.task, 2).baseline_note}.")


def _models() -> list[tuple[str, TrainConfig, object]]:
    """Every trained or uploaded model this session holds: (label, config, torch model)."""
    out = []
    job = ss.get("train_job")
    if job is not None and not job.running:
        out += [(r.label, r.config, r.result.model) for r in job.runs
                if r.result is not None and not r.exploded]
    if ss.get("train_uploaded"):
        out.append(ss["train_uploaded"])
    return out


def _inspect(label: str, cfg: TrainConfig, model) -> None:
    """Hand the trained network to the explore pages (Gates for gated cells)."""
    task = make_task(cfg.task, cfg.seq_len, noise=cfg.noise, text=cfg.text)
    x = task.batch(1, np.random.default_rng(cfg.seed))[0][:, 0].astype(np.float64)
    token = trained.register(trained.Trained(to_network(model), cfg.task, cfg.seq_len,
                                             cfg.seed, x, label))
    ss["w_weights"] = token  # the sidebar reads it; the URL carries it if widgets reset
    query = {**ui.settings().to_query(), "weights": token}
    st.switch_page("screens/gates.py" if cfg.cell in ("lstm", "gru") else "screens/hidden.py",
                   query_params=query)


def _on_weights_upload() -> None:
    """Keep the uploaded bytes (the panel loads them against the current settings)."""
    file = ss.get("up_weights")
    ss["train_upload_bytes"] = None if file is None else (file.name, file.getvalue())
    ss["train_upload_key"] = None


def weights_panel(models: list, cfg: TrainConfig) -> None:
    st.subheader("Inspect, download, upload")
    if models:
        for i, (label, mcfg, model) in enumerate(models):
            c = st.columns([2, 1.7, 1.1])
            c[0].markdown(f"**{label}** on {TASK_LABELS[mcfg.task]}, T\u00a0=\u00a0"
                          f"{mcfg.seq_len}, H\u00a0=\u00a0{mcfg.hidden}")
            page = "Gates" if mcfg.cell in ("lstm", "gru") else "Hidden state"
            if c[1].button(f"Inspect → {page}", key=f"inspect_{i}",
                           help=f"Open the {page} page with these trained weights."):
                _inspect(label, mcfg, model)
            c[2].download_button("Download weights", save_weights(model, mcfg),
                                 file_name=f"unrolled-{mcfg.task}-{mcfg.cell}-H{mcfg.hidden}.pt",
                                 mime="application/octet-stream", key=f"download_{i}")
    c = st.columns([1, 2])
    ss.setdefault("tr_up_cell", (ss["tr_cells"] or ["lstm"])[0])
    cell = c[0].selectbox("Upload into cell", list(training.CELL_LABELS), key="tr_up_cell",
                          format_func=training.CELL_LABELS.get)
    c[1].file_uploader("Weights file (.pt from Download), for the settings above",
                       type=["pt"], key="up_weights", on_change=_on_weights_upload)
    upload = ss.get("train_upload_bytes")
    if upload is None:
        return
    name, data = upload
    ucfg = replace(cfg, cell=cell)
    if ss.get("train_upload_key") != (name, len(data), ucfg):
        ss["train_upload_key"] = (name, len(data), ucfg)
        ss["train_uploaded"], ss["train_upload_error"] = None, None
        try:
            model = load_weights(data, ucfg)
            ss["train_uploaded"] = (f"uploaded {training.CELL_LABELS[cell]}", ucfg, model)
        except ValueError as exc:
            ss["train_upload_error"] = str(exc)
    if ss.get("train_upload_error"):
        st.error(f"Could not load {name}: {ss['train_upload_error']}. Set the task, T, H, "
                 "layers, direction and the cell here to those it was trained with.")
    elif ss.get("train_uploaded"):
        task = make_task(ucfg.task, ucfg.seq_len, text=ucfg.text)
        loss = ui.run_engine(evaluate, ss["train_uploaded"][2], task, ucfg.seed)
        if loss is not None:
            st.success(f"Loaded {name}: loss {loss:.4g} on a fresh batch of "
                       f"{TASK_LABELS[ucfg.task]} (baseline {task.baseline_loss:.4g}).")


def sampling_panel(models: list) -> None:
    chars = [(label, cfg, model) for label, cfg, model in models if cfg.task == "chars"]
    if not chars:
        return
    st.subheader("Sample from the language model")
    c = st.columns([1, 2, 1, 1])
    pick = c[0].selectbox("Model", range(len(chars)), format_func=lambda i: chars[i][0],
                          key="tr_sample_model")
    c[1].text_input("Prompt", key="tr_prompt", max_chars=200)
    c[2].slider("Temperature", 0.1, 2.0, key="tr_temp", step=0.1,
                help="Low: safe and repetitive. High: adventurous and misspelt.")
    c[3].slider("Characters", 20, 600, key="tr_length", step=20)
    label, cfg, model = chars[pick]
    task = make_task("chars", cfg.seq_len, text=cfg.text)
    text = ui.run_engine(sample_text, model, task, ss["tr_prompt"], int(ss["tr_length"]),
                         float(ss["tr_temp"]), int(ss["tr_seed"]))
    if text is not None:
        st.code(ss["tr_prompt"] + text, language=None, wrap_lines=True)


@st.cache_data(max_entries=16, show_spinner=False)
def _esn(seq_len: int, hidden: int, radius: float, seed: int) -> dict:
    res = fit_esn("sine", seq_len=seq_len, hidden=hidden, spectral_radius=radius, batch=32,
                  seed=seed)
    first = slice(0, None, 32)  # rows are (step, sequence) pairs: sequence 0 of the batch
    return {"test": res.test_loss, "train": res.train_loss, "baseline": res.baseline_loss,
            "pred": res.predictions[first, 0], "target": res.targets[first, 0]}


def esn_panel(job: training.Job | None) -> None:
    with st.expander("Echo state network: a random reservoir, only the read-out trained",
                     expanded=False):
        st.markdown("Jaeger (2001): keep a random tanh RNN fixed with its W_hh scaled to "
                    "spectral radius ρ (below 1: the echo state property, as a rule of "
                    "thumb) and fit only a linear read-out by ridge regression. No "
                    "backpropagation through time at all. Task: next-step sine, "
                    f"T = {max(int(ss['tr_T']), ESN_MIN_T)} (the setup's T, at least "
                    f"{ESN_MIN_T}: the first 10 steps are a washout).")
        c = st.columns(2)
        c[0].slider("Spectral radius ρ", 0.1, 1.5, key="tr_radius", step=0.05)
        c[1].select_slider("Reservoir size", (25, 50, 100, 200), key="tr_esn_hidden")
        T = max(int(ss["tr_T"]), ESN_MIN_T)
        res = ui.run_engine(_esn, T, int(ss["tr_esn_hidden"]), float(ss["tr_radius"]),
                            int(ss["tr_seed"]))
        if res is None:
            return
        m = st.columns(4)
        m[0].metric("ESN test MSE", f"{res['test']:.4g}")
        m[1].metric("Baseline (no memory)", f"{res['baseline']:.4g}")
        sine = [r for r in (job.runs if job and not job.running else [])
                if r.result is not None and r.config.task == "sine"]
        for col, run in zip(m[2:], sine, strict=False):
            col.metric(f"{run.label} trained, final loss", f"{run.result.final_loss:.4g}")
        if not sine:
            m[2].caption("Train on the next-step sine task to compare the trained cells here.")
        ui.chart(tv.esn_figure(res["pred"], res["target"]), key="train_esn")


# --- the page ------------------------------------------------------------------------------
_defaults()
st.title("Training lab")
st.markdown(
    "Train up to three networks **on the same data and seed** and watch them learn: the loss "
    "against what a network without memory can do (dashed), the gradient norm before and "
    "after clipping, and how far back the gradient reaches. Same seed, same curve. "
    "Try RNN vs LSTM on the adding problem, or clipping off with a large learning rate.")
job: training.Job | None = ss.get("train_job")
busy = job is not None and job.running
cfg, cells, noclip = controls(busy)
if st.button("Train", type="primary", disabled=busy, key="train_go"):
    runs = training.variants(cfg, cells, noclip)
    if not runs:
        st.error("Pick at least one cell to train.")
    elif cfg.task == "chars" and ss.get("train_text_error"):
        st.error(f"Not training: {ss['train_text_error']}")
    else:
        job = training.Job(runs)
        ss["train_job"] = job
        training.start(job, wait=bool(ss.get("train_wait")))
        time.sleep(0.05)  # let the first step start so the progress bar has something to say
job = ss.get("train_job")
if job is not None:
    ss["train_page_saw_running"] = job.running
    st.fragment(_live, run_every=1.0 if job.running else None)()
    if not job.running:
        results(job)
if not busy:
    models = _models()
    weights_panel(models, cfg)
    sampling_panel(models)
esn_panel(job)

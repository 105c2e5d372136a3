"""The Training lab's panels below the race: Inspect / download / upload of weights,
sampling from the character model, and the echo state network; plus the Train button's
callback and the text upload. Streamlit code; the numbers come from ``engine`` and
``app.training``, the settings from ``app.lab_state.LabSettings``."""

from __future__ import annotations

from dataclasses import replace

import streamlit as st

from app import lab_state, trained, training, ui
from app.lab_state import ESN_SIZES, TASK_LABELS, LabSettings, from_state
from app.state import GATED
from app.views import train as tv
from engine import datasets
from engine.esn import fit_esn
from engine.tasks import MAX_TEXT_CHARS, make_task, text_task
from engine.train import TrainConfig, evaluate, load_weights, sample_text, save_weights

UPLOAD_MB = 4  # the uploaders' limit (server.maxUploadSize is 5): texts, weights (<= 3.7 MB)
MAX_UPLOAD = 4 * MAX_TEXT_CHARS  # bytes: up to 4 per character in UTF-8; bigger is refused


def _session() -> str | None:
    """This visitor's Streamlit session (a job stops once it is gone and nobody looks)."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    return ctx.session_id if ctx is not None else None


def on_train() -> None:
    """The Train button: a job of the chosen runs, started before the page redraws (so the
    setup is drawn disabled at once); any reason not to train waits in ``train_message``."""
    ss = st.session_state
    ss["train_message"] = None
    lab, _ = from_state(ss)
    cfg = lab_config(lab)
    runs = training.variants(cfg, list(lab.cells), lab.noclip)
    if not runs:
        ss["train_message"] = "Pick at least one cell to train."
    elif lab.task == "chars" and ss.get("train_text_error"):
        ss["train_message"] = f"Not training: {ss['train_text_error']}"
    elif lab.task == "dataset" and (why := data_problem(lab)):
        ss["train_message"] = f"Not training: {why}"
    elif (stored := training.stored_job(runs)) is not None:
        ss["train_job"] = stored  # trained before, with these very settings: at once
    else:
        job = training.Job(runs, session=_session())
        if (twin := training.twin(job)) is not None:
            ss["train_job"] = ss["train_twin"] = twin  # another visitor trains these: watch
            return
        refused = training.start(job, wait=bool(ss.get("train_wait")))
        if refused:
            ss["train_message"] = refused
        else:
            ss["train_job"] = job


def stop_conditions(where, busy: bool) -> None:
    """A target loss and a patience, both off at 0 (engine.train.StopConditions)."""
    with where.popover("Stop conditions", disabled=busy):
        st.number_input("Target loss (0: off)", 0.0, 100.0, key="tr_target", format="%g",
                        help="Stop once the mean loss of the last 50 steps is this low.")
        st.number_input("Patience in steps (0: off)", 0, lab_state.MAX_STEPS,
                        key="tr_patience",
                        help="Stop when that mean has not improved by 0.1% for this many "
                             "steps.")


def progress(job: training.Job) -> tuple[float, str]:
    """The progress bar's fraction and text, saying so when this visitor watches a twin."""
    fraction, text = training.progress(job)
    if st.session_state.get("train_twin") is job:
        text = "Watching the runs another visitor started with exactly these settings. " + text
    return fraction, text


def stop(job: training.Job) -> None:
    """Stop: this visitor's job stops; a twin another visitor started only stops being
    watched here (its owner's runs go on)."""
    ss = st.session_state
    if ss.get("train_twin") is job:
        ss.pop("train_job", None)
        ss.pop("train_twin", None)
    else:
        job.request_stop()


def stored_note(job: training.Job) -> None:
    if job.from_store:
        st.info("These runs were trained before with exactly these settings (same seed, "
                "same code): the run store's result, at once. Change any setting (the seed, "
                "say) to train anew.")


def on_text_upload() -> None:
    """Keep the uploaded text (validated at once, and again by the engine when training)."""
    ss = st.session_state
    file = ss.get("up_text")
    ss["train_text"], ss["train_text_error"] = None, None
    if file is None:
        return
    data = file.getvalue()
    if len(data) > MAX_UPLOAD:
        ss["train_text_error"] = (f"{file.name} is {len(data):,} bytes; the limit is "
                                  f"{MAX_TEXT_CHARS:,} characters ({MAX_UPLOAD:,} bytes).")
        return
    text = data.decode("utf-8", "replace")
    try:
        text_task(text, int(ss["tr_T"]))
    except ValueError as exc:
        ss["train_text_error"] = f"{file.name}: {exc}"
    ss["train_text"] = text  # kept even when bad: training then stops with the same message


def text_uploader(where, busy: bool) -> None:
    where.file_uploader("Your own text (.txt)", type=["txt"], key="up_text",
                        on_change=on_text_upload, disabled=busy, max_upload_size=UPLOAD_MB)


# --- your data --------------------------------------------------------------------------------
DATA_HELP = ("CSV: one row per step, a header naming the columns. A 'seq' column groups rows "
             "into sequences; a 'label' column makes it many-to-one classification (one "
             "whole-number label per sequence); 'target...' columns are predicted from the "
             "others; with neither, every column's next step is predicted. NPY: (T,), (T, F) "
             "or (N, T, F) numbers, next-step prediction.")


def lab_config(lab: LabSettings) -> TrainConfig:
    """The runs' config, with the uploaded text (characters) or data (your data) it needs."""
    ss = st.session_state
    return lab.config(ss.get("train_data") if lab.task == "dataset" else ss.get("train_text"))


def on_data_upload() -> None:
    """Check the upload at once; a rejected file leaves the data accepted before in place."""
    ss = st.session_state
    file = ss.get("up_data")
    ss["train_data_error"] = None
    if file is None:
        return
    try:
        text = datasets.canonical_csv(file.name, file.getvalue())
    except ValueError as exc:
        ss["train_data_error"] = f"{file.name}: {exc}"
        return
    ss["train_data"], ss["train_data_name"] = text, file.name


def data_problem(lab: LabSettings) -> str | None:
    """Why these settings cannot train on the uploaded data, or None."""
    text = st.session_state.get("train_data")
    if not text:
        return "upload your data first (a link cannot carry a file)"
    try:
        task = make_task("dataset", lab.T, text=text)
    except ValueError as exc:
        return str(exc)
    if lab.bidir and task.extra["next_step"]:
        return "bidirectional cannot predict the next step: the reverse pass sees the answer"
    return None


def data_panel(box, where, lab: LabSettings, busy: bool) -> None:
    """The upload, and what the data is (or why it cannot be used at this T)."""
    ss = st.session_state
    where.file_uploader("Your data (.csv, .npy)", type=["csv", "npy", "txt"], key="up_data",
                        on_change=on_data_upload, disabled=busy, max_upload_size=UPLOAD_MB,
                        help=DATA_HELP)
    if ss.get("train_data_error"):
        kept = ss.get("train_data_name")
        box.error(ss["train_data_error"] + (f" (still using {kept})" if kept else ""))
    if not ss.get("train_data"):
        return
    problem = data_problem(lab)
    if problem:
        box.error(f"{ss['train_data_name']}: {problem}")
        return
    task = make_task("dataset", lab.T, text=ss["train_data"])
    d = task.extra["data"]
    what = {"label": f"many-to-one classification into {len(d.classes)} classes",
            "targets": f"regression of {task.output_size} target column(s)",
            "next": "next-step prediction"}[d.kind]
    box.caption(f"{ss['train_data_name']}: {len(d.inputs)} sequence(s), "
                f"{sum(d.lengths):,} steps, {task.input_size} input column(s); {what}. "
                f"Baseline {task.baseline_loss:.4g}: {task.baseline_note}.")


def task_upload(box, where, lab: LabSettings, busy: bool) -> None:
    """The chosen task's upload: your text for the character model, or your data."""
    ss = st.session_state
    if lab.task == "chars":
        text_uploader(where, busy)
        if ss.get("train_text_error"):
            box.error(ss["train_text_error"])
    elif lab.task == "dataset":
        data_panel(box, where, lab, busy)


def predicts_next_step(lab: LabSettings) -> bool:
    """Next-step prediction, where a reverse pass would see the answer."""
    if lab.task != "dataset":
        return lab.task in lab_state.NEXT_STEP
    text = st.session_state.get("train_data")
    return bool(text) and datasets.parsed(text).kind == "next"


def loss_at_every_step(lab: LabSettings) -> bool:
    """Whether truncated BPTT applies (a loss at every step)."""
    if lab.task != "dataset":
        return lab.task in lab_state.EVERY_STEP
    text = st.session_state.get("train_data")
    return bool(text) and datasets.parsed(text).kind != "label"


# --- Inspect, download, upload ---------------------------------------------------------------
def _inspect(label: str, cfg: TrainConfig, model) -> None:
    """Hand the trained network to the explore pages (Gates for gated cells)."""
    kept = training.history(st.session_state.get("train_job"), label)
    token = trained.register(trained.entry_for(cfg, model, label, kept),
                             trained.stored_token(cfg, model))  # kept: survives a restart
    st.session_state["w_weights"] = token  # the sidebar reads it; the URL carries it
    query = {**ui.settings().to_query(), "weights": token}
    st.switch_page("screens/gates.py" if cfg.cell in GATED else "screens/hidden.py",
                   query_params=query)


def _on_weights_upload() -> None:
    """Keep the uploaded bytes (the panel loads them against the current settings)."""
    ss = st.session_state
    file = ss.get("up_weights")
    ss["train_upload_bytes"] = None if file is None else (file.name, file.getvalue())
    ss["train_upload_key"] = None


def models() -> list[tuple[str, TrainConfig, object]]:
    """Every trained or uploaded model this session holds: (label, config, torch model)."""
    ss = st.session_state
    out = training.models(ss.get("train_job"))
    if ss.get("train_uploaded"):
        out.append(ss["train_uploaded"])
    return out


def weights_panel(held: list, cfg: TrainConfig) -> None:
    ss = st.session_state
    st.subheader("Inspect, download, upload")
    for i, (label, mcfg, model) in enumerate(held):
        c = st.columns([2, 1.7, 1.1])
        c[0].markdown(f"**{label}** on {TASK_LABELS[mcfg.task]}, T\u00a0=\u00a0"
                      f"{mcfg.seq_len}, H\u00a0=\u00a0{mcfg.hidden}")
        page = "Gates" if mcfg.cell in GATED else "Hidden state"
        if c[1].button(f"Inspect → {page}", key=f"inspect_{i}",
                       help=f"Open the {page} page with these trained weights; the "
                            "sidebar's Training step then goes back through training."):
            _inspect(label, mcfg, model)
        c[2].download_button("Download weights", save_weights(model, mcfg),
                             file_name=f"unrolled-{mcfg.task}-{mcfg.cell}-H{mcfg.hidden}.pt",
                             mime="application/octet-stream", key=f"download_{i}")
    c = st.columns([1, 2])
    ss.setdefault("tr_up_cell", (ss["tr_cells"] or ["lstm"])[0])
    cell = c[0].selectbox("Upload into cell", list(training.CELL_LABELS), key="tr_up_cell",
                          format_func=training.CELL_LABELS.get)
    c[1].file_uploader("Weights file (.pt from Download), for the settings above",
                       type=["pt"], key="up_weights", on_change=_on_weights_upload,
                       max_upload_size=UPLOAD_MB)
    upload = ss.get("train_upload_bytes")
    if upload is None:
        return
    name, data = upload
    ucfg = replace(cfg, cell=cell)
    if ss.get("train_upload_key") != (name, len(data), ucfg):
        ss["train_upload_key"] = (name, len(data), ucfg)
        ss["train_uploaded"], ss["train_upload_error"] = None, None
        try:
            with training.BUILD_LOCK:  # it builds a model: not while a run builds one
                model = load_weights(data, ucfg)
            ss["train_uploaded"] = (f"uploaded {training.CELL_LABELS[cell]}", ucfg, model)
        except ValueError as exc:
            ss["train_upload_error"] = str(exc)
    if ss.get("train_upload_error"):
        st.error(f"Could not load {name}: {ss['train_upload_error']}. Set the task, T, H, "
                 "layers, direction and the cell here to those it was trained with.")
    elif ss.get("train_uploaded"):
        task = make_task(ucfg.task, ucfg.seq_len, noise=ucfg.noise, text=ucfg.text)
        loss = ui.run_engine(evaluate, ss["train_uploaded"][2], task, ucfg.seed)
        if loss is not None:
            st.success(f"Loaded {name}: loss {loss:.4g} on a fresh batch of "
                       f"{TASK_LABELS[ucfg.task]} (baseline {task.baseline_loss:.4g}).")


def sampling_panel(held: list, lab: LabSettings) -> None:
    chars = [(label, cfg, model) for label, cfg, model in held if cfg.task == "chars"]
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
    task = make_task("chars", cfg.seq_len, noise=cfg.noise, text=cfg.text)
    text = ui.run_engine(sample_text, model, task, lab.prompt, lab.length, lab.temp, lab.seed)
    if text is not None:
        st.code(lab.prompt + text, language=None, wrap_lines=True)


# --- the echo state network ------------------------------------------------------------------
@st.cache_data(max_entries=16, show_spinner=False)
def _esn(seq_len: int, hidden: int, radius: float, seed: int) -> dict:
    res = fit_esn("sine", seq_len=seq_len, hidden=hidden, spectral_radius=radius, batch=32,
                  seed=seed)
    first = slice(0, None, 32)  # rows are (step, sequence) pairs: sequence 0 of the batch
    return {"test": res.test_loss, "train": res.train_loss, "baseline": res.baseline_loss,
            "pred": res.predictions[first, 0], "target": res.targets[first, 0]}


def esn_panel(lab: LabSettings, job: training.Job | None) -> None:
    with st.expander("Echo state network: a random reservoir, only the read-out trained",
                     expanded=False):
        st.markdown("Jaeger (2001): keep a random tanh RNN fixed with its W_hh scaled to "
                    "spectral radius ρ (below 1: the echo state property, as a rule of "
                    "thumb) and fit only a linear read-out by ridge regression. No "
                    "backpropagation through time at all. Task: next-step sine, "
                    f"T = {lab.esn_T} (the setup's T, at least 60: the first 10 steps "
                    "are a washout).")
        c = st.columns(2)
        c[0].slider("Spectral radius ρ", 0.1, 1.5, key="tr_radius", step=0.05)
        c[1].select_slider("Reservoir size", ESN_SIZES, key="tr_esn_hidden")
        res = ui.run_engine(_esn, lab.esn_T, lab.esn_hidden, lab.radius, lab.seed)
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

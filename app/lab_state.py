"""The Training lab's setup as one value: ``LabSettings``, validated, and carried in the URL.

Like ``app.state.Settings`` for the explore pages: ``validated`` accepts loosely typed
(hostile) values and returns clamped settings plus notices; ``to_query`` writes the
non-default fields as ``tr_``-prefixed query params so a lab view can be linked;
``config`` is the ``engine.train.TrainConfig`` the runs start from. The widgets' keys are
the same ``tr_`` names (``tr_T``, ``tr_cells``, ...), so the guided tour can set them too.

Streamlit glue at the bottom: ``read_url_once`` (the session's first run takes the link's
lab setup) and ``query`` (the params to merge into the URL), for ``app/main.py``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace

from app.state import _finite, _show, _to_str
from engine import datasets
from engine.tasks import ALL_TASKS
from engine.train import OPTIMIZERS, TrainConfig

PREFIX = "tr_"  # query params and widget keys
CELL_LABELS = {"rnn": "RNN", "lstm": "LSTM", "gru": "GRU", "mingru": "minGRU",
               "minlstm": "minLSTM", "lru": "LRU",
               "s6": "S6"}
MAX_RUNS = 3
MAX_STEPS = 5000  # a page never trains longer than this
TASK_LABELS = {"adding": "adding problem", "copy": "copy memory",
               "selective_copy": "selective copying", "sine": "next-step sine",
               "running_sum": "running sum 1+1+1", "parity": "parity of bits",
               "running_parity": "running parity (state tracking)",
               "chars": "character language model", "dataset": "your data (CSV / NPY)"}
TASK_NOTES = {
    "adding": "Two marked values among T random ones; output their sum at the end (MSE).",
    "copy": "Ten symbols, T - 1 blanks and a delimiter, then ten blanks during which to "
            "repeat the symbols (the sequence is T + 20 long).",
    "selective_copy": "Four symbols of eight at random places among blanks, then four "
                      "markers at which to repeat them in order (Mamba's selective copying). "
                      "Where they sit changes every sequence: the memory must choose.",
    "sine": "Read a noisy sine; at every step predict its next clean value (MSE).",
    "running_sum": "Bits in; at every step output how many ones so far (divided by T).",
    "parity": "Is the number of ones odd? One answer at the end (cross-entropy).",
    "running_parity": "Bits in; at every step, is the number of ones so far odd? Each 1 "
                      "flips the answer: a tanh RNN can, minGRU's (1 − z) in (0, 1) cannot.",
    "chars": "Predict the next character of Shakespeare's sonnets, or of your own text.",
    "dataset": "Train on your own sequences: upload a CSV or NPY (the last fifth is held out "
               "for validation; the loss and the baseline are on it).",
}
EVERY_STEP = ("copy", "selective_copy", "sine", "running_sum", "running_parity",
              "chars")  # truncated BPTT applies
NEXT_STEP = ("sine", "chars")  # a backward pass would see the answer: no bidirectional
LRS = (1e-4, 3e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)
BATCHES = (1, 4, 8, 16, 32, 64, 128, 256)
HIDDENS = (4, 8, 16, 32, 64, 128)
ESN_SIZES = (25, 50, 100, 200)
ESN_MIN_T = 60  # the washout takes 10 steps: leave a few periods to see
MAX_PROMPT = 200

# field -> what it accepts (the widget's own range, so a clamped value is always drawable)
CHOICES = {"task": ALL_TASKS, "act": ("tanh", "relu"),
           "init": ("default", "orthogonal", "identity"), "opt": OPTIMIZERS,
           "clip": ("none", "norm", "value")}
INTS = {"T": (2, 200), "layers": (1, 3), "steps": (1, MAX_STEPS), "seed": (0, 999_999),
        "tbptt": (0, 200), "patience": (0, MAX_STEPS)}
GRIDS = {"hidden": HIDDENS, "batch": BATCHES, "esn_hidden": ESN_SIZES, "lr": LRS}
FLOATS = {"threshold": (0.001, 1e6, None), "target": (0.0, 100.0, None),
          "radius": (0.1, 1.5, 0.05), "temp": (0.1, 2.0, 0.1),
          "length": (20, 600, 20)}  # (low, high, slider step or None)


@dataclass(frozen=True)
class LabSettings:
    """Every control of the Training lab. Defaults: RNN against LSTM on the adding problem,
    a race that tells its story in about 30 s on 2 cores (the LSTM falls far below the
    baseline after ~500 steps, the RNN stays near it; numbers in tests/app/test_lab_race.py)."""

    task: str = "adding"
    T: int = 30
    cells: tuple[str, ...] = ("rnn", "lstm")
    noclip: bool = False  # + the first cell again without clipping
    hidden: int = 32
    layers: int = 1
    bidir: bool = False
    act: str = "tanh"
    init: str = "default"
    opt: str = "adam"
    lr: float = 0.01
    batch: int = 32
    steps: int = 1000
    seed: int = 0
    clip: str = "norm"
    threshold: float = 1.0
    tbptt: int = 0  # 0: full BPTT
    target: float = 0.0  # stop at this mean loss (0: off)
    patience: int = 0  # stop after this many steps without improvement (0: off)
    radius: float = 0.9  # echo state network
    esn_hidden: int = 100
    temp: float = 0.8  # sampling from the character model
    prompt: str = "Shall I "
    length: int = 200

    # --- what the engine gets --------------------------------------------------------------
    @property
    def clip_threshold(self) -> float | None:
        return None if self.clip == "none" else float(self.threshold)

    @property
    def window(self) -> int | None:
        """The truncated-BPTT window (every-step tasks only), None for full BPTT."""
        every = self.task in EVERY_STEP or self.task == "dataset"  # your data: unless labelled
        return self.tbptt if every and self.tbptt > 0 else None

    def config(self, text: str | None = None) -> TrainConfig:
        """The runs' shared config (each run replaces the cell); ``text``: an uploaded text
        for the character model (it never travels in the URL)."""
        clip = self.clip_threshold
        window = self.window
        if self.task == "dataset" and (not text or datasets.parsed(text).kind == "label"):
            window = None  # one loss at the end: nothing to truncate
        return TrainConfig(task=self.task, seq_len=self.T, cell=(self.cells or ("lstm",))[0],
                           hidden=self.hidden, layers=self.layers, bidirectional=self.bidir,
                           activation=self.act, init=self.init, optimizer=self.opt,
                           lr=float(self.lr), batch=self.batch, steps=self.steps, clip=clip,
                           clip_mode=self.clip if clip else "norm", tbptt=window,
                           seed=self.seed, snapshot_every=max(1, self.steps // 25),
                           checkpoint_every=max(1, self.steps // 20),
                           text=text if self.task in ("chars", "dataset") else None,
                           target_loss=self.target or None, patience=self.patience or None)

    def summary(self) -> str:
        """One line that says what the runs are: the locked setup's label while training."""
        cells = " vs ".join(CELL_LABELS[c] for c in self.cells) or "no cell"
        clip = "no clipping" if self.clip == "none" else f"clip {self.clip} {self.threshold:g}"
        return (f"{cells} on the {TASK_LABELS[self.task]}: T = {self.T}, H = {self.hidden}"
                f"{f' x {self.layers} layers' if self.layers > 1 else ''}, {self.opt} lr "
                f"{self.lr:g}, batch {self.batch}, {self.steps} steps, seed {self.seed}, {clip}")

    @property
    def esn_T(self) -> int:
        return max(self.T, ESN_MIN_T)

    # --- widgets and the URL ---------------------------------------------------------------
    def widget_values(self) -> dict:
        """``tr_`` widget key -> value as the widget holds it (a list for the multiselect)."""
        return {PREFIX + f.name: (list(v) if isinstance(v := getattr(self, f.name), tuple)
                                  else v) for f in fields(self)}

    def to_query(self) -> dict[str, str]:
        """The non-default fields as ``tr_`` params: a short, shareable URL."""
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value != f.default:
                out[PREFIX + f.name] = (",".join(value) if isinstance(value, tuple)
                                        else _to_str(value))
        return out

    @classmethod
    def from_query(cls, params) -> tuple[LabSettings, list[str]]:
        """From query params (``tr_`` keys; others ignored), clamped, with notices."""
        raw = {k[len(PREFIX):]: params[k] for k in params if str(k).startswith(PREFIX)}
        return cls.validated(raw, prefix=PREFIX)

    # --- validation ------------------------------------------------------------------------
    @classmethod
    def validated(cls, raw: dict, prefix: str = PREFIX) -> tuple[LabSettings, list[str]]:
        """Settings from loosely typed values (query strings, widget values), clamped.

        Unknown keys are ignored; each bad value is replaced and explained in a notice that
        names it as the URL does (``prefix`` + field).
        """
        notices: list[str] = []
        values = {}
        for f in fields(cls):
            if f.name not in raw or raw[f.name] is None:
                continue
            value = raw[f.name]
            if isinstance(value, list) and f.name != "cells":  # repeated params: the last
                value = value[-1] if value else f.default
            values[f.name] = _coerce(f.name, prefix + f.name, value, f.default, notices)
        s = cls(**values)
        if s.tbptt > s.T:
            notices.append(f"Truncated BPTT k = {s.tbptt} is longer than T = {s.T}; "
                           f"using {s.T}.")
            s = replace(s, tbptt=s.T)
        if s.bidir and s.task in NEXT_STEP:
            notices.append(f"Bidirectional is off for the {TASK_LABELS[s.task]}: the backward "
                           "pass would see the answer.")
            s = replace(s, bidir=False)
        return s, notices


DEFAULTS = LabSettings()


def _nearest(grid: tuple, number: float, log: bool):
    key = (lambda g: abs(math.log(g) - math.log(number))) if log and number > 0 else (
        lambda g: abs(g - number))
    return min(grid, key=key)


def _coerce(name: str, shown: str, value, default, notices: list[str]):
    """One field: parse, clamp, and explain any change (``shown``: its URL name)."""
    if name == "cells":
        text = ",".join(map(str, value)) if isinstance(value, list | tuple) else str(value)
        cells = tuple(dict.fromkeys(p.strip() for p in text.split(",") if p.strip()))
        good = tuple(c for c in cells if c in CELL_LABELS)
        if good != cells:
            notices.append(f"{shown}={_show(','.join(cells))}: cells are "
                           f"{', '.join(CELL_LABELS)}; using {','.join(good) or 'none'}.")
        if len(good) > MAX_RUNS:
            notices.append(f"{shown}: at most {MAX_RUNS} cells; using "
                           f"{','.join(good[:MAX_RUNS])}.")
        return good[:MAX_RUNS]
    if isinstance(default, bool):
        text = str(value).strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off", ""):
            return False
        notices.append(f"{shown}={_show(value)} is not on/off; using {_to_str(default)}.")
        return default
    if name in CHOICES:
        text = str(value).strip()
        if text not in CHOICES[name]:
            notices.append(f"{shown}={_show(value)} is not one of {', '.join(CHOICES[name])}; "
                           f"using {default}.")
            return default
        return text
    if isinstance(default, str):  # the prompt
        text = str(value)
        if len(text) > MAX_PROMPT:
            notices.append(f"{shown} is {len(text)} characters long; keeping the first "
                           f"{MAX_PROMPT}.")
        return text[:MAX_PROMPT]
    number = _finite(value)
    if number is None:
        notices.append(f"{shown}={_show(value)} is not a number; using {default:g}.")
        return default
    if name in GRIDS:
        grid = GRIDS[name]
        near = _nearest(grid, number, log=name == "lr")
        if not math.isclose(near, number, rel_tol=1e-9):
            notices.append(f"{shown}={_show(value)} is not one of "
                           f"{', '.join(f'{g:g}' for g in grid)}; using {near:g}.")
        return near
    if name in INTS:
        low, high = INTS[name]
        clamped = int(min(max(round(number), low), high))
        if clamped != number:
            notices.append(f"{shown}={_show(value)} is outside {low}..{high}; using {clamped}.")
        return clamped
    low, high, step = FLOATS[name]
    clamped = min(max(number, low), high)
    if step is not None:  # on the slider's grid
        clamped = min(max(round(low + round((clamped - low) / step) * step, 6), low), high)
    if not math.isclose(clamped, number, rel_tol=1e-9, abs_tol=1e-12):
        where = f"outside {low:g}..{high:g}" if not low <= number <= high else (
            f"not a multiple of {step:g}")
        notices.append(f"{shown}={_show(value)} is {where}; using {clamped:g}.")
    return type(default)(clamped)


# --- Streamlit glue: the URL is read once per session; main.py merges query() into it -------
URL_READ = "lab_url_read"  # session flag: this session has read its link's lab setup
URL_NOTICES = "lab_url_notices"  # (notices, settings) from the link, shown while unchanged


def read_url_once() -> None:
    """On a session's first run: the link's ``tr_`` params become the lab's widget values.

    ``app/main.py`` calls this before it writes the URL; the lab page calls it too (a no-op
    by then). Hostile values are clamped; the notices wait for the lab page.
    """
    import streamlit as st

    ss = st.session_state
    if ss.get(URL_READ):
        return
    ss[URL_READ] = True
    params = {k: st.query_params.get_all(k) for k in st.query_params
              if str(k).startswith(PREFIX)}
    if not params:
        return
    s, notices = LabSettings.from_query(params)
    ss.update(s.widget_values())
    ss[URL_NOTICES] = (notices, s)


def from_state(ss) -> tuple[LabSettings, list[str]]:
    """The lab's settings from the widgets' session state (defaults for any missing)."""
    raw = {k[len(PREFIX):]: ss[k] for k in list(ss.keys()) if str(k).startswith(PREFIX)}
    return LabSettings.validated(raw)


def query() -> dict[str, str]:
    """The lab's non-default setup as ``tr_`` params, for main.py to merge into the URL."""
    import streamlit as st

    return from_state(st.session_state)[0].to_query()


def current() -> tuple[LabSettings, list[str]]:
    """This run's lab settings. Missing widget values get their defaults and clamped ones
    are written back before the widgets are drawn, so the widgets show the settings."""
    import streamlit as st

    ss = st.session_state
    s, notices = from_state(ss)
    for key, value in s.widget_values().items():
        if key not in ss or ss[key] != value:
            ss[key] = value
    url_notices, url_settings = ss.get(URL_NOTICES) or ((), None)
    if url_notices and url_settings != s:  # the visitor has moved on from the link's view
        ss[URL_NOTICES] = None
        url_notices = ()
    return s, [*url_notices, *notices]

"""The one value that says what the user chose: ``Settings``, validated and URL-shareable.

Everything a page draws follows from a ``Settings``; ``from_query`` accepts any (hostile)
query-param dict and returns clamped values plus human-readable notices, and ``to_query``
writes the non-default fields back so a link reproduces the view.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, fields, replace

from engine import ACTIVATIONS, CELLS, INITS, Intervention
from engine import interventions as iv_engine
from engine.lru_recipe import NEEDS, SWITCHES
from engine.signals import ENCODINGS, LOSS_WHERE, SIGNALS

GATED = tuple(name for name, cell in CELLS.items() if cell.gate_names)
DIAGONAL = tuple(name for name, cell in CELLS.items() if cell.diagonal)  # no W_hh
OWN_INIT = tuple(name for name, cell in CELLS.items() if hasattr(cell, "init_params"))
SHORT_NAMES = {"jordan": "Jordan", "indrnn": "IndRNN", "mingru": "minGRU", "minlstm": "minLSTM",
               "s6": "S6"}


def cell_name(cell: str) -> str:
    """A cell's short name in titles and legends: RNN, LSTM, GRU, Jordan, IndRNN, minGRU."""
    return SHORT_NAMES.get(cell, cell.upper())
ARCHS = ("one-to-one", "one-to-many", "many-to-one", "many-to-many")
SCAN_METHODS = ("blelloch", "hillis_steele")  # the Parallel scan page's two scans
CLIPS = ("none", "norm", "value")
MAX_TEXT = 500  # characters of typed text that travel in the URL
MAX_SEQ = 8000  # characters of a typed or uploaded sequence
SCENE_COUNT = 15  # the guided tour's scenes (app/tour.py; tests/app/test_tour.py checks)

# field -> (low, high) for numbers, or the allowed choices for strings
INT_RANGES = {"hidden": (1, 256), "layers": (1, 4), "T": (1, 1000), "seed": (0, 999_999),
              "truncate": (0, 1000), "layer": (0, 3), "scene": (0, SCENE_COUNT),
              "vh": (0, 4000)}
FLOAT_RANGES = {"gain": (0.01, 10.0), "radius": (0.0, 10.0), "threshold": (0.001, 1e6)}
RADIUS_MIN = 0.01  # the smallest spectral radius the slider offers (0 = not rescaled)
CHOICES = {"cell": tuple(CELLS), "act": tuple(ACTIVATIONS), "init": tuple(INITS),
           "signal": SIGNALS, "encoding": ENCODINGS, "loss": LOSS_WHERE, "clip": CLIPS,
           "arch": ARCHS, "scan": SCAN_METHODS}
# a trained network's token (hex), and after a dot the training step of its history
WEIGHTS_TOKEN = re.compile(r"([0-9a-f]+(\.[0-9]{1,7})?)?")
TEXT_LIMITS = {"text": MAX_TEXT, "seq": MAX_SEQ, "units": 60, "weights": 32, "iv": 80}
# an intervention in the URL: kind@t, then u=unit (none: every unit), v=value, g=gate,
# l=layer, e.g. "clamp@10,u=3,v=0", "gate@20,g=f,v=1", "zero_input@5"
IV_PATTERN = re.compile(r"(?P<kind>[a-z_]+)@(?P<step>\d{1,4})"
                        r"(?P<rest>(,[ugvl]=[-+0-9.eA-Za-z]{1,12})*)")
# fields that do not change what the engine computes
PAGE_ONLY = ("arch", "layer", "units", "scene", "present", "vh", "scan", "recipe")


@dataclass(frozen=True)
class Settings:
    """Every control of the app. Defaults are the first view a visitor sees."""

    cell: str = "rnn"
    act: str = "tanh"
    hidden: int = 32
    layers: int = 1
    bidir: bool = False
    T: int = 50
    init: str = "default"
    gain: float = 1.0
    radius: float = 0.0  # 0: weights as initialised; > 0: W_hh rescaled to this radius
    seed: int = 0
    signal: str = "sine"
    text: str = "hello world"
    encoding: str = "onehot"
    seq: str = "0\n1\n0.5\n-1"
    loss: str = "last"
    clip: str = "none"
    threshold: float = 1.0
    truncate: int = 0  # 0: full BPTT; k: backpropagate k steps
    arch: str = "many-to-many"
    layer: int = 0  # which layer the hidden/gate/gradient views show
    units: str = "0,1,2"  # units drawn as lines on the hidden-state page
    weights: str = ""  # token of a trained network from the Training lab ("" = build one)
    scene: int = 0  # guided-tour scene, 1..SCENE_COUNT (0: no tour)
    present: bool = False  # presenter view: big type, no sidebar, one chart filling the screen
    vh: int = 0  # the browser's viewport height in px, measured once in presenter view
    scan: str = "blelloch"  # the Parallel scan page's scan
    recipe: str = ""  # the Elman-to-LRU page's switches that are on, e.g. "linear,diagonal"
    iv: str = ""  # an intervention (IV_PATTERN), "" for none: every explore page shows it

    # --- derived -----------------------------------------------------------------------
    @property
    def uses_activation(self) -> bool:
        """Whether φ means anything for the cell (not for gated cells, the LRU or S6)."""
        return self.cell not in GATED and CELLS[self.cell].uses_activation

    @property
    def activation(self) -> str:
        """The activation the engine gets (gated cells fix their own)."""
        return self.act if self.uses_activation else "tanh"

    @property
    def init_scheme(self) -> str:
        """The initialisation the engine gets (the LRU has its own ring initialisation)."""
        return "default" if self.cell in OWN_INIT else self.init

    @property
    def spectral_radius(self) -> float | None:
        """The radius W_hh is rescaled to; None where it is not (0) or there is no W_hh."""
        return self.radius if self.radius > 0 and self.cell not in DIAGONAL else None

    @property
    def window(self) -> int | None:
        """The truncated-BPTT window, None for full BPTT."""
        return self.truncate if 0 < self.truncate < self.T else None

    def physics(self) -> Settings:
        """The same settings with page-only fields at their defaults: the cache key."""
        return replace(self, **{k: getattr(DEFAULTS, k) for k in PAGE_ONLY})

    def recipe_switches(self) -> tuple[str, ...]:
        """The Elman-to-LRU switches that are on, in the recipe's order."""
        on = set(self.recipe.split(",")) if self.recipe else set()
        return tuple(k for k in SWITCHES if k in on)

    def interventions(self) -> tuple[Intervention, ...]:
        """The intervention ``iv`` names, as the engine takes it (``validated`` checked it)."""
        iv = parse_intervention(self.iv)
        return () if iv is None else (iv,)

    def chosen_units(self) -> list[int]:
        """The unit indices of ``units`` that exist (at most 8)."""
        out = []
        for part in self.units.replace(" ", ",").split(","):
            if part.isdigit() and int(part) < self.hidden and int(part) not in out:
                out.append(int(part))
        return out[:8] or [0]

    # --- validation ----------------------------------------------------------------------
    @classmethod
    def validated(cls, raw: dict) -> tuple[Settings, list[str]]:
        """Settings from loosely typed values (query strings, widget values), clamped.

        Unknown keys are ignored; each bad value is replaced and explained in a notice.
        """
        notices: list[str] = []
        values = {}
        for f in fields(cls):
            name, default = f.name, f.default
            if name not in raw or raw[name] is None:
                continue
            value = raw[name]
            if isinstance(value, list):  # repeated query params: keep the last
                value = value[-1] if value else default
            values[name] = _coerce(name, value, default, notices)
        s = cls(**values)
        if s.layer >= s.layers:
            notices.append(f"layer {s.layer} does not exist with {s.layers} layer(s); "
                           f"showing layer {s.layers - 1}.")
            s = replace(s, layer=s.layers - 1)
        if s.iv:
            problem = intervention_problem(s)
            if problem:
                notices.append(f"The intervention {_show(s.iv)} is left out: {problem}.")
                s = replace(s, iv="")
        return s, notices

    @classmethod
    def from_query(cls, params) -> tuple[Settings, list[str]]:
        """From ``st.query_params`` (or any mapping of strings)."""
        raw = {k: params[k] for k in params}
        return cls.validated(raw)

    def to_query(self) -> dict[str, str]:
        """The non-default fields as strings: a short, shareable URL."""
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value != f.default:
                out[f.name] = _to_str(value)
        return out


DEFAULTS = Settings()


def parse_intervention(text: str) -> Intervention | None:
    """``iv`` as an Intervention, None for "" or text that is not one (IV_PATTERN)."""
    match = IV_PATTERN.fullmatch(text or "")
    if match is None:
        return None
    parts = dict(p.split("=") for p in match["rest"].split(",") if p)
    try:
        unit = int(parts["u"]) if "u" in parts else None
        value = float(parts.get("v", 0.0))
        layer = int(parts.get("l", 0))
    except ValueError:
        return None
    return Intervention(match["kind"], int(match["step"]), unit=unit, value=value,
                        gate=parts.get("g"), layer=layer)


def format_intervention(iv: Intervention) -> str:
    """The inverse of ``parse_intervention``: the shortest ``iv`` text that names it."""
    text = f"{iv.kind}@{iv.step}"
    if iv.kind == "gate":
        text += f",g={iv.gate}"
    if iv.unit is not None and iv.kind != "zero_input":
        text += f",u={iv.unit}"
    if iv.kind != "zero_input":
        text += f",v={iv.value:g}"
    return text + (f",l={iv.layer}" if iv.layer else "")


def intervention_problem(s: Settings) -> str:
    """Why ``s.iv`` cannot run on the settings' network ("" when it can)."""
    iv = parse_intervention(s.iv)
    if iv is None:
        return ("it is not kind@step with u=, v=, g=, l= (e.g. clamp@10,u=3,v=0); kinds: "
                + ", ".join(iv_engine.KINDS))
    try:
        iv_engine.check([iv], s.cell, s.hidden, s.layers, s.T)
    except ValueError as exc:
        return str(exc)
    return ""


def _show(value) -> str:
    """A hostile value, cut short and quoted, safe to show in a notice."""
    text = repr(str(value))
    return text if len(text) <= 30 else text[:27] + "...'"


def _to_str(value) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _finite(value) -> float | None:
    """The value as a finite float, or None (text, NaN, inf)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _coerce(name: str, value, default, notices: list[str]):
    """One field: parse, clamp, and explain any change."""
    if isinstance(default, bool):
        text = str(value).strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off", ""):
            return False
        notices.append(f"{name}={_show(value)} is not on/off; using {_to_str(default)}.")
        return default
    if name in INT_RANGES:
        low, high = INT_RANGES[name]
        number = _finite(value)
        if number is None:
            notices.append(f"{name}={_show(value)} is not a number; using {default}.")
            return default
        clamped = int(min(max(round(number), low), high))
        if clamped != number:
            notices.append(f"{name}={_show(value)} is outside {low}..{high}; using {clamped}.")
        return clamped
    if name in FLOAT_RANGES:
        low, high = FLOAT_RANGES[name]
        number = _finite(value)
        if number is None:
            notices.append(f"{name}={_show(value)} is not a number; using {default:g}.")
            return default
        clamped = float(min(max(number, low), high))
        if name == "radius" and 0 < clamped < RADIUS_MIN:  # 0 means "off"; the slider starts here
            clamped = RADIUS_MIN
        if clamped != number:
            notices.append(f"{name}={_show(value)} is outside {low:g}..{high:g}; "
                           f"using {clamped:g}.")
        return clamped
    if name in CHOICES:
        text = str(value).strip()
        if text not in CHOICES[name]:
            notices.append(f"{name}={_show(value)} is not one of {', '.join(CHOICES[name])}; "
                           f"using {default}.")
            return default
        return text
    if name == "recipe":
        return _recipe(value, notices)
    text = str(value)
    if name == "weights" and not WEIGHTS_TOKEN.fullmatch(text):
        notices.append(f"weights={_show(value)} is not a trained-weights token; ignoring it.")
        return default
    limit = TEXT_LIMITS[name]
    if len(text) > limit:
        notices.append(f"{name} is {len(text)} characters long; keeping the first {limit}.")
        text = text[:limit]
    return text


def _recipe(value, notices: list[str]) -> str:
    """Known switches only, in the recipe's order, each with the ones it needs."""
    asked = [k.strip() for k in str(value)[:200].split(",") if k.strip()]
    unknown = [k for k in asked if k not in SWITCHES]
    if unknown:
        notices.append(f"recipe: {_show(','.join(unknown))} is not one of "
                       f"{', '.join(SWITCHES)}; leaving it out.")
    on = {k for k in asked if k in SWITCHES}
    for k in list(on):
        while k in NEEDS:  # a switch brings the ones it needs
            k = NEEDS[k]
            on.add(k)
    return ",".join(k for k in SWITCHES if k in on)


# --- Streamlit glue: the URL is read once per session and written on every run ------------
def initial_from_url() -> tuple[Settings, list[str]]:
    """The settings a fresh session opens with: the URL's, clamped, with notices."""
    import streamlit as st

    return Settings.from_query(st.query_params)


def write_url(s: Settings, extra: dict[str, str] | None = None) -> None:
    """Mirror the settings (and ``extra`` params: the lab's setup) into the address bar, only
    when they changed: no extra traffic."""
    import streamlit as st

    want = {**s.to_query(), **(extra or {})}
    have = {k: st.query_params[k] for k in st.query_params}
    if have != want:
        st.query_params.from_dict(want)

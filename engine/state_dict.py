"""A network out of any PyTorch state_dict: a torch.nn.RNN, LSTM or GRU, alone or inside a
bigger module (keys like ``encoder.lstm.weight_ih_l0``), read from its keys and shapes.

``find(sd)`` lists the recurrent modules a state_dict holds (``Found``: where, which cell,
its sizes, and a linear read-out beside it whose shape fits); ``network(sd, prefix,
nonlinearity)`` builds the engine's ``Network`` of one of them. What the shapes cannot tell,
an RNN's tanh or ReLU, the caller says; with several recurrent modules the caller picks one
by ``prefix``. ``load(data)`` reads uploaded bytes safely (``weights_only``, a size limit)
and refuses TorchScript archives and pickled modules, saying how to save a state_dict.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from .limits import MAX_HIDDEN, MAX_INPUT, MAX_LAYERS

KEY = re.compile(r"^(?:(?P<prefix>.+)\.)?(?P<name>weight_ih|weight_hh|bias_ih|bias_hh|"
                 r"weight_hr)_l(?P<layer>\d+)(?P<reverse>_reverse)?$")
CELL_OF_BLOCKS = {1: "rnn", 3: "gru", 4: "lstm"}  # gate blocks stacked in weight_hh's rows
MAX_BYTES = 4 * 2**20  # the file
MAX_LOADED_BYTES = 64 * 2**20  # what it unpacks to, and its numbers in float64
SAVE_HINT = "save the weights instead: torch.save(model.state_dict(), 'model.pt')"


@dataclass(frozen=True)
class Found:
    """One recurrent module in a state_dict."""

    prefix: str  # "" at the top level, else e.g. "encoder.lstm"
    cell: str  # rnn, lstm or gru
    input_size: int
    hidden_size: int
    num_layers: int
    bidirectional: bool
    bias: bool
    readout: str | None  # the prefix of a linear layer beside it that reads its output

    @property
    def label(self) -> str:
        where = self.prefix or "top level"
        shape = (f"{self.num_layers} layer{'s' if self.num_layers > 1 else ''}"
                 f"{', bidirectional' if self.bidirectional else ''}")
        return (f"{where}: {self.cell.upper()}, input {self.input_size}, hidden "
                f"{self.hidden_size}, {shape}")


def _shape(value) -> tuple[int, ...]:
    return tuple(int(n) for n in value.shape)


def _describe(prefix: str, keys: dict, sd: dict) -> Found:
    where = prefix or "the top level"
    dot = f"{prefix}." if prefix else ""
    if any(KEY.match(k)["name"] == "weight_hr" for k in keys):
        raise ValueError(f"{where}: a projected LSTM (proj_size > 0) is not supported")
    w_ih, w_hh = keys.get(f"{dot}weight_ih_l0"), keys.get(f"{dot}weight_hh_l0")
    if w_ih is None or w_hh is None or len(_shape(w_hh)) != 2 or len(_shape(w_ih)) != 2:
        raise ValueError(f"{where}: weight_ih_l0 and weight_hh_l0 (matrices) are both needed")
    rows, H = _shape(w_hh)
    if H == 0 or rows % H or rows // H not in CELL_OF_BLOCKS:
        raise ValueError(f"{where}: weight_hh_l0 is {rows} x {H}, not 1, 3 or 4 blocks of "
                         "H x H (RNN, GRU, LSTM)")
    G, cell, inputs = rows // H, CELL_OF_BLOCKS[rows // H], _shape(w_ih)[1]
    layers = 1 + max(int(KEY.match(k)["layer"]) for k in keys)
    for name, value, most in (("hidden size", H, MAX_HIDDEN), ("input size", inputs, MAX_INPUT),
                              ("layers", layers, MAX_LAYERS)):
        if value > most:  # before anything is built of it
            raise ValueError(f"{where}: {name} {value} is more than the engine takes ({most})")
    bidirectional = any(k.endswith("_reverse") for k in keys)
    bias = f"{dot}bias_ih_l0" in keys
    D = 2 if bidirectional else 1
    want = {}
    for layer in range(layers):
        for sfx in ("", "_reverse")[:D]:
            width = inputs if layer == 0 else H * D
            want[f"{dot}weight_ih_l{layer}{sfx}"] = (G * H, width)
            want[f"{dot}weight_hh_l{layer}{sfx}"] = (G * H, H)
            if bias:
                want[f"{dot}bias_ih_l{layer}{sfx}"] = (G * H,)
                want[f"{dot}bias_hh_l{layer}{sfx}"] = (G * H,)
    problems = [f"{k}: missing" for k in want if k not in keys]
    problems += [f"{k}: unexpected" for k in keys if k not in want]
    problems += [f"{k}: {_shape(keys[k])} where {shape} fits" for k, shape in want.items()
                 if k in keys and _shape(keys[k]) != shape]
    if problems:
        raise ValueError(f"{where}: inconsistent shapes for a {cell.upper()} of hidden size "
                         f"{H}: " + "; ".join(problems[:5]))
    return Found(prefix, cell, inputs, H, layers, bidirectional, bias,
                 _readout(prefix, H * D, sd))


def _readout(prefix: str, width: int, sd: dict) -> str | None:
    """A linear layer that takes the recurrent module's ``width`` outputs (``fc.weight``,
    (O, width)): looked for beside it, then one level up at a time (``encoder.lstm`` and a
    top-level ``fc``). None where no level has exactly one."""
    parts = prefix.split(".") if prefix else []
    for depth in range(len(parts) - 1, -1, -1):
        parent = "".join(f"{p}." for p in parts[:depth])
        fits = []
        for key, value in sd.items():
            name = key[len(parent):-len(".weight")] if key.endswith(".weight") else ""
            if (key.startswith(parent) and name and "." not in name and not KEY.match(key)
                    and name != parts[depth] and len(_shape(value)) == 2
                    and _shape(value)[1] == width):
                fits.append(parent + name)
        if fits:
            return fits[0] if len(fits) == 1 else None
    return None


def find(sd: dict) -> list[Found]:
    """Every recurrent module of ``sd`` (ValueError for one whose shapes do not fit)."""
    groups: dict[str, dict] = defaultdict(dict)
    for key, value in sd.items():
        m = KEY.match(str(key))
        if m:
            groups[m["prefix"] or ""][key] = value
    return [_describe(prefix, keys, sd) for prefix, keys in sorted(groups.items())]


def choose(sd: dict, prefix: str | None = None) -> Found:
    """The one recurrent module of ``sd``, or the one at ``prefix``."""
    found = find(sd)
    if not found:
        raise ValueError("no recurrent weights found: a state_dict of torch.nn.RNN, LSTM or "
                         "GRU has keys like weight_ih_l0 and weight_hh_l0")
    if prefix is None:
        if len(found) > 1:
            raise ValueError("several recurrent modules: "
                             + ", ".join(f.prefix or "(top level)" for f in found)
                             + "; choose one (prefix=...)")
        return found[0]
    for f in found:
        if f.prefix == prefix:
            return f
    raise ValueError(f"no recurrent module at {prefix!r}; there are: "
                     + ", ".join(f.prefix or "(top level)" for f in found))


def network(cls, sd: dict, prefix: str | None = None, nonlinearity: str | None = None):
    """The Network (class ``cls``) of the recurrent module ``choose`` picks, float64. An
    RNN needs ``nonlinearity`` ("tanh" or "relu"): a state_dict does not say which."""
    f = choose(sd, prefix)
    if f.cell == "rnn" and nonlinearity not in ("tanh", "relu"):
        raise ValueError("an RNN's nonlinearity is not in its state_dict: say tanh or relu "
                         "(nonlinearity=...)")
    net = cls(f.cell, f.input_size, f.hidden_size, f.num_layers, f.bidirectional,
              nonlinearity if f.cell == "rnn" else "tanh")
    dot = f"{f.prefix}." if f.prefix else ""
    params = {}
    for key, have in net.params.items():
        value = sd.get(dot + key)
        params[key] = (np.zeros_like(have) if value is None  # bias=False: zero biases
                       else value.detach().to("cpu").double().numpy())
    net.load_params(params)
    return net


def readout(sd: dict, prefix: str | None = None) -> tuple[np.ndarray, np.ndarray] | None:
    """(W, b) of the linear read-out beside the recurrent module ``choose`` picks, float64
    (zero b for bias=False), or None where there is none; y_t = W out_t + b."""
    f = choose(sd, prefix)
    if f.readout is None:
        return None
    w = sd[f"{f.readout}.weight"].detach().to("cpu").double().numpy()
    bias = sd.get(f"{f.readout}.bias")
    b = np.zeros(w.shape[0]) if bias is None else bias.detach().to("cpu").double().numpy()
    if b.shape != (w.shape[0],):
        raise ValueError(f"{f.readout}.bias has shape {b.shape}; its weight has "
                         f"{w.shape[0]} rows")
    return w, b


def load(data: bytes, max_bytes: int = MAX_BYTES) -> dict:
    """A state_dict (name -> tensor) from a file's bytes, read without running any of its
    code. Also takes {"state_dict": ...} (the Training lab's downloads, Lightning's)."""
    import torch

    if len(data) > max_bytes:
        raise ValueError(f"the file is {len(data):,} bytes; the limit is {max_bytes:,}")
    if zipfile.is_zipfile(io.BytesIO(data)):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                infos = z.infolist()
        except (zipfile.BadZipFile, OSError, ValueError):
            raise ValueError("this file is a damaged archive: torch.load cannot read it") \
                from None
        if any(i.filename.endswith("constants.pkl") or "/code/" in i.filename for i in infos):
            raise ValueError(f"this is a TorchScript archive (torch.jit.save): {SAVE_HINT}")
        unpacked = sum(i.file_size for i in infos)
        if unpacked > MAX_LOADED_BYTES:  # a small compressed file may unpack to gigabytes
            raise ValueError(f"the file unpacks to {unpacked:,} bytes; the limit is "
                             f"{MAX_LOADED_BYTES:,}")
    elif not data.startswith(b"\x80"):  # neither torch's zip format nor a legacy pickle
        raise ValueError(f"this is not a PyTorch file torch.load can read: {SAVE_HINT}")
    try:
        obj = torch.load(io.BytesIO(data), weights_only=True, map_location="cpu")
    except Exception as err:  # noqa: BLE001 - every unreadable file gets a message
        text = str(err)
        if isinstance(err, MemoryError):
            raise ValueError("the file's tensors are too large to load") from None
        if "weights_only" in text or "Unsupported global" in text or "GLOBAL" in text:
            raise ValueError("this file holds a pickled module or other Python objects, "
                             f"which are not loaded (they could run code): {SAVE_HINT}") \
                from None
        raise ValueError(f"this is not a PyTorch file torch.load can read "
                         f"({type(err).__name__})") from None
    if isinstance(obj, dict) and isinstance(obj.get("state_dict"), dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict) or not obj:
        raise ValueError(f"expected a state_dict (a dict of tensors), got "
                         f"{type(obj).__name__}: {SAVE_HINT}")
    tensors = {str(k): v for k, v in obj.items() if isinstance(v, torch.Tensor)}
    if not tensors:
        raise ValueError(f"the dict holds no tensors: {SAVE_HINT}")
    numbers = 0
    for name, t in tensors.items():
        if t.layout != torch.strided or not (t.is_floating_point() or t.dtype == torch.int64):
            raise ValueError(f"{name} is a {t.layout} {t.dtype} tensor; weights are dense "
                             "floating-point tensors")
        numbers += t.numel()
    if numbers * 8 > MAX_LOADED_BYTES:  # stride-0 (expanded) tensors claim more than stored
        raise ValueError(f"the tensors hold {numbers:,} numbers; the limit is "
                         f"{MAX_LOADED_BYTES // 8:,}")
    return tensors

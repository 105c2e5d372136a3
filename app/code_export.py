"""Export as code: the view's numbers rebuilt with ``engine``, as a script and a notebook.

The script builds the same network (same cell, sizes, initialisation and seed, or the
trained / uploaded weights saved beside it) on the same input, runs the same backward pass
and prints what the pages draw as JSON: ||dL/dh_t|| per layer, the gradient norm before and
after clipping. The notebook holds the same code in cells, and a Plotly chart of the curve.
``bundle`` zips them (with ``weights.npz`` and ``x.npy`` for a trained network).
"""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np

from app import compute
from app.state import Settings
from app.trained import Trained

SCRIPT = "unrolled_view.py"
NOTEBOOK = "unrolled_view.ipynb"


def _header(s: Settings) -> str:
    """A constant docstring, and the settings as one comment line of JSON: nothing a link
    carries (a typed text) ever becomes code."""
    query = {k: v for k, v in s.to_query().items() if k not in ("vh", "present")}
    return ('"""Unrolled\'s view, rebuilt with its engine.\n\n'
            "Run it from an Unrolled checkout (the engine/ folder importable): python "
            f'{SCRIPT}\n"""\n# settings: {json.dumps(query, ensure_ascii=True)}\n')


def _build(s: Settings, entry: Trained | None) -> str:
    """The lines that make ``net`` and ``x`` (what app.compute.network_and_input does)."""
    if entry is not None:
        net = entry.network
        return ("x = np.load('x.npy')  # the trained network's input sequence (T, I)\n"
                f"net = Network({net.cell_name!r}, input_size={net.input_size}, "
                f"hidden_size={net.hidden_size}, num_layers={net.num_layers},\n"
                f"              bidirectional={net.bidirectional}, "
                f"activation={net.activation!r})\n"
                "with np.load('weights.npz') as w:  # keys like torch's state_dict\n"
                "    net.load_params(dict(w))\n")
    radius = s.spectral_radius
    return (f"x = make_signal({s.signal!r}, {s.T}, seed={s.seed}, text={s.text!r}, "
            f"encoding={s.encoding!r},\n                sequence={s.seq!r})  # (T, I)\n"
            f"net = Network({s.cell!r}, input_size=x.shape[1], hidden_size={s.hidden}, "
            f"num_layers={s.layers},\n              bidirectional={s.bidir}, "
            f"activation={s.activation!r}, init={s.init_scheme!r}, gain={s.gain!r},\n"
            f"              spectral_radius={radius!r}, seed={s.seed})\n")


def _clip(s: Settings) -> str:
    if s.clip == "none":
        return "after = grads.params  # no clipping\n"
    fn = "clip_by_norm" if s.clip == "norm" else "clip_by_value"
    return f"after = {fn}(grads.params, {s.threshold!r}).grads  # as torch clips\n"


def _interventions(s: Settings, entry: Trained | None) -> str:
    """The run's ``interventions=`` argument: the ones the page ran
    (``compute.interventions_for`` on the same network and input), else none."""
    if not s.iv:
        return ""
    if entry is not None:
        net, x = entry.network, entry.x
    else:
        x, _ = compute.signal_for(s)
        net = compute.build_network(s, x.shape[1])
    ivs = compute.interventions_for(s, net, x.shape[0])
    return f", interventions=[{ivs[0]!r}]" if ivs else ""


def code_cells(s: Settings, entry: Trained | None) -> list[str]:
    """The script in its steps: imports, network and input, forward and backward, numbers."""
    return [
        "import json\n\nimport numpy as np\n\n"
        "from engine import Intervention, Network, clip_by_norm, clip_by_value, global_norm\n"
        "from engine.signals import loss_seed, make_signal\n",
        _build(s, entry),
        f"trace = net.run(x{_interventions(s, entry)})  # every state and gate, float64\n"
        f"grads = trace.backward(loss_seed(trace.output.shape, {s.loss!r}))  # exact BPTT\n"
        + _clip(s),
        "numbers = {\n"
        "    'hidden_norm': grads.hidden_norm[:, 0].tolist(),  # ||dL/dh_t||, layer by layer\n"
        "    'grad_norm_before': grads.total_norm(),\n"
        "    'grad_norm_after': global_norm(after),\n"
        "}\nprint(json.dumps(numbers))\n",
    ]


def script(s: Settings, entry: Trained | None = None) -> str:
    return _header(s) + "\n" + "\n".join(code_cells(s, entry))


def notebook(s: Settings, entry: Trained | None = None) -> bytes:
    import nbformat

    cells = [nbformat.v4.new_markdown_cell(
        "# Unrolled's view, rebuilt with its engine\n\nThe settings are in settings.json "
        "beside this notebook; the code below holds them.")]
    cells += [nbformat.v4.new_code_cell(c.rstrip("\n")) for c in code_cells(s, entry)]
    cells.append(nbformat.v4.new_code_cell(
        "import plotly.graph_objects as go\n\n"
        "go.Figure(go.Scatter(y=grads.hidden_norm[0, 0], name='||dL/dh_t||'),\n"
        "          layout={'yaxis': {'type': 'log'}, 'xaxis_title': 'time step t'})"))
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    return nbformat.writes(nb).encode()


def bundle(s: Settings, entry: Trained | None = None) -> bytes:
    """A zip: the script, the notebook, and a trained network's weights and input."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(SCRIPT, script(s, entry))
        z.writestr(NOTEBOOK, notebook(s, entry))
        if entry is not None:
            weights = io.BytesIO()
            np.savez(weights, **entry.network.params)
            z.writestr("weights.npz", weights.getvalue())
            x = io.BytesIO()
            np.save(x, entry.x)
            z.writestr("x.npy", x.getvalue())
        z.writestr("settings.json", json.dumps(s.to_query(), indent=1))
    return buf.getvalue()

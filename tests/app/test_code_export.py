"""Export as code: the exported script, run on its own, prints the numbers the pages draw
(the same settings, seed and input; a trained network's weights beside it), and the
notebook is a valid one holding the same code."""

import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import numpy as np
import pytest

from app import code_export, compute
from app.state import Settings
from app.trained import Trained
from engine import Network

ROOT = Path(__file__).resolve().parents[2]


def _run_export(data: bytes, folder: Path) -> dict:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        z.extractall(folder)
    out = subprocess.run([sys.executable, code_export.SCRIPT], cwd=folder, text=True,
                         capture_output=True, timeout=120,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("query", [
    {}, {"cell": "lstm", "layers": "2", "bidir": "1", "loss": "every", "clip": "norm",
         "threshold": "0.5", "signal": "noise", "seed": "7", "T": "30"},
    {"cell": "rnn", "act": "relu", "init": "identity", "radius": "1.2", "clip": "value",
     "signal": "text", "text": "it's \"quoted\"\nnew line", "encoding": "code"},
    {"cell": "lru", "hidden": "8", "T": "25"}, {"cell": "s6", "hidden": "4", "T": "12"},
    {"signal": "text", "text": 'hi"""\nimport os; os._exit(7)\n"""C:\\Users\\me'},
    {"cell": "gru", "T": "30", "iv": "gate@12,g=z,v=1"},
    {"signal": "sequence", "iv": "clamp@10,u=0,v=1"},  # longer than the sequence: left out
], ids=["defaults", "lstm-bi", "irnn-text", "lru", "s6", "hostile-text", "intervened",
        "intervention-left-out"])
def test_the_exported_script_prints_the_pages_numbers(query, tmp_path):
    s, _ = Settings.from_query(query)
    numbers = _run_export(code_export.bundle(s), tmp_path)
    run = compute.simulate(s)
    np.testing.assert_allclose(numbers["hidden_norm"], run.hidden_norm[:, 0], rtol=1e-12)
    assert numbers["grad_norm_before"] == pytest.approx(run.norm_before, rel=1e-12)
    assert numbers["grad_norm_after"] == pytest.approx(run.norm_after, rel=1e-12)
    nb = nbformat.reads((tmp_path / code_export.NOTEBOOK).read_text(), as_version=4)
    nbformat.validate(nb)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "trace.backward" in code and "go.Figure" in code


def test_a_trained_network_travels_with_its_weights_and_input(tmp_path):
    net = Network("gru", 2, 5, num_layers=2, seed=3)
    x = np.random.default_rng(1).standard_normal((15, 2))
    entry = Trained(net, "adding", 15, 3, x, "GRU")
    s = Settings(cell="gru", hidden=5, layers=2, weights="0123456789ab", T=15)
    numbers = _run_export(code_export.bundle(s, entry), tmp_path)
    from engine.signals import loss_seed

    trace = net.run(x)
    want = trace.backward(loss_seed(trace.output.shape, "last")).hidden_norm[:, 0]
    np.testing.assert_allclose(numbers["hidden_norm"], want, rtol=1e-12)
    assert (tmp_path / "weights.npz").exists() and (tmp_path / "x.npy").exists()


@pytest.mark.parametrize("query", [{}, {"cell": "lstm", "loss": "every", "T": "20"}])
def test_the_exported_notebook_runs_in_a_kernel_and_prints_the_pages_numbers(
        query, tmp_path, monkeypatch):
    from nbclient import NotebookClient

    s, _ = Settings.from_query(query)
    with zipfile.ZipFile(io.BytesIO(code_export.bundle(s))) as z:
        z.extractall(tmp_path)
    monkeypatch.setenv("PYTHONPATH", str(ROOT))  # the kernel imports engine from here
    nb = nbformat.reads((tmp_path / code_export.NOTEBOOK).read_text(), as_version=4)
    NotebookClient(nb, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    printed = [o["text"] for c in nb.cells if c.cell_type == "code"
               for o in c.get("outputs", []) if o.get("name") == "stdout"]
    numbers = json.loads(printed[-1].strip().splitlines()[-1])
    run = compute.simulate(s)
    np.testing.assert_allclose(numbers["hidden_norm"], run.hidden_norm[:, 0], rtol=1e-12)
    figure = nb.cells[-1].outputs[0]["data"]  # the last cell draws the curve
    assert "application/vnd.plotly.v1+json" in figure or "text/html" in figure

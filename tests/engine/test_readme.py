"""The README's engine example runs as written, and what it prints and claims is true."""

import contextlib
import io
import re
from pathlib import Path

import numpy as np
import pytest

README = Path(__file__).resolve().parents[2] / "README.md"
NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"


@pytest.fixture(scope="module")
def readme(tmp_path_factory):
    """Each python block of the README run as written, in an empty folder (the sweep's
    store file lands there): (its namespace, its printed lines)."""
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert blocks, "README lost its python example"
    runs = []
    with contextlib.chdir(tmp_path_factory.mktemp("readme")):
        for code in blocks:
            ns, out = {}, io.StringIO()
            with contextlib.redirect_stdout(out):
                exec(compile(code, "README.md", "exec"), ns)
            runs.append((ns, [ln for ln in out.getvalue().splitlines() if ln.strip()]))
    return runs


def test_readme_example_runs(readme):
    assert len(readme) == 2, "a new python block in the README needs its claims tested here"
    ns, lines = readme[0]
    printed = [[float(v) for v in re.findall(NUMBER, ln)] for ln in lines]
    assert [len(p) for p in printed] == [2, 1], lines  # the clip norms, then lambda_max

    # print(clipped.norm_before, clipped.norm_after) with max_norm=1.0
    before, after = printed[0]
    assert before == ns["clipped"].norm_before == ns["grads"].total_norm()
    assert after == ns["clipped"].norm_after
    assert after <= 1.0 + 1e-12 and before >= after
    if before > 1.0:  # scaled down to max_norm (torch divides by ||g|| + 1e-6)
        assert abs(after - before / (before + 1e-6)) < 1e-12
    else:
        assert after == before

    # print(diagnostics.lyapunov_exponent(rnn, steps=1000))  # > 0: chaotic
    (lam,) = printed[1]
    assert lam > 0, "the README says gain 1.5 is chaotic"
    assert abs(lam - ns["diagnostics"].lyapunov_exponent(ns["rnn"], steps=1000)[0]) < 1e-6


def test_readme_example_comments_are_true(readme):
    """The comments' claims: shapes, 'equal to torch's .grad to ~1e-15', the truncation
    window, 'clip_by_norm = torch.nn.utils.clip_grad_norm_'."""
    import torch

    ns = readme[0][0]
    lstm, x, trace, grads = ns["lstm"], ns["x"], ns["trace"], ns["grads"]
    T = x.shape[0]
    assert trace.output.shape == (T, 16)
    out, _ = lstm(torch.tensor(x))
    assert np.max(np.abs(out.detach().numpy() - trace.output)) < 1e-13
    assert trace.pass_trace(layer=0).gates["f"].shape == (T, 1, 16)  # (T, batch, H)
    assert trace.pass_trace(layer=1).c.shape == (T, 1, 16)
    assert grads.hidden_norm[0, 0].shape == (T,)

    out[-1].sum().backward()  # seed[-1] = 1: the loss is the sum of the last output
    for name, p in lstm.named_parameters():
        ref = p.grad.numpy()
        assert np.max(np.abs(grads.params[name] - ref)) <= 1e-13 * np.max(np.abs(ref)), name

    short = ns["short"]  # window 20, loss at the last step: the first T-20 steps get nothing
    assert short.window == 20
    assert not np.any(short.hidden_norm[..., :T - 20])
    np.testing.assert_allclose(short.hidden_norm[..., T - 20:], grads.hidden_norm[..., T - 20:],
                               rtol=1e-12)

    total = torch.nn.utils.clip_grad_norm_(lstm.parameters(), max_norm=1.0)
    clipped = ns["clipped"]
    assert abs(float(total) - clipped.norm_before) < 1e-12 * clipped.norm_before
    for name, p in lstm.named_parameters():
        np.testing.assert_allclose(clipped.grads[name], p.grad.numpy(), rtol=1e-12,
                                   atol=1e-15, err_msg=name)


def test_readme_sweep_example_trains_its_grid_into_the_store(readme):
    ns = readme[1][0]
    progress, spec = ns["progress"], ns["spec"]
    assert spec.size == 8 and progress.done == 8 and progress.failed == 0
    assert sorted(status for _, status in progress.results) == ["done"] * 8

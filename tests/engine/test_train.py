"""The torch trainer: determinism, learning, clipping reports, explosions, weights, CLI."""

import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from engine import train as tr
from engine.tasks import make_task

SMALL = tr.TrainConfig(task="sine", seq_len=20, cell="gru", hidden=16, steps=60, batch=16,
                       lr=0.02, snapshot_every=20)


def test_same_seed_same_curve():
    a = tr.train(SMALL)
    b = tr.train(SMALL)
    assert a.losses == b.losses
    c = tr.train(tr.TrainConfig(**{**SMALL.__dict__, "seed": 1}))
    assert a.losses != c.losses


def test_a_short_run_lowers_the_loss_and_reports_every_step():
    seen = []
    result = tr.train(SMALL, callback=seen.append)
    assert len(seen) == 60 == len(result.losses)
    # beat what no memory can do (the best guess from the current noisy value, 0.0256)
    assert result.baseline_loss == make_task("sine", 20).baseline_loss < 0.03
    assert result.final_loss < 0.75 * result.baseline_loss
    assert np.mean(result.losses[-10:]) < np.mean(result.losses[:10])
    snaps = [s for s in seen if s.hidden_norm is not None]
    assert [s.step for s in snaps] == [0, 20, 40, 59]
    assert snaps[0].hidden_norm.shape == (1, 1, 20)
    assert all(s.grad_norm_before == s.grad_norm_after for s in seen)  # no clipping


def test_clipping_reports_norms_before_and_after():
    cfg = tr.TrainConfig(**{**SMALL.__dict__, "clip": 0.05, "steps": 10})
    result = tr.train(cfg)
    assert all(a <= 0.05 * (1 + 1e-4) for a in result.grad_norm_after)
    assert any(b > 0.05 for b in result.grad_norm_before)
    value = tr.train(tr.TrainConfig(**{**cfg.__dict__, "clip_mode": "value", "clip": 1e-3}))
    assert all(a <= b for a, b in zip(value.grad_norm_after, value.grad_norm_before,
                                      strict=True))


def test_snapshot_is_the_engine_gradient_of_the_task_loss():
    """Against torch: per-step ||dL/dh_t|| of the first sequence, by retaining each state."""
    cfg = tr.TrainConfig(task="adding", seq_len=15, cell="rnn", hidden=8, steps=1)
    _, task, model = tr.build(cfg)
    x, y = task.batch(4, np.random.default_rng(0))
    got = tr.hidden_norm_snapshot(model, task, x, y)[0, 0]
    cell = torch.nn.RNNCell(2, 8, dtype=torch.float64)
    cell.load_state_dict({k[:-3]: v.double() for k, v in model.rnn.state_dict().items()})
    h = torch.zeros(1, 8, dtype=torch.float64)
    hs = []
    for t in range(15):
        h = cell(torch.tensor(x[t, :1], dtype=torch.float64), h)
        h.retain_grad()
        hs.append(h)
    pred = torch.nn.functional.linear(hs[-1], model.head.weight.double(), model.head.bias.double())
    torch.nn.functional.mse_loss(pred, torch.tensor(y[:1], dtype=torch.float64)).backward()
    want = np.array([float(hh.grad.norm()) for hh in hs])
    np.testing.assert_allclose(got, want, rtol=1e-6)


def test_nan_loss_stops_the_run_with_a_message():
    cfg = tr.TrainConfig(task="adding", seq_len=30, cell="rnn", activation="relu",
                         init="identity", optimizer="sgd", lr=1e8, hidden=8, steps=50)
    result = tr.train(cfg)
    assert result.stopped and "exploded" in result.stopped and "clip" in result.stopped
    assert len(result.losses) < 50 and np.isnan(result.final_loss)


def test_stop_button():
    calls = iter(range(100))
    result = tr.train(SMALL, should_stop=lambda: next(calls) >= 5)
    assert len(result.losses) == 5 and "user" in result.stopped


def test_tbptt_runs_and_differs_from_full():
    cfg = tr.TrainConfig(**{**SMALL.__dict__, "steps": 5})
    full = tr.train(cfg)
    cut = tr.train(tr.TrainConfig(**{**cfg.__dict__, "tbptt": 5}))
    assert full.losses[0] == pytest.approx(cut.losses[0], rel=1e-5)  # same first forward
    assert full.losses[1:] != cut.losses[1:]
    # the first step's gradient norm is the engine's, with and without the truncation
    _, task, model = tr.build(cfg)
    x, y = task.batch(cfg.batch, np.random.default_rng(cfg.seed))
    norms = []
    for result, k in ((full, None), (cut, 5)):
        _, grads, head_sq = _engine_gradients(model.double(), task, x,
                                              torch.from_numpy(y).double(), k)
        norms.append(np.sqrt(grads.total_norm() ** 2 + head_sq))
        assert result.grad_norm_before[0] == pytest.approx(norms[-1], rel=1e-4)
    assert abs(norms[0] - norms[1]) > 1e-3 * norms[0]


def _float64_batch(cfg, seed=0, batch=4):
    """A built model in float64 and one batch of its task as tensors."""
    cfg, task, model = tr.build(cfg)
    model = model.double()
    x, y = task.batch(batch, np.random.default_rng(seed))
    yt = torch.from_numpy(y)
    yt = yt.double() if yt.is_floating_point() else yt
    return cfg, task, model, x, torch.from_numpy(x).double(), yt


def _engine_gradients(model, task, x, y, truncate):
    """The engine's BPTT of the task loss on the whole batch (dL/dout from torch's head and
    loss, then the engine's backward), and the squared norm of the head's gradient."""
    trace = tr.to_network(model).run(x.astype(np.float64))
    out = torch.tensor(trace.output, requires_grad=True)
    w = model.head.weight.detach().double().requires_grad_()
    b = model.head.bias.detach().double().requires_grad_()
    seen = tr.summary(out, task.where, model.rnn.hidden_size)
    loss = tr._loss(task, torch.nn.functional.linear(seen, w, b), y)
    loss.backward()
    head_sq = float(w.grad.square().sum() + b.grad.square().sum())
    return loss.item(), trace.backward(out.grad.numpy(), truncate=truncate), head_sq


@pytest.mark.parametrize("task_name,cell,layers,seq_len,k", [
    ("sine", "rnn", 1, 20, 6),    # k does not divide T: the first chunk is short
    ("sine", "lstm", 2, 20, 5),   # two layers, every state (h, c) detached at a chunk start
    ("copy", "gru", 2, 5, 7),     # classification over T + 20 = 25 steps
    ("running_sum", "rnn", 3, 12, 3),
    ("sine", "lru", 2, 20, 6),    # the LRU's complex state, detached at a chunk start
    ("sine", "s6", 2, 20, 6),     # S6's (H, N) state per sequence
])
def test_truncated_training_gradients_are_the_engines(task_name, cell, layers, seq_len, k):
    """What the optimiser gets under tbptt (torch, state detached per chunk) is exactly the
    engine's truncated BPTT, truncate=k, of the full loss: same chunks, same weighting."""
    cfg = tr.TrainConfig(task=task_name, seq_len=seq_len, cell=cell, hidden=8, layers=layers,
                         tbptt=k, steps=1)
    cfg, task, model, x, xt, yt = _float64_batch(cfg)
    loss = tr._forward_backward(model, task, cfg, xt, yt)
    full_loss, engine, _ = _engine_gradients(model, task, x, yt, k)
    _, untruncated, _ = _engine_gradients(model, task, x, yt, None)
    assert loss == pytest.approx(full_loss, rel=1e-12)  # the chunks' weighted losses sum up
    differs = 0.0
    for name, p in model.rnn.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), engine.params[name], rtol=1e-10,
                                   atol=1e-12 * np.abs(engine.params[name]).max(), err_msg=name)
        differs = max(differs, float(np.abs(engine.params[name] - untruncated.params[name]).max()))
    assert differs > 1e-3  # the truncation matters here, so the match means something


def test_snapshot_under_tbptt_is_the_truncated_gradient():
    """Against torch: a cell loop detached at the chunk starts 2, 8, 14 (T = 20, k = 6, counted
    back from the last step), retaining each state's gradient, for the first sequence."""
    cfg = tr.TrainConfig(task="sine", seq_len=20, cell="rnn", hidden=8, tbptt=6, steps=1)
    _, task, model = tr.build(cfg)
    x, y = task.batch(4, np.random.default_rng(0))
    got = tr.hidden_norm_snapshot(model, task, x, y, cfg.tbptt)
    full = tr.hidden_norm_snapshot(model, task, x, y)
    model64 = model.double()
    y1 = torch.from_numpy(y[:, :1]).double()
    _, engine, _ = _engine_gradients(model64, task, x[:, :1], y1, 6)
    np.testing.assert_allclose(got, engine.hidden_norm, rtol=1e-12)
    cell = torch.nn.RNNCell(1, 8, dtype=torch.float64)
    cell.load_state_dict({k[:-3]: v for k, v in model64.rnn.state_dict().items()})
    h, hs, preds = torch.zeros(1, 8, dtype=torch.float64), [], []
    for t in range(20):
        h = h.detach() if t in (2, 8, 14) else h
        h = cell(torch.tensor(x[t, :1], dtype=torch.float64), h)
        h.retain_grad()
        hs.append(h)
        preds.append(model64.head(h))
    torch.nn.functional.mse_loss(torch.stack(preds), y1).backward()
    want = np.array([float(hh.grad.norm()) for hh in hs])
    np.testing.assert_allclose(got[0, 0], want, rtol=1e-6)
    assert not np.allclose(got, full, rtol=1e-3)  # full BPTT reaches further back
    np.testing.assert_allclose(got[0, 0, 14:], full[0, 0, 14:], rtol=1e-6)  # the last chunk


def test_training_snapshots_are_the_gradient_the_step_used():
    """The loop's snapshot: before the update, on the step's batch, with its truncation."""
    cfg = tr.TrainConfig(task="sine", seq_len=20, cell="gru", hidden=8, tbptt=5, steps=2,
                         batch=4, snapshot_every=1)
    result = tr.train(cfg)
    _, task, model = tr.build(cfg)  # the same initial weights
    x, y = task.batch(4, np.random.default_rng(cfg.seed))  # the first batch
    np.testing.assert_allclose(result.snapshots[0][1],
                               tr.hidden_norm_snapshot(model, task, x, y, 5), rtol=1e-6)
    assert not np.allclose(result.snapshots[0][1], tr.hidden_norm_snapshot(model, task, x, y),
                           rtol=1e-3)
    # a loss at the last step alone trains with full BPTT, and so does its snapshot
    last = tr.TrainConfig(task="adding", seq_len=12, cell="rnn", hidden=8, tbptt=3, steps=1)
    res = tr.train(last)
    _, task, model = tr.build(last)
    x, y = task.batch(last.batch, np.random.default_rng(last.seed))
    np.testing.assert_allclose(res.snapshots[0][1], tr.hidden_norm_snapshot(model, task, x, y),
                               rtol=1e-6)
def test_weights_round_trip_and_mismatch():
    result = tr.train(tr.TrainConfig(**{**SMALL.__dict__, "steps": 3}))
    blob = tr.save_weights(result.model, result.config)
    back = tr.load_weights(blob, result.config)
    for (k, v), (k2, v2) in zip(result.model.state_dict().items(), back.state_dict().items(),
                                strict=True):
        assert k == k2 and torch.equal(v, v2)
    other = tr.TrainConfig(**{**SMALL.__dict__, "hidden": 32})
    with pytest.raises(ValueError, match="shape"):
        tr.load_weights(blob, other)
    with pytest.raises(ValueError, match="could not be read"):
        tr.load_weights(b"not a torch file", SMALL)
    with pytest.raises(ValueError, match="state_dict"):
        import io
        buf = io.BytesIO()
        torch.save([1, 2, 3], buf)
        tr.load_weights(buf.getvalue(), SMALL)


def test_sampling_from_the_language_model():
    cfg = tr.TrainConfig(task="chars", seq_len=30, cell="lstm", hidden=32, steps=5)
    result = tr.train(cfg)
    task = make_task("chars", 30)
    text = tr.sample_text(result.model, task, "Shall I", 40, temperature=0.8, seed=1)
    assert len(text) == 40 and set(text) <= set(task.extra["vocab"])
    assert text == tr.sample_text(result.model, task, "Shall I", 40, temperature=0.8, seed=1)
    with pytest.raises(ValueError, match="unknown"):
        tr.sample_text(result.model, task, "Zebra\u2603", 5)


@pytest.mark.parametrize("changes,word", [
    ({"task": "sorting"}, "task"), ({"cell": "jordan"}, "cell"), ({"lr": -1}, "lr"),
    ({"bidirectional": True, "task": "sine"}, "bidirectional"), ({"hidden": 0}, "hidden"),
])
def test_bad_configs(changes, word):
    with pytest.raises(ValueError, match=word):
        tr.train(tr.TrainConfig(**{**SMALL.__dict__, **changes}))


def test_cli_prints_json_last(capsys):
    code = tr.main(["--task", "adding", "--cell", "lstm", "--seq-len", "10", "--hidden", "8",
                    "--steps", "3", "--batch", "8", "--lr", "0.01", "--clip", "1.0",
                    "--seed", "0"])
    assert code == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    summary = json.loads(last)
    assert summary["baseline_loss"] == pytest.approx(1 / 6)
    assert np.isfinite(summary["final_loss"]) and summary["steps_run"] == 3


def test_bidirectional_many_to_one_reads_the_whole_sequence():
    cfg = tr.TrainConfig(task="adding", seq_len=12, cell="gru", hidden=4, bidirectional=True,
                         steps=1)
    _, task, model = tr.build(cfg)
    x, _ = task.batch(2, np.random.default_rng(0))
    xt = torch.from_numpy(x)
    changed = xt.clone()
    changed[0] += 1.0  # only the first step differs
    with torch.no_grad():
        a, b = model(xt)[0], model(changed)[0]
    assert not torch.allclose(a, b)  # the reverse half has seen step 0
    with torch.no_grad():
        out, _ = model.rnn(xt)
    want = model.head(torch.cat((out[-1, :, :4], out[0, :, 4:]), dim=-1))
    assert torch.allclose(a, want)
    with pytest.raises(ValueError, match="tbptt"):
        tr.train(tr.TrainConfig(**{**cfg.__dict__, "tbptt": 4}))


@pytest.mark.parametrize("cell", ["lru", "s6"])
def test_the_modern_cells_train_and_their_snapshots_are_the_engines(cell):
    """The LRU (torch_bridge.diagonal_rnn, complex64 in training) and S6 learn the noisy
    sine and report the engine's exact ||dL/dh_t|| of their state; the lab's init choice
    does not replace their own initialisations."""
    cfg = tr.TrainConfig(**{**SMALL.__dict__, "cell": cell, "init": "orthogonal"})
    seen = []
    result = tr.train(cfg, callback=seen.append)
    assert np.isfinite(result.losses).all()
    assert result.final_loss < result.baseline_loss
    snaps = [s.hidden_norm for s in seen if s.hidden_norm is not None]
    assert snaps[0].shape == (1, 1, 20) and np.isfinite(snaps[-1]).all()
    assert tr.to_network(result.model).cell_name == cell


def test_stop_conditions_end_a_run_as_a_finished_result():
    from engine.run_record import complete
    from engine.train import MEAN_OF, TrainConfig, train

    base = TrainConfig(task="sine", seq_len=10, cell="gru", hidden=8, batch=8, steps=2000,
                       lr=0.01, snapshot_every=1000)
    reached = train(replace(base, target_loss=0.05))
    assert reached.stopped.startswith("reached the target loss 0.05")
    assert len(reached.losses) < 2000 and np.mean(reached.losses[-MEAN_OF:]) <= 0.05
    assert complete(reached)  # kept in the run store like a full run
    stuck = train(replace(base, lr=1e-7, patience=60, optimizer="sgd"))
    assert stuck.stopped.startswith("no improvement for 60 steps") and complete(stuck)
    assert len(stuck.losses) < 2000
    with pytest.raises(ValueError, match="patience"):
        replace(base, patience=0).validated()


def _same_weights(a, b) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a.state_dict().values(),
                                                   b.state_dict().values(), strict=True))


def test_the_history_is_bounded_spread_and_rebuilds_every_model():
    from engine.run_record import record_result, to_record

    cfg = replace(SMALL, steps=150, checkpoint_every=2)
    result = tr.train(cfg)
    steps = [k for k, _ in result.checkpoints]
    assert steps[0] == 0 and steps[-1] == 150 and len(steps) <= tr.MAX_CHECKPOINTS + 1
    gaps = np.diff(steps[:-1])
    assert len(set(gaps.tolist())) == 1 and gaps[0] >= 2  # evenly spread after thinning
    assert _same_weights(tr.model_at(cfg, result.checkpoints[0][1]), tr.build(cfg)[2])
    assert _same_weights(tr.model_at(cfg, result.checkpoints[-1][1]), result.model)
    # keeping the history changes nothing about the training itself
    assert tr.train(replace(cfg, checkpoint_every=None)).losses == result.losses
    back = record_result(cfg, to_record(result))  # through the run store's record
    assert [k for k, _ in back.checkpoints] == steps
    assert np.array_equal(back.checkpoints[3][1], result.checkpoints[3][1])
    with pytest.raises(ValueError, match="does not fit"):
        tr.model_at(replace(cfg, hidden=8), result.checkpoints[0][1])


def test_a_diverged_run_keeps_its_history_up_to_the_blow_up():
    cfg = tr.TrainConfig(task="adding", seq_len=30, cell="rnn", activation="relu",
                         init="identity", optimizer="sgd", lr=1e8, hidden=8, steps=50,
                         checkpoint_every=1)
    result = tr.train(cfg)
    assert result.checkpoints and result.checkpoints[-1][0] <= len(result.losses)
    assert all(np.isfinite(w).all() for _, w in result.checkpoints[:1])


def test_classification_runs_report_accuracy_against_the_memoryless_share():
    from engine.run_record import record_result, to_record
    from engine.tasks import baseline_accuracy

    cfg = tr.TrainConfig(task="running_parity", seq_len=10, cell="gru", hidden=16, steps=40,
                         batch=32, lr=0.02)
    result = tr.train(cfg)
    task = make_task("running_parity", 10)
    assert result.baseline_accuracy == baseline_accuracy(task)
    x, y = task.batch(512, np.random.default_rng(cfg.seed + 10_000_019))
    with torch.no_grad():
        pred = result.model(torch.from_numpy(x))[0].argmax(-1).numpy()
    assert result.final_accuracy == pytest.approx((pred == y).mean(), abs=1e-12)
    assert result.summary()["final_accuracy"] == result.final_accuracy
    back = record_result(cfg, to_record(result))
    assert back.final_accuracy == result.final_accuracy
    assert tr.train(replace(SMALL, steps=2)).final_accuracy is None  # regression

"""What the run store keeps of a training run, and the ``TrainResult`` it gives back.

One form for every trainer (a sweep's worker, the Training lab's threads): the summary, the
curves (loss, gradient norm before and after clipping, the ||dL/dh_t|| snapshots, the
checkpoints of a run that kept its history) as arrays, and the weights as ``save_weights``
writes them (none for a run that diverged).
"""

from __future__ import annotations

from dataclasses import asdict

import numpy as np

from .store import StoredRun, pack_arrays, run_key, unpack_arrays
from .train import TrainConfig, TrainResult, load_weights, save_weights, stopped_early


def diverged(result: TrainResult) -> bool:
    return result.stopped is not None and result.stopped.startswith("the loss")


def complete(result: TrainResult) -> bool:
    """Whether the run is worth keeping: it ran all its steps, met a stop condition, or
    diverged (a result too); not one stopped by a user."""
    return result.stopped is None or diverged(result) or stopped_early(result)


def to_record(result: TrainResult) -> dict:
    """The store's fields for ``result``: summary, curves, weights, status, step."""
    steps = [s for s, _ in result.snapshots]
    snaps = {"snapshots": np.stack([h for _, h in result.snapshots])} if steps else {}
    if result.checkpoints:  # the training history: (updates done, flattened weights)
        snaps["checkpoint_steps"] = [k for k, _ in result.checkpoints]
        snaps["checkpoints"] = np.stack([w for _, w in result.checkpoints])
    curves = pack_arrays(loss=result.losses, grad_norm_before=result.grad_norm_before,
                         grad_norm_after=result.grad_norm_after, snapshot_steps=steps, **snaps)
    bad = diverged(result)
    return {"summary": result.summary(), "curves": curves,
            "weights": None if bad else save_weights(result.model, result.config),
            "status": "diverged" if bad else "done", "step": len(result.losses)}


def config_of(run: StoredRun) -> TrainConfig:
    return TrainConfig(**run.config)


def to_result(run: StoredRun) -> TrainResult:
    """The stored run as the trainer returned it (its model rebuilt from the weights)."""
    return result_of(config_of(run), run.summary, run.curves, run.weights)


def record_result(config: TrainConfig, record: dict) -> TrainResult:
    """``to_record``'s output (from a remote worker) as the trainer's result."""
    return result_of(config, record["summary"], unpack_arrays(record["curves"]),
                     record["weights"])


def result_of(config: TrainConfig, summary: dict, c: dict,
              weights: bytes | None) -> TrainResult:
    """A TrainResult from a record's parts: summary, curves (arrays), weights (or None)."""
    model = load_weights(weights, config) if weights else None
    snapshots = list(zip(c.get("snapshot_steps", np.zeros(0, int)).tolist(),
                         c.get("snapshots", []), strict=False))
    checkpoints = list(zip(c.get("checkpoint_steps", np.zeros(0, int)).tolist(),
                           c.get("checkpoints", []), strict=False))
    return TrainResult(config=config, baseline_loss=summary["baseline_loss"],
                       losses=c["loss"].tolist(), grad_norm_before=c["grad_norm_before"].tolist(),
                       grad_norm_after=c["grad_norm_after"].tolist(), snapshots=snapshots,
                       final_loss=summary["final_loss"], stopped=summary.get("stopped"),
                       seconds=summary.get("seconds", 0.0), model=model,
                       final_accuracy=summary.get("final_accuracy"),
                       baseline_accuracy=summary.get("baseline_accuracy"),
                       checkpoints=checkpoints)


def config_dict(config: TrainConfig) -> dict:
    """What keys a run in the store: every field (the text too, for the chars task)."""
    return asdict(config)


def key_of(config: TrainConfig) -> str:
    """The run store's key of ``config``."""
    return run_key(config_dict(config))

"""Training end to end on a tiny budget: split audit, events, files, resume, TBPTT,
divergence recovery."""

from __future__ import annotations

import math

import pytest
import torch

from rig.errors import UserError
from rig.session import read_manifest
from rig.train import checkpoint
from rig.train.trainer import TrainingRun

from .conftest import events, quick_options, tiny_config


def test_tiny_end_to_end_never_trains_on_test_settings(session):
    test_takes = {r["take_id"] for r in read_manifest(session.folder) if r["split"] == "test"}
    val_takes = {r["take_id"] for r in read_manifest(session.folder) if r["split"] == "val"}
    seen = {"train": set(), "val": set()}
    opts = quick_options(max_epochs=4, on_batch=lambda split, ids: seen[split].update(ids))
    result = TrainingRun(session.folder, tiny_config("tcn"), opts).run()

    assert result.status == "finished"
    assert seen["train"]
    assert not seen["train"] & (test_takes | val_takes)
    assert seen["val"] == val_takes
    out = session.folder / "train" / "tiny-tcn"
    for name in (
        "last.pt",
        "best.pt",
        "report.md",
        "loss_curves.png",
        "test_example.png",
        "export/model.ts",
        "export/model.onnx",
        "export/model.json",
        "export/model.pt",
    ):
        assert (out / name).is_file(), name
    assert len(list((out / "examples").glob("*.wav"))) == 3
    kinds = [e["type"] for e in events(session.folder)]
    for kind in ("train_started", "train_epoch", "train_test", "train_exported", "train_finished"):
        assert kind in kinds
    epochs = events(session.folder, "train_epoch")
    assert [e["epoch"] for e in epochs] == [1, 2, 3, 4]
    assert {"train_loss", "val_loss", "val_esr", "lr", "takes_used", "val_mape", "val_mrstft"} <= set(epochs[0])
    assert epochs[-1]["train_loss"] < epochs[0]["train_loss"]  # it learns
    test = events(session.folder, "train_test")[0]
    assert len(test["per_setting"]) == 2
    assert math.isfinite(test["esr"])
    assert "| **mean** |" in (out / "report.md").read_text()


def test_resume_continues_from_the_last_checkpoint(session):
    TrainingRun(session.folder, tiny_config("tcn"), quick_options(max_epochs=2, export=False, report=False)).run()
    trainer = TrainingRun(session.folder, tiny_config("tcn"), quick_options(max_epochs=3, export=False, report=False))
    trainer.run()
    assert [e["epoch"] for e in events(session.folder, "train_epoch")] == [1, 2, 3]
    assert len(trainer.state.history) == 3
    with pytest.raises(UserError, match="different tiny-tcn config"):
        TrainingRun(session.folder, tiny_config("tcn", lr=0.02), quick_options()).run()


def test_lstm_trains_with_truncated_backprop(session):
    trainer = TrainingRun(
        session.folder, tiny_config("lstm", tbptt_samples=1200), quick_options(max_epochs=1, export=False, report=False)
    )
    steps = []
    step = trainer.optimizer.step
    trainer.optimizer.step = lambda *a, **k: (steps.append(1), step(*a, **k))[1]
    trainer.run()
    assert len(steps) == 2 * 4  # 2 batches per epoch x (4800-sample segment / 1200-sample chunks)


def test_nan_loss_restores_the_last_good_checkpoint(session):
    trainer = TrainingRun(session.folder, tiny_config("tcn"), quick_options(max_epochs=3, export=False, report=False))
    forward, calls = trainer.model.forward, []

    def poisoned(x, c):  # the 5th training forward (epoch 3) yields NaN once
        y = forward(x, c)
        calls.append(trainer.model.training)
        return y * float("nan") if sum(calls) == 5 and trainer.model.training else y

    trainer.model.forward = poisoned
    result = trainer.run()
    alerts = [e for e in events(session.folder, "alert") if e["kind"] == "train_diverged"]
    assert len(alerts) == 1
    assert "restored epoch 2" in alerts[0]["message"]
    assert result.status == "finished"
    assert trainer.state.recoveries == 1
    lrs = [e["lr"] for e in events(session.folder, "train_epoch")]
    assert lrs[-1] == pytest.approx(lrs[0] * 0.5)
    assert all(torch.isfinite(p).all() for p in trainer.model.parameters())


def test_huge_learning_rate_is_lowered_until_training_is_stable(session):
    opts = quick_options(max_epochs=3, export=False, report=False, divergence_lr_factor=1e-3, divergence_factor=3.0)
    trainer = TrainingRun(session.folder, tiny_config("tcn"), opts)
    for group in trainer.optimizer.param_groups:  # far above what a config may ask for
        group["lr"] = 1e4
    result = trainer.run()
    assert result.status == "finished"
    assert trainer.state.recoveries >= 1
    assert trainer.optimizer.param_groups[0]["lr"] < 1e4
    assert math.isfinite(min(h["train_loss"] for h in trainer.state.history))
    best = checkpoint.load(session.folder / "train" / "tiny-tcn" / "best.pt")
    assert all(torch.isfinite(v).all() for v in best["model"].values() if v.is_floating_point())


def test_epoch_has_at_least_epoch_steps_batches_and_stops_at_the_budget(session):
    """CPU epochs are a number of steps, not of segments; an epoch that would outlast the
    budget ends early instead of overshooting it by up to a whole epoch."""
    trainer = TrainingRun(
        session.folder, tiny_config("tcn"), quick_options(epoch_steps=5, max_epochs=1, export=False, report=False)
    )
    assert trainer.steps_per_epoch == 5  # epoch_segments 8 / batch 4 would be only 2
    steps = []
    step = trainer.optimizer.step
    trainer.optimizer.step = lambda *a, **k: (steps.append(1), step(*a, **k))[1]
    trainer.run()
    assert len(steps) == 5
    short = TrainingRun(
        session.folder,
        tiny_config("tcn"),
        quick_options(
            epoch_steps=10_000, max_epochs=None, budget_minutes=0.002, export=False, report=False, fresh=True
        ),
    )
    short.run()
    assert short.state.stop_reason == "budget"
    assert short.state.epoch == 1
    assert short.state.budget_used_s < 30  # 10,000 steps would take minutes


@pytest.mark.parametrize(
    ("schedule", "patience", "stop"),
    [("cosine", None, "budget"), ("cosine", 1, "early_stopping"), ("plateau", None, "early_stopping")],
)
def test_only_a_plateau_run_or_an_explicit_patience_stops_early(session, schedule, patience, stop):
    """A cosine run gains most in its low-LR tail, so early stopping (which cut a 30-minute
    bench run at 10.5 min) no longer ends it; --patience still does. LR 1e-9: the val loss
    never improves after the first epoch."""
    cfg = tiny_config("tcn", lr=1e-9, schedule=schedule, early_stop_patience=1)
    opts = quick_options(max_epochs=None, budget_steps=12, patience=patience, export=False, report=False)
    trainer = TrainingRun(session.folder, cfg, opts)
    trainer.run()
    assert trainer.state.stop_reason == stop
    assert trainer.state.steps == (12 if stop == "budget" else 4)  # 2 steps an epoch; stopped after epoch 2

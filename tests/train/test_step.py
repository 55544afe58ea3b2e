"""The optimizer step shared by the trainer and the speed benchmark."""

from __future__ import annotations

import math

import pytest
import torch

from rig.train.losses import TrainLoss
from rig.train.models import build_model
from rig.train.models.bench import samples_per_second
from rig.train.step import train_step
from tests.train.conftest import tiny_config


def batch(context: int, segment: int = 2400) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    torch.manual_seed(0)
    x = torch.randn(2, 1, context + segment) * 0.3
    return x, torch.rand(2, 2), x[..., context:].tanh()


@pytest.mark.parametrize(("kind", "tbptt"), [("tcn", None), ("lstm", 800), ("lstm", 700)])
def test_a_step_lowers_the_loss_on_the_same_batch(kind, tbptt):
    model = build_model(tiny_config(kind), 2)
    opt = torch.optim.AdamW(model.parameters(), lr=0.01)
    x, c, y = batch(model.receptive_field - 1)
    loss = TrainLoss(1.0, 0.0)
    first = train_step(model, opt, loss, x, c, y, tbptt, clip=1.0)
    for _ in range(5):
        last = train_step(model, opt, loss, x, c, y, tbptt, clip=1.0)
    assert math.isfinite(first)
    assert last < first


def test_a_non_finite_loss_leaves_the_weights_alone():
    model = build_model(tiny_config("tcn"), 2)
    opt = torch.optim.AdamW(model.parameters(), lr=0.01)
    x, c, y = batch(model.receptive_field - 1)
    before = [p.detach().clone() for p in model.parameters()]
    loss = train_step(model, opt, lambda pred, target: (pred - target).abs().mean() * math.nan, x, c, y, None, 1.0)
    assert math.isnan(loss)
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))


def test_the_speed_benchmark_runs_the_trainers_step():
    assert samples_per_second(tiny_config("lstm", tbptt_samples=1200), n_controls=2, batch=2, segment=2400, steps=1) > 0

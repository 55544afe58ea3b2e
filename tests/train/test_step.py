"""The optimizer step shared by the trainer and the speed benchmark."""

from __future__ import annotations

import math

import pytest
import torch

from rig.train.losses import TrainLoss
from rig.train.models import build_model
from rig.train.models.bench import samples_per_second
from rig.train.step import step_workers, train_step
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


@pytest.mark.parametrize("conditioning", ["tvfilm", "tfilm"])
def test_a_batch_split_over_threads_steps_as_the_whole_batch(conditioning):
    """With the L1 loss each thread's share weighted by its size is the whole batch's loss, so
    the split step lands on the same weights (up to float summation order)."""
    torch.manual_seed(1)
    cfg = tiny_config("tcn").model_copy(update={"conditioning": conditioning})
    whole, split = build_model(cfg, 2), build_model(cfg, 2)
    split.load_state_dict(whole.state_dict())
    x, c, y = batch(whole.receptive_field - 1)
    x, c, y = x.repeat(3, 1, 1), torch.rand(6, 2), y.repeat(3, 1, 1)  # 6 items, over 4 threads: shares 2, 2, 1, 1
    losses = []
    for model, workers in ((whole, 1), (split, 4)):
        opt = torch.optim.AdamW(model.parameters(), lr=0.01)
        losses.append(
            [train_step(model, opt, TrainLoss(1.0, 0.0), x, c, y, None, 1.0, workers=workers) for _ in range(3)]
        )
    assert losses[1] == pytest.approx(losses[0], rel=1e-5)
    for a, b in zip(whole.parameters(), split.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)


def test_only_models_with_independent_batch_items_and_no_tbptt_split_their_batch():
    cpu = torch.device("cpu")
    tvf = build_model(tiny_config("tcn").model_copy(update={"conditioning": "tvfilm"}), 2)
    assert step_workers(tvf, None, cpu, 2) == 2
    assert step_workers(tvf, None, cpu, 1) == 1
    assert step_workers(tvf, None, torch.device("meta"), 2) == 1
    assert step_workers(build_model(tiny_config("lstm"), 2), 800, cpu, 2) == 1
    film = build_model(tiny_config("tcn"), 2)  # FiLM's BatchNorm spans the batch
    assert step_workers(film, None, cpu, 2) == 1

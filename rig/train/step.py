"""One optimizer step on a batch, shared by the training run and the speed benchmark so the
benchmark measures exactly what the trainer does.

x holds the receptive field as context before the y-aligned samples; LSTMs (tbptt) update
every `tbptt` samples carrying their detached state. A non-finite loss never reaches the
optimizer: the weights stay as they were and the caller decides what to do."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from contextlib import AbstractContextManager

import torch

from rig.train.models import ParametricModel, detach_state


def train_step(
    model: ParametricModel,
    optimizer: torch.optim.Optimizer,
    criterion: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    c: torch.Tensor,
    y: torch.Tensor,
    tbptt: int | None,
    clip: float,
    autocast: Callable[[], AbstractContextManager] = contextlib.nullcontext,
) -> float:
    """The step's loss (mean over the segment), or the first non-finite loss met."""
    context = x.shape[-1] - y.shape[-1]
    if not tbptt:
        with autocast():
            pred = model(x, c)[..., context:]
        return _update(model, optimizer, criterion(pred.float(), y), clip)
    segment = y.shape[-1]
    state = model.init_state(x.shape[0])
    bounds = list(range(0, segment, tbptt))
    if len(bounds) > 1 and segment - bounds[-1] < tbptt:
        bounds.pop()  # fold a short tail into the last chunk (MR-STFT needs length)
    total = 0.0
    for a, b in zip(bounds, [*bounds[1:], segment]):
        lo = 0 if a == 0 else context + a  # the first chunk also runs over the context
        with autocast():
            pred, state = model.forward_stream(x[..., lo : context + b], c, state)
        loss = _update(model, optimizer, criterion(pred[..., pred.shape[-1] - (b - a) :].float(), y[..., a:b]), clip)
        if not math.isfinite(loss):
            return loss
        total += loss * (b - a)
        state = detach_state(state)
    return total / segment


def _update(model: torch.nn.Module, optimizer: torch.optim.Optimizer, loss: torch.Tensor, clip: float) -> float:
    value = float(loss.detach())
    if not math.isfinite(value):
        return value  # never step on a NaN
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
    optimizer.step()
    return value

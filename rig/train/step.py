"""One optimizer step on a batch, shared by the training run and the speed benchmark so the
benchmark measures exactly what the trainer does.

x holds the receptive field as context before the y-aligned samples; LSTMs (tbptt) update
every `tbptt` samples carrying their detached state. A non-finite loss never reaches the
optimizer: the weights stay as they were and the caller decides what to do.

On a CPU with several cores the batch is split over `workers` Python threads, each running
forward and backward of its share on one intra-op thread: the small convolutions of these
models use one core well but two intra-op threads poorly (tcn-tvf-45-s-16, 8 x (2047 + 12000),
2 cores, quiet: ~530-550k samples/s on one thread, ~460-590k on two intra-op threads, ~890-1000k
split over two threads). Each share's loss is weighted by its share of the batch, which for the L1 loss
of the CPU defaults is the whole batch's loss exactly (MR-STFT and ESR terms become per share)."""

from __future__ import annotations

import contextlib
import functools
import math
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
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
    workers: int = 1,
) -> float:
    """The step's loss (mean over the segment), or the first non-finite loss met. `workers` > 1
    (see step_workers) splits the batch over that many threads."""
    context = x.shape[-1] - y.shape[-1]
    if not tbptt and workers > 1 and x.shape[0] > 1:
        return _split_step(model, optimizer, criterion, x, c, y, clip, autocast, workers)
    if not tbptt:
        with autocast():
            pred = model(x, c)[..., context:]
        return _update(model, optimizer, [criterion(pred.float(), y)], clip)
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
        loss = _update(model, optimizer, [criterion(pred[..., pred.shape[-1] - (b - a) :].float(), y[..., a:b])], clip)
        if not math.isfinite(loss):
            return loss
        total += loss * (b - a)
        state = detach_state(state)
    return total / segment


def step_workers(model: torch.nn.Module, tbptt: int | None, device: torch.device, threads: int) -> int:
    """Threads to split a training batch over: the CPU's threads for a model whose batch items
    are independent (no BatchNorm, whose statistics span the batch) and without tbptt; else 1."""
    batch_coupled = any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in model.modules())
    return threads if device.type == "cpu" and not tbptt and not batch_coupled and threads > 1 else 1


@functools.cache
def _pool(workers: int) -> ThreadPoolExecutor:
    # each worker runs its ops on one intra-op thread (OpenMP's thread count is per thread)
    return ThreadPoolExecutor(workers, "rig-train-step", initializer=torch.set_num_threads, initargs=(1,))


def _split_step(model, optimizer, criterion, x, c, y, clip, autocast, workers: int) -> float:
    context, size = x.shape[-1] - y.shape[-1], x.shape[0]
    shares = [idx for idx in torch.arange(size).tensor_split(workers) if len(idx)]

    def forward(idx: torch.Tensor) -> torch.Tensor:
        with autocast():
            pred = model(x[idx], c[idx])[..., context:]
        return criterion(pred.float(), y[idx]) * (len(idx) / size)

    return _update(model, optimizer, list(_pool(workers).map(forward, shares)), clip, workers)


def _update(
    model: torch.nn.Module, optimizer: torch.optim.Optimizer, losses: list[torch.Tensor], clip: float, workers: int = 1
) -> float:
    """One optimizer step on the summed losses (a batch's shares), unless the sum is not finite.
    With several workers each share's backward runs in its own thread; the gradients accumulate."""
    value = sum(float(loss.detach()) for loss in losses)
    if not math.isfinite(value):
        return value  # never step on a NaN
    optimizer.zero_grad(set_to_none=True)
    if workers > 1:
        list(_pool(workers).map(torch.Tensor.backward, losses))
    else:
        for loss in losses:
            loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
    optimizer.step()
    return value

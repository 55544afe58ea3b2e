"""The interface every model offers to the trainer, exporter and renderer."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn


class ParametricModel(nn.Module):
    """forward(x (B,1,T), c (B,n) in 0..1) -> (B,1,T), plus a streaming form with explicit state.

    `forward` equals `forward_stream` from `init_state`, so a file processed in blocks of any
    size gives the whole-file output (float rounding aside). Use eval() for streaming and
    causality: in train mode BatchNorm normalises with statistics of the whole batch.
    """

    receptive_field: int = 1  # samples of past input the convolutional part needs (1: none)

    def __init__(self, n_controls: int):
        super().__init__()
        self.n_controls = n_controls

    def forward(self, x: Tensor, c: Tensor) -> Tensor:
        y, _ = self.forward_stream(x, c, self.init_state(x.shape[0]))
        return y

    def init_state(self, batch: int) -> Any:
        raise NotImplementedError

    def forward_stream(self, x: Tensor, c: Tensor, state: Any) -> tuple[Tensor, Any]:
        raise NotImplementedError

    def n_params(self) -> int:
        return sum(p.numel() for p in self.parameters() if p.requires_grad)

    def _zeros(self, *shape: int) -> Tensor:
        p = next(self.parameters())
        return torch.zeros(*shape, dtype=p.dtype, device=p.device)


def detach_state(state: Any) -> Any:
    """Cut the graph at a truncated-backprop boundary, keeping the values."""
    if isinstance(state, Tensor):
        return state.detach()
    if isinstance(state, dict):
        return {k: detach_state(v) for k, v in state.items()}
    if isinstance(state, (list, tuple)):
        return type(state)(detach_state(v) for v in state)
    return state

"""LSTM backbone (seed 001 fig. 4a): one LSTM layer, Linear to one channel, tanh.
Concat: the controls repeated per sample join the audio as LSTM input. TVCond: the sequence of
a pooled-|input| controller LSTM (block rate, held or ramped) joins the audio instead."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from rig.train.models.base import ParametricModel
from rig.train.models.blockrate import BlockController, expand


class LSTMModel(ParametricModel):
    def __init__(self, n_controls: int, conditioning: str, hidden: int = 32, block_size: int = 128,
                 interpolate: bool = False, tvcond_channels: int = 16):
        super().__init__(n_controls)
        if conditioning not in ("concat", "tvcond"):
            raise ValueError(f"conditioning {conditioning!r} is not available for the LSTM backbone")
        self.tv = BlockController(1, n_controls, tvcond_channels, block_size) if conditioning == "tvcond" else None
        self.interpolate = interpolate
        extra = tvcond_channels if self.tv is not None else n_controls
        self.lstm = nn.LSTM(1 + extra, hidden, batch_first=True)
        self.out = nn.Linear(hidden, 1)

    def init_state(self, batch: int) -> dict:
        zeros = self._zeros(1, batch, self.lstm.hidden_size)
        return {"hc": (zeros, zeros.clone()), "tv": None}

    def forward_stream(self, x: Tensor, c: Tensor, state: dict) -> tuple[Tensor, dict]:
        frame, tv = x.shape[-1], state["tv"]
        if self.tv is not None:
            values, prev, n0, tv = self.tv.step(x.abs(), c, tv)
            cond = expand(values, prev, n0, frame, self.tv.block, self.interpolate)
        else:
            cond = c.unsqueeze(-1).expand(-1, -1, frame)
        y, hc = self.lstm(torch.cat([x, cond], dim=1).transpose(1, 2), state["hc"])
        return self.out(y).tanh().transpose(1, 2), {"hc": hc, "tv": tv}

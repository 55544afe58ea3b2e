"""LSTM backbone (NablAFx, Comunità et al. 2025, fig. 4a): one LSTM layer, Linear to one channel, tanh.
Concat: the controls repeated per sample join the audio as LSTM input. TVCond: the sequence of
a pooled-|input| controller LSTM (block rate, held or ramped) joins the audio instead.

Export variants: `final_tanh=False` leaves the head a plain Linear, so a Concat model frozen at
one knob setting is exactly NAM's LSTM; `skip=True` adds the input to the output as GuitarML
Proteus does (RTNeural LSTM -> Dense, plus the input sample)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from rig.train.models.base import ParametricModel
from rig.train.models.blockrate import BlockController


class LSTMModel(ParametricModel):
    def __init__(
        self,
        n_controls: int,
        conditioning: str,
        hidden: int = 32,
        block_size: int = 128,
        interpolate: bool = False,
        tvcond_channels: int = 16,
        final_tanh: bool = True,
        skip: bool = False,
    ):
        super().__init__(n_controls)
        if conditioning not in ("concat", "tvcond"):
            raise ValueError(f"conditioning {conditioning!r} is not available for the LSTM backbone")
        self.tv = BlockController(1, n_controls, tvcond_channels, block_size) if conditioning == "tvcond" else None
        self.interpolate = interpolate
        extra = tvcond_channels if self.tv is not None else n_controls
        self.lstm = nn.LSTM(1 + extra, hidden, batch_first=True)
        self.out = nn.Linear(hidden, 1)
        self.final_tanh = final_tanh
        self.per_sample_controls = True  # c may be (B, n, F): Concat per sample, TVCond per block
        self.skip = skip

    def init_state(self, batch: int) -> dict:
        zeros = self._zeros(1, batch, self.lstm.hidden_size)
        return {"hc": (zeros, zeros.clone()), "tv": None}

    def forward_stream(self, x: Tensor, c: Tensor, state: dict) -> tuple[Tensor, dict]:
        frame, tv = x.shape[-1], state["tv"]
        if self.tv is not None:
            blocks, tv = self.tv.step(x.abs(), c, tv)
            cond = blocks.sequence(frame, self.tv.block, self.interpolate)
        else:  # c (B, n) held over the frame, or (B, n, frame) per sample (a player's knob glide)
            cond = c if c.dim() == 3 else c.unsqueeze(-1).expand(-1, -1, frame)
        y, hc = self.lstm(torch.cat([x, cond], dim=1).transpose(1, 2), state["hc"])
        y = self.out(y).transpose(1, 2)
        y = y.tanh() if self.final_tanh else y
        return (y + x if self.skip else y), {"hc": hc, "tv": tv}

"""TCN backbone (NablAFx, Comunità et al. 2025, fig. 4b/c): residual blocks of dilated causal Conv1d -> modulation ->
tanh, plus a depthwise 1x1 residual; a 1x1 conv to one channel and tanh at the output.

Each block pads its own input causally, so every block runs on the output time axis and the
128-sample modulation blocks line up in absolute time across blocks. Streaming keeps, per
block, the last (k-1)*d input samples instead of re-feeding F+rf-1 samples per frame.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import cast

import torch
from torch import Tensor, nn

from rig.train.models.base import ParametricModel
from rig.train.models.conditioning import ConvConditioning
from rig.train.models.dilated import dilated_conv


class TCNBlock(nn.Module):
    def __init__(self, in_ch: int, out_ch: int, kernel: int, dilation: int, exact_crop: bool):
        super().__init__()
        self.conv = nn.Conv1d(in_ch, out_ch, kernel, dilation=dilation)
        self.res = nn.Conv1d(in_ch, out_ch, 1, groups=in_ch, bias=False)
        self.history = (kernel - 1) * dilation
        # The reference's causal crop keeps x[..., -L-1:-1]: the residual arrives one sample late.
        self.res_offset = self.history if exact_crop else self.history - 1

    def forward(self, x: Tensor, hist: Tensor, mod: nn.Module, ctx: dict, st):
        frame = x.shape[-1]
        xx = torch.cat([hist, x], dim=-1)
        h, st = mod(dilated_conv(xx, self.conv), ctx, st)
        # The depthwise 1x1 residual is a per-channel scale: a broadcast multiply is much cheaper
        # than a grouped convolution (and its backward) and equals it exactly.
        res = xx[..., self.res_offset : self.res_offset + frame] * self.res.weight.view(1, -1, 1)
        return h.tanh() + res, xx[..., xx.shape[-1] - self.history :], st


class TCN(ParametricModel):
    per_sample_controls = True  # c may be (B, n, F): a player's knob glide reaches FiLM per sample

    def __init__(
        self,
        n_controls: int,
        conditioning: str,
        blocks: int = 5,
        kernel_size: int = 7,
        dilation_growth: int = 4,
        channels: int = 16,
        exact_crop: bool = False,
        block_size: int = 128,
        interpolate: bool = False,
        tv_hidden: int = 32,
    ):
        super().__init__(n_controls)
        self.blocks = nn.ModuleList(
            TCNBlock(1 if i == 0 else channels, channels, kernel_size, dilation_growth**i, exact_crop)
            for i in range(blocks)
        )
        self.cond = ConvConditioning(conditioning, n_controls, channels, blocks, block_size, interpolate, tv_hidden)
        self.out = nn.Conv1d(channels, 1, 1)
        # nn.ModuleList yields plain Modules to mypy; every item here is a TCNBlock.
        self.receptive_field = 1 + sum(b.history for b in cast(Iterable[TCNBlock], self.blocks))

    def init_state(self, batch: int) -> dict:
        hist = [self._zeros(batch, b.conv.in_channels, b.history) for b in cast(Iterable[TCNBlock], self.blocks)]
        return {"hist": hist, "mod": [None] * len(self.blocks), "tv": None}

    def forward_stream(self, x: Tensor, c: Tensor, state: dict) -> tuple[Tensor, dict]:
        ctx, tv = self.cond.context(x, c, state["tv"])
        hists, mods, h = [], [], x
        for block, mod, hist, st in zip(self.blocks, self.cond.mods, state["hist"], state["mod"]):
            h, hist, st = block(h, hist, mod, ctx, st)
            hists.append(hist)
            mods.append(st)
        return dilated_conv(h, self.out).tanh(), {"hist": hists, "mod": mods, "tv": tv}

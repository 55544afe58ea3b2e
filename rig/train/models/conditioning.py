"""Feature modulation for the convolutional and state-space backbones (Comunità et al. 2025; NablAFx):
FiLM (static), TFiLM and TTFiLM (per-block LSTM over pooled activations) and TVFiLM (one
model-level LSTM over the pooled |input|, a per-block linear map to gamma/beta).

Every modulator has `forward(h, ctx, state) -> (h, state)`: h is (B, C, F) for the current frame,
ctx carries what the model computed once per frame (raw controls, FiLM latent, TVFiLM values).

Controls come as c (B, n), held over the frame (training), or per sample (B, n, F) (a player's
knob glide). Per sample, FiLM's gamma/beta follow the control sample by sample (the MLP runs
per sample), so a glided knob moves them smoothly; the block-rate modulators (TFiLM, TTFiLM,
TVFiLM) take the control when their LSTM takes a block, as they do in training. With constant
controls both forms give the same output.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rig.train.models.blockrate import BlockController, Blocks

FILM_HIDDEN = 32  # NablAFx, Comunità et al. 2025, fig. 5c: controls -> 32 -> 32 -> 32
TTFILM_BOTTLENECK = 4


def control_mlp(n_controls: int, hidden: int = FILM_HIDDEN) -> nn.Sequential:
    """The FiLM conditioning MLP: three Linear+ReLU layers."""
    return nn.Sequential(
        nn.Linear(n_controls, hidden),
        nn.ReLU(),
        nn.Linear(hidden, hidden),
        nn.ReLU(),
        nn.Linear(hidden, hidden),
        nn.ReLU(),
    )


def _affine(h: Tensor, gb: Tensor) -> Tensor:
    gamma, beta = gb.chunk(2, dim=1)
    return h * gamma + beta


def held_affine(h: Tensor, gb: Tensor, n0: int, block: int) -> Tensor:
    """_affine with block values (B, K, 2C) held over `block` samples, h starting n0 samples into
    the first block: h is padded to whole blocks and scaled per block by broadcasting, which
    saves writing (and reducing, in backward) gamma/beta at every sample."""
    b, ch, frame = h.shape
    k = gb.shape[1]
    blocks = F.pad(h, (n0, k * block - n0 - frame)).reshape(b, ch, k, block)
    gamma, beta = gb.transpose(1, 2).contiguous().unsqueeze(-1).chunk(2, dim=1)
    return torch.addcmul(beta, blocks, gamma).reshape(b, ch, k * block)[..., n0 : n0 + frame]


def _modulate(h: Tensor, blocks: Blocks, block: int, interpolate: bool, head: nn.Module | None = None) -> Tensor:
    """h modulated by a block-rate modulator's values (through `head` first, at block rate).
    Held values with controls per frame (training) take the cheap held path."""
    f = head if head is not None else nn.Identity()
    if blocks.start is None and not interpolate:
        return held_affine(h, f(blocks.values), blocks.n0, block)
    start = None if blocks.start is None else f(blocks.start)
    mapped = Blocks(f(blocks.values), f(blocks.prev), blocks.n0, start)
    return _affine(h, mapped.sequence(h.shape[-1], block, interpolate))


class FiLM(nn.Module):
    """Static FiLM; BatchNorm without affine first so gamma/beta set the scale alone."""

    def __init__(self, channels: int, latent: int = FILM_HIDDEN):
        super().__init__()
        self.bn = nn.BatchNorm1d(channels, affine=False)
        self.adaptor = nn.Linear(latent, 2 * channels)

    def forward(self, h: Tensor, ctx: dict, st):
        gb = self.adaptor(ctx["film"])  # (B, 2C), or (B, F, 2C) for per-sample controls
        return _affine(self.bn(h), gb.transpose(1, 2) if gb.dim() == 3 else gb.unsqueeze(-1)), st


class TFiLM(nn.Module):
    """Temporal FiLM: an LSTM (hidden 2C) over the block-max of this block's activations."""

    def __init__(self, channels: int, n_controls: int, block: int, interpolate: bool):
        super().__init__()
        self.ctrl = BlockController(channels, n_controls, 2 * channels, block)
        self.interpolate = interpolate

    def forward(self, h: Tensor, ctx: dict, st):
        blocks, st = self.ctrl.step(h, ctx["c"], st)
        return _modulate(h, blocks, self.ctrl.block, self.interpolate), st


class TTFiLM(nn.Module):
    """Tiny TFiLM: pooled activations -> 1x1 bottleneck (4) -> LSTM(4) -> MLP 4-16-32-2C.
    The reference ends the MLP with a ReLU, which forbids negative gamma/beta; it is left out."""

    def __init__(self, channels: int, n_controls: int, block: int, interpolate: bool):
        super().__init__()
        b = TTFILM_BOTTLENECK
        self.ctrl = BlockController(channels, n_controls, b, block, bottleneck=b)
        self.head = nn.Sequential(
            nn.Linear(b, 16), nn.ReLU(), nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 2 * channels)
        )
        self.interpolate = interpolate

    def forward(self, h: Tensor, ctx: dict, st):
        blocks, st = self.ctrl.step(h, ctx["c"], st)
        # The MLP is applied at block rate, before expansion: cheaper, and interpolation then
        # ramps gamma/beta themselves rather than the LSTM latent.
        return _modulate(h, blocks, self.ctrl.block, self.interpolate, self.head), st


class TVFiLM(nn.Module):
    """Per-block part of TVFiLM: a linear map (the papers' 1x1 conv) of the shared latent."""

    def __init__(self, channels: int, latent: int, block: int, interpolate: bool):
        super().__init__()
        self.adaptor = nn.Linear(latent, 2 * channels)
        self.block = block
        self.interpolate = interpolate

    def forward(self, h: Tensor, ctx: dict, st):
        return _modulate(h, ctx["tv"], self.block, self.interpolate, self.adaptor), st


class ConvConditioning(nn.Module):
    """Model-level part shared by the TCN and S4 backbones: builds the per-frame ctx and one
    modulator per block."""

    def __init__(
        self,
        kind: str,
        n_controls: int,
        channels: int,
        n_blocks: int,
        block: int,
        interpolate: bool,
        tv_hidden: int = 32,
    ):
        super().__init__()
        self.kind = kind
        self.mlp = control_mlp(n_controls) if kind == "film" else None
        self.tv = BlockController(1, n_controls, tv_hidden, block) if kind == "tvfilm" else None
        self.mods = nn.ModuleList(
            [self._modulator(kind, channels, n_controls, block, interpolate, tv_hidden) for _ in range(n_blocks)]
        )

    @staticmethod
    def _modulator(kind, channels, n_controls, block, interpolate, tv_hidden) -> nn.Module:
        if kind == "film":
            return FiLM(channels)
        if kind == "tfilm":
            return TFiLM(channels, n_controls, block, interpolate)
        if kind == "ttfilm":
            return TTFiLM(channels, n_controls, block, interpolate)
        if kind == "tvfilm":
            return TVFiLM(channels, tv_hidden, block, interpolate)
        raise ValueError(f"conditioning {kind!r} is not available for convolutional backbones")

    def context(self, x: Tensor, c: Tensor, tv_state):
        """Per-frame ctx from the model input x (B, 1, F) and controls c (B, n) or (B, n, F)."""
        ctx: dict = {"c": c}
        if self.mlp is not None:
            ctx["film"] = self.mlp(c.transpose(1, 2) if c.dim() == 3 else c)
        if self.tv is not None:
            ctx["tv"], tv_state = self.tv.step(x.abs(), c, tv_state)
        return ctx, tv_state

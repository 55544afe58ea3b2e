"""Training loss (weighted L1 + multi-resolution STFT, seed 000 table 5) and the metrics we
report: ESR, MAE, MSE, MAPE, MR-STFT."""

from __future__ import annotations

import auraloss
import torch
from torch import Tensor, nn

# auraloss settings of the papers (RESEARCH §5)
FFT_SIZES = [1024, 2048, 512]
HOP_SIZES = [120, 240, 50]
WIN_LENGTHS = [600, 1200, 240]
MAPE_EPS = 1.17e-6  # floor on |target| as in torchmetrics, so silence does not divide by zero

BANDS = [(0.01, "great"), (0.035, "not bad"), (0.1, "may sound ok"), (0.3, "probably not great")]


def mrstft_loss() -> nn.Module:
    return auraloss.freq.MultiResolutionSTFTLoss(fft_sizes=FFT_SIZES, hop_sizes=HOP_SIZES, win_lengths=WIN_LENGTHS)


class TrainLoss(nn.Module):
    def __init__(self, l1: float = 10.0, mrstft: float = 1.0):
        super().__init__()
        self.w_l1, self.w_mr = l1, mrstft
        self.mr = mrstft_loss() if mrstft > 0 else None

    def forward(self, pred: Tensor, target: Tensor) -> Tensor:
        loss = self.w_l1 * (pred - target).abs().mean()
        if self.mr is not None:
            loss = loss + self.w_mr * self.mr(pred, target)
        return loss


def esr(pred: Tensor, target: Tensor) -> float:
    """Error-to-signal ratio over everything given."""
    return float(((target - pred) ** 2).sum() / (target**2).sum().clamp_min(1e-12))


@torch.no_grad()
def metrics(pred: Tensor, target: Tensor, mr: nn.Module | None = None) -> dict[str, float]:
    err = target - pred
    out = {
        "esr": esr(pred, target),
        "mae": float(err.abs().mean()),
        "mse": float((err**2).mean()),
        "mape": float((err.abs() / target.abs().clamp_min(MAPE_EPS)).mean()),
    }
    if mr is not None:
        shape = (-1, 1, pred.shape[-1])  # auraloss wants (batch, channels, time)
        out["mrstft"] = float(mr(pred.reshape(shape), target.reshape(shape)))
    return out


def quality_band(value: float) -> str:
    """NAM's ESR bands (RESEARCH §4)."""
    for limit, label in BANDS:
        if value < limit:
            return label
    return "something went wrong"

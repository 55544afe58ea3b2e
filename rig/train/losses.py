"""Training loss (weighted L1 + multi-resolution STFT, Comunità et al. 2025, table 5) and the metrics we
report: ESR, MAE, MSE, MAPE, MR-STFT."""

from __future__ import annotations

import auraloss
import torch
from torch import Tensor, nn

# auraloss settings of the papers (Comunità et al. 2025)
FFT_SIZES = [1024, 2048, 512]
HOP_SIZES = [120, 240, 50]
WIN_LENGTHS = [600, 1200, 240]
MAPE_EPS = 1.17e-6  # floor on |target| as in torchmetrics, so silence does not divide by zero

BANDS = [(0.01, "great"), (0.035, "not bad"), (0.1, "may sound ok"), (0.3, "probably not great")]


def mrstft_loss() -> nn.Module:
    return auraloss.freq.MultiResolutionSTFTLoss(fft_sizes=FFT_SIZES, hop_sizes=HOP_SIZES, win_lengths=WIN_LENGTHS)


class FastMRSTFT(nn.Module):
    """auraloss's MultiResolutionSTFTLoss with its defaults (spectral convergence + L1 of log
    magnitudes, Hann windows, mean over resolutions), the same value, computed with less work
    per training step: no phase (auraloss takes torch.angle of every STFT and then ignores it),
    the target's STFT without autograd, log|X| from the power directly, windows built once.
    tests/train/test_fast_paths.py holds it equal to auraloss, value and gradient."""

    def __init__(self, eps: float = 1e-8):
        super().__init__()
        self.eps = eps
        self.resolutions = list(zip(FFT_SIZES, HOP_SIZES, WIN_LENGTHS))
        for i, (_, _, win) in enumerate(self.resolutions):
            self.register_buffer(f"window{i}", torch.hann_window(win), persistent=False)

    def _power(self, x: Tensor, i: int) -> Tensor:
        n_fft, hop, win = self.resolutions[i]
        window = getattr(self, f"window{i}").to(x)  # no-op unless the loss was not moved with the model
        spec = torch.stft(x, n_fft, hop, win, window, return_complex=True)
        return torch.view_as_real(spec).square().sum(-1).clamp_min(self.eps)

    def forward(self, pred: Tensor, target: Tensor) -> Tensor:
        x, y = pred.reshape(-1, pred.shape[-1]), target.reshape(-1, target.shape[-1])
        total = pred.new_zeros(())
        for i in range(len(self.resolutions)):
            px = self._power(x, i)
            with torch.set_grad_enabled(target.requires_grad and torch.is_grad_enabled()):
                py = self._power(y, i)
                mag_y, log_y = py.sqrt(), py.log()
            sc = torch.linalg.vector_norm(mag_y - px.sqrt()) / torch.linalg.vector_norm(mag_y)
            log_mag = 0.5 * (px.log() - log_y).abs().mean()  # log sqrt(p) = log(p) / 2
            total = total + sc + log_mag
        return total / len(self.resolutions)


class TrainLoss(nn.Module):
    def __init__(self, l1: float = 10.0, mrstft: float = 1.0, esr: float = 0.0):
        super().__init__()
        self.w_l1, self.w_mr, self.w_esr = l1, mrstft, esr
        self.mr = FastMRSTFT() if mrstft > 0 else None

    def forward(self, pred: Tensor, target: Tensor) -> Tensor:
        err = pred - target
        loss = self.w_l1 * err.abs().mean()
        if self.w_esr > 0:  # over the whole batch, as the test's ESR is over a whole take
            loss = loss + self.w_esr * err.square().sum() / target.square().sum().clamp_min(1e-12)
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
    """NAM's ESR bands (S. Atkinson, Neural Amp Modeler, 2023)."""
    for limit, label in BANDS:
        if value < limit:
            return label
    return "something went wrong"

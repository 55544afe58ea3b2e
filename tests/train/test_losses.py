"""Loss and metrics: auraloss MR-STFT at the papers' resolutions, ESR, MAPE, quality bands."""

from __future__ import annotations

import pytest
import torch

from rig.train.losses import TrainLoss, esr, metrics, mrstft_loss, quality_band


def test_mrstft_uses_the_papers_resolutions():
    mr = mrstft_loss()
    got = sorted((s.fft_size, s.hop_size, s.win_length) for s in mr.stft_losses)
    assert got == [(512, 50, 240), (1024, 120, 600), (2048, 240, 1200)]


def test_train_loss_weights_and_metrics():
    torch.manual_seed(0)
    y = torch.randn(2, 1, 8000)
    assert float(TrainLoss(10, 1)(y, y)) == pytest.approx(0.0, abs=1e-5)
    assert float(TrainLoss(2, 0)(y + 0.1, y)) == pytest.approx(0.2, rel=1e-5)
    m = metrics(0.9 * y, y, mrstft_loss())
    assert m["esr"] == pytest.approx(0.01, rel=1e-5)
    assert esr(0.9 * y, y) == pytest.approx(0.01, rel=1e-5)
    assert m["mape"] == pytest.approx(0.1, rel=1e-4)
    assert m["mse"] == pytest.approx(0.01 * float((y**2).mean()), rel=1e-4)
    assert m["mrstft"] > 0


@pytest.mark.parametrize(
    ("value", "band"),
    [
        (0.005, "great"),
        (0.02, "not bad"),
        (0.05, "may sound ok"),
        (0.2, "probably not great"),
        (0.5, "something went wrong"),
    ],
)
def test_quality_bands(value, band):
    assert quality_band(value) == band

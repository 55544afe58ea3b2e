"""The training and streaming speed-ups compute what the plain operations compute: the MR-STFT
loss equals auraloss's (value and gradient), the dilated convolution's hand-written backward
equals ATen's, and the one-voice GEMM convolution equals Conv1d."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from rig.train.config import load_model_config, named_configs
from rig.train.losses import FastMRSTFT, TrainLoss, mrstft_loss
from rig.train.models import build_model
from rig.train.models.blockrate import expand
from rig.train.models.conditioning import _affine, held_affine
from rig.train.models.dilated import dilated_conv


def _loss_and_grad(loss_fn, pred, target):
    pred = pred.clone().requires_grad_()
    loss = loss_fn(pred, target)
    loss.backward()
    return float(loss.detach()), pred.grad


@pytest.mark.parametrize("noise", [0.05, 1.0])
def test_fast_mrstft_equals_auraloss(noise):
    gen = torch.Generator().manual_seed(0)
    target = 0.3 * torch.randn(3, 1, 6000, generator=gen)
    pred = 0.9 * target + noise * 0.3 * torch.randn(3, 1, 6000, generator=gen)
    want, want_grad = _loss_and_grad(mrstft_loss(), pred, target)
    got, got_grad = _loss_and_grad(FastMRSTFT(), pred, target)
    assert got == pytest.approx(want, rel=1e-5)
    assert torch.allclose(got_grad, want_grad, rtol=1e-4, atol=1e-4 * float(want_grad.abs().max()))


def test_train_loss_is_weighted_l1_plus_auraloss_mrstft():
    gen = torch.Generator().manual_seed(1)
    target = 0.3 * torch.randn(2, 1, 4000, generator=gen)
    pred = target + 0.1 * torch.randn(2, 1, 4000, generator=gen)
    want = 10 * float((pred - target).abs().mean()) + float(mrstft_loss()(pred, target))
    assert float(TrainLoss(10, 1)(pred, target)) == pytest.approx(want, rel=1e-5)


@pytest.mark.parametrize(("in_ch", "dilation"), [(1, 1), (16, 4), (16, 256)])
def test_dilated_conv_backward_equals_aten(in_ch, dilation):
    torch.manual_seed(0)
    conv = nn.Conv1d(in_ch, 16, 7, dilation=dilation).double()
    x = torch.randn(2, in_ch, 6 * dilation + 700, dtype=torch.float64, requires_grad=True)
    params = (x, conv.weight, conv.bias)
    want_y = conv(x)
    grad_out = torch.randn_like(want_y)
    want = torch.autograd.grad(want_y, params, grad_out)
    got_y = dilated_conv(x, conv)
    got = torch.autograd.grad(got_y, params, grad_out)
    assert torch.allclose(got_y, want_y)
    for g, w in zip(got, want):
        assert torch.allclose(g, w, atol=1e-10)


@pytest.mark.parametrize("name", ["tcn-tvf-45-s-16", "tcn-f-45-s-16"])
def test_one_voice_gemm_path_equals_batched_conv(name):
    """Batch 1 under no_grad runs the tap-gather GEMM; a batch of 2 runs Conv1d."""
    torch.manual_seed(0)
    model = build_model(load_model_config(named_configs()[name]), 3).eval()
    gen = torch.Generator().manual_seed(2)
    x, c = 0.3 * torch.randn(2, 1, 3000, generator=gen), torch.rand(2, 3, generator=gen)
    with torch.no_grad():
        batched = model(x, c)[:1]
        alone = model(x[:1], c[:1])
    assert torch.allclose(alone, batched, atol=1e-5)


def test_tcn_training_gradients_equal_plain_conv(monkeypatch):
    """A whole TCN step's parameter gradients with the fast backward equal those of Conv1d's."""
    import rig.train.models.tcn as tcn

    torch.manual_seed(0)
    model = build_model(load_model_config(named_configs()["tcn-tvf-45-s-16"]), 2).double().train()
    gen = torch.Generator().manual_seed(3)
    x = 0.3 * torch.randn(2, 1, 4000, generator=gen, dtype=torch.float64)
    c = torch.rand(2, 2, generator=gen, dtype=torch.float64)

    def grads():
        model.zero_grad()
        model(x, c).square().mean().backward()
        return [p.grad.clone() for p in model.parameters()]

    fast = grads()
    monkeypatch.setattr(tcn, "dilated_conv", lambda h, conv: conv(h))
    plain = grads()
    for f, p in zip(fast, plain):
        assert torch.allclose(f, p, rtol=1e-7, atol=1e-12)


@pytest.mark.parametrize(("n0", "frame"), [(0, 1000), (37, 91), (127, 1), (5, 256)])
def test_held_affine_equals_expanded_affine(n0, frame):
    """Per-block gamma/beta by broadcasting equals writing them out at every sample."""
    gen = torch.Generator().manual_seed(5)
    block = 128
    k = (n0 + frame + block - 1) // block
    h = torch.randn(2, 3, frame, generator=gen, requires_grad=True)
    gb = torch.randn(2, k + 1, 6, generator=gen, requires_grad=True)  # the blocks the frame touches, and one spare
    want = _affine(h, expand(gb, gb, n0, frame, block, False))
    got = held_affine(h, gb, n0, block)
    assert torch.allclose(got, want, atol=1e-6)  # addcmul rounds once where mul + add round twice
    grad = torch.randn_like(want)
    for g, w in zip(torch.autograd.grad(got, (h, gb), grad), torch.autograd.grad(want, (h, gb), grad)):
        assert torch.allclose(g, w, atol=1e-6)

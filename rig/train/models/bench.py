"""Speed figures for `rig bench train|infer`.

Real-time factor as in Comunità et al. 2025, sec. 6.2: RTF = F / (T * fs) for frames of F samples that take
T seconds each, averaged over consecutive frames with state carried: RTF > 1 is faster than real
time. (Its inverse, T * fs / F, is the fraction of a core the model needs.)
"""

from __future__ import annotations

import time
from typing import Literal

import torch

from rig.train.config import ModelConfig
from rig.train.losses import TrainLoss
from rig.train.models import build_model
from rig.train.step import step_workers, train_step

FS = 48000


def samples_per_second(
    cfg: ModelConfig,
    n_controls: int = 4,
    batch: int = 8,
    segment: int = 12000,
    steps: int = 3,
    max_context: int = 48000,
) -> float:
    """Training throughput as the trainer steps: a batch of `segment` loss samples with the
    receptive field prepended as context, the config's loss (L1 + MR-STFT), grad clipping and
    AdamW (LSTMs backprop every tbptt_samples), on torch's threads as the trainer uses them (a
    batch split over them where step_workers allows). Counts loss samples; one warm-up step is
    not counted."""
    model = build_model(cfg, n_controls).train()
    threads = torch.get_num_threads()
    workers = step_workers(model, cfg.training.tbptt_samples, torch.device("cpu"), threads)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.training.lr)
    loss_fn = TrainLoss(cfg.training.loss.l1, cfg.training.loss.mrstft, cfg.training.loss.esr)
    context = min(model.receptive_field - 1, max_context)
    x, c = torch.randn(batch, 1, context + segment) * 0.3, torch.rand(batch, n_controls)
    y = x[..., context:].tanh()
    torch.set_num_threads(1 if workers > 1 else threads)
    try:
        for i in range(steps + 1):
            if i == 1:
                start = time.perf_counter()
            t = cfg.training
            train_step(model, opt, loss_fn, x, c, y, t.tbptt_samples, t.grad_clip_norm, workers=workers)
        return batch * segment * steps / (time.perf_counter() - start)
    finally:
        torch.set_num_threads(threads)


def realtime_factor(
    cfg: ModelConfig,
    frame_sizes: list[int],
    n_controls: int = 4,
    n_frames: int = 500,
    max_seconds: float = 2.0,
    method: Literal["stream", "recompute"] = "stream",
) -> dict[int, float]:
    """RTF per frame size. "stream" uses forward_stream (a TCN keeps per-layer history);
    "recompute" is the papers' frame method for TCNs: each frame runs forward on F + rf - 1
    samples (the previous rf - 1 inputs re-fed) and keeps the last F outputs; recurrent state of
    time-varying conditioners is not carried then, so use it for timing only.
    Stops a frame size after n_frames or max_seconds, whichever comes first (at least 3 frames)."""
    model = build_model(cfg, n_controls).eval()
    return {f: _rtf(model, f, n_controls, n_frames, max_seconds, method) for f in frame_sizes}


@torch.inference_mode()
def _rtf(model, frame: int, n_controls: int, n_frames: int, max_seconds: float, method: str) -> float:
    c = torch.rand(1, n_controls)
    state = model.init_state(1)
    history = torch.zeros(1, 1, model.receptive_field - 1)
    run = 0
    step_fn = _recompute if method == "recompute" else _stream
    state, history = step_fn(model, torch.randn(1, 1, frame) * 0.3, c, state, history)  # warm-up
    start = time.perf_counter()
    while run < n_frames and (run < 3 or time.perf_counter() - start < max_seconds):
        state, history = step_fn(model, torch.randn(1, 1, frame) * 0.3, c, state, history)
        run += 1
    return frame * run / ((time.perf_counter() - start) * FS)


def _stream(model, x, c, state, history):
    return model.forward_stream(x, c, state)[1], history


def _recompute(model, x, c, state, history):
    full = torch.cat([history, x], dim=-1)
    model(full, c)[..., -x.shape[-1] :]
    return state, full[..., full.shape[-1] - history.shape[-1] :]

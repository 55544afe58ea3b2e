"""Figures for `rig bench train` and `rig bench infer` (JSON-ready dicts), measured with the
models' own helpers on this CPU."""

from __future__ import annotations

import subprocess
import sys
import time
from contextlib import contextmanager

from rig.train.config import load_model_config, named_configs
from rig.train.models import build_model
from rig.train.models.bench import realtime_factor, samples_per_second

DEFAULT_MODEL = "tcn-tvf-45-s-16"
BUSY_FRAME = 512
FRAMES = [32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384]


def _configs(names: list[str] | None):
    shipped = named_configs()
    chosen = names or list(shipped)
    return {n: load_model_config(shipped.get(n, n)) for n in chosen}


def train_figures(
    names: list[str] | None = None, n_controls: int = 4, batch: int = 8, segment: int = 12000, steps: int = 2
) -> dict:
    out = {}
    for name, cfg in _configs(names).items():
        params = build_model(cfg, n_controls).n_params()
        sps = samples_per_second(cfg, n_controls, batch=batch, segment=segment, steps=steps)
        out[name] = {"params": params, "samples_per_second": round(sps), "realtime_x": round(sps / 48000, 2)}
    return out


def infer_figures(
    names: list[str] | None = None, frames: list[int] | None = None, n_controls: int = 4, max_seconds: float = 1.0
) -> dict:
    return {
        name: {
            str(f): round(r, 2)
            for f, r in realtime_factor(cfg, frames or FRAMES, n_controls, max_seconds=max_seconds).items()
        }
        for name, cfg in _configs(names).items()
    }


def bench_train(quick: bool = False) -> dict:
    """`rig bench train`: samples/s of a training step as the trainer runs it (batch 8 x 12000
    loss samples plus the receptive field as context, L1 + MR-STFT, AdamW) for each named config
    on all cores (--quick: 2 configs, 1 step)."""
    import torch

    from rig.train.trainer import default_threads

    torch.set_num_threads(default_threads())
    names = [DEFAULT_MODEL, "lstm-c-32"] if quick else None
    return {
        "threads": torch.get_num_threads(),
        "batch": 8,
        "segment": 12000,
        "models": train_figures(names, steps=1 if quick else 3),
    }


def bench_infer(quick: bool = False) -> dict:
    """`rig bench infer`: streaming real-time factor per frame size for each named config on one
    thread (as the player runs), then the default model at 512-sample frames while every core
    is busy with other processes, on one thread and on all cores."""
    import torch

    from rig.train.trainer import default_threads

    names = [DEFAULT_MODEL, "lstm-c-32"] if quick else None
    frames = [256, 512] if quick else FRAMES
    seconds = 0.3 if quick else 1.0
    torch.set_num_threads(1)
    idle = infer_figures(names, frames, max_seconds=seconds)
    cores = default_threads()
    busy = {}
    with busy_cores(cores):
        for threads in sorted({1, cores}):
            torch.set_num_threads(threads)
            busy[f"threads_{threads}"] = infer_figures([DEFAULT_MODEL], [BUSY_FRAME], max_seconds=seconds)[
                DEFAULT_MODEL
            ][str(BUSY_FRAME)]
    torch.set_num_threads(1)
    return {
        "threads": 1,
        "frames": frames,
        "models": idle,
        "busy": {"model": DEFAULT_MODEL, "frame": BUSY_FRAME, "spinning_processes": cores, "rtf": busy},
    }


@contextmanager
def busy_cores(n: int):
    """n processes spinning on the CPU for the duration: a machine busy with other work."""
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]
    try:
        time.sleep(0.2)  # let them get scheduled before measuring
        yield
    finally:
        for p in spinners:
            p.kill()
            p.wait()

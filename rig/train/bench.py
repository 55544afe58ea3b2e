"""Figures for `rig bench train` and `rig bench infer` (JSON-ready dicts), measured with the
models' own helpers on this CPU."""

from __future__ import annotations

from rig.train.config import load_model_config, named_configs
from rig.train.models import build_model
from rig.train.models.bench import realtime_factor, samples_per_second

FRAMES = [32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384]


def _configs(names: list[str] | None):
    shipped = named_configs()
    chosen = names or list(shipped)
    return {n: load_model_config(shipped.get(n, n)) for n in chosen}


def train_figures(names: list[str] | None = None, n_controls: int = 4, batch: int = 8,
                  segment: int = 24000, steps: int = 2) -> dict:
    out = {}
    for name, cfg in _configs(names).items():
        params = build_model(cfg, n_controls).n_params()
        sps = samples_per_second(cfg, n_controls, batch=batch, segment=segment, steps=steps)
        out[name] = {"params": params, "samples_per_second": round(sps), "realtime_x": round(sps / 48000, 2)}
    return out


def infer_figures(names: list[str] | None = None, frames: list[int] | None = None, n_controls: int = 4,
                  max_seconds: float = 1.0) -> dict:
    return {name: {str(f): round(r, 2) for f, r in realtime_factor(cfg, frames or FRAMES, n_controls,
                                                                   max_seconds=max_seconds).items()}
            for name, cfg in _configs(names).items()}


def bench_train(quick: bool = False) -> dict:
    """`rig bench train`: samples/s of a training step for each named config (--quick: 2 configs)."""
    import torch

    names = ["tcn-f-45-s-16", "lstm-c-32"] if quick else None
    segment = 4800 if quick else 24000
    return {"threads": torch.get_num_threads(), "models": train_figures(names, segment=segment, steps=1 if quick else 2)}


def bench_infer(quick: bool = False) -> dict:
    """`rig bench infer`: streaming real-time factor per frame size for each named config."""
    import torch

    names = ["tcn-f-45-s-16", "lstm-c-32"] if quick else None
    frames = [64, 1024] if quick else FRAMES
    return {"threads": torch.get_num_threads(), "frames": frames,
            "models": infer_figures(names, frames, max_seconds=0.3 if quick else 1.0)}

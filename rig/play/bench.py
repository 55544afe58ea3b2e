"""`rig bench play`: per model family, the time one 256-sample period takes through the player
(sub-frames included) on each runtime, one thread; the fastest is the family's default
(rig.play.runtime.DEFAULT_BY_FAMILY)."""

from __future__ import annotations

import time

import numpy as np
import torch

from rig.play.core import PlayerCore
from rig.play.runtime import KINDS, family
from rig.train.config import load_model_config, named_configs
from rig.train.models import build_model
from rig.train.render import Loaded

PERIOD = 256
KNOBS = [{"name": "gain", "min": 0.0, "max": 10.0}, {"name": "tone", "min": 0.0, "max": 10.0}]


def bench_play(quick: bool = False) -> dict:
    torch.set_num_threads(1)  # as the player runs
    periods = 100 if quick else 600
    rows = []
    for name, path in named_configs().items():
        cfg = load_model_config(path)
        torch.manual_seed(0)
        loaded = Loaded(build_model(cfg, len(KNOBS)).eval(), KNOBS, 48000, {}, cfg)
        x = (0.3 * np.random.default_rng(0).standard_normal(PERIOD * periods)).astype(np.float32)
        row = {"model": name, "family": family(cfg)}
        for kind in KINDS:
            core = PlayerCore(loaded, {"gain": 5.0, "tone": 5.0}, PERIOD, kind)
            times = []
            for i in range(periods):
                if i % 50 == 0:
                    core.request({"gain": float(i % 10)})  # knob moves: the glide runs too
                t = time.perf_counter()
                core.period(x[i * PERIOD : (i + 1) * PERIOD])
                times.append(time.perf_counter() - t)
            ms = np.array(times[5:]) * 1e3
            row[kind] = {
                "ran": core.runner.kind,
                "median_ms": round(float(np.median(ms)), 3),
                "p99_ms": round(float(np.percentile(ms, 99)), 3),
                "frame": core.runner.frame,
            }
        graphs = [k for k in ("onnx", "torchscript") if row[k]["ran"] == k]
        row["fastest"] = min(graphs or ["eager"], key=lambda k: row[k]["median_ms"])
        rows.append(row)
    return {"period": PERIOD, "sample_rate": 48000, "period_ms": PERIOD / 48.0, "threads": 1, "models": rows}

"""`rig bench play`: per model family, the time one 256-sample period takes through the player
(sub-frames included) on each runtime, one thread; the fastest is the family's default
(rig.play.runtime.DEFAULT_BY_FAMILY). `rig bench play --jack`: xruns, late periods and CPU per
period of `rig play` itself on a JACK dummy server, with the machine's jitter beside them."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
import torch

from rig.audio.jackserver import start_dummy_server
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
        row: dict[str, Any] = {"model": name, "family": family(cfg)}
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
        graphs: list[str] = [k for k in ("onnx", "torchscript") if row[k]["ran"] == k]
        row["fastest"] = min(graphs or ["eager"], key=lambda k: row[k]["median_ms"])
        rows.append(row)
    return {"period": PERIOD, "sample_rate": 48000, "period_ms": PERIOD / 48.0, "threads": 1, "models": rows}


# ---- `rig bench play --jack`: xruns of the real player under a JACK dummy server -----------
JACK_MODELS = ("lstm-c-32", "tcn-tvf-45-s-16")
JACK_PERIODS = (256, 512)
PLAY_LINE = re.compile(
    r"(\d+) periods .*: xruns (\d+), late periods (\d+), CPU per period mean ([\d.]+)% max ([\d.]+)%"
)


def bench_play_jack(quick: bool = False, seconds: float | None = None) -> dict:
    """For each model and JACK period: 60 s (`quick`: 10 s) of `rig play` (a subprocess, as a
    user runs it) on a private jackd with the dummy driver at 48 kHz, a looped noise file in,
    a knob line on its terminal every second. Reports its xruns, late periods and CPU per
    period, with the load average and this machine's scheduling jitter around each run."""
    from rig.audio.realtime import measure_jitter

    seconds = seconds or (10.0 if quick else 60.0)
    rows = []
    with tempfile.TemporaryDirectory(prefix="rig-play-bench-") as tmp:
        folder = Path(tmp)
        noise = folder / "noise.wav"
        x = (0.3 * np.random.default_rng(0).standard_normal(48000 * 5)).astype(np.float32)
        sf.write(noise, x, 48000, subtype="FLOAT")
        models = {name: _export_untrained(name, folder) for name in JACK_MODELS}
        for period in JACK_PERIODS:
            for name, path in models.items():
                jitter = measure_jitter()
                load = os.getloadavg()[0]
                row = {"model": name, "period": period, "period_ms": round(period / 48.0, 2)}
                row.update(_play_on_jack(path, noise, period, seconds))
                row.update({"load_1min": round(load, 2), "jitter_worst_ms": jitter["worst_ms"]})
                rows.append(row)
    return {"bench": "play --jack", "seconds": seconds, "sample_rate": 48000, "runs": rows}


def _export_untrained(name: str, folder: Path) -> Path:
    """The shipped config with its initial weights: the cost of a period does not depend on them."""
    from rig.train.export import export_model

    cfg = load_model_config(named_configs()[name])
    torch.manual_seed(0)
    model = build_model(cfg, len(KNOBS)).eval()
    out = folder / name
    export_model(model, out, {"config": cfg.model_dump(mode="json"), "knobs": KNOBS, "sample_rate": 48000})
    return out


def _play_on_jack(model: Path, noise: Path, period: int, seconds: float) -> dict:
    server = f"rigbench{os.getpid()}"
    jackd = start_dummy_server(server, 48000, period, stderr=subprocess.PIPE)
    try:
        cmd = [sys.executable, "-m", "rig", "play", "--model", str(model), "--input", str(noise), "--loop"]
        cmd += ["--server", server, "--set", "gain=5,tone=5"]
        player = subprocess.Popen(cmd, stdin=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert player.stdin is not None
        time.sleep(3.0)  # start-up: model load and graph build (not measured: the report counts all periods)
        for i in range(int(seconds)):
            player.stdin.write(f"gain={(3 * i) % 11}\n")  # a knob change every second
            player.stdin.flush()
            time.sleep(1.0)
        player.stdin.write("quit\n")
        player.stdin.flush()
        _, err = player.communicate(timeout=60)
    finally:
        jackd.terminate()
        jackd_err = jackd.communicate(timeout=10)[1]
    found = PLAY_LINE.search(err)
    if not found:
        raise RuntimeError(f"rig play gave no report: {err[-500:]}")
    periods, xruns, late, mean, peak = found.groups()
    return {
        "periods": int(periods),
        "xruns": int(xruns),
        "late_periods": int(late),
        "cpu_mean_pct": float(mean),
        "cpu_max_pct": float(peak),
        "jackd_late_client_lines": sum("rig-play" in line for line in jackd_err.splitlines()),
    }

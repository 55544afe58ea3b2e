"""Alignment benchmark: random latencies, noise from -90 to -40 dBFS, heavy distortion and a
random level on the loopback path. A *wrong* alignment (a take stored misaligned) is the
failure that matters; a *missed* one raises AlignmentError and is re-recorded."""

from __future__ import annotations

import time

import numpy as np
from scipy.signal import lfilter

from rig.audio.align import AlignmentError, align_take
from rig.audio.interface import TAIL_S, Recording
from rig.audio.program import build_program
from rig.plan.models import Plan

NOISE_LEVELS = (-90, -80, -70, -60, -50, -45, -40)


def distort(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Asymmetric overdrive, hard clip, a DC blocker and a random level: a badly abused loopback."""
    drive = 10 ** rng.uniform(0, 2)  # 1x .. 100x
    y = np.tanh(drive * (x + rng.uniform(0, 0.5) * x * x))
    y = np.clip(y, -rng.uniform(0.3, 1.0), rng.uniform(0.3, 1.0))
    y = lfilter([1, -1], [1, -0.9987], y)  # ~10 Hz high-pass, as interface inputs are AC-coupled
    return y * 10 ** (rng.uniform(-30, 0) / 20)


def one_trial(program, rng: np.random.Generator, noise_dbfs: float, max_latency: int) -> str:
    latency = int(rng.integers(0, max_latency))
    n = program.samples + int(TAIL_S * program.sample_rate)
    sent = np.zeros(n)
    sent[latency : latency + program.samples] = program.signal[: n - latency]
    loop = distort(sent, rng) + rng.standard_normal(n) * 10 ** (noise_dbfs / 20)
    wet = np.tanh(5 * sent) + rng.standard_normal(n) * 10 ** (noise_dbfs / 20)
    try:
        found = align_take(program, Recording(loop.astype(np.float32), wet.astype(np.float32), program.sample_rate))
    except AlignmentError:
        return "missed"
    return "ok" if found.latency_samples == latency else "wrong"


def bench_align(quick: bool = False, trials: int = 1000, seed: int = 0) -> dict:
    """`rig bench align [--quick]`; quick runs 140 trials."""
    if quick:
        trials = 140
    rng = np.random.default_rng(seed)
    plan = Plan(knobs=[{"name": "gain", "axis": 0}], take={"seconds": 2.0, "pre_roll_s": 0.2, "post_roll_s": 0.2})
    programs = [build_program(plan, split, s) for s in range(2) for split in ("train", "test")]
    max_latency = int(TAIL_S * plan.audio.sample_rate)
    counts = {lvl: {"trials": 0, "wrong": 0, "missed": 0} for lvl in NOISE_LEVELS}
    t0 = time.perf_counter()
    for i in range(trials):
        level = NOISE_LEVELS[i % len(NOISE_LEVELS)]
        outcome = one_trial(programs[i % len(programs)], rng, level, max_latency)
        counts[level]["trials"] += 1
        if outcome != "ok":
            counts[level][outcome] += 1
    by_level = {f"{lvl} dBFS": {**c, "wrong_rate": _rate(c["wrong"], c["trials"]),
                                "missed_rate": _rate(c["missed"], c["trials"])} for lvl, c in counts.items()}
    quiet_wrong = sum(c["wrong"] for lvl, c in counts.items() if lvl <= -50)
    return {
        "bench": "align", "trials": trials, "latency_range_samples": [0, max_latency],
        "distortion": "tanh drive 1-100x, asymmetric, hard clip 0.3-1, 10 Hz high-pass, level -30..0 dB",
        "by_noise": by_level,
        "wrong_at_or_below_-50dBFS": quiet_wrong, "target_met": quiet_wrong == 0,
        "seconds": round(time.perf_counter() - t0, 1),
    }


def _rate(k: int, n: int) -> float:
    return round(k / n, 4) if n else 0.0

"""Alignment benchmark: random latencies, noise from -90 to -40 dBFS, heavy distortion and a
random level on the loopback path; then odd but lossless loopbacks (DC offset, soft clipping,
a converter's low-pass), each as sent and polarity-inverted. A *wrong* alignment (a take stored misaligned) is the
failure that matters; a *missed* one raises AlignmentError and is re-recorded."""

from __future__ import annotations

import time

import numpy as np
from scipy.signal import butter, lfilter, sosfiltfilt

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


def converter_low_pass(x: np.ndarray, sample_rate: int = 48000) -> np.ndarray:
    """An interface's anti-alias/reconstruction band limit (20 kHz, steep, zero phase: the
    converter's fixed group delay is part of the latency it reports, not a shift to find)."""
    return sosfiltfilt(butter(8, 20000, fs=sample_rate, output="sos"), x)


# Odd but lossless loopbacks: each must align exactly, in either polarity.
LOOPBACK_FAULTS = {
    "clean": lambda x: x,
    "dc_offset": lambda x: x + 0.1,
    "soft_clip": lambda x: np.tanh(4 * x) / np.tanh(4),
    "low_pass": converter_low_pass,
    "dc+clip+low_pass": lambda x: converter_low_pass(np.tanh(4 * x) / np.tanh(4)) * 0.5 - 0.05,
}


def odd_loopback(sent: np.ndarray, fault: str, polarity: int) -> np.ndarray:
    return polarity * LOOPBACK_FAULTS[fault](sent)


def delayed(program, latency: int) -> np.ndarray:
    """What reaches the inputs: the program `latency` samples late, in a recording with a tail."""
    n = program.samples + int(TAIL_S * program.sample_rate)
    sent = np.zeros(n)
    sent[latency : latency + program.samples] = program.signal[: n - latency]
    return sent


def one_trial(program, rng: np.random.Generator, noise_dbfs: float, max_latency: int, loopback=None) -> str:
    """`loopback(sent, rng)`: the loopback path (default `distort`)."""
    latency = int(rng.integers(0, max_latency))
    sent = delayed(program, latency)
    n = len(sent)
    loop = (loopback or distort)(sent, rng) + rng.standard_normal(n) * 10 ** (noise_dbfs / 20)
    wet = np.tanh(5 * sent) + rng.standard_normal(n) * 10 ** (noise_dbfs / 20)
    try:
        found = align_take(program, Recording(loop.astype(np.float32), wet.astype(np.float32), program.sample_rate))
    except AlignmentError:
        return "missed"
    return "ok" if found.latency_samples == latency else "wrong"


def bench_odd_loopbacks(programs, rng: np.random.Generator, max_latency: int, trials: int) -> dict:
    """Each fault in both polarities at -60 and -40 dBFS noise: wrong/missed counts."""
    rows = {}
    for fault in LOOPBACK_FAULTS:
        for polarity in (1, -1):
            counts = {"trials": 0, "wrong": 0, "missed": 0}
            for i in range(trials):
                noise = (-60, -40)[i % 2]
                outcome = one_trial(
                    programs[i % len(programs)],
                    rng,
                    noise,
                    max_latency,
                    lambda x, _rng, f=fault, p=polarity: odd_loopback(x, f, p),
                )
                counts["trials"] += 1
                if outcome != "ok":
                    counts[outcome] += 1
            rows[f"{fault} {'inverted' if polarity < 0 else 'as sent'}"] = counts
    return rows


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
    by_level = {
        f"{lvl} dBFS": {
            **c,
            "wrong_rate": _rate(c["wrong"], c["trials"]),
            "missed_rate": _rate(c["missed"], c["trials"]),
        }
        for lvl, c in counts.items()
    }
    quiet_wrong = sum(c["wrong"] for lvl, c in counts.items() if lvl <= -50)
    odd = bench_odd_loopbacks(programs, rng, max_latency, 4 if quick else 20)
    odd_bad = sum(c["wrong"] + c["missed"] for c in odd.values())
    return {
        "bench": "align",
        "trials": trials,
        "latency_range_samples": [0, max_latency],
        "distortion": "tanh drive 1-100x, asymmetric, hard clip 0.3-1, 10 Hz high-pass, level -30..0 dB",
        "by_noise": by_level,
        "wrong_at_or_below_-50dBFS": quiet_wrong,
        "odd_loopbacks": odd,
        "odd_loopbacks_not_exact": odd_bad,
        "target_met": quiet_wrong == 0 and odd_bad == 0,
        "seconds": round(time.perf_counter() - t0, 1),
    }


def _rate(k: int, n: int) -> float:
    return round(k / n, 4) if n else 0.0

"""Take checks: a take enters a dataset only if every check passes. Each failed check gives
one human-readable reason; all figures are stored with the take."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from rig.audio.align import AlignedTake
from rig.audio.interface import Recording
from rig.audio.program import DryProgram
from rig.plan.models import QC, Take

# The plan's default (plan.take.qc.drift_esr): the replicate threshold of S. Atkinson's Neural
# Amp Modeler (2023, github.com/sdatkinson/neural-amp-modeler), whose trainer warns above it.
DRIFT_ESR: float = QC().drift_esr
FLOOR_DB = -200.0  # digital silence is reported as this, not -inf (JSON has no inf)


@dataclass
class QCResult:
    ok: bool
    reasons: list[str] = field(default_factory=list)
    figures: dict = field(default_factory=dict)


def db(x: float) -> float:
    return round(max(FLOOR_DB, 20 * float(np.log10(x))) if x > 0 else FLOOR_DB, 2)


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if len(x) else 0.0


def check_take(program: DryProgram, rec: Recording, take: AlignedTake, take_cfg: Take | None = None) -> QCResult:
    """Measure a take and judge it against the plan's thresholds (`take_cfg.qc`; the defaults
    of `QC` without a plan)."""
    lim = take_cfg.qc if take_cfg is not None else QC()
    figures = measure(program, rec, take, lim)
    reasons = judge(figures, lim)
    return QCResult(ok=not reasons, reasons=reasons, figures=figures)


def measure(program: DryProgram, rec: Recording, take: AlignedTake, lim: QC) -> dict:
    channels = {"dry": take.dry, "loopback": take.loopback, "wet": take.wet}
    c0, c1 = take.content
    # Noise from the pre-roll, minus a margin in case the device rings before its delay settles.
    quiet = slice(0, max(1, program.start_impulses[0] - int(0.01 * program.sample_rate)))
    noise = {k: db(rms(take.__dict__[k][quiet])) for k in ("loopback", "wet")}
    level = {k: db(rms(x[c0:c1])) for k, x in channels.items()}
    return {
        "clipped": {k: int(np.count_nonzero(np.abs(x) >= lim.clip_level)) for k, x in channels.items()},
        "peak_dbfs": {k: db(float(np.max(np.abs(x)))) for k, x in channels.items()},
        "rms_dbfs": level,
        "noise_floor_dbfs": noise,
        "snr_db": round(level["wet"] - noise["wet"], 2),
        "dc": {k: round(float(np.mean(channels[k][c0:c1], dtype=np.float64)), 5) for k in ("loopback", "wet")},
        "xruns": int(rec.status.get("xruns", 0)),
        "overflow": int(rec.status.get("overflow", 0)),
        "underflow": int(rec.status.get("underflow", 0)),
        "latency_samples": take.latency_samples,
        "loopback_polarity": take.loopback_polarity,
        "device_delay_samples": take.device_delay_samples,
        "impulse_error_samples": take.impulse_error_samples,
        "impulse_scores": take.impulse_scores,
    }


def judge(f: dict, lim: QC) -> list[str]:
    reasons = []
    for ch, count in f["clipped"].items():
        if count > lim.max_clipped:
            reasons.append(f"{ch} clipped ({count} samples at full scale); lower the {_level_fix(ch)}")
    if f["xruns"] > lim.max_xruns:
        reasons.append(
            f"{f['xruns']} xrun(s) during the take (overflow {f['overflow']}, underflow {f['underflow']}); "
            "close busy programs or raise the block size"
        )
    silent = f["rms_dbfs"]["wet"] < lim.silent_dbfs
    if silent:
        reasons.append(f"return is silent ({f['rms_dbfs']['wet']} dBFS); check the device is on and cabled to input 2")
    if f["noise_floor_dbfs"]["wet"] > lim.max_noise_dbfs:
        reasons.append(f"return noise floor {f['noise_floor_dbfs']['wet']} dBFS is too high; check cables and ground")
    elif not silent and f["snr_db"] < lim.min_snr_db:
        reasons.append(f"return SNR {f['snr_db']} dB below {lim.min_snr_db} dB; raise the return level or reduce noise")
    for ch, dc in f["dc"].items():
        if abs(dc) > lim.max_dc:
            reasons.append(f"{ch} has a DC offset of {dc:+.3f}; check the interface input or the device output")
    if f["impulse_error_samples"]:
        reasons.append(f"sync impulses off by {f['impulse_error_samples']} samples: samples lost or added")
    return reasons


def _level_fix(channel: str) -> str:
    return {
        "dry": "content peak (take.peak_dbfs)",
        "loopback": "output level or input 1 gain",
        "wet": "device output or input 2 gain",
    }[channel]


def esr(target: np.ndarray, estimate: np.ndarray) -> float:
    """Error-to-signal ratio: sum((target - estimate)^2) / sum(target^2)."""
    t = np.asarray(target, np.float64)
    e = np.asarray(estimate, np.float64)
    energy = float(np.sum(t * t))
    return float(np.sum((t - e) ** 2) / energy) if energy > 0 else float("inf")


def replicate_esr(take_a: AlignedTake, take_b: AlignedTake) -> float:
    """Self-ESR of two takes of the same program at the same setting, over the content:
    above DRIFT_ESR means noise, a time-based effect, a moved knob or an amp still warming."""
    if take_a.samples != take_b.samples or take_a.content != take_b.content:
        raise ValueError("replicate takes must come from the same program")
    c0, c1 = take_a.content
    return esr(take_a.wet[c0:c1], take_b.wet[c0:c1])


def warm_up(
    record: Callable[[], AlignedTake], max_repeats: int = 10, threshold: float = DRIFT_ESR
) -> tuple[bool, list[float]]:
    """Repeat the reference take until two consecutive repeats agree (tube amps drift while
    warming). `record()` records one aligned reference take. Returns (settled, ESRs)."""
    history: list[float] = []
    previous = record()
    for _ in range(max_repeats - 1):
        current = record()
        history.append(replicate_esr(previous, current))
        if history[-1] <= threshold:
            return True, history
        previous = current
    return False, history

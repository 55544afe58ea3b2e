"""Alignment: timing comes from the loopback channel only (the wet channel may be noisy,
distorted or silent). Latency = where the start impulses arrived; the end impulses must sit
exactly where programmed, else samples were lost or added and the take is unusable. The
loopback's polarity is found, not assumed (a swapped pin-2/pin-3 cable inverts it), and
reported with the take."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.signal import fftconvolve

from rig.audio.impulse import MIN_SCORE, find_train, ncc
from rig.audio.interface import Recording
from rig.audio.program import DryProgram

MAX_LATENCY_S = 1.0
END_WINDOW_S = 0.2  # how far off the end impulses are still found (and reported as drift)
MAX_DEVICE_DELAY_S = 0.05
DELAY_PROBE_S = 4.0  # content used to measure the device's own delay


class AlignmentError(Exception):
    """The take cannot be aligned: re-record it, never store it."""


@dataclass
class AlignedTake:
    dry: np.ndarray
    loopback: np.ndarray
    wet: np.ndarray
    sample_rate: int
    latency_samples: int
    device_delay_samples: int  # information only: the model learns the device's own delay
    content: tuple[int, int]
    gains: list[dict] = field(default_factory=list)
    impulse_scores: list[float] = field(default_factory=list)  # normalised correlation per impulse
    impulse_error_samples: int = 0
    loopback_polarity: int = 1  # -1: the loopback arrives inverted (e.g. a pin-2/pin-3 swapped cable)

    @property
    def samples(self) -> int:
        return len(self.dry)


def align_take(program: DryProgram, rec: Recording, max_latency_s: float = MAX_LATENCY_S) -> AlignedTake:
    sr, n = program.sample_rate, program.samples
    loop = np.asarray(rec.loopback)
    slack = len(loop) - n
    if slack < 0:
        raise AlignmentError(f"recording is {-slack} samples shorter than the program: the stream stopped early")
    latency, start_scores, polarity = _find_start(program, loop, min(int(max_latency_s * sr), slack))
    end_scores = _check_end(program, loop, latency, polarity)
    error = _impulse_error(program, loop, latency, polarity)
    if error:
        raise AlignmentError(f"an impulse is {error} samples off its programmed spacing: samples lost between impulses")
    crop = slice(latency, latency + n)
    loop_al = loop[crop].astype(np.float32)
    wet_al = np.asarray(rec.wet)[crop].astype(np.float32)
    return AlignedTake(
        dry=program.signal.astype(np.float32),
        loopback=loop_al,
        wet=wet_al,
        sample_rate=sr,
        latency_samples=int(latency),
        device_delay_samples=device_delay(program, loop_al, wet_al),
        content=program.content,
        gains=[dict(g) for g in program.gains],
        impulse_scores=[round(s, 4) for s in start_scores + end_scores],
        impulse_error_samples=error,
        loopback_polarity=polarity,
    )


def _offsets(positions: list[int]) -> list[int]:
    return [p - positions[0] for p in positions]


def _find_start(program: DryProgram, loop: np.ndarray, max_latency: int) -> tuple[int, list[float], int]:
    first = program.start_impulses[0]
    pos, scores, polarity = find_train(
        loop, program.impulse, _offsets(program.start_impulses), first, first + max_latency + 1
    )
    if min(scores) < MIN_SCORE:
        raise AlignmentError(
            f"start impulses not found on the loopback (match {min(scores):.2f} < {MIN_SCORE}); "
            "check the loopback cable (output to input 1) and the output level"
        )
    return pos - first, scores, polarity


def _check_end(program: DryProgram, loop: np.ndarray, latency: int, polarity: int) -> list[float]:
    window = int(END_WINDOW_S * program.sample_rate)
    expected = program.end_impulses[0] + latency
    offsets = _offsets(program.end_impulses)
    pos, scores, _ = find_train(loop, program.impulse, offsets, expected - window, expected + window + 1, polarity)
    if min(scores) < MIN_SCORE:
        raise AlignmentError(
            f"end impulses not found within ±{window} samples of where programmed (match {min(scores):.2f}): "
            "samples were lost or added, or the stream stopped"
        )
    drift = pos - expected
    if drift:
        verb = "added" if drift > 0 else "lost"
        when = "late" if drift > 0 else "early"
        raise AlignmentError(f"end impulses {abs(drift)} samples {when}: the interface {verb} samples during the take")
    return scores


def _impulse_error(program: DryProgram, loop: np.ndarray, latency: int, polarity: int) -> int:
    """Largest distance between an impulse's own correlation peak and its programmed place."""
    k = program.impulse
    reach = 16
    worst = 0
    for p in program.start_impulses + program.end_impulses:
        lo = p + latency - reach
        scores = polarity * ncc(loop[max(lo, 0) : p + latency + reach + len(k)], k)
        worst = max(worst, abs(int(np.argmax(scores)) + max(lo, 0) - (p + latency)))
    return worst


def device_delay(program: DryProgram, loop: np.ndarray, wet: np.ndarray) -> int:
    """Lag of the wet channel behind the (aligned) loopback, by cross-correlating a stretch of
    content. Uses |correlation|: many amps invert polarity."""
    c0, c1 = program.content
    c1 = min(c1, c0 + int(DELAY_PROBE_S * program.sample_rate))
    max_lag = int(MAX_DEVICE_DELAY_S * program.sample_rate)
    ref = loop[c0:c1].astype(np.float64)
    seg = wet[c0 : min(len(wet), c1 + max_lag)].astype(np.float64)
    if not np.any(ref) or not np.any(seg):
        return 0
    corr = fftconvolve(seg, ref[::-1], mode="full")[len(ref) - 1 : len(ref) - 1 + max_lag + 1]
    return int(np.argmax(np.abs(corr)))

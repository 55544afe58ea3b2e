"""Sync impulses: a short band-limited down-chirp and its matched-filter detector.

A chirp rather than a click: its energy is spread over 5 ms, so it survives clipping and a
loud noise floor, while its 1-12 kHz band keeps the correlation peak a few samples wide.
It sweeps *down*, unlike the content's sweeps, so content never looks like an impulse.
Detection uses normalised cross-correlation (scale-free: the loopback level is unknown),
and scores the whole train at its programmed spacing, never a level threshold over noise
(as Neural Amp Modeler learned, Atkinson 2023: threshold triggers fail on noisy reamps).
"""

from __future__ import annotations

import numpy as np
from scipy.signal import fftconvolve

CHIRP_MS = 5.0
F_HIGH = 12000.0
F_LOW = 1000.0
MIN_SCORE = 0.5  # normalised correlation each impulse must reach; noise stays below ~0.2


def sync_impulse(sample_rate: int, amplitude: float = 1.0) -> np.ndarray:
    n = round(CHIRP_MS * 1e-3 * sample_rate)
    t = np.arange(n) / sample_rate
    dur = n / sample_rate
    f_high = min(F_HIGH, 0.4 * sample_rate)
    phase = 2 * np.pi * (f_high * t + (F_LOW - f_high) * t**2 / (2 * dur))
    window = np.sin(np.pi * (np.arange(n) + 0.5) / n) ** 0.5  # soft edges, little lost bandwidth
    pulse = np.sin(phase) * window
    return (amplitude * pulse / np.max(np.abs(pulse))).astype(np.float32)


def ncc(x: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Zero-mean normalised cross-correlation: ncc[i] compares x[i:i+len(kernel)] with the
    kernel, each less its mean, so a DC offset on the input changes nothing. Signed: an
    inverted copy of the kernel scores -1."""
    x = np.asarray(x, dtype=np.float64)
    k = np.asarray(kernel, dtype=np.float64)
    k = k - k.mean()  # with a zero-mean kernel the window's own mean drops out of the product
    n = len(k)
    if len(x) < n:
        return np.zeros(0)
    corr = fftconvolve(x, k[::-1], mode="valid")
    ones = np.ones(n)
    energy = np.convolve(x * x, ones, mode="valid") - np.convolve(x, ones, mode="valid") ** 2 / n
    floor = n * 1e-12  # digital silence must not divide by zero
    return corr / (np.sqrt(np.maximum(energy, 0.0) + floor) * np.linalg.norm(k))


def find_train(
    x: np.ndarray, kernel: np.ndarray, offsets: list[int], lo: int, hi: int, polarity: int = 0
) -> tuple[int, list[float], int]:
    """Best position p in [lo, hi) of an impulse train whose impulses start at p + offsets.

    polarity: +1 or -1 to look for the train as sent or inverted; 0 finds out (a swapped
    pin-2/pin-3 cable inverts the loopback). Returns p, the per-impulse scores in that
    polarity (a match scores near +1 either way) and the polarity; the caller decides
    whether the scores are good enough.
    """
    lo = max(lo, 0)
    span = offsets[-1] + len(kernel)
    seg = x[lo : min(len(x), hi + span)]
    scores = ncc(seg, kernel)
    n_pos = min(hi - lo, len(scores) - offsets[-1])
    if n_pos <= 0:
        return lo, [0.0] * len(offsets), polarity or 1
    # The whole train decides the polarity: one impulse's opposite-sign side lobe lies a few
    # samples off its peak, and taking that for the peak is the misalignment to avoid.
    total = sum(scores[o : o + n_pos] for o in offsets)
    signs = [polarity] if polarity else [1, -1]
    sign = max(signs, key=lambda s: float(np.max(s * total)))
    best = int(np.argmax(sign * total))
    return lo + best, [float(sign * scores[best + o]) for o in offsets], sign

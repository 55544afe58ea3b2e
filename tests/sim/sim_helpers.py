"""Shared test signals for tests/sim."""

from __future__ import annotations

import numpy as np

FS = 48000


def program(seconds: float, seed: int = 3) -> np.ndarray:
    """Plucked notes at levels from -40 to 0 dBFS: loud attacks, quiet notes, decays."""
    rng = np.random.default_rng(seed)
    n = int(seconds * FS)
    x = np.zeros(n)
    t = np.arange(int(0.25 * FS)) / FS
    for start in range(0, n, len(t)):
        f = rng.uniform(80, 800)
        lv = 10 ** (rng.uniform(-40, 0) / 20)
        note = lv * np.sin(2 * np.pi * f * t) * np.exp(-t / 0.08)
        x[start : start + len(t)] = note[: n - start]
    return x.astype(np.float32)

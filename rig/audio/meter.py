"""Live input levels from the recording path: the audio callback feeds each recorded block to
a `BlockMeter` (peak and sum of squares per channel, a few numpy reductions, no allocation
beyond numpy's scalars, no lock), and a slower thread takes what accumulated since its last
look with `take()`.

Why no lock: the callback only adds to the accumulators and bumps a counter; the reader
swaps in a fresh accumulator object in one assignment (atomic under the GIL) and reads the
old one. A block being added while the swap happens lands in either the old or the new
window, never lost in both and never counted twice."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

CHANNELS = ("loopback", "return")
FLOOR_DBFS = -120.0


class _Window:
    """What accumulated since the reader's last `take()`."""

    __slots__ = ("blocks", "clipped", "frames", "peak", "sumsq")

    def __init__(self) -> None:
        self.peak = [0.0, 0.0]
        self.sumsq = [0.0, 0.0]
        self.frames = 0
        self.clipped = [0, 0]
        self.blocks = 0


@dataclass
class Levels:
    """One published window: dBFS per channel, and how many blocks clipped."""

    peak_dbfs: dict[str, float]
    rms_dbfs: dict[str, float]
    clipped: dict[str, int]
    frames: int


def to_dbfs(x: float) -> float:
    return round(20 * math.log10(x), 2) if x > 10 ** (FLOOR_DBFS / 20) else FLOOR_DBFS


class BlockMeter:
    """Fed from the audio callback; read by one non-real-time thread. `clip_level`: the
    magnitude that counts as clipped, the plan's take QC level (take.qc.clip_level)."""

    def __init__(self, clip_level: float) -> None:
        self.clip_level = clip_level
        self._w = _Window()

    def feed(self, loopback: np.ndarray, wet: np.ndarray) -> None:
        """Real-time safe enough for a Python callback: four reductions over the block."""
        w = self._w
        n = len(wet)
        if n == 0:
            return
        for i, block in enumerate((loopback, wet)):
            peak = float(np.max(np.abs(block))) if len(block) else 0.0
            if peak > w.peak[i]:
                w.peak[i] = peak
            w.sumsq[i] += float(np.dot(block, block)) if len(block) else 0.0
            if peak >= self.clip_level:
                w.clipped[i] += 1
        w.frames += n
        w.blocks += 1

    def take(self) -> Levels | None:
        """The levels since the last call (None when no block arrived)."""
        w, self._w = self._w, _Window()
        if w.blocks == 0 or w.frames == 0:
            return None
        return Levels(
            peak_dbfs={ch: to_dbfs(w.peak[i]) for i, ch in enumerate(CHANNELS)},
            rms_dbfs={ch: to_dbfs(math.sqrt(w.sumsq[i] / w.frames)) for i, ch in enumerate(CHANNELS)},
            clipped={ch: w.clipped[i] for i, ch in enumerate(CHANNELS)},
            frames=w.frames,
        )


def attach_meter(iface: object, meter: BlockMeter | None) -> bool:
    """Give the innermost interface (wrappers keep theirs in `.iface`) the meter to feed.
    Returns False when it records no blocks it could meter."""
    inner = iface
    while hasattr(inner, "iface"):
        inner = inner.iface
    if not hasattr(inner, "meter"):
        return False
    inner.meter = meter
    return True

"""Learning-rate schedules. `plateau`: the papers' ReduceLROnPlateau (halve after N epochs
without a better validation loss). `cosine`: a linear warm-up over the first steps, then a
cosine decay over the training budget's wall time down to a floor. On a CPU the budget, not
convergence, ends a run, and a plateau scheduler with patience in tens of epochs hardly ever
fires within it: the decay to the budget's end is what lets the last minutes refine."""

from __future__ import annotations

import math


def cosine_factor(progress: float, step: int, warmup_steps: int, floor: float) -> float:
    """Multiplier of the base LR at `progress` (0..1 of the budget) after `step` optimizer steps."""
    warm = min(1.0, (step + 1) / warmup_steps) if warmup_steps else 1.0
    p = min(max(progress, 0.0), 1.0)
    return warm * (floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * p)))

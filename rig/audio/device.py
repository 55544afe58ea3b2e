"""The block API every device under test speaks (real interfaces wrap it, `rig.sim` implements it).

Kept in its own module so `rig.sim` can depend on the audio part through this Protocol only.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class BlockDevice(Protocol):
    """A streaming mono processor: any split of the input into blocks gives the same output."""

    sample_rate: int
    knob_names: tuple[str, ...]

    def set_knobs(self, values: dict[str, float]) -> None:
        """Dial values (e.g. 0..10); knobs not named keep their value."""
        ...

    def process(self, block: np.ndarray) -> np.ndarray:
        """float32 mono in, float32 mono out, same length."""
        ...

    def reset(self) -> None:
        """Back to the state after construction (silence, same knob values)."""
        ...

"""Knob glide: a one-pole low-pass on the model's 0..1 controls, so a knob turned (or jumped by
a terminal line or a MIDI CC) reaches the model as a smooth ~20 ms move instead of a step.

Every shipped family takes its controls per sample in the player (rig.train.models.conditioning),
so the glide goes in exactly (`ramp`). `step` (one value per frame) serves a model without
per-sample controls, which the player then runs in short frames to keep each step small.
"""

from __future__ import annotations

import math

import numpy as np

GLIDE_S = 0.020
SETTLED = 1e-6  # closer than this to the target: jump the rest (no endless tail)


class Glide:
    def __init__(self, start: np.ndarray, sample_rate: int, seconds: float = GLIDE_S):
        self.value = np.asarray(start, np.float32).copy()
        self.target = self.value.copy()
        self.rate, self.seconds = sample_rate, seconds

    def set(self, target: np.ndarray) -> None:
        self.target = np.asarray(target, np.float32).copy()

    def step(self, samples: int) -> np.ndarray:
        """Advance `samples`; the value to use for those samples (the one reached halfway,
        so a frame's controls sit on the ideal curve, not behind it)."""
        if self.seconds <= 0:
            self.value = self.target.copy()
            return self.value
        half = math.exp(-0.5 * samples / (self.seconds * self.rate))
        mid = self.target + (self.value - self.target) * half
        self.value = self.target + (self.value - self.target) * half * half
        if np.abs(self.target - self.value).max() < SETTLED:
            self.value = self.target.copy()
        return mid.astype(np.float32)

    def ramp(self, samples: int) -> np.ndarray:
        """Advance `samples`; the per-sample values (n, samples)."""
        if self.seconds <= 0 or not self.moving:
            self.value = self.target.copy()
            return np.repeat(self.value[:, None], samples, axis=1)
        decay = np.exp(-np.arange(1, samples + 1) / (self.seconds * self.rate))
        out = self.target[:, None] + (self.value - self.target)[:, None] * decay[None, :]
        self.value = out[:, -1].copy()
        if np.abs(self.target - self.value).max() < SETTLED:
            self.value = self.target.copy()
        return out.astype(np.float32)

    @property
    def moving(self) -> bool:
        return bool(np.any(self.value != self.target))

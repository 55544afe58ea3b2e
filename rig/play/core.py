"""The player's period processor, free of any audio API: input samples in, model output out,
knob changes glided, bypass for A/B, and the timing figures (CPU per period, overruns).

The JACK and PortAudio callbacks call `PlayerCore.period()`; tests and `rig render`-style
comparisons call it offline with the same frames, so what is played is what is rendered.
"""

from __future__ import annotations

import gc
import time
from dataclasses import dataclass, field

import numpy as np

from rig.play.glide import Glide
from rig.play.runtime import Runner
from rig.train.render import Loaded, controls


def sub_frame(loaded: Loaded, period: int) -> int:
    """Frames the model runs on inside a period: the period for models that take controls per
    sample (every shipped family: the glide goes in sample by sample) and for S4; else (a model
    without per-sample controls) 32 samples for FiLM, the modulation block for block-rate
    conditioning, and the period itself when it does not divide into them."""
    if getattr(loaded.model, "per_sample_controls", False):
        return period  # the glide goes in per sample: one call per period
    cfg = loaded.config
    if cfg.backbone == "s4":
        return period  # an S4 call costs ~2 ms whatever its length (`rig bench play`): one per period
    block = 32 if cfg.conditioning == "film" else cfg.conditioner.block_size
    return block if period % block == 0 and block <= period else period


@dataclass
class Stats:
    periods: int = 0
    xruns: int = 0
    late: int = 0  # periods whose processing took longer than the period lasts
    cpu_sum: float = 0.0
    cpu_max: float = 0.0
    errors: list[str] = field(default_factory=list)
    changes: list[tuple[int, dict]] = field(default_factory=list)  # (period index, dial values) as applied

    @property
    def cpu_mean(self) -> float:
        return self.cpu_sum / self.periods if self.periods else 0.0


class PlayerCore:
    def __init__(
        self, loaded: Loaded, values: dict[str, float], period: int, runtime: str, glide_s: float | None = None
    ):
        self.loaded, self.period_frames = loaded, period
        self.runner = Runner(loaded.model, sub_frame(loaded, period), runtime)
        self.values = dict(values)
        start = controls(values, loaded.knobs)[0].numpy()
        self.glide = Glide(start, loaded.sample_rate) if glide_s is None else Glide(start, loaded.sample_rate, glide_s)
        self.runner.warm_up(start)
        self.bypass = False
        # Set by control threads, taken by the audio thread: the changed dial values and the
        # glide target they make (normalised off the audio thread: pydantic and torch there
        # cost ~0.1 ms and allocate).
        self._next: tuple[dict[str, float], np.ndarray] | None = None
        self.stats = Stats()
        self.period_s = period / loaded.sample_rate
        # The model, its graph runtime and their Python objects stay for the whole session: move
        # them out of the collector's view, so a full collection that a period happens to trigger
        # does not rescan them inside the callback (audio_process froze the start-up heap before).
        gc.collect()
        gc.freeze()

    def request(self, changes: dict[str, float]) -> None:
        """From any thread: new dial values for some knobs (applied at the next period)."""
        self.pending = {**(self.pending or {}), **changes}

    @property
    def pending(self) -> dict[str, float] | None:
        """Dial changes requested and not yet taken by the audio thread."""
        nxt = self._next
        return nxt[0] if nxt else None

    @pending.setter
    def pending(self, changes: dict[str, float] | None) -> None:
        if changes is None:
            self._next = None
            return
        target = controls({**self.values, **changes}, self.loaded.knobs)[0].numpy()
        self._next = (dict(changes), target)  # one reference swap: the audio thread sees old or new, never half

    def period(self, x: np.ndarray) -> np.ndarray:
        t0 = time.perf_counter()
        pending, self._next = self._next, None
        if pending:
            changes, target = pending
            self.stats.changes.append((self.stats.periods, changes))
            self.values.update(changes)
            self.glide.set(target)
        frame = self.runner.frame
        out = np.empty(len(x), np.float32)
        for a in range(0, len(x), frame):
            chunk = x[a : a + frame]
            if len(chunk) < frame:  # a short callback (the API changed its block): the graphs take whole frames
                chunk = np.concatenate([chunk, np.zeros(frame - len(chunk), np.float32)])
            c = self.glide.ramp(frame) if self.runner.per_sample else self.glide.step(frame)
            out[a : a + frame] = self.runner.process(chunk, c)[: len(out) - a]
        y = np.asarray(x, np.float32) if self.bypass else out  # the model keeps running: A/B without a jump in state
        self._account(time.perf_counter() - t0)
        return y

    def _account(self, seconds: float) -> None:
        load = seconds / self.period_s
        s = self.stats
        s.periods += 1
        s.cpu_sum += load
        s.cpu_max = max(s.cpu_max, load)
        s.late += load > 1.0

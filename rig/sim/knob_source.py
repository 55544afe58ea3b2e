"""Knob plumbing between the robot (simulated or real) and a simulated device.

Devices never read the plan: they are told dial values. The capture wires a callable that
reports where the shafts actually are, so a knob the robot did not move (or missed) leaves
the sound exactly as it was.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

KnobSource = Callable[[], dict[str, float]]


class KnobFollower:
    """A BlockDevice that polls `knob_source` once per block and forwards it to `device`.

    Names the device does not have are ignored (a plan may carry knobs that only matter to
    a real device); an empty or None reading keeps the previous values.
    """

    def __init__(self, device, knob_source: KnobSource):
        self.device = device
        self.knob_source = knob_source
        self.sample_rate = device.sample_rate
        self.knob_names = device.knob_names

    def set_knobs(self, values: dict[str, float]) -> None:
        self.device.set_knobs(values)

    def poll(self) -> None:
        values = self.knob_source()
        if values:
            names = self.knob_names
            self.device.set_knobs({k: v for k, v in values.items() if k in names})

    def process(self, block: np.ndarray) -> np.ndarray:
        self.poll()
        return self.device.process(block)

    def reset(self) -> None:
        self.device.reset()


def shaft_knob_source(knobs: Iterable, degrees: Callable[[], list[float]]) -> KnobSource:
    """Dial values from shaft angles.

    `knobs` are the plan's knob entries (anything with name, axis, fixed, min, max,
    rotation_deg; duck-typed so this part does not import the plan); `degrees()` returns
    the angle of each motor axis, e.g. `rig.knobs.shafts.ShaftReader(path).degrees`.
    Fixed knobs (no axis) report their fixed value.
    """
    knobs = list(knobs)

    def read() -> dict[str, float]:
        angles = degrees()
        out: dict[str, float] = {}
        for k in knobs:
            if k.axis is None or k.axis >= len(angles):
                if k.fixed is not None:
                    out[k.name] = float(k.fixed)
                continue
            frac = min(max(float(angles[k.axis]) / k.rotation_deg, 0.0), 1.0)
            out[k.name] = k.min + frac * (k.max - k.min)
        return out

    return read

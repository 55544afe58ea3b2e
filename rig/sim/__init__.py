"""Simulated devices under test: a Marshall-style amp and a two-transistor fuzz.

`make_device(kind)` returns a BlockDevice (rig/audio/device.py); `KnobFollower` drives one
from the robot's shaft angles; `rig.sim.jack_dut` runs one as a JACK client.
"""

from __future__ import annotations

from rig.sim.amp import Amp
from rig.sim.fuzz import Fuzz
from rig.sim.knob_source import KnobFollower, shaft_knob_source

KINDS = ("amp", "fuzz")


def make_device(kind: str = "amp", sample_rate: int = 48000, seed: int = 0, **options):
    """A fresh simulated device. Options: noise=False (and hum=False for the amp) give a
    noiseless device for measurements."""
    if kind == "amp":
        return Amp(sample_rate, seed, **options)
    if kind == "fuzz":
        return Fuzz(sample_rate, seed, **options)
    raise ValueError(f"unknown simulated device '{kind}' (choose from {', '.join(KINDS)})")


__all__ = ["KINDS", "Amp", "Fuzz", "KnobFollower", "make_device", "shaft_knob_source"]

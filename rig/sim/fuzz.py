"""A two-transistor fuzz (Fuzz Face flavour), as a streaming block processor.

Knobs: fuzz (0..10, the emitter-bypass pot of Q2: how much gain Q2 gets) and volume
(0..10; fixed in the plan but honoured; treated as linear in amplitude).

What makes it sound like one, and how each part stays cheap and block-exact:
- Q1: moderate gain, soft asymmetric saturation.
- Q2: high, knob-dependent gain into a transistor that is biased close to cutoff: its
  current is a smooth rectifier (softplus) of the base drive, then saturates towards the
  supply rail. Small signals barely pass (the gate), big ones come out lopsided: the
  half-wave-ish, sputtering character of a starved fuzz.
- Dynamic bias: loud input charges the coupling/bypass capacitors and pushes Q2 further
  towards cutoff. The charge is a one-pole average (~250 ms: big bypass caps) of the
  rectified Q2 drive, a linear filter of a memoryless function of the signal (one lfilter
  call per block). Right after a hard attack the gate is higher, so a decaying note
  sputters out and a quiet note played then comes out weaker than the same note alone; the DC step of the bias
  shift passes the output coupling cap as the familiar "blat" on attacks.
- Output bound: Q2's swing lies in an interval of width 1 ([0, 1) minus its rest value).
  A one-pole low-pass with a positive impulse response keeps it in that interval, and the
  output coupling HPF is x - lowpass(x), a difference of two values in the interval, so
  |out| <= 1 before the volume (<= 0.9): below 0 dBFS at any setting, noise included.
"""

from __future__ import annotations

import numpy as np

from rig.sim.core import (
    Noise,
    SimDevice,
    dial_to_rotation,
    one_pole_hp,
    one_pole_lp,
    soft_clip,
    undb,
)

DEFAULTS = {"fuzz": 5.0, "volume": 6.0}

VOLUME_MAX = 0.9
HISS_OUT_DBFS = -90.0
HISS_PRE_RMS = 8.0e-6  # Q1 collector noise: fuzz amplifies it, the half-open gate at rest damps it


class Fuzz(SimDevice):
    """Virtual two-transistor fuzz pedal."""

    kind = "fuzz"

    # Q2 operating point, knee softness and charge-driven shift, in units of the rail.
    BIAS = -0.03
    KNEE = 0.04
    BIAS_SHIFT = 0.4

    def __init__(self, sample_rate: int = 48000, seed: int = 0, noise: bool = True):
        super().__init__(DEFAULTS, sample_rate, seed)
        fs = self.sample_rate
        self.noise_on = noise
        # The low input impedance of a fuzz-face loads the pickup: less lows and highs.
        self.hp_in = one_pole_hp(60.0, fs)
        self.lp_in = one_pole_lp(1.0 / (2 * np.pi * 7000.0), fs)
        self.charge = one_pole_lp(0.250, fs)
        self.lp_out = one_pole_lp(1.0 / (2 * np.pi * 5000.0), fs)
        self.hp_out = one_pole_hp(25.0, fs)
        self.noise = Noise(seed, 2)
        self.rest = float(self._q2(np.array([self.BIAS]))[0])
        self._parts = (self.hp_in, self.lp_in, self.charge, self.lp_out, self.hp_out, self.noise)

    def _q2(self, w: np.ndarray) -> np.ndarray:
        """Collector swing for base drive w: softplus turn-on, tanh saturation at the rail."""
        k = self.KNEE
        return np.tanh(k * np.logaddexp(0.0, w / k))

    def _render(self, x: np.ndarray, start: int) -> np.ndarray:
        n = len(x)
        hiss = self.noise(n) if self.noise_on else None
        fz = dial_to_rotation(self.knobs.values("fuzz", start, n))
        vol = VOLUME_MAX * dial_to_rotation(self.knobs.values("volume", start, n))

        a = soft_clip(6.0 * self.lp_in(self.hp_in(x)), 1.2, 0.9)  # Q1
        if hiss is not None:
            a = a + HISS_PRE_RMS * hiss[:, 0]
        v = (2.0 * np.power(40.0, fz)) * a  # Q2 gain 2..80 over the pot's travel

        # Capacitor charge from the rectified drive, saturating (the caps only take so
        # much), in 0..1; it moves the operating point towards cutoff.
        e = self.charge(np.abs(np.tanh(0.5 * v)))
        y = self._q2(v + self.BIAS - self.BIAS_SHIFT * e) - self.rest

        y = vol * self.hp_out(self.lp_out(y))
        if hiss is not None:
            y = y + undb(HISS_OUT_DBFS) * hiss[:, 1]
        return y

"""A Marshall-style tube amp head (JVM OD channel flavour), as a streaming block processor.

Signal path (numbers are normalised: 1.0 at the input is a hot pickup at 0 dBFS):

  input HPF -> V1a -> gain pot (log) + bright cap -> V1b -> V2a -> cathode follower
  -> TMB tone stack (from its circuit) -> master volume (log) -> presence shelf
  -> output transformer band limit -> push-pull power stage with supply sag -> output level

Why the stages look like this:
- Each triode stage is an asymmetric soft clipper (grid conduction clips early and softly on
  one side, cutoff later on the other), inverting, followed by its coupling capacitor (HPF)
  and Miller roll-off (LPF). Alternating inversion makes successive stages clip on opposite
  half-waves, as in the real cascade.
- Grid conduction charges the coupling capacitor and pushes the bias negative when the
  stage is driven hard; here the bias is a saturating function of a one-pole average of
  the rectified stage input. The average is a *linear* filter of a memoryless function of
  the signal, so it is one lfilter call per block instead of a per-sample Python loop.
  The resulting DC shift passes the next coupling HPF, giving the familiar blocking "bloom".
- Sag: the power supply droops with the average current the output stage draws
  (|output| averaged over ~40 ms, again a linear filter of a memoryless function of the
  stage input). A lower supply lowers both the clipping ceiling and the small-signal gain,
  so after a loud passage the amp is quieter and compresses more, recovering over tens of ms.
- The last nonlinearity is bounded (tanh times a supply factor <= 1) and nothing after it
  can overshoot, so the output peak is at most OUT_LEVEL plus the noise floor, whatever the
  knobs or input: the interface never clips.
"""

from __future__ import annotations

import math

import numpy as np

from rig.sim import tonestack
from rig.sim.core import (
    KnobFilter,
    Noise,
    SimDevice,
    audio_taper,
    bilinear,
    butter_filter,
    dial_to_rotation,
    one_pole_hp,
    one_pole_lp,
    soft_clip,
    undb,
)

DEFAULTS = {"bass": 5.0, "middle": 5.0, "treble": 5.0, "gain": 5.0, "presence": 5.0, "volume": 5.0}

OUT_LEVEL = 0.5  # peak ceiling of the power stage at the interface (-6 dBFS)
HISS_OUT_DBFS = -92.0  # output-stage hiss (RMS), present at every setting
HISS_PRE_RMS = 2.0e-6  # V1a plate noise, amplified by the gain stages (louder at high gain)
HUM_DBFS = -100.0  # 50 Hz mains hum and harmonics (RMS of the fundamental)


class _Triode:
    """One inverting gain stage with level-dependent bias, coupling HPF and Miller LPF."""

    def __init__(self, fs, gain, bias, pos, neg, shift, tau_s, hp_hz, lp_hz):
        self.gain, self.bias, self.pos, self.neg, self.shift = gain, bias, pos, neg, shift
        self.env = one_pole_lp(tau_s, fs)
        # coupling cap (HPF) then Miller roll-off (LPF), merged into one filter
        self.out = one_pole_hp(hp_hz, fs).then(butter_filter(1, lp_hz, fs, "low"))
        self.rest = float(soft_clip(np.array([bias]), pos, neg)[0])

    def __call__(self, x: np.ndarray) -> np.ndarray:
        u = self.gain * x
        # Grid current flows while the grid is above the cathode; its average charges the
        # coupling cap. e/(1+e) keeps the shift bounded however hard the stage is hit.
        e = self.env(np.maximum(u + self.bias, 0.0))
        v = u + self.bias - self.shift * e / (1.0 + e)
        return -self.out(soft_clip(v, self.pos, self.neg) - self.rest)

    def reset(self):
        for f in (self.env, self.out):
            f.reset()


def _shelf(fs: float, f0: float, gain_db: float):
    """First-order high shelf: unity at DC, gain_db above ~f0."""
    g = undb(gain_db)
    w = 2 * math.pi * f0
    # H(s) = (g s / w + 1) / (s / w + 1) scaled so the corner sits at f0 * sqrt(g)
    wc = w / math.sqrt(g)
    return bilinear([1.0, g / wc], [1.0, 1.0 / wc], fs)


class Amp(SimDevice):
    """Virtual Marshall-style head. Knobs: bass, middle, treble, gain, presence, volume (0..10)."""

    kind = "amp"

    def __init__(self, sample_rate: int = 48000, seed: int = 0, noise: bool = True, hum: bool = True):
        super().__init__(DEFAULTS, sample_rate, seed)
        fs = self.sample_rate
        self.noise_on, self.hum_on = noise, hum
        self.hp_in = butter_filter(2, 25.0, fs, "high")
        # Normalised triode stages; gains chosen so gain 0 is clean-ish at -20 dBFS and
        # crunchy at 0 dBFS, gain 10 is a saturated lead sound even at -30 dBFS.
        self.v1a = _Triode(fs, 3.0, -0.15, 0.6, 1.4, 0.4, 0.015, 12.0, 14000.0)
        self.v1b = _Triode(fs, 28.0, -0.2, 0.6, 1.4, 0.5, 0.020, 90.0, 9000.0)
        self.v2a = _Triode(fs, 5.0, -0.2, 0.7, 1.2, 0.5, 0.030, 20.0, 11000.0)
        self.bright = KnobFilter(self.knobs, ("gain",), self._bright_design)
        self.stack = KnobFilter(self.knobs, ("treble", "middle", "bass"), lambda t, m, b: tonestack.design(fs, t, m, b))
        self.presence = KnobFilter(self.knobs, ("presence",), lambda p: _shelf(fs, 3500.0, 0.6 * p))
        self.ot = butter_filter(1, 40.0, fs, "high").then(butter_filter(2, 9000.0, fs, "low"))
        self.sag_env = one_pole_lp(0.040, fs)
        self.noise = Noise(seed, 2)
        self._hum_table: np.ndarray | None = None
        self._parts = (
            self.hp_in,
            self.v1a,
            self.v1b,
            self.v2a,
            self.bright,
            self.stack,
            self.presence,
            self.ot,
            self.sag_env,
            self.noise,
        )

    def _bright_design(self, gain):
        # The bright cap across the gain pot bypasses highs; it matters most when the pot
        # attenuates a lot (low gain) and vanishes at full gain.
        return _shelf(self.sample_rate, 2500.0, 4.0 * (1.0 - float(dial_to_rotation(gain))))

    def _render(self, x: np.ndarray, start: int) -> np.ndarray:
        n = len(x)
        kv = lambda name: self.knobs.values(name, start, n)  # noqa: E731
        hiss = self.noise(n) if self.noise_on else None

        y = self.v1a(self.hp_in(x))
        if hiss is not None:
            y = y + HISS_PRE_RMS * hiss[:, 0]
        y = y * (0.01 + 0.99 * audio_taper(dial_to_rotation(kv("gain"))))
        y = self.bright(y, start)
        y = self.v2a(self.v1b(y))
        y = 1.3 * np.tanh(y / 1.3)  # cathode follower: gentle ceiling into the stack
        y = self.stack(y, start)
        y = y * (20.0 * audio_taper(dial_to_rotation(kv("volume"))))
        y = self.presence(y, start)
        y = self.ot(y)
        y = self._power(y)
        y = OUT_LEVEL * y
        if hiss is not None:
            y = y + undb(HISS_OUT_DBFS) * hiss[:, 1]
        if self.hum_on:
            y = y + self._hum(start, n)
        return y

    def _power(self, d: np.ndarray) -> np.ndarray:
        # Current drawn ~ |output|; using |tanh(d)| (the unsagged output) keeps the supply
        # model a linear filter of the input. Supply v in 0.65..1.
        e = self.sag_env(np.abs(np.tanh(d)))
        v = 1.0 - 0.35 * e
        # Ceiling ~ v^1.5 and small-signal gain ~ v^0.5: the plate swing and the tube's
        # transconductance both drop with the supply.
        return v * np.sqrt(v) * np.tanh(d / v)

    def _hum(self, start: int, n: int) -> np.ndarray:
        # One second holds a whole number of 50 Hz cycles: a table indexed by the absolute
        # sample modulo one second is exact and block-independent forever.
        if self._hum_table is None:
            w = 2 * math.pi * 50.0 * np.arange(self.sample_rate) / self.sample_rate
            a = undb(HUM_DBFS) * math.sqrt(2)
            self._hum_table = a * (np.sin(w) + 0.5 * np.sin(2 * w + 0.3) + 0.25 * np.sin(3 * w + 1.1))
        return self._hum_table[np.arange(start, start + n) % self.sample_rate]

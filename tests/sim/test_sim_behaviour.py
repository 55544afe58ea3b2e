"""The devices behave like the hardware they stand for: the knobs act where they should,
gain distorts, and both devices have level-dependent memory."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from rig.sim import make_device
from rig.sim.response import frequency_response, lockin, sine, thd

from .sim_helpers import FS

BASE = {"bass": 5, "middle": 5, "treble": 5, "gain": 2, "presence": 5, "volume": 5}
BANDS = [80.0, 200.0, 700.0, 2000.0, 5000.0]


def quiet_amp():
    return make_device("amp", noise=False, hum=False)


def sweep(knob, lo, hi):
    dev = quiet_amp()
    low = frequency_response(dev, {**BASE, knob: lo}, BANDS, -50)
    high = frequency_response(dev, {**BASE, knob: hi}, BANDS, -50)
    return dict(zip(BANDS, high - low))


def test_bass_moves_the_lows():
    d = sweep("bass", 0, 10)
    assert d[80] > 6
    assert abs(d[2000]) < 1.5
    assert abs(d[5000]) < 1.5
    assert d[80] > d[700] + 4


def test_middle_moves_the_mids():
    d = sweep("middle", 0, 10)
    assert d[700] > 6
    assert d[700] > d[80] + 4
    assert d[700] > d[5000] + 2


def test_treble_moves_the_highs():
    d = sweep("treble", 0, 10)
    assert d[5000] > 6
    assert d[2000] > 4
    assert abs(d[80]) < 1.5
    assert d[5000] > d[200] + 5


def test_presence_lifts_only_the_top():
    d = sweep("presence", 0, 10)
    assert d[5000] > 3
    assert abs(d[200]) < 0.5


@pytest.mark.parametrize("level", [-30.0, -20.0])
def test_gain_raises_distortion_monotonically(level):
    dev = quiet_amp()
    values = [thd(dev, {**BASE, "gain": g}, 440.0, level) for g in (0, 2, 4, 6, 8, 10)]
    assert all(b > a for a, b in itertools.pairwise(values)), values
    assert values[0] < 0.1
    assert values[-1] > 0.3


def test_fuzz_knob_adds_gain_and_sustain():
    """More fuzz: more small-signal gain, and a decaying note holds on to a lower level
    before the gate chops it. (THD is no yardstick here: the fuzz is ~square at any knob
    once driven, and the gate's crossover distortion is high at every setting.)"""
    dev = make_device("fuzz", noise=False)
    gains = [frequency_response(dev, {"fuzz": f}, [500.0], -70.0)[0] for f in (0, 3, 6, 10)]
    assert all(b > a + 3 for a, b in itertools.pairwise(gains)), gains
    gates = [gate_level(-20.0, f) for f in (0, 3, 6, 10)]
    assert all(b < a - 3 for a, b in itertools.pairwise(gates)), gates


def probe_after_burst(kind, knobs, probe_db, f_probe=440.0, f_burst=110.0):
    """Gain change (dB) of a steady probe tone at several times after a 0 dBFS burst, versus
    the same probe without the burst."""
    opts = {"noise": False, **({"hum": False} if kind == "amp" else {})}
    n = int(2.4 * FS)
    x = sine(f_probe, n / FS, probe_db, FS).astype(np.float64)
    b0, b1 = int(0.4 * FS), int(0.6 * FS)
    xb = x.copy()
    xb[b0:b1] += sine(f_burst, 0.2, 0.0, FS)
    dev = make_device(kind, **opts)
    dev.set_knobs(knobs)
    plain = dev.process(x.astype(np.float32))
    dev.reset()
    burst = dev.process(xb.astype(np.float32))
    assert np.array_equal(plain[:b0], burst[:b0])  # causal: identical before the burst
    w = int(0.01 * FS)
    out = {}
    for ms in (15, 30, 60, 120, 250, 700, 1500):
        i = b1 + int(ms * FS / 1000)
        out[ms] = 20 * np.log10(lockin(burst[i : i + w], f_probe, FS) / lockin(plain[i : i + w], f_probe, FS))
    return out


def test_amp_sags_after_a_loud_burst_and_recovers():
    g = probe_after_burst("amp", {**BASE, "gain": 2, "volume": 8}, -40.0)
    assert g[15] < -1.0  # quieter right after the burst: supply and bias still recovering
    assert g[15] < g[30] < g[60] < g[120] + 0.01  # monotone recovery over tens of ms
    assert abs(g[700]) < 0.05  # back to normal


def test_sag_depends_on_level_not_only_on_time():
    soft = probe_after_burst("amp", {**BASE, "gain": 2, "volume": 2}, -40.0)
    hard = probe_after_burst("amp", {**BASE, "gain": 2, "volume": 10}, -40.0)
    assert hard[30] < soft[30] - 0.5


def test_fuzz_gates_after_an_attack_and_recovers():
    g = probe_after_burst("fuzz", {"fuzz": 5, "volume": 6}, -50.0)
    assert g[30] < -10  # bias pushed towards cutoff: the quiet tone is gated (sputter)
    assert g[60] < g[120] < g[250] < g[700]  # the caps discharge over a few hundred ms
    assert abs(g[1500]) < 0.2


def gate_level(start_db: float, fuzz: float) -> float:
    """Input level (dBFS) at which a note decaying from start_db is gated to silence."""
    t = np.arange(2 * FS) / FS
    env = np.exp(-t / 0.15)
    x = (10 ** (start_db / 20) * env * np.sin(2 * np.pi * 196 * t)).astype(np.float32)
    dev = make_device("fuzz", noise=False)
    dev.set_knobs({"fuzz": fuzz})
    y = dev.process(x).astype(np.float64)
    frame = int(0.01 * FS)
    rms = np.sqrt(np.mean(y[: len(y) // frame * frame].reshape(-1, frame) ** 2, axis=1))
    k = int(np.argmax(rms < 0.005))  # -46 dBFS: well below the fuzz's ~-11 dBFS output
    assert k > 0, "never gated"
    return 20 * np.log10(env[k * frame]) + start_db


def test_fuzz_decay_gates_earlier_after_a_loud_attack():
    """The same decaying note is chopped off at a higher level when it started loud: the
    attack's charge still holds the bias towards cutoff (the sputtery decay)."""
    levels = [gate_level(s, 3) for s in (0.0, -10.0, -20.0, -30.0)]
    assert all(a > b for a, b in itertools.pairwise(levels)), levels
    assert levels[0] > levels[-1] + 4, levels

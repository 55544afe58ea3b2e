"""The tone stack's closed-form polynomials against a numerical solve of the same circuit."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import freqz

from rig.sim.core import audio_taper
from rig.sim.tonestack import FENDER, MARSHALL, analog_coefficients, design, nodal_response

FREQS = np.geomspace(20, 20000, 25)


@pytest.mark.parametrize("parts", [MARSHALL, FENDER])
@pytest.mark.parametrize("t", [0.0, 0.3, 1.0])
@pytest.mark.parametrize("m", [0.0, 0.5, 1.0])
@pytest.mark.parametrize("lb", [0.0, 0.1, 1.0])
def test_closed_form_matches_nodal_analysis(parts, t, m, lb):
    b, a = analog_coefficients(parts, t, m, lb)
    s = 2j * np.pi * FREQS
    h = np.polyval(b[::-1], s) / np.polyval(a[::-1], s)
    ref = nodal_response(parts, t, m, lb, FREQS)
    # The reference stands in 1 milliohm for a zero pot section (a few 1e-6 relative at
    # 20 kHz); a wrong term in the polynomials shows up at the percent level.
    np.testing.assert_allclose(h, ref, rtol=2e-5, atol=1e-9)


def test_digital_stack_follows_analog_in_the_guitar_band():
    fs = 48000
    b, a = design(fs, 5, 5, 5)
    bs, as_ = analog_coefficients(MARSHALL, 0.5, 0.5, float(audio_taper(0.5)))
    f = np.geomspace(40, 6000, 30)
    _, hd = freqz(b, a, worN=f, fs=fs)
    s = 2j * np.pi * f
    ha = np.polyval(bs[::-1], s) / np.polyval(as_[::-1], s)
    assert np.max(np.abs(20 * np.log10(np.abs(hd) / np.abs(ha)))) < 0.3


def test_audio_taper_is_the_ten_percent_law():
    assert audio_taper(0.0) == 0.0
    assert audio_taper(1.0) == pytest.approx(1.0)
    assert audio_taper(0.5) == pytest.approx(0.1)
    assert np.all(np.diff(audio_taper(np.linspace(0, 1, 11))) > 0)


def test_stack_knobs_move_their_bands():
    """Circuit alone: bass lifts 60 Hz, middle fills 600 Hz, treble lifts 6 kHz."""

    def level(t, m, lb, f):
        return 20 * np.log10(abs(nodal_response(MARSHALL, t, m, lb, [f])[0]))

    assert level(0.5, 0.5, 1.0, 60) - level(0.5, 0.5, 0.0, 60) > 10
    assert level(0.5, 1.0, 0.1, 600) - level(0.5, 0.0, 0.1, 600) > 5
    assert level(1.0, 0.5, 0.1, 6000) - level(0.0, 0.5, 0.1, 6000) > 6

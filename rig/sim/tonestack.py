"""The passive treble/middle/bass tone stack (Fender/Marshall "TMB"), from its circuit.

Circuit (V_i is the cathode-follower output, V_o the wiper of the treble pot, unloaded):

    V_i --C1-- A --(1-t)R1-- V_o --t R1-- B --l R2-- T --(1-m)R3-- W --m R3-- ground
    V_i --R4-- N --C2-- B
               N --C3-- W

R1 treble pot (wiper = output), R2 bass pot wired as a variable resistor, R3 middle pot
(top to the bass pot, wiper to C3, bottom to ground), R4 the "slope" resistor. t, l, m are
the fractions of each track (0..1) after the pot law.

Writing the six node equations and solving them (done symbolically while writing this
module; `tests/sim/test_sim_tonestack.py` re-solves the network numerically at many
frequencies and settings and checks these polynomials against it) gives a third-order
band-pass-like H(s) = (b1 s + b2 s^2 + b3 s^3) / (1 + a1 s + a2 s^2 + a3 s^3).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from rig.sim.core import audio_taper, bilinear, dial_to_rotation


@dataclass(frozen=True)
class StackParts:
    r1: float  # treble pot
    r2: float  # bass pot
    r3: float  # middle pot
    r4: float  # slope resistor
    c1: float  # treble cap
    c2: float  # bass cap
    c3: float  # middle cap


# Marshall 1959/JCM800 values; the JVM's OD channels use the same topology.
MARSHALL = StackParts(r1=220e3, r2=1e6, r3=25e3, r4=33e3, c1=470e-12, c2=22e-9, c3=22e-9)
FENDER = StackParts(r1=250e3, r2=1e6, r3=25e3, r4=56e3, c1=250e-12, c2=20e-9, c3=20e-9)


def analog_coefficients(p: StackParts, t: float, m: float, lb: float):
    """(b, a) of H(s) in ascending powers of s for track fractions t, m, lb (bass) in 0..1."""
    r1, r2, r3, r4, c1, c2, c3 = p.r1, p.r2, p.r3, p.r4, p.c1, p.c2, p.c3
    lr2 = lb * r2
    mr3 = m * r3
    mid = m * (1.0 - m) * r3 * r3  # the middle pot's two halves in series products

    b1 = t * c1 * r1 + (c1 + c2) * (lr2 + r3) + c3 * mr3
    b2 = (
        r3 * (c1 * c2 * (r1 + r4) + c1 * c3 * r4)
        + lr2 * (c1 * c2 * (r1 + r4) + c1 * c3 * r4 + (c1 + c2) * c3 * mr3)
        + (c1 + c2) * c3 * mid
        + c1 * c3 * r1 * mr3
        + t * c1 * r1 * r4 * (c2 + c3)
    )
    b3 = c1 * c2 * c3 * (lr2 + (1.0 - m) * r3) * (mr3 * (r1 + r4) + t * r1 * r4)

    a1 = c1 * r1 + (c1 + c2) * (r3 + lr2) + c2 * r4 + c3 * (r4 + mr3)
    a2 = (
        c1 * c2 * (r1 * r3 + r1 * r4 + r3 * r4)
        + c3 * r4 * (c1 * r1 + c1 * r3 + c2 * r3)
        + lr2 * (c1 * c2 * (r1 + r4) + c3 * (c1 + c2) * (mr3 + r4))
        + c3 * (c1 * r1 * mr3 + (c1 + c2) * mid - c2 * mr3 * r4)
    )
    a3 = c1 * c2 * c3 * (r1 * r3 * r4 + lr2 * (mr3 * (r1 + r4) + r1 * r4) + mid * (r1 + r4) - mr3 * r1 * r4)
    return np.array([0.0, b1, b2, b3]), np.array([1.0, a1, a2, a3])


def pot_fractions(treble: float, middle: float, bass: float) -> tuple[float, float, float]:
    """Dial 0..10 to track fractions: treble and middle linear, bass log (as in a JCM800)."""
    return (
        float(dial_to_rotation(treble)),
        float(dial_to_rotation(middle)),
        float(audio_taper(dial_to_rotation(bass))),
    )


def design(fs: float, treble: float, middle: float, bass: float, parts: StackParts = MARSHALL):
    """Digital (b, a) for dial values, via the bilinear transform pre-warped at 1 kHz (keeps
    the mid-band where the stack acts exact; the top octave is slightly compressed)."""
    t, m, lb = pot_fractions(treble, middle, bass)
    b_s, a_s = analog_coefficients(parts, t, m, lb)
    return bilinear(b_s, a_s, fs, warp_hz=1000.0)


def nodal_response(p: StackParts, t: float, m: float, lb: float, freqs) -> np.ndarray:
    """Reference: solve the node equations numerically (complex, per frequency), with the
    same netlist as the docstring. Pot sections of zero resistance get 1 milliohm so the
    matrix stays regular."""
    eps = 1e-3
    ra, rb = max((1 - t) * p.r1, eps), max(t * p.r1, eps)
    rl, rm1, rm2 = max(lb * p.r2, eps), max((1 - m) * p.r3, eps), max(m * p.r3, eps)
    A, VO, B, N, T, W = range(6)  # unknown node voltages; V_i = 1 is the source
    out = []
    for f in np.atleast_1d(freqs):
        s = 2j * np.pi * f
        # (node, other node or "src" or None for ground, admittance)
        elements: list[tuple[int, int | Literal["src"] | None, complex]] = [
            (A, "src", s * p.c1),
            (A, VO, 1 / ra),
            (VO, B, 1 / rb),
            (N, "src", 1 / p.r4),
            (N, B, s * p.c2),
            (N, W, s * p.c3),
            (B, T, 1 / rl),
            (T, W, 1 / rm1),
            (W, None, 1 / rm2),
        ]
        g = np.zeros((6, 6), complex)
        rhs = np.zeros(6, complex)
        for i, j, y in elements:
            g[i, i] += y
            if j == "src":
                rhs[i] += y
            elif j is not None:
                g[j, j] += y
                g[i, j] -= y
                g[j, i] -= y
        out.append(np.linalg.solve(g, rhs)[VO])
    return np.array(out)

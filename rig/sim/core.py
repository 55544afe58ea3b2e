"""Building blocks shared by the simulated devices: knob ramps, stateful filters, tapers.

Everything here is written so that processing a signal in blocks of any size gives
bit-identical results to processing it in one go:
- linear filters keep their DF-II-transposed state (`lfilter(..., zi=...)`), which is exact
  across splits because lfilter runs the same per-sample arithmetic either way;
- knob changes are ramps defined on the *absolute* sample index, and knob-dependent filter
  coefficients are refreshed on a fixed absolute grid, so block boundaries never leak into
  the output;
- nothing reduces over a block (no sums, no block-level statistics in the signal path).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from functools import cache

import numpy as np
from scipy.signal import butter, lfilter


def _pick_lfilter():
    """scipy's lfilter spends ~6 us per call validating arguments around a ~1 us C loop; with
    a dozen filters per 256-sample block that overhead dominates. Use the C routine it wraps
    when it exists and gives identical results, else the public function."""
    try:
        from scipy.signal import _sigtools

        fast = _sigtools._linear_filter
        b, a = np.array([0.2, 0.3, 0.1]), np.array([1.0, -0.5, 0.2])
        x, zi = np.linspace(-1, 1, 17), np.array([0.1, -0.2])
        y1, z1 = fast(b, a, x, -1, zi)
        y2, z2 = lfilter(b, a, x, zi=zi)
        if np.array_equal(y1, y2) and np.array_equal(z1, z2):
            return lambda b, a, x, zi: fast(b, a, x, -1, zi)
    except (ImportError, AttributeError, TypeError, ValueError):  # the private routine moved or changed
        pass
    return lambda b, a, x, zi: lfilter(b, a, x, zi=zi)


# (b, a, x, zi) -> (y, zf); all float64, a[0] == 1, len(b) == len(a) == len(zi) + 1.
run_filter = _pick_lfilter()

DIAL_MIN = 0.0
DIAL_MAX = 10.0
RAMP_S = 0.005  # a knob change glides over 5 ms: no zipper clicks, still feels instant
COEF_GRID = 128  # samples between coefficient refreshes while a tone knob glides (2.7 ms)

# A log ("A") pot of the usual 10 % law: half rotation gives a tenth of the resistance.
# r(x) = (B**x - 1) / (B - 1) with r(0.5) = 1 / (sqrt(B) + 1) = 0.1  =>  B = 81.
_AUDIO_B = 81.0


def audio_taper(x):
    """Fraction of the track resistance at rotation x in 0..1 for a 10 % log pot."""
    return (np.power(_AUDIO_B, x) - 1.0) / (_AUDIO_B - 1.0)


def dial_to_rotation(v):
    return (np.asarray(v, dtype=np.float64) - DIAL_MIN) / (DIAL_MAX - DIAL_MIN)


def soft_clip(v: np.ndarray, pos: float, neg: float) -> np.ndarray:
    """Asymmetric soft clip: saturates at +pos and -neg (a triode's grid conduction and
    cutoff, a transistor's saturation)."""
    c = np.where(v > 0.0, pos, neg)
    return c * np.tanh(v / c)


class KnobState:
    """Dial values with glides defined on the absolute sample clock.

    A change requested at sample n glides linearly from the value the knob has at n to the
    new target over RAMP_S. Setting a knob to its current target is a no-op, so a caller
    that re-sends unchanged values every block leaves the sound untouched. Before the first
    sample (or right after reset) a change is applied at once: there is nothing to click.
    """

    def __init__(self, defaults: dict[str, float], sample_rate: int):
        self.names = tuple(defaults)
        self._ramp = max(1, round(RAMP_S * sample_rate))
        self._v0 = {k: float(v) for k, v in defaults.items()}
        self._v1 = dict(self._v0)
        self._n0 = {k: -(10**18) for k in self.names}

    def set(self, values: dict[str, float], now: int) -> None:
        for name, value in values.items():
            if name not in self._v1:
                raise KeyError(f"unknown knob '{name}' (this device has: {', '.join(self.names)})")
            v = float(value)
            if not math.isfinite(v):
                raise ValueError(f"knob '{name}' value {value!r} is not a number")
            v = min(max(v, DIAL_MIN), DIAL_MAX)
            if v == self._v1[name]:
                continue
            if now <= 0:
                self._v0[name] = self._v1[name] = v
                self._n0[name] = -(10**18)
            else:
                self._v0[name] = self.value_at(name, now)
                self._v1[name] = v
                self._n0[name] = now

    def targets(self) -> dict[str, float]:
        return dict(self._v1)

    def value_at(self, name: str, n: int) -> float:
        frac = (n - self._n0[name]) / self._ramp
        if frac >= 1.0:
            return self._v1[name]
        v0 = self._v0[name]
        return v0 + (self._v1[name] - v0) * frac

    def gliding(self, name: str, n: int) -> bool:
        return n < self._n0[name] + self._ramp

    def values(self, name: str, start: int, count: int):
        """The knob over samples [start, start+count): a float if steady, else an array."""
        if not self.gliding(name, start):
            return self._v1[name]
        frac = (np.arange(start, start + count, dtype=np.float64) - self._n0[name]) / self._ramp
        v0, v1 = self._v0[name], self._v1[name]
        # Same expression as value_at, element-wise, so scalar and array paths agree exactly.
        return np.where(frac >= 1.0, v1, v0 + (v1 - v0) * frac)


class Filter:
    """A fixed linear filter with its state."""

    def __init__(self, b, a):
        self.b, self.a = _same_length(b, a)
        self.zi = np.zeros(len(self.a) - 1)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        y, self.zi = run_filter(self.b, self.a, x, self.zi)
        return y

    def then(self, other: "Filter") -> "Filter":
        """The cascade self -> other as one filter (one call per block instead of two)."""
        return Filter(np.convolve(self.b, other.b), np.convolve(self.a, other.a))

    def reset(self) -> None:
        self.zi[:] = 0.0


def _same_length(b, a):
    b = np.asarray(b, dtype=np.float64)
    a = np.asarray(a, dtype=np.float64)
    if len(a) != len(b):  # (np.pad is slow enough to matter on the knob-glide path)
        n = max(len(a), len(b))
        b, a = _zero_extend(b, n), _zero_extend(a, n)
    return b / a[0], a / a[0]


def _zero_extend(v, n: int) -> np.ndarray:
    out = np.zeros(n)
    out[: len(v)] = v
    return out


def one_pole_lp(tau_s: float, fs: int) -> Filter:
    """Unity-DC-gain one-pole low-pass. Its impulse response is positive, so it never
    overshoots: |y| <= max|x| (used to keep the output bound provable)."""
    p = math.exp(-1.0 / (tau_s * fs))
    return Filter([1.0 - p], [1.0, -p])


def one_pole_hp(fc: float, fs: int) -> Filter:
    """First-order high-pass (coupling capacitor) via the bilinear transform, |H| -> 1 at fs/2.
    y = x - lowpass(x), so |y| <= 2 max|x|."""
    k = math.tan(math.pi * fc / fs)
    return Filter(np.array([1.0, -1.0]) / (1.0 + k), [1.0, (k - 1.0) / (k + 1.0)])


def butter_filter(order: int, fc: float, fs: int, kind: str) -> Filter:
    b, a = butter(order, fc, btype=kind, fs=fs)
    return Filter(b, a)


@cache
def _bilinear_matrix(order: int) -> np.ndarray:
    """Row k: coefficients (in z^-1) of (1 - z^-1)^k (1 + z^-1)^(order-k)."""
    rows = []
    for k in range(order + 1):
        p = np.array([1.0])
        for _ in range(k):
            p = np.convolve(p, [1.0, -1.0])
        for _ in range(order - k):
            p = np.convolve(p, [1.0, 1.0])
        rows.append(p)
    return np.array(rows)


def bilinear(b_s: Sequence[float], a_s: Sequence[float], fs: float, warp_hz: float | None = None):
    """Analogue H(s) = sum b_k s^k / sum a_k s^k (ascending powers) to digital (b, a) with
    s = c (1 - z^-1) / (1 + z^-1); c = 2 fs, or pre-warped to match at warp_hz."""
    order = max(len(b_s), len(a_s)) - 1
    c = 2.0 * fs if warp_hz is None else 2 * math.pi * warp_hz / math.tan(math.pi * warp_hz / fs)
    scale = c ** np.arange(order + 1)
    m = _bilinear_matrix(order)
    bz = (_zero_extend(b_s, order + 1) * scale) @ m
    az = (_zero_extend(a_s, order + 1) * scale) @ m
    return bz / az[0], az / az[0]


class KnobFilter:
    """A linear filter whose coefficients follow some knobs.

    Coefficients are recomputed only at absolute multiples of COEF_GRID, from the knob
    values at that grid point, and only when those values changed: between glides the
    whole block runs through one lfilter call.
    """

    def __init__(self, knobs: KnobState, names: Sequence[str], design: Callable[..., tuple]):
        self.knobs = knobs
        self.names = tuple(names)
        self.design = design
        self._key: tuple | None = None
        self._ba: tuple[np.ndarray, np.ndarray] | None = None  # (b, a) for self._key
        self.zi: np.ndarray | None = None

    def _coefs(self, key: tuple):
        if key != self._key:
            self._key = key
            self._ba = _same_length(*self.design(*key))
            if self.zi is None:
                self.zi = np.zeros(len(self._ba[1]) - 1)
        return self._ba

    def _key_at(self, n: int) -> tuple:
        return tuple(self.knobs.value_at(k, n) for k in self.names)

    def __call__(self, x: np.ndarray, start: int) -> np.ndarray:
        count = len(x)
        if start % COEF_GRID == 0 or self._key is None:
            self._coefs(self._key_at(start))
        if not any(self.knobs.gliding(k, start - start % COEF_GRID) for k in self.names):
            b, a = self._coefs(self._key_at(start))  # steady: key is the target, one call
            y, self.zi = run_filter(b, a, x, self.zi)
            return y
        y = np.empty(count)
        i = 0
        while i < count:
            n = start + i
            if n % COEF_GRID == 0:
                self._coefs(self._key_at(n))
            j = min(count, i + COEF_GRID - n % COEF_GRID)
            assert self._ba is not None  # _coefs ran above: at the first sample or when _key was None
            b, a = self._ba
            y[i:j], self.zi = run_filter(b, a, x[i:j], self.zi)
            i = j
        return y

    def reset(self) -> None:
        self._key = None
        self.zi = None


class Noise:
    """Seeded Gaussian noise whose sequence does not depend on how it is requested:
    numpy's Generator consumes its bit stream sample by sample, so n1 + n2 draws equal
    one draw of n1 + n2 (checked in the tests)."""

    def __init__(self, seed: int, channels: int):
        self.seed = seed
        self.channels = channels
        self.reset()

    def __call__(self, count: int) -> np.ndarray:
        return self._rng.standard_normal((count, self.channels))

    def reset(self) -> None:
        self._rng = np.random.Generator(np.random.PCG64(self.seed))


class SimDevice:
    """The BlockDevice plumbing shared by the simulated devices: knobs on the absolute sample
    clock, reset of every stateful part, and the block bookkeeping. A subclass lists its
    stateful parts in `_parts` and renders a float64 block starting at absolute sample
    `start` in `_render`."""

    kind = ""
    _parts: tuple = ()

    def __init__(self, defaults: dict[str, float], sample_rate: int, seed: int):
        self.sample_rate = int(sample_rate)
        self.seed = seed
        self.knobs = KnobState(defaults, self.sample_rate)
        self.knob_names = self.knobs.names
        self._n = 0

    def set_knobs(self, values: dict[str, float]) -> None:
        self.knobs.set(values, self._n)

    def reset(self) -> None:
        self._n = 0
        for part in self._parts:
            part.reset()

    def process(self, block: np.ndarray) -> np.ndarray:
        x = np.asarray(block, dtype=np.float64).reshape(-1)
        if len(x) == 0:
            return np.zeros(0, np.float32)
        y = self._render(x, self._n)
        self._n += len(x)
        return y.astype(np.float32)

    def _render(self, x: np.ndarray, start: int) -> np.ndarray:
        raise NotImplementedError


def db(x) -> float:
    return 20.0 * math.log10(max(float(x), 1e-30))


def undb(d: float) -> float:
    return 10.0 ** (d / 20.0)

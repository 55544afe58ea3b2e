"""Measurements of a simulated device: stepped-sine frequency response, harmonic distortion,
input/output level curves, and the plots behind `rig sim response`.

Every measurement resets the device and plays a fresh signal, so results do not depend on
what was measured before. Amplitudes are read by projecting the output on the test
frequency over a Hann-windowed stretch after the device settled (a lock-in), which
rejects noise and harmonics.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np

from rig.sim.core import db, undb

SETTLE_S = 0.12
MEASURE_S = 0.08


def sine(freq: float, seconds: float, level_dbfs: float, fs: int) -> np.ndarray:
    n = np.arange(round(seconds * fs))
    return (undb(level_dbfs) * np.sin(2 * np.pi * freq * n / fs)).astype(np.float32)


def lockin(y: np.ndarray, freq: float, fs: int) -> float:
    """Peak amplitude of the component of y at freq (Hann-weighted projection)."""
    n = np.arange(len(y))
    w = np.hanning(len(y))
    z = np.sum(w * y * np.exp(-2j * np.pi * freq * n / fs))
    return float(2.0 * abs(z) / np.sum(w))


def _play(device, knobs: dict[str, float] | None, x: np.ndarray) -> np.ndarray:
    device.reset()
    if knobs:
        device.set_knobs(knobs)
    return device.process(x).astype(np.float64)


def tone_gain_db(device, knobs, freq: float, level_dbfs: float = -50.0) -> float:
    """Output/input gain at freq for a sine at level_dbfs, in dB."""
    fs = device.sample_rate
    settle = max(SETTLE_S, 8.0 / freq)
    y = _play(device, knobs, sine(freq, settle + MEASURE_S, level_dbfs, fs))
    return db(lockin(y[round(settle * fs) :], freq, fs)) - level_dbfs


def frequency_response(device, knobs, freqs: Iterable[float], level_dbfs: float = -50.0) -> np.ndarray:
    return np.array([tone_gain_db(device, knobs, f, level_dbfs) for f in freqs])


def harmonics(device, knobs, freq: float = 440.0, level_dbfs: float = -20.0, count: int = 10):
    """Amplitudes of harmonics 1..count (FFT over a whole number of cycles after settling)."""
    fs = device.sample_rate
    period = fs / freq
    cycles = max(1, round(0.1 * freq))
    n_meas = round(cycles * period)
    settle = round(SETTLE_S * fs)
    y = _play(device, knobs, sine(freq, (settle + n_meas) / fs + 1e-9, level_dbfs, fs))[settle : settle + n_meas]
    spec = np.abs(np.fft.rfft(y)) * 2.0 / n_meas
    bins = [round(k * freq * n_meas / fs) for k in range(1, count + 1)]
    return np.array([spec[b] if b < len(spec) else 0.0 for b in bins])


def thd(device, knobs, freq: float = 440.0, level_dbfs: float = -20.0) -> float:
    """Total harmonic distortion (2nd..10th over the fundamental), as a ratio."""
    return _thd(harmonics(device, knobs, freq, level_dbfs))


def _thd(h: np.ndarray) -> float:
    return float(np.sqrt(np.sum(h[1:] ** 2)) / h[0])


def level_curve(device, knobs, levels_dbfs: Iterable[float], freq: float = 440.0):
    """(fundamental out dBFS, output peak dBFS, thd) per input level: the I/O curve."""
    fund, peak, dist = [], [], []
    for lv in levels_dbfs:
        h = harmonics(device, knobs, freq, lv)
        fund.append(db(h[0]))
        dist.append(_thd(h))
        fs = device.sample_rate
        y = _play(device, knobs, sine(freq, SETTLE_S + MEASURE_S, lv, fs))
        peak.append(db(np.max(np.abs(y[round(SETTLE_S * fs) :]))))
    return np.array(fund), np.array(peak), np.array(dist)


def waveform(device, knobs, freq: float = 110.0, level_dbfs: float = 0.0, cycles: int = 2):
    """Input and output over a few cycles after settling (shows the clipping asymmetry)."""
    fs = device.sample_rate
    settle = round(SETTLE_S * fs)
    n = round(cycles * fs / freq)
    x = sine(freq, (settle + n) / fs + 1e-9, level_dbfs, fs)
    y = _play(device, knobs, x)
    return x[settle : settle + n], y[settle : settle + n]


# -- plots ------------------------------------------------------------------------------------

BASE_KNOBS = {  # the setting the sweeps start from (light crunch for the amp)
    "amp": {"bass": 5, "middle": 5, "treble": 5, "gain": 2, "presence": 5, "volume": 5},
    "fuzz": {"fuzz": 5, "volume": 6},
}
SWEEPS: dict[str, list[tuple[str, str | None]]] = {
    "amp": [("bass", "gain"), ("middle", "gain"), ("treble", "gain"), ("presence", "gain")],
    "fuzz": [("fuzz", None)],
}


def plot_response(kind: str, out_dir: Path, sample_rate: int = 48000, base: dict | None = None) -> list[Path]:
    """Write <kind>_frequency.png and <kind>_transfer.png into out_dir; return their paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from rig.sim import make_device

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    dev = make_device(kind, sample_rate, noise=False, **({"hum": False} if kind == "amp" else {}))
    base = dict(base or BASE_KNOBS[kind])
    freqs = np.geomspace(30, 16000, 40)
    settings = [0, 2.5, 5, 7.5, 10]
    sweeps = SWEEPS[kind]
    level = -50.0 if kind == "amp" else -70.0

    fig, axes = plt.subplots(1, len(sweeps), figsize=(4.2 * len(sweeps), 3.6), squeeze=False)
    for ax, (knob, _) in zip(axes[0], sweeps):
        for v in settings:
            resp = frequency_response(dev, {**base, knob: v}, freqs, level)
            ax.semilogx(freqs, resp, label=f"{knob} {v:g}")
        ax.set_title(f"{kind}: {knob} sweep ({level:g} dBFS sine)")
        ax.set_xlabel("Hz")
        ax.set_ylabel("gain dB")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle(", ".join(f"{k}={v:g}" for k, v in base.items()), fontsize=8)
    fig.tight_layout()
    freq_png = out_dir / f"{kind}_frequency.png"
    fig.savefig(freq_png, dpi=100)
    plt.close(fig)

    gain_knob = "gain" if kind == "amp" else "fuzz"
    levels = np.arange(-60, 1, 4.0)
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    for g in [0, 2, 4, 6, 8, 10]:
        knobs = {**base, gain_knob: g}
        _, peak, dist = level_curve(dev, knobs, levels)
        axes[0].plot(levels, peak, label=f"{gain_knob} {g}")
        axes[1].plot(levels, 100 * dist, label=f"{gain_knob} {g}")
        _, y = waveform(dev, knobs)
        axes[2].plot(np.arange(len(y)) / sample_rate * 1000, y, label=f"{gain_knob} {g}")
    axes[0].set(title="output peak vs input level (440 Hz)", xlabel="input dBFS", ylabel="output peak dBFS")
    axes[1].set(title="THD (2nd-10th) vs input level", xlabel="input dBFS", ylabel="THD %")
    axes[2].set(title="output, 110 Hz sine at 0 dBFS", xlabel="ms", ylabel="output")
    for ax in axes:
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    io_png = out_dir / f"{kind}_transfer.png"
    fig.savefig(io_png, dpi=100)
    plt.close(fig)
    return [freq_png, io_png]

"""Dry content: built-in generators (so the rig works with no audio files) and folders of
the user's own DI recordings. Every source hands out segments drawn from a seeded RNG.

`builtin:mix` (train) and `builtin:mix-test` (test) differ in material, not only in seed:
other note ranges, chord voicings, playing patterns and timbres, so a test take really
holds playing the model has never heard (the ToneTwist AFx protocol, Comunità et al. 2025).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from math import gcd
from pathlib import Path

import numpy as np
from scipy.signal import butter, resample_poly, sosfilt

from rig.errors import UserError

AUDIO_SUFFIXES = {".wav", ".flac"}


def midi_hz(note: float) -> float:
    return 440.0 * 2.0 ** ((note - 69) / 12)


@dataclass(frozen=True)
class Style:
    """What a built-in mix plays; train and test get different styles."""

    lead: tuple[int, int]  # MIDI range of single notes
    bass: tuple[int, int]
    chords: tuple[tuple[int, ...], ...]  # intervals above the root
    roots: tuple[int, int]
    note_s: tuple[float, float]  # note lengths
    strum_ms: tuple[float, float]
    brightness: tuple[float, float]  # pluck position-ish: higher = brighter
    decay_s: tuple[float, float]
    sweep_up: bool
    weights: dict[str, float]


TRAIN = Style(
    lead=(40, 76),
    bass=(28, 47),
    roots=(40, 55),
    chords=((0, 7, 12, 16, 19, 24), (0, 7, 12, 15, 19, 24), (0, 7, 12), (0, 4, 7, 12)),
    note_s=(0.12, 0.6),
    strum_ms=(8, 25),
    brightness=(0.08, 0.2),
    decay_s=(0.8, 2.5),
    sweep_up=True,
    weights={"sweep": 0.08, "noise": 0.08, "notes": 0.3, "bass": 0.17, "chords": 0.27, "gap": 0.1},
)
TEST = Style(
    lead=(50, 86),
    bass=(31, 50),
    roots=(43, 60),
    chords=((0, 4, 10, 14), (0, 5, 7, 12), (0, 3, 10, 15), (0, 7, 10, 16), (0, 4, 7, 11, 14)),
    note_s=(0.08, 0.45),
    strum_ms=(3, 40),
    brightness=(0.15, 0.35),
    decay_s=(0.4, 1.8),
    sweep_up=False,
    weights={"sweep": 0.06, "noise": 0.08, "notes": 0.34, "bass": 0.15, "chords": 0.27, "gap": 0.1},
)


def pluck(f0: float, seconds: float, sr: int, rng: np.random.Generator, style: Style, velocity: float) -> np.ndarray:
    """Additive plucked string: harmonics with a pluck-position comb, higher ones decaying
    faster, slight inharmonicity, and a short pick noise; brighter when played harder."""
    n = int(seconds * sr)
    t = np.arange(n) / sr
    pos = rng.uniform(*style.brightness)
    t60 = rng.uniform(*style.decay_s) * (110.0 / max(f0, 55.0)) ** 0.3
    inharm = 1e-4 * rng.uniform(0.2, 1.5)
    out = np.zeros(n)
    for h in range(1, 40):
        fh = h * f0 * np.sqrt(1 + inharm * h * h)
        if fh > 0.45 * sr:
            break
        amp = abs(np.sin(np.pi * h * pos)) / h ** (1.6 - 0.6 * velocity)
        decay = 6.9 / t60 * (1 + 0.15 * h * h * (1.2 - velocity))
        # Only compute a harmonic while it is above -60 dB: high ones die fast, saving most work.
        m = min(n, int(6.9 / decay * sr) + 1)
        tm = t[:m]
        out[:m] += amp * np.exp(-decay * tm) * np.sin(2 * np.pi * fh * tm + rng.uniform(0, 2 * np.pi))
    pick = min(n, int(0.004 * sr))
    out[:pick] += 0.3 * velocity * rng.standard_normal(pick) * np.linspace(1, 0, pick)
    out *= _fade(n, sr, release_ms=rng.uniform(5, 30))  # the player damps the string
    return velocity * out / (np.max(np.abs(out)) + 1e-12)


def _fade(n: int, sr: int, attack_ms: float = 0.5, release_ms: float = 10.0) -> np.ndarray:
    env = np.ones(n)
    a, r = min(n, int(attack_ms * 1e-3 * sr)), min(n, int(release_ms * 1e-3 * sr))
    if a:
        env[:a] = 0.5 - 0.5 * np.cos(np.pi * np.arange(a) / a)
    if r:
        env[n - r :] *= 0.5 + 0.5 * np.cos(np.pi * np.arange(r) / r)
    return env


def _place(out: np.ndarray, sound: np.ndarray, at: int) -> None:
    end = min(len(out), at + len(sound))
    if at < end:
        out[at:end] += sound[: end - at]


def notes(rng, sr, style: Style, seconds: float, bass: bool = False) -> np.ndarray:
    n = int(seconds * sr)
    out = np.zeros(n)
    lo, hi = style.bass if bass else style.lead
    note = rng.integers(lo, hi + 1)
    at = 0
    while at < n:
        step = rng.uniform(*style.note_s) * (1.5 if bass else 1.0)
        velocity = rng.uniform(0.15, 1.0)
        ring = step + rng.uniform(0.0, 0.8)
        _place(out, pluck(midi_hz(note), ring, sr, rng, style, velocity), at)
        at += int(step * sr)
        note = int(np.clip(note + rng.choice([-7, -5, -3, -2, -1, 1, 2, 3, 5, 7, 12, -12]), lo, hi))
    return out


def chords(rng, sr, style: Style, seconds: float) -> np.ndarray:
    n = int(seconds * sr)
    out = np.zeros(n)
    at = 0
    while at < n:
        root = rng.integers(style.roots[0], style.roots[1] + 1)
        shape = style.chords[rng.integers(len(style.chords))]
        velocity = rng.uniform(0.1, 1.0)
        length = rng.uniform(0.3, 2.0)
        strum = rng.uniform(*style.strum_ms) * 1e-3
        order = shape if rng.random() < 0.7 else shape[::-1]  # down- or up-strokes
        for i, interval in enumerate(order):
            v = velocity * rng.uniform(0.7, 1.0)
            _place(out, pluck(midi_hz(root + interval), length + 0.5, sr, rng, style, v), at + int(i * strum * sr))
        at += int(length * sr)
    return out


def sweep(rng, sr, style: Style, seconds: float) -> np.ndarray:
    n = int(seconds * sr)
    t = np.arange(n) / sr
    f0, f1 = 30.0, min(18000.0, 0.4 * sr)
    if not style.sweep_up:
        f0, f1 = f1, f0
    k = np.log(f1 / f0)
    phase = 2 * np.pi * f0 * seconds / k * (np.exp(t / seconds * k) - 1)
    return rng.uniform(0.3, 1.0) * np.sin(phase) * _fade(n, sr, 5, 20)


def noise_bursts(rng, sr, seconds: float) -> np.ndarray:
    """Bursts at rising levels (-40 dB up to 0 dB): probes the level dependence."""
    n = int(seconds * sr)
    out = np.zeros(n)
    count = int(rng.integers(4, 8))
    slot = n // count
    sos = butter(2, [rng.uniform(40, 200), min(rng.uniform(4000, 16000), 0.45 * sr)], "bandpass", fs=sr, output="sos")
    for i, level_db in enumerate(np.linspace(-40, 0, count)):
        burst = sosfilt(sos, rng.standard_normal(int(slot * 0.7)))
        burst *= _fade(len(burst), sr, 5, 5) * 10 ** (level_db / 20) / (np.max(np.abs(burst)) + 1e-12)
        _place(out, burst, i * slot)
    return out


def gap(sr, seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * sr))  # lets the device's tails and noise gate behaviour show


SEGMENT_SECONDS = {
    "sweep": (1.5, 4.0),
    "noise": (1.5, 3.0),
    "notes": (2.0, 6.0),
    "bass": (2.0, 6.0),
    "chords": (2.0, 6.0),
    "gap": (0.2, 1.0),
}


def builtin_segment(rng: np.random.Generator, sr: int, style: Style) -> np.ndarray:
    kinds = list(style.weights)
    p = np.array([style.weights[k] for k in kinds])
    kind = kinds[rng.choice(len(kinds), p=p / p.sum())]
    seconds = rng.uniform(*SEGMENT_SECONDS[kind])
    if kind == "notes":
        seg = notes(rng, sr, style, seconds)
    elif kind == "bass":
        seg = notes(rng, sr, style, seconds, bass=True)
    elif kind == "noise":
        seg = noise_bursts(rng, sr, seconds)
    elif kind == "gap":
        seg = gap(sr, seconds)
    else:
        seg = {"sweep": sweep, "chords": chords}[kind](rng, sr, style, seconds)
    seg = seg * _fade(len(seg), sr, 2, 10)  # ringing notes are cut at the segment end
    peak = np.max(np.abs(seg))
    # Segments keep their own level (-12..0 dB) so the mix has dynamics before gain blocks.
    return seg if peak == 0 else seg / peak * 10 ** (rng.uniform(-12, 0) / 20)


def list_audio_files(folder: Path) -> list[Path]:
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file())
    if not files:
        raise UserError(f"{folder} holds no WAV or FLAC files; add DI recordings or use builtin:mix")
    return files


@lru_cache(maxsize=64)
def load_mono(path: Path, sample_rate: int) -> np.ndarray:
    """A user file as mono at the rig's rate, peak-normalised (cached: takes reuse files)."""
    import soundfile as sf

    try:
        data, rate = sf.read(str(path), dtype="float64", always_2d=True)
    except (RuntimeError, sf.LibsndfileError) as exc:
        raise UserError(f"cannot read audio file {path} ({exc}); convert it to WAV or FLAC or remove it") from None
    mono = data.mean(axis=1)
    if rate != sample_rate:
        g = gcd(int(rate), int(sample_rate))
        mono = resample_poly(mono, sample_rate // g, int(rate) // g)
    peak = np.max(np.abs(mono)) if len(mono) else 0.0
    return mono / peak if peak > 0 else mono


def folder_segment(rng: np.random.Generator, sr: int, files: list[Path], max_len: int) -> np.ndarray:
    audio = load_mono(files[rng.integers(len(files))], sr)
    length = min(len(audio), max_len, int(rng.uniform(3.0, 12.0) * sr))
    start = int(rng.integers(0, len(audio) - length + 1)) if length else 0
    return audio[start : start + length] * _fade(length, sr, 5, 5)


class Content:
    """Draws segments from a list of sources ('builtin:mix', 'builtin:mix-test', folders)."""

    def __init__(self, sources: list[str], sample_rate: int, base: Path | None = None):
        self.sr = sample_rate
        self.makers = [self._maker(s, base) for s in sources]
        if not self.makers:
            raise UserError("take.sources lists no sources; give builtin:mix or a folder of WAV/FLAC files")

    def _maker(self, source: str, base: Path | None):
        styles = {"builtin:mix": TRAIN, "builtin:mix-test": TEST}
        if source.startswith("builtin:"):
            if source not in styles:
                raise UserError(f"unknown source {source}; use builtin:mix, builtin:mix-test or a folder")
            style = styles[source]
            return lambda rng, _max_len: builtin_segment(rng, self.sr, style)  # render() cuts to length
        folder = _resolve(source, base)
        files = list_audio_files(folder)
        return lambda rng, max_len: folder_segment(rng, self.sr, files, max_len)

    def render(self, samples: int, rng: np.random.Generator) -> np.ndarray:
        out = np.zeros(samples)
        at, empty, heard = 0, 0, False
        while at < samples:
            maker = self.makers[rng.integers(len(self.makers))]
            seg = maker(rng, samples - at)[: samples - at]
            if len(seg) == 0:
                empty += 1
                if empty > 100:
                    raise UserError("the source audio files are empty; add DI recordings or use builtin:mix")
                continue
            room = (samples - at) // 2
            if not heard and len(seg) > max(1, room) and not np.any(seg):
                # Silence (a gap) before any sound takes at most half of what is left: filling a
                # short take, or all but its faded-out end, QC would call it silent on every retry.
                # Gaps are short, so takes longer than a few of them keep their content unchanged.
                seg = seg[:room]
            heard = heard or bool(np.any(seg))
            out[at : at + len(seg)] = seg
            at += len(seg)
        return out


def _resolve(source: str, base: Path | None) -> Path:
    candidates = (
        [Path(source)]
        if Path(source).is_absolute()
        else [*([base / source, base.parent / source] if base else []), Path.cwd() / source]
    )
    for c in candidates:
        if c.is_dir():
            return c
    raise UserError(f"source folder {source} not found; give a folder of WAV/FLAC files or a builtin: source")

"""The dry program of one take: pre-roll, start impulses, gain-blocked content, end
impulses, post-roll (the ToneTwist AFx protocol, Comunità et al. 2025). Deterministic for (plan, split, seed)."""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rig.audio.impulse import sync_impulse
from rig.audio.sources import Content
from rig.plan.models import GainBlocks, Plan

GUARD_S = 0.25  # silence between impulses and content: device tails die out, search windows stay clean
SPLITS = ("train", "val", "test", "reference")


@dataclass
class DryProgram:
    signal: np.ndarray  # float32 mono, what is sent
    sample_rate: int
    start_impulses: list[int]  # sample index where each impulse begins
    end_impulses: list[int]
    content: tuple[int, int]  # [start, end) of the gain-blocked content
    gains: list[dict]  # [{start, end, gain_db}] in program samples
    impulse: np.ndarray  # the sync impulse waveform (matched-filter kernel)
    split: str = "train"
    seed: int = 0
    sources: list[str] = field(default_factory=list)

    @property
    def samples(self) -> int:
        return len(self.signal)


def build_program(plan: Plan, split: str = "train", seed: int = 0) -> DryProgram:
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    sr = plan.audio.sample_rate
    take = plan.take
    sources = _sources(plan, split)
    # Independent streams per purpose so changing the gain law leaves the content alone.
    split_code = zlib.crc32(split.encode())
    content_rng = np.random.default_rng([seed, split_code, 1])
    gain_rng = np.random.default_rng([seed, split_code, 2])

    n_content = round(take.seconds * sr)
    base = getattr(plan, "_source", None)
    content = Content(sources, sr, Path(base).parent if base else None).render(n_content, content_rng)
    peak = np.max(np.abs(content))
    if peak > 0:
        content *= 10 ** (take.peak_dbfs / 20) / peak
    envelope, blocks = gain_envelope(n_content, sr, take.gain, gain_rng)
    content *= envelope
    content *= _edge_fade(n_content, sr)

    impulse = sync_impulse(sr, take.impulses.amplitude)
    spacing = round(take.impulses.spacing_ms * 1e-3 * sr)
    train_len = (take.impulses.count - 1) * spacing + len(impulse)
    guard = int(GUARD_S * sr)
    pre, post = round(take.pre_roll_s * sr), round(take.post_roll_s * sr)

    starts = [pre + i * spacing for i in range(take.impulses.count)]
    c0 = pre + train_len + guard
    c1 = c0 + n_content
    ends = [c1 + guard + i * spacing for i in range(take.impulses.count)]
    total = ends[-1] + len(impulse) + post

    signal = np.zeros(total, dtype=np.float32)
    for s in starts + ends:
        signal[s : s + len(impulse)] = impulse
    signal[c0:c1] = content
    gains = [{"start": c0 + b["start"], "end": c0 + b["end"], "gain_db": b["gain_db"]} for b in blocks]
    return DryProgram(signal, sr, starts, ends, (c0, c1), gains, impulse, split, seed, list(sources))


def _sources(plan: Plan, split: str) -> list[str]:
    if split == "test" and plan.settings.test.content == "test":
        return list(plan.take.sources.test)
    return list(plan.take.sources.train)


def draw_gain_db(rng: np.random.Generator, g: GainBlocks) -> float:
    if g.distribution == "linear":
        # The dataset scripts draw a linear factor (the ToneTwist AFx protocol, Comunità et al. 2025): more loud blocks than the dB law.
        return float(20 * np.log10(rng.uniform(10 ** (g.min_db / 20), 10 ** (g.max_db / 20))))
    return float(rng.uniform(g.min_db, g.max_db))


def gain_envelope(n: int, sr: int, g: GainBlocks, rng: np.random.Generator) -> tuple[np.ndarray, list[dict]]:
    """Piecewise-constant gain, one value per `every_s` block, with a raised-cosine ramp
    at the start of each block so the change does not click."""
    step = max(1, round(g.every_s * sr))
    ramp = round(g.ramp_ms * 1e-3 * sr)
    env = np.empty(n)
    blocks, prev = [], None
    for start in range(0, n, step):
        end = min(n, start + step)
        gain_db = draw_gain_db(rng, g)
        lin = 10 ** (gain_db / 20)
        env[start:end] = lin
        r = min(ramp, end - start)
        if prev is not None and r > 0:
            w = 0.5 - 0.5 * np.cos(np.pi * (np.arange(r) + 0.5) / r)
            env[start : start + r] = prev + (lin - prev) * w
        blocks.append({"start": start, "end": end, "gain_db": round(gain_db, 4)})
        prev = lin
    return env, blocks


def _edge_fade(n: int, sr: int, ms: float = 10.0) -> np.ndarray:
    env = np.ones(n)
    r = min(n // 2, int(ms * 1e-3 * sr))
    if r:
        w = 0.5 - 0.5 * np.cos(np.pi * np.arange(r) / r)
        env[:r] = w
        env[n - r :] = w[::-1]
    return env

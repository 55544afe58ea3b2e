"""Small synthetic sessions for tests and demos: a valid session directory (session.yaml via
Session.create, takes via commit_take) whose device is a simple parametric target,
y = one-pole-lowpass(tanh(drive(gain) * x), tone), so no capture hardware or simulator is needed."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import lfilter

from rig.plan import Knob, Plan, sample_settings
from rig.plan.models import Settings, Take, TestSettings, Train
from rig.session import Session

PRE_S = 0.05  # silence before and after the content, as a capture's pre/post-roll


def synthetic_plan(
    count: int = 6,
    test_count: int = 2,
    validation_fraction: float = 0.2,
    min_takes: int = 2,
    seconds: float = 1.0,
    seed: int = 0,
) -> Plan:
    return Plan(
        knobs=[Knob(name="gain", axis=0, label="G"), Knob(name="tone", axis=1, label="T")],
        settings=Settings(
            method="random",
            count=count,
            seed=seed,
            validation_fraction=validation_fraction,
            test=TestSettings(method="random", count=test_count),
        ),
        take=Take(seconds=seconds),
        train=Train(min_takes=min_takes, budget_minutes=1.0),
    )


def device(x: np.ndarray, knobs_norm: dict[str, float]) -> np.ndarray:
    drive = 1.0 + 9.0 * knobs_norm["gain"]
    a = 0.05 + 0.9 * knobs_norm["tone"]  # one-pole lowpass coefficient: higher is brighter
    return (0.5 * lfilter([a], [1.0, a - 1.0], np.tanh(drive * x))).astype(np.float32)


def dry_signal(seconds: float, rate: int, rng: np.random.Generator) -> np.ndarray:
    """Noise and a tone under slow gain blocks: loud and quiet passages, like the dry program."""
    n = int(seconds * rate)
    t = np.arange(n) / rate
    tone = np.sin(2 * np.pi * rng.uniform(80, 400) * t)
    noise = lfilter([0.3], [1.0, -0.7], rng.standard_normal(n))
    blocks = np.repeat(10 ** (rng.uniform(-20, 0, n // 2400 + 1) / 20), 2400)[:n]
    return (0.4 * blocks * (0.6 * tone + noise)).astype(np.float32)


def make_session(folder: Path, plan: Plan | None = None, commit: bool = True, seed: int = 0) -> Session:
    """A session folder with every setting's take committed (or none, commit=False)."""
    plan = plan or synthetic_plan()
    settings = sample_settings(plan)
    session = Session.create(folder, plan, None, settings, [s.id for s in settings])
    if commit:
        for i, s in enumerate(settings):
            commit_take(session, s, i, seed)
    return session


def commit_take(session: Session, setting, index: int, seed: int = 0) -> dict:
    """Write one take's three WAVs as temp files and commit them with a manifest line."""
    plan = session.plan()
    rate = plan.audio.sample_rate
    rng = np.random.default_rng([seed, setting.id])
    pre = int(PRE_S * rate)
    content = dry_signal(plan.take.seconds, rate, rng)
    dry = np.concatenate([np.zeros(pre, np.float32), content, np.zeros(pre, np.float32)])
    norm = {k.name: k.normalise(setting.values[k.name]) for k in plan.sampled_knobs}
    wet = device(dry, norm)
    take_id = f"t{index:04d}_" + "_".join(f"{k.tag}{setting.values[k.name]:g}" for k in plan.sampled_knobs)
    files = session.take_files(take_id)
    for kind, signal in (("dry", dry), ("loopback", 0.98 * dry), ("wet", wet)):
        sf.write(session.temp_path(files[kind]), signal, rate, subtype="FLOAT", format="WAV")
    record = {
        "take_id": take_id,
        "setting_id": setting.id,
        "split": setting.split,
        "knobs": {k.name: setting.values[k.name] for k in plan.sampled_knobs},
        "knobs_norm": norm,
        "sample_rate": rate,
        "samples": len(dry),
        "content": [pre, pre + len(content)],
        "latency_samples": 0,
        "device_delay_samples": 0,
        "gains": [],
        "qc": {"ok": True},
        "retries": 0,
        "recorded_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    return session.commit_take(record)

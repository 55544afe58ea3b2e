"""Real-time factor of the simulated devices: seconds of audio processed per second of CPU.

Measured with `time.process_time` (CPU time of this process), so a busy machine inflates
the wall clock but not the figure much; numpy's element-wise kernels are single-threaded,
so this is the one-core figure.
"""

from __future__ import annotations

import time

import numpy as np

from rig.sim import KINDS, make_device


def program(seconds: float, fs: int, seed: int = 1) -> np.ndarray:
    """Guitar-ish test program: decaying plucked tones at levels from -30 to 0 dBFS."""
    rng = np.random.default_rng(seed)
    n = round(seconds * fs)
    x = np.zeros(n)
    t = np.arange(round(0.5 * fs)) / fs
    for start in range(0, n, len(t)):
        f = rng.uniform(80, 660)
        note = np.sin(2 * np.pi * f * t) + 0.3 * np.sin(4 * np.pi * f * t)
        seg = 10 ** (rng.uniform(-30, 0) / 20) * note * np.exp(-t / 0.25) / 1.3
        x[start : start + len(t)] = seg[: n - start]
    return x.astype(np.float32)


def realtime_factor(
    kind: str = "amp", block: int = 256, seconds: float = 10.0, sample_rate: int = 48000, moving_knobs: bool = False
) -> dict:
    """RTF of one device at one block size. moving_knobs: a new value for every knob every
    block (the worst case: a robot turning all knobs while audio runs)."""
    dev = make_device(kind, sample_rate)
    x = program(seconds, sample_rate)
    names = dev.knob_names
    t0 = time.process_time()
    for k, i in enumerate(range(0, len(x), block)):
        if moving_knobs:
            dev.set_knobs({name: 5.0 + 4.0 * np.sin(0.01 * k + j) for j, name in enumerate(names)})
        dev.process(x[i : i + block])
    cpu = time.process_time() - t0
    return {
        "kind": kind,
        "block": block,
        "moving_knobs": moving_knobs,
        "seconds": seconds,
        "cpu_s": round(cpu, 4),
        "rtf": round(seconds / max(cpu, 1e-9), 1),
    }


def bench_all(seconds: float = 10.0) -> list[dict]:
    rows = []
    for kind in KINDS:
        for block in (64, 256, 4096):
            rows.append(realtime_factor(kind, block, seconds))
        rows.append(realtime_factor(kind, 256, seconds, moving_knobs=True))
    return rows


if __name__ == "__main__":
    import json

    print(json.dumps(bench_all(), indent=1))

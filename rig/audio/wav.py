"""Take files: 48 kHz (the plan's rate) 32-bit float WAV, synced to disk before returning so
the caller can rename them into place and only then append the manifest line."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

KINDS = ("dry", "loopback", "wet")


def write_take_wavs(paths: dict[str, Path], take) -> None:
    import soundfile as sf

    for kind, path in paths.items():
        if kind not in KINDS:
            raise ValueError(f"unknown take file kind {kind!r}; expected one of {KINDS}")
        data = np.asarray(getattr(take, kind), dtype=np.float32)
        with open(path, "wb") as fh:
            # format given explicitly: the caller writes to temp names like x.wav.tmp
            sf.write(fh, data, take.sample_rate, subtype="FLOAT", format="WAV")
            fh.flush()
            os.fsync(fh.fileno())

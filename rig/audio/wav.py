"""Take files: 48 kHz (the plan's rate) 32-bit float WAV, synced to disk before returning so
the caller can rename them into place and only then append the manifest line."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np

KINDS = ("dry", "loopback", "wet")


def write_take_wavs(paths: dict[str, Path], take) -> None:
    """Writes each take file. A full disk (or any other write failure) raises one plain
    OSError naming the file, never soundfile's noise: the WAV is encoded in memory first, so
    libsndfile never meets a failing write (its callback would print "Exception ignored ...
    Traceback" and then fail with an AssertionError)."""
    import soundfile as sf

    for kind, path in paths.items():
        if kind not in KINDS:
            raise ValueError(f"unknown take file kind {kind!r}; expected one of {KINDS}")
        data = np.asarray(getattr(take, kind), dtype=np.float32)
        buf = io.BytesIO()
        # format given explicitly: the caller writes to temp names like x.wav.tmp
        sf.write(buf, data, take.sample_rate, subtype="FLOAT", format="WAV")
        _write_file(Path(path), buf.getbuffer())


def _write_file(path: Path, data: memoryview) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror, str(path)) from None
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    except OSError as exc:
        os.close(fd)
        path.unlink(missing_ok=True)  # a partial WAV helps nobody and holds the space
        raise OSError(exc.errno, exc.strerror, str(path)) from None
    os.close(fd)

"""`rig bench verify`: how long checking every take of a session takes (size, WAV length,
sha256 of the three files, as resume, the trainer and `rig verify` do), on a synthesised
session shaped like the Marshall plan's: 224 takes of 45 s (+1.5 s of pre/post-roll)."""

from __future__ import annotations

import io
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from rig.plan import Knob, Plan, Setting
from rig.session.manifest import MANIFEST_FILE, TAKE_KINDS
from rig.session.store import TAKES_DIR, Session


def bench_verify(takes: int = 224, seconds: float = 46.5, quick: bool = False) -> dict:
    if quick:
        takes, seconds = 8, 5.0
    with tempfile.TemporaryDirectory(prefix="rig-bench-verify-", dir=os.environ.get("RIG_BENCH_DIR")) as tmp:
        folder = Path(tmp) / "session"
        t0 = time.monotonic()
        total = _synthesise(folder, takes, int(seconds * 48000))
        made = time.monotonic() - t0
        session = Session.open(folder)
        cold = _timed(session)  # the files' pages were dropped from the cache after writing
        warm = _timed(session)
        return {
            "takes": takes,
            "take_seconds": seconds,
            "bytes": total,
            "synthesis_s": round(made, 1),
            "verify_cold_s": cold,
            "verify_warm_s": warm,
            "cold_mb_per_s": round(total / 1e6 / cold, 1),
            "warm_mb_per_s": round(total / 1e6 / warm, 1),
        }


def _timed(session: Session) -> float:
    t0 = time.monotonic()
    problems = session.verify()
    if problems:
        raise RuntimeError(f"the synthesised session does not verify: {problems[:3]}")
    return round(time.monotonic() - t0, 2)


def _synthesise(folder: Path, takes: int, samples: int) -> int:
    import hashlib

    import soundfile as sf

    plan = Plan(knobs=[Knob(name="gain", axis=0, label="G")])
    settings = [Setting(i, {"gain": round(10 * i / max(takes - 1, 1), 3)}, "train") for i in range(takes)]
    Session.create(folder, plan, None, settings, [s.id for s in settings])
    buf = io.BytesIO()
    rng = np.random.default_rng(0)
    sf.write(buf, (0.1 * rng.standard_normal(samples)).astype(np.float32), 48000, subtype="FLOAT", format="WAV")
    base = bytearray(buf.getvalue())
    total = 0
    with open(folder / MANIFEST_FILE, "w") as manifest:
        for s in settings:
            tid = f"t{s.id:04d}_G{s.values['gain']:g}"
            record: dict[str, Any] = {
                "take_id": tid,
                "setting_id": s.id,
                "split": s.split,
                "samples": samples,
                "files": {},
                "sha256": {},
                "bytes": {},
            }
            for n, kind in enumerate(TAKE_KINDS):
                base[-8:] = (s.id * 3 + n).to_bytes(8, "little")  # every file different
                rel = f"{TAKES_DIR}/{tid}.{kind}.wav"
                _write_uncached(folder / rel, base)
                record["files"][kind], record["bytes"][kind] = rel, len(base)
                record["sha256"][kind] = hashlib.sha256(base).hexdigest()
                total += len(base)
            manifest.write(json.dumps(record) + "\n")
    return total


def _write_uncached(path: Path, data: bytes | bytearray) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.write(fd, data)
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)  # a cold read later, without flushing anyone else's cache
    finally:
        os.close(fd)

"""Is a stored take what was recorded? Size, WAV length and sha256 of its three files against
its manifest line, cheapest check first. Used by resume, the trainer and `rig verify`."""

from __future__ import annotations

import os
from pathlib import Path

from rig.session.atomic import TMP_SUFFIX, sha256_file
from rig.session.manifest import TAKE_KINDS


def wav_frames(path: Path) -> int | None:
    import soundfile as sf

    try:
        return int(sf.info(str(path)).frames)
    except (sf.SoundFileError, OSError):  # libsndfile refuses files that are no WAV
        return None


def file_problem(folder: Path, record: dict, kind: str) -> str | None:
    """Why one file of a take is not as recorded, or None when it is."""
    rel = record["files"][kind]
    path = Path(folder) / rel
    try:
        st = path.stat()
    except FileNotFoundError:
        return f"{rel}: missing"
    except OSError as exc:
        return f"{rel}: cannot be read ({exc.strerror})"
    if not path.is_file():
        return f"{rel}: not a file"
    size = (record.get("bytes") or {}).get(kind)
    if size is not None and st.st_size != size:
        return f"{rel}: {st.st_size} bytes, {size} were recorded (cut short or replaced)"
    frames = wav_frames(path)
    if frames is None:
        return f"{rel}: not a readable WAV file"
    if frames != record["samples"]:
        return f"{rel}: {frames} samples, {record['samples']} were recorded (cut short or replaced)"
    if sha256_file(path) != record["sha256"][kind]:
        return f"{rel}: checksum mismatch (the audio changed after it was recorded)"
    return None


def take_problems(folder: Path, record: dict) -> list[str]:
    """One line per damaged file of the take; empty when all three are as recorded."""
    try:
        found = [file_problem(folder, record, kind) for kind in TAKE_KINDS]
    except OSError as exc:  # e.g. an I/O error while hashing
        found = [f"{record['files'].get('wet')}: cannot be read ({exc.strerror})"]
    return [p for p in found if p]


def pending_rename(folder: Path, record: dict) -> bool:
    """A take whose manifest line is written but whose files still carry the temporary
    name: the commit is in progress (or was cut off and resume completes it)."""
    return any(
        not (Path(folder) / rel).exists() and os.path.exists(str(Path(folder) / rel) + TMP_SUFFIX)
        for rel in record["files"].values()
    )

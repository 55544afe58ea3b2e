"""Checkpoints: train/<model>/last.pt (after every good epoch) and best.pt (best monitored
loss). Written atomically, so a crash leaves the previous file intact and resume is safe."""

from __future__ import annotations

import errno
import io
from pathlib import Path

import torch

from rig.errors import UserError
from rig.session.atomic import write_bytes_atomic

LAST, BEST = "last.pt", "best.pt"
FORMAT = 1


def save(path: Path, state: dict) -> None:
    buf = io.BytesIO()
    torch.save({"format": FORMAT, **state}, buf)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_bytes_atomic(path, buf.getvalue())  # leaves no .partial behind when it fails
    except OSError as exc:
        cause = "the disk is full" if exc.errno in (errno.ENOSPC, errno.EDQUOT) else exc.strerror
        raise UserError(
            f"cannot save checkpoint {path}: {cause}; free some space (or fix the folder), "
            f"then run rig train again: it resumes from the last saved checkpoint"
        ) from None


def load(path: Path) -> dict:
    try:
        # weights_only: a checkpoint is data, never code to run
        state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise UserError(f"{path} not found; train the model first (rig train SESSION)") from None
    except Exception as exc:  # noqa: BLE001 - torch raises many kinds (unpickling, zip, tensor) for damaged files
        raise UserError(f"{path} is not a readable checkpoint ({type(exc).__name__}); delete it or retrain") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT or "model" not in state:
        raise UserError(f"{path} is not a rig checkpoint; give train/<model>/best.pt or an export folder")
    return state

"""Drift check: every reference take is compared with the session's first one. Same
setting, same dry content: their wet signals should agree to within noise, as Neural Amp
Modeler checks its replicate takes (Atkinson 2023)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

from rig.audio import esr


def content_of(wet: np.ndarray, content) -> np.ndarray:
    start, end = (int(content[0]), int(content[1])) if content else (0, len(wet))
    return np.asarray(wet[start:end], dtype=np.float32)


class DriftMonitor:
    """Holds the first reference's wet content; scores later ones against it."""

    def __init__(self, first: np.ndarray | None = None):
        self.first = first

    @classmethod
    def from_manifest(cls, folder: Path, records: list[dict]) -> "DriftMonitor":
        for rec in records:
            if rec.get("split") == "reference":
                wet, _ = sf.read(Path(folder) / rec["files"]["wet"], dtype="float32")
                return cls(content_of(wet, rec.get("content")))
        return cls()

    def check(self, wet_content: np.ndarray) -> float | None:
        """ESR against the first reference; None for the first one (it becomes the baseline)."""
        if self.first is None:
            self.first = np.asarray(wet_content, dtype=np.float32)
            return None
        return esr(self.first, wet_content)

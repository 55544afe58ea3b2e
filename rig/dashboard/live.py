"""Reads the capture's live levels (`live_levels.json`, rig/session/live.py) for the pushes:
re-read only when the file changed, so ten looks a second per page cost a stat each."""

from __future__ import annotations

import os
from pathlib import Path

from rig.session.live import LIVE_LEVELS_FILE, read_live_levels


class LiveLevels:
    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self._sig: tuple[int, int, int] | None = None
        self._last: dict | None = None

    def read(self) -> dict | None:
        """The newest published levels, or None when there are none."""
        try:
            st = os.stat(self.folder / LIVE_LEVELS_FILE)
        except OSError:
            return None
        sig = (st.st_ino, st.st_mtime_ns, st.st_size)
        if sig != self._sig:
            self._sig, self._last = sig, read_live_levels(self.folder)
        return self._last

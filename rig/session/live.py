"""`live_levels.json` in the session folder: the recording path's levels of the last ~100 ms,
overwritten (atomically: a temp file renamed over it) about ten times a second by the capture
while a take records, read by any dashboard. Never appended: it holds one small object.

{"seq": n, "t": unix time, "active": bool (a take is recording),
 "peak_dbfs": {"loopback": dB, "return": dB}, "rms_dbfs": {...}, "clipped": {...: blocks}}"""

from __future__ import annotations

import json
import os
from pathlib import Path

LIVE_LEVELS_FILE = "live_levels.json"


def write_live_levels(folder: Path, levels: dict) -> None:
    path = Path(folder) / LIVE_LEVELS_FILE
    tmp = path.with_name(f".{LIVE_LEVELS_FILE}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(levels, separators=(",", ":")))
    os.replace(tmp, path)  # readers see the old object or the new one, never half of one


def read_live_levels(folder: Path) -> dict | None:
    try:
        data = json.loads((Path(folder) / LIVE_LEVELS_FILE).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None

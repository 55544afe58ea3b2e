"""`live_levels.json` in the session folder: the recording path's levels of the last ~100 ms,
overwritten (atomically: a temp file renamed over it) about ten times a second by the capture
while a take records, read by any dashboard. Never appended: it holds one small object.

{"seq": n, "t": unix time, "active": bool (a take is recording),
 "peak_dbfs": {"loopback": dB, "return": dB}, "rms_dbfs": {...}, "clipped": {...: blocks}}"""

from __future__ import annotations

import json
from pathlib import Path

from rig.session.atomic import write_bytes_atomic

LIVE_LEVELS_FILE = "live_levels.json"


def write_live_levels(folder: Path, levels: dict) -> None:
    # atomic but not fsynced: ten rewrites a second of a figure a crash may well lose
    write_bytes_atomic(Path(folder) / LIVE_LEVELS_FILE, json.dumps(levels, separators=(",", ":")).encode(), sync=False)


def read_live_levels(folder: Path) -> dict | None:
    try:
        data = json.loads((Path(folder) / LIVE_LEVELS_FILE).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None

"""The session's event log (events.jsonl): what the dashboard replays and follows."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

from rig.session.atomic import append_line
from rig.session.jsonl import read_jsonl

EVENTS_FILE = "events.jsonl"


class EventLog:
    """Appends one JSON event per line. Several processes may append (capture, trainer):
    O_APPEND writes of one line are atomic for lines of ordinary size on Linux. A short write
    (full disk) raises OSError and leaves no fragment for the next line to fuse with."""

    def __init__(self, path: Path, sync: bool = False):
        self.path = Path(path)
        self.sync = sync
        self._lock = threading.Lock()
        self._seq = 0

    def emit(self, type: str, **fields) -> dict:
        with self._lock:
            self._seq += 1
            event = {"t": round(time.time(), 3), "seq": self._seq, "pid": os.getpid(), "type": type, **fields}
            append_line(self.path, json.dumps(event, default=_jsonable, separators=(",", ":")), sync=self.sync)
        return event


def _jsonable(value):
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def read_events(path: Path, offset: int = 0) -> tuple[list[dict], int]:
    """Events from byte `offset` of an events file (or a session folder)."""
    path = Path(path)
    if path.is_dir():
        path = path / EVENTS_FILE
    return read_jsonl(path, offset)

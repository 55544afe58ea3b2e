"""Following a capture from the outside: new manifest lines and the capture's end, read
incrementally from the session directory (the trainer never talks to the capture process)."""

from __future__ import annotations

import time
from pathlib import Path

from rig.session import EVENTS_FILE, MANIFEST_FILE
from rig.session.jsonl import read_jsonl

END_EVENTS = ("finished", "aborted")


class CaptureFollower:
    """`poll()` returns manifest lines not seen before. With follow=False the capture counts as
    ended from the start. A capture that goes silent for `idle_timeout_s` (crashed without an
    end event) also counts as ended, so a follower never waits forever."""

    def __init__(self, folder: Path, follow: bool, idle_timeout_s: float = 3600.0):
        self.folder = Path(folder)
        self.follow = follow
        self.idle_timeout_s = idle_timeout_s
        self.manifest_offset = 0
        self.events_offset = 0
        self.state = "running" if follow else "finished"
        self.last_news = time.time()

    @property
    def ended(self) -> bool:
        return self.state != "running"

    @property
    def aborted(self) -> bool:
        return self.state in ("aborted", "silent")

    def poll(self) -> list[dict]:
        # Events first: the capture appends a take's manifest line before `finished`, so every
        # line written before the end is read in this same call.
        events, self.events_offset = read_jsonl(self.folder / EVENTS_FILE, self.events_offset)
        records, self.manifest_offset = read_jsonl(self.folder / MANIFEST_FILE, self.manifest_offset)
        if events or records:
            self.last_news = time.time()
        if self.follow:
            self._update_state(events)
        return records

    def _update_state(self, events: list[dict]) -> None:
        for event in events:
            kind = event.get("type")
            if kind in END_EVENTS:
                self.state = kind
            elif kind == "run_started":  # a resumed capture after an earlier end
                self.state = "running"
        if self.state == "running" and time.time() - self.last_news > self.idle_timeout_s:
            self.state = "silent"

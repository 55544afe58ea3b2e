"""Following a capture from the outside: new manifest lines and the capture's end, read
incrementally from the session directory (the trainer never talks to the capture process).

Every take is verified (size, WAV length, sha256 against its manifest line) before the
trainer sees it: a damaged take is refused with an alert event and never trained on."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from rig.session import EVENTS_FILE, MANIFEST_FILE, EventLog
from rig.session.integrity import pending_rename, take_problems
from rig.session.jsonl import read_jsonl
from rig.session.manifest import is_retraction, is_take_record, parse_line

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
        self.waiting: dict[str, dict] = {}  # listed takes whose files are still being renamed
        self.refused: dict[str, list[str]] = {}  # take id -> what is wrong with its files

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
        lines, self.manifest_offset = read_jsonl(self.folder / MANIFEST_FILE, self.manifest_offset, parse_line)
        if events or lines:
            self.last_news = time.time()
        if self.follow:
            self._update_state(events)
        return self._verified(lines)

    def _verified(self, lines: list) -> list[dict]:
        """The takes of these manifest lines (and of earlier ones still being renamed) whose
        files are as recorded. A later line for the same take (retracted, re-recorded) wins."""
        candidates = self.waiting
        for obj in lines:
            if is_take_record(obj):
                candidates.pop(obj["take_id"], None)
                candidates[obj["take_id"]] = obj
            elif is_retraction(obj):
                candidates.pop(obj["take_id"], None)
        self.waiting, ready = {}, []
        for tid, record in candidates.items():
            if pending_rename(self.folder, record):
                self.waiting[tid] = record
                continue
            problems = take_problems(self.folder, record)
            if problems:
                self._refuse(record, problems)
            else:
                self.refused.pop(tid, None)
                ready.append(record)
        return ready

    def _refuse(self, record: dict, problems: list[str]) -> None:
        tid = record["take_id"]
        self.refused[tid] = problems
        message = (
            f"take {tid} is damaged ({'; '.join(problems)}); not training on it. "
            f"rig capture --resume {self.folder} records it again, rig verify {self.folder} lists all problems"
        )
        try:
            EventLog(self.folder / EVENTS_FILE).emit(
                "alert", level="error", kind="train_take_refused", take_id=tid, message=message
            )
        except OSError:
            pass  # a full disk must not stop the refusal itself
        print(f"rig train: warning: {message}", file=sys.stderr)

    def _update_state(self, events: list[dict]) -> None:
        for event in events:
            kind = event.get("type")
            if kind in END_EVENTS:
                self.state = kind
            elif kind == "run_started":  # a resumed capture after an earlier end
                self.state = "running"
        if self.state == "running" and time.time() - self.last_news > self.idle_timeout_s:
            self.state = "silent"

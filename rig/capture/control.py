"""Pause/resume/abort for the run: called by the dashboard (RunControl protocol), by the
signal handlers, and polled by the capture loop between takes."""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType


class Aborted(BaseException):
    """Second Ctrl-C: leave now. Everything committed so far stays committed. A BaseException,
    like KeyboardInterrupt, so that no `except Exception` on the way (parking, a driver
    retry loop) can swallow it."""


class CaptureControl:
    """States: starting, running, paused, stopping, finished, stopped, aborted."""

    def __init__(self, on_change: Callable[[str], None] | None = None):
        self.state = "starting"
        self.stop_reason: str | None = None
        self._resume = threading.Event()
        self._resume.set()
        self._lock = threading.Lock()
        self._on_change = on_change or (lambda _type: None)

    # ---- RunControl (dashboard) --------------------------------------------------
    def pause(self) -> None:
        with self._lock:
            if self.state != "running":
                return
            self.state = "paused"
            self._resume.clear()
        self._on_change("paused")

    def resume(self) -> None:
        with self._lock:
            if self.state != "paused":
                return
            self.state = "running"
            self._resume.set()
        self._on_change("resumed")

    def abort(self) -> None:
        self.request_stop("aborted from the dashboard")

    # ---- used by the run ---------------------------------------------------------
    def request_stop(self, reason: str) -> None:
        with self._lock:
            if self.stop_reason is None:
                self.stop_reason = reason
            if self.state in ("starting", "running", "paused"):
                self.state = "stopping"
            self._resume.set()  # a paused loop must wake up to stop

    @property
    def stopping(self) -> bool:
        return self.stop_reason is not None

    def set_state(self, state: str) -> None:
        with self._lock:
            if self.stop_reason is None or state in ("stopped", "aborted", "finished"):
                self.state = state

    def wait_while_paused(self) -> None:
        while not self._resume.wait(0.2):
            pass


class SignalGuard:
    """First SIGINT/SIGTERM: stop after the current take (resumable). Second: abort now."""

    def __init__(self, control: CaptureControl, say: Callable[[str], None]):
        self.control = control
        self.say = say
        self.count = 0
        self._old: dict[int, Callable[[int, FrameType | None], object] | int | None] = {}

    def __enter__(self) -> "SignalGuard":
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._old[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)

    def _handle(self, signum, _frame) -> None:
        self.count += 1
        if self.count == 1:
            name = "Ctrl-C" if signum == signal.SIGINT else "SIGTERM"
            training = self.control.state == "finished"  # capture is done: only the trainer runs
            self.control.request_stop(f"interrupted ({name})")
            what = "stopping the trainer" if training else "stopping after the current take"
            self.say(f"{name}: {what}; press Ctrl-C again to abort at once")
            return
        if self.count == 2:
            raise Aborted("aborted by a second interrupt")
        os._exit(130)  # cleanup is hanging and the user insists; every committed take is on disk


def eprint(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)

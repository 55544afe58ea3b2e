"""The trainer as a child process following the session (`rig train --follow SESSION`).

It runs in its own process group so a Ctrl-C at the terminal reaches only the capture,
which then decides what the trainer does; and it dies with the capture process (a SIGKILLed
capture must not leave an orphan trainer behind: resume starts a fresh one)."""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from rig.session import TRAIN_DIR

PR_SET_PDEATHSIG = 1
TRAINER_NICENESS = 5
# OpenMP threads spin while waiting by default, stealing the cores that capture and the
# virtual device need; passive waiting measured 5x faster steps with both busy.
TRAINER_ENV = {"PYTHONUNBUFFERED": "1", "OMP_WAIT_POLICY": "PASSIVE"}


def die_with_parent() -> None:
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass  # not Linux: the trainer stops following on its own when events say aborted


def trainer_child_setup() -> None:
    """In the child before exec: below the capture's priority (the audio path comes first),
    and gone when the capture dies."""
    os.nice(TRAINER_NICENESS)
    die_with_parent()


class TrainerProcess:
    def __init__(self, session_folder: Path, device: str = "auto"):
        self.folder = Path(session_folder)
        self.device = device
        self.log_path = self.folder / TRAIN_DIR / "trainer.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")
        try:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "rig",
                    "train",
                    "--follow",
                    "--quiet",
                    "--device",
                    self.device,
                    str(self.folder),
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=trainer_child_setup,
                env={**os.environ, **TRAINER_ENV},
            )
        finally:
            log.close()

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def returncode(self) -> int | None:
        return None if self.proc is None else self.proc.poll()

    def stop(self, grace_s: float = 20.0) -> int | None:
        """Ask the trainer to stop (SIGINT: it saves a checkpoint), then insist."""
        if not self.running:
            return self.returncode
        assert self.proc is not None  # running implies started
        for sig, wait in ((signal.SIGINT, grace_s), (signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
            try:
                self.proc.send_signal(sig)
            except ProcessLookupError:
                break
            if self._wait(wait):
                break
        return self.returncode

    def _wait(self, seconds: float) -> bool:
        assert self.proc is not None  # only stop() waits, on a running trainer
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return True
            time.sleep(0.1)
        return False

    def log_tail(self, lines: int = 5) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

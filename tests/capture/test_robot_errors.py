"""A robot that stops answering ends the run with one line, and the event log keeps the
driver's last lines on the wire for the bug report (Klipper's dump_debug idea)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time

from rig.capture import run_capture
from rig.capture.parts import RobotError
from rig.session import read_events, read_manifest
from tests.capture.helpers import sim_options, write_plan


def simulator_pids() -> list[int]:
    """The robot simulator started by this test process (its command names a shaft file)."""
    found = subprocess.run(["pgrep", "-P", str(os.getpid()), "-f", "shaft-file"], capture_output=True, text=True)
    return [int(p) for p in found.stdout.split()]


def wait_for(condition, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_a_frozen_robot_stops_the_run_and_the_event_log_keeps_the_wire_traffic(tmp_path):
    plan = write_plan(tmp_path, count=8, seconds=2.0)
    folder = tmp_path / "session"
    opts = sim_options(plan, folder)
    raised: list[BaseException] = []

    def capture() -> None:
        try:
            run_capture(opts)
        except BaseException as exc:  # noqa: BLE001 - whatever ended the capture goes to the test
            raised.append(exc)

    runner = threading.Thread(target=capture)
    runner.start()
    wait_for(lambda: (folder / "manifest.jsonl").exists() and len(read_manifest(folder)) >= 2, timeout=180)
    frozen = simulator_pids()
    assert len(frozen) == 1
    os.kill(frozen[0], signal.SIGSTOP)  # the MCU hangs: no more replies on the wire
    try:
        runner.join(timeout=120)
        assert not runner.is_alive()
    finally:
        with contextlib.suppress(ProcessLookupError):  # the capture closes the simulator itself
            os.kill(frozen[0], signal.SIGCONT)
    assert len(raised) == 1, raised
    assert isinstance(raised[0], RobotError), raised
    stopped = [e for e in read_events(folder)[0] if e["type"] == "alert" and e.get("kind") == "stopped"]
    assert len(stopped) == 1
    traffic = stopped[0]["traffic"]
    assert any(line.startswith("> ") for line in traffic)
    assert any(line.startswith("< ") for line in traffic)
    stored = read_manifest(folder)
    assert len(stored) >= 2, "takes recorded before the fault are kept"

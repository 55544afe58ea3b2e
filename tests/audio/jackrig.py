"""A real audio path for tests: a private jackd (dummy driver), the DUT client in its own
process, and a patchbay that wires PortAudio's ports per the seed-002 loopback wiring."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from rig.audio.jackwire import wire_reamp_loop

PERIOD = 256
DUT_DELAY = 37  # the DUT's own delay, in samples


def jackd_available() -> bool:
    return shutil.which("jackd") is not None


def start_jackd(name: str, period: int = PERIOD) -> subprocess.Popen:
    import jack

    proc = subprocess.Popen(
        ["jackd", "-n", name, "-d", "dummy", "-r", "48000", "-p", str(period)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            jack.Client("probe", servername=name, no_start_server=True).close()
            return proc
        except jack.JackOpenError:
            if proc.poll() is not None:
                raise RuntimeError(f"jackd exited: {proc.stderr.read().decode()[-500:]}") from None
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("jackd did not come up in 10 s")


class Dut:
    def __init__(self, server: str, gain: float = 3.0):
        script = Path(__file__).with_name("jack_dut.py")
        self.proc = subprocess.Popen(
            [sys.executable, str(script), server, str(DUT_DELAY), str(gain)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout.readline().strip() == "ready"

    def command(self, cmd: str) -> None:
        self.proc.stdin.write(cmd + "\n")
        self.proc.stdin.flush()
        assert self.proc.stdout.readline().strip() == "ok"

    def stop(self) -> None:
        try:
            self.proc.stdin.write("quit\n")
            self.proc.stdin.close()
            self.proc.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()


class Patchbay:
    """Wires the newest PortAudio stream: out_L -> in_L (loopback), out_R -> dut -> in_R."""

    def __init__(self, server: str):
        import jack

        self.client = jack.Client("patchbay", servername=server, no_start_server=True)
        self.client.activate()

    def wire(self, iface) -> None:
        wire_reamp_loop(self.client, iface.channels)

    def close(self) -> None:
        self.client.deactivate()
        self.client.close()


def server_env(name: str) -> dict:
    return {"JACK_DEFAULT_SERVER": name, "JACK_NO_START_SERVER": "1"}


def set_env(env: dict) -> dict:
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    return old


def restore_env(old: dict) -> None:
    for key, value in old.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value

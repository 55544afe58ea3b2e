"""A real audio path for tests: a private jackd (dummy driver), the DUT client in its own
process, and a patchbay that wires PortAudio's ports per the loopback wiring of Simionato & Fasciani 2024."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

from rig.audio import AlignmentError, align_take, build_program, check_take
from rig.audio.jackserver import start_dummy_server
from rig.audio.jackwire import wire_reamp_loop

from .conftest import make_plan

PERIOD = 256
DUT_DELAY = 37  # the DUT's own delay, in samples


def jackd_available() -> bool:
    return shutil.which("jackd") is not None


def start_jackd(name: str, period: int = PERIOD, sync: bool = True) -> subprocess.Popen:
    """A private dummy server; synchronous unless a test needs a late client to xrun, so a
    loaded or non-real-time machine delays a period instead of corrupting it."""
    return start_dummy_server(name, 48000, period, sync=sync)


@contextlib.contextmanager
def jack_rig(name: str, sync: bool = True):
    """(plan, PortAudio interface, DUT, patchbay) on a private server `name`."""
    from rig.audio.portaudio import PortAudioInterface, _sounddevice

    old = set_env(server_env(name))
    server = start_jackd(name, sync=sync)
    dut = patch = None
    try:
        dut, patch = Dut(name), Patchbay(name)
        plan = make_plan(1.0, audio={"interface": "system"})  # PortAudio's JACK device is named 'system'
        yield plan, PortAudioInterface(plan.audio, on_start=patch.wire), dut, patch
    finally:
        if patch:
            patch.close()
        if dut:
            dut.stop()
        sd = _sounddevice()
        sd._terminate()  # PortAudio must let go of the server before it dies, or it aborts at exit
        server.terminate()
        server.wait(timeout=10)
        restore_env(old)
        sd._initialize()


def take(plan, iface, mode, dut, seed=0):
    dut.command(mode)
    program = build_program(plan, "train", seed)
    rec = iface.play_record(program.signal)
    try:
        aligned = align_take(program, rec)
    except AlignmentError as exc:
        return program, rec, None, exc
    return program, rec, aligned, check_take(program, rec, aligned, plan.take)


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

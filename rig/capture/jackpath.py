"""`--sim --jack`: the real audio path without sound hardware. A private jackd (dummy
driver), the simulated device as a JACK client (`dut:in`/`dut:out`) reading the robot
simulator's shafts, and PortAudio recording through JACK, wired like the loopback reamping
rig of Simionato & Fasciani 2024: send -> dut -> return, loopback output -> loopback input."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from rig.audio.jackserver import start_dummy_server
from rig.audio.jackwire import wire_reamp_loop
from rig.audio.realtime import audio_process
from rig.capture.trainer_process import die_with_parent
from rig.errors import UserError
from rig.plan import Plan

# 1024 frames = 21 ms per period at 48 kHz. At 256 (5.3 ms) the simulated device's Python
# callback missed its deadline ~40 times a minute on an idle 2-core VM: the VM stalls even a
# SCHED_FIFO thread for 4-7 ms now and then (readme_snippets/jack_findings.md). Capture
# latency is measured on the loopback, so a longer period costs nothing here.
PERIOD = 1024


class JackAudio:
    def __init__(self, plan: Plan, plan_file: Path, shaft_path: Path | None):
        if not shutil.which("jackd"):
            raise UserError("--jack needs the JACK server; install it (apt-get install jackd2) or drop --jack")
        self.server = f"rig-capture-{os.getpid()}"
        try:
            self.jackd = start_dummy_server(self.server, plan.audio.sample_rate, PERIOD, preexec_fn=die_with_parent)
        except RuntimeError:
            raise UserError(
                "the private JACK server did not start; check `jackd -d dummy` runs on this machine"
            ) from None
        try:
            self._start(plan, plan_file, shaft_path)
        except BaseException:
            self.close()
            raise

    def _start(self, plan: Plan, plan_file: Path, shaft_path: Path | None) -> None:
        import jack

        # PortAudio finds JACK servers at import: point it at ours before sounddevice loads.
        os.environ.update({"JACK_DEFAULT_SERVER": self.server, "JACK_NO_START_SERVER": "1"})
        # The device is its own process, as a pedal would be: it reads the shafts itself
        # (without a robot, e.g. `rig bench capture --jack`, its knobs stay at their defaults).
        shafts = ["--shafts", str(shaft_path)] if shaft_path is not None else []
        self.dut = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "rig",
                "sim",
                "dut",
                "--jack",
                "--kind",
                plan.device.simulator,
                *shafts,
                "--plan",
                str(plan_file),
                "--server",
                self.server,
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
            preexec_fn=die_with_parent,
        )
        self.patch = jack.Client("rig-patchbay", servername=self.server, no_start_server=True)
        self.patch.activate()
        self._wait_for_dut()
        from rig.audio.portaudio import PortAudioInterface

        self.iface = PortAudioInterface(plan.audio.model_copy(update={"interface": "system"}), on_start=self._wire)
        self.name = f"JACK dummy ({self.iface.name})"
        self.sample_rate = self.iface.sample_rate

    def _wait_for_dut(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while not self.patch.get_ports("dut:in"):
            if self.dut.poll() is not None:
                assert self.dut.stderr is not None  # started with stderr=PIPE
                raise UserError(f"the simulated device did not start: {self.dut.stderr.read().strip()[-300:]}")
            if time.monotonic() > deadline:
                raise UserError("the simulated device did not come up as a JACK client within 30 s")
            time.sleep(0.1)

    def _wire(self, iface) -> None:
        wire_reamp_loop(self.patch, iface.channels)

    def play_record(self, signal):
        with audio_process(promote=False):  # our other threads yield the GIL to the callback fast
            return self.iface.play_record(signal)

    def close(self) -> None:
        patch = getattr(self, "patch", None)
        if patch is not None:
            patch.deactivate()
            patch.close()
        dut = getattr(self, "dut", None)
        if dut is not None and dut.poll() is None:
            dut.send_signal(signal.SIGINT)
            try:
                dut.wait(5.0)
            except subprocess.TimeoutExpired:
                dut.kill()
        if getattr(self, "iface", None) is not None:
            import sounddevice

            sounddevice._terminate()  # PortAudio asserts at exit if its JACK server vanished first
        self.jackd.terminate()
        try:
            self.jackd.wait(5.0)
        except subprocess.TimeoutExpired:
            self.jackd.kill()


def open_jack_audio(plan: Plan, plan_file: Path, shaft_path: Path | None) -> JackAudio:
    return JackAudio(plan, plan_file, shaft_path)

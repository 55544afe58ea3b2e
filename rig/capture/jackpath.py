"""`--sim --jack`: the real audio path without sound hardware. A private jackd (dummy
driver), the simulated device as a JACK client (`dut:in`/`dut:out`) reading the robot
simulator's shafts, and PortAudio recording through JACK, wired like the seed-002 rig:
send -> dut -> return, loopback output -> loopback input (see PLATFORM_NOTES.md)."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading

from rig.errors import UserError
from rig.plan import Plan

PERIOD = 256


class JackAudio:
    def __init__(self, plan: Plan, knob_source):
        if not shutil.which("jackd"):
            raise UserError("--jack needs the JACK server; install it (apt-get install jackd2) or drop --jack")
        self.server = f"rig-capture-{os.getpid()}"
        self.jackd = subprocess.Popen(
            ["jackd", "-n", self.server, "-d", "dummy", "-r", str(plan.audio.sample_rate), "-p", str(PERIOD)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._stop = threading.Event()
        try:
            self._start(plan, knob_source)
        except BaseException:
            self.close()
            raise

    def _start(self, plan: Plan, knob_source) -> None:
        from rig.sim import make_device
        from rig.sim.jack_dut import run_jack_dut, wait_for_server

        if not wait_for_server(self.server, 10.0):
            raise UserError("the private JACK server did not start; check `jackd -d dummy` runs on this machine")
        # PortAudio finds JACK servers at import: point it at ours before sounddevice loads.
        os.environ.update({"JACK_DEFAULT_SERVER": self.server, "JACK_NO_START_SERVER": "1"})
        ready = threading.Event()
        self.dut = threading.Thread(
            target=run_jack_dut, name="rig-jack-dut", daemon=True,
            kwargs={"device": lambda fs: make_device(plan.device.simulator, sample_rate=fs), "knob_source": knob_source,
                    "servername": self.server, "stop": self._stop, "ready": ready})
        self.dut.start()
        if not ready.wait(10.0):
            raise UserError("the simulated device did not come up as a JACK client")
        import jack

        from rig.audio.portaudio import PortAudioInterface

        self.patch = jack.Client("rig-patchbay", servername=self.server, no_start_server=True)
        self.patch.activate()
        self.iface = PortAudioInterface(plan.audio.model_copy(update={"interface": "system"}), on_start=self._wire)
        self.name = f"JACK dummy ({self.iface.name})"
        self.sample_rate = self.iface.sample_rate

    def _wire(self, iface) -> None:
        """Wire the newest PortAudio stream's ports (numbered per stream: never hard-coded)."""
        ins = _newest(self.patch.get_ports("PortAudio", is_audio=True, is_input=True))
        outs = _newest(self.patch.get_ports("PortAudio", is_audio=True, is_output=True))
        for port in ins + outs:
            for other in self.patch.get_all_connections(port):
                self.patch.disconnect(port, other) if port.is_output else self.patch.disconnect(other, port)
        ch = iface.channels
        self.patch.connect(outs[ch.loopback - 1], ins[ch.loopback - 1])
        self.patch.connect(outs[ch.send - 1], "dut:in")
        self.patch.connect("dut:out", ins[ch.return_ - 1])

    def play_record(self, signal):
        return self.iface.play_record(signal)

    def close(self) -> None:
        self._stop.set()
        patch = getattr(self, "patch", None)
        if patch is not None:
            patch.deactivate()
            patch.close()
        if getattr(self, "dut", None) is not None:
            self.dut.join(5.0)
        if getattr(self, "iface", None) is not None:
            import sounddevice

            sounddevice._terminate()  # PortAudio asserts at exit if its JACK server vanished first
        self.jackd.terminate()
        try:
            self.jackd.wait(5.0)
        except subprocess.TimeoutExpired:
            self.jackd.kill()


def _newest(ports) -> list:
    return sorted(ports, key=lambda p: int(p.shortname.split("_")[-1]))[-2:]


def open_jack_audio(plan: Plan, knob_source) -> JackAudio:
    return JackAudio(plan, knob_source)

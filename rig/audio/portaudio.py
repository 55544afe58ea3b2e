"""A real interface through PortAudio (sounddevice), callback-driven full duplex.

sounddevice is imported lazily: PortAudio scans the host APIs once at import, so with JACK
the server must already run (docs/SETUP.md); a miss triggers one rescan.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable

import numpy as np

from rig.audio.interface import PRESETS, TAIL_S, Recording, channel_map, empty_status
from rig.audio.meter import BlockMeter
from rig.errors import UserError
from rig.plan.models import Audio


def _sounddevice(rescan: bool = False):
    # A user's JACK server is theirs to start; never let PortAudio spawn one behind their back.
    os.environ.setdefault("JACK_NO_START_SERVER", "1")
    fresh = "sounddevice" not in sys.modules  # a fresh import has just scanned
    try:
        import sounddevice as sd
    except OSError:
        raise UserError(
            "the PortAudio library is missing; install it (Debian: apt-get install libportaudio2)"
        ) from None
    if rescan and not fresh:
        sd._terminate()  # the documented way to make PortAudio see devices started since import
        sd._initialize()
    return sd


def list_devices(rescan: bool = True) -> list[dict]:
    sd = _sounddevice(rescan)
    apis = sd.query_hostapis()
    return [
        {
            "index": i,
            "name": d["name"],
            "hostapi": apis[d["hostapi"]]["name"],
            "inputs": d["max_input_channels"],
            "outputs": d["max_output_channels"],
            "default_samplerate": d["default_samplerate"],
        }
        for i, d in enumerate(sd.query_devices())
    ]


def describe_devices(devices: list[dict]) -> str:
    if not devices:
        return (
            "no audio devices found; connect the interface, or start the audio server "
            "(JACK: jackd -d alsa, or check ALSA), then run `rig devices`"
        )
    shown = (f"{d['index']} '{d['name']}' ({d['inputs']} in, {d['outputs']} out)" for d in devices)
    return "available: " + "; ".join(shown)


def find_device(interface: str, need_in: int, need_out: int) -> dict:
    match = PRESETS[interface].match if interface in PRESETS else interface
    for rescan in (False, True):
        devices = list_devices(rescan)
        found = _match(devices, match)
        if found:
            break
    if not found:
        raise UserError(f"audio interface '{interface}' not found; {describe_devices(devices)}")
    ok = [d for d in found if d["inputs"] >= need_in and d["outputs"] >= need_out]
    if not ok:
        d = found[0]
        raise UserError(
            f"'{d['name']}' has {d['inputs']} in / {d['outputs']} out but the channel map needs "
            f"{need_in} in / {need_out} out; fix audio.channels; {describe_devices(devices)}"
        )
    return ok[0]


def _match(devices: list[dict], wanted: str) -> list[dict]:
    if wanted.isdigit():
        return [d for d in devices if d["index"] == int(wanted)]
    exact = [d for d in devices if d["name"] == wanted]
    return exact or [d for d in devices if wanted.lower() in d["name"].lower()]


class PortAudioInterface:
    """One duplex stream per take. `on_start(iface)` runs once the stream is live and before
    the program plays (the JACK tests wire their ports there)."""

    def __init__(
        self, audio: Audio, on_start: Callable[[PortAudioInterface], None] | None = None, tail_s: float = TAIL_S
    ):
        self.audio = audio
        self.sample_rate = audio.sample_rate
        self.channels = channel_map(audio)
        self.on_start = on_start
        self.tail_s = tail_s
        self.meter: BlockMeter | None = None  # fed each recorded block from the callback (meter.py)
        self.n_in = max(self.channels.loopback, self.channels.return_)
        self.n_out = max(self.channels.loopback, self.channels.send)
        self.device = find_device(audio.interface, self.n_in, self.n_out)
        self.name = self.device["name"]
        self._check_settings()

    def _check_settings(self) -> None:
        sd = _sounddevice()
        try:
            common = {"device": self.device["index"], "samplerate": self.sample_rate, "dtype": "float32"}
            sd.check_input_settings(channels=self.n_in, **common)
            sd.check_output_settings(channels=self.n_out, **common)
        except sd.PortAudioError as exc:
            need = f"{self.sample_rate} Hz with {self.n_in} in / {self.n_out} out"
            raise UserError(
                f"'{self.name}' does not support {need} ({exc}); set audio.sample_rate to a rate the interface runs at"
            ) from None

    def play_record(self, signal: np.ndarray) -> Recording:
        run = _Run(
            self._outputs(signal), self.n_in, self.meter, (self.channels.loopback - 1, self.channels.return_ - 1)
        )
        t0 = time.perf_counter()
        sd = _sounddevice()
        try:
            stream = sd.Stream(
                device=(self.device["index"],) * 2,
                samplerate=self.sample_rate,
                blocksize=self._blocksize(),
                channels=(self.n_in, self.n_out),
                dtype="float32",
                callback=run.callback,
            )
        except sd.PortAudioError as exc:
            raise UserError(
                f"cannot open '{self.name}' ({exc}); close other programs using it or check the plan's sample rate"
            ) from None
        with stream:
            if self.on_start:
                self.on_start(self)
            run.go.set()
            if not run.done.wait(timeout=len(run.out) / self.sample_rate * 2 + 5):
                raise UserError(
                    f"'{self.name}' stopped delivering audio mid-take; check the interface is still connected"
                )
        n = len(signal) + int(self.tail_s * self.sample_rate)
        rec = run.rec[:n]
        return Recording(
            rec[:, self.channels.loopback - 1].copy(),
            rec[:, self.channels.return_ - 1].copy(),
            self.sample_rate,
            run.status,
            time.perf_counter() - t0,
        )

    def _blocksize(self) -> int:
        # JACK fixes the period itself; a fixed PortAudio block size there adds a buffer of latency.
        return 0 if "JACK" in self.device["hostapi"] else self.audio.blocksize

    def _outputs(self, signal: np.ndarray) -> np.ndarray:
        n = len(signal) + int(self.tail_s * self.sample_rate)
        out = np.zeros((n, self.n_out), np.float32)
        for ch in {self.channels.loopback, self.channels.send}:
            out[: len(signal), ch - 1] = signal  # the same program to the loopback cable and the device
        return out

    def close(self) -> None:
        pass


class _Run:
    """State shared with the audio callback: plays `out`, records as many frames."""

    def __init__(
        self, out: np.ndarray, n_in: int, meter: BlockMeter | None = None, meter_channels: tuple[int, int] = (0, 1)
    ):
        self.out = out
        self.meter, self.meter_channels = meter, meter_channels
        self.rec = np.zeros((len(out), n_in), np.float32)
        self.pos = 0
        self.go = threading.Event()
        self.done = threading.Event()
        self.status = empty_status()

    def callback(self, indata, outdata, frames, _time_info, status) -> None:
        if not self.go.is_set() or self.done.is_set():
            outdata.fill(0)
            return
        self._count(status)
        m = min(frames, len(self.out) - self.pos)
        outdata[:m] = self.out[self.pos : self.pos + m]
        outdata[m:] = 0
        self.rec[self.pos : self.pos + m] = indata[:m]
        if self.meter is not None:
            loop, ret = self.meter_channels
            self.meter.feed(indata[:m, loop], indata[:m, ret])
        self.pos += m
        if self.pos >= len(self.out):
            self.done.set()

    def _count(self, status) -> None:
        over = status.input_overflow or status.input_underflow
        under = status.output_underflow or status.output_overflow
        self.status["overflow"] += bool(over)
        self.status["underflow"] += bool(under)
        self.status["xruns"] += bool(over or under)  # a glitched block; priming flags are not xruns

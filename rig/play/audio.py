"""Audio I/O for `rig play`: a JACK client or a PortAudio stream whose callback runs one period
through the PlayerCore, with the input taken live or from a file."""

from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np

from rig.audio.jackserver import open_client
from rig.errors import UserError
from rig.play.core import PlayerCore


class FileSource:
    """A file played once (or looped), period by period; silence after its end."""

    def __init__(self, audio: np.ndarray, loop: bool = False):
        self.audio, self.loop, self.pos = np.asarray(audio, np.float32), loop, 0
        self.done = threading.Event()
        self.started = threading.Event()  # set once the ports are wired: nothing is played unheard

    def read(self, frames: int) -> np.ndarray:
        out = np.zeros(frames, np.float32)
        filled = 0
        while filled < frames and not self.done.is_set():
            chunk = self.audio[self.pos : self.pos + frames - filled]
            out[filled : filled + len(chunk)] = chunk
            filled += len(chunk)
            self.pos += len(chunk)
            if self.pos >= len(self.audio):
                if self.loop:
                    self.pos = 0
                else:
                    self.done.set()
        return out


MakeCore = Callable[[int, int], PlayerCore]  # (period, sample_rate) -> core


def _fail(core: PlayerCore, exc: Exception, stop: threading.Event) -> None:
    if len(core.stats.errors) < 10:
        core.stats.errors.append(repr(exc))
    stop.set()


def run_jack(
    make_core: MakeCore,
    source: FileSource | None,
    stop: threading.Event,
    servername: str | None = None,
    client_name: str = "rig-play",
    connect_in: list[str] | None = None,
    connect_out: list[str] | None = None,
    on_start: Callable[[PlayerCore, dict], None] | None = None,
) -> PlayerCore:
    client = open_client(client_name, servername)
    try:
        core = make_core(client.blocksize, client.samplerate)
        inport, outport = client.inports.register("in"), client.outports.register("out")

        def process(frames: int) -> None:
            try:
                if source is not None and not source.started.is_set():
                    outport.get_array()[:] = 0.0  # the model's state stays fresh until the file starts
                    return
                x = source.read(frames) if source is not None else inport.get_array()
                outport.get_array()[:] = core.period(x)
            except Exception as exc:  # noqa: BLE001 - a traceback in the RT thread helps nobody
                outport.get_array()[:] = 0.0
                _fail(core, exc, stop)

        def xrun(_delay_usecs: float) -> None:  # JACK's signature
            core.stats.xruns += 1

        client.set_process_callback(process)
        client.set_xrun_callback(xrun)
        client.set_shutdown_callback(lambda _status, _reason: stop.set())
        with client:
            ins = connect_in if connect_in is not None else ([] if source else _system(client, "capture")[:1])
            outs = connect_out if connect_out is not None else _system(client, "playback")[:2]
            for src, dst in [(p, inport) for p in ins] + [(outport, p) for p in outs]:
                try:
                    client.connect(src, dst)
                except Exception as exc:  # noqa: BLE001 - jack.JackError and friends
                    raise UserError(
                        f"cannot connect {getattr(src, 'name', src)} -> {getattr(dst, 'name', dst)} "
                        f"({exc}); list the ports with `jack_lsp`"
                    ) from None
            if source is not None:
                source.started.set()
            if on_start:  # JACK-Client has no latency query: the period is what this client adds
                on_start(
                    core,
                    {
                        "api": "JACK",
                        "period": client.blocksize,
                        "rate": client.samplerate,
                        "ports": [inport.name, outport.name],
                    },
                )
            _wait(stop, source)
    finally:
        client.close()
    return core


def run_portaudio(
    make_core: MakeCore,
    source: FileSource | None,
    stop: threading.Event,
    rate: int,
    period: int,
    device: str | None = None,
    on_start: Callable[[PlayerCore, dict], None] | None = None,
) -> PlayerCore:
    import sounddevice as sd

    core = make_core(period, rate)

    def callback(indata, outdata, frames, _time_info, status) -> None:  # sounddevice's signature
        if status.input_overflow or status.output_underflow:
            core.stats.xruns += 1
        if source is not None and not source.started.is_set():
            outdata[:] = 0.0
            return
        try:
            x = source.read(frames) if source is not None else indata[:, 0]
            outdata[:, 0] = core.period(np.ascontiguousarray(x, np.float32))
        except Exception as exc:  # noqa: BLE001
            outdata[:] = 0.0
            _fail(core, exc, stop)

    try:
        stream = sd.Stream(
            samplerate=rate, blocksize=period, channels=1, dtype="float32", callback=callback, device=device
        )
    except (sd.PortAudioError, ValueError) as exc:
        raise UserError(
            f"cannot open the audio device {device or '(default)'} at {rate} Hz / {period} frames "
            f"({exc}); list devices with `rig devices`"
        ) from None
    with stream:
        if source is not None:
            source.started.set()
        if on_start:
            on_start(
                core,
                {"api": "PortAudio", "period": period, "rate": rate, "output_latency": round(stream.latency[1] * rate)},
            )
        _wait(stop, source)
    return core


def _wait(stop: threading.Event, source: FileSource | None) -> None:
    try:
        while not stop.wait(0.05):
            if source is not None and source.done.is_set():
                stop.wait(0.2)  # let the last periods leave
                return
    except KeyboardInterrupt:
        pass


def _system(client, kind: str) -> list[str]:
    is_input = kind == "playback"
    return [p.name for p in client.get_ports("system", is_audio=True, is_physical=True, is_input=is_input)]

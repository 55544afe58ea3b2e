"""Run a simulated device as a JACK client (`dut:in` -> device -> `dut:out`), so the rig's
real audio path (PortAudio on JACK) can reamp through it like through a pedal.

The process callback only runs the device, and the one other thread holding the GIL here
(the knob poll) hands it over fast and cannot be preempted while holding it
(rig.audio.realtime). Knob readings (which may touch files, e.g. the
robot simulator's shaft file) are polled in a helper thread and handed to the callback
through a single reference swap, so the real-time thread never does I/O. A new reading is
applied at the start of the next period.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from rig.audio.jackserver import open_client
from rig.audio.realtime import audio_process
from rig.errors import UserError


@dataclass
class DutStats:
    blocks: int = 0
    xruns: int = 0
    knob_updates: int = 0
    errors: list[str] = field(default_factory=list)


def run_jack_dut(
    device,
    knob_source: Callable[[], dict[str, float]] | None = None,
    client_name: str = "dut",
    servername: str | None = None,
    stop: threading.Event | None = None,
    ready: threading.Event | Callable[[], None] | None = None,
    connect_in: str | None = None,
    connect_out: str | None = None,
    poll_s: float = 0.005,
    stats: DutStats | None = None,
) -> DutStats:
    """Serve `device` on JACK until `stop` is set (or Ctrl-C). Blocks the calling thread.

    device: a BlockDevice, or a callable sample_rate -> BlockDevice (built once the server's
    rate is known). `ready` (an Event, or a callable) is set/called once the ports exist,
    the client is active and the connections are made.
    connect_in/connect_out: optional port names to wire to dut:in / from dut:out.
    """
    stop = stop or threading.Event()
    stats = stats or DutStats()
    client = open_client(client_name, servername)
    try:
        device = _device_at(device, client.samplerate)
        inport = client.inports.register("in")
        outport = client.outports.register("out")
        pending: list = [None]  # latest unseen knob reading; swapped atomically under the GIL
        poll_once = _KnobPoll(knob_source, set(device.knob_names), pending, stats)

        def xrun(_delay_usecs: float) -> None:  # JACK's signature
            stats.xruns += 1

        client.set_process_callback(_process_callback(device, inport, outport, pending, stats, stop))
        client.set_xrun_callback(xrun)
        client.set_shutdown_callback(lambda _status, _reason: stop.set())
        poll_once()  # knobs right before the first period
        if pending[0] is not None:
            device.set_knobs(pending[0])
            pending[0] = None
        # The poll loop below shares the GIL with the process callback (jack_findings.md).
        with audio_process(promote=knob_source is not None), client:
            _connect(client, ((connect_in, inport), (outport, connect_out)))
            if isinstance(ready, threading.Event):
                ready.set()
            elif ready is not None:
                ready()
            _poll_until(stop, poll_once, poll_s)
    finally:
        client.close()
    return stats


def _device_at(device, fs: int):
    """The device built for (a factory) or checked against (a device) the server's rate."""
    if callable(device) and not hasattr(device, "process"):
        device = device(fs)
    if device.sample_rate != fs:
        raise UserError(
            f"the JACK server runs at {fs} Hz but the device was made for {device.sample_rate} Hz; "
            "restart jackd with -r matching, or build the device at the server rate"
        )
    return device


def _process_callback(device, inport, outport, pending: list, stats: DutStats, stop: threading.Event):
    """The real-time callback: apply a new knob reading, then process one period."""

    def process(_frames: int) -> None:  # JACK's signature; the port buffers know their length
        try:
            values = pending[0]
            if values is not None:
                pending[0] = None
                device.set_knobs(values)
                stats.knob_updates += 1
            outport.get_array()[:] = device.process(inport.get_array())
            stats.blocks += 1
        except Exception as exc:  # noqa: BLE001 - the real-time thread must not die: record, go silent, stop
            outport.get_array()[:] = 0.0
            if len(stats.errors) < 10:
                stats.errors.append(repr(exc))
            stop.set()

    return process


class _KnobPoll:
    """One knob reading (off the real-time thread); a changed one is left in `pending[0]`."""

    def __init__(self, source: Callable[[], dict[str, float]] | None, names: set[str], pending: list, stats: DutStats):
        self.source, self.names, self.pending, self.stats = source, names, pending, stats
        self.last: dict[str, float] | None = None

    def __call__(self) -> None:
        if self.source is None:
            return
        try:
            reading = self.source()
        except Exception as exc:  # noqa: BLE001 - any reader's failure is recorded; the device plays on
            if len(self.stats.errors) < 10:
                self.stats.errors.append(f"knob source: {exc!r}")
            return
        if reading:
            reading = {k: float(v) for k, v in reading.items() if k in self.names}
            if reading != self.last:
                self.last = reading
                self.pending[0] = reading


def _connect(client, pairs) -> None:
    """Wire the (source, destination) pairs whose ends are both given."""
    import jack

    for src, dst in pairs:
        if src is None or dst is None:
            continue
        try:
            client.connect(src, dst)
        except jack.JackError as exc:
            raise UserError(
                f"cannot connect {getattr(src, 'name', src)} -> {getattr(dst, 'name', dst)} ({exc}); "
                "list the ports with `jack_lsp`"
            ) from None


def _poll_until(stop: threading.Event, poll: Callable[[], None], poll_s: float) -> None:
    try:
        while not stop.is_set():
            poll()
            stop.wait(poll_s)
    except KeyboardInterrupt:
        pass


def offline_render(device, x: np.ndarray, block: int = 256) -> np.ndarray:
    """Process x through device in blocks (what the JACK callback does), for comparisons."""
    out = [device.process(x[i : i + block]) for i in range(0, len(x), block)]
    return np.concatenate(out) if out else np.zeros(0, np.float32)

"""`rig play`: load a model, build the period processor at the audio API's period, attach the
terminal and MIDI controls, play until the file ends (or Ctrl-C / `quit`), and report latency,
CPU per period and xruns."""

from __future__ import annotations

import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

import torch

from rig.audio.realtime import audio_process
from rig.errors import UserError
from rig.play import audio, control
from rig.play.core import PlayerCore
from rig.play.runtime import KINDS, default_kind
from rig.train.render import load_model, parse_settings, read_mono


@dataclass
class PlayOptions:
    model: str
    settings: str = ""
    input: Path | None = None
    loop: bool = False
    backend: str = "jack"
    server: str | None = None
    connect_in: list[str] | None = None
    connect_out: list[str] | None = None
    device: str | None = None
    period: int = 256
    runtime: str = "auto"
    glide_ms: float = 20.0
    bypass: bool = False
    midi: str | None = None  # None: no MIDI; "": the first port
    cc: str | None = None
    terminal: bool = True
    dashboard: str | None = None  # a dashboard URL with ?token=: its Play panel moves the knobs
    quiet: bool = False
    info: dict = field(default_factory=dict)  # filled: what ran (API, period, runtime, latency)


def play(opts: PlayOptions, stop: threading.Event | None = None) -> PlayerCore:
    if opts.runtime not in ("auto", *KINDS):
        raise UserError(f"--runtime {opts.runtime}: use auto, {', '.join(KINDS)}")
    stop = stop or threading.Event()
    loaded = load_model(opts.model)
    values = parse_settings(opts.settings, loaded.knobs)
    source = audio.FileSource(read_mono(opts.input, loaded.sample_rate), opts.loop) if opts.input else None
    kind = default_kind(loaded.config) if opts.runtime == "auto" else opts.runtime
    torch.set_num_threads(1)  # one period is small; more threads only add wake-up jitter
    midi_port = None

    def make_core(period: int, rate: int) -> PlayerCore:
        if rate != loaded.sample_rate:
            raise UserError(
                f"the audio runs at {rate} Hz but the model at {loaded.sample_rate} Hz; "
                f"run the server/device at {loaded.sample_rate} Hz"
            )
        core = PlayerCore(loaded, values, period, kind, glide_s=opts.glide_ms / 1000)
        core.bypass = opts.bypass
        return core

    def on_start(core: PlayerCore, info: dict) -> None:
        nonlocal midi_port
        midi_port = _started(opts, core, info, stop)

    try:  # audio_process: GIL handed to the callback within 0.2 ms, GC-frozen heap (issue 17 findings)
        with audio_process(promote=True):
            core = _run(opts, make_core, source, stop, loaded.sample_rate, on_start)
    finally:
        if midi_port is not None:
            midi_port.close()
    if core.stats.errors:
        raise UserError(f"playing stopped: {core.stats.errors[0]}")
    say(opts, report_line(core, opts.info))
    return core


def _started(opts: PlayOptions, core: PlayerCore, info: dict, stop: threading.Event):
    """The audio runs: say so, attach the controls the options ask for; returns the MIDI port
    it opened (or None), for the caller to close."""
    opts.info.update(info, runtime=core.runner.kind, frame=core.runner.frame, model_latency=0)
    say(opts, started_line(core, info))
    if core.runner.why:
        say(opts, f"runtime {core.runner.requested} unavailable: {core.runner.why}")
    midi_port = None
    if opts.midi is not None:
        midi_port, line = control.open_midi(opts.midi, control.parse_cc_map(opts.cc, core.loaded.knobs), core)
        say(opts, line)
    if opts.dashboard:
        from rig.play.dashboard_link import dashboard_thread

        dashboard_thread(opts.dashboard, core, stop, lambda line: say(opts, line))
    if opts.terminal:
        say(opts, control.HELP)
        control.terminal_thread(core, stop, lambda: report_line(core, opts.info))
    return midi_port


def _run(opts: PlayOptions, make_core, source, stop, rate: int, on_start) -> PlayerCore:
    if opts.backend == "jack":
        return audio.run_jack(
            make_core,
            source,
            stop,
            opts.server,
            connect_in=opts.connect_in,
            connect_out=opts.connect_out,
            on_start=on_start,
        )
    return audio.run_portaudio(make_core, source, stop, rate, opts.period, opts.device, on_start=on_start)


def started_line(core: PlayerCore, info: dict) -> str:
    knobs = ", ".join(f"{k}={v:g}" for k, v in core.values.items())
    return (
        f"playing {core.loaded.name} on {info['api']} at {info['rate']} Hz, period {info['period']} frames "
        f"({1000 * info['period'] / info['rate']:.1f} ms); runtime {core.runner.kind}; {knobs}"
        + ("; bypass on" if core.bypass else "")
    )


def report_line(core: PlayerCore, info: dict) -> str:
    s, rate = core.stats, info.get("rate", core.loaded.sample_rate)
    period = info.get("period", core.period_frames)
    out_lat = info.get("output_latency")
    lat = f"latency: period {period} frames ({1000 * period / rate:.1f} ms)"
    lat += f", output {out_lat} frames" if out_lat is not None else ""
    lat += ", model 0 samples (causal)"
    return (
        f"{s.periods} periods ({s.periods * period / rate:.1f} s): xruns {s.xruns}, late periods {s.late}, "
        f"CPU per period mean {100 * s.cpu_mean:.1f}% max {100 * s.cpu_max:.1f}%; {lat}"
    )


def say(opts: PlayOptions, line: str) -> None:
    if not opts.quiet:
        print(line, file=sys.stderr, flush=True)

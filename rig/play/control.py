"""Live knob control for `rig play`: `gain=6` lines (and `bypass`, `status`, `quit`) from the
terminal, and MIDI CC from a port (mido with python-rtmidi; optional)."""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Callable

from rig.errors import UserError
from rig.play.core import PlayerCore
from rig.train.render import parse_settings

HELP = "type knob=value (e.g. gain=6,bass=4), 'bypass' to toggle A/B, 'status', or 'quit'"


def parse_changes(text: str, knobs: list[dict]) -> dict[str, float]:
    """'gain=6,bass=4' -> only the named knobs (checked as --set is)."""
    named = {p.partition("=")[0].strip() for p in text.split(",") if p.strip()}
    return {k: v for k, v in parse_settings(text, knobs).items() if k in named}


def handle_line(line: str, core: PlayerCore, stop: threading.Event, status: Callable[[], str]) -> str | None:
    """One terminal line; returns what to print (None: nothing)."""
    text = line.strip()
    if not text:
        return None
    if text in ("quit", "q", "exit"):
        stop.set()
        return None
    if text in ("bypass", "b"):
        core.bypass = not core.bypass
        return f"bypass {'on' if core.bypass else 'off'}"
    if text == "status":
        return status()
    if "=" not in text:
        return f"? {HELP}"
    try:
        changes = parse_changes(text, core.loaded.knobs)
    except UserError as exc:
        return f"? {exc}"
    core.request(changes)
    return " ".join(f"{k}={v:g}" for k, v in changes.items())


def terminal_thread(
    core: PlayerCore, stop: threading.Event, status: Callable[[], str], stream=None
) -> threading.Thread:
    stream = stream or sys.stdin

    def run():
        for line in stream:
            reply = handle_line(line, core, stop, status)
            if reply:
                print(reply, flush=True)
            if stop.is_set():
                return

    t = threading.Thread(target=run, name="rig-play-terminal", daemon=True)
    t.start()
    return t


def parse_cc_map(text: str | None, knobs: list[dict]) -> dict[int, str]:
    """'20=gain,21=bass' -> {20: 'gain', 21: 'bass'}; default: CC 20, 21, ... in knob order."""
    names = [k["name"] for k in knobs]
    if not text:
        return {20 + i: n for i, n in enumerate(names)}
    mapping = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        cc, _, name = part.partition("=")
        if not cc.strip().isdigit() or not 0 <= int(cc) <= 127 or name.strip() not in names:
            raise UserError(f"--cc {part!r}: write CC=knob with CC 0..127 and a knob of {', '.join(names)}")
        mapping[int(cc)] = name.strip()
    return mapping


def cc_handler(cc_map: dict[int, str], core: PlayerCore) -> Callable:
    """A mido callback: a mapped CC's value 0..127 spans its knob's dial range."""
    knobs = {k["name"]: k for k in core.loaded.knobs}

    def on_message(msg) -> None:
        if msg.type == "control_change" and msg.control in cc_map:
            k = knobs[cc_map[msg.control]]
            core.request({k["name"]: k["min"] + (k["max"] - k["min"]) * msg.value / 127})

    return on_message


def open_midi(port: str, cc_map: dict[int, str], core: PlayerCore):
    """Listen on a MIDI input port (None: the first one). A missing library or port is not
    fatal (MIDI is optional): returns (None, the line to print)."""
    try:
        import mido
    except ImportError:
        return (
            None,
            "MIDI off: mido/python-rtmidi are not installed (pip install 'rig[midi]'); knobs from the terminal only",
        )
    try:
        with _quiet_stderr():  # ALSA prints its own lines when there is no sequencer
            names = mido.get_input_names()
    except (ImportError, OSError) as exc:  # rtmidi's errors are OSErrors
        return (
            None,
            f"MIDI off: no MIDI system here ({type(exc).__name__}: no ALSA sequencer?); knobs from the terminal only",
        )
    if not names or (port and port not in names):
        have = ", ".join(names) or "none"
        return (
            None,
            f"MIDI off: no MIDI input port {port or ''}".rstrip()
            + f" (ports here: {have}); knobs from the terminal only",
        )
    chosen = port or names[0]
    return mido.open_input(chosen, callback=cc_handler(cc_map, core)), f"MIDI: {chosen}, " + ", ".join(
        f"CC{cc}->{n}" for cc, n in cc_map.items()
    )


@contextlib.contextmanager
def _quiet_stderr():
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        sys.stderr.flush()
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)

"""What a capture run was asked to do (the CLI fills this; tests build it directly)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class CaptureOptions:
    plan_file: Path | None = None
    session: Path | None = None  # new session folder (default sessions/<plan-stem>-<time>)
    resume: Path | None = None  # existing session folder to continue
    sim: bool = False
    jack: bool = False  # --sim with the real audio path (jackd dummy + DUT client + PortAudio)
    train: bool = True
    train_device: str = "auto"  # rig train --device for the automatic training
    dashboard: bool = True
    host: str = "127.0.0.1"
    port: int = 8765
    allow_remote: bool = False  # dashboard on a non-loopback --host (prints what it exposes)
    quiet: bool = False  # no progress bar / report (bench, tests)
    # Test and bench hooks: fault switches handed to the simulators, and a callback after
    # each committed take (the disk-full test fills the disk from there).
    robot_faults: dict = field(default_factory=dict)
    audio_faults: dict[int, str] = field(default_factory=dict)  # recording number -> fault kind
    after_commit: Callable[[dict], None] | None = None

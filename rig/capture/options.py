"""What a capture run was asked to do (the CLI fills this; tests build it directly)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from rig.plan import Plan


@dataclass
class CaptureOptions:
    plan_file: Path | None = None
    session: Path | None = None  # new session folder (default sessions/<plan-stem>-<time>)
    resume: Path | None = None  # existing session folder to continue
    sim: bool = False
    jack: bool = False  # --sim with the real audio path (jackd dummy + DUT client + PortAudio)
    pace: str | None = None  # --sim, virtual audio: fast | realtime | None (see realtime_pace)
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

    def realtime_pace(self, plan: Plan) -> bool:
        """Whether the virtual interface plays at a real one's pace. By default only when an
        active plan's trainer runs beside the capture: there the trainer's time per take is
        what the loop is about, and a capture ~5x faster than real time would leave it a fifth
        of what a real rig gives it. Elsewhere as fast as the CPU allows."""
        if self.pace is not None:
            return self.pace == "realtime"
        return self.train and plan.settings.method == "active"

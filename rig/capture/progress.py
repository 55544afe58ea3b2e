"""Terminal progress (rich, on stderr) and the ETA: the route's estimate corrected by the
times measured so far in this run."""

from __future__ import annotations

import sys
import time

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn


class Eta:
    """Predicted seconds per take from the route, scaled by measured/predicted once takes run."""

    def __init__(self, estimate_s: float, total: int):
        self.per_take = estimate_s / max(total, 1)
        self.started = time.monotonic()
        self.done_here = 0

    def take_done(self) -> None:
        self.done_here += 1

    def remaining(self, left: int) -> float:
        if self.done_here == 0 or self.per_take <= 0:
            return left * self.per_take
        measured = (time.monotonic() - self.started) / self.done_here
        return left * measured


def fmt_seconds(s: float) -> str:
    s = max(0, round(float(s)))  # float(): round() of a NumPy 1.x scalar is no int
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


class ProgressView:
    """The capture bar: take n/N, current setting, ETA, last QC verdict."""

    def __init__(self, total: int, done: int, quiet: bool = False):
        self.console = Console(stderr=True)
        self.quiet = quiet
        self.progress = Progress(
            TextColumn("[bold]capture[/bold]"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[setting]}"),
            TextColumn("ETA {task.fields[eta]}"),
            TextColumn("QC {task.fields[qc]}"),
            TimeElapsedColumn(),
            console=self.console,
            transient=False,
            disable=quiet,
        )
        self.task = self.progress.add_task("capture", total=total, completed=done, setting="", eta="?", qc="-")

    def __enter__(self) -> "ProgressView":
        self.progress.start()
        return self

    def __exit__(self, *exc) -> None:
        self.progress.stop()

    def update(self, **fields) -> None:
        advance = fields.pop("advance", 0)
        self.progress.update(self.task, advance=advance, **fields)

    def say(self, msg: str) -> None:
        if self.quiet:
            print(msg, file=sys.stderr, flush=True)
        else:
            self.console.print(msg, highlight=False, soft_wrap=True)

"""After capture: wait for the trainer, showing its progress from the session's events.
Ctrl-C here stops the trainer cleanly (it checkpoints on SIGINT)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from rig.capture.control import CaptureControl
from rig.capture.trainer_process import TrainerProcess
from rig.session import read_events


def describe(ev: dict) -> str | None:
    kind = ev.get("type")
    if kind == "train_started":
        return f"{ev.get('model')}: started ({ev.get('params')} parameters)"
    if kind == "train_epoch":
        return (
            f"{ev.get('model')}: epoch {ev.get('epoch')} val loss {_num(ev.get('val_loss'))} "
            f"val ESR {_num(ev.get('val_esr'))} ({ev.get('takes_used')} takes)"
        )
    if kind == "train_test":
        return f"{ev.get('model')}: test ESR {_num(ev.get('esr'))}"
    if kind == "train_finished":
        return f"{ev.get('model')}: finished, test ESR {_num(ev.get('test_esr'))}"
    return None


def _num(v) -> str:
    return f"{v:.4g}" if isinstance(v, int | float) else "?"


def follow_trainer(
    trainer: TrainerProcess, folder: Path, control: CaptureControl, quiet: bool, say: Callable[[str], None]
) -> None:
    events_offset = 0  # replay: training may be well under way already
    console = Console(stderr=True)
    live = console.is_terminal and not quiet
    with Progress(
        SpinnerColumn(),
        TextColumn("[bold]training[/bold] {task.description}"),
        TimeElapsedColumn(),
        console=console,
        disable=not live,
    ) as bar:
        task = bar.add_task("waiting for the first epoch", total=None)
        while trainer.running:
            if control.stopping:
                say("stopping the trainer (it keeps its last checkpoint) ...")
                code = trainer.stop()
                say(f"training stopped (trainer status {code}); continue it with: rig train {folder}")
                break
            events, events_offset = read_events(folder, events_offset)
            for ev in events:
                text = describe(ev)
                if text and live:
                    bar.update(task, description=text)
                elif text and not quiet:
                    say(f"training {text}")  # a log, not a terminal: one line per report
            time.sleep(0.5)
    code = trainer.returncode
    if code not in (0, None) and not control.stopping:
        say(f"the trainer exited with status {code}; its log: {trainer.log_path}")

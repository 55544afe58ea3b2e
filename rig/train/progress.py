"""The terminal progress bar of a training run (stderr). While the capture runs the bar
only counts epochs; once it has ended it fills with the training budget spent."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeRemainingColumn


class EpochProgress:
    def __init__(self, model: str, budget_s: float, enabled: bool = True):
        self.enabled = enabled
        self.model = model
        self.budget_s = budget_s
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[info]}"),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            disable=not enabled,
        )
        self.task: TaskID | None = None

    def __enter__(self) -> "EpochProgress":
        self.progress.start()
        self.task = self.progress.add_task(self.model, total=self.budget_s, info="waiting for the first epoch")
        return self

    def __exit__(self, *exc) -> None:
        self.progress.stop()

    def update(self, state, capture_ended: bool) -> None:
        assert self.task is not None  # updates come inside the `with`, after __enter__ added the task
        last = state.history[-1] if state.history else {}
        val = last.get("val_loss")
        info = f"epoch {state.epoch}  train {last.get('train_loss', float('nan')):.4f}"
        info += f"  val {val:.4f}" if val is not None else "  val -"
        info += f"  lr {last.get('lr', 0):.2g}" + ("" if capture_ended else "  (following capture)")
        self.progress.update(self.task, completed=min(state.budget_used_s, self.budget_s), info=info)

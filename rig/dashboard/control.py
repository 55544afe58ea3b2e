"""What the dashboard may ask of a live capture run. The capture passes an object with this
shape to `create_app`; a dashboard started on its own gets none and is read-only."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

ACTIONS = ("pause", "resume", "abort")


@runtime_checkable
class RunControl(Protocol):
    state: str  # e.g. running | paused | aborting | finished

    def pause(self) -> None: ...

    def resume(self) -> None: ...

    def abort(self) -> None: ...

"""The capture run: plan -> route -> robot -> audio -> session, with the trainer and the
dashboard following the session. Entry point: `run_capture(CaptureOptions(...))`."""

from rig.capture.options import CaptureOptions
from rig.capture.run import run_capture

__all__ = ["CaptureOptions", "run_capture"]

"""Publishes the recording path's live levels (rig.audio.meter) to the session folder about
ten times a second, from an ordinary thread, for dashboards in this or another process."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from rig.audio.meter import BlockMeter, attach_meter
from rig.session.live import write_live_levels

PUBLISH_S = 0.1


class LevelPublisher:
    def __init__(self, folder: Path, meter: BlockMeter, period_s: float = PUBLISH_S):
        self.folder, self.meter, self.period_s = folder, meter, period_s
        self.seq = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rig-levels", daemon=True)
        self._was_active = False

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.ident is not None:  # started
            self._thread.join(2.0)

    def _run(self) -> None:
        while not self._stop.wait(self.period_s):
            with contextlib.suppress(OSError):  # a full disk must not stop the capture over a meter
                self.publish_once()

    def publish_once(self) -> bool:
        """Writes the levels since the last call; once idle, one `active: false` record."""
        levels = self.meter.take()
        if levels is None:
            if self._was_active:
                self._write({"active": False})
                self._was_active = False
            return False
        self._was_active = True
        self._write(
            {
                "active": True,
                "peak_dbfs": levels.peak_dbfs,
                "rms_dbfs": levels.rms_dbfs,
                "clipped": levels.clipped,
                "frames": levels.frames,
            }
        )
        return True

    def close(self) -> None:
        """Stop publishing: the last window, then one idle record."""
        self.stop()
        with contextlib.suppress(OSError):
            self.publish_once()  # the last window (or, if none came, the idle record)
            if self._was_active:
                self._write({"active": False})
                self._was_active = False

    def _write(self, body: dict) -> None:
        self.seq += 1
        write_live_levels(self.folder, {"seq": self.seq, "t": round(time.time(), 3), **body})


@contextlib.contextmanager
def live_levels(folder: Path, iface: object, clip_level: float) -> Iterator[LevelPublisher | None]:
    """While the capture runs: the interface feeds a meter, a thread publishes it."""
    meter = BlockMeter(clip_level)
    if not attach_meter(iface, meter):
        yield None
        return
    publisher = LevelPublisher(folder, meter)
    publisher.start()
    try:
        yield publisher
    finally:
        attach_meter(iface, None)
        publisher.close()

"""Reads the shaft angles a robot simulator publishes (the knobs' ACTUAL angles, including
lost steps and stalls), for simulated amps and for tests. The writer is firmware/sim/vmotor.c.

File layout (little-endian): "RIGSHAFT", u32 version, u32 axes, u32 seq (odd while the
writer is mid-update), u32 steps_per_rev, f64 degrees[4], i32 shaft_steps[4], i32 motor_steps[4].
"""

from __future__ import annotations

import mmap
import struct
import time
from pathlib import Path

_HEAD = struct.Struct("<8sIIII")
_BODY = struct.Struct("<4d4i4i")
SIZE = _HEAD.size + _BODY.size


class ShaftReader:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        with open(self.path, "rb") as fh:
            self._map = mmap.mmap(fh.fileno(), SIZE, access=mmap.ACCESS_READ)
        magic, version, self.axes, _, self.steps_per_rev = _HEAD.unpack_from(self._map, 0)
        if magic != b"RIGSHAFT" or version != 1:
            raise ValueError(f"{self.path} is not a shaft file")

    def _snapshot(self) -> tuple[float, ...]:
        # seqlock: retry while the simulator is half-way through an update
        for _ in range(1000):
            seq1 = _HEAD.unpack_from(self._map, 0)[3]
            values = _BODY.unpack_from(self._map, _HEAD.size)
            seq2 = _HEAD.unpack_from(self._map, 0)[3]
            if seq1 == seq2 and not seq1 & 1:
                return values
            time.sleep(0)
        raise RuntimeError("shaft file kept changing under the reader")

    def degrees(self) -> list[float]:
        return list(self._snapshot()[0:4])

    def shaft_steps(self) -> list[int]:
        return [int(v) for v in self._snapshot()[4:8]]

    def motor_steps(self) -> list[int]:
        return [int(v) for v in self._snapshot()[8:12]]

    def close(self) -> None:
        self._map.close()

    def __enter__(self) -> "ShaftReader":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def dial_values(plan, degrees: list[float]) -> dict[str, float]:
    """Dial values of the motorised knobs from shaft angles; fixed knobs keep their value."""
    out: dict[str, float] = {}
    for knob in plan.knobs:
        if knob.axis is None:
            out[knob.name] = knob.fixed if knob.fixed is not None else knob.min
        else:
            frac = min(max(degrees[knob.axis] / knob.rotation_deg, 0.0), 1.0)
            out[knob.name] = knob.min + frac * (knob.max - knob.min)
    return out

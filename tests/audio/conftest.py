import numpy as np
import pytest

from rig.plan.models import Plan


class DelayTanh:
    """A small BlockDevice: a fixed delay then a soft clipper (enough to test timing)."""

    sample_rate = 48000
    knob_names = ("gain",)

    def __init__(self, delay: int = 37, drive: float = 3.0):
        self.delay, self.drive = delay, drive
        self.reset()

    def set_knobs(self, values: dict) -> None:
        self.drive = 1.0 + values.get("gain", 5.0)

    def reset(self) -> None:
        self.line = np.zeros(self.delay, np.float32)

    def process(self, block: np.ndarray) -> np.ndarray:
        joined = np.concatenate([self.line, block])
        self.line = joined[len(block) :]
        return (np.tanh(self.drive * joined[: len(block)]) / self.drive * 2).astype(np.float32)


def make_plan(seconds: float = 3.0, audio: dict | None = None, **take) -> Plan:
    return Plan(
        knobs=[{"name": "gain", "axis": 0}],
        audio=audio or {},
        take={"seconds": seconds, "pre_roll_s": 0.2, "post_roll_s": 0.2, **take},
    )


@pytest.fixture
def plan() -> Plan:
    return make_plan()


@pytest.fixture
def device() -> DelayTanh:
    return DelayTanh()

"""A stand-in robot for orchestration tests that need no firmware simulator: it is where it
was told to be. The reliability tests use the real robot simulator instead."""

from __future__ import annotations


class FakeRobot:
    def __init__(self, plan, port):
        self.plan, self.port = plan, port
        self.pos = {k.name: (k.fixed if k.fixed is not None else k.min) for k in plan.knobs}
        self.banner, self.time_scale = "fake robot", 1.0
        self.moves = 0
        self.parked = False
        self.worst: dict[str, float] = {}  # a fake robot is always exactly where it was told

    def home(self):
        pass

    def move(self, values):
        self.moves += 1
        self.pos.update(values)

    def actual(self):
        return dict(self.pos)

    def knob_source(self):
        return self.actual

    recoveries = 0

    def watch(self, target):
        pass

    def park(self):
        self.parked = True

    def close(self):
        pass

"""`rig robot setup`: the guided first run. Per motorised knob: home against a stop, jog a few
degrees and ask which way the knob turned (a motor wired the other way is inverted), then
find the far hard stop by jogging and asking whether it still turns, coarse then fine. The
results (each knob's rotation_deg, robot.invert_axes) are written into the plan file. A
stepper cannot feel the stop, so the person watching the knob is the sensor."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rig.errors import UserError
from rig.knobs.driver import KnobController
from rig.plan.models import Knob

JOG_DEG = 10.0  # the direction test
COARSE_DEG = 15.0  # first pass towards the far stop
FINE_DEG = 2.0  # second pass: the stop is found to within this much
ANSWERS = {"y": True, "yes": True, "n": False, "no": False}
DIRECTIONS = {"max": True, "cw": True, "clockwise": True, "min": False, "ccw": False, "counterclockwise": False}


@dataclass
class AxisResult:
    knob: str
    axis: int
    inverted: bool
    rotation_deg: float


class GuidedSetup:
    def __init__(self, ctl: KnobController, ask: Callable[[str], str], say: Callable[[str], None] = print):
        self.ctl, self._ask, self.say = ctl, ask, say
        self.steps_per_rev = ctl.robot.steps_per_rev
        # search over one full turn: no pot turns further
        self.search_steps = min(self.steps_per_rev, ctl.limits.get("maxtravel", self.steps_per_rev))

    def run(self, knobs: list[Knob]) -> list[AxisResult]:
        return [self.axis(k) for k in knobs]

    def axis(self, knob: Knob) -> AxisResult:
        assert knob.axis is not None
        self.say(f"{knob.name} (axis {knob.axis}): homing against a stop")
        inverted = knob.axis in self.ctl.robot.invert_axes
        self._home(knob.axis, inverted)
        self.ctl.jog_to(knob.axis, self._steps(JOG_DEG))
        up = self._choose(
            f"Which way did {knob.name} turn: towards its maximum (clockwise) or its minimum? [max/min] ", DIRECTIONS
        )
        if not up:  # the motor turns the other way: flip it and start again from the real minimum
            inverted = not inverted
            self.say(f"{knob.name}: motor direction inverted; homing again")
            self._home(knob.axis, inverted)
        rotation = self._find_stop(knob)
        self.say(f"{knob.name}: turns {rotation:g} degrees{', motor inverted' if inverted else ''}")
        self._home(knob.axis, inverted)  # leave it resting on its minimum
        return AxisResult(knob.name, knob.axis, inverted, rotation)

    def _find_stop(self, knob: Knob) -> float:
        """The far stop's angle to within FINE_DEG / 2. A jog the knob followed (even part of
        the way) puts the stop above where the jog started; one it did not follow puts the
        stop at or below where it was. So after the coarse pass the stop lies in
        (last - COARSE, last]; the fine pass creeps through that span from its bottom."""
        assert knob.axis is not None  # axis() checked it
        last, first_still = self._jog_until_still(knob, 0.0, COARSE_DEG, 360.0)
        if first_still is None:
            raise UserError(
                f"{knob.name} turned a full rotation without a stop; check the coupling, or that the "
                "knob is a pot with end stops, then run rig robot setup again"
            )
        if last <= 0:
            raise UserError(f"{knob.name} did not turn at all; check the motor's wiring and coupling")
        # steps were lost against the stop: home again, then creep up through the span
        start = max(0.0, last - COARSE_DEG)
        self._home(knob.axis, None)
        self.ctl.jog_to(knob.axis, self._steps(start))
        last, _ = self._jog_until_still(knob, start, FINE_DEG, first_still)
        if last <= FINE_DEG / 2:
            raise UserError(
                f"{knob.name}: the answers contradict each other (it turned, then not at all); run setup again"
            )
        return round(last - FINE_DEG / 2, 1)

    def _jog_until_still(self, knob: Knob, start: float, step: float, end: float) -> tuple[float, float | None]:
        """Jogs up by `step` from `start` while the person says it turned; returns the last
        angle it turned to and the first where it did not (None: reached `end`)."""
        assert knob.axis is not None  # axis() checked it
        angle = start
        while angle + step < end + 1e-9:
            self.ctl.jog_to(knob.axis, self._steps(angle + step))
            if not self._choose(f"{knob.name} at {angle + step:g} degrees: did it turn? [y/n] ", ANSWERS):
                return angle, angle + step
            angle += step
        return angle, None

    def _home(self, axis: int, inverted: bool | None) -> None:
        if inverted is not None:
            self.ctl.setup_axis(axis, self.search_steps, inverted)
        self.ctl.home_axis(axis)

    def _steps(self, degrees: float) -> int:
        return min(self.search_steps, round(degrees / 360.0 * self.steps_per_rev))

    def _choose(self, question: str, answers: dict[str, bool]) -> bool:
        for _ in range(3):
            try:
                reply = self._ask(question).strip().lower()
            except EOFError:
                raise UserError("rig robot setup needs answers: run it in a terminal (or pipe them to stdin)") from None
            if reply in answers:
                return answers[reply]
            self.say(f"please answer one of: {', '.join(answers)}")
        raise UserError("no valid answer after three tries; run rig robot setup again")

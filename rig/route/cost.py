"""Motor travel-cost model: what one knob move costs on the robot.

Every sampled knob has its own stepper and all axes move at once, so a move lasts as long as
its slowest axis. Each axis follows a trapezoidal velocity profile (accelerate, cruise at
`max_speed`, decelerate), which becomes triangular when the move is too short to reach full
speed. Backlash compensation makes every axis finish its approach from below (lower step
counts): a move downwards overshoots `backlash` steps below the target and comes back up,
two segments, so costs are asymmetric. Fixed knobs have no motor and cost nothing.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from rig.plan.models import Knob, Plan, Robot

Objective = Literal["time", "travel"]
OBJECTIVES = ("time", "travel")


def profile_seconds(steps, max_speed: float, acceleration: float):
    """Time of one point-to-point segment of `steps` (>= 0) from rest to rest.

    Works elementwise on numpy arrays. Full speed is reached once the segment is at least
    max_speed^2 / acceleration long (half of it accelerating, half braking)."""
    d = np.abs(np.asarray(steps, dtype=float))
    ramp = max_speed * max_speed / acceleration
    triangular = 2.0 * np.sqrt(d / acceleration)
    trapezoid = d / max_speed + max_speed / acceleration
    return np.where(d < ramp, triangular, trapezoid)


def axis_seconds(start, target, robot: Robot):
    """Time for one axis from `start` to `target` steps, including backlash compensation."""
    delta = np.asarray(target, dtype=float) - np.asarray(start, dtype=float)
    up = profile_seconds(np.maximum(delta, 0.0), robot.max_speed, robot.acceleration)
    b = float(robot.backlash)
    # Downwards: past the target by the slack, then back up onto it.
    down = profile_seconds(-delta + b, robot.max_speed, robot.acceleration) + profile_seconds(
        b, robot.max_speed, robot.acceleration
    )
    return np.where(delta >= 0, up, down)


def axis_travel(start, target, robot: Robot):
    """Motor steps for one axis from `start` to `target` (the overshoot is travelled twice)."""
    delta = np.asarray(target, dtype=float) - np.asarray(start, dtype=float)
    return np.where(delta >= 0, delta, -delta + 2.0 * robot.backlash)


def motor_knobs(plan: Plan) -> list[Knob]:
    """Knobs that a motor turns: sampled ones (the plan guarantees they have an axis)."""
    return [k for k in plan.knobs if k.sampled and k.axis is not None]


def steps_matrix(plan: Plan, values: list[dict[str, float]]) -> np.ndarray:
    """(len(values), motor knobs) integer step positions."""
    knobs = motor_knobs(plan)
    out = np.zeros((len(values), len(knobs)), dtype=np.int64)
    for i, v in enumerate(values):
        for j, k in enumerate(knobs):
            out[i, j] = plan.robot.steps_for(k, v[k.name])
    return out


def pair_cost(robot: Robot, start: np.ndarray, target: np.ndarray, objective: Objective = "time") -> float:
    """Cost of one move between two step vectors: seconds (incl. settle) or motor steps."""
    if objective == "travel":
        return float(np.sum(axis_travel(start, target, robot)))
    if np.array_equal(start, target):
        return 0.0  # nothing moves, nothing to wait for
    return float(np.max(axis_seconds(start, target, robot), initial=0.0)) + robot.settle_s


def move_seconds(plan: Plan, from_values: dict[str, float], to_values: dict[str, float]) -> float:
    """Seconds for the robot to go from one setting to another and settle."""
    steps = steps_matrix(plan, [from_values, to_values])
    return pair_cost(plan.robot, steps[0], steps[1], "time")


def cost_matrix(robot: Robot, steps: np.ndarray, objective: Objective = "time", settle: bool = True) -> np.ndarray:
    """Dense (M, M) float matrix, entry [i, j] = cost of moving from row i to row j of `steps`.

    Step positions are integers, so each axis's cost is looked up per step difference in a
    small table instead of evaluating square roots M*M times. `settle=False` leaves out the
    per-move settle time (a constant for a path of fixed length; the solver does not need it)."""
    m = steps.shape[0]
    out = np.zeros((m, m), dtype=float)
    for j in range(steps.shape[1]):
        col = steps[:, j].astype(np.int64)
        span = int(np.abs(col).max(initial=0))
        deltas = np.arange(-2 * span, 2 * span + 1)
        table = _axis_table(robot, deltas, objective)
        lookup = table[(col[None, :] - col[:, None]) + 2 * span]
        if objective == "travel":
            out += lookup
        else:
            np.maximum(out, lookup, out=out)
    if objective == "time" and settle:
        out[out > 0] += robot.settle_s
    return out


def _axis_table(robot: Robot, deltas: np.ndarray, objective: Objective) -> np.ndarray:
    if objective == "travel":
        return axis_travel(0, deltas, robot)
    return axis_seconds(0, deltas, robot)

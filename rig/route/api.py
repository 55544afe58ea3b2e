"""Route planning for a capture: order the settings, compare with baselines, estimate time."""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from rig.errors import UserError
from rig.plan.models import Plan
from rig.plan.sample import Setting, reference_setting
from rig.plan.summary import take_seconds
from rig.route.bounds import additive_bound
from rig.route.cost import OBJECTIVES, Objective, cost_matrix, motor_knobs, pair_cost, profile_seconds, steps_matrix
from rig.route.path import extend, nearest_neighbour, path_cost
from rig.route.solver import solve_path

TIME_UNITS = 10_000  # solver costs are integers: 0.1 ms steps keep rounding far below 0.1 %
TAKE_OVERHEAD_S = 0.5  # per take: write WAVs, fsync, QC check, manifest append
MAX_DEFAULT_LIMIT_S = 18.0  # whole plan_route call, matrices included: 20 s target at N=2000


def default_time_limit(n: int) -> float:
    """Search time that grows with the number of settings: 1 s + 10 ms per setting, capped."""
    return min(1.0 + n / 100.0, MAX_DEFAULT_LIMIT_S)


@dataclass
class Route:
    order: list[int]  # setting ids in visiting order
    move_seconds: float  # all moves from home through the route, settle included
    baselines: dict[str, float]  # move seconds of plan_order and nearest_neighbour
    solver_status: str  # optimised | time_limit | nearest_neighbour | trivial | empty
    message: str = ""
    objective: str = "time"
    travel_steps: int = 0  # total motor steps of the route (wear)
    solve_seconds: float = 0.0
    extra: dict = field(default_factory=dict)
    # the matrices it was solved on, so the lower bound of the same settings need not rebuild them
    instance: _Instance | None = field(default=None, repr=False, compare=False)


@dataclass
class _Instance:
    steps: np.ndarray  # (n+1, axes), row 0 = home
    seconds: np.ndarray  # (n+1, n+1) move seconds incl. settle
    solver: np.ndarray  # extended integer matrix for the chosen objective
    objective: Objective = "time"

    @cached_property
    def nearest(self) -> list[int]:
        """Nearest-neighbour order on the solver matrix (baseline, search start, bound's upper)."""
        return nearest_neighbour(self.solver)


def route_instance(
    plan: Plan, settings: list[Setting], objective: Objective, start: dict[str, float] | None = None
) -> _Instance:
    # row 0 is where the robot starts: home, or (an active capture's next batch) where it is now
    home = steps_matrix(plan, [start]) if start else np.zeros((1, len(motor_knobs(plan))), dtype=np.int64)
    steps = np.vstack([home, steps_matrix(plan, [s.values for s in settings])])
    seconds = cost_matrix(plan.robot, steps, "time")
    if objective == "travel":
        units = cost_matrix(plan.robot, steps, "travel")
    else:
        # settle is the same for every move of a fixed-length path, so the solver skips it
        units = np.rint(cost_matrix(plan.robot, steps, "time", settle=False) * TIME_UNITS)
    return _Instance(steps, seconds, extend(units.astype(np.int64)), objective)


def _sequence_cost(matrix: np.ndarray, nodes: list[int]) -> float:
    path = np.asarray([0, *list(nodes)])
    return float(matrix[path[:-1], path[1:]].sum())


def plan_route(
    plan: Plan,
    settings: list[Setting],
    time_limit_s: float | None = None,
    seed: int = 0,
    objective: Objective = "time",
    start: dict[str, float] | None = None,
) -> Route:
    """Visiting order of `settings` from the homed robot (or from the dial values `start`),
    cheapest first-found within the limit."""
    if objective not in OBJECTIVES:
        raise UserError(f"route objective '{objective}' is unknown; use one of {', '.join(OBJECTIVES)}")
    if time_limit_s is not None and time_limit_s <= 0:
        raise UserError(f"route time limit {time_limit_s:g} s must be positive; give a few seconds")
    if not settings:
        return Route([], 0.0, {"plan_order": 0.0, "nearest_neighbour": 0.0}, "empty", "no settings to order")
    t0 = time.perf_counter()
    inst = route_instance(plan, settings, objective, start)
    n = len(settings)
    limit = default_time_limit(n) if time_limit_s is None else time_limit_s
    # the limit covers the whole call, so the matrix build comes out of the search time
    result = solve_path(inst.solver, max(1e-3, limit - (time.perf_counter() - t0)), seed, nn=inst.nearest)
    nodes = result.order
    plan_nodes = list(range(1, n + 1))
    return Route(
        order=[settings[i - 1].id for i in nodes],
        move_seconds=_sequence_cost(inst.seconds, nodes),
        baselines={
            "plan_order": _sequence_cost(inst.seconds, plan_nodes),
            "nearest_neighbour": _sequence_cost(inst.seconds, inst.nearest),
        },
        solver_status=result.status,
        message=result.message,
        objective=objective,
        travel_steps=_travel(plan, inst.steps, nodes),
        solve_seconds=time.perf_counter() - t0,
        extra={"time_limit_s": limit, "seed": seed},
        instance=inst,
    )


def _travel(plan: Plan, steps: np.ndarray, nodes: list[int]) -> int:
    path = [0, *list(nodes)]
    return int(sum(pair_cost(plan.robot, steps[a], steps[b], "travel") for a, b in itertools.pairwise(path)))


def route_lower_bound_seconds(plan: Plan, settings: list[Setting], route: Route | None = None) -> float:
    """Lower bound on any route's move seconds (settle included): assignment relaxation plus
    the Held-Karp bound of its reduced costs (`bounds.additive_bound`), never below the
    assignment bound alone. route: a time-objective route of these settings, whose matrices
    are reused."""
    if not settings:
        return 0.0
    inst = route.instance if route is not None else None
    # a route solved from a start other than home (start=) is not this bound's instance
    if inst is None or inst.objective != "time" or inst.steps.shape[0] != len(settings) + 1 or inst.steps[0].any():
        inst = route_instance(plan, settings, "time")
    upper = path_cost(inst.solver, inst.nearest)  # steers the ascent
    motion = additive_bound(inst.solver, upper) / TIME_UNITS
    # every distinct position away from home must be moved to (and settled at) at least once
    positions = np.unique(inst.steps[1:], axis=0)
    moving = int(np.count_nonzero(positions.any(axis=1)))
    return motion + plan.robot.settle_s * moving


def _ordered(settings: list[Setting], route: Route) -> list[Setting]:
    by_id = {s.id: s for s in settings}
    missing = [i for i in route.order if i not in by_id]
    if missing or len(route.order) != len(settings):
        raise UserError("route does not match the settings (ids differ); plan the route again for these settings")
    return [by_id[i] for i in route.order]


def _visits(plan: Plan, ordered: list[Setting]) -> list[Setting]:
    """Takes in recording order, drift-reference takes included (start, every N, end)."""
    ref = reference_setting(plan)
    every = plan.settings.reference_every
    out = [ref]
    for k, s in enumerate(ordered, start=1):
        out.append(s)
        if every and k % every == 0 and k < len(ordered):
            out.append(ref)
    out.append(ref)
    return out


def homing_seconds(plan: Plan) -> float:
    """All axes home at once, worst case a full dial travel into the hard stop."""
    r = plan.robot
    travel = max((r.travel_steps(k) for k in motor_knobs(plan)), default=0)
    return float(profile_seconds(travel, r.max_speed, r.acceleration)) + (r.settle_s if travel else 0.0)


def capture_breakdown(plan: Plan, settings: list[Setting], route: Route) -> dict[str, float]:
    """Estimated seconds per item of the whole capture (see estimate_capture_seconds)."""
    visits = _visits(plan, _ordered(settings, route))
    home = np.zeros((1, len(motor_knobs(plan))), dtype=np.int64)
    steps = np.vstack([home, steps_matrix(plan, [v.values for v in visits])])
    moves = sum(pair_cost(plan.robot, steps[k], steps[k + 1]) for k in range(len(visits)))
    takes = len(visits)
    return {
        "takes": float(takes),
        "reference_takes": float(takes - len(settings)),
        "audio_s": takes * take_seconds(plan),
        "moves_s": moves,
        "overhead_s": takes * TAKE_OVERHEAD_S,
        "homing_s": homing_seconds(plan),
        "warmup_s": plan.robot.warmup_s,
    }


def estimate_capture_seconds(plan: Plan, settings: list[Setting], route: Route) -> float:
    """Whole capture: warm-up, homing, every take's audio and overhead, every move and settle
    (route order with the drift-reference takes in place). Retries are not included."""
    return breakdown_total(capture_breakdown(plan, settings, route))


def breakdown_total(b: dict[str, float]) -> float:
    """Whole-capture seconds of a `capture_breakdown`."""
    return b["audio_s"] + b["moves_s"] + b["overhead_s"] + b["homing_s"] + b["warmup_s"]

"""`rig bench route`: solve random 4-knob instances and report cost, baselines and bounds."""

from __future__ import annotations

import os
import time

import numpy as np

from rig.plan.models import Plan
from rig.plan.sample import Setting
from rig.route.api import TIME_UNITS, default_time_limit, plan_route, route_instance, route_lower_bound_seconds
from rig.route.ils import iterated_local_search
from rig.route.ortools_baseline import ortools_path
from rig.route.path import path_cost
from rig.route.solver import solve_path

KNOBS = ("bass", "middle", "treble", "gain")


def bench_plan() -> Plan:
    """Four motor knobs with the marshall_jvm robot (28BYJ-48, 24 steps of backlash)."""
    return Plan(
        knobs=[{"name": n, "axis": i} for i, n in enumerate(KNOBS)],
        robot={"max_speed": 1000, "acceleration": 2000, "backlash": 24, "settle_s": 3.0},
    )


def random_settings(n: int, seed: int = 0) -> list[Setting]:
    rng = np.random.default_rng(seed)
    rows = np.round(rng.random((n, len(KNOBS))) * 10.0, 3)
    return [Setting(i, dict(zip(KNOBS, map(float, r))), "train") for i, r in enumerate(rows)]


def _one(plan: Plan, n: int, time_limit: float | None, seed: int) -> dict:
    settings = random_settings(n, seed)
    t0 = time.perf_counter()
    route = plan_route(plan, settings, time_limit_s=time_limit, seed=seed)
    total_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    bound = route_lower_bound_seconds(plan, settings)
    bound_s = time.perf_counter() - t1
    settle = plan.robot.settle_s * n  # every setting is a distinct position here
    motion = {k: round(v - settle, 2) for k, v in [("route", route.move_seconds), *route.baselines.items()]}
    motion["ortools_gls"] = _ortools_motion(route, route.solve_seconds)
    return {
        "n": n,
        "status": route.solver_status,
        "time_limit_s": route.extra["time_limit_s"],
        "solve_s_incl_matrix": round(total_s, 2),
        "route_move_s": round(route.move_seconds, 2),
        "plan_order_move_s": round(route.baselines["plan_order"], 2),
        "nearest_neighbour_move_s": round(route.baselines["nearest_neighbour"], 2),
        "route_vs_plan_order": round(route.move_seconds / route.baselines["plan_order"], 4),
        "route_vs_nearest_neighbour": round(route.move_seconds / route.baselines["nearest_neighbour"], 4),
        "lower_bound_move_s": round(bound, 2),
        "gap_to_lower_bound": round(route.move_seconds / bound - 1, 4),
        # settle is the same for every order: gaps on motor time alone are the honest figures
        "motion_only_s": motion,
        "motion_gap_to_lower_bound": round(motion["route"] / (bound - settle) - 1, 4),
        "motion_route_vs_plan_order": round(motion["route"] / motion["plan_order"], 4),
        "motion_route_vs_nearest_neighbour": round(motion["route"] / motion["nearest_neighbour"], 4),
        "motion_route_vs_ortools_gls": round(motion["route"] / motion["ortools_gls"], 4),
        "lower_bound_s": round(bound_s, 2),
        "load_average_1min": round(os.getloadavg()[0], 2),
    }


def _ortools_motion(route, seconds: float) -> float:
    """Motion seconds of OR-Tools guided local search from cold, given our solve's wall time."""
    c = route.instance.solver
    order = ortools_path(c, max(1.0, seconds)) or route.instance.nearest
    return round(path_cost(c, order) / TIME_UNITS, 2)


def best_known(n: int, seconds: float, seed: int = 0, ortools_share: float = 0.1) -> dict:
    """How far the default solve is from a best-known route of `random_settings(n, seed)`.

    The long run: the iterated local search from nearest neighbour with an unlimited kick
    budget (kick seed `seed + 1`, so it is not the default solve's trajectory) for
    (1 - ortools_share) of `seconds`, then OR-Tools guided local search from its route for the
    rest; the better is kept. Motion seconds only (settle is the same for every order)."""
    plan = bench_plan()
    inst = route_instance(plan, random_settings(n, seed), "time")
    c = inst.solver
    default = solve_path(c, default_time_limit(n), seed, nn=inst.nearest).order
    t0 = time.perf_counter()
    long = iterated_local_search(c, inst.nearest, 10**12, t0 + seconds * (1 - ortools_share), seed + 1)
    rest = max(1.0, seconds - (time.perf_counter() - t0))
    gls = ortools_path(c, rest, long.order) or long.order
    motion = {
        name: path_cost(c, order) / TIME_UNITS
        for name, order in [("default", default), ("long_iterated", long.order), ("long_then_gls", gls)]
    }
    best = min(motion["long_iterated"], motion["long_then_gls"])
    return {
        "n": n,
        "seed": seed,
        "seconds": round(time.perf_counter() - t0, 1),
        "kicks": long.iterations,
        "motion_s": {k: round(v, 2) for k, v in motion.items()},
        "default_vs_best_known": round(motion["default"] / best - 1, 4),
    }


def bench_route(sizes=(100, 500, 1000, 2000), time_limit: float | None = None, seed: int = 0) -> dict:
    """JSON-able results per size; time_limit None uses the default that scales with N."""
    plan = bench_plan()
    return {
        "robot": plan.robot.model_dump(include={"steps_per_rev", "max_speed", "acceleration", "backlash", "settle_s"}),
        "seed": seed,
        "results": [_one(plan, n, time_limit, seed) for n in sizes],
    }

import itertools
import math

import numpy as np
import pytest

from rig.errors import UserError
from rig.plan.models import Plan
from rig.plan.sample import Setting
from rig.plan.summary import take_seconds
from rig.route import (
    TAKE_OVERHEAD_S,
    cost_matrix,
    estimate_capture_seconds,
    move_seconds,
    plan_route,
    plot_route,
    route_lower_bound_seconds,
    summary,
)
from rig.route.api import homing_seconds
from rig.route.bench import random_settings
from rig.route.cost import pair_cost, profile_seconds


def make_plan(backlash=0, settle=0.0, **extra) -> Plan:
    # 360 degrees over 1000 steps and a 0..10 dial: value v sits at exactly 100*v steps.
    knobs = [{"name": n, "axis": i, "rotation_deg": 360} for i, n in enumerate("abcd")]
    knobs.append({"name": "vol", "fixed": 5})
    robot = {"steps_per_rev": 1000, "max_speed": 1000, "acceleration": 2000, "backlash": backlash, "settle_s": settle}
    return Plan(knobs=knobs, robot=robot, **extra)


def vals(a=0.0, b=0.0, c=0.0, d=0.0, vol=5.0):
    return {"a": a, "b": b, "c": c, "d": d, "vol": vol}


# --- cost model against hand-computed profiles (v = 1000 steps/s, a = 2000 steps/s^2) ---


def test_short_move_is_triangular():
    # 100 steps never reach full speed (needs 500): t = 2 * sqrt(100 / 2000)
    assert move_seconds(make_plan(), vals(), vals(a=1)) == pytest.approx(2 * math.sqrt(0.05))


def test_long_move_is_trapezoid():
    # 1000 steps: 0.5 s up to speed + 0.5 s braking cover 500 steps, 500 more at full speed
    assert move_seconds(make_plan(), vals(), vals(a=10)) == pytest.approx(0.5 + 0.5 + 0.5)
    # both formulas meet where full speed is just reached
    assert float(profile_seconds(500, 1000, 2000)) == pytest.approx(1.0)


def test_down_moves_overshoot_by_backlash():
    plan = make_plan(backlash=24)
    up = move_seconds(plan, vals(a=1), vals(a=2))
    down = move_seconds(plan, vals(a=2), vals(a=1))
    assert up == pytest.approx(2 * math.sqrt(100 / 2000))
    assert down == pytest.approx(2 * math.sqrt(124 / 2000) + 2 * math.sqrt(24 / 2000))
    assert down > up


def test_axes_move_together_so_the_slowest_counts_plus_settle():
    plan = make_plan(settle=0.2)
    t = move_seconds(plan, vals(), vals(a=1, b=10, c=3))
    assert t == pytest.approx(1.5 + 0.2)  # b: 1000 steps; a (0.45 s) and c (0.77 s) are faster


def test_fixed_knobs_cost_nothing_and_no_move_no_settle():
    plan = make_plan(settle=0.2)
    assert move_seconds(plan, vals(vol=0), vals(vol=10)) == 0.0


def test_travel_objective_counts_overshoot_twice():
    plan = make_plan(backlash=24)
    start, target = np.array([200, 0, 0, 0]), np.array([100, 50, 0, 0])
    assert pair_cost(plan.robot, start, target, "travel") == 100 + 2 * 24 + 50


def test_vectorised_matrix_matches_pairwise_costs():
    plan = make_plan(backlash=24, settle=0.3)
    steps = np.random.default_rng(1).integers(0, 1000, size=(30, 4))
    for objective in ("time", "travel"):
        m = cost_matrix(plan.robot, steps, objective)
        expect = [[pair_cost(plan.robot, s, t, objective) for t in steps] for s in steps]
        assert np.allclose(m, expect)


# --- the route ---


def settings_for(n, seed=0):
    return [Setting(s.id, {**s.values, "vol": 5.0}, "train") for s in _random(n, seed)]


def _random(n, seed):
    rng = np.random.default_rng(seed)
    return [
        Setting(i, dict(zip("abcd", map(float, np.round(r, 2)))), "train")
        for i, r in enumerate(rng.random((n, 4)) * 10)
    ]


def test_every_setting_once_and_never_worse_than_baselines():
    plan = make_plan(backlash=24, settle=0.5)
    settings = settings_for(250)
    route = plan_route(plan, settings, time_limit_s=10)
    assert sorted(route.order) == [s.id for s in settings]
    assert route.move_seconds <= route.baselines["nearest_neighbour"] + 1e-6
    assert route.move_seconds < 0.8 * route.baselines["plan_order"]
    assert route_lower_bound_seconds(plan, settings) <= route.move_seconds


def test_route_cost_is_the_cost_of_its_order():
    plan = make_plan(backlash=24, settle=0.5)
    settings = settings_for(40)
    route = plan_route(plan, settings, time_limit_s=5)
    by_id = {s.id: s.values for s in settings}
    path = [vals(vol=5.0)] + [by_id[i] for i in route.order]
    assert route.move_seconds == pytest.approx(sum(move_seconds(plan, a, b) for a, b in itertools.pairwise(path)))


def test_tiny_time_limit_falls_back_with_a_message():
    plan = make_plan(backlash=24)
    settings = settings_for(300)
    route = plan_route(plan, settings, time_limit_s=1e-4)
    assert route.solver_status == "time_limit"
    assert "time limit" in route.message
    assert sorted(route.order) == [s.id for s in settings]
    assert route.move_seconds <= route.baselines["nearest_neighbour"] + 1e-6


def test_single_and_no_setting():
    plan = make_plan(settle=0.2)
    one = plan_route(plan, [Setting(7, vals(a=3), "train")])
    assert one.order == [7]
    assert one.solver_status == "trivial"
    assert one.message
    assert one.move_seconds == pytest.approx(move_seconds(plan, vals(), vals(a=3)))
    assert plan_route(plan, []).solver_status == "empty"


def test_same_seed_same_route():
    plan = make_plan(backlash=24, settle=0.5)
    settings = settings_for(150)
    first = plan_route(plan, settings, time_limit_s=20, seed=3)
    again = plan_route(plan, settings, time_limit_s=20, seed=3)
    assert first.solver_status == "optimised"
    assert first.order == again.order


def test_bad_arguments_are_user_errors():
    plan = make_plan()
    with pytest.raises(UserError):
        plan_route(plan, settings_for(3), objective="speed")
    with pytest.raises(UserError):
        plan_route(plan, settings_for(3), time_limit_s=0)


def test_capture_estimate_adds_up():
    plan = make_plan(settle=0.5, take={"seconds": 10, "pre_roll_s": 1, "post_roll_s": 0.5})
    plan.robot.warmup_s = 30
    settings = [Setting(0, vals(a=2), "train"), Setting(1, vals(a=4), "train")]
    route = plan_route(plan, settings)
    ref = vals(a=5, b=5, c=5, d=5)
    path = [vals(), ref, settings[route.order[0]].values, settings[route.order[1]].values, ref]
    moves = sum(move_seconds(plan, a, b) for a, b in itertools.pairwise(path))
    audio = 1 + 0.4 + 10 + 0.5  # two groups of two impulses 100 ms apart
    assert take_seconds(plan) == pytest.approx(audio)
    expect = 4 * (audio + TAKE_OVERHEAD_S) + moves + homing_seconds(plan) + 30
    assert estimate_capture_seconds(plan, settings, route) == pytest.approx(expect)


def test_summary_and_plot(tmp_path):
    plan = make_plan(backlash=24, settle=0.5)
    settings = settings_for(60)
    route = plan_route(plan, settings, time_limit_s=5)
    s = summary(plan, settings, route=route)
    assert s["route_move_s"] <= s["nearest_neighbour_move_s"]
    assert 0 <= s["gap_to_lower_bound"] < 0.5
    assert s["estimated_capture_s"] > s["route_move_s"]
    png = plot_route(plan, settings, route, tmp_path / "route.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_bench_settings_are_distinct():
    s = random_settings(50)
    assert len({tuple(x.values.values()) for x in s}) == 50

"""What `rig plan` shows about the route: figures and a picture of the knob moves."""

from __future__ import annotations

from pathlib import Path

from rig.plan.models import Plan
from rig.plan.sample import Setting
from rig.route.api import (
    Route,
    breakdown_total,
    capture_breakdown,
    plan_route,
    route_lower_bound_seconds,
)
from rig.route.cost import motor_knobs


def _ratio(a: float, b: float) -> float | None:
    return round(a / b, 4) if b > 0 else None


def summary(
    plan: Plan,
    settings: list[Setting],
    route: Route | None = None,
    time_limit_s: float | None = None,
    seed: int = 0,
) -> dict:
    """JSON-able figures of the route (planned here unless given): move seconds of the route,
    plan order and nearest neighbour, lower bound and gap, estimated whole capture time."""
    if route is None:
        route = plan_route(plan, settings, time_limit_s=time_limit_s, seed=seed)
    bound = route_lower_bound_seconds(plan, settings, route)
    breakdown = capture_breakdown(plan, settings, route)
    plan_s, nn_s = route.baselines["plan_order"], route.baselines["nearest_neighbour"]
    return {
        "settings": len(settings),
        "objective": route.objective,
        "solver_status": route.solver_status,
        "message": route.message,
        "solve_s": round(route.solve_seconds, 3),
        "route_move_s": round(route.move_seconds, 2),
        "plan_order_move_s": round(plan_s, 2),
        "nearest_neighbour_move_s": round(nn_s, 2),
        "route_vs_plan_order": _ratio(route.move_seconds, plan_s),
        "route_vs_nearest_neighbour": _ratio(route.move_seconds, nn_s),
        "lower_bound_move_s": round(bound, 2),
        "gap_to_lower_bound": _ratio(route.move_seconds - bound, bound),
        "travel_steps": route.travel_steps,
        "estimated_capture_s": round(breakdown_total(breakdown), 1),
        "capture_breakdown_s": {k: round(v, 1) for k, v in breakdown.items()},
        "order": list(route.order),
    }


def plot_route(plan: Plan, settings: list[Setting], route: Route, path_png: str | Path) -> Path:
    """PNG: every motor knob's dial value over the ordered takes, one line per knob."""
    import matplotlib

    matplotlib.use("Agg")  # files only; never needs a display
    import matplotlib.pyplot as plt

    by_id = {s.id: s for s in settings}
    ordered = [by_id[i] for i in route.order]
    takes = range(1, len(ordered) + 1)
    knobs = motor_knobs(plan)
    fig, axes = plt.subplots(len(knobs), 1, sharex=True, figsize=(10, 1.2 + 1.3 * len(knobs)), squeeze=False)
    for ax, knob in zip(axes[:, 0], knobs):
        ax.step(takes, [s.values[knob.name] for s in ordered], where="mid", lw=0.9)
        ax.set_ylabel(knob.name)
        ax.set_ylim(knob.min, knob.max)
        ax.grid(alpha=0.3)
    axes[-1, 0].set_xlabel("take (route order)")
    nn = route.baselines["nearest_neighbour"]
    fig.suptitle(
        f"{plan.device.name}: {len(ordered)} takes, moves {route.move_seconds / 60:.1f} min "
        f"(plan order {route.baselines['plan_order'] / 60:.1f}, nearest neighbour {nn / 60:.1f})",
        fontsize=10,
    )
    fig.tight_layout()
    path = Path(path_png)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path

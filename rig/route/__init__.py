"""Route planning: motor travel-cost model and the visiting order of the settings."""

from rig.route.api import (
    TAKE_OVERHEAD_S,
    Route,
    capture_breakdown,
    default_time_limit,
    estimate_capture_seconds,
    plan_route,
    route_lower_bound_seconds,
)
from rig.route.cost import cost_matrix, move_seconds
from rig.route.report import plot_route, summary

__all__ = [
    "TAKE_OVERHEAD_S",
    "Route",
    "capture_breakdown",
    "cost_matrix",
    "default_time_limit",
    "estimate_capture_seconds",
    "move_seconds",
    "plan_route",
    "plot_route",
    "route_lower_bound_seconds",
    "summary",
]

"""OR-Tools guided local search on a whole path: the measured baseline of `rig bench route`
and the last stage of the long best-known runs. The default solver is our own iterated local
search (`rig.route.ils`), measured better at every size tried (see `rig.route.solver`)."""

from __future__ import annotations

import numpy as np
from ortools.constraint_solver import pywrapcp, routing_enums_pb2

# Measured at N=2000, 4 knobs from cold: PATH_CHEAPEST_ARC 1917.6 s of motion vs SAVINGS
# 2005.9 s, and SAVINGS needs > 1 s to start.
FIRST_SOLUTION = "PATH_CHEAPEST_ARC"


def _search_parameters(time_limit_s: float):
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = getattr(routing_enums_pb2.FirstSolutionStrategy, FIRST_SOLUTION)
    params.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    params.time_limit.FromMilliseconds(max(1, int(time_limit_s * 1000)))
    return params


def ortools_path(c: np.ndarray, time_limit_s: float, warm: list[int] | None = None) -> list[int] | None:
    """Guided local search for the path 0 -> (all inner nodes) -> last node of the extended
    matrix `c` (`rig.route.path.extend`), from `warm` or from cold; stops at the time limit.

    Returns the inner nodes in order, or None when OR-Tools found nothing in time."""
    m = c.shape[0]
    manager = pywrapcp.RoutingIndexManager(m, 1, [0], [m - 1])
    model = pywrapcp.RoutingModel(manager)
    # A registered matrix stays in C++; a Python callback would be called millions of times.
    model.SetArcCostEvaluatorOfAllVehicles(model.RegisterTransitMatrix(c.tolist()))
    params = _search_parameters(time_limit_s)
    if warm is not None:
        model.CloseModelWithParameters(params)
        solution = model.SolveFromAssignmentWithParameters(model.ReadAssignmentFromRoutes([warm], True), params)
    else:
        solution = model.SolveWithParameters(params)
    if solution is None:
        return None
    out: list[int] = []
    index = model.Start(0)
    while True:
        index = solution.Value(model.NextVar(index))
        if model.IsEnd(index):
            return out
        out.append(manager.IndexToNode(index))

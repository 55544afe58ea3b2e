"""Open-path ordering on an asymmetric integer cost matrix.

Node layout used throughout: 0 is the homed position (the path's fixed start), 1..n are the
settings, n+1 is a dummy end reached at zero cost from every node, so the path is open.

Pipeline (every stage deterministic for a seed):
  1. nearest neighbour from home (also the baseline the result is never worse than);
  2. iterated local search (`rig.route.ils`): asymmetric 2-opt with prefix sums, or-3opt
     segment swaps and Or-opt on K-nearest candidate lists to a local optimum, then seeded
     kicks (local double bridges) for an iteration budget of `ils_iterations(n)` kicks; the
     wall-clock limit is only a safety cap (status "time_limit" says it cut the search, and
     then the route may differ between runs);
  3. optional OR-Tools polish (`ortools_polish=True`): greedy descent on overlapping windows.

Why OR-Tools is no longer the main search, measured on this rig's random 4-knob instances:
its local search on one 2000-node route evaluates ~50k neighbours/s (each move's filters walk
the route), so 18 s of guided local search improves nearest neighbour by ~0.3 %, and its
window polish after the iterated local search found nothing at N = 100, 200 and 2000; at
N = 100-200 guided local search on the whole problem from cold (2-10 s) ends 1-2 % above the
iterated local search, and started from its route it finds nothing better. So it is off by
default and kept for comparison and the "best known" long runs (`rig.route.bench`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from ortools.constraint_solver import pywrapcp, routing_enums_pb2

from rig.route.ils import iterated_local_search

BIG = 10**12  # arcs that must never be used (into home, out of the dummy end)
WINDOW = 100  # settings per OR-Tools window: searched thoroughly in well under a second
WINDOW_SOLUTIONS = 400  # solution budget per window
WINDOW_TIME_S = 0.3  # wall cap per guided-local-search window
MAX_PASSES = 6  # window passes at most; stops earlier when a pass gains nothing
ILS_BASE = 2000  # kicks of the iterated local search: ILS_BASE + ILS_PER_SETTING * n
ILS_PER_SETTING = 10  # N = 2000: 22k kicks, ~10 s of CPU (~0.4 ms a kick); N = 100: 3k
# Only for cold solves (windows start from the current order). Measured at N=2000, 4 knobs:
# PATH_CHEAPEST_ARC 1917.6 s of motion vs SAVINGS 2005.9 s, and SAVINGS needs > 1 s to start.
FIRST_SOLUTION = "PATH_CHEAPEST_ARC"


@dataclass
class PathResult:
    order: list[int]  # setting nodes 1..n in visiting order
    cost: int
    status: str  # optimised | nearest_neighbour | time_limit | trivial
    message: str


def extend(cost: np.ndarray) -> np.ndarray:
    """(n+1)x(n+1) int costs incl. home at 0 -> (n+2)x(n+2) with the dummy end appended."""
    m = cost.shape[0]
    out = np.full((m + 1, m + 1), BIG, dtype=np.int64)
    out[:m, :m] = cost
    out[:, 0] = BIG
    out[:m, m] = 0
    np.fill_diagonal(out, 0)
    return out


def path_cost(c: np.ndarray, order) -> int:
    """Cost from home through `order` (open end)."""
    nodes = np.concatenate(([0], np.asarray(order, dtype=np.int64)))
    return int(c[nodes[:-1], nodes[1:]].sum())


def nearest_neighbour(c: np.ndarray) -> list[int]:
    """Greedy: from home always to the cheapest unvisited setting (ties: lowest index)."""
    n = c.shape[0] - 2
    unvisited = np.ones(n + 2, dtype=bool)
    unvisited[[0, n + 1]] = False
    here, order = 0, []
    for _ in range(n):
        row = np.where(unvisited, c[here], np.iinfo(np.int64).max)
        here = int(np.argmin(row))
        unvisited[here] = False
        order.append(here)
    return order


def _search_parameters(solutions: int, time_cap_s: float, guided: bool):
    meta = routing_enums_pb2.LocalSearchMetaheuristic
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = getattr(routing_enums_pb2.FirstSolutionStrategy, FIRST_SOLUTION)
    # Greedy descent stops by itself at a local optimum, so its result never depends on timing;
    # guided local search only stops at a limit, and a wall-time limit depends on machine load.
    params.local_search_metaheuristic = meta.GUIDED_LOCAL_SEARCH if guided else meta.GREEDY_DESCENT
    params.solution_limit = solutions
    params.time_limit.FromMilliseconds(max(1, int(time_cap_s * 1000)))
    return params


def ortools_segment(
    sub: np.ndarray, solutions: int, time_cap_s: float, warm: list[int] | None, guided: bool = True
):
    """Best path 0 -> (all inner nodes) -> last node of `sub` (square int matrix).

    Returns the inner nodes in order, or None when OR-Tools found nothing in time."""
    m = sub.shape[0]
    manager = pywrapcp.RoutingIndexManager(m, 1, [0], [m - 1])
    model = pywrapcp.RoutingModel(manager)
    # A registered matrix stays in C++; a Python callback would be called millions of times.
    model.SetArcCostEvaluatorOfAllVehicles(model.RegisterTransitMatrix(sub.tolist()))
    params = _search_parameters(solutions, time_cap_s, guided)
    if warm is not None:
        model.CloseModelWithParameters(params)
        start = model.ReadAssignmentFromRoutes([warm], True)
        solution = model.SolveFromAssignmentWithParameters(start, params)
    else:
        solution = model.SolveWithParameters(params)
    if solution is None:
        return None
    index, out = model.Start(0), []
    while True:
        index = solution.Value(model.NextVar(index))
        if model.IsEnd(index):
            return out
        out.append(manager.IndexToNode(index))


def _window_pass(c, order, offset, deadline, guided) -> tuple[list[int], bool]:
    """One sweep of OR-Tools windows (half-overlapping) along the route."""
    n = len(order)
    r = [0] + list(order) + [n + 1]
    start = 1 + offset
    while start <= n and time.perf_counter() < deadline:
        stop = min(start + WINDOW, n + 1)
        nodes = r[start - 1 : stop + 1]
        sub = c[np.ix_(nodes, nodes)]
        old = int(sub[np.arange(len(nodes) - 1), np.arange(1, len(nodes))].sum())
        cap = max(0.01, deadline - time.perf_counter())
        if guided:
            cap = min(cap, WINDOW_TIME_S)
        inner = ortools_segment(sub, WINDOW_SOLUTIONS, cap, list(range(1, len(nodes) - 1)), guided)
        if inner is not None and path_cost_sub(sub, inner) < old:
            r[start:stop] = [nodes[j] for j in inner]
        start += WINDOW // 2
    return r[1:-1], time.perf_counter() < deadline


def path_cost_sub(sub: np.ndarray, inner: list[int]) -> int:
    nodes = [0] + inner + [sub.shape[0] - 1]
    return int(sub[nodes[:-1], nodes[1:]].sum())


def ils_iterations(n: int) -> int:
    """Kick budget of the iterated local search for n settings (the search's work unit)."""
    return ILS_BASE + ILS_PER_SETTING * n


def solve_path(
    c: np.ndarray,
    time_limit_s: float,
    seed: int = 0,
    deterministic: bool = True,
    iterations: int | None = None,
    ortools_polish: bool = False,
    nn: list[int] | None = None,
) -> PathResult:
    """Order settings 1..n of an extended matrix (see `extend`) under a wall-time limit.

    iterations: kicks of the iterated local search (default `ils_iterations(n)`); the route is
    the same for the same (matrix, seed, iterations) whenever the time limit is not reached.
    ortools_polish: afterwards OR-Tools on overlapping windows (greedy descent, or guided local
    search with WINDOW_TIME_S per window when deterministic=False).
    nn: `nearest_neighbour(c)` when the caller already has it (start and baseline)."""
    t0 = time.perf_counter()
    deadline = t0 + time_limit_s
    n = c.shape[0] - 2
    if n <= 1:
        return PathResult(list(range(1, n + 1)), path_cost(c, range(1, n + 1)), "trivial", "one setting: nothing to order")
    if nn is None:
        nn = nearest_neighbour(c)
    budget = ils_iterations(n) if iterations is None else iterations
    found = iterated_local_search(c, nn, budget, deadline, seed)
    best, finished = found.order, found.finished
    if ortools_polish and finished:
        rng = np.random.default_rng(seed)
        for _ in range(1 if n <= WINDOW else MAX_PASSES):
            before = path_cost(c, best)
            offset = 0 if n <= WINDOW else int(rng.integers(0, WINDOW // 2))
            best, finished = _window_pass(c, best, offset, deadline, not deterministic)
            if not finished or path_cost(c, best) >= before:
                break
    return _verdict(c, nn, best, finished, time_limit_s)


def _verdict(c, nn, best, finished, time_limit_s) -> PathResult:
    cost, nn_cost = path_cost(c, best), path_cost(c, nn)
    if cost > nn_cost:  # cannot happen by construction; kept as the contract's guard
        return PathResult(nn, nn_cost, "nearest_neighbour", "optimiser was worse than nearest neighbour; using nearest neighbour")
    if not finished:
        return PathResult(
            best, cost, "time_limit",
            f"time limit {time_limit_s:g} s reached before the search finished; route is valid "
            "but may differ between runs; give a longer time limit for the full search",
        )
    return PathResult(best, cost, "optimised", "")

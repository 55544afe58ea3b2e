"""Open-path ordering on an asymmetric integer cost matrix.

Node layout used throughout: 0 is the homed position (the path's fixed start), 1..n are the
settings, n+1 is a dummy end reached at zero cost from every node, so the path is open.

Why not one OR-Tools model for everything: measured on this rig's 4-knob instances, the routing
library's local search on a single 2000-node route evaluates ~50k neighbours/s (each move's
filters walk the route), so 18 s of guided local search improves nearest neighbour by only
~0.3 %. The search here is therefore layered, every layer deterministic:
  1. nearest neighbour from home (also the baseline the result is never worse than);
  2. a vectorised Or-opt (move chains of 1-3 takes anywhere, either direction) to a local
     optimum, which fixes the long jumps nearest neighbour leaves at the end;
  3. OR-Tools local search on overlapping windows of the route (fixed window ends), each
     small enough for the routing library to search thoroughly; window offsets depend on the
     seed. Small instances are one window, i.e. a plain OR-Tools solve.
Determinism: guided local search only stops at a limit, and its wall-time limit makes the
result depend on machine load (its solution limit counts only accepted solutions, which are
too rare to bound work). So by default the windows run OR-Tools greedy descent, which stops
by itself at a local optimum: same seed, same route, unless the overall time limit cut the
search short (status "time_limit" says so). `deterministic=False` runs guided local search per
window under a small wall cap instead.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from ortools.constraint_solver import pywrapcp, routing_enums_pb2

BIG = 10**12  # arcs that must never be used (into home, out of the dummy end)
WINDOW = 100  # settings per OR-Tools window: searched thoroughly in well under a second
WINDOW_SOLUTIONS = 400  # solution budget per window
WINDOW_TIME_S = 0.3  # wall cap per guided-local-search window
MAX_PASSES = 6  # window passes at most; stops earlier when a pass gains nothing
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


def _best_insertion(c, r, i, length):
    """Best place (and direction) for chain r[i:i+length]; returns (delta, k, reverse)."""
    seg = r[i : i + length]
    p, q, s0, s1 = r[i - 1], r[i + length], seg[0], seg[-1]
    gain = c[p, s0] + c[s1, q] - c[p, q]
    inner_fwd = c[seg[:-1], seg[1:]].sum()
    inner_rev = c[seg[1:], seg[:-1]].sum()
    a, b = r[:-1], r[1:]  # insert between a[k] and b[k]
    base = -c[a, b] - gain
    fwd = base + c[a, s0] + c[s1, b]
    rev = base + c[a, s1] + c[s0, b] + (inner_rev - inner_fwd)
    block = slice(i - 1, i + length)  # gaps touching the chain itself
    fwd[block] = BIG
    rev[block] = BIG
    kf, kr = int(np.argmin(fwd)), int(np.argmin(rev))
    return (int(fwd[kf]), kf, False) if fwd[kf] <= rev[kr] else (int(rev[kr]), kr, True)


def _move_chain(r, i, length, k, reverse):
    seg = r[i : i + length][::-1] if reverse else r[i : i + length]
    rest = np.concatenate((r[:i], r[i + length :]))
    at = k + 1 if k < i else k + 1 - length  # gap index in the shortened route
    return np.concatenate((rest[:at], seg, rest[at:]))


def or_opt(c: np.ndarray, order: list[int], deadline: float) -> tuple[list[int], bool]:
    """First-improvement Or-opt to a local optimum; returns (order, finished before deadline)."""
    n = c.shape[0] - 2
    r = np.concatenate(([0], np.asarray(order, dtype=np.int64), [n + 1]))
    improved = True
    while improved:
        improved = False
        for length in (1, 2, 3):
            i = 1
            while i + length <= n + 1:
                if time.perf_counter() > deadline:
                    return r[1:-1].tolist(), False
                delta, k, reverse = _best_insertion(c, r, i, length)
                if delta < 0:
                    r = _move_chain(r, i, length, k, reverse)
                    improved = True
                i += 1
    return r[1:-1].tolist(), True


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


def solve_path(c: np.ndarray, time_limit_s: float, seed: int = 0, deterministic: bool = True) -> PathResult:
    """Order settings 1..n of an extended matrix (see `extend`) under a wall-time limit.

    deterministic: OR-Tools windows use greedy descent (same result for the same seed whenever
    the time limit is not reached); False: guided local search, WINDOW_TIME_S per window."""
    t0 = time.perf_counter()
    deadline = t0 + time_limit_s
    n = c.shape[0] - 2
    if n <= 1:
        return PathResult(list(range(1, n + 1)), path_cost(c, range(1, n + 1)), "trivial", "one setting: nothing to order")
    nn = nearest_neighbour(c)
    best, finished = or_opt(c, nn, deadline)
    rng = np.random.default_rng(seed)
    passes = 1 if n <= WINDOW else MAX_PASSES
    for _ in range(passes):
        if not finished:
            break
        before = path_cost(c, best)
        offset = 0 if n <= WINDOW else int(rng.integers(0, WINDOW // 2))
        best, finished = _window_pass(c, best, offset, deadline, not deterministic)
        if finished:
            best, finished = or_opt(c, best, deadline)
        if path_cost(c, best) >= before:
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


def double_bridge(order: list[int], rng: np.random.Generator) -> list[int]:
    """A B C D -> A C B D: a kick local search cannot undo with one move (no reversal)."""
    cuts = sorted(rng.choice(np.arange(1, len(order)), size=3, replace=False).tolist())
    a, b, c_ = cuts
    return order[:a] + order[b:c_] + order[a:b] + order[c_:]


def iterated_search(c: np.ndarray, order: list[int], seconds: float, seed: int = 0) -> list[int]:
    """Long-run improvement (benchmark "best known"): kick + Or-opt, keep the better route."""
    rng = np.random.default_rng(seed)
    deadline = time.perf_counter() + seconds
    best, best_cost = list(order), path_cost(c, order)
    while time.perf_counter() < deadline and len(best) > 3:
        cand, done = or_opt(c, double_bridge(best, rng), deadline)
        cost = path_cost(c, cand)
        if cost < best_cost:
            best, best_cost = cand, cost
        if not done:
            break
    return best

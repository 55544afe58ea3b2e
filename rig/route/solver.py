"""Open-path ordering on an asymmetric integer cost matrix (node layout: `rig.route.path`).

Pipeline (deterministic for a seed):
  1. nearest neighbour from home (also the baseline the result is never worse than);
  2. iterated local search (`rig.route.ils`): asymmetric 2-opt with prefix sums, or-3opt
     segment swaps and Or-opt on K-nearest candidate lists to a local optimum, then seeded
     kicks (local double bridges) for an iteration budget of `ils_iterations(n)` kicks; the
     wall-clock limit is only a safety cap (status "time_limit" says it cut the search, and
     then the route may differ between runs).

Why OR-Tools is not the search, measured on this rig's random 4-knob instances: its local
search on one 2000-node route evaluates ~50k neighbours/s (each move's filters walk the
route), so 18 s of guided local search improves nearest neighbour by ~0.3 %; at N = 100-200
guided local search on the whole problem from cold (2-10 s) ends 1-2 % above the iterated
local search, and started from its route it finds nothing better. It stays the measured
baseline of `rig bench route` (`rig.route.ortools_baseline`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from rig.route.ils import iterated_local_search
from rig.route.path import nearest_neighbour, path_cost

ILS_BASE = 2000  # kicks of the iterated local search: ILS_BASE + ILS_PER_SETTING * n
ILS_PER_SETTING = 10  # N = 2000: 22k kicks, ~10 s of CPU (~0.4 ms a kick); N = 100: 3k


@dataclass
class PathResult:
    order: list[int]  # setting nodes 1..n in visiting order
    cost: int
    status: str  # optimised | nearest_neighbour | time_limit | trivial
    message: str


def ils_iterations(n: int) -> int:
    """Kick budget of the iterated local search for n settings (the search's work unit)."""
    return ILS_BASE + ILS_PER_SETTING * n


def solve_path(
    c: np.ndarray,
    time_limit_s: float,
    seed: int = 0,
    iterations: int | None = None,
    nn: list[int] | None = None,
) -> PathResult:
    """Order settings 1..n of an extended matrix (see `extend`) under a wall-time limit.

    iterations: kicks of the iterated local search (default `ils_iterations(n)`); the route is
    the same for the same (matrix, seed, iterations) whenever the time limit is not reached.
    nn: `nearest_neighbour(c)` when the caller already has it (start and baseline)."""
    t0 = time.perf_counter()
    deadline = t0 + time_limit_s
    n = c.shape[0] - 2
    if n <= 1:
        return PathResult(
            list(range(1, n + 1)), path_cost(c, range(1, n + 1)), "trivial", "one setting: nothing to order"
        )
    if nn is None:
        nn = nearest_neighbour(c)
    budget = ils_iterations(n) if iterations is None else iterations
    found = iterated_local_search(c, nn, budget, deadline, seed)
    return _verdict(c, nn, found.order, found.finished, time_limit_s)


def _verdict(c, nn, best, finished, time_limit_s) -> PathResult:
    cost, nn_cost = path_cost(c, best), path_cost(c, nn)
    if cost > nn_cost:  # cannot happen by construction; kept as the contract's guard
        return PathResult(
            nn, nn_cost, "nearest_neighbour", "optimiser was worse than nearest neighbour; using nearest neighbour"
        )
    if not finished:
        return PathResult(
            best,
            cost,
            "time_limit",
            f"time limit {time_limit_s:g} s reached before the search finished; route is valid "
            "but may differ between runs; give a longer time limit for the full search",
        )
    return PathResult(best, cost, "optimised", "")

"""Node layout of an ordering instance, shared by the solver, the search and the bounds.

0 is the homed position (the path's fixed start), 1..n are the settings, n+1 is a dummy end
reached at zero cost from every node, so the path is open.
"""

from __future__ import annotations

import numpy as np

BIG = 10**12  # arcs that must never be used (into home, out of the dummy end)


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

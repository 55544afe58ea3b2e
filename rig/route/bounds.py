"""Lower bounds on the best open path, so the remaining gap of a route is known.

Assignment relaxation: give every node exactly one successor and one predecessor, with an
arc from the dummy end back to home closing the path into a cycle. Every open path from home
is such an assignment, but the relaxation also allows sub-tours, so its optimum can only be
lower. It keeps the asymmetry (backlash) that symmetric bounds would throw away.

Additive bound (assignment + Held-Karp on the reduced costs): with the assignment's optimal
duals u, v, every arc's reduced cost c'[i,j] = c[i,j] - u[i] - v[j] is >= 0 and every
Hamiltonian cycle H costs exactly sum(u) + sum(v) + c'(H) = assignment + c'(H). An arc of H
costs at least min(c'[i,j], c'[j,i]), so c'(H) is at least the Held-Karp 1-tree bound of that
symmetric matrix (subgradient ascent on node penalties), which pays for joining the
assignment's sub-tours. The identity holds for any u, v, so the bound stays valid even where
the dual or the ascent is cut short; it only gets weaker. O(N^2) per ascent step (numpy Prim).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

from rig.route.path import BIG

DUAL_ROUNDS = 400  # Bellman-Ford rounds for the assignment duals (converges in far fewer)
ASCENT_STEPS = 60  # subgradient steps of the Held-Karp part


def _assignment_matrix(c: np.ndarray) -> np.ndarray:
    m = c.shape[0]
    a = c.astype(np.int64, copy=True)
    end = m - 1
    np.fill_diagonal(a, BIG)  # no node is its own successor
    a[end, :] = BIG
    a[end, 0] = 0  # the closing arc: end -> home
    a[0, end] = BIG  # home must go to a setting first
    return a


def assignment_bound(c: np.ndarray) -> int:
    """Lower bound (same integer units) for an extended matrix from `solver.extend`."""
    m = c.shape[0]
    if m <= 3:  # at most one setting: the only path is the bound
        return int(c[0, 1]) if m == 3 else 0
    a = _assignment_matrix(c)
    rows, cols = linear_sum_assignment(a)
    return int(a[rows, cols].sum())


def assignment_duals(a: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Duals (u, v) of an optimal assignment row i -> cols[i]: reduced costs >= 0 and 0 on it.

    v are shortest-path distances on the columns (edge cols[i] -> j of weight
    a[i,j] - a[i,cols[i]]; optimality means no negative cycle), by dense Bellman-Ford."""
    rows = np.arange(a.shape[0])
    w = a - a[rows, cols][:, None]
    v = np.zeros(a.shape[0], dtype=np.int64)
    for _ in range(DUAL_ROUNDS):
        new = np.minimum(v, (v[cols][:, None] + w).min(axis=0))
        if np.array_equal(new, v):
            break
        v = new
    return a[rows, cols] - v[cols], v


def _one_tree(s: np.ndarray) -> tuple[float, np.ndarray]:
    """Held-Karp 1-tree of a dense symmetric matrix: MST of nodes 1.. plus node 0's two
    cheapest edges. Returns (weight, degrees)."""
    m = s.shape[0]
    deg = np.zeros(m, dtype=np.int64)
    done = np.zeros(m, dtype=bool)
    done[0] = done[1] = True
    dist = s[1].copy()
    dist[done] = np.inf
    parent = np.ones(m, dtype=np.int64)
    total = 0.0
    for _ in range(m - 2):
        j = int(np.argmin(dist))
        total += dist[j]
        deg[j] += 1
        deg[parent[j]] += 1
        done[j] = True
        dist[j] = np.inf
        row = s[j]
        better = (row < dist) & ~done
        dist[better] = row[better]
        parent[better] = j
    two = np.argpartition(s[0, 1:], 1)[:2] + 1
    total += float(s[0, two].sum())
    deg[0] = 2
    deg[two] += 1
    return total, deg


def additive_bound(c: np.ndarray, upper: int | None = None, steps: int = ASCENT_STEPS) -> int:
    """Assignment bound plus the Held-Karp bound of the symmetrised reduced costs (see the
    module doc); never below `assignment_bound`. upper: a known path cost (steers the steps)."""
    m = c.shape[0]
    if m <= 4:
        return assignment_bound(c)
    a = _assignment_matrix(c)
    rows, cols = linear_sum_assignment(a)
    ap = int(a[rows, cols].sum())
    u, v = assignment_duals(a, cols)
    red = (a - u[:, None] - v[None, :]).astype(float)
    red[a >= BIG] = np.inf  # forbidden arcs
    s = np.minimum(red, red.T)
    np.fill_diagonal(s, np.inf)
    gap_guess = float(upper - ap) if upper is not None and upper > ap else 0.05 * ap
    pi = np.zeros(m)
    best = 0.0
    lam = 2.0
    stall = 0
    for _ in range(steps):
        w = s + pi[:, None] + pi[None, :]
        tree, deg = _one_tree(w)
        value = tree - 2.0 * pi.sum()
        if value > best + 1e-9:
            best, stall = value, 0
        else:
            stall += 1
            if stall >= 5:
                lam, stall = lam / 2.0, 0
        g = (deg - 2).astype(float)
        norm = float(g @ g)
        if norm == 0.0:  # the 1-tree is a Hamiltonian cycle: the bound is exact
            break
        pi += lam * max(gap_guess - value, 0.01 * gap_guess) / norm * g
    return ap + max(0, int(np.floor(best + 1e-6)))

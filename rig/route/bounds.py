"""Lower bound on the best open path, so the remaining gap of a route is known.

Assignment relaxation: give every node exactly one successor and one predecessor, with an
arc from the dummy end back to home closing the path into a cycle. Every open path from home
is such an assignment, but the relaxation also allows sub-tours, so its optimum can only be
lower. It keeps the asymmetry (backlash) that symmetric bounds would throw away.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

from rig.route.solver import BIG


def assignment_bound(c: np.ndarray) -> int:
    """Lower bound (same integer units) for an extended matrix from `solver.extend`."""
    m = c.shape[0]
    if m <= 3:  # at most one setting: the only path is the bound
        return int(c[0, 1]) if m == 3 else 0
    a = c.astype(float)
    end = m - 1
    np.fill_diagonal(a, BIG)  # no node is its own successor
    a[end, :] = BIG
    a[end, 0] = 0.0  # the closing arc: end -> home
    a[0, end] = BIG  # home must go to a setting first
    rows, cols = linear_sum_assignment(a)
    return int(round(a[rows, cols].sum()))

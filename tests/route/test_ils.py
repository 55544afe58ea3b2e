"""The iterated local search's moves on random asymmetric matrices, its contract, the bounds."""

import itertools

import numpy as np
import pytest

from rig.route.bounds import additive_bound, assignment_bound
from rig.route.ils import _Search, candidate_lists, iterated_local_search
from rig.route.path import extend, nearest_neighbour, path_cost
from rig.route.solver import solve_path


def random_matrix(n, seed, asym=0.5):
    """Extended matrix of n settings: 3-D points, max-axis costs plus a random direction
    penalty (strongly asymmetric), as integers."""
    rng = np.random.default_rng(seed)
    pts = rng.integers(0, 1000, size=(n + 1, 3))
    d = np.abs(pts[:, None, :] - pts[None, :, :]).max(axis=2)
    noise = rng.integers(0, int(300 * asym) + 1, size=d.shape)
    c = d + noise
    np.fill_diagonal(c, 0)
    return extend(c.astype(np.int64))


def route_cost(st):
    return st.cost()


@pytest.mark.parametrize("seed", range(5))
def test_reversal_delta_from_prefix_sums_matches_recomputed_cost(seed):
    c = random_matrix(40, seed)
    st = _Search(c, list(range(1, 41)), 8)
    rng = np.random.default_rng(seed)
    for _ in range(60):
        i, j = sorted(rng.choice(np.arange(1, 41), size=2, replace=False).tolist())
        st._prefix()
        D, C, R, r = st.D, st.flat, st.row, st.r
        delta = (
            C[R[r[i - 1]] + r[j]] + C[R[r[i]] + r[j + 1]] - C[R[r[i - 1]] + r[i]] - C[R[r[j]] + r[j + 1]] + D[j] - D[i]
        )
        before = route_cost(st)
        st.reverse(i, j)
        assert route_cost(st) - before == delta


@pytest.mark.parametrize("seed", range(6))
def test_every_move_delta_equals_the_cost_change(seed):
    n = 60
    c = random_matrix(n, seed, asym=1.0 if seed % 2 else 0.2)
    st = _Search(c, list(np.random.default_rng(seed).permutation(np.arange(1, n + 1))), 10)
    kinds = set()
    for _ in range(4):  # several sweeps: 2-opt, or-3opt and Or-opt moves all get exercised
        for a in range(n + 1):
            d, move = st.best_move(a)
            if move is None:
                continue
            before = route_cost(st)
            st.apply(move)
            kinds.add(move[0])
            assert d < 0
            assert route_cost(st) - before == d, move
            assert sorted(st.r) == list(range(n + 2))
            assert st.r[0] == 0
            assert st.r[-1] == n + 1
            assert all(st.pos[v] == t for t, v in enumerate(st.r))
            assert st.rn.tolist() == st.r
    assert kinds == {0, 1, 2}


def test_candidate_lists_are_cheapest_first_without_home_or_end():
    c = random_matrix(30, 1)
    succ, pred = candidate_lists(c, 5)
    end = c.shape[0] - 1
    for a in range(end):
        assert len(succ[a]) == 5
        assert 0 not in succ[a]
        assert end not in succ[a]
        assert a not in succ[a]
        costs = [c[a, b] for b in succ[a]]
        assert costs == sorted(costs)
        others = [c[a, b] for b in range(1, end) if b != a and b not in succ[a]]
        assert max(costs) <= min(others)
    assert succ[end] == []
    assert pred[0] == []
    assert pred[end] == []
    assert all(end not in p for p in pred)


@pytest.mark.parametrize("seed", range(4))
def test_ils_is_a_valid_route_never_worse_than_nearest_neighbour(seed):
    c = random_matrix(150, seed)
    nn = nearest_neighbour(c)
    found = iterated_local_search(c, nn, 800, float("inf"), seed)
    assert sorted(found.order) == list(range(1, 151))
    assert found.cost == path_cost(c, found.order)
    assert found.cost <= path_cost(c, nn)
    assert found.finished
    assert found.iterations == 800


def test_same_seed_and_budget_same_route_other_seed_other_trajectory():
    c = random_matrix(120, 7)
    nn = nearest_neighbour(c)
    a = iterated_local_search(c, nn, 600, float("inf"), 3)
    b = iterated_local_search(c, nn, 600, float("inf"), 3)
    assert a.order == b.order
    assert a.cost == b.cost
    runs = {tuple(iterated_local_search(c, nn, 600, float("inf"), s).order) for s in range(4)}
    assert len(runs) > 1
    x = solve_path(c, 60, seed=5, iterations=500)
    y = solve_path(c, 60, seed=5, iterations=500)
    assert x.status == "optimised"
    assert x.order == y.order


def brute_force(c):
    n = c.shape[0] - 2
    return min(path_cost(c, p) for p in itertools.permutations(range(1, n + 1)))


@pytest.mark.parametrize("seed", range(4))
def test_small_instances_reach_the_optimum_and_bounds_stay_below_it(seed):
    c = random_matrix(7, seed)
    best = brute_force(c)
    found = solve_path(c, 30, seed=seed)
    assert found.cost == best
    ap = assignment_bound(c)
    assert ap <= additive_bound(c, best) <= best


def test_additive_bound_is_valid_on_a_larger_instance():
    c = random_matrix(60, 3)
    found = iterated_local_search(c, nearest_neighbour(c), 3000, float("inf"), 0)
    ap = assignment_bound(c)
    assert ap <= additive_bound(c, found.cost) <= found.cost

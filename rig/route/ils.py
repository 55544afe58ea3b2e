"""Iterated local search for the open asymmetric path (see `solver` for the node layout).

Moves, all valid for asymmetric costs and all restricted to candidate lists (the K cheapest
successors and predecessors of every node, by cost):
  * 2-opt: reverse the segment r[i..j]. Reversal changes the direction of every arc inside
    the segment, so its cost comes from prefix sums of the forward arc costs F and backward
    arc costs B along the route: O(1) per candidate after an O(N) (numpy) rebuild, done
    lazily once per accepted move;
  * or-3opt (segment swap, no reversal: A B C D -> A C B D), the move that matters most for
    asymmetric costs because nothing is reversed;
  * Or-opt: move a chain of 1-3 settings elsewhere, forward or reversed.
Every node whose arcs changed goes into a queue ("don't-look bits"); a node is searched for
its best improving move, which is applied, until the queue is empty: a local optimum, each
step O(K^2) at most, so a full pass is O(N K^2) and a kick's repair touches only a few nodes.

Iterated local search: a seeded RNG kicks the current route (a local double bridge: two
adjacent short segments swapped; reversal kicks measured no better), the local search repairs it,
and the result is kept when it is no worse, else undone. The number of kicks is an
iteration budget, so the route is a pure function of (matrix, start route, seed, budget);
the caller's wall-clock deadline is only a safety cap (the result then says it was cut).

Node ids are relabelled in the order of the start route, so nodes that are close on the
route have close ids and their cost rows sit close in memory (a 2-3x faster inner loop on a
matrix of 16 MB); costs are read through a flat int32 memoryview.
"""

from __future__ import annotations

import itertools
import time
from collections import deque
from dataclasses import dataclass

import numpy as np

from rig.route.path import path_cost

K_NEIGHBOURS = 10  # candidate successors / predecessors per node
KICK_SPAN = 30  # a kick's segments are 1..KICK_SPAN settings long
_INF = np.iinfo(np.int64).max
_I32 = 2**30  # forbidden arcs (into home, out of the dummy end) in the int32 copy


@dataclass
class SearchResult:
    order: list[int]
    cost: int
    iterations: int  # kicks done
    finished: bool  # False: the wall-clock cap stopped it before the iteration budget


def candidate_lists(c: np.ndarray, k: int) -> tuple[list[list[int]], list[list[int]]]:
    """(successors, predecessors): per node the k cheapest other nodes, cheapest first (ties:
    lower id). Home is never a successor, the dummy end is never a candidate at all."""
    m = c.shape[0]
    end = m - 1
    w = c.astype(np.int64, copy=True)
    w[:, 0] = _INF
    w[:, end] = _INF
    w[end, :] = _INF
    np.fill_diagonal(w, _INF)
    kk = max(1, min(k, m - 3))

    def smallest(a: np.ndarray) -> list[list[int]]:
        part = np.argpartition(a, kk - 1, axis=1)[:, :kk]
        vals = np.take_along_axis(a, part, 1)
        idx = np.lexsort((part, vals), axis=1)
        part = np.take_along_axis(part, idx, 1)
        vals = np.take_along_axis(vals, idx, 1)
        return [[int(j) for j, v in zip(pr, vr) if v < _INF] for pr, vr in zip(part.tolist(), vals.tolist())]

    return smallest(w), smallest(np.ascontiguousarray(w.T))


class _Search:
    """Local search state on a relabelled matrix: route r (node ids), pos (inverse)."""

    def __init__(self, c: np.ndarray, order: list[int], k: int):
        m = c.shape[0]
        self.n = m - 2
        self.perm = np.asarray([0, *order, m - 1], dtype=np.int64)  # new id -> original node
        cp = c[np.ix_(self.perm, self.perm)]
        self.c64 = cp
        valid = cp.copy()
        valid[:, 0] = 0
        valid[m - 1, :] = 0
        # the ignores below: an ndarray is a buffer, but numpy's stubs say so only for Python >= 3.12
        if int(valid.max(initial=0)) >= _I32 or int(valid.min(initial=0)) < 0:
            self.flat = memoryview(np.ascontiguousarray(cp)).cast("B").cast("q")  # type: ignore[arg-type]
        else:
            c32 = np.minimum(cp, _I32).astype(np.int32)
            self.flat = memoryview(np.ascontiguousarray(c32)).cast("B").cast("i")  # type: ignore[arg-type]
        self.row = [t * m for t in range(m)]
        self.succ, self.pred = candidate_lists(cp, k)
        self.r = list(range(m))
        self.rn = np.arange(m, dtype=np.int64)  # numpy mirror of r for the prefix rebuild
        self.pos = list(range(m))
        self.D: list[int] = []
        self.prefix_ok = False
        self.queue: deque[int] = deque()
        self.inq = bytearray(m)

    # --- helpers ---------------------------------------------------------------------------

    def cost(self) -> int:
        r = np.asarray(self.r, dtype=np.int64)
        return int(self.c64[r[:-2], r[1:-1]].sum())  # the arc into the dummy end costs 0

    def order(self) -> list[int]:
        return self.perm[np.asarray(self.r[1:-1], dtype=np.int64)].tolist()

    def _prefix(self) -> None:
        # D[t] = B[t] - F[t], with F[t] the forward arc costs of positions < t along the route
        # and B[t] the same arcs walked backwards: reversing r[i..j] changes the cost inside
        # the segment by D[j] - D[i].
        r = self.rn
        d = np.zeros(len(r), dtype=np.int64)
        np.cumsum(self.c64[r[1:], r[:-1]] - self.c64[r[:-1], r[1:]], out=d[1:])
        self.D = d.tolist()
        self.prefix_ok = True

    def push(self, *nodes: int) -> None:
        end = self.n + 1
        for a in nodes:
            if a != end and not self.inq[a]:
                self.inq[a] = 1
                self.queue.append(a)

    # --- moves -----------------------------------------------------------------------------

    def reverse(self, i: int, j: int) -> None:
        """Reverse positions i..j (1 <= i < j <= n)."""
        r, pos = self.r, self.pos
        self.push(r[i - 1], r[i], r[j], r[j + 1])
        r[i : j + 1] = r[i : j + 1][::-1]
        self.rn[i : j + 1] = self.rn[i : j + 1][::-1].copy()
        for t in range(i, j + 1):
            pos[r[t]] = t
        self.prefix_ok = False

    def swap(self, i: int, j: int, k: int) -> None:
        """r[i+1..j] and r[j+1..k] change places (0 <= i < j < k <= n)."""
        r, pos = self.r, self.pos
        self.push(r[i], r[i + 1], r[j], r[j + 1], r[k], r[k + 1])
        r[i + 1 : k + 1] = r[j + 1 : k + 1] + r[i + 1 : j + 1]
        self.rn[i + 1 : k + 1] = np.concatenate((self.rn[j + 1 : k + 1], self.rn[i + 1 : j + 1]))
        for t in range(i + 1, k + 1):
            pos[r[t]] = t
        self.prefix_ok = False

    def move_chain(self, i: int, e: int, x: int, rev: bool) -> None:
        """Chain r[i..e] to just after position x (x outside i-1..e), reversed if rev."""
        length = e - i + 1
        if x > e:
            self.swap(i - 1, e, x)
            lo = x - length + 1
        else:
            self.swap(x, i - 1, e)
            lo = x + 1
        if rev and length > 1:
            self.reverse(lo, lo + length - 1)

    def apply(self, move: tuple) -> None:
        kind = move[0]
        if kind == 0:
            self.reverse(move[1], move[2])
        elif kind == 1:
            self.swap(move[1], move[2], move[3])
        else:
            self.move_chain(move[1], move[2], move[3], move[4])

    # --- search ----------------------------------------------------------------------------
    # Each evaluator below takes the best (delta, move) found so far and returns it, improved
    # or not. The evaluation order is fixed and only a strictly better delta replaces the
    # best, so ties go to the first move found: the search stays deterministic.

    def best_move(self, a: int) -> tuple[int, tuple | None]:
        """Best improving move that changes an arc at node a: (delta < 0, move) or (0, None)."""
        p = self.pos[a]
        move: tuple | None = None  # moves are tuples of 3 to 5 items, by kind
        best, move = self._new_successor(a, p, 0, move)
        if p >= 1:
            best, move = self._two_opt_new_predecessor(a, p, best, move)
            best, move = self._or_opt(p, best, move)
        return best, move

    def _new_successor(self, a: int, p: int, best: int, move: tuple | None) -> tuple[int, tuple | None]:
        """Moves that replace a's arc (a, s) by (a, v), v a candidate successor cheaper than s."""
        C, R, r, pos = self.flat, self.row, self.r, self.pos
        ra = R[a]
        c_as = C[ra + r[p + 1]]
        for v in self.succ[a]:
            g1 = c_as - C[ra + v]
            if g1 <= 0:
                break
            q = pos[v]
            if q > p + 1:
                best, move = self._two_opt_new_successor(a, p, v, best, move)
                base = g1 + C[R[r[q - 1]] + v]  # removed (a, s), (r[q-1], v); added (a, v)
                best, move = self._swap_a_first(p, q, base, best, move)
                best, move = self._swap_a_middle(p, q, base, best, move)
            elif q < p:
                best, move = self._swap_a_last(p, q, g1 + C[R[r[q - 1]] + v], best, move)
        return best, move

    def _two_opt_new_successor(self, a: int, p: int, v: int, best: int, move: tuple | None) -> tuple[int, tuple | None]:
        """2-opt moves adding (a, v), v = r[q] later on the route than a's successor s."""
        C, R, r = self.flat, self.row, self.r
        q = self.pos[v]
        s, x, w = r[p + 1], r[q - 1], r[q + 1]
        c_as, c_av, c_xv = C[R[a] + s], C[R[a] + v], C[R[x] + v]
        if not self.prefix_ok:
            self._prefix()
        D = self.D
        # reverse p+1..q -> arcs (a, v), (s, r[q+1])
        d = c_av + C[R[s] + w] - c_as - C[R[v] + w] + D[q] - D[p + 1]
        if d < best:
            best, move = d, (0, p + 1, q)
        if p >= 1 and q - 1 > p:
            # reverse p..q-1 -> arcs (pred, r[q-1]), (a, v)
            h = r[p - 1]
            d = C[R[h] + x] + c_av - C[R[h] + a] - c_xv + D[q - 1] - D[p]
            if d < best:
                best, move = d, (0, p, q - 1)
        return best, move

    def _swap_a_first(self, p: int, q: int, base: int, best: int, move: tuple | None) -> tuple[int, tuple | None]:
        """or-3opt with a = r[i]: i = p, j = q-1, k >= q; added (r[k], s), (x, r[k+1]), where
        s = r[p+1], x = r[q-1]; `base`: the gain of the arcs at a and v = r[q]."""
        C, R, r, pos, n = self.flat, self.row, self.r, self.pos, self.n
        s, x = r[p + 1], r[q - 1]
        rx = R[x]
        for y in self.pred[s]:
            k = pos[y]
            if k >= q:
                z = r[k + 1]
                d = C[R[y] + s] + C[rx + z] - C[R[y] + z] - base
                if d < best:
                    best, move = d, (1, p, q - 1, k)
        for z in self.succ[x]:
            k = pos[z] - 1
            if k >= q:
                y = r[k]
                d = C[R[y] + s] + C[rx + z] - C[R[y] + z] - base
                if d < best:
                    best, move = d, (1, p, q - 1, k)
        y = r[n]  # k = n: the tail r[q..n] comes right after a
        d = C[R[y] + s] - base
        if d < best:
            best, move = d, (1, p, q - 1, n)
        return best, move

    def _swap_a_middle(self, p: int, q: int, base: int, best: int, move: tuple | None) -> tuple[int, tuple | None]:
        """or-3opt with a = r[j]: j = p, k = q-1, i < p; added (r[i], s), (x, r[i+1]), (a, v),
        where s = r[p+1], x = r[q-1], v = r[q]; `base` as in `_swap_a_first`."""
        C, R, r, pos = self.flat, self.row, self.r, self.pos
        s, x = r[p + 1], r[q - 1]
        rx = R[x]
        for y in self.pred[s]:
            i = pos[y]
            if i < p:
                z = r[i + 1]
                d = C[R[y] + s] + C[rx + z] - C[R[y] + z] - base
                if d < best:
                    best, move = d, (1, i, p, q - 1)
        for z in self.succ[x]:
            i = pos[z] - 1
            if 0 <= i < p:
                y = r[i]
                d = C[R[y] + s] + C[rx + z] - C[R[y] + z] - base
                if d < best:
                    best, move = d, (1, i, p, q - 1)
        return best, move

    def _swap_a_last(self, p: int, q: int, base: int, best: int, move: tuple | None) -> tuple[int, tuple | None]:
        """or-3opt with a = r[k], v = r[i+1] earlier on the route: i = q-1, j in q..p-1; added
        (h, r[j+1]), (a, v), (r[j], s); removed (h, v), (r[j], r[j+1]), (a, s), where h = r[q-1],
        s = r[p+1]; `base`: c(a, s) - c(a, v) + c(h, v)."""
        C, R, r, pos = self.flat, self.row, self.r, self.pos
        s, h = r[p + 1], r[q - 1]
        rh = R[h]
        for z in self.succ[h]:
            j = pos[z] - 1
            if q <= j < p:
                y = r[j]
                d = C[rh + z] + C[R[y] + s] - C[R[y] + z] - base
                if d < best:
                    best, move = d, (1, q - 1, j, p)
        for y in self.pred[s]:
            j = pos[y]
            if q <= j < p:
                z = r[j + 1]
                d = C[rh + z] + C[R[y] + s] - C[R[y] + z] - base
                if d < best:
                    best, move = d, (1, q - 1, j, p)
        return best, move

    def _two_opt_new_predecessor(self, a: int, p: int, best: int, move: tuple | None) -> tuple[int, tuple | None]:
        """2-opt moves adding (u, a), u a candidate predecessor cheaper than a's h = r[p-1] and
        earlier on the route (p >= 1)."""
        C, R, r, pos = self.flat, self.row, self.r, self.pos
        s, h = r[p + 1], r[p - 1]
        c_as, c_ha = C[R[a] + s], C[R[h] + a]
        for u in self.pred[a]:
            c_ua = C[R[u] + a]
            if c_ua >= c_ha:
                break
            q = pos[u]
            if q < p - 1:
                if not self.prefix_ok:
                    self._prefix()
                D = self.D
                t = r[q + 1]
                # reverse q+1..p -> arcs (u, a), (r[q+1], s)
                d = c_ua + C[R[t] + s] - C[R[u] + t] - c_as + D[p] - D[q + 1]
                if d < best:
                    best, move = d, (0, q + 1, p)
                if q >= 1:
                    # reverse q..p-1 -> arcs (r[q-1], h), (u, a)
                    g = r[q - 1]
                    d = C[R[g] + h] + c_ua - C[R[g] + u] - c_ha + D[p - 1] - D[q]
                    if d < best:
                        best, move = d, (0, q, p - 1)
        return best, move

    def _or_opt(self, p: int, best: int, move: tuple | None) -> tuple[int, tuple | None]:
        """Or-opt: chains of 1-3 settings starting or ending at position p, moved elsewhere
        forward or (two or three long) reversed."""
        C, R, r, n = self.flat, self.row, self.r, self.n
        for length in (1, 2, 3):
            for i in (p,) if length == 1 else (p, p - length + 1):
                e = i + length - 1
                if i < 1 or e > n:
                    continue
                s0, sl = r[i], r[e]
                rem = C[R[r[i - 1]] + s0] + C[R[sl] + r[e + 1]] - C[R[r[i - 1]] + r[e + 1]]
                if rem <= 0:
                    continue
                best, move = self._insert(s0, sl, rem, i, e, False, best, move)
                if length > 1:
                    best, move = self._insert(sl, s0, rem - self._reversal_extra(i, e), i, e, True, best, move)
        return best, move

    def _reversal_extra(self, i: int, e: int) -> int:
        """Extra cost of walking the chain r[i..e] (two or three long) backwards."""
        C, R, r = self.flat, self.row, self.r
        s0, sl = r[i], r[e]
        if e - i == 1:
            return C[R[sl] + s0] - C[R[s0] + sl]
        mid = r[i + 1]
        return C[R[sl] + mid] + C[R[mid] + s0] - C[R[s0] + mid] - C[R[mid] + sl]

    def _insert(
        self, head: int, tail: int, room: int, i: int, e: int, rev: bool, best: int, move: tuple | None
    ) -> tuple[int, tuple | None]:
        """Or-opt: best place for chain r[i..e] entered at `head` and left at `tail` (forward:
        head r[i]; reversed: head r[e]), `room` the gain of taking it out (less the reversal's
        extra cost); returns the improved (best, move)."""
        C, R, r, pos, n = self.flat, self.row, self.r, self.pos, self.n
        rt = R[tail]
        for x in self.pred[head]:  # x -> head
            cx = C[R[x] + head]
            if cx >= room:
                break
            px = pos[x]
            if i - 1 <= px <= e:
                continue
            y = r[px + 1]
            d = cx + C[rt + y] - C[R[x] + y] - room
            if d < best:
                best, move = d, (2, i, e, px, rev)
        for y in self.succ[tail]:  # tail -> y
            cy = C[rt + y]
            if cy >= room:
                break
            px = pos[y] - 1
            if i - 1 <= px <= e:
                continue
            x = r[px]
            d = C[R[x] + head] + cy - C[R[x] + y] - room
            if d < best:
                best, move = d, (2, i, e, px, rev)
        if not i - 1 <= n <= e:
            best, move = self._append(head, room, i, e, rev, best, move)
        return best, move

    def _append(
        self, head: int, room: int, i: int, e: int, rev: bool, best: int, move: tuple | None
    ) -> tuple[int, tuple | None]:
        """`_insert` at the open end of the route, after r[n] (the arc into the dummy end is free)."""
        n = self.n
        d = self.flat[self.row[self.r[n]] + head] - room
        if d < best:
            best, move = d, (2, i, e, n, rev)
        return best, move

    def descend(self, deadline: float = float("inf")) -> int:
        """Apply best moves of queued nodes until the queue is empty (or the deadline passes,
        checked every 64 nodes); returns the cost change."""
        total = 0
        queue, inq = self.queue, self.inq
        count = 0
        while queue:
            count += 1
            if count & 63 == 0 and time.perf_counter() > deadline:
                break
            a = queue.popleft()
            inq[a] = 0
            d, move = self.best_move(a)
            if move is not None:
                self.apply(move)
                total += d
                self.push(a)
        return total

    def kick(self, rng: np.random.Generator, span: int) -> int:
        """Random local perturbation; returns its cost change (the moved nodes are queued)."""
        C, R, r, n = self.flat, self.row, self.r, self.n
        l1 = int(rng.integers(1, span + 1))
        l2 = int(rng.integers(1, span + 1))
        i = int(rng.integers(0, n - l1 - l2 + 1))
        j, k = i + l1, i + l1 + l2
        a, b, x, y, z, w = r[i], r[i + 1], r[j], r[j + 1], r[k], r[k + 1]
        d = C[R[a] + y] + C[R[z] + b] + C[R[x] + w] - C[R[a] + b] - C[R[x] + y] - C[R[z] + w]
        self.swap(i, j, k)
        return d


def iterated_local_search(
    c: np.ndarray,
    order: list[int],
    iterations: int,
    deadline: float,
    seed: int = 0,
    k: int = K_NEIGHBOURS,
    trace: list | None = None,
) -> SearchResult:
    """Local optimum of `order`, then up to `iterations` kicks (kept when not worse).

    c is the extended matrix of `path.extend`; order the settings 1..n. Deterministic for
    (c, order, iterations, seed) unless the wall clock passes `deadline` (finished=False).
    trace: if given, (kicks, cost) is appended every 1000 kicks."""
    n = c.shape[0] - 2
    if n < 3:  # at most two orders: try them
        best = min((list(p) for p in itertools.permutations(order)), key=lambda o: path_cost(c, o))
        return SearchResult(best, path_cost(c, best), 0, True)
    st = _Search(c, order, k)
    st.push(*range(n + 1))
    st.descend(deadline)
    cost = st.cost()
    rng = np.random.default_rng(seed)
    span = max(1, min(KICK_SPAN, (n - 1) // 2))
    done = 0
    finished = time.perf_counter() < deadline
    while done < iterations and finished:
        if time.perf_counter() > deadline:
            finished = False
            break
        saved_r, saved_pos = st.r[:], st.pos[:]
        delta = st.kick(rng, span)
        delta += st.descend()
        done += 1
        if delta <= 0:
            cost += delta
        else:
            st.r[:] = saved_r
            st.pos[:] = saved_pos
            st.rn[:] = saved_r
            st.prefix_ok = False
        if trace is not None and done % 1000 == 0:
            trace.append((done, cost))
    return SearchResult(st.order(), cost, done, finished)

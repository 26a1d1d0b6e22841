"""chi_2 = (1/2) max_e R_e bracketed without factorising the whole Laplacian: certified bounds.

Every bound here comes from Rayleigh's monotonicity law (Doyle and Snell, Random Walks and
Electric Networks, 1984, section 1.4): removing an edge (or lowering its conductance) can only
raise an effective resistance, and shorting nodes together (contracting them) can only lower
it. With conductances lambda_e (the rates) and e = (u, v):

- two-path upper bound: keep only e and the two-edge paths u-w-v through common neighbours w;
  those are edge-disjoint and in parallel, so
  R_e <= 1 / (lambda_e + sum_w lambda_uw lambda_wv / (lambda_uw + lambda_wv));
- shorting lower bound: short every node other than u and v into one node s; u then reaches s
  through conductance a = d_u - lambda_e (d the weighted degree), v through b = d_v - lambda_e,
  so R_e >= 1 / (lambda_e + a b / (a + b)) (= 1/lambda_e, exact, when a or b is 0);
- ball bounds: with S the nodes within h hops of u or v, R_e is at most the resistance in the
  subgraph induced on S (the other edges removed) and at least the resistance in the graph where
  every node outside S is shorted into one (edges from S to the outside then lead to that node).
  Both are computed exactly (a sparse factorisation of |S| nodes). The dipole potential of a
  unit current through e decays with the distance, so the two meet as h grows; once S holds the
  whole graph they are equal and exact.

``max_resistance_bracket`` computes the two cheap bounds for every edge; an edge whose upper
bound is below the largest lower bound cannot be the argmax and is dropped; the others get ball
bounds of doubling radius, dropped in turn, until the largest upper bound is within ``rtol`` of
the largest lower bound. The result [lower, upper] contains max_e R_e for certain: no
probability is involved, only floating-point solves of small positive definite systems (backward
stable, relative error about 1e-13 against the bracket's 1e-3), and the upper end is what DADAO's
condition may be checked and scaled with. How many edges survive the cheap bounds decides the
cost: on random geometric graphs they are the few edges at low-degree nodes, where the maximum is.
"""

from __future__ import annotations

import math

import numba
import numpy as np
import scipy.sparse as sp
import scipy.sparse.csgraph
import scipy.sparse.linalg

#: the balls of the refinement stop growing at this many nodes (the bracket is then returned as
#: it is, wider than rtol, and says so)
MAX_BALL_NODES = 400_000
#: relative allowance for rounding in the local solves, added to both ends of the bracket
ROUNDING = 1e-10
#: after the first round of ball bounds, more edges than this left means the bounds are too
#: weak for this graph (see ``max_resistance_bracket``)
MAX_REFINED = 2000


def adjacency(edges: np.ndarray, lam: np.ndarray, n: int):
    """(indptr, indices, weights) of the symmetric adjacency of the positive-rate edges, rows
    sorted, int64/float64 (what the kernels of this module read)."""
    from dadao.graphs.csr import symmetric_csr

    on = lam > 0
    A = symmetric_csr(edges if on.all() else edges[on], lam[on], n)
    A.sum_duplicates()
    return A.indptr.astype(np.int64), A.indices.astype(np.int64), A.data.astype(np.float64)


@numba.njit(cache=True)
def local_bounds(indptr, indices, weights, u_arr, v_arr, lam):
    """(upper, lower): the two-path upper bound and the shorting lower bound of R_e for every
    edge (see the module docstring); upper is inf where no positive path of length <= 2 joins
    u and v."""
    m = u_arr.shape[0]
    upper = np.empty(m)
    lower = np.empty(m)
    for e in range(m):
        u = u_arr[e]
        v = v_arr[e]
        du = 0.0
        for p in range(indptr[u], indptr[u + 1]):
            du += weights[p]
        dv = 0.0
        for p in range(indptr[v], indptr[v + 1]):
            dv += weights[p]
        g = lam[e]
        i = indptr[u]
        j = indptr[v]
        while i < indptr[u + 1] and j < indptr[v + 1]:
            a = indices[i]
            b = indices[j]
            if a == b:
                x = weights[i]
                y = weights[j]
                g += x * y / (x + y)
                i += 1
                j += 1
            elif a < b:
                i += 1
            else:
                j += 1
        upper[e] = 1.0 / g if g > 0 else np.inf
        a = du - lam[e]
        b = dv - lam[e]
        if a <= 0.0 or b <= 0.0:
            lower[e] = 1.0 / lam[e] if lam[e] > 0 else np.inf
        else:
            lower[e] = 1.0 / (lam[e] + a * b / (a + b))
    return upper, lower


@numba.njit(cache=True)
def bfs_distances(indptr, indices, sources, max_depth, dist, order):
    """Breadth-first search from ``sources`` up to ``max_depth`` hops (-1: no limit).

    ``dist`` must be all -1 on entry (n entries); on exit it holds the hop distances of the
    nodes reached, and ``order[:count]`` those nodes in the order found. Returns count. The
    caller resets ``dist`` of the nodes found before the next search.
    """
    count = 0
    for s in sources:
        if dist[s] < 0:
            dist[s] = 0
            order[count] = s
            count += 1
    head = 0
    while head < count:
        i = order[head]
        head += 1
        if max_depth >= 0 and dist[i] >= max_depth:
            continue
        for p in range(indptr[i], indptr[i + 1]):
            j = indices[p]
            if dist[j] < 0:
                dist[j] = dist[i] + 1
                order[count] = j
                count += 1
    return count


@numba.njit(cache=True)
def _ball_laplacian(indptr, indices, weights, nodes, local):
    """COO entries of the Laplacian on nodes[:] plus one node (index len(nodes)) into which every
    node outside is shorted; ``local[i]`` is i's index among ``nodes`` (-1 outside).

    Returns (rows, cols, vals, outside) where the entries of the contracted node are present
    only if some edge leaves the ball (``outside`` is its total conductance)."""
    k = nodes.shape[0]
    nnz = 0
    for t in range(k):
        nnz += indptr[nodes[t] + 1] - indptr[nodes[t]]
    rows = np.empty(nnz + 3 * k + 1, dtype=np.int64)
    cols = np.empty(nnz + 3 * k + 1, dtype=np.int64)
    vals = np.empty(nnz + 3 * k + 1)
    q = 0
    outside = 0.0
    for t in range(k):
        i = nodes[t]
        diag = 0.0
        to_s = 0.0
        for p in range(indptr[i], indptr[i + 1]):
            j = local[indices[p]]
            w = weights[p]
            diag += w
            if j >= 0:
                rows[q] = t
                cols[q] = j
                vals[q] = -w
                q += 1
            else:
                to_s += w
        rows[q] = t
        cols[q] = t
        vals[q] = diag
        q += 1
        if to_s > 0.0:
            rows[q] = t
            cols[q] = k
            vals[q] = -to_s
            q += 1
            rows[q] = k
            cols[q] = t
            vals[q] = -to_s
            q += 1
            outside += to_s
    if outside > 0.0:
        rows[q] = k
        cols[q] = k
        vals[q] = outside
        q += 1
    return rows[:q], cols[:q], vals[:q], outside


#: balls of at most this many nodes are solved densely in compiled code (the per-call overhead of
#: the sparse path dominates below it)
DENSE_BALL = 300


@numba.njit(cache=True)
def _dense_ball_bounds(indptr, indices, weights, nodes, local):
    """(lower, upper) of R between nodes[0] and nodes[1] from their ball (dense solves); the
    edge between them has a positive rate, so the induced subgraph is connected."""
    k = nodes.shape[0]
    M = np.zeros((k + 1, k + 1))
    for t in range(k):
        i = nodes[t]
        for p in range(indptr[i], indptr[i + 1]):
            j = local[indices[p]]
            w = weights[p]
            M[t, t] += w
            if j >= 0:
                M[t, j] -= w  # and M[j, t] when j's row is read
            else:
                M[t, k] -= w
                M[k, t] -= w
                M[k, k] += w
    keep = np.empty(k, dtype=np.int64)
    keep[0] = 0
    for t in range(2, k + 1):
        keep[t - 1] = t
    A = np.empty((k, k))
    for a in range(k):
        for b in range(k):
            A[a, b] = M[keep[a], keep[b]]
    rhs = np.zeros(k)
    rhs[0] = 1.0
    lower = np.linalg.solve(A, rhs)[0]
    # induced subgraph: drop the contracted node and the conductance to it
    B = np.empty((k - 1, k - 1))
    for a in range(k - 1):
        for b in range(k - 1):
            B[a, b] = A[a, b]
        B[a, a] -= -A[a, k - 1]
    rhs = np.zeros(k - 1)
    rhs[0] = 1.0
    upper = np.linalg.solve(B, rhs)[0]
    return lower, upper


def _resistance(M: sp.csr_matrix, a: int, b: int) -> float:
    """b_ab^T M^+ b_ab for a connected Laplacian M (grounded at b); inf if a, b are apart."""
    keep = np.flatnonzero(np.arange(M.shape[0]) != b)
    Mg = M[keep][:, keep].tocsc()
    rhs = np.zeros(len(keep))
    rhs[a if a < b else a - 1] = 1.0
    if Mg.shape[0] <= 200:
        x = np.linalg.solve(Mg.toarray(), rhs)
    else:
        x = scipy.sparse.linalg.splu(Mg, permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.0,
                                     options=dict(SymmetricMode=True)).solve(rhs)
    return float(x[a if a < b else a - 1])


class _Balls:
    """Ball bounds of single edges on one graph (see the module docstring)."""

    def __init__(self, indptr, indices, weights, n):
        self.indptr, self.indices, self.weights, self.n = indptr, indices, weights, n
        self.dist = np.full(n, -1, dtype=np.int64)
        self.order = np.empty(n, dtype=np.int64)
        self.local = np.full(n, -1, dtype=np.int64)

    def bounds(self, u: int, v: int, hops: int, positive: bool) -> tuple[float, float, int]:
        """(lower, upper, ball size) of R_uv from the ball of ``hops`` hops around u and v
        (``positive``: the edge u-v has a positive rate)."""
        count = bfs_distances(self.indptr, self.indices, np.array([u, v], dtype=np.int64),
                              hops, self.dist, self.order)
        nodes = self.order[:count].copy()
        self.dist[nodes] = -1
        self.local[nodes] = np.arange(count)
        if count <= DENSE_BALL and positive and count < self.n:
            try:
                lower, upper = _dense_ball_bounds(self.indptr, self.indices, self.weights,
                                                  nodes, self.local)
            finally:
                self.local[nodes] = -1
            return lower, upper, count
        try:
            rows, cols, vals, outside = _ball_laplacian(self.indptr, self.indices, self.weights,
                                                        nodes, self.local)
        finally:
            self.local[nodes] = -1
        k = count
        full = sp.csr_matrix((vals, (rows, cols)), shape=(k + 1, k + 1))
        if outside == 0.0:  # the ball is u's whole component: one exact value
            r = _resistance(full[:k, :k], 0, 1)
            return r, r, k
        lower = _resistance(full, 0, 1)
        # the induced subgraph: the edges to the outside removed from the diagonal too
        to_outside = np.asarray(full[:k, [k]].todense()).ravel()  # -conductance, <= 0
        inner = (full[:k, :k] + sp.diags(to_outside)).tocsr()
        ncomp, label = scipy.sparse.csgraph.connected_components(inner, directed=False)
        upper = _resistance(inner, 0, 1) if ncomp == 1 else (
            _resistance(_restrict(inner, label == label[0]), 0, 1) if label[0] == label[1]
            else math.inf)
        return lower, upper, k


def _restrict(M, mask):
    idx = np.flatnonzero(mask)
    return M[idx][:, idx]


def max_resistance_bracket(edges: np.ndarray, lam: np.ndarray, n: int, *, rtol: float = 1e-3,
                           max_ball_nodes: int = MAX_BALL_NODES,
                           max_candidates: int | None = None) -> dict | None:
    """Certified bounds lower <= max_e R_e <= upper (see the module docstring).

    ``edges`` (E, 2) and ``lam`` (E,) in the same order; the positive-rate edges must connect
    the graph. Returns lower, upper, edge (the index of the edge with the largest lower bound),
    candidates (edges left after the cheap bounds), refined (edges that got ball bounds),
    hops (the largest ball radius used), ball_nodes (its largest ball) and converged
    (upper <= (1 + rtol) lower). None when more than ``max_candidates`` edges are left after
    the cheap bounds (each would need its own local solves: expander-like graphs, whose cycles
    are long, or graphs whose edges all have the same resistance).
    """
    indptr, indices, weights = adjacency(edges, lam, n)
    u, v = edges[:, 0].astype(np.int64), edges[:, 1].astype(np.int64)
    upper, lower = local_bounds(indptr, indices, weights, u, v, lam)
    best = float(lower.max())
    cand = np.flatnonzero(upper >= best)
    if max_candidates is not None and len(cand) > max_candidates:
        return None
    balls = _Balls(indptr, indices, weights, n)
    out = {"candidates": int(len(cand)), "refined": 0, "hops": 0, "ball_nodes": 0}
    hops, largest = 1, 0
    while True:
        top = float(upper[cand].max())
        if top <= best * (1.0 + rtol) or largest > max_ball_nodes or hops > 2 * n:
            break
        refined = 0
        for e in cand[np.argsort(-lower[cand], kind="stable")]:
            if upper[e] < best * (1.0 - ROUNDING) or upper[e] <= lower[e] * (1.0 + 0.1 * rtol):
                continue
            lo, up, size = balls.bounds(int(u[e]), int(v[e]), hops, bool(lam[e] > 0))
            lower[e] = max(lower[e], lo)
            upper[e] = min(upper[e], up)
            best = max(best, lower[e])
            largest = max(largest, size)
            refined += 1
        out["refined"] += refined
        if not refined:
            break
        if max_candidates is not None and \
                np.count_nonzero(upper[cand] >= best * (1.0 - ROUNDING)) > MAX_REFINED:
            return None
        out["hops"] = hops
        # rounding can put a computed lower bound a few ulps above an upper one: keep those
        cand = cand[upper[cand] >= best * (1.0 - ROUNDING)]
        hops *= 2
    out["ball_nodes"] = largest
    arg = int(cand[np.argmax(lower[cand])])
    top = float(upper[cand].max())
    out.update(lower=best * (1.0 - ROUNDING), upper=top * (1.0 + ROUNDING), edge=arg,
               converged=bool(top <= best * (1.0 + rtol)))
    return out

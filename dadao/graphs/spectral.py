"""Laplacians and the spectral constants of DADAO and its baselines.

For an edge e = (i, j), b_e = e_i - e_j; a rate (weight) vector lambda (edge_array order) gives the
rate Laplacian Lambda = sum_e lambda_e b_e b_e^T. The constants (docs/model.md, Graph constants):

- chi = lambda_max(L_G) / lambda_2(L_G)            (Scaman et al. 2017, ADOM+)
- chi_1[Lambda] = 1 / lambda_2(Lambda)
- chi_2[Lambda] = (1/2) max_{e in E} R_e,   R_e = b_e^T Lambda^+ b_e  (effective resistance)

Two exact methods compute them. "dense" takes an eigendecomposition of Lambda (n up to a few
thousand). "sparse" grounds Lambda at one node, factorises the grounded matrix once with a
fill-reducing ordering and gets every R_e from a sparse triangular solve; it handles tens of
thousands of nodes (docs/graph_constants.md has the timings).
"""

from __future__ import annotations

import networkx as nx
import numba
import numpy as np
import scipy.linalg
import scipy.sparse as sp
import scipy.sparse.csgraph
import scipy.sparse.linalg

from dadao.errors import GraphError, RateError
from dadao.graphs import known_spectra
from dadao.graphs.families import as_edges, check_n, edge_array

DENSE_MAX_N = 2000


def laplacian(edges, n: int, weights=None) -> sp.csr_matrix:
    """Weighted Laplacian sum_e w_e b_e b_e^T (b_e = e_u - e_v) as an n x n CSR matrix.

    ``weights`` defaults to 1 on every edge; zero weights are allowed.
    """
    edges = as_edges(edges, n)
    w = np.ones(len(edges)) if weights is None else np.asarray(weights, dtype=np.float64)
    if w.shape != (len(edges),):
        raise GraphError(f"weights must have one entry per edge ({len(edges)}); "
                         f"got shape {w.shape}")
    u, v = edges[:, 0], edges[:, 1]
    rows = np.concatenate([u, v, u, v])
    cols = np.concatenate([u, v, v, u])
    data = np.concatenate([w, w, -w, -w])
    return sp.csr_matrix((data, (rows, cols)), shape=(n, n))


def laplacian_extremes(G: nx.Graph, *, method: str = "auto") -> tuple[float, float]:
    """(lambda_2, lambda_max) of the unweighted Laplacian L_G."""
    edges = edge_array(G)
    c = rate_constants(edges, np.ones(len(edges)), G.number_of_nodes(), method=method)
    return c["lambda_2"], c["lambda_max"]


def graph_chi(G: nx.Graph, *, method: str = "auto") -> float:
    """chi = lambda_max(L_G) / lambda_2(L_G), L_G the unweighted Laplacian (ADOM+, Scaman's chi)."""
    lambda_2, lambda_max = laplacian_extremes(G, method=method)
    return lambda_max / lambda_2


def effective_resistances(edges, rates, n: int, *, method: str = "auto") -> np.ndarray:
    """R_e = b_e^T Lambda^+ b_e for every edge e, with Lambda = sum_e lambda_e b_e b_e^T.

    Edges of rate 0 get their resistance too (they still belong to the graph).
    """
    return _solve(edges, rates, n, method, want_spectrum=False)["resistances"]


def chi_1(edges, rates, n: int, *, method: str = "auto") -> float:
    """chi_1[Lambda] = 1 / lambda_2(Lambda), lambda_2 the smallest positive eigenvalue."""
    return rate_constants(edges, rates, n, method=method)["chi_1"]


def chi_2(edges, rates, n: int, *, method: str = "auto") -> float:
    """chi_2[Lambda] = (1/2) max_{e in E} b_e^T Lambda^+ b_e (half the largest resistance)."""
    return 0.5 * float(effective_resistances(edges, rates, n, method=method).max())


def rate_constants(edges, rates, n: int, *, method: str = "auto") -> dict:
    """chi_1, chi_2, lambda_2, lambda_max and max_resistance of Lambda = sum_e lambda_e b_e b_e^T.

    All come from one factorisation. ``method``:

    - "dense": eigh of the dense Lambda; Lambda^+ = V diag(1/w) V^T over the nonzero eigenvalues.
      O(n^3) time, O(n^2) memory (eigh, divide and conquer).
    - "sparse": ground Lambda at its highest-degree node r (for a connected graph,
      R_e = b_e^T Lambda_g^{-1} b_e with the r entry of b_e dropped), factorise the grounded
      matrix once, P Lambda_g P^T = L D L^T (SuperLU, minimum degree on A + A^T, symmetric mode,
      no pivoting), and get R_e = sum_k y_k^2 / D_k with y = L^{-1} P b_e by a sparse-right-hand-
      side solve: y is nonzero only on the nodes reachable from the two entries of P b_e (their
      elimination-tree paths). The sum has no cancellation. lambda_2 and lambda_max: in closed
      form when the rates are uniform on a graph of a family whose spectrum is known (path,
      cycle, complete, star, hypercube, grids and tori: ``known_spectra``); else
      lambda_2 = 1 / lambda_max(Lambda^+) by Lanczos (eigsh) on x -> Lambda^+ x =
      centre(Lambda_g^{-1} x), and lambda_max by Lanczos on Lambda, or, where its top
      eigenvalues cluster (Lanczos stalls), by shift-invert Lanczos above the Gershgorin bound
      (``_lambda_max_sparse``); dense eigenvalues for n <= 50. The cost is about |E| x
      (elimination-tree path length x column length); edges are processed in parallel.
      docs/graph_constants.md has the timings and memory of both paths
      (simulations/bench_graph_constants.py).
    - "auto": dense for n <= 2000, sparse above.

    Edges of rate 0 are allowed (their R_e counts in chi_2), but the edges of positive rate must
    connect all n nodes, else lambda_2 = 0 and RateError is raised.
    """
    out = _solve(edges, rates, n, method, want_spectrum=True)
    R = out["resistances"]
    return {
        "chi_1": 1.0 / out["lambda_2"],
        "chi_2": 0.5 * float(R.max()),
        "lambda_2": out["lambda_2"],
        "lambda_max": out["lambda_max"],
        "max_resistance": float(R.max()),
    }


def _check_rates(edges, rates, n):
    edges = as_edges(edges, n)
    lam = np.asarray(rates, dtype=np.float64)
    if lam.shape != (len(edges),):
        raise RateError(f"rates must have one entry per edge ({len(edges)}, in edge_array "
                        f"order); got shape {lam.shape}")
    bad = ~(np.isfinite(lam) & (lam >= 0))
    if bad.any():
        e = int(np.flatnonzero(bad)[0])
        raise RateError(f"rate of edge ({edges[e, 0]}, {edges[e, 1]}) must be finite and >= 0; "
                        f"got {lam[e]!r}")
    if np.any(edges[:, 0] == edges[:, 1]):
        raise GraphError("edges contain a self-loop; use edge_array(G) to build the edge list")
    on = lam > 0
    A = sp.csr_matrix((np.ones(int(on.sum())), (edges[on, 0], edges[on, 1])), shape=(n, n))
    k, _ = scipy.sparse.csgraph.connected_components(A, directed=False)
    if k > 1:
        Aall = sp.csr_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(n, n))
        k_all, _ = scipy.sparse.csgraph.connected_components(Aall, directed=False)
        if k_all > 1:
            raise GraphError(f"graph is disconnected: {k_all} components (n = {n}); the "
                             f"constants are infinite")
        raise RateError(f"the rate Laplacian is disconnected (lambda_2 = 0): the edges with "
                        f"positive rate form {k} components; give a positive rate to edges "
                        f"joining them")
    return edges, lam


def _solve(edges, rates, n, method, want_spectrum):
    if method not in ("auto", "dense", "sparse"):
        raise GraphError(f"method must be 'auto', 'dense' or 'sparse'; got {method!r}")
    n = check_n(n, "graph")
    edges, lam = _check_rates(edges, rates, n)
    if method == "dense" or (method == "auto" and n <= DENSE_MAX_N):
        return _solve_dense(edges, lam, n)
    return _solve_sparse(edges, lam, n, want_spectrum)


def _solve_dense(edges, lam, n):
    # divide-and-conquer: about 3x faster than the default MRRR driver at n = 2000, as accurate
    w, V = scipy.linalg.eigh(laplacian(edges, n, lam).toarray(), driver="evd")
    # Connectivity was checked combinatorially, so exactly one eigenvalue (the first) is zero.
    Vp = V[:, 1:]
    Z = (Vp / w[1:]) @ Vp.T
    u, v = edges[:, 0], edges[:, 1]
    R = Z[u, u] + Z[v, v] - 2.0 * Z[u, v]
    return {"resistances": R, "lambda_2": float(w[1]), "lambda_max": float(w[-1])}


def _solve_sparse(edges, lam, n, want_spectrum):
    on = lam > 0
    Lam = laplacian(edges[on], n, lam[on]).tocsc()
    factor = None
    R = _closed_form_resistances(edges, lam, n)
    if R is None:
        factor = _grounded_factor(Lam, n)
        R = _resistances_from_factor(factor, edges, n)
    out = {"resistances": R, "lambda_2": np.nan, "lambda_max": np.nan}
    if want_spectrum and n <= 50:
        # ARPACK needs a Krylov space smaller than n; tiny graphs take the dense eigenvalues.
        w = scipy.linalg.eigvalsh(Lam.toarray())
        out["lambda_2"], out["lambda_max"] = float(w[1]), float(w[-1])
    elif want_spectrum:
        known = _closed_form_extremes(edges, lam, n)
        if known is not None:
            out["lambda_2"], out["lambda_max"] = known
        else:
            lu, keep = factor or _grounded_factor(Lam, n)
            out["lambda_2"] = _lambda_2_sparse(lu, keep, n)
            out["lambda_max"] = _lambda_max_sparse(Lam)
    return out


def _grounded_factor(Lam, n):
    """(SuperLU factor of Lambda grounded at its highest-degree node r, the other nodes)."""
    r = int(np.argmax(Lam.diagonal()))
    keep = np.flatnonzero(np.arange(n) != r)
    Lg = Lam[keep][:, keep].tocsc()
    lu = scipy.sparse.linalg.splu(
        Lg, permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.0,
        options=dict(SymmetricMode=True),
    )
    return lu, keep


def _resistances_from_factor(factor, edges, n):
    """R_e of every edge from the grounded factor (see ``rate_constants``, "sparse")."""
    lu, keep = factor
    pos = np.full(n, -1, dtype=np.int64)
    if np.array_equal(lu.perm_r, lu.perm_c):
        L = sp.tril(lu.L, k=-1, format="csc")
        L.sort_indices()
        indptr, indices = L.indptr.astype(np.int64), L.indices.astype(np.int64)
        D = lu.U.diagonal().copy()
        # position of each node in the factor; the grounded node r maps to -1 (entry dropped)
        pos[keep] = lu.perm_c
        pu, pv = pos[edges[:, 0]], pos[edges[:, 1]]
        parent, closed = _elimination_tree(indptr, indices)
        if closed:
            return _resistances_etree(indptr, indices, L.data, D, parent, pu, pv,
                                      min(len(pu), 8 * numba.get_num_threads()))
        return _resistances_reach(indptr, indices, L.data, D, pu, pv)
    # SuperLU pivoted off the diagonal, so U is not D L^T and the kernel does not apply.
    # Not seen for Laplacians (SPD, so the diagonal pivot is always taken); this fallback is
    # correct but costs one full solve per edge.
    pos[keep] = np.arange(n - 1)
    return _resistances_by_solves(lu, pos[edges[:, 0]], pos[edges[:, 1]])


def _closed_form_resistances(edges, lam, n):
    """R_e in closed form on a tree or a cycle with positive rates (any labelling), or on an
    edge-transitive family with uniform rates; None otherwise.

    With r_e = 1/lambda_e the resistance of edge e alone: in a (connected) tree every edge is a
    bridge, so R_e = r_e; in a cycle, edge e is in parallel with the path of the other edges,
    whose resistance is S - r_e with S = sum_f r_f, so R_e = r_e (S - r_e) / S. On a graph whose
    automorphisms map any edge to any other (complete, hypercube, square torus) with the same
    rate c everywhere, all R_e are equal, and Foster's theorem sum_e c R_e = n - 1 gives
    R_e = (n - 1) / (E c). Connectivity was checked combinatorially before (``_check_rates``).
    """
    if not len(lam) or not np.all(lam > 0):
        return None
    r = 1.0 / lam
    if len(edges) == n - 1:
        return r
    degree = np.bincount(edges.ravel(), minlength=n)
    if len(edges) == n and n >= 3 and np.all(degree == 2):
        total = float(r.sum())
        return r * (total - r) / total
    if np.all(lam == lam[0]):
        family = known_spectra.family_of(edges, n)
        if family is not None and known_spectra.equal_resistances(*family):
            return np.full(len(edges), (n - 1) / (len(edges) * float(lam[0])))
    return None


def _closed_form_extremes(edges, lam, n):
    """(lambda_2, lambda_max) of Lambda = c L_G when every rate is the same c > 0 and G is a
    graph of a family with a known spectrum (``known_spectra``); None otherwise."""
    if not len(lam) or lam[0] <= 0 or not np.all(lam == lam[0]):
        return None
    family = known_spectra.family_of(edges, n)
    if family is None:
        return None
    lambda_2, lambda_max = known_spectra.extremes(family[0], n, family[1], family[2])
    return float(lam[0] * lambda_2), float(lam[0] * lambda_max)


def _resistances_by_solves(lu, pu, pv, block=256):
    m = lu.shape[0]
    R = np.empty(len(pu))
    for start in range(0, len(pu), block):
        a, b = pu[start:start + block], pv[start:start + block]
        cols = np.arange(len(a))
        B = np.zeros((m, len(a)))
        B[a[a >= 0], cols[a >= 0]] = 1.0
        B[b[b >= 0], cols[b >= 0]] = -1.0
        X = lu.solve(B)
        R[start:start + block] = np.einsum("ij,ij->j", B, X)
    return R


@numba.njit(cache=True)
def _elimination_tree(indptr, indices):
    """parent[j] = first row below j in column j of L (-1 for a root), if L's pattern is closed.

    Closed means struct(L[:, j]) minus {j, parent[j]} lies inside struct(L[:, parent[j]]) for every
    j: the pattern is then a filled graph, and the nonzeros of L^{-1} e_s are exactly the tree path
    from s to its root. Returns (parent, closed); a non-closed pattern (possible in principle if
    the factorisation dropped structural zeros) sends the caller to the plain reach search.
    """
    m = indptr.shape[0] - 1
    parent = np.full(m, -1, dtype=np.int64)
    mark = np.full(m, -1, dtype=np.int64)
    for j in range(m):
        if indptr[j + 1] > indptr[j]:
            parent[j] = indices[indptr[j]]
    for j in range(m):
        p = parent[j]
        if p < 0:
            continue
        for q in range(indptr[p], indptr[p + 1]):
            mark[indices[q]] = j
        for q in range(indptr[j] + 1, indptr[j + 1]):
            if mark[indices[q]] != j:
                return parent, False
    return parent, True


@numba.njit(cache=True)
def _energy_along(cols, count, y, a, b, indptr, indices, data, D):
    """sum_k y_k^2 / D_k for y = L^{-1} (e_a - e_b) (b < 0 or a < 0: that entry is absent).

    ``cols[:count]`` is the nonzero pattern of y in increasing order (a valid order for the
    forward solve). ``y`` must be all zeros on entry; it is all zeros again on exit.
    """
    if a >= 0:
        y[a] = 1.0
    if b >= 0:
        y[b] = -1.0
    acc = 0.0
    for t in range(count):
        j = cols[t]
        yj = y[j]
        y[j] = 0.0
        if yj != 0.0:
            for p in range(indptr[j], indptr[j + 1]):
                y[indices[p]] -= data[p] * yj
            acc += yj * yj / D[j]
    return acc


@numba.njit(cache=True, parallel=True)
def _resistances_etree(indptr, indices, data, D, parent, pu, pv, n_chunks):
    """R_e = sum_k y_k^2 / D_k with y = L^{-1} (e_pu - e_pv); L strictly lower part, CSC, sorted.

    y lives on the union of the elimination-tree paths of pu and pv; both paths are increasing,
    so merging them gives the columns in a valid order for the forward solve. The sum of positive
    terms has no cancellation, unlike Z_uu + Z_vv - 2 Z_uv from a (selected) inverse, which loses
    digits on long paths. Edges are split in chunks, one set of work arrays per chunk.
    """
    m = D.shape[0]
    E = pu.shape[0]
    R = np.empty(E)
    for c in numba.prange(n_chunks):
        y = np.zeros(m)
        mark = np.full(m, -1, dtype=np.int64)
        path_a = np.empty(m, dtype=np.int64)
        path_b = np.empty(m, dtype=np.int64)
        cols = np.empty(m, dtype=np.int64)
        for e in range(c * E // n_chunks, (c + 1) * E // n_chunks):
            a, b = pu[e], pv[e]
            if a < 0:
                a, b = b, a
            na = 0
            j = a
            while j >= 0:
                mark[j] = e
                path_a[na] = j
                na += 1
                j = parent[j]
            nb = 0
            j = b
            while j >= 0 and mark[j] != e:
                path_b[nb] = j
                nb += 1
                j = parent[j]
            ia = 0
            ib = 0
            for t in range(na + nb):
                if ib >= nb or (ia < na and path_a[ia] < path_b[ib]):
                    cols[t] = path_a[ia]
                    ia += 1
                else:
                    cols[t] = path_b[ib]
                    ib += 1
            R[e] = _energy_along(cols, na + nb, y, a, b, indptr, indices, data, D)
    return R


@numba.njit(cache=True)
def _resistances_reach(indptr, indices, data, D, pu, pv):
    """Same as _resistances_etree for any pattern: the reach is found by depth-first search."""
    m = D.shape[0]
    E = pu.shape[0]
    y = np.zeros(m)
    mark = np.full(m, -1, dtype=np.int64)
    reach = np.empty(m, dtype=np.int64)
    stack = np.empty(m, dtype=np.int64)
    R = np.empty(E)
    for e in range(E):
        top = 0
        count = 0
        for s in (pu[e], pv[e]):
            if s < 0 or mark[s] == e:
                continue
            mark[s] = e
            stack[top] = s
            top += 1
            while top > 0:
                top -= 1
                j = stack[top]
                reach[count] = j
                count += 1
                for p in range(indptr[j], indptr[j + 1]):
                    i = indices[p]
                    if mark[i] != e:
                        mark[i] = e
                        stack[top] = i
                        top += 1
        cols = np.sort(reach[:count])
        R[e] = _energy_along(cols, count, y, pu[e], pv[e], indptr, indices, data, D)
    return R


def _lambda_2_sparse(lu, keep, n):
    """lambda_2(Lambda) = 1 / lambda_max(Lambda^+), Lanczos on x -> Lambda^+ x."""

    def apply(x):
        x = np.ravel(x)
        x = x - x.mean()
        z = np.zeros(n)
        # For x orthogonal to 1, the solution with z_r = 0 solves Lambda z = x.
        z[keep] = lu.solve(x[keep])
        return z - z.mean()

    op = scipy.sparse.linalg.LinearOperator((n, n), matvec=apply, dtype=np.float64)
    v0 = np.random.default_rng(12345).standard_normal(n)
    v0 -= v0.mean()
    # Only the eigenvalue is needed; clustered or repeated lambda_2 (tori) does not slow it down.
    top = scipy.sparse.linalg.eigsh(op, k=1, which="LA", v0=v0, tol=1e-12,
                                    ncv=min(n - 1, 40), return_eigenvectors=False)
    return float(1.0 / top[0])


#: restarts of plain Lanczos for lambda_max before it is taken as stalled (about 40 matrix-vector
#: products each): graphs whose top eigenvalue is separated converge in a few
LANCZOS_RESTARTS = 5


def _lambda_max_sparse(Lam):
    """lambda_max(Lambda): Lanczos (eigsh, tol 1e-12), and where it stalls, shift-invert.

    Lanczos converges like the gap between the two largest eigenvalues relative to the spread
    of the spectrum; on path- and lattice-like graphs the top is 4 d_max - O(1/n^2) and clusters,
    and Lanczos needs millions of steps. Shift-invert Lanczos on (sigma I - Lambda)^{-1}, sigma =
    (1 + 1e-6) max_i 2 Lambda_ii >= (1 + 1e-6) lambda_max (Gershgorin: each row's absolute sum
    is 2 Lambda_ii), maps the top eigenvalues to 1/(sigma - lambda), largest and far apart
    where they cluster near the bound; sigma I - Lambda is positive definite (one sparse
    factorisation), and lambda_max = sigma - 1/theta_max.
    """
    n = Lam.shape[0]
    v0 = np.random.default_rng(12345).standard_normal(n)
    try:
        top = scipy.sparse.linalg.eigsh(Lam, k=1, which="LA", v0=v0, tol=1e-12,
                                        ncv=min(n - 1, 40), maxiter=LANCZOS_RESTARTS,
                                        return_eigenvectors=False)
        return float(top[0])
    except scipy.sparse.linalg.ArpackNoConvergence:
        pass
    sigma = (1.0 + 1e-6) * 2.0 * float(Lam.diagonal().max())
    shifted = (sp.identity(n, format="csc") * sigma - Lam).tocsc()
    lu = scipy.sparse.linalg.splu(shifted, permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.0,
                                  options=dict(SymmetricMode=True))
    op = scipy.sparse.linalg.LinearOperator((n, n), matvec=lambda x: lu.solve(np.ravel(x)),
                                            dtype=np.float64)
    theta = scipy.sparse.linalg.eigsh(op, k=1, which="LA", v0=v0, tol=1e-12,
                                      ncv=min(n - 1, 40), return_eigenvectors=False)
    return float(sigma - 1.0 / theta[0])

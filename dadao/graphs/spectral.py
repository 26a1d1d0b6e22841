"""Laplacians and the spectral constants of DADAO and its baselines.

For an edge e = (i, j), b_e = e_i - e_j; a rate (weight) vector lambda (edge_array order) gives the
rate Laplacian Lambda = sum_e lambda_e b_e b_e^T. The constants (docs/model.md, Graph constants):

- chi = lambda_max(L_G) / lambda_2(L_G)            (Scaman et al. 2017, ADOM+)
- chi_1[Lambda] = 1 / lambda_2(Lambda)
- chi_2[Lambda] = (1/2) max_{e in E} R_e,   R_e = b_e^T Lambda^+ b_e  (effective resistance)

Four paths compute them (``rate_constants``; docs/graph_constants.md has the maths and the error
bounds, docs/bench_graph_constants.md the time and memory): closed forms for uniform rates on the
families with known spectra and resistances (``known_spectra``, ``lattice_resistances``); "dense",
an eigendecomposition of Lambda (n up to a few thousand); "sparse", one fill-reducing
factorisation of Lambda grounded at a node and a sparse triangular solve per edge (tens of
thousands of nodes); and "estimate", no factorisation at all: intervals for lambda_2 (multigrid-
preconditioned LOBPCG, ``iterative``) and for max_e R_e (certified Rayleigh-monotonicity bounds,
``resistance_bounds``, or a random projection, ``sketch``), of which the upper ends of chi_1 and
chi_2 are reported. ``constants_record`` says which path ran and what its numbers guarantee.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import math

import networkx as nx
import numba
import numpy as np
import scipy.linalg
import scipy.sparse as sp
import scipy.sparse.csgraph
import scipy.sparse.linalg

from dadao.errors import GraphError, RateError
from dadao.graphs import iterative, known_spectra, lattice_resistances, resistance_bounds, sketch
from dadao.graphs.csr import symmetric_csr
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
    # the diagonal summed here, not as 2E duplicate entries (a tenth of the time at E = 10^7)
    degree = np.bincount(u, weights=w, minlength=n) + np.bincount(v, weights=w, minlength=n)
    return symmetric_csr(edges, -w, n, diagonal=degree)


def laplacian_extremes(G: nx.Graph, *, method: str = "auto") -> tuple[float, float]:
    """(lambda_2, lambda_max) of the unweighted Laplacian L_G."""
    edges = edge_array(G)
    out = _compute(edges, np.ones(len(edges)), G.number_of_nodes(), method, "spectrum")
    return out["lambda_2"], out["lambda_max"]


def graph_chi(G: nx.Graph, *, method: str = "auto") -> float:
    """chi = lambda_max(L_G) / lambda_2(L_G), L_G the unweighted Laplacian (ADOM+, Scaman's chi)."""
    lambda_2, lambda_max = laplacian_extremes(G, method=method)
    return lambda_max / lambda_2


def effective_resistances(edges, rates, n: int, *, method: str = "auto") -> np.ndarray:
    """R_e = b_e^T Lambda^+ b_e for every edge e, with Lambda = sum_e lambda_e b_e b_e^T.

    Edges of rate 0 get their resistance too (they still belong to the graph). Where
    ``method`` resolves to "estimate" and no closed form applies, these are the sketched values
    of ``dadao.graphs.sketch`` (within a factor given by ``constants_record(...)["sketch"]``
    with probability 1 - delta), not exact ones.
    """
    return _compute(edges, rates, n, method, "resistances")["resistances"]


def chi_1(edges, rates, n: int, *, method: str = "auto") -> float:
    """chi_1[Lambda] = 1 / lambda_2(Lambda), lambda_2 the smallest positive eigenvalue."""
    return rate_constants(edges, rates, n, method=method)["chi_1"]


def chi_2(edges, rates, n: int, *, method: str = "auto") -> float:
    """chi_2[Lambda] = (1/2) max_{e in E} b_e^T Lambda^+ b_e (half the largest resistance)."""
    return _public(_compute(edges, rates, n, method, "chi_2"))["chi_2"]


#: "auto" computes the constants exactly up to this many nodes and estimates them above (closed
#: forms, where they apply, are exact at any n)
EXACT_MAX_N = 10_000
#: the estimate path's iterative solvers need a graph of at least this size; below, exact
ESTIMATE_MIN_N = 200
#: how the constants are computed: "auto" (exact up to EXACT_MAX_N nodes, estimated above),
#: "exact" (always factorise), "estimate" (never, unless a closed form applies)
CONSTANTS_MODES = ("auto", "exact", "estimate")
METHODS = ("auto", "dense", "sparse", "exact", "estimate")

_MODE: contextvars.ContextVar = contextvars.ContextVar("dadao_graph_constants", default="auto")


@contextlib.contextmanager
def constants_mode(mode: str):
    """Within the block, method "auto" means ``mode`` (one of CONSTANTS_MODES): how
    ``dadao.setup.prepare`` applies a config's ``graph.constants``."""
    if mode not in CONSTANTS_MODES:
        raise GraphError(f"must be one of {', '.join(CONSTANTS_MODES)}; got {mode!r}",
                         field="constants")
    token = _MODE.set(mode)
    try:
        yield
    finally:
        _MODE.reset(token)


def rate_constants(edges, rates, n: int, *, method: str = "auto") -> dict:
    """chi_1, chi_2, lambda_2, lambda_max and max_resistance of Lambda = sum_e lambda_e b_e b_e^T.

    ``method``:

    - "dense": eigh of the dense Lambda; Lambda^+ = V diag(1/w) V^T over the nonzero eigenvalues.
      O(n^3) time, O(n^2) memory (eigh, divide and conquer).
    - "sparse": ground Lambda at its highest-degree node r (for a connected graph,
      R_e = b_e^T Lambda_g^{-1} b_e with the r entry of b_e dropped), factorise the grounded
      matrix once, P Lambda_g P^T = L D L^T (SuperLU, minimum degree on A + A^T, symmetric mode,
      no pivoting), and get R_e = sum_k y_k^2 / D_k with y = L^{-1} P b_e by a sparse-right-hand-
      side solve: y is nonzero only on the nodes reachable from the two entries of P b_e (their
      elimination-tree paths). The sum has no cancellation. lambda_2 = 1 / lambda_max(Lambda^+)
      by Lanczos (eigsh) on x -> Lambda^+ x = centre(Lambda_g^{-1} x), and lambda_max by
      Lanczos on Lambda, or, where its top eigenvalues cluster (Lanczos stalls), by
      shift-invert Lanczos above the Gershgorin bound (``_lambda_max_sparse``); dense
      eigenvalues for n <= 50. The cost is about |E| x (elimination-tree path length x column
      length); edges are processed in parallel.
    - "exact": dense for n <= DENSE_MAX_N, sparse above.
    - "estimate" (no factorisation; docs/graph_constants.md): lambda_2 by multigrid-
      preconditioned LOBPCG (``iterative``), chi_2 by certified bounds on the largest
      resistance (``resistance_bounds``), or, where those would need too many local solves,
      by a random projection (``sketch``). The reported chi_1 and chi_2 are the upper ends of
      their intervals, so that rates scaled with them meet chi_1 chi_2 <= 1/2 for the true
      values; ``constants_record`` says which guarantee holds.
    - "auto": the mode set by ``constants_mode`` (default "auto": exact for n <= EXACT_MAX_N,
      estimate above).

    Whatever the method, uniform rates on a graph of a family with known spectra and
    resistances (path, cycle, complete, star, hypercube, torus_2d, grid_2d: ``known_spectra``,
    ``lattice_resistances``, and any tree or cycle for the resistances) take the closed forms
    outside the dense path. The constants of uniform rates c are those of the unit rates
    scaled by 1/c, computed once per edge set and method (theory rates, Lbar and graph_chi all
    share them).

    Edges of rate 0 are allowed (their R_e counts in chi_2), but the edges of positive rate must
    connect all n nodes, else lambda_2 = 0 and RateError is raised.
    """
    return _public(_compute(edges, rates, n, method, "all"))


def constants_record(edges, rates, n: int, *, method: str = "auto") -> dict:
    """How the constants of these rates were (or would be) computed, for meta.json: method
    ("dense", "sparse", "closed form", "estimate"), exact (bool), and for an estimate the
    intervals of lambda_2, chi_1 and chi_2 and the guarantee each rests on (``guarantee``,
    one line). The record of the computation already made for these edges and rates (any part
    of it); computes all the constants if none was."""
    return dict(_compute(edges, rates, n, method, "record")["record"])


def _public(out: dict) -> dict:
    return {
        "chi_1": 1.0 / out["lambda_2_lower"],
        "chi_2": 0.5 * out["max_resistance"],
        "lambda_2": out["lambda_2"],
        "lambda_max": out["lambda_max"],
        "max_resistance": out["max_resistance"],
    }


# Results by (n, resolved method, edges, rates) digest; uniform rates are stored as the unit-rate
# result (rates None in the digest) and scaled: a run asks for the same few rate vectors (the
# condition, the theory rates, chi, the record) several times.
_KNOWN: dict = {}
_KNOWN_MAX = 4


def _digest(n: int, method: str, edges: np.ndarray, lam: np.ndarray | None) -> bytes:
    h = hashlib.blake2b(digest_size=20)
    h.update(f"{n}:{method}:{'uniform' if lam is None else 'rates'}:".encode())
    h.update(np.ascontiguousarray(edges, dtype=np.int64).tobytes())
    if lam is not None:
        h.update(np.ascontiguousarray(lam, dtype=np.float64).tobytes())
    return h.digest()


def _resolve(method: str, n: int) -> str:
    if method not in METHODS:
        raise GraphError(f"method must be one of {', '.join(METHODS)}; got {method!r}")
    if method == "auto":
        mode = _MODE.get()
        method = mode if mode != "auto" else ("exact" if n <= EXACT_MAX_N else "estimate")
    if method == "estimate" and n < ESTIMATE_MIN_N:
        method = "exact"
    if method == "exact":
        method = "dense" if n <= DENSE_MAX_N else "sparse"
    return method


def _compute(edges, rates, n, method, need):
    """The internal result (resistances or max_resistance, lambda_2 and its lower end,
    lambda_max, record) for ``need`` in "all", "spectrum", "resistances", "chi_2"."""
    n = check_n(n, "graph")
    edges, lam = _check_values(edges, rates, n)
    method = _resolve(method, n)
    c = float(lam[0])
    uniform = c > 0 and bool(np.all(lam == c))
    key = _digest(n, method, edges, None if uniform else lam)
    known = _KNOWN.get(key)
    if known is None or not _covers(known, need):
        # connectivity depends on the edges and which rates are positive, both in the key
        _check_connected(edges, lam, n)
        fresh = _solve(edges, np.ones(len(edges)) if uniform else lam, n, method,
                       "all" if need == "record" else need)
        known = fresh if known is None else _merge(known, fresh)
        _KNOWN.pop(key, None)
        if len(_KNOWN) >= _KNOWN_MAX:
            _KNOWN.pop(next(iter(_KNOWN)))
        _KNOWN[key] = known
    return _scaled(known, c if uniform else 1.0)


def _merge(old, new):
    """``new`` with what only ``old`` has (another need of the same computation)."""
    out = dict(new)
    for key, value in old.items():
        if key != "record" and (out.get(key) is None or (isinstance(out[key], float)
                                                          and math.isnan(out[key]))):
            out[key] = value
    record = {**old["record"], **new["record"]}
    parts = [g for r in (old["record"], new["record"]) for g in r.get("guarantee", "").split("; ")
             if g and g != "exact"]
    record["guarantee"] = "; ".join(dict.fromkeys(parts)) or "exact"
    out["record"] = record
    return out


def _covers(out, need):
    have_spectrum = not math.isnan(out["lambda_2"])
    have_R = out.get("resistances") is not None
    have_max = not math.isnan(out["max_resistance"])
    return {"all": have_spectrum and have_max, "spectrum": have_spectrum,
            "resistances": have_R, "chi_2": have_max, "record": True}[need]


def _scaled(unit, c):
    """The result of rates c lambda from that of lambda: eigenvalues times c, resistances and
    chi's over c (the record's numbers too)."""
    out = dict(unit)
    out["record"] = _scale_record(unit["record"], c)
    for key in ("lambda_2", "lambda_2_lower", "lambda_max"):
        out[key] = unit[key] * c
    out["max_resistance"] = unit["max_resistance"] / c
    out["resistances"] = None if unit.get("resistances") is None else unit["resistances"] / c
    return out


_TIMES_C = {"lambda_2": ("ritz_value", "residual", "interval", "certain_lower_bound"),
            "lambda_max": ("ritz_value", "residual", "upper_bound")}


def _scale_record(record, c):
    out = {}
    for key, value in record.items():
        if isinstance(value, dict):
            value = dict(value)
            for field in _TIMES_C.get(key, ()):
                if field in value:
                    value[field] = _times(value[field], c)
            if "interval" in value and key not in _TIMES_C:
                value["interval"] = _times(value["interval"], 1.0 / c)
        elif key == "chi_1_interval":
            value = _times(value, 1.0 / c)
        out[key] = value
    return out


def _times(x, c):
    return [float(v) * c for v in x] if isinstance(x, (list, tuple)) else float(x) * c


def _check_values(edges, rates, n):
    """(edges, rates) as arrays, or the error naming what is wrong with them."""
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
    return edges, lam


def _check_connected(edges, lam, n):
    """GraphError (disconnected graph) or RateError (positive rates disconnected)."""
    on = lam > 0
    positive = edges if on.all() else edges[on]
    A = symmetric_csr(positive, np.ones(len(positive)), n)
    k, _ = scipy.sparse.csgraph.connected_components(A, directed=False)
    if k > 1:
        Aall = symmetric_csr(edges, np.ones(len(edges)), n)
        k_all, _ = scipy.sparse.csgraph.connected_components(Aall, directed=False)
        if k_all > 1:
            raise GraphError(f"graph is disconnected: {k_all} components (n = {n}); the "
                             f"constants are infinite")
        raise RateError(f"the rate Laplacian is disconnected (lambda_2 = 0): the edges with "
                        f"positive rate form {k} components; give a positive rate to edges "
                        f"joining them")


def _exact_record(method):
    return {"method": method, "exact": True}


def _finish(R, lambda_2, lambda_max, record, max_resistance=None, lambda_2_lower=None):
    return {"resistances": R,
            "max_resistance": (float(R.max()) if R is not None else math.nan)
            if max_resistance is None else max_resistance,
            "lambda_2": lambda_2, "lambda_2_lower": lambda_2 if lambda_2_lower is None
            else lambda_2_lower, "lambda_max": lambda_max, "record": record}


def _solve(edges, lam, n, method, need):
    if method == "dense":
        return _solve_dense(edges, lam, n)
    if method == "estimate":
        return _solve_estimate(edges, lam, n, need)
    return _solve_sparse(edges, lam, n, need != "resistances" and need != "chi_2")


def _solve_dense(edges, lam, n):
    # divide-and-conquer: about 3x faster than the default MRRR driver at n = 2000, as accurate
    w, V = scipy.linalg.eigh(laplacian(edges, n, lam).toarray(), driver="evd")
    # Connectivity was checked combinatorially, so exactly one eigenvalue (the first) is zero.
    Vp = V[:, 1:]
    Z = (Vp / w[1:]) @ Vp.T
    u, v = edges[:, 0], edges[:, 1]
    R = Z[u, u] + Z[v, v] - 2.0 * Z[u, v]
    return _finish(R, float(w[1]), float(w[-1]), _exact_record("dense"))


def _solve_sparse(edges, lam, n, want_spectrum):
    on = lam > 0
    Lam = laplacian(edges[on], n, lam[on]).tocsc()
    factor = None
    R = _closed_form_resistances(edges, lam, n)
    closed = R is not None
    if R is None:
        factor = _grounded_factor(Lam, n)
        R = _resistances_from_factor(factor, edges, n)
    lambda_2 = lambda_max = math.nan
    if want_spectrum and n <= 50:
        # ARPACK needs a Krylov space smaller than n; tiny graphs take the dense eigenvalues.
        w = scipy.linalg.eigvalsh(Lam.toarray())
        lambda_2, lambda_max = float(w[1]), float(w[-1])
    elif want_spectrum:
        known = _closed_form_extremes(edges, lam, n)
        if known is not None:
            lambda_2, lambda_max = known
        else:
            closed = False
            lu, keep = factor or _grounded_factor(Lam, n)
            lambda_2 = _lambda_2_sparse(lu, keep, n)
            lambda_max = _lambda_max_sparse(Lam)
    return _finish(R, lambda_2, lambda_max, _exact_record("closed form" if closed else "sparse"))


#: the certified bracket of max R_e is refined until its relative width is at most this
BRACKET_RTOL = 1e-5
#: above this many edges left after the cheap bounds, chi_2 comes from the random projection
BRACKET_MAX_CANDIDATES = 20_000


def _solve_estimate(edges, lam, n, need):
    """The estimate path (``rate_constants``, "estimate"); closed forms first."""
    R = _closed_form_resistances(edges, lam, n)
    known = _closed_form_extremes(edges, lam, n)
    want_spectrum = need in ("all", "spectrum")
    want_chi_2 = need in ("all", "chi_2", "resistances")
    if R is not None and (known is not None or not want_spectrum):
        lambda_2, lambda_max = known if known is not None else (math.nan, math.nan)
        return _finish(R, lambda_2, lambda_max, _exact_record("closed form"))
    on = lam > 0
    Lam = laplacian(edges[on], n, lam[on])
    pre = None
    record = {"method": "estimate", "exact": False}
    guarantees = []
    lambda_2 = lambda_2_lower = lambda_max = math.nan
    if want_spectrum and known is not None:
        lambda_2 = lambda_2_lower = known[0]
        lambda_max = known[1]
        record["lambda_2"] = {"method": "closed form"}
    elif want_spectrum:
        pre = iterative.Preconditioned(Lam)
        l2 = pre.lambda_2()
        lm = pre.lambda_max()
        certain = iterative.lambda_2_lower_bound(edges, lam, n)
        # an unconverged LOBPCG can leave theta - ||r|| below Mohar's certain bound, even <= 0
        lower = max(l2["lower"], certain)
        lambda_2, lambda_2_lower, lambda_max = l2["lambda_2"], lower, lm["lambda_max"]
        record["lambda_2"] = {"method": "lobpcg", "ritz_value": l2["lambda_2"],
                              "residual": l2["residual"], "interval": [lower, l2["lambda_2"]],
                              "certain_lower_bound": certain}
        record["lambda_max"] = {"method": "lanczos", "ritz_value": lm["lambda_max"],
                                "residual": lm["residual"], "upper_bound": lm["upper"]}
        record["chi_1_interval"] = [1.0 / l2["lambda_2"], 1.0 / lower]
        guarantees.append("chi_1 = 1/(theta - ||r||) from the LOBPCG Ritz pair (theta >= lambda_2 "
                          "always; lambda_2 >= theta - ||r|| when LOBPCG found lambda_2's "
                          "eigenvector, not certified)")
    max_resistance = math.nan
    if R is None and need == "resistances":
        pre = pre or iterative.Preconditioned(Lam)
        R, sk = sketch.sketch_resistances(edges, lam, n, pre=pre)
        record["resistances"] = {"method": "sketch", **sk}
        guarantees.append(f"resistances: lower_factor R <= R_true <= upper_factor R for every "
                          f"edge with probability >= {1 - sk['delta']:g} (random projection)")
        # max_resistance stays unknown: chi_2 has its own, tighter path (the bracket)
    elif R is None and want_chi_2:
        bracket = resistance_bounds.max_resistance_bracket(
            edges, lam, n, rtol=BRACKET_RTOL, max_candidates=BRACKET_MAX_CANDIDATES)
        if bracket is not None:
            max_resistance = bracket["upper"]
            record["chi_2"] = {"method": "bounds", **{k: bracket[k] for k in (
                "candidates", "refined", "hops", "ball_nodes", "converged")},
                "interval": [0.5 * float(bracket["lower"]), 0.5 * bracket["upper"]]}
            guarantees.append("chi_2 = the upper end of a certain bracket of max R_e "
                              "(Rayleigh monotonicity; no probability)")
        else:
            pre = pre or iterative.Preconditioned(Lam)
            Rs, sk = sketch.sketch_resistances(edges, lam, n, pre=pre)
            top = float(Rs.max())
            max_resistance = top * sk["upper_factor"]
            record["chi_2"] = {"method": "sketch", **sk,
                               "interval": [0.5 * top * sk["lower_factor"],
                                            0.5 * top * sk["upper_factor"]]}
            guarantees.append(f"chi_2 = the upper end of the random projection's interval: "
                              f"the true chi_2 is at most this with probability >= "
                              f"{1 - sk['delta']:g}")
    elif R is not None:
        record["chi_2"] = {"method": "closed form"}
        max_resistance = float(R.max())
    record["guarantee"] = "; ".join(guarantees) or "exact"
    return _finish(R, lambda_2, lambda_max, record, max_resistance=max_resistance,
                   lambda_2_lower=lambda_2_lower)


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
    """R_e in closed form on a tree or a cycle with positive rates (any labelling), or on a
    family with known resistances under uniform rates; None otherwise.

    With r_e = 1/lambda_e the resistance of edge e alone: in a (connected) tree every edge is a
    bridge, so R_e = r_e; in a cycle, edge e is in parallel with the path of the other edges,
    whose resistance is S - r_e with S = sum_f r_f, so R_e = r_e (S - r_e) / S. On a graph whose
    automorphisms map any edge to any other (complete, hypercube, square torus) with the same
    rate c everywhere, all R_e are equal, and Foster's theorem sum_e c R_e = n - 1 gives
    R_e = (n - 1) / (E c) (complete: 2/(n c)). Tori with rows != cols and grids with uniform
    rates: ``lattice_resistances`` (O(r + c) and O(r c min(r, c))). Connectivity was checked
    combinatorially before (``_check_connected``).
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
        if family is not None and family[0] in ("torus_2d", "grid_2d"):
            return lattice_resistances.lattice_edge_resistances(edges, *family) / float(lam[0])
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

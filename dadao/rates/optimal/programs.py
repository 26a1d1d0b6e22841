"""The semidefinite programs, built with CVXPY and solved by one cone solver.

Every LMI lives on 1-perp: with U an n x (n-1) orthonormal basis of 1-perp (:func:`haar_basis`),
M = U^T Lambda U and c_e = U^T b_e,

    "sdp":   minimise w @ lambda  s.t.  M >= s I,  [[X, I], [I, M]] >= 0,  c_e^T X c_e <= s,
    "relaxed": the same with M >= u I, c_e^T X c_e <= 2 t, 1/u + t <= sqrt(2)
             (chi_1 <= 1/u, chi_2 <= t, chi_1 + chi_2 <= sqrt(2)),
    "max-connectivity": maximise u  s.t.  M >= u I, w @ lambda = 1,

with lambda >= 0 and optionally |B| lambda <= caps. The weights w are the per-edge costs
normalised to mean 1 (:func:`dadao.rates.optimal.arguments.objective_weights`); without them
(weights=None) w @ lambda is sum(lambda), the total rate. "sdp-search" (:func:`sdp_search`)
solves "sdp" at fixed s along a golden-section search over log s.

:func:`solve_program` never raises for a solver's outcome: it returns the cvxpy status
("optimal", "optimal_inaccurate", "infeasible", "user_limit", ...), "solver_error" when the
solver gave up, or "time_limit" when a given time limit stopped it. Deciding what to do with an
outcome (use it, fall back, raise) is the caller's job.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from dadao import graphs
from dadao.rates.choices import theory_rates
from dadao.rates.optimal.solvers import solver_options

# cvxpy statuses that mean "stopped early" (a time limit given, and used up, turns them into
# "time_limit").
_STOPPED = ("user_limit", "optimal_inaccurate", "solver_error")


@dataclass
class ProgramSolution:
    """One solve: rates (None when the solver returned none; not verified), the status and
    numbers (objective, s, solver_time_s, iterations, seconds); detail: why it failed."""

    rates: np.ndarray | None
    status: str
    info: dict = field(default_factory=dict)
    detail: str = ""


def haar_basis(n: int) -> sp.csc_matrix:
    """An orthonormal basis of 1-perp in R^n, (n, n-1) sparse, from a binary split of 0..n-1.

    Column for a block [lo, hi) split at mid (sizes a, b): sqrt(b / (a (a + b))) on [lo, mid),
    -sqrt(a / (b (a + b))) on [mid, hi). Columns of nested or disjoint blocks are orthogonal, each
    sums to 0 and has norm 1; there are n - 1 of them (one per internal node of the split tree),
    and each b_e has at most 2 log2(n) nonzero coordinates in this basis.
    """
    rows, cols, vals = [], [], []
    stack, k = [(0, n)], 0
    while stack:
        lo, hi = stack.pop()
        if hi - lo < 2:
            continue
        mid = (lo + hi) // 2
        a, b = mid - lo, hi - mid
        rows.append(np.arange(lo, hi))
        cols.append(np.full(hi - lo, k))
        vals.append(np.r_[np.full(a, math.sqrt(b / (a * (a + b)))),
                          np.full(b, -math.sqrt(a / (b * (a + b))))])
        k += 1
        stack += [(lo, mid), (mid, hi)]
    return sp.csc_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                         shape=(n, n - 1))


def projected_incidence(e, n):
    """C = U^T B ((n-1) x E, column c_e = U^T b_e) and K with vec(M) = K lambda, M = U^T Lambda U.

    K[:, e] = vec(c_e c_e^T) (column-major); each c_e has O(log n) entries, so K is sparse.
    """
    E = len(e)
    m = n - 1
    B = sp.csc_matrix((np.r_[np.ones(E), -np.ones(E)], (e.T.ravel(), np.r_[np.arange(E),
                                                                             np.arange(E)])),
                      shape=(n, E))
    C = (haar_basis(n).T @ B).tocsc()
    C.data[np.abs(C.data) < 1e-14] = 0.0
    C.eliminate_zeros()
    rows, cols, vals = [], [], []
    for k in range(E):
        idx = C.indices[C.indptr[k]:C.indptr[k + 1]]
        val = C.data[C.indptr[k]:C.indptr[k + 1]]
        rows.append((idx[:, None] + m * idx[None, :]).ravel())
        cols.append(np.full(idx.size * idx.size, k))
        vals.append(np.outer(val, val).ravel())
    K = sp.csc_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                      shape=(m * m, E))
    return C, K


def incidence_abs(e, n) -> sp.csr_matrix:
    """|B|: (n, E), 1 where node i is an end of edge e; |B| lambda is the per-node rate."""
    E = len(e)
    return sp.csr_matrix((np.ones(2 * E), (e.T.ravel(), np.r_[np.arange(E), np.arange(E)])),
                         shape=(n, E))


def build_program(e, n, method, caps=None, s_fixed=None, weights=None):
    """The cvxpy Problem of ``method`` ("sdp", "relaxed" or "max-connectivity"; s_fixed: s of
    "sdp" held fixed; weights: w of the objective, None for sum(lambda)), with its rate variable
    and its s (a Variable, the fixed float, or None)."""
    import cvxpy as cp

    m = n - 1
    C, K = projected_incidence(e, n)
    lam = cp.Variable(len(e), nonneg=True)
    M = cp.reshape(K @ lam, (m, m), order="F")
    eye = sp.identity(m, format="csc")
    cons = []
    if caps is not None:
        cons.append(incidence_abs(e, n) @ lam <= caps)
    s = None
    weighted_total = cp.sum(lam) if weights is None else weights @ lam
    if method == "max-connectivity":
        u = cp.Variable()
        cons += [M - u * eye >> 0, weighted_total == 1]
        objective = cp.Maximize(u)
    else:
        X = cp.Variable((m, m), symmetric=True)
        Ct = C.T.tocsr()
        c_X_c = cp.sum(cp.multiply(Ct @ X, Ct.toarray()), axis=1)  # c_e^T X c_e for every e
        cons.append(cp.bmat([[X, eye.toarray()], [eye.toarray(), M]]) >> 0)
        objective = cp.Minimize(weighted_total)
        if method == "relaxed":
            u, t = cp.Variable(), cp.Variable()
            cons += [M - u * eye >> 0, c_X_c <= 2 * t, cp.inv_pos(u) + t <= math.sqrt(2.0)]
        else:
            s = cp.Variable() if s_fixed is None else float(s_fixed)
            cons += [M - s * eye >> 0, c_X_c <= s]
    return cp.Problem(objective, cons), lam, s


def solve_program(e, n, method, solver, caps=None, s_fixed=None, *,
                  time_limit_s: float | None = None, settings: dict | None = None,
                  weights=None) -> ProgramSolution:
    """Build and solve one program with ``solver``; see the module docstring for the statuses.

    settings: the solver's options (default solvers.SOLVER_SETTINGS[solver]); time_limit_s: the
    solver's own wall-clock limit for this solve; weights: see :func:`build_program`.
    """
    import cvxpy as cp

    t0 = time.perf_counter()
    problem, lam, s = build_program(e, n, method, caps, s_fixed, weights)
    opts = solver_options(solver, time_limit_s, settings)
    detail = ""
    try:
        with warnings.catch_warnings():
            # cvxpy warns on inaccurate solutions; the caller decides what a status means
            warnings.simplefilter("ignore", UserWarning)
            problem.solve(solver=solver.upper(), **opts)
        status = str(problem.status)
    except cp.error.SolverError as exc:
        status, detail = "solver_error", (str(exc).strip().splitlines() or ["?"])[0]
    seconds = time.perf_counter() - t0
    if status in _STOPPED and time_limit_s is not None and seconds >= 0.9 * time_limit_s:
        status, detail = "time_limit", f"stopped by its time limit of {time_limit_s:g} s"
    stats = getattr(problem, "solver_stats", None)
    info = {"seconds": seconds,
            "solver_time_s": _float(getattr(stats, "solve_time", None)),
            "iterations": getattr(stats, "num_iters", None)}
    value = problem.value
    if value is not None and np.isfinite(value):
        info["objective"] = float(value)
    if s is not None:
        info["s"] = float(s) if s_fixed is not None else _float(s.value)
    rates = None if lam.value is None else np.asarray(lam.value, dtype=np.float64)
    return ProgramSolution(rates, status, info, detail)


def _float(x) -> float:
    try:
        return float(x)
    except (TypeError, ValueError):
        return math.nan


def sdp_search(e, n, solver, caps=None, *, time_limit_s: float | None = None,
               settings: dict | None = None, rel_tol: float = 1e-4,
               weights=None) -> ProgramSolution:
    """Golden-section search over s of T(s) = min w @ lambda s.t. the LMIs of "sdp" at fixed s.

    T is convex in s (the feasible set is jointly convex in (lambda, s)), hence unimodal in
    log s, so golden section on log s finds its minimum. Theory-uniform rates u are feasible
    exactly at s_u = lambda_2(u) = R_max(u) = 1/chi_1(u) (they saturate the condition); the
    bracket is [s_u / 10, 10 s_u], [s_u / 100, 100 s_u] with weights (costs that differ from
    edge to edge move the optimal split of chi_1 and chi_2 further from the uniform one's). About
    24 solves (26 with weights) to a bracket of rel_tol in log s. Points
    where the solve is infeasible (caps) or inaccurate (far from the optimum, badly scaled)
    rank last; a solver error stops the search ("solver_error"); no usable point is
    "infeasible" when every point was, else "search_failed", as is a minimum on the edge of
    the bracket. time_limit_s bounds the whole search ("time_limit").
    """
    t0 = time.perf_counter()
    uni = theory_rates(e, n)
    c = graphs.rate_constants(e, uni, n)
    centre = math.sqrt(2.0 * c["chi_2"] / c["chi_1"])  # = 1/chi_1 = 2 chi_2 for uniform rates
    width = 10.0 if weights is None else 100.0
    lo, hi = math.log(centre / width), math.log(centre * width)
    points, statuses = {}, {}

    class Stop(Exception):
        def __init__(self, solution):
            self.solution = solution

    def total(log_s):
        if log_s not in points:
            left = None
            if time_limit_s is not None:
                left = time_limit_s - (time.perf_counter() - t0)
                if left <= 0:
                    raise Stop(ProgramSolution(None, "time_limit", {}, "stopped by its time "
                                               f"limit of {time_limit_s:g} s"))
            sol = solve_program(e, n, "sdp", solver, caps, math.exp(log_s), time_limit_s=left,
                                settings=settings, weights=weights)
            statuses[sol.status] = statuses.get(sol.status, 0) + 1
            if sol.status in ("solver_error", "time_limit"):
                raise Stop(sol)
            ok = sol.status == "optimal" and "objective" in sol.info and sol.rates is not None
            points[log_s] = (sol.info["objective"], sol.rates) if ok else (math.inf, None)
        return points[log_s][0]

    g = (math.sqrt(5.0) - 1.0) / 2.0
    a, b = lo, hi
    x1, x2 = b - g * (b - a), a + g * (b - a)
    try:
        while b - a > rel_tol:
            if total(x1) <= total(x2):
                b, x2 = x2, x1
                x1 = b - g * (b - a)
            else:
                a, x1 = x1, x2
                x2 = a + g * (b - a)
    except Stop as stop:
        sol = stop.solution
        sol.info = {**sol.info, "seconds": time.perf_counter() - t0, "solves": len(points) + 1}
        return sol
    best = min(points, key=lambda k: points[k][0])
    info = {"seconds": time.perf_counter() - t0, "solves": len(points),
            "unusable_points": sum(v[1] is None for v in points.values()),
            "statuses": statuses,
            "search": sorted((math.exp(k), v[0]) for k, v in points.items())}
    bracket = f"[{math.exp(lo):.3g}, {math.exp(hi):.3g}]"
    if points[best][1] is None:
        status = "infeasible" if set(statuses) == {"infeasible"} else "search_failed"
        return ProgramSolution(None, status, info, f"no usable s in {bracket}: "
                               + ", ".join(f"{v} {k}" for k, v in sorted(statuses.items())))
    info.update(s=math.exp(best), objective=points[best][0])
    if min(best - lo, hi - best) < 2 * rel_tol:
        return ProgramSolution(None, "search_failed", info,
                               f"the minimum lies on the edge of the bracket s in {bracket}")
    return ProgramSolution(points[best][1], "optimal", info)

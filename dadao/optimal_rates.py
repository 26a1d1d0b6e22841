"""Optimal per-edge gossip rates: the least total rate that meets DADAO's rate condition.

Problem (algorithms.md, section 6). Over rates lambda_e >= 0 (edge_array order), with
Lambda = sum_e lambda_e b_e b_e^T,

    minimise  sum_e lambda_e   (expected communications per unit time; time in expected
                                gradient steps per node)
    subject to chi_1[Lambda] chi_2[Lambda] <= 1/2,
               optionally sum_{e at i} lambda_e <= cap_i at every node i.

chi_1 chi_2 <= 1/2 holds iff some s > 0 has chi_1 <= 1/s and chi_2 <= s/2 (take s = 1/chi_1), i.e.

    lambda_2(Lambda) >= s                      (LMI 1)
    b_e^T Lambda^+ b_e <= s  for every edge    (LMI 2, with one auxiliary matrix X)

Both are linear in (lambda, s) jointly, so the "two-LMI program with a one-dimensional search
over s" of the issue is one SDP with s as a variable ("sdp"). The search itself is kept as
"sdp-search" (golden section over s of the program at fixed s, which is convex in s): it
checks the joint program and shows the objective as a function of the chi_1/chi_2 split.

Slater's condition. The textbook form Lambda + (s/n) 11^T >= s I is singular along the all-ones
vector for every feasible point, so it has no strictly feasible point and interior-point solvers
stop at "optimal_inaccurate". Here every LMI lives on 1-perp: with U an n x (n-1) orthonormal
basis of 1-perp, M = U^T Lambda U, c_e = U^T b_e,

    M >= s I                                   (lambda_2(Lambda) >= s)
    [[X, I], [I, M]] >= 0,  c_e^T X c_e <= s   (X >= M^{-1}, so b_e^T Lambda^+ b_e <= s)

and both have strictly feasible points. One 2(n-1) x 2(n-1) LMI with |E| linear constraints
replaces |E| separate (n x n) LMIs. U is a Haar basis (blocks of a binary split of 0..n-1): it is
orthonormal and sparse, so each c_e has at most 2 log2(n) entries and M(lambda) is cheap to
write down.

Other methods, for comparison:

- "relaxed": the single SDP with chi_1 + chi_2 <= sqrt(2) (AM-GM gives chi_1 chi_2 <= 1/2), with
  epigraph variables u <= lambda_2 and t >= chi_2, 1/u + t <= sqrt(2). It fixes the split
  chi_1 = chi_2 the AM-GM bound favours, while chi_2 <= chi_1 always, so it is not optimal.
- "max-connectivity": Boyd-Diaconis-Parrilo-Xiao's classical problem, maximise lambda_2(Lambda)
  at total rate 1, then rescale to meet the condition.
- "first-order": no cone solver; L-BFGS on log-rates of the smoothed, scale-invariant total
  rate sum(lambda) sqrt(2 chi_1 chi_2) (see ``_first_order``); n = 2048 in a few minutes.

Findings (simulations/bench_optimal_rates.py, docs/optimal_rates.md): the optimum equals the
theory-uniform total on edge-transitive graphs (symmetry) and on paths (no saving found, by both
the SDP and the first-order method); it saves 74% on the barbell of two 8-cliques, 39% on a star
of four 4-cliques, 5% on the 4x4 grid and 10% on the 8x8 grid, 96% on the barbell of two
32-cliques; on random geometric graphs 48% (n = 16), 53-60% (n = 32, seeds 0-2), 58% (n = 64). The rescaled optimum's chi_1/chi_2 split differs from uniform rates', so
"relaxed" (AM-GM, chi_1 = chi_2 favoured) and "max-connectivity" (chi_2 ignored) are worse.

Every result is verified independently of the solver (:func:`verify_rates`): negative rates are
refused (tiny solver round-off is clipped), chi_1 and chi_2 are recomputed exactly
(:func:`dadao.graphs.rate_constants`), the rates are rescaled by sqrt(2 chi_1 chi_2) so that the
condition is met exactly (that factor is <= 1 for a feasible solution, so caps still hold), and
the condition is checked again to 1e-6. Solver failures and inaccurate statuses raise
:class:`OptimalRatesError`; they are never used silently.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import os
import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import scipy.linalg
import scipy.optimize
import scipy.sparse as sp
import scipy.sparse.linalg

from dadao import graphs
from dadao.atomic import write_atomic
from dadao import rates as rates_mod

__all__ = [
    "OptimalRatesError",
    "OptimalRates",
    "METHODS",
    "SOLVERS",
    "optimal_rates",
    "verify_rates",
    "available_solvers",
    "write_rates_csv",
    "rates_cache_dir",
]

METHODS = ("sdp", "sdp-search", "relaxed", "max-connectivity", "first-order")
SOLVERS = ("scs", "clarabel", "mosek")

# The condition must hold to this relative tolerance after the final rescaling (issue #5).
CONDITION_TOL = 1e-6
# Node caps hold to this relative tolerance (the solver meets them to its own accuracy).
CAP_TOL = 1e-4
# A solution of the exact program may not be worse than theory-uniform rates by more than this
# (uniform rates are feasible, so a worse "optimum" means an inaccurate solve).
UNIFORM_TOL = 1e-3
# Version of the formulations: part of the cache key, bump it when a program changes.
_FORMULATION = "1"


class OptimalRatesError(ValueError):
    """Optimal rates cannot be computed or trusted (message: one line, printable as is)."""


@dataclass(frozen=True)
class OptimalRates:
    """A verified rate vector and how it was obtained.

    rates: float64 (E,), edge_array order, rescaled so that chi_1 chi_2 = 1/2 (to rounding).
    total: sum of rates (communications per unit time). uniform_total: the same for DADAO's
    theory-scaled uniform rates. saving = 1 - total / uniform_total. chi_1, chi_2, product:
    recomputed from the final rates by eigendecomposition; uniform_chi_1, uniform_chi_2: those
    of the theory-uniform rates (their product is 1/2 too). status: the solver's status
    ("optimal"), or for "first-order" how it stopped. solve_time_s: wall time of the solve (or of
    the first solve, for a cached result). verified: True (unverified results are never
    returned). info: method-specific numbers (s, iterations, search points, ...).
    """

    rates: np.ndarray
    total: float
    chi_1: float
    chi_2: float
    product: float
    uniform_total: float
    saving: float
    method: str
    solver: str
    status: str
    solve_time_s: float
    verified: bool
    uniform_chi_1: float = math.nan
    uniform_chi_2: float = math.nan
    from_cache: bool = False
    info: dict | None = None

    def summary(self) -> dict:
        """Everything but the rate vector, as JSON-ready numbers and strings."""
        d = asdict(self)
        d.pop("rates")
        d["n_edges"] = len(self.rates)
        return d


# --------------------------------------------------------------------------------------------
# Public entry point


def optimal_rates(edges, n: int, *, method: str = "sdp", solver: str | None = None,
                  node_caps=None, cache: bool = True, max_iter: int | None = None,
                  time_limit_s: float | None = None) -> OptimalRates:
    """Rates of least total meeting chi_1 chi_2 <= 1/2 (and node caps), verified; see module doc.

    edges: (E, 2) array in dadao.graphs.edge_array order; n: number of nodes.
    method: one of METHODS. solver: "scs" (default for the SDP methods), "clarabel" (interior
    point, high accuracy, small graphs) or "mosek" (when installed); must be None for
    "first-order". node_caps: None, a number (same cap at every node) or an (n,) array of
    per-node caps on sum_{e at i} lambda_e, in communications per unit time; not supported by
    "max-connectivity" and "first-order" (their rescaling step can raise any rate).
    cache: reuse a result stored under :func:`rates_cache_dir` for the same (n, edges, method,
    solver, caps) and store new ones; a cached result is verified again. max_iter,
    time_limit_s: limits of the "first-order" method (defaults 400 L-BFGS iterations, 600 s).

    Raises OptimalRatesError (a ValueError) for a bad argument, a solver failure, an inaccurate
    or infeasible status, or a solution that fails verification.
    """
    e = _check_edges(edges, n)
    method = _check_method(method)
    solver = _check_solver(solver, method)
    caps = _check_caps(node_caps, n, method)
    for name, value in (("max_iter", max_iter), ("time_limit_s", time_limit_s)):
        if value is not None and method != "first-order":
            raise OptimalRatesError(f"{name}: applies to method 'first-order' only; got method "
                                    f"{method!r}")
        if value is not None and not (isinstance(value, (int, float)) and value > 0):
            raise OptimalRatesError(f"{name}: must be a number > 0; got {value!r}")
    limits = (max_iter, time_limit_s) if method == "first-order" else None
    key = _cache_key(e, n, method, solver, caps, limits)
    if cache:
        hit = _cache_load(key, e, n, caps)
        if hit is not None:
            return hit

    uniform = rates_mod.theory_rates(e, n)
    uniform_cond = rates_mod.check_rate_condition(e, uniform, n)  # remembered by theory_rates
    uniform_total = float(uniform.sum())
    t0 = time.perf_counter()
    if method == "first-order":
        raw, status, info = _first_order(e, n, max_iter=400 if max_iter is None else max_iter,
                                         time_limit_s=600.0 if time_limit_s is None
                                         else time_limit_s)
    elif method == "sdp-search":
        raw, status, info = _sdp_search(e, n, solver, caps)
    else:
        raw, status, info = _solve_program(e, n, method, solver, caps, s_fixed=None)
    solve_time = time.perf_counter() - t0

    lam, cond = verify_rates(e, raw, n, node_caps=caps)
    result = OptimalRates(
        rates=lam, total=cond.total, chi_1=cond.chi_1, chi_2=cond.chi_2, product=cond.product,
        uniform_total=uniform_total, saving=1.0 - cond.total / uniform_total, method=method,
        solver=solver, status=status, solve_time_s=solve_time, verified=True,
        uniform_chi_1=uniform_cond.chi_1, uniform_chi_2=uniform_cond.chi_2, info=info)
    if method in ("sdp", "sdp-search") and caps is None \
            and result.total > uniform_total * (1.0 + UNIFORM_TOL):
        raise OptimalRatesError(
            f"{method} with solver {solver}: verified total rate {result.total:.6g} exceeds the "
            f"theory-uniform total {uniform_total:.6g}, so the solve was inaccurate; try "
            f"solver='clarabel' or 'mosek'")
    if cache:
        _cache_store(key, result)
    return result


def verify_rates(edges, rates, n: int, *, node_caps=None, rescale: bool = True):
    """Check and rescale solver rates; return (rates, RateCondition) meeting the condition.

    Independent of any solver: rates below -1e-6 max(rates) are refused, smaller negative
    round-off is set to 0; chi_1 and chi_2 are recomputed by :func:`graphs.rate_constants`;
    the rates are multiplied by sqrt(2 chi_1 chi_2) (1 + 1e-9), so that chi_1 chi_2 = 1/2
    just inside DADAO's run-time check; the condition is recomputed from the final rates and must
    hold to CONDITION_TOL; node caps must hold to CAP_TOL. rescale=False checks final rates
    (from the cache) as they are. Raises OptimalRatesError.
    """
    e = _check_edges(edges, n)
    lam = np.array(rates, dtype=np.float64).ravel()
    if lam.shape != (len(e),):
        raise OptimalRatesError(f"rates: expected {len(e)} values (one per edge); got "
                                f"{lam.size}")
    if not np.all(np.isfinite(lam)):
        raise OptimalRatesError("rates: the solver returned non-finite rates")
    top = float(lam.max())
    if top <= 0:
        raise OptimalRatesError("rates: the solver returned no positive rate")
    if lam.min() < -1e-6 * top:
        k = int(np.argmin(lam))
        raise OptimalRatesError(f"rates: edge ({e[k, 0]}, {e[k, 1]}) has negative rate "
                                f"{lam[k]:.3g} (largest rate {top:.3g})")
    lam = np.maximum(lam, 0.0)
    try:
        if rescale:
            c = graphs.rate_constants(e, lam, n)
            lam = lam * (math.sqrt(2.0 * c["chi_1"] * c["chi_2"]) * (1.0 + 1e-9))
        cond = rates_mod.check_rate_condition(e, lam, n)
    except ValueError as exc:
        raise OptimalRatesError(f"rates: verification failed: {exc}") from None
    if not (lam.min() >= 0 and cond.product <= 0.5 * (1.0 + CONDITION_TOL) and cond.satisfied):
        raise OptimalRatesError(f"rates: verification failed after rescaling: {cond.describe()}")
    if node_caps is not None:
        caps = _check_caps(node_caps, n, "sdp")
        load = _node_load(e, lam, n)
        over = load > caps * (1.0 + CAP_TOL)
        if over.any():
            i = int(np.argmax(load / caps))
            raise OptimalRatesError(f"node_caps: node {i} communicates at rate {load[i]:.6g} "
                                    f"above its cap {caps[i]:.6g} after verification")
    return lam, cond


def available_solvers() -> tuple:
    """The SOLVERS that cvxpy can use here (MOSEK only when installed and licensed)."""
    try:
        import cvxpy as cp
    except ImportError:
        return ()
    installed = set(cp.installed_solvers())
    return tuple(s for s in SOLVERS if s.upper() in installed)


def write_rates_csv(path, edges, rates) -> None:
    """Write ``u,v,rate`` rows (edge_array order), readable by dadao.rates.load_rates_csv.

    Rates are written with repr (exact round trip); the file is replaced atomically.
    """
    e = np.asarray(edges, dtype=np.int64)
    lam = np.asarray(rates, dtype=np.float64)
    if lam.shape != (len(e),):
        raise OptimalRatesError(f"rates: expected {len(e)} values (one per edge); got "
                                f"shape {lam.shape}")
    buf = io.StringIO(newline="")
    writer = csv.writer(buf)
    writer.writerow(["u", "v", "rate"])
    for (u, v), r in zip(e.tolist(), lam.tolist()):
        writer.writerow([u, v, repr(float(r))])
    write_atomic(path, buf.getvalue())


def rates_cache_dir() -> Path:
    """$DADAO_CACHE_DIR/optimal_rates if set, else ~/.cache/dadao/optimal_rates."""
    root = os.environ.get("DADAO_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache",
                                                              "dadao")
    return Path(root) / "optimal_rates"


# --------------------------------------------------------------------------------------------
# Argument checks


def _check_edges(edges, n) -> np.ndarray:
    try:
        e = rates_mod._edges(edges)
        graphs._check_n(n, "graph")
    except ValueError as exc:
        raise OptimalRatesError(str(exc)) from None
    if e.min() < 0 or e.max() >= n:
        raise OptimalRatesError(f"edges: endpoints must lie in 0..{n - 1}; got "
                                f"{e.min()}..{e.max()}")
    return e


def _check_method(method) -> str:
    if method not in METHODS:
        raise OptimalRatesError(f"method: unknown method {method!r}; allowed: "
                                f"{', '.join(METHODS)}")
    return method


def _check_solver(solver, method) -> str:
    if method == "first-order":
        if solver not in (None, "none"):
            raise OptimalRatesError(f"solver: method 'first-order' uses no cone solver; got "
                                    f"solver {solver!r}")
        return "none"
    solver = "scs" if solver is None else str(solver).lower()
    if solver not in SOLVERS:
        raise OptimalRatesError(f"solver: unknown solver {solver!r}; allowed: "
                                f"{', '.join(SOLVERS)}")
    if solver not in available_solvers():
        raise OptimalRatesError(f"solver: {solver} is not installed (available: "
                                f"{', '.join(available_solvers()) or 'none'})")
    return solver


def _check_caps(node_caps, n, method):
    if node_caps is None:
        return None
    if method in ("max-connectivity", "first-order"):
        raise OptimalRatesError(f"node_caps: not supported by method {method!r} (use 'sdp', "
                                f"'sdp-search' or 'relaxed')")
    caps = np.asarray(node_caps, dtype=np.float64)
    if caps.ndim == 0:
        caps = np.full(n, float(caps))
    if caps.shape != (n,) or not np.all(np.isfinite(caps)) or caps.min() <= 0:
        raise OptimalRatesError(f"node_caps: expected a number > 0 or {n} finite numbers > 0")
    return caps


def _node_load(e, lam, n) -> np.ndarray:
    """sum_{e at i} lambda_e for every node i (communications per unit time at node i)."""
    return np.bincount(e[:, 0], lam, minlength=n) + np.bincount(e[:, 1], lam, minlength=n)


# --------------------------------------------------------------------------------------------
# The SDPs


def haar_basis(n: int) -> sp.csc_matrix:
    """An orthonormal basis of 1-perp in R^n, (n, n-1) sparse, from a binary split of 0..n-1.

    Column for a block [lo, hi) split at mid (sizes a, b): sqrt(b / (a (a + b))) on [lo, mid),
    -sqrt(a / (b (a + b))) on [mid, hi). Columns of nested or disjoint blocks are orthogonal, each
    sums to 0 and has norm 1; there are n - 1 of them (one per internal node of the split tree).
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


def _projected_incidence(e, n):
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


def _solve_program(e, n, method, solver, caps, s_fixed):
    """Build and solve one SDP; return (rates, status, info). s_fixed: the s of "sdp-search"."""
    import cvxpy as cp

    E, m = len(e), n - 1
    C, K = _projected_incidence(e, n)
    lam = cp.Variable(E, nonneg=True)
    M = cp.reshape(K @ lam, (m, m), order="F")
    eye = sp.identity(m, format="csc")
    cons = []
    if caps is not None:
        cons.append(_incidence_abs(e, n) @ lam <= caps)
    s = None
    if method == "max-connectivity":
        # Boyd et al.: maximise lambda_2 at unit total rate.
        u = cp.Variable()
        cons += [M - u * eye >> 0, cp.sum(lam) == 1]
        objective = cp.Maximize(u)
    else:
        X = cp.Variable((m, m), symmetric=True)
        Ct = C.T.tocsr()
        c_X_c = cp.sum(cp.multiply(Ct @ X, Ct.toarray()), axis=1)  # c_e^T X c_e for every e
        cons.append(cp.bmat([[X, eye.toarray()], [eye.toarray(), M]]) >> 0)
        objective = cp.Minimize(cp.sum(lam))
        if method == "relaxed":
            u, t = cp.Variable(), cp.Variable()
            # u <= lambda_2 (chi_1 <= 1/u), chi_2 <= t, chi_1 + chi_2 <= 1/u + t <= sqrt(2)
            cons += [M - u * eye >> 0, c_X_c <= 2 * t, cp.inv_pos(u) + t <= math.sqrt(2.0)]
        else:
            s = cp.Variable() if s_fixed is None else s_fixed
            cons += [M - s * eye >> 0, c_X_c <= s]
    problem = cp.Problem(objective, cons)
    try:
        with warnings.catch_warnings():
            # cvxpy warns on inaccurate solutions; the status check below raises instead
            warnings.simplefilter("ignore", UserWarning)
            problem.solve(solver=solver.upper(), **_SOLVER_OPTIONS[solver])
    except cp.error.SolverError as exc:
        raise OptimalRatesError(f"solver {solver} failed on method {method!r} (n = {n}, "
                                f"E = {E}): {str(exc).splitlines()[0]}") from None
    status = problem.status
    if status != cp.OPTIMAL:
        others = [f"solver='{x}'" for x in available_solvers() if x != solver]
        hint = {cp.OPTIMAL_INACCURATE: "inaccurate solution, not used; try "
                                       + " or ".join(others + ["method='first-order'"]),
                cp.INFEASIBLE: "infeasible: the node caps are too low to meet the condition"}
        raise OptimalRatesError(f"solver {solver} on method {method!r} (n = {n}, E = {E}): "
                                f"status {status}: {hint.get(status, 'no usable solution')}")
    info = {"objective": float(problem.value), "solver_time_s": _solver_time(problem)}
    if s is not None:
        info["s"] = float(s.value) if s_fixed is None else float(s_fixed)
    return np.asarray(lam.value, dtype=np.float64), status, info


# Accuracy settings: SCS's default eps (1e-4) gives savings off in the third digit.
_SOLVER_OPTIONS = {
    "scs": dict(eps_abs=1e-7, eps_rel=1e-7, max_iters=200_000),
    "clarabel": {},
    "mosek": {},
}


def _solver_time(problem) -> float:
    t = getattr(problem.solver_stats, "solve_time", None)
    return float(t) if t is not None else float("nan")


def _incidence_abs(e, n) -> sp.csr_matrix:
    """|B|: (n, E), 1 where node i is an end of edge e; |B| lambda is the per-node rate."""
    E = len(e)
    return sp.csr_matrix((np.ones(2 * E), (e.T.ravel(), np.r_[np.arange(E), np.arange(E)])),
                         shape=(n, E))


def _sdp_search(e, n, solver, caps, rel_tol=1e-4):
    """Golden-section search over s of T(s) = min sum(lambda) s.t. LMI 1 and 2 at fixed s.

    T is convex in s (the feasible set is jointly convex in (lambda, s)), hence unimodal in
    log s, so golden section on log s finds its minimum. Theory-uniform rates u are feasible
    exactly at s_u = lambda_2(u) = R_max(u) = 1/chi_1(u) (they saturate the condition); the
    bracket is [s_u / 10, 10 s_u], and a minimum on its edge raises OptimalRatesError rather
    than being returned. About 24 solves to a bracket of 1e-4 in log s.
    """
    uni = rates_mod.theory_rates(e, n)
    c = graphs.rate_constants(e, uni, n)
    centre = math.sqrt(2.0 * c["chi_2"] / c["chi_1"])  # = 1/chi_1 = 2 chi_2 for uniform rates
    lo, hi = math.log(centre / 10.0), math.log(centre * 10.0)
    points = {}

    def total(log_s):
        if log_s not in points:
            try:
                lam, _, info = _solve_program(e, n, "sdp", solver, caps, math.exp(log_s))
                points[log_s] = (info["objective"], lam)
            except OptimalRatesError as exc:
                # Far from the optimum s the program can be infeasible (caps) or badly scaled
                # (inaccurate); such a point is never used, only ranked last.
                if "infeasible" not in str(exc) and "inaccurate" not in str(exc):
                    raise
                points[log_s] = (math.inf, None)
        return points[log_s][0]

    g = (math.sqrt(5.0) - 1.0) / 2.0
    a, b = lo, hi
    x1, x2 = b - g * (b - a), a + g * (b - a)
    while b - a > rel_tol:
        if total(x1) <= total(x2):
            b, x2 = x2, x1
            x1 = b - g * (b - a)
        else:
            a, x1 = x1, x2
            x2 = a + g * (b - a)
    best = min(points, key=lambda k: points[k][0])
    if points[best][1] is None:
        raise OptimalRatesError(f"sdp-search: no feasible s in [{math.exp(lo):.3g}, "
                                f"{math.exp(hi):.3g}]; the node caps may be too low")
    if min(best - lo, hi - best) < 2 * rel_tol:
        raise OptimalRatesError(f"sdp-search: the minimum lies on the edge of the bracket "
                                f"s in [{math.exp(lo):.3g}, {math.exp(hi):.3g}]")
    info = {"s": math.exp(best), "objective": points[best][0], "solves": len(points),
            "unusable_points": sum(v[1] is None for v in points.values()),
            "search": sorted((math.exp(k), v[0]) for k, v in points.items())}
    return points[best][1], "optimal", info


# --------------------------------------------------------------------------------------------
# First-order method


# Up to this many nodes the first-order method takes a dense eigendecomposition per evaluation;
# above it, a sparse LU of the grounded Laplacian, LOBPCG and sparse triangular solves.
FIRST_ORDER_DENSE_MAX_N = 400
# Continuation on the smoothing exponent p, and the number of the largest resistances and of the
# smallest eigenvalues kept in the smoothed max and min.
_P_SCHEDULE = (16.0, 64.0, 256.0, 1024.0)
_ACTIVE_EDGES = 512
_EIGENPAIRS = 8


def _first_order(e, n, *, max_iter, time_limit_s):
    """Gradient descent on log-rates of a smoothed log T(lambda); no cone solver.

    T(lambda) = sum(lambda) sqrt(2 chi_1 chi_2) is the total rate after the final rescaling; it is
    scale invariant and quasi-convex (its sublevel sets are the cones over the convex set
    {chi_1 chi_2 <= 1/2, sum <= t}), so descent has no spurious local minima. The max and min
    inside chi_1 and chi_2 are smoothed by p-norms,

        chi_1 ~ (sum_{i <= k} lambda_i^{-p})^{1/p}   (k smallest positive eigenvalues of Lambda)
        chi_2 ~ (1/2) (sum_{f in A} R_f^p)^{1/p}      (A: the edges of largest resistance),

    with the exact derivatives d lambda_i / d lambda_e = (v_i[u] - v_i[v])^2 and
    d R_f / d lambda_e = -((Lambda^+ b_f)[u] - (Lambda^+ b_f)[v])^2 for e = (u, v). It is
    minimised over y = log(lambda) (multiplicative updates keep rates positive) by L-BFGS
    (scipy), with p = 16, 64, 256, 1024 in turn, each stage warm-started from the last and
    given max_iter / 4 iterations. The iterate of least exact T is returned (verification then
    rescales it). Cost per evaluation: up to FIRST_ORDER_DENSE_MAX_N nodes one dense eigh;
    above, every R_e by the sparse elimination-tree kernel of graphs.effective_resistances,
    a dense Cholesky factor of the grounded Laplacian for the solves Lambda^+ b_f of the
    active edges and as the preconditioner of LOBPCG (warm-started from the previous
    eigenvectors). SuperLU's many-right-hand-side solves took 0.33 s per call at n = 1024
    here, the dense factor and solve 0.13 s per whole evaluation (random geometric, n = 1024),
    0.32 s at n = 2048; memory is O(n^2), 32 MB at n = 2048.
    """
    t_start = time.perf_counter()
    oracle = _SpectralOracle(e, n)
    E = len(e)
    y = np.full(E, -math.log(E))  # theory-uniform direction
    best = {"T": math.inf, "lam": None}
    counts = {"evaluations": 0, "iterations": 0}
    per_stage = max(20, max_iter // len(_P_SCHEDULE))
    status = "converged"

    def fun(y, p):
        lam = np.exp(y - y.max())
        out = oracle.evaluate(lam, p)
        counts["evaluations"] += 1
        if out["T"] < best["T"]:
            best["T"], best["lam"] = out["T"], lam / lam.sum()
        return out["F"], out["grad"]

    def callback(intermediate_result):
        counts["iterations"] += 1
        if time.perf_counter() - t_start > time_limit_s or counts["iterations"] >= max_iter:
            raise StopIteration

    for p in _P_SCHEDULE:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # LOBPCG's "tolerance not reached"
            res = scipy.optimize.minimize(fun, y, args=(p,), jac=True, method="L-BFGS-B",
                                          callback=callback,
                                          options=dict(maxiter=per_stage, ftol=1e-12,
                                                       gtol=1e-9, maxcor=20))
        y = res.x - res.x.max()
        if time.perf_counter() - t_start > time_limit_s:
            status = "time_limit"
            break
        if counts["iterations"] >= max_iter:
            status = "max_iter"
            break
    if status == "converged" and res.nit >= per_stage:
        status = "max_iter"  # the last stage used its whole share
    info = {"iterations": counts["iterations"], "evaluations": counts["evaluations"],
            "final_p": p, "backend": oracle.backend}
    return best["lam"], status, info


class _SpectralOracle:
    """chi's, the smoothed objective and its gradient in log-rates, for one graph."""

    def __init__(self, e, n):
        self.e, self.n = e, n
        self.u, self.v = e[:, 0], e[:, 1]
        self.backend = "eigh" if n <= FIRST_ORDER_DENSE_MAX_N else "cholesky"
        self.k = max(1, min(_EIGENPAIRS, n - 2 if self.backend == "eigh" else n // 5))
        self._V = None  # warm start of LOBPCG

    def evaluate(self, lam, p):
        total = float(lam.sum())
        if self.backend == "eigh":
            w, V, R, solve = self._eigh(lam)
        else:
            w, V, R, solve = self._cholesky(lam)
        # chi_1 ~ p-norm of 1/lambda_i over the k smallest positive eigenvalues
        inv = 1.0 / w
        a = p * np.log(inv / inv.max())
        omega = np.exp(a - a.max())
        omega /= omega.sum()
        log_chi1 = math.log(inv.max()) + (math.log(np.exp(a).sum())) / p
        d = V[self.u] - V[self.v]  # (E, k)
        g_chi1 = -(d * d) @ (omega * inv)
        # chi_2 ~ p-norm of the largest resistances
        A = np.argsort(R)[-min(len(R), _ACTIVE_EDGES):]
        RA = R[A]
        b = p * np.log(RA / RA.max())
        wts = np.exp(b - b.max())
        wts /= wts.sum()
        log_chi2 = math.log(0.5 * RA.max()) + math.log(np.exp(b).sum()) / p
        Q = solve(A)  # (n, |A|): Lambda^+ b_f for the active edges
        g_chi2 = np.zeros(len(lam))
        coef = wts / RA
        for lo in range(0, len(lam), 4096):
            q = Q[self.u[lo:lo + 4096]] - Q[self.v[lo:lo + 4096]]
            g_chi2[lo:lo + 4096] = -(q * q) @ coef
        F = math.log(total) + 0.5 * (math.log(2.0) + log_chi1 + log_chi2)
        grad = lam * (1.0 / total + 0.5 * g_chi1 + 0.5 * g_chi2)
        T = total * math.sqrt(2.0 * (1.0 / w[0]) * 0.5 * R.max())
        return {"F": F, "grad": grad, "T": T}

    def _eigh(self, lam):
        w, V = scipy.linalg.eigh(graphs.laplacian(self.e, self.n, lam).toarray(), driver="evd")
        Vp = V[:, 1:]
        Z = (Vp / w[1:]) @ Vp.T
        R = Z[self.u, self.u] + Z[self.v, self.v] - 2.0 * Z[self.u, self.v]

        def solve(A):
            return Z[:, self.u[A]] - Z[:, self.v[A]]

        return w[1:1 + self.k], V[:, 1:1 + self.k], R, solve

    def _cholesky(self, lam):
        n = self.n
        Lam = graphs.laplacian(self.e, n, lam)
        # Ground at node n-1: for x orthogonal to 1, Lambda z = x has the solution z_g with
        # z_{n-1} = 0, z_g = Lambda_g^{-1} x_g; centring gives Lambda^+ x.
        factor = scipy.linalg.cho_factor(Lam[:-1, :-1].toarray(), lower=True,
                                         check_finite=False)

        def pinv(X):
            X = np.asarray(X).reshape(n, -1)
            X = X - X.mean(axis=0)
            Z = np.zeros_like(X)
            Z[:-1] = scipy.linalg.cho_solve(factor, X[:-1], check_finite=False)
            return Z - Z.mean(axis=0)

        R = graphs.effective_resistances(self.e, lam, n, method="sparse")
        X0 = self._V
        if X0 is None:
            X0 = np.random.default_rng(0).standard_normal((n, self.k))
        precond = scipy.sparse.linalg.LinearOperator((n, n), matvec=pinv, matmat=pinv,
                                                     dtype=np.float64)
        w, V = scipy.sparse.linalg.lobpcg(Lam, X0, M=precond, Y=np.ones((n, 1)),
                                          largest=False, tol=1e-7, maxiter=100)
        order = np.argsort(w)
        w, V = w[order], V[:, order]
        self._V = V

        def solve(A):
            B = np.zeros((n, len(A)))
            cols = np.arange(len(A))
            B[self.u[A], cols] = 1.0
            B[self.v[A], cols] = -1.0
            return pinv(B)

        return w, V, R, solve


# --------------------------------------------------------------------------------------------
# Cache


def _cache_key(e, n, method, solver, caps, limits=None) -> str:
    """Digest of everything the result depends on (first-order: also its iteration limits)."""
    h = hashlib.blake2b(digest_size=20)
    h.update(f"optimal_rates:{_FORMULATION}:{n}:{method}:{solver}:{limits}:".encode())
    h.update(np.ascontiguousarray(e, dtype=np.int64).tobytes())
    h.update(b"caps:" + (b"none" if caps is None else
                         np.ascontiguousarray(caps, dtype=np.float64).tobytes()))
    return h.hexdigest()


def _cache_load(key, e, n, caps):
    path = rates_cache_dir() / f"{key}.npz"
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            lam = data["rates"]
            meta = json.loads(str(data["meta"]))
    except (OSError, ValueError, KeyError):
        return None  # unreadable entry: recompute (and overwrite it)
    lam, cond = verify_rates(e, lam, n, node_caps=caps, rescale=False)
    return OptimalRates(
        rates=lam, total=cond.total, chi_1=cond.chi_1, chi_2=cond.chi_2, product=cond.product,
        uniform_total=meta["uniform_total"], saving=1.0 - cond.total / meta["uniform_total"],
        method=meta["method"], solver=meta["solver"], status=meta["status"],
        solve_time_s=meta["solve_time_s"], verified=True, uniform_chi_1=meta["uniform_chi_1"],
        uniform_chi_2=meta["uniform_chi_2"], from_cache=True, info=meta["info"])


def _cache_store(key, result: OptimalRates) -> None:
    folder = rates_cache_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        meta = {k: v for k, v in result.summary().items()
                if k in ("uniform_total", "uniform_chi_1", "uniform_chi_2", "method", "solver",
                         "status", "solve_time_s", "info")}
        buf = io.BytesIO()
        np.savez(buf, rates=result.rates, meta=json.dumps(meta, default=float))
        write_atomic(folder / f"{key}.npz", buf.getvalue())
    except OSError:
        pass  # a read-only cache is not an error: the result is still returned


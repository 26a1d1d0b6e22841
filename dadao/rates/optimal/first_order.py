"""The first-order method: no cone solver, rates for graphs far beyond the SDP's reach.

T(lambda) = (w @ lambda) sqrt(2 chi_1 chi_2) is the objective after the final rescaling of
:func:`dadao.rates.optimal.verify_rates` (w: the per-edge costs normalised to mean 1, all ones
without costs, when w @ lambda is the total rate); it is scale invariant and quasi-convex (its
sublevel sets are the cones over the convex set {chi_1 chi_2 <= 1/2, w @ lambda <= t}), so
descent has no spurious local minima. The max and min inside chi_1 and chi_2 are smoothed by
p-norms,

    chi_1 ~ (sum_{i <= k} lambda_i^{-p})^{1/p}   (k smallest positive eigenvalues of Lambda)
    chi_2 ~ (1/2) (sum_{f in A} R_f^p)^{1/p}      (A: the edges of largest resistance),

with the exact derivatives d lambda_i / d lambda_e = (v_i[u] - v_i[v])^2 and
d R_f / d lambda_e = -((Lambda^+ b_f)[u] - (Lambda^+ b_f)[v])^2 for e = (u, v). It is minimised
over y = log(lambda) (multiplicative updates keep rates positive) by L-BFGS (scipy), with
p = 16, 64, 256, 1024 in turn, each stage warm-started from the last and given max_iter / 4
iterations. The iterate of least exact T is returned; any verified iterate is an upper bound on
the least total rate.

Statuses: "converged" (every stage stopped on its own tolerances), "max_iter" (the iteration
limit stopped it, or the last stage used its whole share), "time_limit" (the time limit did).

Cost per evaluation: up to FIRST_ORDER_DENSE_MAX_N nodes one dense eigendecomposition; above, every
R_e by the sparse elimination-tree kernel of graphs.effective_resistances, a dense Cholesky factor
of the grounded Laplacian for the solves Lambda^+ b_f of the active edges and as the
preconditioner of LOBPCG (warm-started from the previous eigenvectors); memory O(n^2). Measured
times: docs/optimal_rates.md.
"""

from __future__ import annotations

import math
import time
import warnings

import numpy as np
import scipy.linalg
import scipy.optimize
import scipy.sparse.linalg

from dadao import graphs

# Default limits of one first-order run.
FIRST_ORDER_MAX_ITER = 400
FIRST_ORDER_TIME_LIMIT_S = 600.0
# Up to this many nodes the first-order method takes a dense eigendecomposition per evaluation;
# above it, a dense Cholesky factor of the grounded Laplacian and LOBPCG.
FIRST_ORDER_DENSE_MAX_N = 400
# Continuation on the smoothing exponent p, and the number of the largest resistances and of the
# smallest eigenvalues kept in the smoothed max and min.
_P_SCHEDULE = (16.0, 64.0, 256.0, 1024.0)
_ACTIVE_EDGES = 512
_EIGENPAIRS = 8


def first_order(e, n, *, max_iter: int = FIRST_ORDER_MAX_ITER,
                time_limit_s: float = FIRST_ORDER_TIME_LIMIT_S, weights=None):
    """L-BFGS on log-rates of the smoothed log T(lambda) (module docstring; weights: w, None for
    all ones); returns (rates normalised to sum 1, status, info). info: iterations,
    evaluations, final_p, backend, max_iter, time_limit_s."""
    t_start = time.perf_counter()
    oracle = _SpectralOracle(e, n, weights)
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
            "final_p": p, "backend": oracle.backend, "max_iter": int(max_iter),
            "time_limit_s": float(time_limit_s)}
    return best["lam"], status, info


class _SpectralOracle:
    """chi's, the smoothed objective and its gradient in log-rates, for one graph."""

    def __init__(self, e, n, weights=None):
        self.e, self.n = e, n
        self.weights = weights
        self.u, self.v = e[:, 0], e[:, 1]
        self.backend = "eigh" if n <= FIRST_ORDER_DENSE_MAX_N else "cholesky"
        self.k = max(1, min(_EIGENPAIRS, n - 2 if self.backend == "eigh" else n // 5))
        self._V = None  # warm start of LOBPCG

    def evaluate(self, lam, p):
        total = float(lam.sum() if self.weights is None else self.weights @ lam)
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
        d_log_total = 1.0 / total if self.weights is None else self.weights / total
        grad = lam * (d_log_total + 0.5 * g_chi1 + 0.5 * g_chi2)
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



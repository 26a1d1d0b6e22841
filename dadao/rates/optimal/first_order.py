"""The first-order method: no cone solver, rates for graphs far beyond the SDP's reach, with a
certified bound on how far its total is from the optimum.

Objective. T(lambda) = (w @ lambda) sqrt(R_max / lambda_2) = (w @ lambda) sqrt(2 chi_1 chi_2)
is the objective after the final rescaling of :func:`dadao.rates.optimal.verify_rates` (w: the
per-edge costs normalised to mean 1, all ones without costs, when w @ lambda is the total rate;
R_f = b_f^T Lambda^+ b_f); it is scale invariant and quasi-convex (its sublevel sets are the cones
over the convex set {chi_1 chi_2 <= 1/2, w @ lambda <= t}), and its least value is the optimum of
the exact program "sdp". The max and min are smoothed by p-norms over every term within a factor
e^-40 of the largest (no fixed cut-off: the smoothed function is continuous),

    lambda_2 ~ (sum_i lambda_i^-p)^(-1/p)  (positive eigenvalues),  R_max ~ (sum_f R_f^p)^(1/p),

with the exact derivatives d lambda_i / d lambda_e = (v_i[u] - v_i[v])^2 (unit eigenvector v_i)
and d R_f / d lambda_e = -((Lambda^+ b_f)[u] - (Lambda^+ b_f)[v])^2 for e = (u, v); so, with
the soft-min and soft-max weights omega_i, mu_f (each summing to 1),

    d log T~ / d lambda_e = w_e / (w @ lambda) - (1/2) sum_f (mu_f / R_f) (b_e^T Lambda^+ b_f)^2
                            - (1/2) sum_i (omega_i / lambda_i) (v_i[u] - v_i[v])^2.

Method. L-BFGS-B on the rates themselves, lambda >= 0, in units of the rates at the start of a
stage (floored at 1e-3 of their mean): on log-rates an edge whose best rate is 0 is driven
towards -infinity, where its derivative vanishes, and an edge that should come back cannot
(measured: such edges trapped the old log-rate version at its iteration limit). p = 16, 64,
256, 1024, 4096 in turn, each stage warm-started from the last; a stage ends when L-BFGS-B stops
or when log T~ fell by less than 0.05 gap_tol over 10 iterations; the run ends when the
certified gap (below) is at most gap_tol, after the last stage, or at a limit.

Certificate. For any Y >= 0 with Y 1 = 0, any mu >= 0 with sum(mu) <= tr Y, any vectors z_f and
any feasible lambda (lambda_2 >= s >= R_max), w_f >= b_f^T Y b_f + sum_e mu_e (b_f^T z_e)^2 for
every edge f implies

    w @ lambda >= <Y, Lambda> + sum_e mu_e z_e^T Lambda z_e
               >= s tr Y + sum_e mu_e (2 z_e^T b_e - R_e) >= 2 sum_e mu_e z_e^T b_e

(z^T Lambda z >= 2 z^T b - b^T Lambda^+ b). Every evaluation builds one such point from what it
computed: Y = a sum_i omega'_i v_i v_i^T, mu = a mu', z_e = beta Lambda^+ b_e (omega', mu': the
weights of the gradient above, normalised), a and beta chosen best (a one-dimensional concave
search). Its value is a lower bound on the optimum whatever the accuracy of the eigenvectors and
solves, so gap = 1 - (largest bound) / (least exact T) bounds the relative distance to the
optimum. Status "converged" means the run stopped on its own rules (info["gap"] says how close
it got; gap <= gap_tol unless the last stage ended first); "max_iter" or "time_limit" mean a limit
stopped it. The iterate of least exact T is returned; its total after rescaling is an upper
bound on the least total, info["lower_bound"] a lower bound.

Backends per evaluation, by n:
- "eigh" (n <= FIRST_ORDER_EIGH_MAX_N): a dense eigendecomposition (all eigenvalues: repeated
  lambda_2 on symmetric graphs is smoothed over all its copies).
- "dense" (n <= FIRST_ORDER_DENSE_MAX_N): Lambda^+ from a dense Cholesky factor of the grounded
  Laplacian, the smallest eigenpairs by Lanczos on it; O(n^2) memory, O(n^3) time.
- "sparse" (above): a sparse LU factor of the grounded Laplacian (SuperLU), eigenpairs by Lanczos
  on its solves, and a working set of the edges of largest R_e (at most _ACTIVE_MAX) for the
  soft-max (solves of those only), chosen from every R_e (graphs.effective_resistances) at the
  start of each segment of at most _SEGMENT_ITERS iterations; the exact T is taken at segment
  ends. Where more edges than that tie for the largest resistance the working set cannot hold
  them all, and the descent lowers some while others rise: the sparse backend improves on
  uniform rates but need not converge within the limits.
sum_f (mu_f / R_f) (b_e^T Lambda^+ b_f)^2 is read off K = Lambda^+ M Lambda^+ (M the Laplacian
of those weights; one matrix product) in the dense backends, and summed over the solves
Lambda^+ b_f of the working set in the sparse one. Measured:
docs/bench_first_order.md (simulations/bench_first_order.py).
"""

from __future__ import annotations

import math
import time
import warnings

import numba
import numpy as np
import scipy.linalg
import scipy.optimize
import scipy.sparse as sp
import scipy.sparse.csgraph
import scipy.sparse.linalg

from dadao import graphs

# Default limits of one first-order run: safety nets, the certificate or a stall stops it first.
FIRST_ORDER_MAX_ITER = 3000
FIRST_ORDER_TIME_LIMIT_S = 600.0
# Stop once the certified relative gap to the optimum is at most this.
FIRST_ORDER_GAP_TOL = 1e-3
# Up to this many nodes one dense eigendecomposition per evaluation; up to the next, a dense
# Cholesky factor and Lanczos; above, a sparse factor and a working set of edges.
FIRST_ORDER_EIGH_MAX_N = 400
FIRST_ORDER_DENSE_MAX_N = 2048
# Continuation on the smoothing exponent p.
_P_SCHEDULE = (16.0, 64.0, 256.0, 1024.0, 4096.0)
# Terms of the soft-max/min below e^-_CUT of the largest are dropped (they weigh < 5e-18).
_CUT = 40.0
# A stage has stalled when log T~ fell by less than _STALL_FRACTION * gap_tol over this many
# iterations.
_STALL_WINDOW = 10
_STALL_FRACTION = 0.05
# Variables are rates in units of max(rate at the stage start, _SCALE_FLOOR * mean rate).
_SCALE_FLOOR = 1e-3
# Eigenpairs computed by Lanczos: at most this many (the weights decide how many are needed).
_EIGEN_MAX = 32
# Sparse backend: the working set (the edges of R_e >= (1 - margin) R_max, at least _ACTIVE_MIN
# and at most _ACTIVE_MAX of the largest), the iterations between its refreshes, and the first
# stage (at p = 16 the soft-max spreads over far more edges than the working set).
_ACTIVE_MAX = 2048
_ACTIVE_MIN = 256
_ACTIVE_MARGIN = 0.5
_SEGMENT_ITERS = 20
_SPARSE_FIRST_STAGE = 1
# Column block of the solves (memory: n times this, in float64).
_BLOCK = 512


def first_order(e, n, *, max_iter: int = FIRST_ORDER_MAX_ITER,
                time_limit_s: float = FIRST_ORDER_TIME_LIMIT_S, weights=None,
                gap_tol: float = FIRST_ORDER_GAP_TOL):
    """Minimise T(lambda) (module docstring; weights: w, None for all ones); returns (rates
    normalised to sum 1, status, info). info: iterations, evaluations, final_p, backend,
    max_iter, time_limit_s, gap_tol, gap (certified relative gap), lower_bound (on the least
    w @ lambda under chi_1 chi_2 <= 1/2), total_bound (T of the returned rates), stages."""
    t_start = time.perf_counter()
    e = np.asarray(e)
    E = len(e)
    w = np.ones(E) if weights is None else np.asarray(weights, dtype=np.float64)
    oracle = _make_oracle(e, n, w)
    track = _Track()
    lam = np.full(E, 1.0 / E)  # theory-uniform direction
    stall_tol = _STALL_FRACTION * gap_tol
    status, stage = None, oracle.first_stage
    p = _P_SCHEDULE[stage]

    def out_of_budget():
        if time.perf_counter() - t_start > time_limit_s:
            return "time_limit"
        if track.iterations >= max_iter:
            return "max_iter"
        return None

    while status is None:
        p = _P_SCHEDULE[stage]
        oracle.begin_segment(lam, p, track)
        scale = np.maximum(lam, _SCALE_FLOOR * lam.mean())
        history = []
        reason = {"why": "stopped"}

        def fun(x):
            out = oracle.evaluate(x * scale, p, track)
            if out is None:  # disconnected: outside the domain, a wall for the line search
                return (history[-1] if history else 0.0) + 1e3, np.zeros_like(x)
            return out["F"], out["grad"] * scale

        def callback(intermediate_result):
            track.iterations += 1
            history.append(float(intermediate_result.fun))
            if track.gap() <= gap_tol:
                reason["why"] = "gap"
            elif out_of_budget():
                reason["why"] = "limit"
            elif (len(history) > _STALL_WINDOW
                  and history[-_STALL_WINDOW - 1] - history[-1] < stall_tol):
                reason["why"] = "stall"
            else:
                return
            raise StopIteration

        seg_iters = max_iter - track.iterations
        if oracle.segment_iters is not None:
            seg_iters = min(seg_iters, oracle.segment_iters)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            warnings.simplefilter("ignore", RuntimeWarning)
            res = scipy.optimize.minimize(
                fun, lam / scale, jac=True, method="L-BFGS-B", bounds=[(0.0, None)] * E,
                callback=callback,
                options=dict(maxiter=max(seg_iters, 1), ftol=1e-15, gtol=1e-12, maxcor=20))
        x = np.maximum(res.x, 0.0)
        if x.max() > 0 and oracle.connected(x * scale):
            lam = x * scale / float(w @ (x * scale))
        oracle.end_segment(lam, track)
        if track.gap() <= gap_tol:
            status = "converged"
        elif out_of_budget():
            status = out_of_budget()
        elif reason["why"] == "stopped" and oracle.segment_iters is not None \
                and res.nit >= seg_iters:
            continue  # a sparse segment ran its course: refresh the working set, same p
        elif stage + 1 < len(_P_SCHEDULE):
            stage += 1
        else:
            status = "converged"
    info = {"iterations": track.iterations, "evaluations": track.evaluations, "final_p": p,
            "backend": oracle.backend, "max_iter": int(max_iter),
            "time_limit_s": float(time_limit_s), "gap_tol": float(gap_tol),
            "gap": track.gap(), "lower_bound": track.lower, "total_bound": track.total,
            "stages": stage - oracle.first_stage + 1}
    return track.rates / track.rates.sum(), status, info


class _Track:
    """The best exact T and its rates, the best certified lower bound, and the counts."""

    def __init__(self):
        self.total, self.rates, self.lower = math.inf, None, 0.0
        self.iterations = self.evaluations = 0

    def offer(self, T, lam, lower=None):
        if T is not None and T < self.total:
            self.total, self.rates = float(T), lam.copy()
        if lower is not None and lower > self.lower:
            self.lower = float(lower)

    def gap(self) -> float:
        return 1.0 - self.lower / self.total if math.isfinite(self.total) else math.inf


def certified_lower_bound(w, g1, g2, rho, trace) -> float:
    """max over beta of 2 a beta rho over the dual points of the module docstring.

    With Y = a Y0 (tr Y0 = trace), mu = a trace mu0 (sum(mu0) = 1) and z_e = beta q_e: g1_f =
    b_f^T Y0 b_f, g2_f = sum_e mu0_e (b_f^T q_e)^2, rho = sum_e mu0_e q_e^T b_e. With gamma =
    trace beta^2 the best a is min_f w_f / (g1_f + gamma g2_f), and the bound is
    2 rho sqrt(trace gamma) / max_f ((g1_f + gamma g2_f) / w_f); its log is concave in
    log gamma (a max of log-convex functions is log-convex), so golden-section search over the
    bracket of the per-edge maximisers log(g1_f / g2_f) finds its maximum."""
    if not (rho > 0 and trace > 0):
        return 0.0
    a, b = g1 / w, g2 / w
    both = (a > 0) & (b > 0)
    if not both.any():
        return 0.0
    t = np.log(a[both] / b[both])
    lo, hi = float(t.min()), float(t.max())

    def log_bound(s):
        return 0.5 * s - math.log(float(np.max(a + math.exp(s) * b)))

    g = (math.sqrt(5.0) - 1.0) / 2.0
    x1, x2 = hi - g * (hi - lo), lo + g * (hi - lo)
    f1, f2 = log_bound(x1), log_bound(x2)
    for _ in range(60):
        if hi - lo < 1e-10:
            break
        if f1 >= f2:
            hi, x2, f2 = x2, x1, f1
            x1 = hi - g * (hi - lo)
            f1 = log_bound(x1)
        else:
            lo, x1, f1 = x1, x2, f2
            x2 = lo + g * (hi - lo)
            f2 = log_bound(x2)
    best = max(f1, f2, log_bound(lo), log_bound(hi))
    return 2.0 * rho * math.sqrt(trace) * math.exp(best)


def _soft_weights(log_values, p):
    """(indices kept, weights summing to 1, log of the p-norm) of exp(log_values): the p-norm
    (sum_i x_i^p)^(1/p) over the terms within e^-_CUT of the largest."""
    top = float(log_values.max())
    a = p * (log_values - top)
    keep = np.flatnonzero(a > -_CUT)
    wts = np.exp(a[keep])
    s = float(wts.sum())
    return keep, wts / s, top + math.log(s) / p


def _make_oracle(e, n, w):
    if n <= FIRST_ORDER_EIGH_MAX_N:
        return _EighOracle(e, n, w)
    if n <= FIRST_ORDER_DENSE_MAX_N:
        return _DenseOracle(e, n, w)
    return _SparseOracle(e, n, w)


class _Oracle:
    """log T~, its gradient in lambda, the exact T and the certified bound of one graph."""

    backend = ""
    segment_iters = None  # iterations between refreshes of a working set (None: no refresh)
    first_stage = 0  # index in _P_SCHEDULE of the first p

    def __init__(self, e, n, w):
        self.e, self.n, self.w = e, n, w
        self.u, self.v = e[:, 0], e[:, 1]
        self._v0 = None  # Lanczos start: the last lambda_2 eigenvector

    def connected(self, lam) -> bool:
        on = lam > 0
        A = sp.csr_matrix((np.ones(int(on.sum())), (self.u[on], self.v[on])),
                          shape=(self.n, self.n))
        return scipy.sparse.csgraph.connected_components(A, directed=False)[0] == 1

    def begin_segment(self, lam, p, track):
        pass

    def end_segment(self, lam, track):
        pass

    def assemble(self, lam, p, eig, V, R_act, pot2_mu, track, T=None):
        """The evaluation from its pieces: eig (ascending positive eigenvalues whose soft-min
        weights are all kept), V their eigenvectors (n, k); R_act the resistances of the active
        edges of weights mu; pot2_mu(coef) -> sum_f coef_f (b_e^T Lambda^+ b_f)^2 for every e."""
        ik, om, log_l2 = _soft_weights(-np.log(eig), p)
        log_l2 = -log_l2
        ev, Vk = eig[ik], V[:, ik]
        Vk = Vk - Vk.mean(axis=0)  # Y 1 = 0 exactly
        d = Vk[self.u] - Vk[self.v]
        cw = om / ev
        s_l = float(cw.sum())
        g1 = (d * d) @ (cw / s_l)
        trace = float((Vk * Vk).sum(axis=0) @ (cw / s_l))
        mu = R_act["mu"]
        cr = mu / R_act["R"]
        s_r = float(cr.sum())
        g2 = pot2_mu(cr / s_r)
        rho = float(R_act["own"] @ (cr / s_r))  # sum mu'_f z_f^T b_f, z_f = the solve's vector
        total = float(self.w @ lam)
        F = math.log(total) + 0.5 * (R_act["log_norm"] - log_l2)
        grad = self.w / total - 0.5 * s_r * g2 - 0.5 * s_l * g1
        lower = certified_lower_bound(self.w, g1, g2, rho, trace)
        track.evaluations += 1
        track.offer(T, lam, lower)
        return {"F": F, "grad": grad}


class _EighOracle(_Oracle):
    """One dense eigendecomposition per evaluation: every eigenvalue, every R_e exact."""

    backend = "eigh"

    def evaluate(self, lam, p, track):
        wv, V = scipy.linalg.eigh(graphs.laplacian(self.e, self.n, lam).toarray(), driver="evd")
        if not wv[1] > 1e-13 * wv[-1]:
            return None
        wv, V = wv[1:], V[:, 1:]
        Z = (V / wv) @ V.T
        return self._finish(lam, p, Z, wv, V, track)

    def _finish(self, lam, p, Z, eig, V, track):
        u, v = self.u, self.v
        R = Z[u, u] + Z[v, v] - 2.0 * Z[u, v]
        A, mu, log_norm = _soft_weights(np.log(R), p)

        def pot2_mu(coef):
            M = graphs.laplacian(self.e[A], self.n, coef)
            K = Z @ (M @ Z)  # Lambda^+ M Lambda^+, one matrix product (faster than gathers)
            return K[u, u] + K[v, v] - 2.0 * K[u, v]

        T = float(self.w @ lam) * math.sqrt(R.max() / eig[0])
        R_act = {"R": R[A], "mu": mu, "log_norm": log_norm, "own": R[A]}
        return self.assemble(lam, p, eig, V, R_act, pot2_mu, track, T=T)


class _DenseOracle(_EighOracle):
    """Lambda^+ from a dense Cholesky factor of the grounded Laplacian; the smallest
    eigenpairs by Lanczos on Lambda^+ (as many as the soft-min weights need, up to _EIGEN_MAX)."""

    backend = "dense"

    def __init__(self, e, n, w):
        super().__init__(e, n, w)
        self._k = 4

    def evaluate(self, lam, p, track):
        n = self.n
        Lg = graphs.laplacian(self.e, n, lam).toarray()[:-1, :-1]
        c, info = scipy.linalg.lapack.dpotrf(Lg, lower=1)
        if info != 0:
            return None
        inv, info = scipy.linalg.lapack.dpotri(c, lower=1)
        if info != 0:
            return None
        inv = np.tril(inv)
        inv += np.tril(inv, -1).T
        # Lambda^+ = P G P with G the grounded inverse padded by a zero row and column, and
        # P the centring projection
        Z = np.zeros((n, n))
        Z[:-1, :-1] = inv
        Z -= Z.mean(axis=0)
        Z -= Z.mean(axis=1)[:, None]
        eig, V = self._eigenpairs(lambda x: Z @ x, p)
        return self._finish(lam, p, Z, eig, V, track)

    def _eigenpairs(self, apply_pinv, p):
        """The k smallest positive eigenvalues (ascending) and eigenvectors: k grows until the
        soft-min weight of the largest is below e^-_CUT, or k = _EIGEN_MAX."""
        n = self.n
        op = scipy.sparse.linalg.LinearOperator((n, n), matvec=apply_pinv,
                                                matmat=apply_pinv, dtype=np.float64)
        v0 = self._v0
        if v0 is None:
            v0 = np.random.default_rng(0).standard_normal(n)
            v0 -= v0.mean()
        k = min(self._k, n - 2)
        while True:
            mu, V = scipy.sparse.linalg.eigsh(op, k=k, which="LA", v0=v0, tol=1e-10,
                                              ncv=min(n - 1, max(2 * k + 1, 20)))
            order = np.argsort(mu)[::-1]
            eig, V = 1.0 / mu[order], V[:, order]
            if p * math.log(eig[-1] / eig[0]) > _CUT or k >= min(_EIGEN_MAX, n - 2):
                break
            k = min(2 * k, _EIGEN_MAX, n - 2)
        needed = int(np.sum(p * np.log(eig / eig[0]) <= _CUT))
        self._k = max(4, min(needed + 2, _EIGEN_MAX))
        self._v0 = V[:, 0]
        return eig, V


class _SparseOracle(_DenseOracle):
    """A sparse LU factor of the grounded Laplacian per evaluation, a working set of edges."""

    backend = "sparse"
    segment_iters = _SEGMENT_ITERS
    first_stage = _SPARSE_FIRST_STAGE

    def __init__(self, e, n, w):
        super().__init__(e, n, w)
        self.active = None
        self._exact = None

    def _factor(self, lam):
        if not self.connected(lam):
            return None
        Lg = graphs.laplacian(self.e, self.n, lam).tocsc()[:-1, :-1]
        try:
            return scipy.sparse.linalg.splu(Lg.tocsc(), permc_spec="MMD_AT_PLUS_A",
                                            diag_pivot_thresh=0.0,
                                            options=dict(SymmetricMode=True))
        except RuntimeError:
            return None

    def _pinv(self, lu):
        n = self.n

        def apply(X):
            X = np.asarray(X, dtype=np.float64)
            flat = X.ndim == 1
            X = X.reshape(n, -1)
            X = X - X.mean(axis=0)
            Z = np.zeros_like(X)
            Z[:-1] = lu.solve(np.ascontiguousarray(X[:-1]))
            Z -= Z.mean(axis=0)
            return Z.ravel() if flat else Z

        return apply

    def _exact_T(self, lam):
        """(T, every R_e) of lam (None, None when lam disconnects the graph); the last answer
        is kept, as a segment's end and the next one's start ask for the same rates."""
        if self._exact is not None and np.array_equal(self._exact[0], lam):
            return self._exact[1:]
        lu = self._factor(lam)
        if lu is None:
            return None, None
        R = graphs.effective_resistances(self.e, lam, self.n, method="sparse")
        k = self._k  # lambda_2 alone: keep the block size the smoothing needs
        eig, _ = self._eigenpairs(self._pinv(lu), _P_SCHEDULE[-1])
        self._k = k
        T = float(self.w @ lam) * math.sqrt(R.max() / eig[0])
        self._exact = (lam.copy(), T, R)
        return T, R

    def begin_segment(self, lam, p, track):
        T, R = self._exact_T(lam)
        track.offer(T, lam)
        # the largest resistances with a margin, not only those the soft-max weighs now: during
        # the segment the descent lowers those and raises others
        near = int(np.sum(R >= (1.0 - _ACTIVE_MARGIN) * R.max()))
        size = min(max(near, _ACTIVE_MIN), _ACTIVE_MAX)
        self.active = np.sort(np.argsort(R)[::-1][:size])

    def end_segment(self, lam, track):
        T, _ = self._exact_T(lam)
        track.offer(T, lam)

    def evaluate(self, lam, p, track):
        lu = self._factor(lam)
        if lu is None:
            return None
        n, A = self.n, self.active
        pinv = self._pinv(lu)
        Q = np.empty((n, len(A)))
        for lo in range(0, len(A), _BLOCK):
            idx = A[lo:lo + _BLOCK]
            B = np.zeros((n, len(idx)))
            cols = np.arange(len(idx))
            B[self.u[idx], cols] = 1.0
            B[self.v[idx], cols] = -1.0
            Q[:, lo:lo + _BLOCK] = pinv(B)
        own = Q[self.u[A], np.arange(len(A))] - Q[self.v[A], np.arange(len(A))]
        ik, mu, log_norm = _soft_weights(np.log(own), p)
        Q, own = Q[:, ik], own[ik]

        Q = np.ascontiguousarray(Q)

        def pot2_mu(coef):
            return _pair_energy(Q, self.u, self.v, coef)

        eig, V = self._eigenpairs(pinv, p)
        R_act = {"R": own, "mu": mu, "log_norm": log_norm, "own": own}
        return self.assemble(lam, p, eig, V, R_act, pot2_mu, track)


@numba.njit(cache=True)
def _pair_energy(Q, u, v, coef):
    """sum_f coef_f (Q[u_e, f] - Q[v_e, f])^2 for every edge e = (u_e, v_e): with the columns
    of Q the potentials Lambda^+ b_f, sum_f coef_f (b_e^T Lambda^+ b_f)^2, without the
    (E, |A|) temporaries of the same sum in numpy."""
    out = np.empty(u.shape[0])
    for e in range(u.shape[0]):
        a, b = Q[u[e]], Q[v[e]]
        acc = 0.0
        for f in range(Q.shape[1]):
            d = a[f] - b[f]
            acc += coef[f] * d * d
        out[e] = acc
    return out

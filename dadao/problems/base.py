"""The Problem object: n local functions, their constants, and the centrally solved optimum.

A Problem is built once from an :class:`~dadao.problems.oracle.Oracle` by :func:`build_problem`,
which computes every constant from the data (never guessed):

- L_i, mu_i: the extreme eigenvalues of the Hessian of f_i (quadratic and least squares: exact;
  logistic: L_i = lambda_max(A_i^T A_i)/(4 m_i) + reg_i and mu_i = reg_i, valid bounds on the
  Hessian everywhere); L = max_i L_i, mu = min_i mu_i, kappa = L/mu;
- x* = argmin sum_i f_i, solved centrally and *certified*: for f = sum f_i, strongly convex with
  modulus at least sum_i mu_i, ||x - x*|| <= ||grad f(x)|| / sum_i mu_i, and we require this bound
  to be <= 1e-10 ||x||.
"""

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import scipy.linalg
from scipy.special import expit

from dadao.errors import ProblemError
from dadao.reproducible import LOCAL, column_sums
from .oracle import KIND_NAMES, LEAST_SQUARES, QUADRATIC, Oracle

X_STAR_RTOL = 1e-10
KAPPA_MAX = 1e12  # beyond this a problem is not strongly convex in double precision
# Row-form oracles build their row-wise temporaries (the iterates repeated per row, the weighted
# rows a_k w_k) a group of whole nodes at a time, at most this many entries per group (32 MB), so
# that evaluating f or its gradients costs O(M d) time but only O(n d) extra memory beyond A.
ROW_CHUNK_ENTRIES = 1 << 22
#: Up to this dimension, f(x) - f* of a quadratic or least-squares problem is evaluated through
#: the d x d root of the total Hessian, computed once (O(d^2) per sample instead of a pass over
#: every node's data); above it (a d x d matrix of over 128 MB) through the data, as before.
CURVATURE_MAX_DIM = 4096


@dataclass(frozen=True, eq=False)
class Problem:
    """min_x f(x) = sum_i f_i(x) over n nodes; see the module docstring for the constants."""

    name: str
    n: int
    dim: int
    oracle: Oracle = field(repr=False)
    L_local: np.ndarray = field(repr=False)
    mu_local: np.ndarray = field(repr=False)
    L: float
    mu: float
    kappa: float
    x_star: np.ndarray = field(repr=False)
    f_star: float
    params: dict
    const: np.ndarray = field(repr=False)  # constant term of f_i for QUADRATIC oracles, (n,)
    x_star_error_bound: float = field(repr=False)  # certified ||x - x*|| / ||x*|| of x_star
    #: None: the oracle holds every node. Else the nodes it holds (increasing): the problem of
    #: one MPI rank (``build_problem(nodes=...)``), whose constants, x* and f* are the whole
    #: problem's but whose data are those nodes' only (``const`` too: one entry per node held);
    #: what needs every node's data (``local_values``, ``f``, ...) is refused
    nodes: np.ndarray | None = field(default=None, repr=False)

    @property
    def has_conjugate(self) -> bool:
        """True when grad f_i^* is available (Problem.conjugate_gradients, local_conjugate_gradient):
        the oracle has inverses (of d x d, even for no node held, as in a ``summary_of``)."""
        return self.oracle.Hinv.shape[1] > 0

    def _node_groups(self):
        """Consecutive node ranges (i0, i1) covering 0..n-1, each of whole nodes whose rows of A
        hold at most ROW_CHUNK_ENTRIES entries (or of a single node): the unit of the row-wise
        temporaries. A problem within the budget is one range, evaluated exactly as one array."""
        off = self.oracle.offsets
        groups = []
        i0 = 0
        while i0 < self.n:
            i1 = i0 + 1
            while i1 < self.n and (off[i1 + 1] - off[i0]) * self.dim <= ROW_CHUNK_ENTRIES:
                i1 += 1
            groups.append((i0, i1))
            i0 = i1
        return groups

    def _margins(self, X):
        """Row-wise a_k^T X[node(k)], (M,)."""
        o = self.oracle
        off = o.offsets
        z = np.empty(o.b.shape)
        for i0, i1 in self._node_groups():
            rows = np.repeat(np.arange(i0, i1), np.diff(off[i0 : i1 + 1]))
            z[off[i0] : off[i1]] = np.einsum("kd,kd->k", o.A[off[i0] : off[i1]], X[rows])
        return z

    def _per_node_sum(self, v):
        """sum over the rows of each node of v (M, ...) -> (n, ...)."""
        return np.add.reduceat(v, self.oracle.offsets[:-1], axis=0)

    def _require_every_node(self):
        if self.nodes is not None:
            raise ValueError(f"{self.name}: this problem holds the data of {len(self.nodes)} of "
                             f"its {self.n} nodes only (an MPI rank's)")

    def _check_X(self, X):
        self._require_every_node()
        X = np.asarray(X, dtype=np.float64)
        if X.shape != (self.n, self.dim):
            raise ValueError(f"expected an array of shape ({self.n}, {self.dim}), got {X.shape}")
        return X

    def local_values(self, X) -> np.ndarray:
        """(n,) array of f_i(X[i])."""
        X = self._check_X(X)
        o = self.oracle
        if o.kind == QUADRATIC:
            HX = np.einsum("nij,nj->ni", o.H, X)
            return 0.5 * np.einsum("ni,ni->n", X, HX) - np.einsum("ni,ni->n", o.c, X) + self.const
        z = self._margins(X)
        m = np.diff(o.offsets)
        if o.kind == LEAST_SQUARES:
            loss = (z - o.b) ** 2
        else:
            loss = np.logaddexp(0.0, -o.b * z)
        return self._per_node_sum(loss) / m + 0.5 * o.reg * np.einsum("ni,ni->n", X, X)

    def f(self, x) -> float:
        """f(x) = sum_i f_i(x) at one point x (d,)."""
        x = np.asarray(x, dtype=np.float64)
        if x.shape != (self.dim,):
            raise ValueError(f"expected a point of shape ({self.dim},), got {x.shape}")
        return float(self.local_values(np.broadcast_to(x, (self.n, self.dim))).sum())

    def suboptimality(self, x) -> float:
        """f(x) - f* at one point x (d,), without cancellation where f is quadratic.

        Quadratic and least-squares f: f(x) - f* = 1/2 e^T (sum_i H_i) e with e = x - x*, since
        grad f(x*) = 0; this keeps full relative accuracy down to 1e-30 and below, where
        f(x) - f* loses everything below ~1e-16 |f*| (|f*| ~ 1e7 on the paper's reference run).
        Logistic: f(x) - f*, whose terms are O(1) per node.
        """
        x = np.asarray(x, dtype=np.float64)
        if x.shape != (self.dim,):
            raise ValueError(f"expected a point of shape ({self.dim},), got {x.shape}")
        o = self.oracle
        e = x - self.x_star
        root = self._curvature_root
        if root is not None:
            r = root @ e
            return float(0.5 * (r @ r))
        self._require_every_node()
        if o.kind == QUADRATIC:
            return float(0.5 * np.einsum("nij,i,j->", o.H, e, e))
        if o.kind == LEAST_SQUARES:
            z = o.A @ e
            m = np.diff(o.offsets)
            return float(np.sum(self._per_node_sum(z * z) / m) + 0.5 * o.reg.sum() * (e @ e))
        return self.f(x) - self.f_star

    @property
    def curvature_root(self):
        """R (d, d) with R^T R = sum_i Hessian f_i (read-only), or None: see
        ``_curvature_root``; f(x) - f* = 1/2 ||R (x - x*)||^2 where it exists."""
        return self._curvature_root

    @cached_property
    def _curvature_root(self):
        """R (d, d) with R^T R = H = sum_i Hessian f_i, for the problems whose Hessian is
        constant (QUADRATIC, LEAST_SQUARES) and d <= CURVATURE_MAX_DIM; None otherwise.

        Then f(x) - f* = 1/2 ||R e||^2 exactly (e = x - x*): R = diag(sqrt(w)) V^T from the
        eigen-decomposition H = V diag(w) V^T (w clipped at 0 against rounding). A sum of squares
        keeps the relative accuracy of the node-by-node formula near x*: the direction of e
        along the smallest eigenvalue is computed to a rounding of |e|, the others add
        eps^2 kappa relative at most. Built on the first call: a problem whose suboptimality
        is never sampled pays nothing."""
        o = self.oracle
        if o.kind not in (QUADRATIC, LEAST_SQUARES) or self.dim > CURVATURE_MAX_DIM:
            return None
        if o.kind == QUADRATIC:
            H = total_hessian(o, self.n)
        else:
            self._require_every_node()
            # sum_i (2/m_i) A_i^T A_i + (sum_i reg_i) I, a group of whole nodes at a time
            off = o.offsets
            weight = 2.0 / np.diff(off)
            H = np.zeros((self.dim, self.dim))
            for i0, i1 in self._node_groups():
                lo, hi = off[i0], off[i1]
                w = np.repeat(weight[i0:i1], np.diff(off[i0 : i1 + 1]))
                H += o.A[lo:hi].T @ (w[:, None] * o.A[lo:hi])
            H[np.diag_indices(self.dim)] += o.reg.sum()
        return root_of(H)

    def local_gradients(self, X) -> np.ndarray:
        """(n, d) array whose row i is grad f_i(X[i])."""
        X = self._check_X(X)
        o = self.oracle
        if o.kind == QUADRATIC:
            return np.einsum("nij,nj->ni", o.H, X) - o.c
        z = self._margins(X)
        m = np.diff(o.offsets)
        if o.kind == LEAST_SQUARES:
            w = 2.0 * (z - o.b)
        else:
            w = -o.b * expit(-o.b * z)
        off = o.offsets
        G = np.empty((self.n, self.dim))
        for i0, i1 in self._node_groups():
            lo, hi = off[i0], off[i1]
            S = np.add.reduceat(w[lo:hi, None] * o.A[lo:hi], off[i0:i1] - lo, axis=0)
            G[i0:i1] = S / m[i0:i1, None] + o.reg[i0:i1, None] * X[i0:i1]
        return G

    def local_hessians(self, X) -> np.ndarray:
        """(n, d, d) array whose entry i is the Hessian of f_i at X[i]."""
        X = self._check_X(X)
        o = self.oracle
        if o.kind == QUADRATIC:
            return np.array(o.H)
        m = np.diff(o.offsets)
        if o.kind == LEAST_SQUARES:
            w = np.full(o.b.shape, 2.0)
        else:
            s = expit(self._margins(X))
            w = s * (1.0 - s)
        H = self._per_node_sum(np.einsum("k,ki,kj->kij", w, o.A, o.A)) / m[:, None, None]
        return H + o.reg[:, None, None] * np.eye(self.dim)

    def conjugate_gradients(self, Y) -> np.ndarray:
        """(n, d) array whose row i is grad f_i^*(Y[i]) = argmin_x f_i(x) - Y[i]^T x."""
        if not self.has_conjugate:
            raise NotImplementedError(
                f"{self.name}: no closed-form conjugate gradient for this problem"
            )
        Y = self._check_X(Y)
        return np.einsum("nij,nj->ni", self.oracle.Hinv, Y + self.oracle.c)

    def describe(self) -> dict:
        """Plain-Python summary for run metadata."""
        return {
            "name": self.name,
            "n": self.n,
            "dim": self.dim,
            "oracle": KIND_NAMES[self.oracle.kind],
            "L": self.L,
            "mu": self.mu,
            "kappa": self.kappa,
            "L_local_range": [float(self.L_local.min()), float(self.L_local.max())],
            "mu_local_range": [float(self.mu_local.min()), float(self.mu_local.max())],
            "x_star_norm": float(np.linalg.norm(self.x_star)),
            "x_star_rel_error_bound": self.x_star_error_bound,
            "f_star": self.f_star,
            "has_conjugate": self.has_conjugate,
            "params": dict(self.params),
        }


# ---------------------------------------------------------------------------------------------
# constants


def local_constants(oracle: Oracle):
    """(L_local, mu_local) computed from the oracle's data."""
    o = oracle
    if o.kind == QUADRATIC:
        ev = np.linalg.eigvalsh(o.H)  # ascending, (n, d)
        return ev[:, -1].copy(), ev[:, 0].copy()
    n = o.offsets.shape[0] - 1
    d = o.A.shape[1]
    L = np.empty(n)
    mu = np.empty(n)
    for i in range(n):
        Ai = o.A[o.offsets[i] : o.offsets[i + 1]]
        m = Ai.shape[0]
        s = np.linalg.svd(Ai, compute_uv=False)  # singular values, descending
        smax2 = s[0] ** 2 if s.size else 0.0
        smin2 = s[-1] ** 2 if m >= d else 0.0
        if o.kind == LEAST_SQUARES:
            L[i] = 2.0 * smax2 / m + o.reg[i]
            mu[i] = 2.0 * smin2 / m + o.reg[i]
        else:
            L[i] = smax2 / (4.0 * m) + o.reg[i]
            mu[i] = o.reg[i]
    return L, mu


# ---------------------------------------------------------------------------------------------
# the central solution


def _full_gradient(problem, x):
    """grad f(x) = sum_i grad f_i(x)."""
    return problem.local_gradients(np.broadcast_to(x, (problem.n, problem.dim))).sum(axis=0)


# The QUADRATIC problems' global numbers are sums over nodes of per-node numbers, taken as
# reproducible sums (``dadao.reproducible``): the same bits from every node's data in one process
# as from each MPI rank's nodes combined through ``sums`` (``build_problem(nodes=...)``).


def root_of(H: np.ndarray) -> np.ndarray:
    """R = diag(sqrt(w)) V^T (read-only) of H = V diag(w) V^T, symmetrised, w clipped at 0."""
    w, V = np.linalg.eigh(0.5 * (H + H.T))
    root = np.sqrt(np.clip(w, 0.0, None))[:, None] * V.T
    root.flags.writeable = False
    return root


def keep_curvature_root(problem: Problem, root) -> None:
    """Give a problem of some nodes its curvature root, computed with the other processes
    (it cannot build it from its own rows later): the slot of the cached property."""
    problem.__dict__["_curvature_root"] = root


def total_hessian(o, n: int, sums=LOCAL) -> np.ndarray:
    """sum_i H_i (d, d) over the n nodes of a QUADRATIC oracle (this process's rows, combined
    through ``sums``)."""
    d = o.H.shape[1] if o.H.ndim == 3 and o.H.shape[0] else o.c.shape[1]
    return column_sums((o.H.reshape(-1, d * d),), n, sums).reshape(d, d)


def _quadratic_gradient(o, x, n: int, sums=LOCAL) -> np.ndarray:
    """grad f(x) = sum_i (H_i x - c_i) of a QUADRATIC oracle."""
    return column_sums((np.einsum("nij,j->ni", o.H, x) - o.c,), n, sums)


def _quadratic_value(o, const, x, n: int, sums=LOCAL) -> float:
    """f(x) = sum_i (1/2 x^T H_i x - c_i^T x + const_i) of a QUADRATIC oracle."""
    values = (0.5 * np.einsum("nij,i,j->n", o.H, x, x) - o.c @ x + const)[:, None]
    return float(column_sums((values,), n, sums)[0])


def _solve_quadratic(o, Hs, n: int, sums=LOCAL):
    """x* of a QUADRATIC oracle from the total Hessian Hs = sum_i H_i."""
    cs = column_sums((o.c,), n, sums)
    x = scipy.linalg.solve(Hs, cs, assume_a="pos")
    r = cs - Hs @ x  # one step of iterative refinement
    return x + scipy.linalg.solve(Hs, r, assume_a="pos")


def _solve_least_squares_rows(o):
    """x* of f(x) = ||W (A x - b)||^2 + (r/2) ||x||^2, W = diag(1/sqrt(m_i)) per row, r = sum reg_i.

    N >= d rows or r = 0: least squares on the stacked (N + d) x d system [W A; sqrt(r/2) I].
    N < d rows and r > 0: the dual (N x N) system, see _solve_least_squares_dual.
    """
    d = o.A.shape[1]
    m = np.diff(o.offsets)
    w = np.repeat(1.0 / np.sqrt(m), m)
    r = o.reg.sum()
    if r > 0 and o.A.shape[0] < d:
        return _solve_least_squares_dual(o.A, o.b * w, w, r)
    As = o.A * w[:, None]
    bs = o.b * w
    if r > 0:  # (sum reg_i / 2) ||x||^2 as d extra rows
        As = np.vstack([As, np.sqrt(r / 2.0) * np.eye(d)])
        bs = np.concatenate([bs, np.zeros(d)])
    x = scipy.linalg.lstsq(As, bs)[0]
    dx = scipy.linalg.lstsq(As, bs - As @ x)[0]  # one step of iterative refinement
    return x + dx


def _solve_least_squares_dual(A, bs, w, r):
    """argmin_x ||As x - bs||^2 + (r/2) ||x||^2, As = diag(w) A (N x d), r > 0, by the N x N dual.

    grad = 2 As^T (As x - bs) + r x = 0 gives x = As^T alpha with alpha = (2/r) (bs - As x), so
    (2 As As^T + r I_N) alpha = 2 bs (push-through identity): K = 2 As As^T + r I_N is positive
    definite, solved by Cholesky. One step of iterative refinement on the primal system
    H x = 2 As^T bs, H = 2 As^T As + r I_d, with H^{-1} applied through the same factor
    (Woodbury): H^{-1} v = (v - 2 As^T K^{-1} As v) / r; its residual is grad f(x).
    Memory O(N d + N^2), never O(d^2): As is never formed, As As^T = W (A A^T) W.
    """
    K = A @ A.T
    K *= w[:, None]
    K *= w[None, :]
    K *= 2.0
    K[np.diag_indices_from(K)] += r
    cf = scipy.linalg.cho_factor(K)
    x = A.T @ (w * scipy.linalg.cho_solve(cf, 2.0 * bs))
    g = 2.0 * (A.T @ (w * (w * (A @ x) - bs))) + r * x  # one step of iterative refinement
    return x - (g - 2.0 * (A.T @ (w * scipy.linalg.cho_solve(cf, w * (A @ g))))) / r


def _solve_logistic(problem):
    """Damped Newton from 0 on f = sum f_i, until ||grad f|| <= 1e-13 ||grad f(0)|| or stalled."""
    d = problem.dim
    x = np.zeros(d)
    g = _full_gradient(problem, x)
    g0 = np.linalg.norm(g)
    fx = problem.f(x)
    if g0 == 0.0:
        return x
    stalls = 0
    for _ in range(200):
        gn = np.linalg.norm(g)
        if gn <= 1e-13 * g0:
            break
        X = np.broadcast_to(x, (problem.n, d))
        H = problem.local_hessians(X).sum(axis=0)
        step = scipy.linalg.solve(H, -g, assume_a="pos")
        t = 1.0
        # Newton decrement^2 = -g.step: once it is below the rounding of f, an Armijo test only
        # compares noise (and accepts steps too small to matter, stalling the solve above 1e-10):
        # take the full Newton step, judged by the gradient below.
        flat = -(g @ step) <= 1e-10 * max(1.0, abs(fx))
        while not flat:
            x_new = x + t * step
            f_new = problem.f(x_new)
            if f_new <= fx + 1e-4 * t * (g @ step):
                break
            t *= 0.5
            if t < 1e-12:
                flat = True
                break
        if flat:  # near the optimum f is flat to rounding: judge the full step by the gradient
            x_new = x + step
            f_new = problem.f(x_new)
        g_new = _full_gradient(problem, x_new)
        if np.linalg.norm(g_new) >= gn:
            stalls += 1
            if stalls >= 3:
                break
            if t < 1e-12:
                break
        else:
            stalls = 0
        if np.linalg.norm(g_new) < gn or f_new < fx:
            x, g, fx = x_new, g_new, f_new
    return x


#: kind -> (the config key that sets a problem's conditioning, what to do with it): a problem
#: that is not strongly convex, or too ill-conditioned for double precision, is refused with the
#: advice of its own kind (a quadratic has no reg, a least-squares problem no kappa)
CONDITIONING_ADVICE = {
    "quadratic": ("problem.kappa", "lower problem.kappa"),
    "averaging": ("problem.dim", "lower problem.dim"),
    "least_squares": ("problem.reg", "set problem.reg > 0 or problem.samples_per_node > dim"),
    "logistic": ("problem.reg", "raise problem.reg"),
    "libsvm": ("problem.reg", "set problem.reg > 0 (or split the file over fewer nodes)"),
}


def conditioning_advice(params: dict, field: str | None = None) -> tuple[str, str]:
    """(config key, advice) for a problem that is badly conditioned: those of its kind
    (``CONDITIONING_ADVICE``), else ``field`` (default problem.reg) and regularisation."""
    kind = params.get("kind")
    if kind in CONDITIONING_ADVICE and field is None:
        return CONDITIONING_ADVICE[kind]
    return field or "problem.reg", "set reg > 0"


def build_problem(name, oracle, *, params, const=None, field=None, local=None, nodes=None,
                  n=None, sums=LOCAL):
    """Compute constants and x* of an oracle and return the Problem.

    ``local``: (L_local, mu_local), the (n,) smoothness and strong-convexity constants of the
    f_i when the constructor knows them exactly (the eigenvalues it built the Hessians from);
    None computes them from the data (``local_constants``).

    ``nodes``, ``n``, ``sums``: the oracle (and ``local``, ``const``) hold the data of these
    nodes of an n-node problem only, called by node id (``oracle_of_nodes``), and the other
    nodes are held by the other processes of ``sums`` (``dadao.reproducible``), which call this
    together: every one gets the constants, x* and f* of the whole problem, bit for bit, and the
    Problem of its nodes (``Problem.nodes``). QUADRATIC oracles only.

    Raises ProblemError if the problem is not strongly convex, if its condition number L/mu is
    above KAPPA_MAX, or if the central solver cannot certify x* to 1e-10 relative accuracy; the
    error names the config key of the problem's kind that sets its conditioning (``field``
    overrides it) and advises only that kind's keys (``CONDITIONING_ADVICE``).
    """
    o = oracle
    if o.kind == QUADRATIC:
        held, d = o.c.shape
    else:
        held, d = o.offsets.shape[0] - 1, o.A.shape[1]
    if nodes is None:
        n = held
    elif o.kind != QUADRATIC:
        raise ValueError("a problem of some nodes only is built for QUADRATIC oracles")
    if const is None:
        const = np.zeros(held if o.kind == QUADRATIC else 0)
    const = np.array(const, dtype=np.float64)
    const.flags.writeable = False
    key, advice = conditioning_advice(params, field)

    if local is None:
        L_local, mu_local = local_constants(o)
    else:
        L_local, mu_local = (np.array(v, dtype=np.float64) for v in local)
    if nodes is not None:
        # every node's constants on every process: disjoint entries, so the sum is exact
        nodes = np.asarray(nodes, dtype=np.int64)
        spread = np.zeros((2, n))
        spread[0, nodes], spread[1, nodes] = L_local, mu_local
        L_local, mu_local = sums.sum(spread)
    L = float(L_local.max())
    mu = float(mu_local.min())
    worst = int(np.argmin(mu_local))
    if not mu > 0.0 or not np.isfinite(L):
        raise ProblemError(
            f"{name} is not strongly convex: mu_{worst} = {mu:.3g} at node {worst}"
            f" (L = {L:.3g}, dim = {d}); {advice}", field=key)
    # the eigenvalues carry rounding errors of about 1e-16 L: a nominal kappa of exactly
    # KAPPA_MAX (a quadratic's own kappa) must not be refused for its last digit
    if L / mu > KAPPA_MAX * (1.0 + 1e-9):
        raise ProblemError(
            f"{name} has condition number L/mu = {L / mu:.6g} (L = {L:.6g}, mu_{worst} = "
            f"{mu:.3g} at node {worst}), above {KAPPA_MAX:g}: not strongly convex in double "
            f"precision; {advice}", field=key)
    L_local.flags.writeable = False
    mu_local.flags.writeable = False

    # A provisional Problem gives the numpy oracles to the solvers.
    proto = Problem(
        name=name, n=n, dim=d, oracle=o, L_local=L_local, mu_local=mu_local, L=L, mu=mu,
        kappa=L / mu, x_star=np.zeros(d), f_star=0.0, params=dict(params), const=const,
        x_star_error_bound=np.inf,
    )
    try:
        if o.kind == QUADRATIC:
            total = total_hessian(o, n, sums)
            x = _solve_quadratic(o, total, n, sums)
        elif o.kind == LEAST_SQUARES:
            x = _solve_least_squares_rows(o)
        else:
            x = _solve_logistic(proto)
    except (np.linalg.LinAlgError, ValueError) as e:
        raise ProblemError(f"the central solver failed on {name} ({e}); {advice}",
                           field=key) from None

    g = _quadratic_gradient(o, x, n, sums) if o.kind == QUADRATIC else _full_gradient(proto, x)
    bound = float(np.linalg.norm(g) / mu_local.sum())
    xn = float(np.linalg.norm(x))
    rel = bound / xn if xn > 0 else bound
    if not rel <= X_STAR_RTOL:
        raise ProblemError(
            f"could not solve {name} to {X_STAR_RTOL:g} relative accuracy: kappa = "
            f"{L / mu:.3g} is too ill-conditioned for double precision (certified bound "
            f"{rel:.2g}); {advice}", field=key)
    x.flags.writeable = False
    f_star = _quadratic_value(o, const, x, n, sums) if o.kind == QUADRATIC else proto.f(x)
    problem = Problem(
        name=name, n=n, dim=d, oracle=o, L_local=L_local, mu_local=mu_local, L=L, mu=mu,
        kappa=L / mu, x_star=x, f_star=f_star, params=dict(params), const=const,
        x_star_error_bound=rel, nodes=nodes,
    )
    if nodes is not None:  # the same bits as the whole problem's lazy root
        keep_curvature_root(problem, root_of(total) if d <= CURVATURE_MAX_DIM else None)
    return problem

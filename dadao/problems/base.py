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

import numba
import numpy as np
import scipy.linalg
from scipy.special import expit

from dadao.errors import ProblemError
from dadao.reproducible import LOCAL, column_sums, streamed_column_sums
from .oracle import (KIND_NAMES, LEAST_SQUARES, LOGISTIC, QUADRATIC, Oracle, sigmoid_neg, local_gradient,
                     local_value)

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
    #: (R,) with R the curvature root (or None: it has none) when it was computed with the
    #: other processes: a problem of some nodes cannot build it from its own rows later. None:
    #: built from the data on first use (``_curvature_root``)
    shared_root: tuple | None = field(default=None, repr=False)

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
        if self.oracle.kind != QUADRATIC:  # the sum f* and f(x) - f* are taken with
            self._require_every_node()
            return rows_value(self.oracle, x, self.n)
        return float(self.local_values(np.broadcast_to(x, (self.n, self.dim))).sum())

    def suboptimality(self, x, sums=LOCAL, nodes=None) -> float:
        """f(x) - f* at one point x (d,), without cancellation where f is quadratic.

        Quadratic and least-squares f: f(x) - f* = 1/2 e^T (sum_i H_i) e with e = x - x*, since
        grad f(x*) = 0; this keeps full relative accuracy down to 1e-30 and below, where
        f(x) - f* loses everything below ~1e-16 |f*| (|f*| ~ 1e7 on the paper's reference run).
        Logistic: f(x) - f*, whose terms are O(1) per node. Without the d x d root (logistic,
        least squares above CURVATURE_MAX_DIM) the sum over nodes is reproducible: this
        process adds the terms of ``nodes`` (default: every node it holds) and ``sums``
        combines them with the other processes' (collective; the same bits on every process,
        at any split of the nodes).
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
        if o.kind == LOGISTIC:
            return rows_value(o, x, self.n, sums, nodes) - self.f_star
        if o.kind == LEAST_SQUARES:
            return rows_curvature(o, e, self.n, sums, nodes)
        self._require_every_node()
        return float(0.5 * np.einsum("nij,i,j->", o.H, e, e))

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
        if self.shared_root is not None:
            return self.shared_root[0]
        o = self.oracle
        if o.kind not in (QUADRATIC, LEAST_SQUARES) or self.dim > CURVATURE_MAX_DIM:
            return None
        self._require_every_node()  # a problem of some nodes got its root when it was built
        if o.kind == QUADRATIC:
            H = total_hessian(o, self.n)
        else:
            H = rows_hessian(o, np.zeros(self.dim), self.n)
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


# The QUADRATIC problems' global numbers are sums over nodes of per-node numbers, taken as
# reproducible sums (``dadao.reproducible``): the same bits from every node's data in one process
# as from each MPI rank's nodes combined through ``sums`` (``build_problem(nodes=...)``).


def root_of(H: np.ndarray) -> np.ndarray:
    """R = diag(sqrt(w)) V^T (read-only) of H = V diag(w) V^T, symmetrised, w clipped at 0."""
    w, V = np.linalg.eigh(0.5 * (H + H.T))
    root = np.sqrt(np.clip(w, 0.0, None))[:, None] * V.T
    root.flags.writeable = False
    return root


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


# The rows oracles' (LEAST_SQUARES, LOGISTIC) global numbers: sums over nodes of each node's
# value, gradient and Hessian at a common point, node by node in compiled loops (a node's
# numbers do not depend on where its rows lie in memory, nor on which other nodes are held:
# BLAS may block its sums by alignment) and reproducible across the nodes, as for QUADRATIC.

#: entries of the per-node Hessians made at a time by ``rows_hessian`` (8 MB)
HESSIAN_BLOCK_ENTRIES = 1 << 20
#: Newton steps of ``_solve_rows`` (least squares: the first is exact up to rounding, the others
#: refine it with the residual computed from the rows)
NEWTON_STEPS = 200


def _by_row(o):
    """The oracle called by row (its ``rows`` map dropped): row r is the r-th node held."""
    return o._replace(rows=o.rows[:0])


def rows_of(o, nodes=None) -> np.ndarray:
    """The rows of ``nodes`` in the oracle's arrays (int64); None: every row it holds."""
    if nodes is None:
        return np.arange(o.offsets.shape[0] - 1 if o.kind != QUADRATIC else o.c.shape[0],
                         dtype=np.int64)
    nodes = np.asarray(nodes, dtype=np.int64)
    return o.rows[nodes] if o.rows.size else nodes


@numba.njit(cache=True)
def _node_gradients(oracle, x, rows, out):
    """out[k] = grad f at x of the node held in row rows[k]."""
    for k in range(rows.shape[0]):
        local_gradient(oracle, rows[k], x, out[k])


@numba.njit(cache=True)
def _node_values(oracle, x, rows, out):
    """out[k, 0] = f at x of the node held in row rows[k]."""
    for k in range(rows.shape[0]):
        out[k, 0] = local_value(oracle, rows[k], x)


@numba.njit(cache=True)
def _node_curvatures(oracle, e, rows, out):
    """out[k, 0] = (1/m) ||A e||^2 + (reg/2) ||e||^2 of the least-squares node in row rows[k]:
    f_i(x* + e) - f_i(x*) - grad f_i(x*)^T e, exactly, without f_i's cancellation."""
    A = oracle.A
    d = e.shape[0]
    sq = 0.0
    for p in range(d):
        sq += e[p] * e[p]
    for k in range(rows.shape[0]):
        r = rows[k]
        lo = oracle.offsets[r]
        hi = oracle.offsets[r + 1]
        v = 0.0
        for j in range(lo, hi):
            z = 0.0
            for p in range(d):
                z += A[j, p] * e[p]
            v += z * z
        out[k, 0] = v / (hi - lo) + 0.5 * oracle.reg[r] * sq


@numba.njit(cache=True)
def _node_hessian_products(oracle, v, rows, out):
    """out[k] = (2/m) A^T (A v) + reg v: the Hessian of the least-squares node in row rows[k]
    times v, summed over its rows in order."""
    A = oracle.A
    d = v.shape[0]
    for k in range(rows.shape[0]):
        r = rows[k]
        lo = oracle.offsets[r]
        hi = oracle.offsets[r + 1]
        o = out[k]
        for p in range(d):
            o[p] = 0.0
        for j in range(lo, hi):
            z = 0.0
            for p in range(d):
                z += A[j, p] * v[p]
            for p in range(d):
                o[p] += z * A[j, p]
        scale = 2.0 / (hi - lo)
        reg = oracle.reg[r]
        for p in range(d):
            o[p] = scale * o[p] + reg * v[p]


@numba.njit(cache=True)
def _node_hessians(oracle, x, r0, out):
    """out[k] (d, d) = the Hessian at x of the f of the node held in row r0 + k:
    (2/m) sum a a^T + reg I (least squares), (1/m) sum s(1 - s) a a^T + reg I with
    s = sigmoid(a^T x) (logistic), summed over the node's rows in order."""
    A = oracle.A
    d = A.shape[1]
    for k in range(out.shape[0]):
        H = out[k]
        for p in range(d):
            for q in range(d):
                H[p, q] = 0.0
        lo = oracle.offsets[r0 + k]
        hi = oracle.offsets[r0 + k + 1]
        for j in range(lo, hi):
            if oracle.kind == 1:
                w = 2.0
            else:
                z = 0.0
                for p in range(d):
                    z += A[j, p] * x[p]
                w = sigmoid_neg(z) * sigmoid_neg(-z)
            for p in range(d):
                wp = w * A[j, p]
                for q in range(p, d):
                    H[p, q] += wp * A[j, q]
        scale = 1.0 / (hi - lo)
        reg = oracle.reg[r0 + k]
        for p in range(d):
            H[p, p] = scale * H[p, p] + reg
            for q in range(p + 1, d):
                v = scale * H[p, q]
                H[p, q] = v
                H[q, p] = v


def _sum_over_nodes(kernel, o, x, width: int, n: int, sums, nodes=None) -> np.ndarray:
    """The reproducible sum over nodes of ``kernel``'s (width,) numbers of each node at x:
    those of ``nodes`` (default: every node held) on this process, the others' combined
    through ``sums``."""
    rows = rows_of(o, nodes)
    out = np.empty((len(rows), width))
    kernel(_by_row(o), np.ascontiguousarray(x, dtype=np.float64), rows, out)
    return column_sums((out,), n, sums)


def rows_value(o, x, n: int, sums=LOCAL, nodes=None) -> float:
    """f(x) = sum_i f_i(x) of a rows oracle (``nodes`` and ``sums``: ``_sum_over_nodes``)."""
    return float(_sum_over_nodes(_node_values, o, x, 1, n, sums, nodes)[0])


def rows_curvature(o, e, n: int, sums=LOCAL, nodes=None) -> float:
    """f(x* + e) - f* = sum_i (1/m_i) ||A_i e||^2 + (reg_i/2) ||e||^2 of a least-squares
    oracle (``_node_curvatures``; ``nodes`` and ``sums`` as for ``rows_value``)."""
    return float(_sum_over_nodes(_node_curvatures, o, e, 1, n, sums, nodes)[0])


def rows_gradient(o, x, n: int, sums=LOCAL) -> np.ndarray:
    """grad f(x) = sum_i grad f_i(x) of a rows oracle."""
    return _sum_over_nodes(_node_gradients, o, x, o.A.shape[1], n, sums)


def rows_hessian_product(o, v, n: int, sums=LOCAL) -> np.ndarray:
    """(sum_i Hessian f_i) v of a least-squares rows oracle, O(n d) memory."""
    return _sum_over_nodes(_node_hessian_products, o, v, o.A.shape[1], n, sums)


def rows_hessian(o, x, n: int, sums=LOCAL) -> np.ndarray:
    """sum_i Hessian f_i(x) (d, d) of a rows oracle, the nodes' Hessians made a block at a time
    (``streamed_column_sums``): O(d^2) memory beyond the data, never O(n d^2)."""
    held, d = o.offsets.shape[0] - 1, o.A.shape[1]
    plain = _by_row(o)
    x = np.ascontiguousarray(x, dtype=np.float64)
    step = max(1, HESSIAN_BLOCK_ENTRIES // max(d * d, 1))
    buffer = np.empty((min(step, held), d, d))

    def blocks():
        for r0 in range(0, held, step):
            out = buffer[: min(step, held - r0)]
            _node_hessians(plain, x, r0, out)
            yield out.reshape(len(out), d * d)

    return streamed_column_sums(blocks, d * d, n, sums).reshape(d, d)


def _solve_rows(o, n: int, sums=LOCAL):
    """x* of a rows oracle whose Hessian fits in memory (d <= CURVATURE_MAX_DIM), from the sums
    over nodes alone (``rows_value``, ``rows_gradient``, ``rows_hessian``: the same bits on
    every process of ``sums``), by Newton's method from 0 (damped for logistic losses), until
    ||grad f|| stops falling or is below 1e-13 ||grad f(0)||; ``build_problem`` certifies it.

    Least squares: the Hessian is constant, factored once; the first step solves the normal
    equations, each further one is a step of iterative refinement whose residual is the
    gradient computed from the rows, so the accuracy is that of the rows, not of the normal
    equations (which square the condition number)."""
    d = o.A.shape[1]
    x = np.zeros(d)
    g = rows_gradient(o, x, n, sums)
    if not np.any(g):
        return x
    if o.kind == LOGISTIC:
        return _damped_newton(o, n, sums, x, g)
    factor = scipy.linalg.cho_factor(rows_hessian(o, x, n, sums))
    best = np.inf
    for _ in range(NEWTON_STEPS):
        x_new = x - scipy.linalg.cho_solve(factor, g)
        g_new = rows_gradient(o, x_new, n, sums)
        norm = float(np.linalg.norm(g_new))
        if not norm < best:  # refinement has reached the rounding of the rows
            break
        x, g = x_new, g_new
        if not norm < 0.5 * best:
            break
        best = norm
    return x


#: conjugate-gradient steps of one pass of ``_solve_rows_cg``, and its passes at most
CG_STEPS = 2000
CG_PASSES = 4


def _solve_rows_cg(o, n: int, modulus: float, sums=LOCAL):
    """x* of a least-squares rows oracle of any dimension, from sums over nodes alone, or None
    when it cannot be certified (``build_problem``'s certificate, modulus = sum_i mu_i).

    Conjugate gradients on H x = c, H v = sum_i (Hessian f_i) v (``rows_hessian_product``),
    c = -grad f(0): O(n d) memory, never d x d. A pass runs until its recurred residual is
    below 1e-13 ||c|| (or CG_STEPS); then the gradient is computed from the rows, and a new
    pass starts from x on that residual until it is certified and stops falling. Every
    vector is the same on every process of ``sums``: so is x."""
    x = np.zeros(o.A.shape[1])
    c = -rows_gradient(o, x, n, sums)
    scale = float(np.linalg.norm(c))
    if scale == 0.0:
        return x
    r, best, certified = c, np.inf, False
    for _ in range(CG_PASSES):
        p = r.copy()
        rr = float(r @ r)
        for _ in range(CG_STEPS):
            Hp = rows_hessian_product(o, p, n, sums)
            curvature = float(p @ Hp)
            if not curvature > 0.0:
                break
            alpha = rr / curvature
            x = x + alpha * p
            r = r - alpha * Hp
            rr_new = float(r @ r)
            if np.sqrt(rr_new) <= 1e-13 * scale:
                break
            p = r + (rr_new / rr) * p
            rr = rr_new
        g = rows_gradient(o, x, n, sums)
        norm = float(np.linalg.norm(g))
        certified = norm / modulus <= X_STAR_RTOL * max(float(np.linalg.norm(x)), 1e-300)
        if certified and not norm < 0.5 * best:
            return x
        best = min(best, norm)
        r = -g
    return x if certified else None


def _damped_newton(o, n, sums, x, g):
    """Damped Newton on a logistic f = sum f_i from x (gradient g) until ||grad f|| <= 1e-13
    of its start or stalled (three steps that do not lower it)."""
    fx = rows_value(o, x, n, sums)
    g0 = np.linalg.norm(g)
    stalls = 0
    for _ in range(NEWTON_STEPS):
        gn = np.linalg.norm(g)
        if gn <= 1e-13 * g0:
            break
        step = scipy.linalg.solve(rows_hessian(o, x, n, sums), -g, assume_a="pos")
        t = 1.0
        # Newton decrement^2 = -g.step: once it is below the rounding of f, an Armijo test only
        # compares noise (and accepts steps too small to matter, stalling the solve above 1e-10):
        # take the full Newton step, judged by the gradient below.
        flat = -(g @ step) <= 1e-10 * max(1.0, abs(fx))
        while not flat:
            x_new = x + t * step
            f_new = rows_value(o, x_new, n, sums)
            if f_new <= fx + 1e-4 * t * (g @ step):
                break
            t *= 0.5
            if t < 1e-12:
                flat = True
                break
        if flat:  # near the optimum f is flat to rounding: judge the full step by the gradient
            x_new = x + step
            f_new = rows_value(o, x_new, n, sums)
        g_new = rows_gradient(o, x_new, n, sums)
        if np.linalg.norm(g_new) >= gn:
            stalls += 1
            if stalls >= 3 or t < 1e-12:
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
                  n=None, sums=LOCAL, numbers=None):
    """Compute constants and x* of an oracle and return the Problem.

    ``local``: (L_local, mu_local), the (n,) smoothness and strong-convexity constants of the
    f_i when the constructor knows them exactly (the eigenvalues it built the Hessians from);
    None computes them from the data (``local_constants``).

    ``nodes``, ``n``, ``sums``: the oracle (and ``local``, ``const``) hold the data of these
    nodes of an n-node problem only, called by node id (``oracle_of_nodes``), and the other
    nodes are held by the other processes of ``sums`` (``dadao.reproducible``), which call this
    together: every one gets the constants, x* and f* of the whole problem, bit for bit, and the
    Problem of its nodes (``Problem.nodes``). x* of a rows oracle: Newton on the total Hessian
    up to CURVATURE_MAX_DIM (``_solve_rows``); above, for least squares, conjugate gradients
    (``_solve_rows_cg``; the dual or stacked solve of every node's rows where they fail),
    and a logistic problem of some nodes needs d <= CURVATURE_MAX_DIM.
    ``numbers``: the whole problem's numbers computed before (a ``summary_of`` of the same
    problem): they are taken as they are, and nothing is solved again.

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
    elif o.kind == LOGISTIC and d > CURVATURE_MAX_DIM:
        raise ValueError(f"a logistic problem of some nodes only needs d <= {CURVATURE_MAX_DIM}")
    if const is None:
        const = np.zeros(held if o.kind == QUADRATIC else 0)
    const = np.array(const, dtype=np.float64)
    const.flags.writeable = False
    key, advice = conditioning_advice(params, field)
    if numbers is not None:
        return _with_numbers(numbers, o, const, nodes, params)

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

    try:
        if o.kind == QUADRATIC:
            total = total_hessian(o, n, sums)
            x = _solve_quadratic(o, total, n, sums)
        elif o.kind == LEAST_SQUARES and d > CURVATURE_MAX_DIM:
            x = _solve_rows_cg(o, n, float(mu_local.sum()), sums)
            if x is None and nodes is not None:
                raise ProblemError(
                    f"conjugate gradients from the ranks' sums could not certify x* of {name} "
                    f"to {X_STAR_RTOL:g}; set mpi.data = \"whole\" (the dual solve reads every "
                    f"node's rows) or {advice}", field="mpi.data")
            if x is None:
                x = _solve_least_squares_rows(o)
        else:
            x = _solve_rows(o, n, sums)
    except (np.linalg.LinAlgError, ValueError) as e:
        raise ProblemError(f"the central solver failed on {name} ({e}); {advice}",
                           field=key) from None

    g = _quadratic_gradient(o, x, n, sums) if o.kind == QUADRATIC else rows_gradient(o, x, n, sums)
    bound = float(np.linalg.norm(g) / mu_local.sum())
    xn = float(np.linalg.norm(x))
    rel = bound / xn if xn > 0 else bound
    if not rel <= X_STAR_RTOL:
        raise ProblemError(
            f"could not solve {name} to {X_STAR_RTOL:g} relative accuracy: kappa = "
            f"{L / mu:.3g} is too ill-conditioned for double precision (certified bound "
            f"{rel:.2g}); {advice}", field=key)
    x.flags.writeable = False
    f_star = (_quadratic_value(o, const, x, n, sums) if o.kind == QUADRATIC
              else rows_value(o, x, n, sums))
    shared_root = None
    if nodes is not None:  # the same bits as the whole problem's lazy root
        root = None
        if d <= CURVATURE_MAX_DIM and o.kind == QUADRATIC:
            root = root_of(total)
        elif d <= CURVATURE_MAX_DIM and o.kind == LEAST_SQUARES:
            root = root_of(rows_hessian(o, np.zeros(d), n, sums))
        shared_root = (root,)
    return Problem(
        name=name, n=n, dim=d, oracle=o, L_local=L_local, mu_local=mu_local, L=L, mu=mu,
        kappa=L / mu, x_star=x, f_star=f_star, params=dict(params), const=const,
        x_star_error_bound=rel, nodes=nodes, shared_root=shared_root,
    )


def _with_numbers(numbers: Problem, oracle, const, nodes, params) -> Problem:
    """The Problem of ``oracle`` (some nodes' data) with the whole problem's numbers of
    ``numbers`` (a ``summary_of`` built before), its curvature root included."""
    if not (numbers.oracle.kind == oracle.kind and numbers.params == dict(params)):
        raise ValueError("the numbers given are those of another problem")
    return Problem(
        name=numbers.name, n=numbers.n, dim=numbers.dim, oracle=oracle,
        L_local=numbers.L_local, mu_local=numbers.mu_local, L=numbers.L, mu=numbers.mu,
        kappa=numbers.kappa, x_star=numbers.x_star, f_star=numbers.f_star,
        params=dict(params), const=const, x_star_error_bound=numbers.x_star_error_bound,
        nodes=nodes, shared_root=(numbers.curvature_root,))

"""The metrics of one sample (``dadao.trace`` defines them), from sums that no split of the rows
changes.

    dist_to_opt   = (1/n) sum_i ||x_i - x*||^2
    consensus     = (1/n) sum_i ||x_i - xbar||^2,   xbar = (1/n) sum_i x_i
    suboptimality = f(xbar) - f* = 1/2 ||R (xbar - x*)||^2   (R^T R = sum_i Hessian f_i)

A node's terms are summed over its coordinates in order. The sums over nodes are *reproducible*
(pre-rounding in FOLDS folds, as in Demmel and Nguyen, "Fast reproducible floating-point
summation", ARITH 2013): with a bound M >= max_i |v_i| agreed first, let 2^e > M and
W = 52 - ceil(log2(n + 1)). Fold k = 1, 2, 3 rounds each value's remainder r to the grid
g_k = 2^(e - k W) by (r + s_k) - s_k, s_k = 1.5 2^52 g_k, which is exact, and adds the rounded
part q to S_k. Every q of fold k is an integer multiple of g_k of magnitude at most
(2^W + 1) g_k, so S_k, a sum of n of them, stays below 2^53 g_k: it is exact whatever the order
and grouping of the additions. The sum is fl(fl(S_1 + S_2) + S_3), a function of the multiset of
values alone, within n 2^(e - 3W) + 2 eps |sum| of the exact sum.

So an MPI rank computes its rows' bounds and folds, the ranks combine them (``Sums``: a
maximum, then a sum), and every rank gets the same bits as one process holding every row, at
any number of ranks, without any process holding the n x d iterates. A value that is not finite
makes its bound infinite; the sum is then the plain sum of the values, whose inf or NaN does not
depend on the order either. The suboptimality is computed from xbar, the same on every rank.
Without a root R (logistic losses, d above ``dadao.problems.base.CURVATURE_MAX_DIM``) or for
d above ``ROOT_IN_LOOP_MAX_DIM``, it is ``Problem.suboptimality(xbar)``.
"""

from __future__ import annotations

import math

import numba
import numpy as np

#: up to this dimension the product R (xbar - x*) is done in the compiled pass; above, by BLAS
ROOT_IN_LOOP_MAX_DIM = 64
#: folds of the reproducible sums (module docstring)
FOLDS = 3


class LocalSums:
    """The reductions of one process that holds every row: the identity."""

    @staticmethod
    def max(values: np.ndarray) -> np.ndarray:
        return values

    @staticmethod
    def sum(values: np.ndarray) -> np.ndarray:
        return values


LOCAL = LocalSums()


def fold_width(n: int) -> int:
    """W = 52 - ceil(log2(n + 1)): the bits of a fold for sums of n values."""
    return 52 - math.ceil(math.log2(n + 1))


@numba.njit(cache=True, inline="always")
def _bound_of(v):
    """|v|, or inf when v is NaN (a bound must mark every value that is not finite)."""
    a = abs(v)
    return a if a == a else math.inf


@numba.njit(cache=True)
def first_pass(X, x_star, dist_rows, bounds):
    """dist_rows[i] = ||X[i] - x*||^2; bounds[:d] = max_i |X[i, j]| of each column, bounds[d] =
    max_i dist_rows[i] (NaN counted as inf)."""
    m, d = X.shape
    for j in range(d + 1):
        bounds[j] = 0.0
    for i in range(m):
        s = 0.0
        for j in range(d):
            v = X[i, j]
            b = _bound_of(v)
            if b > bounds[j]:
                bounds[j] = b
            e = v - x_star[j]
            s += e * e
        dist_rows[i] = s
        b = _bound_of(s)
        if b > bounds[d]:
            bounds[d] = b


@numba.njit(cache=True)
def squared_distances(X, centre, out):
    """out[i] = ||X[i] - centre||^2; the bound of the values (NaN counted as inf)."""
    m, d = X.shape
    bound = 0.0
    for i in range(m):
        s = 0.0
        for j in range(d):
            e = X[i, j] - centre[j]
            s += e * e
        out[i] = s
        b = _bound_of(s)
        if b > bound:
            bound = b
    return bound


@numba.njit(cache=True, inline="always")
def _fold(v, bound, width, folds, column):
    """Add v to the FOLDS folds folds[:, column] of a sum whose values are bounded by
    ``bound`` (module docstring); a non-finite bound: the plain sum, in folds[0]."""
    if not math.isfinite(bound):
        folds[0, column] += v
        return
    if bound == 0.0:
        return
    _, e = math.frexp(bound)  # bound < 2^e
    r = v
    for k in range(folds.shape[0]):
        s = math.ldexp(1.5, e - (k + 1) * width + 52)
        q = (r + s) - s
        folds[k, column] += q
        r -= q


@numba.njit(cache=True)
def fold_columns(X, bounds, width, folds):
    """folds[:, j] += the folds of column j of X (bounded by bounds[j])."""
    m, d = X.shape
    for i in range(m):
        for j in range(d):
            _fold(X[i, j], bounds[j], width, folds, j)


@numba.njit(cache=True)
def fold_values(values, bound, width, folds, column):
    """folds[:, column] += the folds of the values (bounded by ``bound``)."""
    for i in range(values.shape[0]):
        _fold(values[i], bound, width, folds, column)


def totals(folds: np.ndarray) -> np.ndarray:
    """fl(fl(S_1 + S_2) + S_3) of each column of the combined folds."""
    out = folds[0].copy()
    for k in range(1, folds.shape[0]):
        out += folds[k]
    return out


@numba.njit(cache=True)
def root_suboptimality(root, xbar, x_star):
    """1/2 ||R (xbar - x*)||^2, NaN when xbar is not finite."""
    d = xbar.shape[0]
    for j in range(d):
        if not math.isfinite(xbar[j]):
            return math.nan
    subopt = 0.0
    for k in range(d):
        r = 0.0
        for j in range(d):
            r += root[k, j] * (xbar[j] - x_star[j])
        subopt += r * r
    return 0.5 * subopt


def metrics(X: np.ndarray, problem, sums=LOCAL) -> tuple[float, float, float]:
    """(dist_to_opt, suboptimality, consensus) of the iterates of ``problem`` whose rows X
    (m, d) this process holds: all n of them with ``sums`` = LOCAL, else this rank's, the
    ranks combining their bounds and folds through ``sums`` (``max`` and ``sum`` of an array,
    across ranks). Collective across those ranks; the same bits on every one."""
    X = np.ascontiguousarray(X, dtype=np.float64)
    n, d = problem.n, problem.dim
    width = fold_width(n)
    dist_rows = np.empty(X.shape[0])
    bounds = np.empty(d + 1)
    first_pass(X, problem.x_star, dist_rows, bounds)
    bounds = sums.max(bounds)
    folds = np.zeros((FOLDS, d + 1))
    fold_columns(X, bounds[:d], width, folds[:, :d])
    fold_values(dist_rows, bounds[d], width, folds, d)
    total = totals(sums.sum(folds))
    xbar = total[:d] / n
    dist = total[d] / n
    cons_rows = np.empty(X.shape[0])
    cons_bound = sums.max(np.array([squared_distances(X, xbar, cons_rows)]))[0]
    cons_folds = np.zeros((FOLDS, 1))
    fold_values(cons_rows, cons_bound, width, cons_folds, 0)
    consensus = totals(sums.sum(cons_folds))[0] / n
    root = problem.curvature_root if d <= ROOT_IN_LOOP_MAX_DIM else None
    if root is not None:
        subopt = root_suboptimality(root, xbar, problem.x_star)
    else:
        subopt = (problem.suboptimality(xbar) if np.all(np.isfinite(xbar))
                  else float("nan"))
    return float(dist), float(subopt), float(consensus)

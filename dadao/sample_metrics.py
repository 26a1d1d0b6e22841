"""The metrics of one sample (``dadao.trace`` defines them), from sums that no split of the rows
changes.

    dist_to_opt   = (1/n) sum_i ||x_i - x*||^2
    consensus     = (1/n) sum_i ||x_i - xbar||^2,   xbar = (1/n) sum_i x_i
    suboptimality = f(xbar) - f* = 1/2 ||R (xbar - x*)||^2   (R^T R = sum_i Hessian f_i)

A node's terms are summed over its coordinates in order, and the sums over nodes are
reproducible (``dadao.reproducible``): an MPI rank computes its rows' part, the ranks combine
them (``sums``), and every rank gets the bits one process holding every row computes, at any
number of ranks, without any process holding the n x d iterates. The suboptimality is computed
from xbar, the same on every rank. Without a root R (logistic losses, d above
``dadao.problems.base.CURVATURE_MAX_DIM``) or for d above ``ROOT_IN_LOOP_MAX_DIM``, it is
``Problem.suboptimality(xbar)``.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from dadao.reproducible import LOCAL, column_sums

#: up to this dimension the product R (xbar - x*) is done in the compiled pass; above, by BLAS
ROOT_IN_LOOP_MAX_DIM = 64


@numba.njit(cache=True)
def squared_distances(X, centre, out):
    """out[i] = ||X[i] - centre||^2, summed over the coordinates in order."""
    m, d = X.shape
    for i in range(m):
        s = 0.0
        for j in range(d):
            e = X[i, j] - centre[j]
            s += e * e
        out[i] = s


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


def metrics(X: np.ndarray, problem, sums=LOCAL, nodes=None) -> tuple[float, float, float]:
    """(dist_to_opt, suboptimality, consensus) of the iterates of ``problem`` whose rows X
    (m, d) this process holds: all n of them with ``sums`` = LOCAL, else this rank's (those
    of ``nodes``, increasing), the ranks combining their partial sums through ``sums``
    (``max`` and ``sum`` of an array, across ranks). Collective across those ranks; the same
    bits on every one. A suboptimality summed over nodes (no root) adds the terms of
    ``nodes`` here (default: every node the problem holds)."""
    X = np.ascontiguousarray(X, dtype=np.float64)
    n, d = problem.n, problem.dim
    dist_rows = np.empty((X.shape[0], 1))
    squared_distances(X, problem.x_star, dist_rows[:, 0])
    total = column_sums((X, dist_rows), n, sums)
    xbar = total[:d] / n
    dist = total[d] / n
    cons_rows = np.empty((X.shape[0], 1))
    squared_distances(X, xbar, cons_rows[:, 0])
    consensus = column_sums((cons_rows,), n, sums)[0] / n
    root = problem.curvature_root if d <= ROOT_IN_LOOP_MAX_DIM else None
    if root is not None:
        subopt = root_suboptimality(root, xbar, problem.x_star)
    else:
        # xbar is the same on every rank: all of them take part in the sums, or none
        subopt = (problem.suboptimality(xbar, sums, nodes) if np.all(np.isfinite(xbar))
                  else float("nan"))
    return float(dist), float(subopt), float(consensus)

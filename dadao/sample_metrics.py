"""The metrics of one sample (``dadao.trace`` defines them), in one compiled pass over the iterates.

    dist_to_opt   = (1/n) sum_i ||x_i - x*||^2
    consensus     = (1/n) sum_i ||x_i - xbar||^2,   xbar = (1/n) sum_i x_i
    suboptimality = f(xbar) - f* = 1/2 ||R (xbar - x*)||^2   (R^T R = sum_i Hessian f_i)

Sums run over the nodes in order 0..n-1 and, within a node, over the coordinates, so a sample's
metrics are one function of its iterates whatever engine computed them. Without a root R
(logistic losses, d above ``dadao.problems.base.CURVATURE_MAX_DIM``) or for d above
``ROOT_IN_LOOP_MAX_DIM``, the suboptimality is ``Problem.suboptimality(xbar)``. Between numpy
calls for each of these (a dozen calls of a few microseconds each, and temporaries of the size
of the iterates), one pass: at small n and d the samples of a run would otherwise cost as much
as its events.
"""

from __future__ import annotations

import math

import numba
import numpy as np

#: up to this dimension the product R (xbar - x*) is done in the compiled pass; above, by BLAS
ROOT_IN_LOOP_MAX_DIM = 64


@numba.njit(cache=True)
def metric_sums(X, x_star, root, xbar):
    """(dist_to_opt, consensus, suboptimality) of X (n, d); ``xbar`` (d,) receives the mean
    iterate. ``root``: R (d, d), or a (0, 0) array to leave the suboptimality NaN (the caller
    computes it); NaN too when xbar is not finite."""
    n, d = X.shape
    for j in range(d):
        xbar[j] = 0.0
    dist = 0.0
    for i in range(n):
        s = 0.0
        for j in range(d):
            v = X[i, j]
            xbar[j] += v
            e = v - x_star[j]
            s += e * e
        dist += s
    finite = True
    for j in range(d):
        xbar[j] /= n
        finite = finite and math.isfinite(xbar[j])
    consensus = 0.0
    for i in range(n):
        s = 0.0
        for j in range(d):
            e = X[i, j] - xbar[j]
            s += e * e
        consensus += s
    subopt = math.nan
    if finite and root.shape[0] == d:
        subopt = 0.0
        for k in range(d):
            r = 0.0
            for j in range(d):
                r += root[k, j] * (xbar[j] - x_star[j])
            subopt += r * r
        subopt *= 0.5
    return dist / n, consensus / n, subopt


_NO_ROOT = np.zeros((0, 0))


def metrics(X: np.ndarray, problem) -> tuple[float, float, float]:
    """(dist_to_opt, suboptimality, consensus) of the iterates X (n, d) of ``problem``."""
    X = np.ascontiguousarray(X, dtype=np.float64)
    root = problem.curvature_root if problem.dim <= ROOT_IN_LOOP_MAX_DIM else None
    xbar = np.empty(problem.dim)
    dist, consensus, subopt = metric_sums(X, problem.x_star, _NO_ROOT if root is None else root,
                                          xbar)
    if root is None:
        subopt = (problem.suboptimality(xbar) if np.all(np.isfinite(xbar))
                  else float("nan"))
    return float(dist), float(subopt), float(consensus)

"""Every effective resistance at once, estimated by a random projection (Spielman-Srivastava).

With W the diagonal of the positive rates, B the (signed) edge-node incidence matrix of those
edges and Lambda = B^T W B, every edge e (of any rate) has

    R_e = b_e^T Lambda^+ b_e = ||W^{1/2} B Lambda^+ b_e||^2,

a squared distance between two columns of the m x n matrix W^{1/2} B Lambda^+. A k x m matrix Q
of independent entries +-1/sqrt(k) keeps all of them within a factor 1 +- eps (Spielman and
Srivastava, Graph sparsification by effective resistances, SIAM J. Comput. 40 (2011), 1913-1926,
section 4): the sketch Z = Q W^{1/2} B Lambda^+ has k rows z_i = Lambda^+ B^T W^{1/2} q_i, one
Laplacian solve each, and R~_e = ||Z b_e||^2 = sum_i (z_i[u] - z_i[v])^2.

Number of rows. For one vector x, a projection with entries +-1/sqrt(k) has
P(||Qx||^2 >= (1 + eps) ||x||^2) and P(||Qx||^2 <= (1 - eps) ||x||^2) each below
exp(-(k/2)(eps^2/2 - eps^3/3)) (Achlioptas, Database-friendly random projections:
Johnson-Lindenstrauss with binary coins, J. Comput. Syst. Sci. 66 (2003), 671-687, Theorem 1.1
and its proof; the theorem's k0 = (4 + 2 beta) log(n) / (eps^2/2 - eps^3/3) is this bound summed
over the n^2/2 pairs of n points). Here the m vectors are the columns W^{1/2} B Lambda^+ b_e, so
a union bound over 2m tail events gives: with probability at least 1 - delta, every edge has
(1 - eps) R_e <= ||Z b_e||^2 <= (1 + eps) R_e as soon as

    k >= 2 ln(2 m / delta) / (eps^2/2 - eps^3/3).

(For eps <= 3/4, eps^2/2 - eps^3/3 >= eps^2/4, which gives Spielman and Srivastava's 24 log n /
eps^2 for n points and delta = 1/n.)

Inexact solves. Each z~_i comes from conjugate gradients with true residual r_i; its error
d_i = z~_i - z_i = -Lambda^+ r_i (up to a constant, which no b_e sees) has energy
||d_i||_Lambda^2 = r_i^T Lambda^+ r_i <= ||r_i||^2 / lambda_2, and Cauchy-Schwarz in the
Lambda-inner product gives |d_i^T b_e| <= ||d_i||_Lambda sqrt(R_e). With
eta = sum_i ||r_i||^2 / lambda_2_lower (Mohar's certain lower bound, ``iterative``), the
computed R^_e satisfies, on the event above,

    R^_e / (sqrt(1 + eps) + sqrt(eta))^2 <= R_e <= R^_e / (sqrt(1 - eps) - sqrt(eta))^2,

deterministically in the solves: the only probability is the projection's. The draws come from
numpy's default_rng(seed), so the estimate is a function of (edges, rates, eps, delta, seed).
"""

from __future__ import annotations

import math

import numpy as np

from dadao.graphs.iterative import Preconditioned, lambda_2_lower_bound

SKETCH_EPS = 0.5
SKETCH_DELTA = 1e-3
SKETCH_SEED = 20110101


def rows_needed(m: int, eps: float, delta: float) -> int:
    """k = ceil(2 ln(2 m / delta) / (eps^2/2 - eps^3/3)) (module docstring)."""
    if not (0.0 < eps < 1.0 and 0.0 < delta < 1.0):
        raise ValueError(f"need 0 < eps < 1 and 0 < delta < 1; got eps = {eps}, delta = {delta}")
    return int(math.ceil(2.0 * math.log(2.0 * m / delta) / (eps ** 2 / 2.0 - eps ** 3 / 3.0)))


def sketch_resistances(edges: np.ndarray, lam: np.ndarray, n: int, *, eps: float = SKETCH_EPS,
                       delta: float = SKETCH_DELTA, seed: int = SKETCH_SEED,
                       pre: Preconditioned | None = None, Lam=None) -> tuple[np.ndarray, dict]:
    """(R^, record): the sketched resistance of every edge and what it guarantees.

    record: eps, delta, rows (k), projection_seed, eta, cg_rtol, and the factors ``upper_factor`` =
    1/(sqrt(1 - eps) - sqrt(eta))^2 and ``lower_factor`` = 1/(sqrt(1 + eps) + sqrt(eta))^2 with
    lower_factor R^_e <= R_e <= upper_factor R^_e for every edge with probability >= 1 - delta.
    """
    from dadao.graphs.iterative import CG_RTOL
    from dadao.graphs.spectral import laplacian

    on = lam > 0
    if pre is None:
        pre = Preconditioned(laplacian(edges[on], n, lam[on]) if Lam is None else Lam)
    k = rows_needed(len(edges), eps, delta)
    rng = np.random.default_rng(seed)
    pu, pv, sw = edges[on, 0], edges[on, 1], np.sqrt(lam[on])
    u, v = edges[:, 0], edges[:, 1]
    estimate = np.zeros(len(edges))
    residual_sq = 0.0
    scale = 1.0 / math.sqrt(k)
    for _ in range(k):
        q = np.where(rng.random(len(pu)) < 0.5, -scale, scale) * sw
        y = np.bincount(pu, weights=q, minlength=n) - np.bincount(pv, weights=q, minlength=n)
        z, res = pre.solve(y)
        residual_sq += res * res
        estimate += (z[u] - z[v]) ** 2
    eta = residual_sq / lambda_2_lower_bound(edges, lam, n)
    root = math.sqrt(eta)
    gap = math.sqrt(1.0 - eps) - root
    record = {"eps": eps, "delta": delta, "rows": k, "projection_seed": seed, "eta": eta,
              "cg_rtol": CG_RTOL,
              "upper_factor": 1.0 / gap ** 2 if gap > 0 else math.inf,
              "lower_factor": 1.0 / (math.sqrt(1.0 + eps) + root) ** 2}
    return estimate, record

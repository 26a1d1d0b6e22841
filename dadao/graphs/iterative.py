"""Spectra and Laplacian solves without a factorisation, for graphs too large to factorise.

The matrix is the rate Laplacian Lambda = sum_e lambda_e b_e b_e^T (positive-rate edges only).

- ``Preconditioned``: Lambda with its nodes in reverse Cuthill-McKee order (neighbours get
  close indices, so a matrix-vector product reads memory in order: 4x faster at n = 10^6 on a
  random geometric graph, whose nodes are numbered at random) and a smoothed-aggregation
  algebraic multigrid hierarchy (pyamg, near-null space the constant vector). One V-cycle is the
  preconditioner of every solve and eigensolve here: conjugate gradients on a graph Laplacian
  need O(sqrt(lambda_max / lambda_2)) iterations with Jacobi (thousands at n = 10^6) and a few
  dozen with this preconditioner, whose hierarchy costs a few products to build.
- ``lambda_2``: LOBPCG (Knyazev 2001, scipy.sparse.linalg.lobpcg) on Lambda restricted to the
  complement of the constant vector, block of 3 (lattice-like graphs have a nearly double
  lambda_2), started from the eigenvectors of the coarsest level of the hierarchy interpolated
  to the nodes. The result carries two a-posteriori facts: theta, the smallest Ritz value of a
  subspace orthogonal to 1, is >= lambda_2 (Courant-Fischer), and some eigenvalue of Lambda lies
  within ||r|| of theta (r = Lambda x - theta x, ||x|| = 1: the Krylov-Bogoliubov / Weinstein
  bound). So lambda_2 is in [theta - ||r||, theta] as soon as that eigenvalue is lambda_2; that
  identification rests on LOBPCG's block convergence, which no residual can certify (it needs an
  inertia count, i.e. the factorisation avoided here). chi_1 = 1/lambda_2 is reported as
  1/(theta - ||r||), the upper end.
- ``lambda_2_lower_bound``: lambda_2 >= 4 lambda_min / (n D) with D the hop diameter of the
  positive-rate graph (Mohar, Eigenvalues, diameter, and mean distance in graphs, Graphs and
  Combinatorics 7 (1991), 53-64; Lambda >= lambda_min L_G), with D <= 2 ecc(v) from one
  breadth-first search: weak, but certain, which is what the error bounds of solves need.
- ``solve``: preconditioned conjugate gradients for Lambda z = y (y orthogonal to 1), returning
  the true residual y - Lambda z, from which the error in the energy norm is bounded:
  ||z - Lambda^+ y||_Lambda^2 = r^T Lambda^+ r <= ||r||^2 / lambda_2.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.linalg
import scipy.sparse as sp
import scipy.sparse.csgraph
import scipy.sparse.linalg

from dadao.graphs.resistance_bounds import bfs_distances

#: LOBPCG stops when every Ritz residual is below this times the coarse estimate of lambda_2
LOBPCG_RTOL = 1e-4
LOBPCG_BLOCK = 3
LOBPCG_MAXITER = 500
#: relative residual of the conjugate gradient solves
CG_RTOL = 1e-10


class Preconditioned:
    """Lambda in reverse Cuthill-McKee order with its multigrid hierarchy (module docstring).

    ``perm[i]`` is the original node at position i; vectors passed to the methods below are in
    the original node order.
    """

    def __init__(self, Lam: sp.spmatrix):
        import pyamg

        from dadao.graphs.csr import symmetric_permutation

        Lam = sp.csr_matrix(Lam)
        Lam.sum_duplicates()
        self.n = Lam.shape[0]
        self.perm = scipy.sparse.csgraph.reverse_cuthill_mckee(Lam, symmetric_mode=True)
        self.inverse = np.empty_like(self.perm)
        self.inverse[self.perm] = np.arange(self.n, dtype=self.perm.dtype)
        self.A = symmetric_permutation(Lam, self.perm)
        # pyamg estimates the smoothers' spectral radii from numpy's global random state: fixed
        # here (and restored) so that the hierarchy, and every result, is reproducible
        state = np.random.get_state()
        np.random.seed(12345)
        try:
            # at least two levels: a one-level "hierarchy" is a dense pseudo-inverse per call
            self.ml = pyamg.smoothed_aggregation_solver(
                self.A, B=np.ones((self.n, 1)), symmetry="symmetric",
                max_coarse=min(500, max(10, self.n // 8)))
        finally:
            np.random.set_state(state)
        self.M = self.ml.aspreconditioner(cycle="V")

    def coarse_start(self, k: int, rng) -> tuple[np.ndarray, float]:
        """(n x k start block in permuted order, the coarse estimate of lambda_2 (>= it)).

        The coarsest level's generalised eigenvectors (A_c, Q^T Q), Q the product of the
        interpolations, interpolated to the nodes: a Rayleigh-Ritz step on range(Q), which
        contains the constant vector, so its second Ritz value is >= lambda_2."""
        levels = self.ml.levels
        if len(levels) < 2:
            X = rng.standard_normal((self.n, k))
            return X, float("nan")
        Q = levels[0].P
        for level in levels[1:-1]:
            Q = Q @ level.P
        Q = sp.csr_matrix(Q)
        Ac = (Q.T @ self.A @ Q).toarray()
        Mc = (Q.T @ Q).toarray()
        w, V = scipy.linalg.eigh(Ac, Mc)
        if V.shape[1] < k + 1:
            return rng.standard_normal((self.n, k)), float(w[1]) if len(w) > 1 else float("nan")
        return Q @ V[:, 1:k + 1], float(w[1])

    def lambda_2(self, *, seed: int = 0) -> dict:
        """lambda_2 by LOBPCG with its a-posteriori interval (module docstring)."""
        rng = np.random.default_rng(seed)
        k = LOBPCG_BLOCK
        X, coarse = self.coarse_start(k, rng)
        X = X + 1e-3 * np.abs(X).max() * rng.standard_normal(X.shape)
        one = np.ones((self.n, 1))
        scale = coarse if math.isfinite(coarse) and coarse > 0 else 1.0
        w, V = scipy.sparse.linalg.lobpcg(self.A, X, M=self.M, Y=one, largest=False,
                                          tol=LOBPCG_RTOL * scale, maxiter=LOBPCG_MAXITER)
        i = int(np.argmin(w))
        x = V[:, i] - V[:, i].mean()
        x /= np.linalg.norm(x)
        theta = float(x @ (self.A @ x))
        residual = float(np.linalg.norm(self.A @ x - theta * x))
        return {"lambda_2": theta, "residual": residual, "lower": max(theta - residual, 0.0),
                "coarse_estimate": coarse, "block": k}

    def lambda_max(self, *, seed: int = 0) -> dict:
        """lambda_max by Lanczos (eigsh): the Ritz value theta <= lambda_max and its residual;
        Gershgorin's 2 max_i Lambda_ii >= lambda_max is the certain upper end."""
        v0 = np.random.default_rng(seed).standard_normal(self.n)
        gershgorin = 2.0 * float(self.A.diagonal().max())
        try:
            w, V = scipy.sparse.linalg.eigsh(self.A, k=1, which="LA", v0=v0, tol=1e-8,
                                             ncv=min(self.n - 1, 20), maxiter=100)
            theta, x = float(w[0]), V[:, 0]
        except scipy.sparse.linalg.ArpackNoConvergence as exc:
            if len(exc.eigenvalues) == 0:
                return {"lambda_max": gershgorin, "residual": math.nan,
                        "upper": gershgorin, "converged": False}
            theta, x = float(exc.eigenvalues[0]), exc.eigenvectors[:, 0]
        x = x / np.linalg.norm(x)
        residual = float(np.linalg.norm(self.A @ x - theta * x))
        return {"lambda_max": theta, "residual": residual,
                "upper": min(theta + residual, gershgorin), "converged": True}

    def solve(self, y: np.ndarray, rtol: float = CG_RTOL) -> tuple[np.ndarray, float]:
        """(z, ||y - Lambda z||) for y orthogonal to 1 (original node order), by PCG."""
        yp = y[self.perm]
        z, _ = scipy.sparse.linalg.cg(self.A, yp, rtol=rtol, atol=0.0, M=self.M,
                                      maxiter=10 * int(math.sqrt(self.n)) + 100)
        residual = yp - self.A @ z
        residual -= residual.mean()  # y and Lambda z are orthogonal to 1; rounding is not
        return z[self.inverse], float(np.linalg.norm(residual))


def lambda_2_lower_bound(edges: np.ndarray, lam: np.ndarray, n: int) -> float:
    """Mohar's certain lower bound 4 lambda_min / (n D), D <= 2 ecc(v) (module docstring)."""
    from dadao.graphs.resistance_bounds import adjacency

    indptr, indices, _ = adjacency(edges, lam, n)
    dist = np.full(n, -1, dtype=np.int64)
    order = np.empty(n, dtype=np.int64)
    start = int(np.argmax(np.diff(indptr)))
    count = bfs_distances(indptr, indices, np.array([start], dtype=np.int64), -1, dist, order)
    diameter = max(1, 2 * int(dist[order[count - 1]]))
    return 4.0 * float(lam[lam > 0].min()) / (n * diameter)

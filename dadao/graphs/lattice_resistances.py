"""Effective resistances of the unit-rate torus C_r x C_c and grid P_r x P_c in closed form.

Node (a, b), a < r the row and b < c the column, is a * c + b (``dadao.graphs.make_graph``). An
edge "along the columns" joins (a, b) and (a, b + 1); one "along the rows" joins (a, b) and
(a + 1, b). The Laplacian of a Cartesian product is L_r (x) I + I (x) L_c, so its eigenvectors
are the products p_j(a) q_k(b) of the factors' and its eigenvalues the sums mu_j + nu_k, and

    R_(a,b)-(a,b+1) = sum_{(j,k) != (0,0)} p_j(a)^2 (q_k(b) - q_k(b+1))^2 / (mu_j + nu_k).

Torus (cycles: mu_j = 4 sin^2(pi j / r), |p_j(a)|^2 = 1/r, |q_k(b) - q_k(b+1)|^2 = nu_k / c): every
edge along the columns has the same resistance. The sum over j is the cycle's Green function,
sum_j 1/(x + mu_j) = r coth(r theta / 2) / (2 sinh theta) with cosh theta = 1 + x/2 (a classical
trigonometric sum; x + mu_j = 2 (cosh theta - cos(2 pi j / r))). With s_k = sin(pi k / c),
theta_k = 2 asinh(s_k) and sinh theta_k = 2 s_k sqrt(1 + s_k^2), what is left is a sum of c - 1
positive terms:

    R_columns = (1/c) sum_{k=1}^{c-1} s_k coth(r asinh(s_k)) / sqrt(1 + s_k^2),

and R_rows the same with r and c swapped. O(r + c). Foster's theorem (n R_columns + n R_rows =
n - 1) checks it; as r, c -> infinity it tends to 1/2, the infinite square lattice's value.

Grid (paths: mu_j = 4 sin^2(pi j / (2r)), p_j(a) = sqrt(2/r) cos(pi j (2a + 1) / (2r)), p_0 =
1/sqrt(r); (q_k(b) - q_k(b+1))^2 = (2/c) nu_k sin^2(pi k (b + 1) / c)). The inner sums are
resistances of a path whose nodes all have a shunt of conductance x to a ground node:

- S-form: S_j(b) = sum_k (q_k(b) - q_k(b+1))^2 / (mu_j + nu_k) = b^T (mu_j I + L_c)^{-1} b is the
  resistance of the path's edge (b, b+1) with shunts mu_j (S_0(b) = 1: the path itself); then
  R(a, b) = sum_j p_j(a)^2 S_j(b), a matrix product of cost r^2 c.
- T-form: T_k(a) = sum_j p_j(a)^2 / (mu_j + nu_k) = [(nu_k I + L_r)^{-1}]_aa is the resistance
  from node a of a path with shunts nu_k to ground; then R(a, b) = sum_{k>=1} (q_k(b) -
  q_k(b+1))^2 T_k(a) (the k = 0 terms vanish), of cost r c^2.

The cheaper form is taken, so all resistances cost O(r c min(r, c)). Both come from ladder
recurrences: with Y_left(b) the admittance to ground of nodes 0..b seen from b (Y_left(0) = x,
Y_left(b) = x + Y_left(b-1) / (1 + Y_left(b-1))) and Y_right likewise, the edge (b, b+1) sees
its own unit conductance in parallel with rho = 1/Y_left(b) + 1/Y_right(b+1), so its resistance
is rho / (1 + rho), and node a's resistance to ground is 1 / (Y_left(a) + Y_right(a) - x): sums
and ratios of positive numbers, with no cancellation however small x is.

A uniform rate lambda on every edge divides every resistance by lambda.
"""

from __future__ import annotations

import numba
import numpy as np


def torus_resistances(rows: int, cols: int) -> tuple[float, float]:
    """(R of an edge along the columns, R of an edge along the rows) of the unit-rate torus
    C_rows x C_cols (rows, cols >= 3); see the module docstring."""
    return _torus_along(rows, cols), _torus_along(cols, rows)


def _torus_along(r: int, c: int) -> float:
    s = np.sin(np.pi * np.arange(1, c) / c)
    return float(np.sum(s / (np.tanh(r * np.arcsinh(s)) * np.sqrt(1.0 + s * s))) / c)


def grid_resistances(rows: int, cols: int) -> tuple[np.ndarray, np.ndarray]:
    """(R_columns, R_rows) of the unit-rate grid P_rows x P_cols (rows, cols >= 2):
    R_columns[a, b] is the resistance of edge (a, b)-(a, b+1), shape (rows, cols - 1), and
    R_rows[a, b] that of (a, b)-(a+1, b), shape (rows - 1, cols); see the module docstring."""
    return _grid_along(rows, cols), _grid_along(cols, rows).T


def _grid_along(r: int, c: int) -> np.ndarray:
    """R[a, b] of the edges (a, b)-(a, b+1) of P_r x P_c, shape (r, c - 1)."""
    j = np.arange(r)
    mu = 4.0 * np.sin(np.pi * j / (2 * r)) ** 2
    k = np.arange(1, c)
    nu = 4.0 * np.sin(np.pi * k / (2 * c)) ** 2
    if r <= c:
        a = np.arange(r)
        P2 = np.cos(np.pi * np.outer(2 * a + 1, j) / (2 * r)) ** 2 * (2.0 / r)
        P2[:, 0] = 1.0 / r
        S = np.empty((r, c - 1))
        S[0] = 1.0
        if r > 1:
            S[1:] = _ladder_edges(mu[1:], c)
        return P2 @ S
    b = np.arange(1, c)
    D2 = (2.0 / c) * nu[:, None] * np.sin(np.pi * np.outer(k, b) / c) ** 2
    T = _ladder_ground(nu, r)
    return T.T @ D2


@numba.njit(cache=True)
def _admittances(x, left, right):
    """left[b] (right[b]): admittance to ground of the nodes 0..b (b..end) of a path, seen from
    b, when every node has a shunt of conductance x > 0 to ground."""
    length = left.shape[0]
    left[0] = x
    for b in range(1, length):
        left[b] = x + left[b - 1] / (1.0 + left[b - 1])
    right[length - 1] = x
    for b in range(length - 2, -1, -1):
        right[b] = x + right[b + 1] / (1.0 + right[b + 1])


@numba.njit(cache=True)
def _ladder_edges(x, length):
    """out[i, b]: resistance of edge (b, b+1) of the path on ``length`` nodes whose every node
    has a shunt of conductance x[i] > 0 to ground; shape (len(x), length - 1)."""
    left = np.empty(length)
    right = np.empty(length)
    out = np.empty((x.shape[0], length - 1))
    for i in range(x.shape[0]):
        _admittances(x[i], left, right)
        for b in range(length - 1):
            rho = 1.0 / left[b] + 1.0 / right[b + 1]
            out[i, b] = rho / (1.0 + rho)
    return out


@numba.njit(cache=True)
def _ladder_ground(x, length):
    """out[i, a]: resistance from node a to ground of the path on ``length`` nodes with a shunt
    of conductance x[i] > 0 at every node; shape (len(x), length)."""
    left = np.empty(length)
    right = np.empty(length)
    out = np.empty((x.shape[0], length))
    for i in range(x.shape[0]):
        _admittances(x[i], left, right)
        for a in range(length):
            out[i, a] = 1.0 / (left[a] + right[a] - x[i])
    return out


def lattice_edge_resistances(edges: np.ndarray, family: str, rows: int, cols: int) -> np.ndarray:
    """R_e of each row (u, v) of ``edges`` (edges of the unit-rate ``family`` lattice,
    "torus_2d" or "grid_2d", rows x cols, any order and orientation)."""
    u, v = edges[:, 0], edges[:, 1]
    au, bu = np.divmod(u, cols)
    av, bv = np.divmod(v, cols)
    along_columns = au == av
    out = np.empty(len(edges))
    if family == "torus_2d":
        R_columns, R_rows = torus_resistances(rows, cols)
        out[along_columns] = R_columns
        out[~along_columns] = R_rows
        return out
    R_columns, R_rows = grid_resistances(rows, cols)
    h = along_columns
    out[h] = R_columns[au[h], np.minimum(bu[h], bv[h])]
    out[~h] = R_rows[np.minimum(au[~h], av[~h]), bu[~h]]
    return out

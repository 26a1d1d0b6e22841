"""lambda_2 and lambda_max of the Laplacians whose spectrum is known in closed form.

An iterative eigensolver needs many iterations where the extreme eigenvalues cluster, and the
families with the most regular structure cluster the most: the top of a path's spectrum is
4 - O(1/n^2), so Lanczos at tol 1e-12 took over five minutes at n = 20000. For these families the
spectrum of the unweighted Laplacian L_G is exact (Brouwer and Haemers, Spectra of Graphs,
section 1.4), with 2 - 2 cos(x) written 4 sin^2(x/2) (no cancellation for small x):

- path P_n:        4 sin^2(pi k / (2n)),  k = 0..n-1: lambda_2 = 4 sin^2(pi/(2n)),
                   lambda_max = 4 cos^2(pi/(2n));
- cycle C_n:       4 sin^2(pi k / n): lambda_2 = 4 sin^2(pi/n), lambda_max = 4 sin^2(pi
                   floor(n/2)/n) (= 4 for even n);
- complete K_n:    0 and n (n - 1 times): lambda_2 = lambda_max = n;
- star S_n:        0, 1 (n - 2 times) and n: lambda_2 = 1, lambda_max = n (n >= 3);
- hypercube Q_d:   2k with multiplicity C(d, k): lambda_2 = 2, lambda_max = 2d;
- grid P_r x P_c and torus C_r x C_c (Cartesian products): the sums a_i + b_j of the factors'
  eigenvalues, so lambda_2 = min of the factors' lambda_2 and lambda_max = the sum of their
  lambda_max.

A Laplacian with the same rate c on every edge is c L_G: both values scale by c.
``family_of(edges, n)`` recognises these graphs from an edge list (compared with the family's
own edge list, so a relabelled graph is not recognised and takes the iterative path).
"""

from __future__ import annotations

import math

import numpy as np


def _path(n: int) -> tuple[float, float]:
    return 4.0 * math.sin(math.pi / (2 * n)) ** 2, 4.0 * math.cos(math.pi / (2 * n)) ** 2


def _cycle(n: int) -> tuple[float, float]:
    return 4.0 * math.sin(math.pi / n) ** 2, 4.0 * math.sin(math.pi * (n // 2) / n) ** 2


def _product(a: tuple[float, float] | None, b: tuple[float, float] | None):
    """(lambda_2, lambda_max) of the Cartesian product of two graphs; None: a single node."""
    if a is None or b is None:
        return a or b
    return min(a[0], b[0]), a[1] + b[1]


def extremes(family: str, n: int, rows: int = 0, cols: int = 0) -> tuple[float, float]:
    """(lambda_2, lambda_max) of the unweighted Laplacian of the family's graph on n nodes
    (rows x cols for the lattices); see the module docstring."""
    if family == "path" or (family == "star" and n == 2):
        return _path(n)
    if family == "cycle":
        return _cycle(n)
    if family == "complete":
        return float(n), float(n)
    if family == "star":
        return 1.0, float(n)
    if family == "hypercube":
        return 2.0, 2.0 * (n.bit_length() - 1)
    if family == "grid_2d":
        return _product(_path(rows) if rows > 1 else None, _path(cols) if cols > 1 else None)
    if family == "torus_2d":
        return _product(_cycle(rows), _cycle(cols))
    raise ValueError(f"no closed form for {family!r}")


def equal_resistances(family: str, rows: int = 0, cols: int = 0) -> bool:
    """Whether every edge of the family's graph has the same effective resistance under
    uniform rates: trees (path, star: every edge is a bridge) and the edge-transitive graphs,
    whose automorphisms map any edge to any other (cycle, complete, hypercube, square torus);
    not grids, nor tori with rows != cols (their two directions differ)."""
    if family in ("path", "star", "cycle", "complete", "hypercube"):
        return True
    return family == "torus_2d" and rows == cols


def _canonical(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    e = np.stack([np.minimum(u, v), np.maximum(u, v)], axis=1).astype(np.int64)
    return e[np.lexsort((e[:, 1], e[:, 0]))]


def _lattice(rows: int, cols: int, periodic: bool) -> np.ndarray:
    i = np.arange(rows * cols, dtype=np.int64)
    r, c = i // cols, i % cols
    right = (c + 1 < cols) | periodic
    down = (r + 1 < rows) | periodic
    u = np.concatenate([i[right], i[down]])
    v = np.concatenate([(r * cols + (c + 1) % cols)[right], (((r + 1) % rows) * cols + c)[down]])
    return _canonical(u, v)


def _candidates(n: int, E: int, degree: np.ndarray, first: set):
    """(family, rows, cols, its canonical edge list) of the families with n nodes and E edges
    whose node 0 has the neighbours ``first`` (a lattice's shape is read from them, so that a
    highly composite n does not try every factorisation)."""
    i = np.arange(n, dtype=np.int64)
    if E == n - 1:
        yield "path", 0, 0, _canonical(i[:-1], i[1:])
        yield "star", 0, 0, _canonical(np.zeros(n - 1, dtype=np.int64), i[1:])
    if E == n and n >= 3:
        yield "cycle", 0, 0, _canonical(i, (i + 1) % n)
    if E == n * (n - 1) // 2:
        u, v = np.triu_indices(n, k=1)
        yield "complete", 0, 0, _canonical(u, v)
    d = n.bit_length() - 1
    if n == 1 << d and E == n * d // 2 and d >= 1:
        u = np.repeat(i, d)
        v = u ^ np.tile(1 << np.arange(d, dtype=np.int64), n)
        keep = u < v
        yield "hypercube", 0, 0, _canonical(u[keep], v[keep])
    regular = degree.min() == degree.max()
    for rows in range(1, math.isqrt(n) + 1):
        if n % rows:
            continue
        for r, c in {(rows, n // rows), (n // rows, rows)}:
            if E == 2 * n - r - c and r > 1 and c > 1 and first == {1, c}:
                yield "grid_2d", r, c, _lattice(r, c, False)
            if E == 2 * n and r >= 3 and c >= 3 and regular and \
                    first == {1, c - 1, c, (r - 1) * c}:
                yield "torus_2d", r, c, _lattice(r, c, True)


def family_of(edges: np.ndarray, n: int) -> tuple[str, int, int] | None:
    """(family, rows, cols) if ``edges`` (an (E, 2) array, any order and orientation) are exactly
    the edges of a family with a closed-form spectrum on the nodes 0..n-1, as
    ``dadao.graphs.make_graph`` numbers them; None otherwise. O(E) per candidate family."""
    edges = np.asarray(edges, dtype=np.int64)
    E = len(edges)
    if n < 2 or E == 0:
        return None
    given = None
    degree = np.bincount(edges.ravel(), minlength=n)
    at_0 = edges[(edges[:, 0] == 0) | (edges[:, 1] == 0)]
    first = set(at_0.ravel().tolist()) - {0}
    for family, rows, cols, expected in _candidates(n, E, degree, first):
        if given is None:
            given = _canonical(edges[:, 0], edges[:, 1])
        if np.array_equal(given, expected):
            return family, rows, cols
    return None

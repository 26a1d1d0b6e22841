"""Least squares with dim much larger than the number of rows: the dual x* solve, bounded memory.

A rows-form least-squares problem up to CURVATURE_MAX_DIM is solved by Newton's method on the
reproducible sums over nodes (``base._solve_rows``, as an MPI rank holding some nodes does);
above it, with N = sum_i m_i < d rows and sum_i reg_i > 0, through the N x N dual system, else
the stacked least-squares path. The tests of the dual lower CURVATURE_MAX_DIM to reach it at a
small d. Evaluating f and its gradients builds its row-wise temporaries a group of nodes at a
time.
"""

import tracemalloc

import numpy as np
import pytest
import scipy.linalg

import dadao.problems.base as base
from dadao.problems import LEAST_SQUARES, least_squares, logistic
from dadao.problems.synthetic import rows_problem

from .test_node_streams import reference_least_squares


def stacked_lstsq(o, dim):
    """x* from numpy's lstsq on [W A; sqrt(r/2) I] x = [W b; 0], W = diag(1/sqrt(m_i))."""
    m = np.diff(o.offsets)
    w = np.repeat(1.0 / np.sqrt(m), m)
    A = np.vstack([o.A * w[:, None], np.sqrt(o.reg.sum() / 2.0) * np.eye(dim)])
    b = np.concatenate([o.b * w, np.zeros(dim)])
    return np.linalg.lstsq(A, b, rcond=None)[0]


def full_gradient(P, x):
    return P.local_gradients(np.broadcast_to(x, (P.n, P.dim))).sum(axis=0)


def rel(a, b):
    return np.linalg.norm(a - b) / np.linalg.norm(b)


@pytest.fixture
def dual_dims(monkeypatch):
    """Rows problems above d = 16 take the solves of large dimensions (no root), and the
    conjugate gradients fail: the dual solves them."""
    monkeypatch.setattr(base, "CURVATURE_MAX_DIM", 16)
    monkeypatch.setattr(base, "_solve_rows_cg", lambda *args: None)


def test_dual_solve_matches_stacked_lstsq(monkeypatch, dual_dims):
    calls = []
    dual = base._solve_least_squares_dual
    monkeypatch.setattr(
        base, "_solve_least_squares_dual", lambda *args: calls.append(1) or dual(*args)
    )
    P = least_squares(4, 200, samples_per_node=5, reg=1.0, seed=0)
    assert calls == [1]
    o = P.oracle
    assert o.kind == LEAST_SQUARES and o.A.shape[0] < P.dim  # N = 20 < d: the dual path
    assert rel(P.x_star, stacked_lstsq(o, P.dim)) <= 1e-12
    assert P.x_star_error_bound <= base.X_STAR_RTOL


def test_dual_solve_with_unequal_node_sizes(dual_dims):
    rng = np.random.default_rng(1)
    A_list = [rng.standard_normal((mi, 60)) for mi in (3, 7, 5)]
    b_list = [rng.standard_normal(Ai.shape[0]) * 10.0 for Ai in A_list]
    P = rows_problem(
        "ls", A_list, b_list, loss="least_squares", reg=0.3, params={}, form="rows"
    )
    assert P.oracle.A.shape == (15, 60)
    assert rel(P.x_star, stacked_lstsq(P.oracle, P.dim)) <= 1e-12
    # the caller's arrays are neither aliased nor frozen
    assert not np.shares_memory(P.oracle.A, A_list[0]) and A_list[0].flags.writeable
    assert not P.oracle.A.flags.writeable


@pytest.mark.parametrize("solver", ["dual", "cg", "newton"])
@pytest.mark.parametrize("reg", [1.0, 1e-2, 1e3])
def test_gradient_vanishes_at_x_star(reg, solver, monkeypatch):
    if solver != "newton":
        monkeypatch.setattr(base, "CURVATURE_MAX_DIM", 16)
    if solver == "dual":
        monkeypatch.setattr(base, "_solve_rows_cg", lambda *args: None)
    P = least_squares(4, 200, samples_per_node=5, reg=reg, seed=2)
    o = P.oracle
    m = np.diff(o.offsets)
    scale = np.linalg.norm(full_gradient(P, np.zeros(P.dim)))  # ||grad f(0)|| = ||2 A^T W^2 b||
    assert np.linalg.norm(full_gradient(P, P.x_star)) <= 1e-13 * scale
    # and in the closed form grad f = 2 A^T W^2 (A x - b) + r x
    w2 = np.repeat(1.0 / m, m)
    g = 2.0 * o.A.T @ (w2 * (o.A @ P.x_star - o.b)) + o.reg.sum() * P.x_star
    assert np.linalg.norm(g) <= 1e-13 * scale
    assert P.suboptimality(P.x_star) == 0.0
    assert P.f_star == pytest.approx(P.f(P.x_star), rel=1e-15)


def test_large_dimension_builds_and_certifies_in_bounded_memory():
    n, dim, spn = 8, 20000, 5
    tracemalloc.start()
    try:
        P = least_squares(n, dim, samples_per_node=spn, reg=10.0, seed=3)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    A_bytes = n * spn * dim * 8  # 6.4 MB; the stacked system would need (N + d) d 8 B = 3.2 GB
    assert peak <= 10 * A_bytes, peak
    assert P.params["form"] == "rows" and not P.has_conjugate
    assert P.oracle.A.shape == (n * spn, dim)
    assert P.x_star_error_bound <= base.X_STAR_RTOL
    assert P.mu == pytest.approx(10.0) and 1.0 < P.kappa < 1e4
    x = P.x_star + 1e-3
    e = x - P.x_star
    assert P.suboptimality(x) == pytest.approx(P.f(x) - P.f_star, rel=1e-6)
    assert P.suboptimality(x) > 0.5 * P.mu * P.n * (e @ e)


def old_stacked_solve(o):
    """The stacked solve (``_solve_least_squares_rows`` of the cases that are not the dual): scipy
    lstsq on the stacked system plus refinement."""
    d = o.A.shape[1]
    m = np.diff(o.offsets)
    w = np.repeat(1.0 / np.sqrt(m), m)
    As = o.A * w[:, None]
    bs = o.b * w
    r = o.reg.sum()
    if r > 0:
        As = np.vstack([As, np.sqrt(r / 2.0) * np.eye(d)])
        bs = np.concatenate([bs, np.zeros(d)])
    x = scipy.linalg.lstsq(As, bs)[0]
    dx = scipy.linalg.lstsq(As, bs - As @ x)[0]
    return x + dx


@pytest.mark.parametrize(
    "n, dim, m, reg",
    [(8, 4, 30, 0.0), (5, 12, 4, 0.5), (3, 20, 30, 0.0), (6, 30, 5, 2.0)],  # N >= d or reg = 0
)
def test_the_newton_solve_agrees_with_the_stacked_lstsq(n, dim, m, reg, monkeypatch):
    calls = []
    monkeypatch.setattr(base, "_solve_least_squares_dual", lambda *args: calls.append(1))
    P = least_squares(n, dim, samples_per_node=m, reg=reg, seed=4, form="rows")
    assert calls == []
    o = P.oracle
    assert o.A.shape[0] >= dim or reg == 0.0
    A, b = reference_least_squares(n, dim, m, seed=4)
    assert np.array_equal(o.A, A)
    np.testing.assert_allclose(o.b, b, rtol=1e-12, atol=1e-12 * np.abs(b).max())
    assert rel(P.x_star, old_stacked_solve(o)) <= 1e-13
    assert P.x_star_error_bound <= base.X_STAR_RTOL


@pytest.mark.parametrize("make", [
    lambda: least_squares(7, 9, samples_per_node=6, reg=0.2, seed=5, form="rows"),
    lambda: least_squares(4, 300, samples_per_node=5, reg=1.0, seed=6),
    lambda: logistic(6, 5, samples_per_node=12, seed=7),
])
def test_evaluation_by_node_groups_is_bitwise_identical(make, monkeypatch):
    P = make()
    rng = np.random.default_rng(8)
    X = P.x_star + rng.standard_normal((P.n, P.dim))
    x = X[0]
    assert P._node_groups() == [(0, P.n)]  # within the budget: one group
    whole = (P.local_values(X), P.local_gradients(X), P.f(x), full_gradient(P, x))
    for budget in (1, 2 * P.dim, 11 * P.dim):
        monkeypatch.setattr(base, "ROW_CHUNK_ENTRIES", budget)
        groups = P._node_groups()
        assert groups[0][0] == 0 and groups[-1][1] == P.n and len(groups) > 1
        assert all(a[1] == b[0] for a, b in zip(groups, groups[1:]))
        parts = (P.local_values(X), P.local_gradients(X), P.f(x), full_gradient(P, x))
        for u, v in zip(whole, parts):
            assert np.array_equal(u, v)

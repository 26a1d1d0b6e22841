"""The compiled metrics of a sample against their definitions (dadao.trace), computed with numpy."""

import math

import numpy as np
import pytest

from dadao import problems
from dadao.trace import metrics

from helpers.thread_ranks import on_thread_ranks


def _by_definition(X, problem):
    xbar = X.mean(axis=0)
    dist = np.mean(np.sum((X - problem.x_star) ** 2, axis=1))
    consensus = np.mean(np.sum((X - xbar) ** 2, axis=1))
    return dist, problem.f(xbar) - problem.f_star, consensus


@pytest.mark.parametrize("kind,n,d,extra", [
    ("quadratic", 40, 3, {}), ("least_squares", 30, 2, {"samples_per_node": 20}),
    ("logistic", 20, 4, {"samples_per_node": 10}), ("quadratic", 8, 80, {})])
def test_metrics_are_their_definitions(kind, n, d, extra):
    p = problems.make_problem(kind, n, dim=d, seed=3, **extra)
    X = p.x_star + np.random.default_rng(1).standard_normal((n, d))
    dist, subopt, consensus = metrics(X, p)
    ref = _by_definition(X, p)
    assert dist == pytest.approx(ref[0], rel=1e-13)
    assert consensus == pytest.approx(ref[2], rel=1e-13)
    # f(xbar) - f* by subtraction keeps ~1e-16 |f*| absolute: the root form is the accurate one
    assert subopt == pytest.approx(ref[1], rel=1e-8, abs=1e-12 * max(1.0, abs(p.f_star)))


def test_suboptimality_keeps_its_relative_accuracy_next_to_x_star():
    p = problems.make_problem("quadratic", 20, dim=4, seed=0)
    e = np.random.default_rng(2).standard_normal(4)
    for scale in (1e-3, 1e-9, 1e-15):
        X = np.broadcast_to(p.x_star + scale * e, (20, 4))
        _, subopt, consensus = metrics(X, p)
        H = p.oracle.H.sum(axis=0)
        exact = 0.5 * (scale * e) @ H @ (scale * e)
        assert subopt == pytest.approx(exact, rel=1e-9)
        assert consensus <= 1e-30 * (1.0 + p.x_star @ p.x_star)  # equal rows: rounding only


def test_a_non_finite_iterate_makes_the_metrics_nan_or_inf():
    p = problems.make_problem("quadratic", 10, dim=2, seed=0)
    X = np.tile(p.x_star, (10, 1))
    X[3, 1] = np.nan
    dist, subopt, consensus = metrics(X, p)
    assert math.isnan(dist) and math.isnan(subopt) and math.isnan(consensus)
    X[3, 1] = np.inf
    assert math.isnan(metrics(X, p)[1])


def test_the_quadratic_knows_its_constants_and_inverses():
    p = problems.make_problem("quadratic", 50, dim=6, kappa=30.0, seed=4)
    assert np.all(p.L_local == 30.0) and np.all(p.mu_local == 1.0) and p.kappa == 30.0
    ev = np.linalg.eigvalsh(p.oracle.H)
    assert np.allclose(ev[:, -1], 30.0, rtol=1e-13) and np.allclose(ev[:, 0], 1.0, rtol=1e-13)
    eye = np.einsum("nij,njk->nik", p.oracle.H, p.oracle.Hinv)
    assert np.abs(eye - np.eye(6)).max() < 1e-12
    assert np.array_equal(p.oracle.Hinv, np.swapaxes(p.oracle.Hinv, 1, 2))


def split_metrics(X, p, parts, order):
    """metrics() of X split into the row groups ``parts``, one thread per group."""
    return on_thread_ranks(len(parts), order, lambda r, sums: metrics(X[parts[r]], p, sums))


@pytest.mark.parametrize("d", [1, 3, 70])
def test_the_metrics_of_rows_split_over_ranks_are_the_same_bits(d):
    """However the rows are split and the ranks' parts combined, every rank gets the bits one
    process holding every row computes (the sums are exact in every fold)."""
    n = 37
    p = problems.make_problem("quadratic", n, dim=d, seed=5)
    rng = np.random.default_rng(7)
    # magnitudes over 12 orders, signs mixed: a plain sum would depend on its order
    X = p.x_star + rng.standard_normal((n, d)) * 10.0 ** rng.uniform(-6, 6, size=(n, 1))
    whole = metrics(X, p)
    for parts, order in [([rng.permutation(n)], [0]),
                         (np.array_split(np.arange(n), 2), [1, 0]),
                         (np.array_split(rng.permutation(n), 4), [2, 0, 3, 1]),
                         ([np.arange(0, n, 3), np.arange(1, n, 3), np.arange(2, n, 3)],
                          [0, 1, 2])]:
        for got in split_metrics(X, p, parts, order):
            assert got == whole  # bit for bit, on every rank


def test_the_reproducible_sums_are_within_rounding_of_the_exact_sum():
    n, d = 50, 4
    p = problems.make_problem("averaging", n, dim=d, seed=1)
    rng = np.random.default_rng(3)
    X = p.x_star + rng.standard_normal((n, d)) * 10.0 ** rng.uniform(-8, 8, size=(n, 1))
    dist, _, consensus = metrics(X, p)
    exact_dist = math.fsum(float(((x - p.x_star) ** 2).sum()) for x in X) / n
    xbar = np.array([math.fsum(X[:, j]) / n for j in range(d)])
    exact_cons = math.fsum(float(((x - xbar) ** 2).sum()) for x in X) / n
    assert dist == pytest.approx(exact_dist, rel=1e-14)
    assert consensus == pytest.approx(exact_cons, rel=1e-14)


def test_non_finite_rows_on_one_rank_give_nan_or_inf_on_every_rank():
    n, d = 12, 2
    p = problems.make_problem("quadratic", n, dim=d, seed=0)
    X = np.tile(p.x_star, (n, 1)) + 1.0
    X[7, 0] = np.inf
    parts = np.array_split(np.arange(n), 3)
    results = split_metrics(X, p, parts, [2, 1, 0])
    assert [repr(r) for r in results] == [repr(results[0])] * 3  # NaN != NaN
    dist, subopt, consensus = results[0]
    assert dist == math.inf and math.isnan(subopt) and not math.isfinite(consensus)
    assert metrics(X, p)[0] == math.inf

"""A problem built in shards, one per rank, is the whole problem: the same constants, x* and f*
bit for bit on every rank, and each rank's nodes' data bit for bit the whole problem's.

The ranks are threads (tests/helpers/thread_ranks.py) combining their sums in an arbitrary
order, as MPI may; tests/engines run the same under mpiexec.
"""

import dataclasses

import numpy as np
import pytest

from dadao.problems import averaging, least_squares, local_gradient, logistic, quadratic
from dadao.problems.shards import Shard
from helpers.thread_ranks import on_thread_ranks

CASES = {
    "quadratic": lambda shard=None: quadratic(23, 4, kappa=50.0, seed=3, shard=shard),
    "quadratic_no_conjugate": lambda shard=None: quadratic(17, 3, kappa=5.0, seed=1,
                                                           conjugate=False, shard=shard),
    "averaging": lambda shard=None: averaging(19, 5, seed=4, shard=shard),
    "least_squares_hessian_form": lambda shard=None: least_squares(
        13, 3, samples_per_node=5, seed=2, shard=shard),
    "least_squares_rows": lambda shard=None: least_squares(
        13, 7, samples_per_node=3, reg=0.2, seed=5, shard=shard),
    "least_squares_rows_no_conjugate": lambda shard=None: least_squares(
        11, 6, samples_per_node=2, reg=0.1, seed=6, conjugate=False, shard=shard),
    "logistic": lambda shard=None: logistic(14, 4, samples_per_node=12, seed=7, shard=shard),
}


def held_count(P):
    o = P.oracle
    return o.H.shape[0] if o.kind == 0 else o.offsets.shape[0] - 1


def splits(n, rng):
    """(parts, order): splits of n nodes over 1 to 4 ranks, each combined in an order."""
    yield [np.arange(n)], [0]
    yield np.array_split(np.arange(n), 2), [1, 0]
    yield [np.sort(p) for p in np.array_split(rng.permutation(n), 3)], [2, 0, 1]
    yield [np.arange(r, n, 4) for r in range(4)], [3, 1, 0, 2]


def assert_the_whole_problems_numbers(P, whole):
    """The shard P has the constants, x*, f*, params and curvature root of ``whole``, bit for
    bit."""
    assert (P.L, P.mu, P.kappa, P.f_star, P.x_star_error_bound) == (
        whole.L, whole.mu, whole.kappa, whole.f_star, whole.x_star_error_bound)
    assert np.array_equal(P.x_star, whole.x_star)
    assert np.array_equal(P.L_local, whole.L_local)
    assert np.array_equal(P.mu_local, whole.mu_local)
    assert P.params == whole.params  # a default reg included
    if whole.curvature_root is None:
        assert P.curvature_root is None
    else:
        assert np.array_equal(P.curvature_root, whole.curvature_root)


def each_shard(make, n: int, seed: int = 0):
    """(nodes, the shard built of them) for every shard of every split of ``splits``, each
    split's shards built together on thread ranks (``make(shard)``)."""
    for parts, order in splits(n, np.random.default_rng(seed)):
        shards = on_thread_ranks(len(parts), order,
                                 lambda r, sums: make(Shard(n, parts[r], sums)))
        yield from zip(parts, shards)


def assert_the_whole_problems_gradients(P, whole, part):
    """Each node of ``part`` has the whole problem's gradient, bit for bit, in the shard P."""
    x = np.linspace(-2.0, 1.0, whole.dim)
    for i in part:
        a, b = np.empty(whole.dim), np.empty(whole.dim)
        local_gradient(whole.oracle, i, x, a)
        local_gradient(P.oracle, i, x, b)
        assert np.array_equal(a, b)


@pytest.mark.parametrize("name", list(CASES))
def test_shards_build_the_whole_problem_on_every_rank(name):
    make = CASES[name]
    whole = make()
    for part, P in each_shard(make, whole.n):
        assert np.array_equal(P.nodes, part)
        assert_the_whole_problems_numbers(P, whole)
        assert P.has_conjugate == whole.has_conjugate
        assert held_count(P) == len(part)  # its own nodes' data only
        assert_the_whole_problems_gradients(P, whole, part)


@pytest.mark.parametrize("name", ["logistic", "least_squares_rows"])
def test_the_suboptimality_summed_over_nodes_is_the_same_at_any_split(name):
    """Without the d x d root (logistic; forced here for least squares), f(x) - f* is a sum
    over nodes: each rank adds its own nodes' terms, and the ranks get the whole problem's."""
    make = CASES[name]
    whole = make()
    x = whole.x_star + np.linspace(-0.3, 0.2, whole.dim)
    if name != "logistic":
        whole = dataclasses.replace(whole, shared_root=(None,))
    expected = whole.suboptimality(x)
    assert expected > 0
    rng = np.random.default_rng(1)
    for parts, order in splits(whole.n, rng):
        # a rank of a whole-data run: every node held, its own ones added
        got = on_thread_ranks(len(parts), order,
                              lambda r, sums: whole.suboptimality(x, sums, parts[r]))
        assert all(v == expected for v in got)

        def shard(r, sums):
            P = make(Shard(whole.n, parts[r], sums))
            if name != "logistic":
                P = dataclasses.replace(P, shared_root=(None,))
            return P.suboptimality(x, sums)

        assert all(v == expected for v in on_thread_ranks(len(parts), order, shard))


def test_a_shard_with_known_numbers_solves_nothing_and_keeps_them():
    from dadao.problems.shards import summary_of

    whole = CASES["logistic"]()
    parts = [np.array([1, 4, 5, 9]), np.array([0, 2, 3, 6, 7, 8, 10, 11, 12, 13])]
    summary = summary_of(whole)
    shards = on_thread_ranks(2, [1, 0], lambda r, sums: CASES["logistic"](
        Shard(whole.n, parts[r], sums, numbers=summary)))
    for part, P in zip(parts, shards):
        assert P.x_star is summary.x_star and P.f_star == whole.f_star
        assert held_count(P) == len(part) and np.array_equal(P.nodes, part)
    with pytest.raises(ValueError, match="numbers given are those of another problem"):
        on_thread_ranks(2, [0, 1], lambda r, sums: logistic(
            14, 4, samples_per_node=12, seed=8, shard=Shard(14, parts[r], sums,
                                                            numbers=summary)))


def test_a_shard_refuses_what_needs_every_node():
    whole = CASES["quadratic"]()
    [P] = on_thread_ranks(1, [0], lambda r, sums: CASES["quadratic"](
        Shard(whole.n, np.arange(whole.n), sums)))
    assert P.suboptimality(whole.x_star + 1.0) == whole.suboptimality(whole.x_star + 1.0)
    half = on_thread_ranks(2, [0, 1], lambda r, sums: CASES["quadratic"](
        Shard(whole.n, np.array_split(np.arange(whole.n), 2)[r], sums)))
    with pytest.raises(ValueError, match="holds the data of 12 of its 23 nodes only"):
        half[0].f(whole.x_star)


def test_a_shard_must_hold_increasing_nodes_of_the_problem():
    from dadao.errors import ProblemError
    from dadao.reproducible import LOCAL
    for nodes in ([2, 1], [0, 23], [-1, 3], [4, 4]):
        with pytest.raises(ProblemError, match="increasing distinct nodes in 0..22"):
            CASES["quadratic"](Shard(23, np.array(nodes), LOCAL))


def test_least_squares_above_the_root_dimension_is_solved_by_cg_from_the_shards(monkeypatch):
    """Above CURVATURE_MAX_DIM (lowered here to 4) x* comes from conjugate gradients on the
    ranks' sums: the whole problem's x* bit for bit at any split, and no root."""
    import dadao.problems.base as base

    monkeypatch.setattr(base, "CURVATURE_MAX_DIM", 4)
    make = CASES["least_squares_rows"]  # d = 7, in rows form
    whole = make()
    assert whole.curvature_root is None and whole.x_star_error_bound <= base.X_STAR_RTOL
    for _, P in each_shard(make, whole.n, seed=2):
        assert np.array_equal(P.x_star, whole.x_star) and P.f_star == whole.f_star
        assert P.curvature_root is None

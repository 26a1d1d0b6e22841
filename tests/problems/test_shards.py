"""A problem built in shards, one per rank, is the whole problem: the same constants, x* and f*
bit for bit on every rank, and each rank's nodes' data bit for bit the whole problem's.

The ranks are threads (tests/helpers/thread_ranks.py) combining their sums in an arbitrary
order, as MPI may; tests/engines run the same under mpiexec.
"""

import numpy as np
import pytest

from dadao.problems import averaging, local_gradient, quadratic
from dadao.problems.shards import Shard
from helpers.thread_ranks import on_thread_ranks

CASES = {
    "quadratic": lambda shard=None: quadratic(23, 4, kappa=50.0, seed=3, shard=shard),
    "quadratic_no_conjugate": lambda shard=None: quadratic(17, 3, kappa=5.0, seed=1,
                                                           conjugate=False, shard=shard),
    "averaging": lambda shard=None: averaging(19, 5, seed=4, shard=shard),
}


def _splits(n, rng):
    yield [np.arange(n)], [0]
    yield np.array_split(np.arange(n), 2), [1, 0]
    yield [np.sort(p) for p in np.array_split(rng.permutation(n), 3)], [2, 0, 1]
    yield [np.arange(r, n, 4) for r in range(4)], [3, 1, 0, 2]


@pytest.mark.parametrize("name", list(CASES))
def test_shards_build_the_whole_problem_on_every_rank(name):
    make = CASES[name]
    whole = make()
    rng = np.random.default_rng(0)
    for parts, order in _splits(whole.n, rng):
        shards = on_thread_ranks(len(parts), order,
                                 lambda r, sums: make(Shard(whole.n, parts[r], sums)))
        for part, P in zip(parts, shards):
            assert np.array_equal(P.nodes, part)
            assert (P.L, P.mu, P.kappa, P.f_star, P.x_star_error_bound) == (
                whole.L, whole.mu, whole.kappa, whole.f_star, whole.x_star_error_bound)
            assert np.array_equal(P.x_star, whole.x_star)
            assert np.array_equal(P.L_local, whole.L_local)
            assert np.array_equal(P.mu_local, whole.mu_local)
            assert np.array_equal(P.curvature_root, whole.curvature_root)
            assert P.oracle.H.shape[0] == len(part)  # its own nodes' data only
            x = np.linspace(-2.0, 1.0, whole.dim)
            for i in part:
                a, b = np.empty(whole.dim), np.empty(whole.dim)
                local_gradient(whole.oracle, i, x, a)
                local_gradient(P.oracle, i, x, b)
                assert np.array_equal(a, b)


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

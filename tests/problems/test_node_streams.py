"""A problem's data is keyed by (seed, node): node i's data is drawn from its own streams.

The references below build each node's data with one ``CounterStream`` per (node, field), in
the order the constructors' docstrings give, one node at a time: the constructors (which draw
blocks of nodes at once through ``counter_rng.family_words``) must give the same numbers bit
for bit, and the data of a subset of the nodes must be the rows of the whole problem's.
"""

import numpy as np
import pytest

from dadao.counter_rng import CounterStream
from dadao.problems import averaging, least_squares, libsvm, logistic, quadratic
from dadao.problems.streams import NODE_DATA_KEY, SHARED_DATA_KEY
from dadao.problems.synthetic import least_squares_rows, logistic_rows, quadratic_nodes


def node(seed, i, field):
    return CounterStream(seed, (NODE_DATA_KEY, i, field))


def shared(seed, field):
    return CounterStream(seed, (SHARED_DATA_KEY, field))


def reference_least_squares(n, dim, m, seed):
    A, b = [], []
    k = min(10, dim)
    for i in range(n):
        Ai = node(seed, i, 0).standard_normal((m, dim))
        w = np.zeros(dim)
        w[node(seed, i, 1).permutation(dim)[:k]] = 100.0 * node(seed, i, 2).random(k)
        bi = Ai @ w + 10.0 * node(seed, i, 3).standard_normal(m)
        bi *= 0.01 + 4.99 * node(seed, i, 4).random()
        A.append(Ai)
        b.append(bi)
    return np.concatenate(A), np.concatenate(b)


def reference_logistic(n, dim, m, seed):
    w0 = shared(seed, 0).standard_normal(dim)
    w0 *= 3.0 / np.linalg.norm(w0)
    A, b = [], []
    for i in range(n):
        s = np.exp(np.log(0.5) + np.log(4.0) * node(seed, i, 0).random())
        Ai = s * (node(seed, i, 1).standard_normal((m, dim))
                  + 0.5 * node(seed, i, 2).standard_normal(dim))
        w = w0 + 0.5 * node(seed, i, 3).standard_normal(dim)
        p = 1.0 / (1.0 + np.exp(-np.clip(Ai @ w, -500, 500)))
        bi = np.where(node(seed, i, 4).random(m) < p, 1.0, -1.0)
        bi[node(seed, i, 5).random(m) < 0.05] *= -1.0
        A.append(Ai)
        b.append(bi)
    return np.concatenate(A), np.concatenate(b)


def test_counter_stream_families_are_the_single_streams():
    from dadao.counter_rng import family_words, words
    members = [5, 0, 123456789, 2]
    block = family_words(11, (NODE_DATA_KEY, 0, 3), members, 9)
    for r, i in enumerate(members):
        assert np.array_equal(block[r], words(11, (NODE_DATA_KEY, i, 3), 0, 9))


@pytest.mark.parametrize("n, dim, m", [(5, 3, 7), (3, 40, 4), (2, 1, 3)])
def test_least_squares_rows_are_the_per_node_reference(n, dim, m):
    P = least_squares(n, dim, samples_per_node=m, reg=1.0, seed=9, form="rows")
    A, b = reference_least_squares(n, dim, m, seed=9)
    assert np.array_equal(P.oracle.A, A)  # the draws themselves: bit for bit
    # b = A_i w_i + noise: a dot product, whose rounding depends on how it is summed
    np.testing.assert_allclose(P.oracle.b, b, rtol=1e-12, atol=1e-12 * np.abs(b).max())


@pytest.mark.parametrize("n, dim, m", [(4, 3, 20), (3, 12, 6)])
def test_logistic_rows_are_the_per_node_reference(n, dim, m):
    P = logistic(n, dim, samples_per_node=m, seed=3)
    A, b = reference_logistic(n, dim, m, seed=3)
    assert np.array_equal(P.oracle.A, A) and np.array_equal(P.oracle.b, b)


def test_quadratic_is_the_per_node_reference():
    n, dim, kappa, seed = 4, 3, 20.0, 8
    P = quadratic(n, dim, kappa=kappa, seed=seed)
    centre = 10.0 * shared(seed, 0).standard_normal(dim)
    for i in range(n):
        e = np.exp(np.log(kappa) * node(seed, i, 0).random(dim))
        e[0], e[1] = 1.0, kappa
        Q, R = np.linalg.qr(node(seed, i, 1).standard_normal((dim, dim)))
        Q *= np.sign(np.diag(R))
        H = (Q * e) @ Q.T
        x_i = centre + 5.0 * node(seed, i, 2).standard_normal(dim)
        np.testing.assert_allclose(P.oracle.H[i], H, rtol=1e-13, atol=1e-13 * kappa)
        np.testing.assert_allclose(P.oracle.c[i], H @ x_i, rtol=1e-12)
        np.testing.assert_allclose(np.linalg.eigvalsh(P.oracle.H[i]), np.sort(e), rtol=1e-12)


def test_averaging_is_the_per_node_reference():
    P = averaging(5, 4, seed=2)
    centre = 10.0 * shared(2, 0).standard_normal(4)
    a = np.stack([centre + node(2, i, 0).standard_normal(4) for i in range(5)])
    assert np.array_equal(P.oracle.c, a)
    np.testing.assert_allclose(P.x_star, a.mean(axis=0), rtol=1e-14)


SUBSET = np.array([6, 1, 4])


def test_a_subset_of_nodes_is_the_rows_of_the_whole_problem():
    """What a rank builds for its own nodes is bit for bit the whole problem's rows."""
    n, dim, m = 8, 5, 6
    for rows_of, kw in ((least_squares_rows, {}), (logistic_rows, {})):
        A, b = rows_of(np.arange(n), dim, samples_per_node=m, seed=1, **kw)
        As, bs = rows_of(SUBSET, dim, samples_per_node=m, seed=1, **kw)
        rows = (SUBSET[:, None] * m + np.arange(m)).ravel()
        assert np.array_equal(As, A[rows]) and np.array_equal(bs, b[rows])
    whole = quadratic_nodes(np.arange(n), n, dim, kappa=30.0, seed=1)
    part = quadratic_nodes(SUBSET, n, dim, kappa=30.0, seed=1)
    for w, p in zip(whole, part):
        assert np.array_equal(p, w[SUBSET])


def test_node_data_does_not_depend_on_n():
    """Node i's data is a function of (seed, i) alone: a larger problem keeps the first
    nodes' data (the quadratic's dim = 1 extremes aside, placed at nodes 0 and 1)."""
    small = least_squares(3, 4, samples_per_node=5, reg=0.5, seed=7, form="rows")
    large = least_squares(6, 4, samples_per_node=5, reg=0.5, seed=7, form="rows")
    assert np.array_equal(large.oracle.A[:15], small.oracle.A)
    assert np.array_equal(large.oracle.b[:15], small.oracle.b)
    q3, q6 = quadratic(3, 4, kappa=5.0, seed=7), quadratic(6, 4, kappa=5.0, seed=7)
    assert np.array_equal(q6.oracle.H[:3], q3.oracle.H)


def test_libsvm_shuffle_is_the_shared_stream(tmp_path):
    path = tmp_path / "d.svm"
    lines = [f"{1 if k % 3 else -1} 1:{k + 1} 2:{(k * 7) % 5 + 1}" for k in range(12)]
    path.write_text("\n".join(lines) + "\n")
    P = libsvm(path, 3, loss="least_squares", reg=0.1, seed=5, form="rows")
    order = shared(5, 0).permutation(12)
    chunks = np.array_split(order, 3)
    expected_first_feature = np.concatenate([order_chunk + 1.0 for order_chunk in chunks])
    assert np.array_equal(P.oracle.A[:, 0], expected_first_feature)


@pytest.mark.parametrize("make", [
    lambda: quadratic(9, 3, kappa=8.0, seed=2),
    lambda: least_squares(9, 4, samples_per_node=6, reg=0.3, seed=2, form="rows"),
    lambda: logistic(9, 3, samples_per_node=5, seed=2)])
def test_an_oracle_of_some_nodes_answers_for_them_by_node_id(make):
    """What a rank holds: node i's gradient, value and conjugate, called by node id, are the
    whole oracle's bit for bit."""
    from dadao.problems import local_conjugate_gradient, local_gradient, local_value
    from dadao.problems.oracle import oracle_of_nodes

    P = make()
    nodes = np.array([1, 4, 5, 8])
    part = oracle_of_nodes(P.oracle, nodes, P.n)
    assert part.rows.tolist() == [-1, 0, -1, -1, 1, 2, -1, -1, 3]
    x = np.linspace(-1.0, 2.0, P.dim)
    for i in nodes:
        a, b = np.empty(P.dim), np.empty(P.dim)
        local_gradient(P.oracle, i, x, a)
        local_gradient(part, i, x, b)
        assert np.array_equal(a, b)
        assert local_value(P.oracle, i, x) == local_value(part, i, x)
        if P.has_conjugate:
            local_conjugate_gradient(P.oracle, i, x, a)
            local_conjugate_gradient(part, i, x, b)
            assert np.array_equal(a, b)

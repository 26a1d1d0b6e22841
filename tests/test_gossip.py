"""Gossip matrices and the polynomial gossip operators of the synchronous methods (dadao.gossip)."""

import math

import numpy as np
import pytest

from dadao import gossip, graphs

N = 16
FAMILIES = ["star", "complete", "cycle", "path", "grid_2d", "barbell"]

# docs/model.md, Graph constants: (family, n) -> (floor(sqrt chi), ceil(chi ln 2))
ORDERS = {("star", 16): (4, 12), ("complete", 16): (1, 1), ("cycle", 16): (5, 19),
          ("path", 16): (10, 72), ("grid_2d", 16): (3, 9), ("barbell", 16): (6, 34),
          ("star", 300): (17, 208)}


def dense(W):
    return W.toarray()


@pytest.mark.parametrize("family", FAMILIES)
def test_laplacian_gossip_is_symmetric_kills_constants_and_has_spectrum_in_1_over_chi_to_1(family):
    G = graphs.make_graph(family, N)
    net = gossip.Network(G)
    W = dense(net.matrices("laplacian")[0])
    assert np.array_equal(W, W.T)
    assert np.abs(W @ np.ones(N)).max() <= 1e-14
    ev = np.linalg.eigvalsh(W)
    assert abs(ev[0]) <= 1e-12
    assert ev[1] == pytest.approx(1.0 / net.chi, rel=1e-9)
    assert ev[-1] == pytest.approx(1.0, rel=1e-12)


@pytest.mark.parametrize("family", FAMILIES)
def test_metropolis_mixing_is_doubly_stochastic_with_spectrum_in_minus_1_1(family):
    G = graphs.make_graph(family, N)
    net = gossip.Network(G)
    W = dense(net.matrices("metropolis")[0])
    M = np.eye(N) - W
    assert np.array_equal(W, W.T)
    assert np.abs(M.sum(axis=0) - 1).max() <= 1e-14 and np.abs(M.sum(axis=1) - 1).max() <= 1e-14
    assert M.min() >= 0.0  # nonnegative weights, positive diagonal
    assert np.diag(M).min() > 0.0
    ev = np.linalg.eigvalsh(M)
    assert ev[-1] == pytest.approx(1.0) and ev[-2] < 1.0 - 1e-9 and ev[0] > -1.0 + 1e-9
    w_2, w_max = net.metropolis_spectrum
    assert 1.0 - ev[-2] == pytest.approx(w_2, rel=1e-9)
    assert 1.0 - ev[0] == pytest.approx(w_max, rel=1e-9)


@pytest.mark.parametrize("family,n", sorted(ORDERS))
def test_orders_match_the_table_of_section_7(family, n):
    chi = gossip.Network(graphs.make_graph(family, n)).chi
    assert (gossip.chebyshev_order(chi), gossip.multi_consensus_rounds(chi)) == ORDERS[family, n]


def test_orders_tolerate_rounding_of_chi_either_way():
    # the star's chi = 16 as a dense solver (above) and a sparse one (below) return it
    for chi in (16.000000000000018, 15.99999999):
        assert gossip.chebyshev_order(chi) == 4
    assert gossip.multi_consensus_rounds(16.0) == 12


def operator_matrix(apply, mix, n):
    """The n x n matrix of a linear operator given as a function of (mix, X)."""
    return apply(mix, np.eye(n))


@pytest.mark.parametrize("family", FAMILIES)
def test_chebyshev_polynomial_has_its_spectrum_within_the_bound(family):
    G = graphs.make_graph(family, N)
    net = gossip.Network(G)
    W = net.matrices("laplacian")[0]
    cheb = gossip.chebyshev_constants(net.chi)
    rounds = []

    def mix(X):
        rounds.append(1)
        return W @ X

    P = operator_matrix(lambda m, X: gossip.chebyshev_gossip(m, X, cheb), mix, N)
    assert len(rounds) == cheb.K
    assert np.abs(P - P.T).max() <= 1e-10
    assert np.abs(P @ np.ones(N)).max() <= 1e-10
    ev = np.linalg.eigvalsh((P + P.T) / 2)
    lo, hi = cheb.spectrum
    assert abs(ev[0]) <= 1e-10
    assert lo - 1e-10 <= ev[1] and ev[-1] <= hi + 1e-10
    assert ev[-1] / ev[1] <= cheb.chi * (1 + 1e-9)
    # Chebyshev acceleration: P's condition number is O(1) (<= 4 with K = floor(sqrt chi))
    assert cheb.chi <= 4.0 + 1e-9


def test_chebyshev_on_the_complete_graph_is_exact_averaging_without_nan():
    G = graphs.make_graph("complete", N)
    net = gossip.Network(G)
    cheb = gossip.chebyshev_constants(net.chi)
    assert cheb.K == 1 and math.isinf(cheb.c2) and cheb.c1 == pytest.approx(0.0, abs=1e-7)
    W = net.matrices("laplacian")[0]
    X = np.random.default_rng(0).normal(size=(N, 3))
    out = gossip.chebyshev_gossip(lambda Y: W @ Y, X, cheb)
    assert np.all(np.isfinite(out))
    np.testing.assert_allclose(out, X - X.mean(axis=0), atol=1e-12)


@pytest.mark.parametrize("family", ["star", "cycle", "barbell"])
def test_multi_consensus_has_spectrum_in_half_to_one(family):
    G = graphs.make_graph(family, N)
    net = gossip.Network(G)
    W = net.matrices("laplacian")[0]
    T = gossip.multi_consensus_rounds(net.chi)
    Wt = operator_matrix(lambda m, X: gossip.multi_consensus(m, X, T), lambda X: W @ X, N)
    ev = np.linalg.eigvalsh((Wt + Wt.T) / 2)
    assert abs(ev[0]) <= 1e-12
    assert ev[1] >= 0.5 - 1e-12 and ev[-1] <= 1.0 + 1e-12


def test_network_of_a_list_takes_the_worst_chi_and_refuses_mixed_sizes():
    Gs = [graphs.make_graph("random_geometric", N, seed=k) for k in range(4)]
    net = gossip.Network(Gs)
    assert net.K == 4
    assert net.chi == pytest.approx(max(graphs.graph_chi(G) for G in Gs), rel=1e-9)
    with pytest.raises(gossip.NetworkError, match=r"^graph\[1\]: has 8 nodes, graph\[0\] has 16$"):
        gossip.Network([Gs[0], graphs.make_graph("cycle", 8)])
    with pytest.raises(gossip.NetworkError, match="^graph: an empty list"):
        gossip.Network([])

"""Laplacians and the constants chi, chi_1, chi_2 and the resistances, dense and sparse, against
the table of docs/model.md (Graph constants) and closed forms."""

import math
import time

import networkx as nx
import numpy as np
import pytest

from dadao.graphs import (
    GraphError,
    chi_1,
    chi_2,
    edge_array,
    effective_resistances,
    graph_chi,
    laplacian,
    make_graph,
    rate_constants,
)
from dadao.rates import RateError

# docs/model.md, Graph constants: (family, n, params, E, chi, chi_1, chi_2, ceil(chi ln2),
# floor(sqrt chi), sqrt(2 chi_1 chi_2)), chi's of Lp = L_G / |E|.
TABLE = [
    ("star", 16, {}, 15, 16.000, 15.000, 7.500, 12, 4, 15.000),
    ("complete", 16, {}, 120, 1.000, 7.500, 7.500, 1, 1, 10.607),
    ("cycle", 16, {}, 16, 26.274, 105.097, 7.500, 19, 5, 39.705),
    ("path", 16, {}, 15, 103.087, 390.326, 7.500, 72, 10, 76.517),
    ("grid_2d", 16, {}, 24, 11.657, 40.971, 8.411, 9, 3, 26.252),
    ("barbell", 16, {}, 57, 47.979, 279.181, 28.500, 34, 6, 126.148),
    ("star", 300, {}, 299, 300.0, 299.0, 149.5, 208, 17, 299.0),
]


@pytest.mark.parametrize("method", ["dense", "sparse"])
@pytest.mark.parametrize("row", TABLE, ids=[f"{r[0]}-{r[1]}" for r in TABLE])
def test_table_of_section_7(row, method):
    family, n, params, E, chi, c1, c2, rounds_adom, k_cheb, lam_com = row
    G = make_graph(family, n, **params)
    edges = edge_array(G)
    assert len(edges) == E
    g = graph_chi(G, method=method)
    c = rate_constants(edges, np.full(E, 1.0 / E), n, method=method)
    assert g == pytest.approx(chi, abs=5e-4)
    assert c["chi_1"] == pytest.approx(c1, abs=5e-4)
    assert c["chi_2"] == pytest.approx(c2, abs=5e-4)
    assert math.ceil(g * math.log(2) - 1e-9) == rounds_adom
    assert math.floor(math.sqrt(g) + 1e-9) == k_cheb
    assert math.sqrt(2 * c["chi_1"] * c["chi_2"]) == pytest.approx(lam_com, abs=5e-4)


def _graphs_for_agreement():
    yield "path-300", make_graph("path", 300)
    yield "path-2000", make_graph("path", 2000)
    yield "cycle-500", make_graph("cycle", 500)
    yield "torus-40x50", make_graph("torus_2d", 2000, rows=40, cols=50)
    yield "grid-30x40", make_graph("grid_2d", 1200, rows=30, cols=40)
    yield "rgg-2000", make_graph("random_geometric", 2000, seed=7)
    yield "er-400", make_graph("erdos_renyi", 400, seed=3)
    yield "barbell-40", make_graph("barbell", 40)
    yield "hypercube-256", make_graph("hypercube", 256)
    yield "star-500", make_graph("star", 500)


@pytest.mark.parametrize("name,G", list(_graphs_for_agreement()),
                         ids=[name for name, _ in _graphs_for_agreement()])
def test_dense_and_sparse_agree(name, G):
    n = G.number_of_nodes()
    edges = edge_array(G)
    rng = np.random.default_rng(0)
    choices = [rng.uniform(0.05, 5.0, len(edges))]
    if n < 1500:  # the O(n^3) dense reference dominates the run time; one rate vector is enough
        choices.append(np.ones(len(edges)))
    for rates in choices:
        d = rate_constants(edges, rates, n, method="dense")
        s = rate_constants(edges, rates, n, method="sparse")
        for key in d:
            assert s[key] == pytest.approx(d[key], rel=1e-9), key
        Rd = effective_resistances(edges, rates, n, method="dense")
        Rs = effective_resistances(edges, rates, n, method="sparse")
        np.testing.assert_allclose(Rs, Rd, rtol=1e-9)
        # Foster's theorem: sum_e lambda_e R_e = n - 1.
        assert float(rates @ Rs) == pytest.approx(n - 1, rel=1e-10)


@pytest.mark.parametrize("method", ["dense", "sparse"])
def test_closed_forms(method):
    rng = np.random.default_rng(1)
    # A tree: R_e = 1 / lambda_e exactly (a path of 3000 nodes is very badly conditioned).
    n = 3000 if method == "sparse" else 800
    edges = edge_array(make_graph("path", n))
    lam = rng.uniform(0.1, 10.0, len(edges))
    np.testing.assert_allclose(effective_resistances(edges, lam, n, method=method), 1 / lam,
                               rtol=1e-10)
    # Unit cycle: R = (n-1)/n; complete graph: R = 2/n; lambda_2 of the cycle 2 - 2 cos(2 pi/n).
    c = rate_constants(edge_array(make_graph("cycle", n)), np.ones(n), n, method=method)
    assert c["max_resistance"] == pytest.approx((n - 1) / n, rel=1e-10)
    assert c["lambda_2"] == pytest.approx(2 - 2 * math.cos(2 * math.pi / n), rel=1e-9)
    assert c["lambda_max"] == pytest.approx(4.0, rel=1e-12)
    m = 60
    ce = edge_array(make_graph("complete", m))
    np.testing.assert_allclose(effective_resistances(ce, np.ones(len(ce)), m, method=method),
                               2 / m, rtol=1e-12)


@pytest.mark.parametrize("family,n,params", [
    ("cycle", 20, {}), ("grid_2d", 25, {}), ("barbell", 12, {}),
    ("random_geometric", 60, {"seed": 4}), ("erdos_renyi", 50, {"seed": 2}),
])
def test_chi_properties(family, n, params):
    G = make_graph(family, n, **params)
    edges = edge_array(G)
    rates = np.random.default_rng(5).uniform(0.2, 3.0, len(edges))
    a1, a2 = chi_1(edges, rates, n), chi_2(edges, rates, n)
    assert a2 <= a1 * (1 + 1e-12)
    for c in (0.1, 7.0):
        assert chi_1(edges, c * rates, n) == pytest.approx(a1 / c, rel=1e-11)
        assert chi_2(edges, c * rates, n) == pytest.approx(a2 / c, rel=1e-11)


def test_zero_rate_edges_count_in_chi_2_but_not_in_laplacian():
    G = make_graph("cycle", 10)
    edges = edge_array(G)
    rates = np.ones(10)
    rates[0] = 0.0  # the cycle becomes a path; edge 0 still counts in the max of chi_2
    for method in ("dense", "sparse"):
        R = effective_resistances(edges, rates, 10, method=method)
        assert R[0] == pytest.approx(9.0)  # its endpoints are 9 unit edges apart
        assert chi_2(edges, rates, 10, method=method) == pytest.approx(4.5)
    rates[1] = 0.0  # now node 1 is cut off
    with pytest.raises(RateError, match="rate Laplacian is disconnected"):
        rate_constants(edges, rates, 10)


def test_bad_rate_arrays_are_refused():
    edges = edge_array(make_graph("path", 4))
    with pytest.raises(RateError, match=r"edge \(1, 2\).*>= 0"):
        rate_constants(edges, [1.0, -1.0, 1.0], 4)
    with pytest.raises(RateError, match="one entry per edge"):
        rate_constants(edges, [1.0, 1.0], 4)
    with pytest.raises(RateError, match=r"edge \(2, 3\)"):
        chi_1(edges, [1.0, 1.0, np.nan], 4)
    with pytest.raises(GraphError, match="method"):
        chi_1(edges, [1.0, 1.0, 1.0], 4, method="lu")


def test_large_torus_sparse_is_exact_and_fast():
    rows = cols = 141
    n = rows * cols
    G = make_graph("torus_2d", n)
    edges = edge_array(G)
    rate_constants(edge_array(make_graph("torus_2d", 9)), np.ones(18), 9, method="sparse")
    t0 = time.perf_counter()
    c = rate_constants(edges, np.ones(len(edges)), n, method="sparse")
    seconds = time.perf_counter() - t0
    print(f"torus {rows}x{cols} (n = {n}, E = {len(edges)}): sparse constants in {seconds:.1f} s")
    # By symmetry every edge of the square torus has the same resistance, so Foster's theorem
    # gives it exactly: R = (n - 1) / E.
    assert c["max_resistance"] == pytest.approx((n - 1) / len(edges), rel=1e-10)
    assert c["lambda_2"] == pytest.approx(2 - 2 * math.cos(2 * math.pi / rows), rel=1e-9)
    assert c["lambda_max"] == pytest.approx(4 - 4 * math.cos(2 * math.pi * 70 / 141), rel=1e-9)
    assert seconds < 60


def test_laplacian_is_sum_of_weighted_b_b_transposed():
    edges = np.array([[0, 1], [1, 2], [0, 2]])
    w = np.array([1.0, 2.0, 0.5])
    L = laplacian(edges, 3, w).toarray()
    expected = np.zeros((3, 3))
    for (u, v), we in zip(edges, w):
        b = np.zeros(3)
        b[u], b[v] = 1, -1
        expected += we * np.outer(b, b)
    np.testing.assert_allclose(L, expected)
    np.testing.assert_allclose(laplacian(edges, 3).toarray(), nx.laplacian_matrix(
        nx.Graph([(0, 1), (1, 2), (0, 2)]), nodelist=[0, 1, 2]).toarray())


@pytest.mark.parametrize("n", [2, 3, 5])
def test_tiny_graphs_on_both_paths(n):
    edges = edge_array(make_graph("path", n))
    d = rate_constants(edges, np.ones(n - 1), n, method="dense")
    s = rate_constants(edges, np.ones(n - 1), n, method="sparse")
    assert s == pytest.approx(d, rel=1e-12)
    assert d["max_resistance"] == pytest.approx(1.0)


def test_sparse_fallbacks_agree_with_main_kernel():
    # The reach-search kernel (pattern not closed) and the one-solve-per-edge fallback (SuperLU
    # pivoted) are never taken for Laplacians, so check them directly against the main kernel.
    import scipy.sparse as sp
    import scipy.sparse.linalg as sla

    from dadao.graphs import spectral

    n = 400
    edges = edge_array(make_graph("random_geometric", n, seed=5))
    lam = np.random.default_rng(2).uniform(0.5, 2.0, len(edges))
    Lg = laplacian(edges, n, lam).tocsc()[1:, 1:].tocsc()  # grounded at node 0
    lu = sla.splu(Lg, permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.0,
                  options=dict(SymmetricMode=True))
    L = sp.tril(lu.L, k=-1, format="csc")
    L.sort_indices()
    ip, ix = L.indptr.astype(np.int64), L.indices.astype(np.int64)
    D = lu.U.diagonal().copy()
    pos = np.concatenate([[-1], lu.perm_c]).astype(np.int64)
    pu, pv = pos[edges[:, 0]], pos[edges[:, 1]]
    parent, closed = spectral._elimination_tree(ip, ix)
    assert closed
    R = spectral._resistances_etree(ip, ix, L.data, D, parent, pu, pv, 4)
    np.testing.assert_allclose(spectral._resistances_reach(ip, ix, L.data, D, pu, pv), R,
                               rtol=1e-12)
    plain = np.concatenate([[-1], np.arange(n - 1)]).astype(np.int64)
    by_solves = spectral._resistances_by_solves(lu, plain[edges[:, 0]], plain[edges[:, 1]])
    np.testing.assert_allclose(by_solves, R, rtol=1e-9)
    np.testing.assert_allclose(R, effective_resistances(edges, lam, n, method="dense"),
                               rtol=1e-9)

"""Graphs as edge arrays (EdgeGraph, family_graph) against networkx's own generators, and the
compiled sparse builders against scipy's."""

import networkx as nx
import numpy as np
import pytest
import scipy.sparse.csgraph

from dadao.graphs import (FAMILIES, EdgeGraph, check_connected, edge_array, family_graph,
                          family_sequence, from_edges, graph_sequence, make_graph, spectral)
from dadao.graphs.csr import symmetric_csr, symmetric_permutation
from dadao.errors import GraphError


def _reference(family, n, rows=None, cols=None):
    """The family's graph from networkx's generators, nodes renumbered as dadao numbers them."""
    if family == "complete":
        return nx.complete_graph(n)
    if family == "path":
        return nx.path_graph(n)
    if family == "cycle":
        return nx.cycle_graph(n)
    if family == "star":
        return nx.star_graph(n - 1)
    if family in ("grid_2d", "torus_2d"):
        G = nx.grid_2d_graph(rows, cols, periodic=family == "torus_2d")
        return nx.relabel_nodes(G, {(r, c): r * cols + c for r, c in G.nodes})
    if family == "hypercube":
        d = n.bit_length() - 1
        G = nx.hypercube_graph(d)
        return nx.relabel_nodes(G, {v: sum(b << k for k, b in enumerate(v)) for v in G.nodes})
    if family == "barbell":
        return nx.barbell_graph(n // 2, 0)
    raise AssertionError(family)


@pytest.mark.parametrize("family,n,rows,cols", [
    ("complete", 9, None, None), ("path", 11, None, None), ("cycle", 12, None, None),
    ("star", 10, None, None), ("grid_2d", 12, 3, 4), ("grid_2d", 25, 5, 5),
    ("torus_2d", 20, 4, 5), ("torus_2d", 9, 3, 3), ("hypercube", 32, None, None),
    ("barbell", 12, None, None)])
def test_deterministic_families_are_networkx_graphs(family, n, rows, cols):
    params = {} if rows is None else {"rows": rows, "cols": cols}
    G = family_graph(family, n, **params)
    ref = edge_array(_reference(family, n, rows, cols))
    assert isinstance(G, EdgeGraph) and G.n == n
    assert np.array_equal(G.edges, ref)
    assert np.array_equal(edge_array(make_graph(family, n, **params)), ref)
    assert G.graph["family"] == family and G.is_connected()


def test_random_geometric_joins_exactly_the_pairs_within_the_radius():
    n, radius = 300, 0.09
    G = family_graph("random_geometric", n, seed=5, radius=radius)
    pos = G.positions
    dist = np.linalg.norm(pos[:, None, :] - pos[None, :, :], axis=2)
    u, v = np.nonzero(np.triu(dist <= radius, 1))
    near = set(zip(u.tolist(), v.tolist()))
    edges = set(map(tuple, G.edges.tolist()))
    added = edges - near
    assert near <= edges and len(added) == G.graph["edges_added_to_connect"]
    assert G.is_connected()
    H = make_graph("random_geometric", n, seed=5, radius=radius)  # the same, in networkx
    assert np.array_equal(edge_array(H), G.edges)
    assert H.nodes[7]["pos"] == (float(pos[7, 0]), float(pos[7, 1]))


@pytest.mark.parametrize("family", ["random_geometric", "erdos_renyi"])
def test_random_families_and_sequences_agree_with_networkx_form(family):
    for seed in (0, 3):
        G = family_graph(family, 150, seed=seed)
        H = make_graph(family, 150, seed=seed)
        assert np.array_equal(G.edges, edge_array(H)) and G.graph == H.graph
    seq, nx_seq = family_sequence(family, 40, 4, seed=2), graph_sequence(family, 40, 4, seed=2)
    assert [np.array_equal(a.edges, edge_array(b)) for a, b in zip(seq, nx_seq)] == [True] * 4
    assert all(g.graph["sequence_seed"] == 2 for g in seq)


def test_components_in_the_order_networkx_finds_them():
    pairs = [(5, 9), (0, 3), (7, 8), (3, 4), (1, 2)]
    G = from_edges(10, pairs)
    ref = [sorted(c) for c in nx.connected_components(G.to_networkx())]
    assert [c.tolist() for c in G.components()] == ref
    with pytest.raises(GraphError, match="disconnected"):
        check_connected(G)


def test_edges_are_canonical_and_read_only():
    G = from_edges(5, [(3, 1), (0, 4), (1, 3), (2, 2), (0, 1)])
    assert G.edges.tolist() == [[0, 1], [0, 4], [1, 3]]  # sorted, repeat and self-loop gone
    with pytest.raises(ValueError):
        G.edges[0, 0] = 2
    assert edge_array(G) is G.edges and G.number_of_edges() == 3 and len(G) == 5


@pytest.mark.parametrize("compiled", [True, False])
@pytest.mark.parametrize("order", ["canonical", "shuffled"])
def test_symmetric_csr_is_scipys_matrix(order, compiled, monkeypatch):
    from dadao.graphs import csr

    if compiled:  # the compiled pass, which large graphs take, on a small one
        monkeypatch.setattr(csr, "COMPILED_MIN_EDGES", 0)
    G = family_graph("random_geometric", 400, seed=1)
    rng = np.random.default_rng(0)
    w = rng.random(G.number_of_edges())
    w[::5] = 0.0  # explicit zeros stay entries, as in scipy's conversion
    edges = G.edges if order == "canonical" else G.edges[rng.permutation(len(w))][:, ::-1]
    L = spectral.laplacian(edges, G.n, w)
    u, v = edges[:, 0], edges[:, 1]
    deg = np.bincount(u, weights=w, minlength=G.n) + np.bincount(v, weights=w, minlength=G.n)
    nodes = np.arange(G.n)
    ref = scipy.sparse.csr_matrix(
        (np.concatenate([-w, -w, deg]), (np.concatenate([u, v, nodes]),
                                         np.concatenate([v, u, nodes]))), shape=(G.n, G.n))
    ref.sort_indices()
    for name in ("indptr", "indices", "data"):
        assert np.array_equal(getattr(L, name), getattr(ref, name))
    assert L.indices.dtype == ref.indices.dtype and L.nnz == 2 * len(w) + G.n
    A = symmetric_csr(edges, np.ones(len(w)), G.n)
    assert A.nnz == 2 * len(w) and (A != A.T).nnz == 0


def test_symmetric_permutation_is_fancy_indexing():
    G = family_graph("random_geometric", 500, seed=2)
    L = spectral.laplacian(G.edges, G.n, np.random.default_rng(1).random(G.number_of_edges()))
    perm = scipy.sparse.csgraph.reverse_cuthill_mckee(L, symmetric_mode=True)
    ref = L[perm][:, perm].tocsr()
    ref.sort_indices()
    P = symmetric_permutation(L, perm)
    for name in ("indptr", "indices", "data"):
        assert np.array_equal(getattr(P, name), getattr(ref, name))


@pytest.mark.parametrize("family", FAMILIES)
def test_every_family_as_edge_graph_is_connected(family):
    G = family_graph(family, 16, seed=0)
    assert G.is_connected() and G.edges.min() >= 0 and G.edges.max() == 15

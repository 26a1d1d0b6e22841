"""Graph families, the edge order, networkx graphs and edge-list files."""

import math

import networkx as nx
import numpy as np
import pytest

from dadao.graphs import (
    FAMILIES,
    GraphError,
    check_connected,
    edge_array,
    from_networkx,
    load_edge_list,
    make_graph,
)

# ---------------------------------------------------------------------------------------------
# Families


@pytest.mark.parametrize("family", FAMILIES)
def test_every_family_builds_connected_graph_on_0_to_n_minus_1(family):
    n = 16
    G = make_graph(family, n, seed=0)
    assert sorted(G.nodes) == list(range(n))
    assert nx.is_connected(G)
    assert nx.number_of_selfloops(G) == 0


def test_family_shapes():
    assert make_graph("complete", 7).number_of_edges() == 21
    assert make_graph("cycle", 7).number_of_edges() == 7
    assert make_graph("path", 7).number_of_edges() == 6
    star = make_graph("star", 7)
    assert star.degree[0] == 6 and all(star.degree[i] == 1 for i in range(1, 7))
    g = make_graph("grid_2d", 12, rows=3, cols=4)
    assert g.number_of_edges() == 3 * 3 + 2 * 4
    assert g.has_edge(0, 1) and g.has_edge(0, 4) and not g.has_edge(3, 4)
    assert make_graph("grid_2d", 12, rows=3).number_of_edges() == 17
    t = make_graph("torus_2d", 12, rows=3, cols=4)
    assert t.number_of_edges() == 24 and all(d == 4 for _, d in t.degree)
    h = make_graph("hypercube", 32)
    assert h.number_of_edges() == 80 and h.has_edge(5, 7) and not h.has_edge(5, 6)
    b = make_graph("barbell", 10)
    assert b.number_of_edges() == 2 * 10 + 1
    assert nx.is_isomorphic(b, nx.barbell_graph(5, 0))


@pytest.mark.parametrize("family,n,params,needle", [
    ("cycle", 2, {}, "n >= 3"),
    ("path", 1, {}, "n must be >= 2"),
    ("complete", 0, {}, "n must be >= 2"),
    ("star", 2.5, {}, "n must be an integer"),
    ("grid_2d", 15, {}, "perfect square"),
    ("grid_2d", 15, {}, "rows and cols"),
    ("grid_2d", 12, {"rows": 5}, "5 does not divide 12"),
    ("grid_2d", 12, {"rows": 2, "cols": 5}, "rows * cols must equal n"),
    ("torus_2d", 8, {"rows": 2, "cols": 4}, "rows >= 3 and cols >= 3"),
    ("torus_2d", 10, {}, "perfect square"),
    ("hypercube", 12, {}, "power of 2"),
    ("hypercube", 12, {}, "8 or 16"),
    ("barbell", 9, {}, "n even and >= 6"),
    ("barbell", 4, {}, "got n = 4"),
    ("erdos_renyi", 10, {"p": 1.5}, "p must be a probability"),
    ("random_geometric", 10, {"radius": -1}, "radius must be"),
    ("cycle", 10, {"p": 0.3}, "'cycle' takes no parameters"),
    ("grid_2d", 16, {"row": 4}, "unknown parameter(s) row"),
    ("erdos_renyi", 16, {"radius": 0.3}, "takes only p"),
])
def test_family_errors_name_the_problem(family, n, params, needle):
    with pytest.raises(GraphError) as info:
        make_graph(family, n, **params)
    assert needle in str(info.value)
    assert "\n" not in str(info.value)


def test_unknown_family_lists_families_and_suggests():
    with pytest.raises(GraphError) as info:
        make_graph("torus", 16)
    msg = str(info.value)
    assert "unknown graph family 'torus'" in msg and "did you mean 'torus_2d'" in msg
    assert all(f in msg for f in FAMILIES)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("family,params", [
    ("erdos_renyi", {}), ("erdos_renyi", {"p": 0.05}),
    ("random_geometric", {}), ("random_geometric", {"radius": 0.1}),
])
def test_random_families_reproducible_by_seed(family, params):
    n = 120
    a = edge_array(make_graph(family, n, seed=11, **params))
    b = edge_array(make_graph(family, n, seed=11, **params))
    c = edge_array(make_graph(family, n, seed=12, **params))
    np.testing.assert_array_equal(a, b)
    assert a.shape != c.shape or np.any(a != c)
    make_graph(family, n, seed=None, **params)  # None: fresh entropy, still valid


def test_random_geometric_small_radius_is_made_connected():
    G = make_graph("random_geometric", 200, seed=3, radius=0.02)
    assert nx.is_connected(G)
    added = G.graph["edges_added_to_connect"]
    assert added > 50  # almost every node was isolated
    # one edge per consecutive pair of components: a tree over the components
    assert G.number_of_edges() >= added
    assert G.graph["radius"] == 0.02


def test_erdos_renyi_edge_density_matches_p():
    n, p = 400, 0.05
    G = make_graph("erdos_renyi", n, p=p, seed=0)
    m = G.number_of_edges() - G.graph["edges_added_to_connect"]
    expected = p * n * (n - 1) / 2
    assert abs(m - expected) < 5 * math.sqrt(expected)
    assert make_graph("erdos_renyi", 30, p=1.0, seed=0).number_of_edges() == 435


# ---------------------------------------------------------------------------------------------
# Edge order, Laplacian, loaders


def test_edge_array_is_canonical():
    G = nx.Graph([(3, 1), (0, 2), (2, 1), (0, 3)])
    e = edge_array(G)
    assert e.dtype == np.int64 and e.shape == (4, 2)
    np.testing.assert_array_equal(e, [[0, 2], [0, 3], [1, 2], [1, 3]])
    with pytest.raises(GraphError, match="from_networkx"):
        edge_array(nx.Graph([("a", "b")]))


def test_from_networkx_relabels_and_refuses_bad_graphs():
    G = nx.Graph([("c", "a"), ("a", "b"), ("b", "b")])
    H = from_networkx(G)
    assert sorted(H.nodes) == [0, 1, 2]
    assert [H.nodes[i]["label"] for i in range(3)] == ["a", "b", "c"]
    assert sorted(H.edges) == [(0, 1), (0, 2)]
    with pytest.raises(GraphError, match="graph is disconnected: 2 components"):
        from_networkx(nx.Graph([(0, 1), (2, 3)]))
    with pytest.raises(GraphError, match=">= 2"):
        from_networkx(nx.empty_graph(1))
    check_connected(make_graph("path", 3))


def test_load_edge_list(tmp_path):
    good = tmp_path / "g.txt"
    good.write_text("# a square with a tail\n10 20\n20,30, 0.5\n30 40  # weight ignored\n"
                    "\n40 10\n40 50 2.0\n")
    G = load_edge_list(good)
    assert G.number_of_nodes() == 5 and G.number_of_edges() == 5
    assert [G.nodes[i]["label"] for i in range(5)] == [10, 20, 30, 40, 50]
    np.testing.assert_array_equal(edge_array(G), [[0, 1], [0, 3], [1, 2], [2, 3], [3, 4]])

    missing = tmp_path / "nope.txt"
    with pytest.raises(GraphError, match="not found") as info:
        load_edge_list(missing)
    assert str(missing) in str(info.value)

    bad = tmp_path / "bad.txt"
    bad.write_text("0 1\n1 2\n2\n")
    with pytest.raises(GraphError) as info:
        load_edge_list(bad)
    assert str(bad) in str(info.value) and "line 3" in str(info.value)

    disc = tmp_path / "disc.txt"
    disc.write_text("0 1\n2 3\n")
    with pytest.raises(GraphError) as info:
        load_edge_list(disc)
    assert str(disc) in str(info.value) and "disconnected: 2 components" in str(info.value)

    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing\n")
    with pytest.raises(GraphError, match="no edges"):
        load_edge_list(empty)

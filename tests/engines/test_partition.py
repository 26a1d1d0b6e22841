"""The partition of nodes over MPI ranks: METIS parts of equal events, balanced blocks, few cut
edges, deterministic."""

import numpy as np
import pytest

from dadao import graphs
from dadao.engines import partition as partition_module
from dadao.engines.partition import Partition, PartitionError, imbalance, node_loads, partition


def _edges(family, n, **kw):
    return graphs.edge_array(graphs.make_graph(family, n, **kw))


@pytest.mark.parametrize("family,n,kw", [("cycle", 30, {}), ("grid_2d", 36, {}),
                                         ("random_geometric", 64, {"seed": 0}),
                                         ("barbell", 20, {}), ("star", 17, {})])
@pytest.mark.parametrize("ranks", [1, 2, 3, 4])
def test_blocks_are_balanced_and_cover_every_node(family, n, kw, ranks):
    e = _edges(family, n, **kw)
    p = partition(n, e, ranks, method="blocks")
    sizes = np.bincount(p.owner, minlength=ranks)
    assert sizes.sum() == n and sizes.max() - sizes.min() <= 1 and sizes.min() >= 1
    assert np.array_equal(np.sort(np.concatenate([p.nodes_of(r) for r in range(ranks)])),
                          np.arange(n))
    d = p.describe(e)
    assert d["cut_edges"] == int(p.cut(e).sum())
    assert sum(d["cut_edges_per_rank"]) == 2 * d["cut_edges"]


@pytest.mark.parametrize("family,n,ranks,cut", [
    ("cycle", 30, 3, 3),      # three arcs
    ("path", 30, 4, 3),       # four segments
    ("barbell", 20, 2, 1),    # the bridge only
    ("grid_2d", 36, 2, 6),    # one straight cut of a 6 x 6 grid
])
def test_cut_is_optimal_on_graphs_with_an_obvious_partition(family, n, ranks, cut):
    e = _edges(family, n)
    for method in ("blocks", "auto"):
        assert partition(n, e, ranks, method=method).describe(e)["cut_edges"] == cut


def test_graph_aware_ordering_beats_node_ids_on_a_shuffled_graph():
    """A cycle with shuffled labels: the id blocks cut almost every edge, RCM or the Fiedler
    ordering finds the arcs again."""
    n = 40
    perm = np.random.default_rng(0).permutation(n)
    e = np.sort(perm[_edges("cycle", n)], axis=1)
    p = partition(n, e, 4, method="blocks")
    naive = int((np.arange(n)[e[:, 0]] * 4 // n != np.arange(n)[e[:, 1]] * 4 // n).sum())
    assert p.method != "identity" and p.describe(e)["cut_edges"] <= 8 < naive


def test_rate_weights_steer_the_cut():
    # a 4-cycle 0-1-2-3-0: with heavy rates on 0-1 and 2-3, the two blocks keep those inside
    e = np.array([[0, 1], [1, 2], [2, 3], [0, 3]])
    for method in ("blocks", "metis"):
        p = partition(4, e, 2, weights=[10.0, 1.0, 10.0, 1.0], method=method)
        assert p.owner[0] == p.owner[1] and p.owner[2] == p.owner[3]


def test_deterministic():
    e = _edges("random_geometric", 50, seed=3)
    for method in ("blocks", "metis"):
        a, b = partition(50, e, 3, method=method), partition(50, e, 3, method=method)
        assert np.array_equal(a.owner, b.owner) and a.method == b.method


def test_more_ranks_than_nodes_is_one_line():
    with pytest.raises(PartitionError, match="4 MPI ranks for n = 3 nodes"):
        partition(3, np.array([[0, 1], [1, 2]]), 4)


def test_single_rank_owns_everything():
    p = partition(5, _edges("path", 5), 1)
    assert isinstance(p, Partition) and not p.owner.any() and p.method == "single"


def test_node_load_is_its_gradient_rate_and_half_its_edges_rates():
    e = np.array([[0, 1], [1, 2], [0, 2], [2, 3]])
    load = node_loads(4, e, weights=[2.0, 4.0, 6.0, 8.0], node_rates=[1.0, 1.0, 3.0, 1.0])
    assert load.tolist() == [1 + 4.0, 1 + 3.0, 3 + 9.0, 1 + 4.0]
    assert load.sum() == 6.0 + 20.0  # every gradient and every edge event counted once


@pytest.mark.parametrize("ranks", [2, 4])
def test_metis_gives_ranks_equal_events_and_cuts_less_rate(ranks):
    G = graphs.family_graph("random_geometric", 600, seed=0)
    lam = np.random.default_rng(ranks).uniform(0.5, 2.0, G.number_of_edges())
    metis = partition(G.n, G.edges, ranks, lam, method="metis")
    blocks = partition(G.n, G.edges, ranks, lam, method="blocks")
    assert metis.method == "metis" and imbalance(metis) <= 0.05
    assert lam[metis.cut(G.edges)].sum() < lam[blocks.cut(G.edges)].sum()
    d = metis.describe(G.edges)
    assert d["event_imbalance"] == imbalance(metis)
    assert sum(d["events_per_time_per_rank"]) == pytest.approx(G.n + lam.sum())
    assert partition(G.n, G.edges, ranks, lam).method == "metis"  # auto


def test_auto_keeps_blocks_that_are_as_even_and_cut_less():
    # a torus numbered row by row: halves of rows are perfectly even and cut 2 x 16 edges
    G = graphs.family_graph("torus_2d", 256)
    lam = np.ones(G.number_of_edges())
    p = partition(G.n, G.edges, 2, lam)
    assert p.method == "identity" and imbalance(p) == 0.0 and p.cut(G.edges).sum() == 32


def test_without_pymetis_auto_falls_back_and_metis_says_what_to_install(monkeypatch):
    monkeypatch.setattr(partition_module, "metis_available", lambda: False)
    e = _edges("random_geometric", 64, seed=1)
    assert partition(64, e, 2).method != "metis"
    with pytest.raises(PartitionError, match="pymetis") as info:
        partition(64, e, 2, method="metis")
    assert info.value.field == "partition"
    with pytest.raises(PartitionError, match="unknown partition method"):
        partition(64, e, 2, method="kway")

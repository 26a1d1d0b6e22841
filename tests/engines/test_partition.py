"""The partition of nodes over MPI ranks: balanced blocks, few cut edges, deterministic."""

import numpy as np
import pytest

from dadao import graphs
from dadao.engines.partition import Partition, PartitionError, partition


def _edges(family, n, **kw):
    return graphs.edge_array(graphs.make_graph(family, n, **kw))


@pytest.mark.parametrize("family,n,kw", [("cycle", 30, {}), ("grid_2d", 36, {}),
                                         ("random_geometric", 64, {"seed": 0}),
                                         ("barbell", 20, {}), ("star", 17, {})])
@pytest.mark.parametrize("ranks", [1, 2, 3, 4])
def test_blocks_are_balanced_and_cover_every_node(family, n, kw, ranks):
    e = _edges(family, n, **kw)
    p = partition(n, e, ranks)
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
    assert partition(n, e, ranks).describe(e)["cut_edges"] == cut


def test_graph_aware_ordering_beats_node_ids_on_a_shuffled_graph():
    """A cycle with shuffled labels: the id blocks cut almost every edge, RCM or the Fiedler
    ordering finds the arcs again."""
    n = 40
    perm = np.random.default_rng(0).permutation(n)
    e = np.sort(perm[_edges("cycle", n)], axis=1)
    p = partition(n, e, 4)
    naive = int((np.arange(n)[e[:, 0]] * 4 // n != np.arange(n)[e[:, 1]] * 4 // n).sum())
    assert p.method != "identity" and p.describe(e)["cut_edges"] <= 8 < naive


def test_rate_weights_steer_the_cut():
    # a 4-cycle 0-1-2-3-0: with heavy rates on 0-1 and 2-3, the two blocks keep those inside
    e = np.array([[0, 1], [1, 2], [2, 3], [0, 3]])
    p = partition(4, e, 2, weights=[10.0, 1.0, 10.0, 1.0])
    assert p.owner[0] == p.owner[1] and p.owner[2] == p.owner[3]


def test_deterministic():
    e = _edges("random_geometric", 50, seed=3)
    a, b = partition(50, e, 3), partition(50, e, 3)
    assert np.array_equal(a.owner, b.owner) and a.method == b.method


def test_more_ranks_than_nodes_is_one_line():
    with pytest.raises(PartitionError, match="4 MPI ranks for n = 3 nodes"):
        partition(3, np.array([[0, 1], [1, 2]]), 4)


def test_single_rank_owns_everything():
    p = partition(5, _edges("path", 5), 1)
    assert isinstance(p, Partition) and not p.owner.any() and p.method == "single"

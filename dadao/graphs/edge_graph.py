"""A graph as the project holds it: n nodes 0..n-1 and the (E, 2) edge array, nothing else.

    G = EdgeGraph(n, edges, {"family": "torus_2d"})
    G.edges                  # (E, 2) int64, rows u < v, sorted: THE edge order (edge_array)
    G.to_networkx()          # for drawing or any networkx algorithm

A networkx graph stores a dict per node and per adjacency, about 0.5-1 KB per edge: at 10^6
nodes that is gigabytes and minutes before any constant is computed, for a structure the run
never walks. ``EdgeGraph`` is what the families build (``dadao.graphs.family_graph``) and what a
prepared run holds; it answers the few questions the project asks of a graph
(``number_of_nodes``, ``number_of_edges``, the ``graph`` attributes) in the spelling networkx
uses, so functions that take a graph take either.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse
import scipy.sparse.csgraph

from dadao.errors import GraphError
from dadao.graphs.csr import symmetric_csr


class EdgeGraph:
    """n nodes and their edges in the canonical order; ``graph``: attributes (family, seed, ...).

    ``edges`` must already be canonical (rows u < v, sorted, no repeats, endpoints in 0..n-1):
    :func:`canonical_edges` makes them so. The array is made read-only, since rate arrays and
    every prepared run are indexed by its rows. ``positions``: an (n, 2) array of node
    coordinates (random geometric graphs), or None.
    """

    __slots__ = ("n", "edges", "graph", "positions")

    def __init__(self, n: int, edges: np.ndarray, graph: dict | None = None,
                 positions: np.ndarray | None = None):
        self.n = int(n)
        self.edges = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
        self.edges.flags.writeable = False
        self.graph = dict(graph or {})
        self.positions = positions

    def number_of_nodes(self) -> int:
        return self.n

    def number_of_edges(self) -> int:
        return len(self.edges)

    def __len__(self) -> int:
        return self.n

    def __repr__(self) -> str:
        return (f"EdgeGraph(n={self.n}, edges={len(self.edges)}, "
                f"family={self.graph.get('family', 'graph')!r})")

    def adjacency(self) -> scipy.sparse.csr_matrix:
        """The symmetric 0/1 adjacency matrix, (n, n) CSR."""
        return symmetric_csr(self.edges, np.ones(len(self.edges)), self.n)

    def components(self) -> list[np.ndarray]:
        """The connected components, each a sorted array of its nodes, ordered by their
        smallest node (the order in which networkx's ``connected_components`` finds them)."""
        k, label = scipy.sparse.csgraph.connected_components(self.adjacency(), directed=False)
        order = np.argsort(label, kind="stable")
        members = np.split(order, np.cumsum(np.bincount(label, minlength=k))[:-1])
        return sorted(members, key=lambda c: int(c[0]))

    def component_count(self) -> int:
        return int(scipy.sparse.csgraph.connected_components(self.adjacency(), directed=False,
                                                             return_labels=False))

    def is_connected(self) -> bool:
        return self.component_count() == 1

    def to_networkx(self):
        """The networkx graph on the nodes 0..n-1 with these edges and attributes (and the
        positions as node attribute ``pos``)."""
        import networkx as nx

        G = nx.Graph()
        if self.positions is None:
            G.add_nodes_from(range(self.n))
        else:
            G.add_nodes_from((i, {"pos": (float(x), float(y))})
                             for i, (x, y) in enumerate(self.positions.tolist()))
        G.add_edges_from(self.edges.tolist())
        G.graph.update(self.graph)
        return G


def canonical_edges(pairs, n: int) -> np.ndarray:
    """(E, 2) int64 edges from node pairs: each row u < v, self-loops and repeats dropped, rows
    sorted (u, then v): the order of ``dadao.graphs.edge_array``."""
    e = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    e = np.sort(e, axis=1)
    e = e[e[:, 0] != e[:, 1]]
    if len(e) and (e.min() < 0 or e.max() >= n):
        raise GraphError(f"edge endpoints must lie in 0..n-1 = 0..{n - 1}; "
                         f"got {e.min()}..{e.max()}")
    key = np.sort(e[:, 0] * np.int64(n) + e[:, 1])  # row-major order of (u, v)
    if len(key):
        key = key[np.concatenate([[True], key[1:] != key[:-1]])]  # repeats dropped
    return np.stack([key // n, key % n], axis=1)


def from_edges(n: int, pairs, **graph) -> EdgeGraph:
    """An EdgeGraph of the pairs made canonical (:func:`canonical_edges`)."""
    return EdgeGraph(n, canonical_edges(pairs, n), graph)

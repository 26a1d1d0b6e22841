"""Which MPI rank owns which node: P balanced blocks that keep most edges inside a rank.

A gossip event on an edge whose two ends live on different ranks costs a matched message
exchange between those ranks, and every other event is local; so the partition should cut few
edges. It is computed once per run, on one rank, and deterministically:

1. candidate node orderings: the identity (node ids often follow the geometry: paths, grids,
   barbells), reverse Cuthill-McKee (a bandwidth-reducing ordering of the union graph), and the
   Fiedler ordering (nodes sorted by the second Laplacian eigenvector; n <= FIEDLER_MAX_N);
2. each ordering is cut into P contiguous blocks of floor(n/P) or ceil(n/P) nodes;
3. the candidate with the fewest cut edges (weighted by their gossip rates when given, since a
   cut edge costs in proportion to how often it fires) wins; ties keep the earlier candidate.

This is a heuristic, not an optimal graph partition (METIS would do better on irregular graphs
and is an easy swap here: the engine only needs ``owner``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import reverse_cuthill_mckee

from dadao.errors import PartitionError

#: Largest n for which the Fiedler ordering (a dense eigendecomposition) is tried.
FIEDLER_MAX_N = 2000


@dataclass(frozen=True)
class Partition:
    """owner[i] = rank of node i; ``method`` is the winning ordering."""

    owner: np.ndarray  # (n,) int64
    ranks: int
    method: str

    def nodes_of(self, rank: int) -> np.ndarray:
        """The nodes a rank owns, increasing."""
        return np.flatnonzero(self.owner == rank)

    def cut(self, edges) -> np.ndarray:
        """Boolean mask of the edges whose ends live on different ranks."""
        edges = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
        return self.owner[edges[:, 0]] != self.owner[edges[:, 1]]

    def describe(self, edges) -> dict:
        """Counts for meta.json: nodes per rank, cut edges (and edges) in total and per rank."""
        edges = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
        cut = self.cut(edges)
        touches = np.zeros(self.ranks, dtype=np.int64)
        np.add.at(touches, self.owner[edges[cut, 0]], 1)
        np.add.at(touches, self.owner[edges[cut, 1]], 1)
        return {
            "ranks": self.ranks,
            "method": self.method,
            "nodes_per_rank": np.bincount(self.owner, minlength=self.ranks).tolist(),
            "edges": int(len(edges)),
            "cut_edges": int(cut.sum()),
            "cut_edges_per_rank": touches.tolist(),
        }


def _blocks(order: np.ndarray, ranks: int) -> np.ndarray:
    """owner of each node when ``order`` is cut into ``ranks`` contiguous balanced blocks."""
    n = len(order)
    owner = np.empty(n, dtype=np.int64)
    owner[order] = (np.arange(n) * ranks) // n
    return owner


def _orderings(n: int, edges: np.ndarray):
    """(name, ordering) candidates, cheapest and most common first."""
    yield "identity", np.arange(n)
    if not len(edges):
        return
    A = sp.coo_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(n, n))
    A = (A + A.T).tocsr()
    yield "reverse-cuthill-mckee", np.asarray(reverse_cuthill_mckee(A, symmetric_mode=True),
                                              dtype=np.int64)
    if n <= FIEDLER_MAX_N:
        Lap = np.diag(np.asarray(A.sum(axis=1)).ravel()) - (A > 0).toarray()
        _, vecs = np.linalg.eigh(Lap)
        fiedler = vecs[:, 1]
        # the sign of an eigenvector is arbitrary: fix it so every machine orders alike
        if fiedler[np.argmax(np.abs(fiedler))] < 0:
            fiedler = -fiedler
        yield "fiedler", np.argsort(fiedler, kind="stable")


def check_fits(n: int, ranks: int) -> None:
    """PartitionError unless n nodes can be split over ``ranks`` ranks, each owning at least one
    (checked on every rank before a run writes anything: a user mistake, not a crash)."""
    if ranks < 1:
        raise PartitionError(f"need at least one rank, got {ranks}", field="ranks")
    if ranks > n:
        raise PartitionError(f"{ranks} MPI ranks for n = {n} nodes; every rank must own "
                             f"a node, so launch at most {n} ranks", field="ranks")


def partition(n: int, edges, ranks: int, weights=None) -> Partition:
    """Split nodes 0..n-1 over ``ranks`` ranks (see the module docstring).

    ``edges``: (E, 2) array, the union of a time-varying list's edges; ``weights``: (E,) cost of
    cutting each edge (its gossip rate), default 1.
    """
    check_fits(n, ranks)
    edges = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    w = np.ones(len(edges)) if weights is None else np.asarray(weights, dtype=np.float64)
    if ranks == 1:
        return Partition(np.zeros(n, dtype=np.int64), 1, "single")
    best = None
    for name, order in _orderings(n, edges):
        owner = _blocks(order, ranks)
        cost = float(w[owner[edges[:, 0]] != owner[edges[:, 1]]].sum())
        if best is None or cost < best[0] * (1 - 1e-12):
            best = (cost, owner, name)
    return Partition(best[1], ranks, best[2])

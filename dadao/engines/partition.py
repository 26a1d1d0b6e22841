"""Which MPI rank owns which node: P parts with equal events that keep most of the gossip rate
inside a rank.

A rank's work is the events of its nodes: node i's gradient clock ticks at its rate g_i and
each incident edge e at lambda_e, an event on an edge shared by its two ends, so node i carries

    load_i = g_i + (1/2) sum_{e incident to i} lambda_e    (expected events per unit time)

and a rank the sum over its nodes. A gossip event on an edge whose ends live on different ranks
costs a matched exchange between those ranks (every other event is local), in proportion to
how often it fires: the cut is weighed by the rates. Two methods, computed once per run, on one
rank, deterministically:

- ``metis`` (chosen by ``method="auto"`` when the ``pymetis`` wheel is installed, unless the
  blocks below give a smaller modelled time): METIS k-way
  partitioning (Karypis and Kumar 1998) with node weights load_i and edge weights lambda_e
  (both scaled to integers, METIS's types), a fixed seed, and METIS's default balance
  tolerance of 3% on the weights: parts of equal events, a small cut rate;
- ``blocks`` (the fallback without pymetis): candidate node orderings, the identity (node ids
  often follow the geometry: paths, grids, barbells), reverse Cuthill-McKee (a
  bandwidth-reducing ordering of the union graph) and the Fiedler ordering (nodes sorted by the
  second Laplacian eigenvector; n <= FIEDLER_MAX_N), each cut into P contiguous blocks of
  floor(n/P) or ceil(n/P) nodes; the fewest cut rate wins, ties keep the earlier candidate.
  Blocks balance nodes, not events: on graphs of uneven degree (a star) a rank gets more.

"auto" takes whichever of the two has the smaller modelled time max_r (Lambda_r +
CUT_EVENT_COST kappa_r), Lambda_r the rank's expected events and kappa_r the rate of the cut
edges touching it (the lower bound of docs/mpi.md, in events): METIS's balance tolerance cannot
be met on a few heavy nodes, and a lattice numbered row by row is cut best into bands.

``Partition.describe`` reports the expected events per rank and their imbalance, max / mean - 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import reverse_cuthill_mckee

from dadao.errors import PartitionError

#: Largest n for which the Fiedler ordering (a dense eigendecomposition) is tried.
FIEDLER_MAX_N = 2000


#: the partition methods: "auto" is METIS when pymetis is installed, else blocks
METHODS = ("auto", "metis", "blocks")
#: node and edge weights are scaled to integers of this resolution for METIS
METIS_RESOLUTION = 1000
#: METIS's seed: the same partition on every run of a graph
METIS_SEED = 0
#: what a cut-edge exchange costs, in events of the compiled loop (an unwaited Sendrecv of a
#: few doubles against the loop's cost per event, docs/mpi.md): weighs the cut against the
#: balance when "auto" chooses between METIS and the blocks
CUT_EVENT_COST = 10.0


@dataclass(frozen=True)
class Partition:
    """owner[i] = rank of node i; ``method``: "metis", the winning ordering of the blocks, or
    "single"; ``load``: (n,) expected events per unit time of each node (module docstring)."""

    owner: np.ndarray  # (n,) int64
    ranks: int
    method: str
    load: np.ndarray | None = None

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
        out = {
            "ranks": self.ranks,
            "method": self.method,
            "nodes_per_rank": np.bincount(self.owner, minlength=self.ranks).tolist(),
            "edges": int(len(edges)),
            "cut_edges": int(cut.sum()),
            "cut_edges_per_rank": touches.tolist(),
        }
        if self.load is not None:
            out["events_per_time_per_rank"] = [float(x) for x in self.events_per_rank()]
            out["event_imbalance"] = imbalance(self)
        return out

    def events_per_rank(self) -> np.ndarray:
        """(ranks,) expected events per unit time of each rank: the sum of its nodes' loads."""
        return np.bincount(self.owner, weights=self.load, minlength=self.ranks)


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


def node_loads(n: int, edges, weights=None, node_rates=None) -> np.ndarray:
    """(n,) load_i = g_i + (1/2) sum of the incident edges' rates (module docstring); rates
    default to 1."""
    edges = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    w = np.ones(len(edges)) if weights is None else np.asarray(weights, dtype=np.float64)
    g = np.ones(n) if node_rates is None else np.asarray(node_rates, dtype=np.float64)
    return g + 0.5 * (np.bincount(edges[:, 0], weights=w, minlength=n)
                      + np.bincount(edges[:, 1], weights=w, minlength=n))


def metis_available() -> bool:
    """Whether the pymetis wheel is installed (a dependency of the mpi and test extras)."""
    import importlib.util

    return importlib.util.find_spec("pymetis") is not None


def partition(n: int, edges, ranks: int, weights=None, node_rates=None,
              method: str = "auto") -> Partition:
    """Split nodes 0..n-1 over ``ranks`` ranks (see the module docstring).

    ``edges``: (E, 2) array, the union of a time-varying list's edges; ``weights``: (E,) cost of
    cutting each edge (its gossip rate per unit time), default 1; ``node_rates``: (n,) gradient
    rates, default 1; ``method``: one of ``METHODS`` ("metis" without pymetis is a
    PartitionError naming the wheel).
    """
    check_fits(n, ranks)
    if method not in METHODS:
        raise PartitionError(f"unknown partition method {method!r}; use one of "
                             f"{', '.join(METHODS)}", field="partition")
    edges = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    w = np.ones(len(edges)) if weights is None else np.asarray(weights, dtype=np.float64)
    load = node_loads(n, edges, w, node_rates)
    if ranks == 1:
        return Partition(np.zeros(n, dtype=np.int64), 1, "single", load)
    if method == "metis" and not metis_available():
        raise PartitionError("METIS partitions need the pymetis wheel (pip install pymetis); "
                             "or use partition = \"blocks\"", field="partition")
    cut_rate = lambda owner: float(w[owner[edges[:, 0]] != owner[edges[:, 1]]].sum())  # noqa
    metis = None
    if method in ("auto", "metis") and metis_available() and len(edges):
        owner = _metis(n, edges, ranks, w, load)
        if owner is not None:
            metis = Partition(owner, ranks, "metis", load)
            if method == "metis":
                return metis
    best = None
    for name, order in _orderings(n, edges):
        owner = _blocks(order, ranks)
        cost = cut_rate(owner)
        if best is None or cost < best[0] * (1 - 1e-12):
            best = (cost, owner, name)
    blocks = Partition(best[1], ranks, best[2], load)
    # the one of the lower time bound of docs/mpi.md: METIS on ties
    if metis is not None and modelled_time(metis, edges, w) <= modelled_time(blocks, edges, w):
        return metis
    return blocks


def modelled_time(part: Partition, edges: np.ndarray, w: np.ndarray) -> float:
    """max over ranks of (expected events + CUT_EVENT_COST x the rate of the cut edges that
    touch it), per unit time: the lower bound on a run's time of docs/mpi.md, in events."""
    cut = part.owner[edges[:, 0]] != part.owner[edges[:, 1]]
    exchanges = (np.bincount(part.owner[edges[cut, 0]], weights=w[cut], minlength=part.ranks)
                 + np.bincount(part.owner[edges[cut, 1]], weights=w[cut], minlength=part.ranks))
    return float(np.max(part.events_per_rank() + CUT_EVENT_COST * exchanges))


def imbalance(part: Partition) -> float:
    """max over ranks of the expected events / their mean, less 1 (0: perfectly even)."""
    per_rank = part.events_per_rank()
    return float(per_rank.max() / per_rank.mean() - 1.0)


def _integer_weights(values: np.ndarray) -> np.ndarray:
    """Positive weights as integers >= 1, METIS_RESOLUTION for the mean (METIS takes integers;
    a weight of 0 would let an edge be cut, or a node be moved, for free)."""
    mean = float(values.mean()) if len(values) else 1.0
    scaled = np.rint(values * (METIS_RESOLUTION / (mean if mean > 0 else 1.0)))
    return np.maximum(scaled, 1).astype(np.int64)


def _metis(n, edges, ranks, w, load) -> np.ndarray | None:
    """owner by METIS k-way (module docstring), or None when a part comes back empty."""
    import pymetis

    from dadao.graphs.csr import symmetric_csr

    keep = edges[:, 0] != edges[:, 1]
    A = symmetric_csr(edges[keep], w[keep], n)
    A.sum_duplicates()  # the edges of a time-varying list appear once per graph
    options = pymetis.Options(seed=METIS_SEED)
    adjacency = pymetis.CSRAdjacency(A.indptr.astype(np.int64), A.indices.astype(np.int64))
    _, parts = pymetis.part_graph(ranks, adjacency, vweights=_integer_weights(load),
                                  eweights=_integer_weights(A.data), options=options)
    owner = np.asarray(parts, dtype=np.int64)
    if np.bincount(owner, minlength=ranks).min() == 0:
        return None
    return owner

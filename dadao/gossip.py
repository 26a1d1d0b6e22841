"""Gossip matrices of the synchronous methods, and the polynomial gossip operators built on them.

A synchronous method averages over neighbourhoods in *rounds*: in one round every node sends a
vector to each neighbour, i.e. the network computes W X for a gossip matrix W supported on the
graph (X is (n, d), row i held by node i). Every matrix here is in *Laplacian form* (W 1 = 0,
W symmetric positive semi-definite), so a mixing matrix is M = I - W:

- ``laplacian_gossip``: W = L_G / lambda_max(L_G), spectrum {0} u [1/chi, 1] with
  chi = lambda_max(L_G) / lambda_2(L_G) (ADOM+, MSDA, OPAPC; docs/methods.md);
- ``metropolis_gossip``: W = I - M for the Metropolis-Hastings weights
  M_ij = 1 / (1 + max(deg_i, deg_j)) on edges (EXTRA, DIGing, DGD; Xiao & Boyd 2004).

Operators built from rounds (each takes ``mix``, a function X -> W_q X performing ONE round; the
engine supplies it, so over MPI it is a neighbourhood exchange and nothing here changes):

- ``chebyshev_gossip``: P_K(W) X = X - T_K(c2 (I - c3 W)) X / T_K(c2), K rounds
  (MSDA's AccGossip, OPAPC's P_T(W); docs/methods.md, Gossip operators);
- ``multi_consensus``: (I - prod_{q=1..T} (I - W_q)) X, T rounds (ADOM+ with multi-consensus).

The integer orders use a relative tolerance: a star's chi = 16 may come out as 16.000000000000018
(dense) or 15.99999999 (sparse), and both must give K = 4.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import networkx as nx
import numpy as np
import scipy.sparse as sp

from dadao.errors import NetworkError
from dadao import graphs

#: relative tolerance of the integer orders floor(sqrt(chi)) and ceil(chi ln 2)
ORDER_RTOL = 1e-8

GOSSIP_KINDS = ("laplacian", "metropolis")


# --------------------------------------------------------------------------------------------
# Matrices


def laplacian_gossip(edges, n: int, lambda_max: float) -> sp.csr_matrix:
    """W = L_G / lambda_max(L_G): symmetric, W 1 = 0, spectrum {0} u [lambda_2/lambda_max, 1]."""
    return (graphs.laplacian(edges, n) / lambda_max).tocsr()


def metropolis_weights(edges, n: int) -> np.ndarray:
    """Per-edge Metropolis-Hastings weights 1 / (1 + max(deg_u, deg_v)), in edge order."""
    edges = np.asarray(edges, dtype=np.int64)
    deg = np.bincount(edges.ravel(), minlength=n)
    return 1.0 / (1.0 + np.maximum(deg[edges[:, 0]], deg[edges[:, 1]]))


def metropolis_gossip(edges, n: int) -> sp.csr_matrix:
    """W = I - M = sum_e w_e b_e b_e^T with Metropolis weights w_e (a weighted Laplacian).

    M = I - W is symmetric and doubly stochastic with M_ii >= 1/(1 + deg_i) > 0, so its
    eigenvalues lie in (-1, 1]; the eigenvalue 1 is simple on a connected graph.
    """
    return graphs.laplacian(edges, n, metropolis_weights(edges, n))


# --------------------------------------------------------------------------------------------
# Polynomial operators


def chebyshev_order(chi: float) -> int:
    """K = floor(sqrt(chi)) = floor(1 / sqrt(gamma_W)): rounds of one Chebyshev gossip."""
    return max(1, int(math.floor(math.sqrt(chi) * (1.0 + ORDER_RTOL))))


def multi_consensus_rounds(chi: float) -> int:
    """T = ceil(chi ln 2): rounds after which prod (I - W_q) has norm <= 1/2 on 1^perp."""
    return max(1, int(math.ceil(chi * math.log(2.0) * (1.0 - ORDER_RTOL))))


@dataclass(frozen=True)
class ChebyshevConstants:
    """Scaman et al. (2017) constants for W with spectrum in {0} u [gamma, 1] (lambda_max = 1).

    c1 = (1 - sqrt g)/(1 + sqrt g), c2 = (1 + g)/(1 - g), c3 = 2/(1 + g). The map
    w -> c2 (1 - c3 w) sends [gamma, 1] onto [-1, 1], so P_K(W) = I - T_K(c2 (I - c3 W))/T_K(c2)
    has its nonzero eigenvalues in [1 - 1/T_K(c2), 1 + 1/T_K(c2)], 1/T_K(c2) = 2 c1^K/(1 + c1^2K),
    and P_K(W) 1 = 0.
    """

    gamma: float
    K: int
    c1: float
    c2: float
    c3: float

    @property
    def spectrum(self) -> tuple[float, float]:
        """(smallest, largest) nonzero eigenvalue bound of P_K(W)."""
        spread = 2.0 * self.c1 ** self.K / (1.0 + self.c1 ** (2 * self.K))
        return 1.0 - spread, 1.0 + spread

    @property
    def chi(self) -> float:
        """Condition number of P_K(W) on 1^perp: ((1 + c1^K)/(1 - c1^K))^2."""
        lo, hi = self.spectrum
        return hi / lo


def chebyshev_constants(chi: float, K: int | None = None) -> ChebyshevConstants:
    """Chebyshev gossip for gamma_W = 1/chi, with K = ``chebyshev_order(chi)`` by default.

    The complete graph has gamma = 1, where c2 is infinite; then K = 1 and P_1(W) = c3 W = W
    (exact averaging, since W = I - 11^T/n), so c2 is never used (``chebyshev_gossip``).
    """
    # chi = 1 (complete graph) comes out as 1 + 2e-15: snap it, or c2 would be a huge finite number
    gamma = 1.0 if chi <= 1.0 + ORDER_RTOL else 1.0 / chi
    K = chebyshev_order(chi) if K is None else int(K)
    sg = math.sqrt(gamma)
    c2 = (1.0 + gamma) / (1.0 - gamma) if gamma < 1.0 else math.inf
    return ChebyshevConstants(gamma=gamma, K=K, c1=(1.0 - sg) / (1.0 + sg), c2=c2,
                              c3=2.0 / (1.0 + gamma))


def chebyshev_gossip(mix, X: np.ndarray, cheb: ChebyshevConstants) -> np.ndarray:
    """P_K(W) X in K rounds of ``mix`` (MSDA's AccGossip; docs/methods.md, Gossip operators).

    a_0 = 1, a_1 = c2, X_0 = X, X_1 = c2 (X - c3 W X); then a_{k+1} = 2 c2 a_k - a_{k-1} and
    X_{k+1} = 2 c2 (X_k - c3 W X_k) - X_{k-1}; return X - X_K / a_K. With K = 1 the result is
    c3 W X, written without c2 so that the complete graph (c2 = inf) is exact.
    """
    if cheb.K == 1:
        return cheb.c3 * mix(X)
    c2, c3 = cheb.c2, cheb.c3
    a_prev, a = 1.0, c2
    X_prev, X_cur = X, c2 * (X - c3 * mix(X))
    for _ in range(cheb.K - 1):
        a_prev, a = a, 2.0 * c2 * a - a_prev
        X_prev, X_cur = X_cur, 2.0 * c2 * (X_cur - c3 * mix(X_cur)) - X_prev
    return X - X_cur / a


def multi_consensus(mix, X: np.ndarray, rounds: int) -> np.ndarray:
    """(I - prod_{q=1..T} (I - W_q)) X in T rounds, W_q the matrix of the q-th call of ``mix``."""
    R = X
    for _ in range(rounds):
        R = R - mix(R)
    return X - R


# --------------------------------------------------------------------------------------------
# The graphs of one run


@dataclass(frozen=True)
class GossipGraph:
    """One graph of a run: its canonical edges and the spectrum of its unweighted Laplacian."""

    edges: np.ndarray
    lambda_2: float
    lambda_max: float

    @property
    def chi(self) -> float:
        return self.lambda_max / self.lambda_2


class Network:
    """The graph (or time-varying list of K graphs; round q uses graph q mod K) of a sync run.

    ``chi`` is the worst chi = lambda_max/lambda_2 over the list (ADOM+'s time-varying constant).
    Gossip matrices are built on demand per kind (``matrices``), Metropolis spectra likewise.
    """

    def __init__(self, graph_or_list):
        items = list(graph_or_list) if isinstance(graph_or_list, (list, tuple)) else [graph_or_list]
        if not items:
            raise NetworkError("an empty list of graphs", field="graph")
        n = None
        self.graphs: list[GossipGraph] = []
        for q, G in enumerate(items):
            where = f"graph[{q}]" if len(items) > 1 else "graph"
            if not isinstance(G, (nx.Graph, graphs.EdgeGraph)):
                raise NetworkError(f"expected a networkx Graph or a dadao.graphs.EdgeGraph, got "
                                   f"{type(G).__name__}", field=where)
            try:
                graphs.check_connected(G)
                edges = graphs.edge_array(G)
            except graphs.GraphError as e:
                raise NetworkError(f"{e}", field=where) from None
            if n is None:
                n = G.number_of_nodes()
            elif G.number_of_nodes() != n:
                raise NetworkError(f"has {G.number_of_nodes()} nodes, graph[0] has {n}",
                                   field=where)
            c = graphs.rate_constants(edges, np.ones(len(edges)), n)
            self.graphs.append(GossipGraph(edges, float(c["lambda_2"]), float(c["lambda_max"])))
        self.n = int(n)

    @property
    def K(self) -> int:
        """Number of graphs (1 for a static graph)."""
        return len(self.graphs)

    @property
    def chi(self) -> float:
        return max(g.chi for g in self.graphs)

    @property
    def edge_counts(self) -> list[int]:
        return [len(g.edges) for g in self.graphs]

    def matrices(self, kind: str) -> list[sp.csr_matrix]:
        """The gossip matrix of each graph, in Laplacian form (see the module docstring)."""
        if kind == "laplacian":
            return [laplacian_gossip(g.edges, self.n, g.lambda_max) for g in self.graphs]
        if kind == "metropolis":
            return [metropolis_gossip(g.edges, self.n) for g in self.graphs]
        raise ValueError(f"gossip kind must be one of {GOSSIP_KINDS}, got {kind!r}")

    @cached_property
    def metropolis_spectrum(self) -> tuple[float, float]:
        """(smallest positive, largest) eigenvalue of W = I - M over the list (worst of each).

        So M has its eigenvalues other than 1 in [1 - largest, 1 - smallest positive].
        """
        lo, hi = math.inf, 0.0
        for g in self.graphs:
            c = graphs.rate_constants(g.edges, metropolis_weights(g.edges, self.n), self.n)
            lo, hi = min(lo, c["lambda_2"]), max(hi, c["lambda_max"])
        return float(lo), float(hi)

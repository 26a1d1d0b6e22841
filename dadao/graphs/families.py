"""Graph families, the node and edge conventions of the project, and connectivity.

Conventions used everywhere in `dadao`:

- a graph is on the nodes 0..n-1: an :class:`~dadao.graphs.edge_graph.EdgeGraph` (n and the
  edge array, what :func:`family_graph` builds and a run holds) or a ``networkx.Graph``
  (:func:`make_graph`, the same graph);
- its edges, in the order of :func:`edge_array` (rows (u, v) with u < v, sorted), are THE edge
  order of the project: edge id e is the row index, and rate arrays are indexed by it;
- every random family takes ``seed`` the same way (``numpy.random.default_rng(seed)``).
"""

from __future__ import annotations

import difflib
import math
import numbers
import warnings

import networkx as nx
import numpy as np
import scipy.spatial

from dadao import memory
from dadao.errors import DadaoWarning, GraphError
from dadao.graphs.edge_graph import EdgeGraph, from_edges

FAMILIES = (
    "complete",
    "cycle",
    "path",
    "star",
    "grid_2d",
    "torus_2d",
    "hypercube",
    "barbell",
    "erdos_renyi",
    "random_geometric",
)

#: parameters each family accepts besides n and seed
FAMILY_PARAMS = {
    "complete": (),
    "cycle": (),
    "path": (),
    "star": (),
    "grid_2d": ("rows", "cols"),
    "torus_2d": ("rows", "cols"),
    "hypercube": (),
    "barbell": (),
    "erdos_renyi": ("p",),
    "random_geometric": ("radius",),
}

def _checked_family(family, n, params: dict):
    """(family, n, params) checked (the rules of :func:`family_graph`), with the random
    families' defaults filled in."""
    if not isinstance(family, str) or family not in FAMILIES:
        close = difflib.get_close_matches(str(family), FAMILIES, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise GraphError(
            f"unknown graph family {family!r}{hint}; allowed: {', '.join(FAMILIES)}"
        )
    n = check_n(n, "n")
    allowed = FAMILY_PARAMS[family]
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        takes = f"takes only {', '.join(allowed)}" if allowed else "takes no parameters"
        raise GraphError(
            f"graph family '{family}' {takes}; got unknown parameter(s) {', '.join(unknown)}"
        )
    if family == "erdos_renyi":
        params["p"] = _edge_probability(n, params.get("p"))
    if family == "random_geometric":
        params["radius"] = _radius(n, params.get("radius"))
    return family, n, params


def make_graph(family: str, n: int, *, seed=None, **params) -> nx.Graph:
    """The networkx graph of :func:`family_graph` (same arguments, same graph), with the
    attributes of the graph in ``G.graph`` and, for random geometric graphs, each node's
    position in its attribute ``pos``. For large n prefer ``family_graph``: a networkx graph
    costs 200-640 bytes per node and per edge (``dadao.memory``)."""
    family, n, params = _checked_family(family, n, params)
    require_graph_memory(family, n, **params)
    return _build(family, n, seed, params).to_networkx()


def family_graph(family: str, n: int, *, seed=None, **params) -> EdgeGraph:
    """A connected graph of a named family on the nodes 0..n-1, as an :class:`EdgeGraph` (n
    and its canonical edge array), built with numpy and scipy only: no Python object per node
    or edge. :func:`make_graph` gives the same graph as a networkx graph.

    Families (``FAMILIES``) and their rules:

    - ``complete``, ``path``, ``star`` (node 0 is the hub): n >= 2; ``cycle``: n >= 3.
    - ``grid_2d``, ``torus_2d``: ``rows`` x ``cols`` lattice, node (r, c) = r * cols + c; without
      rows/cols, a square (n must be a perfect square); rows * cols must equal n. The torus wraps
      both directions and needs rows, cols >= 3 (smaller sides would create parallel edges).
    - ``hypercube``: n = 2^d, nodes adjacent when their binary labels differ in one bit.
    - ``barbell``: two cliques of n/2 nodes joined by one edge (``nx.barbell_graph(n // 2, 0)``);
      n even and >= 6.
    - ``erdos_renyi``: G(n, p), default p = min(1, 2 ln(n) / n) (twice the connectivity
      threshold).
    - ``random_geometric``: n points uniform in the unit square, joined when at distance
      <= ``radius``; default radius = sqrt(2 ln(n) / (pi n)), i.e. expected degree about 2 ln n
      away from the border, sqrt(2) times the connectivity threshold sqrt(ln(n) / (pi n)).

    The two random families draw everything from ``numpy.random.default_rng(seed)`` (``seed``: int
    or None; same seed, same graph) and are made connected the way the DADAO authors' code does:
    list the connected components, then add one edge between a random node of component k and a
    random node of component k + 1, for each consecutive pair. ``seed`` is accepted and ignored by
    the deterministic families, so callers can pass it uniformly.

    p must lie in (0, 1] and radius be a finite number > 0 (p = 0 or radius = 0 would give no
    edge at all, and the graph would be the random tree of that rule, not a graph of the family);
    below the connectivity thresholds (p < ln(n)/n, radius < sqrt(ln(n)/(pi n))) the graph is
    disconnected with high probability and the rule adds edges, which a DadaoWarning says.

    Raises GraphError for an unknown family, an n the family cannot take, an unknown parameter,
    or a graph that cannot fit in memory (``dadao.memory``: checked from n and the family's edge
    count before anything is built: here the edge arrays, for make_graph the networkx graph; errors about n, p and radius name them in ``field``).
    n is never changed silently.
    """
    family, n, params = _checked_family(family, n, params)
    require_graph_memory(family, n, networkx=False, **params)
    return _build(family, n, seed, params)


def _build(family: str, n: int, seed, params: dict) -> EdgeGraph:
    if family == "complete":
        u, v = np.triu_indices(n, 1)
        pairs = np.stack([u, v], axis=1)
    elif family == "path":
        pairs = np.stack([np.arange(n - 1), np.arange(1, n)], axis=1)
    elif family == "cycle":
        if n < 3:
            raise GraphError(f"graph family 'cycle' needs n >= 3; got n = {n}")
        pairs = np.stack([np.arange(n), (np.arange(n) + 1) % n], axis=1)
    elif family == "star":
        pairs = np.stack([np.zeros(n - 1, dtype=np.int64), np.arange(1, n)], axis=1)
    elif family in ("grid_2d", "torus_2d"):
        pairs = _lattice_edges(family, n, params.get("rows"), params.get("cols"))
    elif family == "hypercube":
        if n & (n - 1):
            lo = 1 << (n.bit_length() - 1)
            raise GraphError(
                f"graph family 'hypercube' needs n a power of 2; got n = {n} "
                f"(nearest: {lo} or {2 * lo})"
            )
        i = np.arange(n)
        pairs = np.concatenate([np.stack([i[i & (1 << k) == 0], i[i & (1 << k) == 0] | (1 << k)],
                                         axis=1) for k in range(n.bit_length() - 1)])
    elif family == "barbell":
        if n % 2 or n < 6:
            raise GraphError(
                f"graph family 'barbell' needs n even and >= 6 (two cliques of n/2 >= 3 nodes); "
                f"got n = {n}"
            )
        # nx.barbell_graph(n // 2, 0): cliques on 0..h-1 and h..n-1, joined by (h - 1, h)
        h = n // 2
        u, v = np.triu_indices(h, 1)
        pairs = np.concatenate([np.stack([u, v], 1), np.stack([u + h, v + h], 1), [[h - 1, h]]])
    elif family == "erdos_renyi":
        return _erdos_renyi(n, params["p"], seed)
    else:  # random_geometric
        return _random_geometric(n, params["radius"], seed)
    return from_edges(n, pairs, family=family)


def require_graph_memory(family: str, n: int, copies: int = 1, *, networkx: bool = True,
                         **params) -> None:
    """Refuse (GraphError naming ``n``) ``copies`` graphs of the family on n nodes that cannot
    fit in memory: ``dadao.memory.graph_bytes`` (networkx graphs) or ``edge_graph_bytes`` (edge
    arrays) of the family's edge count, before anything is built (for a large n, building the
    edge list is itself the allocation)."""
    edges = memory.graph_edges(family, n, **{k: v for k, v in params.items()
                                            if isinstance(v, numbers.Real)})
    one = (memory.graph_bytes if networkx else memory.edge_graph_bytes)(n, edges)
    shape = f"n = {n:,} nodes and about {edges:.3g} edges"
    what = (f"{copies} {family} graphs of {shape} each" if copies > 1
            else f"a {family} graph of {shape}")
    memory.require(copies * one, what, GraphError,
                   field="K" if copies > 1 and one <= memory.available_bytes() else "n")


def graph_sequence(family: str = "random_geometric", n: int = 16, K: int = 50, *, seed=None,
                   **params) -> list[nx.Graph]:
    """The graphs of :func:`family_sequence` as networkx graphs (same arguments)."""
    if isinstance(family, str) and family in FAMILIES and isinstance(K, (int, np.integer)):
        require_graph_memory(family, check_n(n, "n"), max(int(K), 1), **params)
    return [G.to_networkx() for G in family_sequence(family, n, K, seed=seed, **params)]


def family_sequence(family: str = "random_geometric", n: int = 16, K: int = 50, *, seed=None,
                    **params) -> list[EdgeGraph]:
    """K connected graphs of one family on the nodes 0..n-1: a time-varying graph.

    Graph k is ``family_graph(family, n, seed=s_k, **params)`` with s_k the k-th integer seed
    spawned from ``seed`` (``numpy.random.SeedSequence(seed).spawn(K)``), so the list is a
    function of (family, n, K, seed, params) and graph k does not depend on K. The default family
    is the paper's (K = 50 random geometric graphs in the authors' code); random families are made
    connected as in ``family_graph``. A deterministic family gives K copies of one graph.
    seed=None draws fresh entropy. The engines use graph k on [(m K + k) P, (m K + k + 1) P) (see
    ``dadao.events.SwitchingClocks``). Each graph's ``graph["sequence_seed"]`` is ``seed``.
    """
    if isinstance(K, bool) or not isinstance(K, (int, np.integer)) or K < 1:
        raise GraphError(f"K: the number of graphs must be an integer >= 1; got {K!r}")
    if isinstance(family, str) and family in FAMILIES:
        require_graph_memory(family, check_n(n, "n"), int(K), networkx=False, **params)
    try:
        children = np.random.SeedSequence(seed).spawn(int(K))
    except (TypeError, ValueError) as exc:
        raise GraphError(f"seed must be a non-negative integer or None; got {seed!r}") from exc
    graphs = []
    for child in children:
        G = family_graph(family, n, seed=int(child.generate_state(1, dtype=np.uint32)[0]),
                         **params)
        G.graph["sequence_seed"] = seed
        graphs.append(G)
    return graphs


def check_n(n, what: str) -> int:
    """n as an int, or GraphError: a graph needs an integer n >= 2 (``what`` names it)."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise GraphError(f"n must be an integer >= 2; got {n!r}", field=what)
    n = int(n)
    if n < 2:
        raise GraphError(f"n must be >= 2 (a single node has nothing to gossip with); "
                         f"got n = {n}", field=what)
    return n


def _positive_int(value, name: str, family: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise GraphError(f"graph family '{family}': {name} must be a positive integer; "
                         f"got {value!r}")
    return int(value)


def _lattice_edges(family, n, rows, cols):
    if rows is None and cols is None:
        side = math.isqrt(n)
        if side * side != n:
            raise GraphError(
                f"graph family '{family}' without rows/cols needs n a perfect square; got n = {n} "
                f"(give rows and cols with rows * cols = n, or n = {side * side} or "
                f"{(side + 1) ** 2})"
            )
        rows = cols = side
    elif rows is None or cols is None:
        given = rows if cols is None else cols
        given = _positive_int(given, "rows" if cols is None else "cols", family)
        if n % given:
            raise GraphError(f"graph family '{family}': rows * cols must equal n = {n}, "
                             f"but {given} does not divide {n}")
        other = n // given
        rows, cols = (given, other) if cols is None else (other, given)
    rows = _positive_int(rows, "rows", family)
    cols = _positive_int(cols, "cols", family)
    if rows * cols != n:
        raise GraphError(f"graph family '{family}': rows * cols must equal n; "
                         f"got rows = {rows}, cols = {cols}, n = {n}")
    periodic = family == "torus_2d"
    if periodic and (rows < 3 or cols < 3):
        raise GraphError(f"graph family 'torus_2d' needs rows >= 3 and cols >= 3 (smaller sides "
                         f"would double edges); got rows = {rows}, cols = {cols}")
    i = np.arange(n).reshape(rows, cols)
    right = np.stack([i, np.roll(i, -1, axis=1)], axis=-1)  # (r, c) - (r, c + 1 mod cols)
    down = np.stack([i, np.roll(i, -1, axis=0)], axis=-1)   # (r, c) - (r + 1 mod rows, c)
    if not periodic:
        right, down = right[:, :-1], down[:-1]
    return np.concatenate([right.reshape(-1, 2), down.reshape(-1, 2)])


def _connected(n: int, pairs: np.ndarray, rng: np.random.Generator, **graph) -> EdgeGraph:
    """The graph of the pairs, made connected the authors' way: join consecutive components
    (ordered by their smallest node) by one edge between a random node of each;
    ``graph["edges_added_to_connect"]`` counts them."""
    G = from_edges(n, pairs)
    comps = G.components()
    added = [(int(rng.choice(a)), int(rng.choice(b))) for a, b in zip(comps[:-1], comps[1:])]
    if added:
        G = from_edges(n, np.concatenate([G.edges, np.array(added, dtype=np.int64)]))
    G.graph.update(graph, edges_added_to_connect=len(added))
    return G


def _edge_probability(n: int, p) -> float:
    """p of G(n, p), checked: default min(1, 2 ln(n)/n); a probability in (0, 1]."""
    if p is None:
        return min(1.0, 2.0 * math.log(n) / n)
    if (isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0 < p <= 1):
        why = (" (G(n, 0) has no edges: made connected it would be a random tree, not an "
               "Erdos-Renyi graph)" if isinstance(p, numbers.Real) and p == 0 else "")
        raise GraphError(f"graph family 'erdos_renyi': p must be a probability in (0, 1]; "
                         f"got p = {p!r}{why}", field="p")
    threshold = math.log(n) / n
    if p < threshold:
        _warn_disconnected(f"erdos_renyi: p = {p:g} is below ln(n)/n = {threshold:.3g}, the "
                           f"connectivity threshold of G(n, p) for n = {n}")
    return float(p)


def _warn_disconnected(below: str) -> None:
    """A random family's parameter under its connectivity threshold: said, in one line."""
    warnings.warn(f"{below}: the graph is disconnected with high probability and is made "
                  f"connected by one random edge between consecutive components", DadaoWarning,
                  stacklevel=5)


def _radius(n: int, radius) -> float:
    """radius of a random geometric graph, checked: default sqrt(2 ln(n)/(pi n)); finite > 0."""
    if radius is None:
        return math.sqrt(2.0 * math.log(n) / (math.pi * n))
    if (isinstance(radius, bool) or not isinstance(radius, numbers.Real)
            or not 0 < radius < math.inf):
        raise GraphError(f"graph family 'random_geometric': radius must be a finite number "
                         f"> 0; got radius = {radius!r}", field="radius")
    threshold = math.sqrt(math.log(n) / (math.pi * n))
    if radius < threshold:
        _warn_disconnected(f"random_geometric: radius = {radius:g} is below sqrt(ln(n)/(pi n)) "
                           f"= {threshold:.3g}, the connectivity threshold for n = {n}")
    return float(radius)


def _erdos_renyi(n, p, seed) -> EdgeGraph:
    rng = _rng(seed)
    # G(n, p) exactly, without an n^2 loop: draw the number of edges, then which pairs.
    n_pairs = n * (n - 1) // 2
    m = rng.binomial(n_pairs, p)
    k = np.sort(rng.choice(n_pairs, size=m, replace=False)).astype(np.int64)
    u, v = _pair_from_index(k, n)
    return _connected(n, np.stack([u, v], axis=1), rng, family="erdos_renyi", p=float(p),
                      seed=seed)


def _pair_from_index(k: np.ndarray, n: int):
    """Invert the row-major enumeration of pairs (i < j): row i starts at i (2n - i - 1) / 2."""
    start = lambda i: i * (2 * n - i - 1) // 2  # noqa: E731
    i = np.floor(((2 * n - 1) - np.sqrt((2.0 * n - 1) ** 2 - 8.0 * k)) / 2).astype(np.int64)
    i = np.clip(i, 0, n - 2)
    # The float square root can land one row off either way.
    i -= start(i) > k
    i += start(i + 1) <= k
    return i, k - start(i) + i + 1


def _random_geometric(n, radius, seed) -> EdgeGraph:
    rng = _rng(seed)
    pos = rng.random((n, 2))
    pairs = scipy.spatial.cKDTree(pos).query_pairs(float(radius), output_type="ndarray")
    G = _connected(n, pairs, rng, family="random_geometric", radius=float(radius), seed=seed)
    G.positions = pos
    return G


def _rng(seed) -> np.random.Generator:
    try:
        return np.random.default_rng(seed)
    except (TypeError, ValueError) as exc:
        raise GraphError(f"seed must be a non-negative integer or None; got {seed!r}") from exc


def check_connected(G) -> None:
    """Raise GraphError unless G (a networkx graph or an EdgeGraph) has at least 2 nodes and is
    connected."""
    n = G.number_of_nodes()
    if n < 2:
        raise GraphError(f"graph needs at least 2 nodes; got {n}")
    if isinstance(G, EdgeGraph):
        k = G.component_count()
    elif nx.is_connected(G):
        k = 1
    else:
        k = nx.number_connected_components(G)
    if k > 1:
        raise GraphError(f"graph is disconnected: {k} components (n = {n}); gossip cannot reach "
                         f"every node, so the constants are infinite")


def edge_array(G) -> np.ndarray:
    """The canonical edge order: an (E, 2) int64 array, each row u < v, rows sorted.

    Edge id e is the row index; every rate array of the project is indexed by it. Self-loops are
    left out (b_ii = 0). G: an EdgeGraph (its own array, read-only) or a networkx graph on the
    nodes 0..n-1 (see :func:`from_networkx`).
    """
    if isinstance(G, EdgeGraph):
        return G.edges
    n = G.number_of_nodes()
    if set(G.nodes) != set(range(n)):
        raise GraphError("graph nodes must be the integers 0..n-1; pass it through "
                         "dadao.graphs.from_networkx first")
    e = np.array([(u, v) for u, v in G.edges() if u != v], dtype=np.int64).reshape(-1, 2)
    e.sort(axis=1)
    return e[np.lexsort((e[:, 1], e[:, 0]))]


def as_edges(edges, n: int | None = None) -> np.ndarray:
    """``edges`` as a non-empty (E, 2) int64 array of node pairs (endpoints in 0..n-1 if n is
    given), or GraphError."""
    e = np.asarray(edges)
    if e.ndim != 2 or e.shape[1] != 2 or len(e) == 0:
        raise GraphError(f"edges must be a non-empty (E, 2) array of node pairs (as "
                         f"dadao.graphs.edge_array returns); got shape {e.shape}")
    e = e.astype(np.int64, copy=False)
    if n is not None and (e.min() < 0 or e.max() >= n):
        raise GraphError(f"edge endpoints must lie in 0..n-1 = 0..{n - 1}; "
                         f"got {e.min()}..{e.max()}")
    return e

"""Graphs, Laplacians and the graph constants of DADAO and its baselines.

Conventions used everywhere in `dadao`:

- a graph is a ``networkx.Graph`` whose nodes are the integers 0..n-1;
- its edges, in the order of :func:`edge_array` (rows (u, v) with u < v, sorted), are THE edge order
  of the project: edge id e is the row index, and rate arrays are indexed by it;
- for an edge e = (i, j), b_e = e_i - e_j; a rate (weight) vector lambda gives the rate Laplacian
  Lambda = sum_e lambda_e b_e b_e^T.

Constants (algorithms.md, section 1):

- chi = lambda_max(L_G) / lambda_2(L_G)            (Scaman et al. 2017, ADOM+)
- chi_1[Lambda] = 1 / lambda_2(Lambda)
- chi_2[Lambda] = (1/2) max_{e in E} R_e,   R_e = b_e^T Lambda^+ b_e  (effective resistance)

Two exact methods compute them. "dense" takes an eigendecomposition of Lambda (n up to a few
thousand). "sparse" grounds Lambda at one node, factorises the grounded matrix once with a
fill-reducing ordering and gets every R_e from a sparse triangular solve; it handles tens of
thousands of nodes (torus 141 x 141: see :func:`rate_constants` for the timing).
"""

from __future__ import annotations

import difflib
import math
import os
import re

import networkx as nx
import numba
import numpy as np
import scipy.linalg
import scipy.sparse as sp
import scipy.sparse.csgraph
import scipy.sparse.linalg
import scipy.spatial

__all__ = [
    "GraphError",
    "FAMILIES",
    "make_graph",
    "graph_sequence",
    "from_networkx",
    "load_edge_list",
    "check_connected",
    "edge_array",
    "laplacian",
    "graph_chi",
    "laplacian_extremes",
    "effective_resistances",
    "chi_1",
    "chi_2",
    "rate_constants",
]


class GraphError(ValueError):
    """A graph the user asked for cannot be built or used (message: one line, printable as is)."""


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

# Parameters each family accepts besides n and seed.
_FAMILY_PARAMS = {
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

# Above this many nodes "auto" switches from the dense eigendecomposition to the sparse path.
DENSE_MAX_N = 2000


# --------------------------------------------------------------------------------------------
# Families


def make_graph(family: str, n: int, *, seed=None, **params) -> nx.Graph:
    """Build a connected graph of a named family on the nodes 0..n-1.

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

    Raises GraphError for an unknown family, an n the family cannot take, or an unknown parameter.
    n is never changed silently.
    """
    if not isinstance(family, str) or family not in FAMILIES:
        close = difflib.get_close_matches(str(family), FAMILIES, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise GraphError(
            f"unknown graph family {family!r}{hint}; allowed: {', '.join(FAMILIES)}"
        )
    n = _check_n(n, family)
    allowed = _FAMILY_PARAMS[family]
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        takes = f"takes only {', '.join(allowed)}" if allowed else "takes no parameters"
        raise GraphError(
            f"graph family '{family}' {takes}; got unknown parameter(s) {', '.join(unknown)}"
        )

    if family == "complete":
        edges = [(i, j) for i in range(n) for j in range(i + 1, n)]
    elif family == "path":
        edges = [(i, i + 1) for i in range(n - 1)]
    elif family == "cycle":
        if n < 3:
            raise GraphError(f"graph family 'cycle' needs n >= 3; got n = {n}")
        edges = [(i, (i + 1) % n) for i in range(n)]
    elif family == "star":
        edges = [(0, i) for i in range(1, n)]
    elif family in ("grid_2d", "torus_2d"):
        edges = _lattice_edges(family, n, params.get("rows"), params.get("cols"))
    elif family == "hypercube":
        if n & (n - 1):
            lo = 1 << (n.bit_length() - 1)
            raise GraphError(
                f"graph family 'hypercube' needs n a power of 2; got n = {n} "
                f"(nearest: {lo} or {2 * lo})"
            )
        d = n.bit_length() - 1
        edges = [(i, i ^ (1 << k)) for i in range(n) for k in range(d) if i < i ^ (1 << k)]
    elif family == "barbell":
        if n % 2 or n < 6:
            raise GraphError(
                f"graph family 'barbell' needs n even and >= 6 (two cliques of n/2 >= 3 nodes); "
                f"got n = {n}"
            )
        G = nx.barbell_graph(n // 2, 0)
        return _finish(n, list(G.edges()), family)
    elif family == "erdos_renyi":
        return _erdos_renyi(n, params.get("p"), seed)
    else:  # random_geometric
        return _random_geometric(n, params.get("radius"), seed)
    return _finish(n, edges, family)


def graph_sequence(family: str = "random_geometric", n: int = 16, K: int = 50, *, seed=None,
                   **params) -> list[nx.Graph]:
    """K connected graphs of one family on the nodes 0..n-1: a time-varying graph.

    Graph k is ``make_graph(family, n, seed=s_k, **params)`` with s_k the k-th integer seed
    spawned from ``seed`` (``numpy.random.SeedSequence(seed).spawn(K)``), so the list is a
    function of (family, n, K, seed, params) and graph k does not depend on K. The default family
    is the paper's (K = 50 random geometric graphs in the authors' code); random families are made
    connected as in ``make_graph``. A deterministic family gives K copies of one graph. seed=None
    draws fresh entropy. The engines use graph k on [(m K + k) P, (m K + k + 1) P) (see
    ``dadao.events.SwitchingClocks``).
    """
    if isinstance(K, bool) or not isinstance(K, (int, np.integer)) or K < 1:
        raise GraphError(f"K: the number of graphs must be an integer >= 1; got {K!r}")
    try:
        children = np.random.SeedSequence(seed).spawn(int(K))
    except (TypeError, ValueError) as exc:
        raise GraphError(f"seed must be a non-negative integer or None; got {seed!r}") from exc
    graphs = []
    for child in children:
        G = make_graph(family, n, seed=int(child.generate_state(1, dtype=np.uint32)[0]), **params)
        G.graph["sequence_seed"] = seed
        graphs.append(G)
    return graphs


def _check_n(n, what: str) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise GraphError(f"{what}: n must be an integer >= 2; got {n!r}")
    n = int(n)
    if n < 2:
        raise GraphError(f"{what}: n must be >= 2 (a single node has nothing to gossip with); "
                         f"got n = {n}")
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
    edges = []
    for r in range(rows):
        for c in range(cols):
            i = r * cols + c
            if c + 1 < cols or periodic:
                edges.append((i, r * cols + (c + 1) % cols))
            if r + 1 < rows or periodic:
                edges.append((i, ((r + 1) % rows) * cols + c))
    return edges


def _finish(n, edges, family) -> nx.Graph:
    G = nx.Graph()
    G.add_nodes_from(range(n))
    G.add_edges_from(edges)
    G.graph["family"] = family
    return G


def _connect_components(G: nx.Graph, rng: np.random.Generator) -> int:
    """Join consecutive components by one random edge each (the authors' fix); return #added."""
    comps = [sorted(c) for c in nx.connected_components(G)]
    for a, b in zip(comps[:-1], comps[1:]):
        G.add_edge(int(rng.choice(a)), int(rng.choice(b)))
    return len(comps) - 1


def _erdos_renyi(n, p, seed) -> nx.Graph:
    if p is None:
        p = min(1.0, 2.0 * math.log(n) / n)
    if isinstance(p, bool) or not isinstance(p, (int, float, np.floating)) or not 0 <= p <= 1:
        raise GraphError(f"graph family 'erdos_renyi': p must be a probability in [0, 1]; "
                         f"got p = {p!r}")
    rng = _rng(seed)
    # G(n, p) exactly, without an n^2 loop: draw the number of edges, then which pairs.
    n_pairs = n * (n - 1) // 2
    m = rng.binomial(n_pairs, p)
    k = np.sort(rng.choice(n_pairs, size=m, replace=False)).astype(np.int64)
    u, v = _pair_from_index(k, n)
    G = _finish(n, zip(u.tolist(), v.tolist()), "erdos_renyi")
    G.graph.update(p=float(p), seed=seed, edges_added_to_connect=_connect_components(G, rng))
    return G


def _pair_from_index(k: np.ndarray, n: int):
    """Invert the row-major enumeration of pairs (i < j): row i starts at i (2n - i - 1) / 2."""
    start = lambda i: i * (2 * n - i - 1) // 2  # noqa: E731
    i = np.floor(((2 * n - 1) - np.sqrt((2.0 * n - 1) ** 2 - 8.0 * k)) / 2).astype(np.int64)
    i = np.clip(i, 0, n - 2)
    # The float square root can land one row off either way.
    i -= start(i) > k
    i += start(i + 1) <= k
    return i, k - start(i) + i + 1


def _random_geometric(n, radius, seed) -> nx.Graph:
    if radius is None:
        radius = math.sqrt(2.0 * math.log(n) / (math.pi * n))
    if (isinstance(radius, bool) or not isinstance(radius, (int, float, np.floating))
            or not radius >= 0):
        raise GraphError(f"graph family 'random_geometric': radius must be a number >= 0; "
                         f"got radius = {radius!r}")
    rng = _rng(seed)
    pos = rng.random((n, 2))
    pairs = scipy.spatial.cKDTree(pos).query_pairs(float(radius), output_type="ndarray")
    G = _finish(n, map(tuple, pairs.tolist()), "random_geometric")
    for i in range(n):
        G.nodes[i]["pos"] = (float(pos[i, 0]), float(pos[i, 1]))
    G.graph.update(radius=float(radius), seed=seed,
                   edges_added_to_connect=_connect_components(G, rng))
    return G


def _rng(seed) -> np.random.Generator:
    try:
        return np.random.default_rng(seed)
    except (TypeError, ValueError) as exc:
        raise GraphError(f"seed must be a non-negative integer or None; got {seed!r}") from exc


# --------------------------------------------------------------------------------------------
# Graphs from elsewhere


def from_networkx(G) -> nx.Graph:
    """Return a copy of G on the nodes 0..n-1, ready for the rest of `dadao`.

    Nodes are numbered in the sorted order of their labels (insertion order when the labels do not
    sort); the original label is kept as node attribute ``label``. Directed and multi-graphs are
    made simple and undirected; self-loops are dropped (b_ii = 0: they carry no gossip).
    Refuses n < 2 and disconnected graphs.
    """
    H = nx.Graph(G)
    H.remove_edges_from(list(nx.selfloop_edges(H)))
    try:
        order = sorted(H.nodes)
    except TypeError:
        order = list(H.nodes)
    _check_n(len(order), "graph")
    index = {label: i for i, label in enumerate(order)}
    out = nx.Graph()
    out.add_nodes_from((i, {"label": label}) for i, label in enumerate(order))
    out.add_edges_from((index[u], index[v]) for u, v in H.edges)
    check_connected(out)
    return out


_SPLIT = re.compile(r"[\s,]+")


def load_edge_list(path) -> nx.Graph:
    """Read a graph from a text file with one edge "u v" per line.

    Fields are separated by whitespace or commas; '#' starts a comment; an optional third column
    (a weight, say) is ignored. Labels are integers where they parse as such, strings otherwise,
    and are renumbered as in :func:`from_networkx`. Raises GraphError naming the file (and line)
    for a missing file, a malformed line, no edges, or a disconnected graph.
    """
    path = os.fspath(path)
    try:
        with open(path, encoding="utf-8") as fh:
            lines = fh.readlines()
    except FileNotFoundError:
        raise GraphError(f"edge list file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise GraphError(f"cannot read edge list file {path}: {exc}") from None
    G = nx.Graph()
    for lineno, line in enumerate(lines, start=1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        fields = [f for f in _SPLIT.split(text) if f]
        if len(fields) not in (2, 3):
            raise GraphError(f"{path}, line {lineno}: expected 'u v' or 'u v weight', "
                             f"got {line.strip()!r}")
        G.add_edge(_label(fields[0]), _label(fields[1]))
    if G.number_of_edges() == 0:
        raise GraphError(f"{path}: no edges found")
    try:
        return from_networkx(G)
    except GraphError as exc:
        raise GraphError(f"{path}: {exc}") from None


def _label(text: str):
    try:
        return int(text)
    except ValueError:
        return text


def check_connected(G: nx.Graph) -> None:
    """Raise GraphError unless G has at least 2 nodes and is connected."""
    n = G.number_of_nodes()
    if n < 2:
        raise GraphError(f"graph needs at least 2 nodes; got {n}")
    if not nx.is_connected(G):
        k = nx.number_connected_components(G)
        raise GraphError(f"graph is disconnected: {k} components (n = {n}); gossip cannot reach "
                         f"every node, so the constants are infinite")


def edge_array(G: nx.Graph) -> np.ndarray:
    """The canonical edge order: an (E, 2) int64 array, each row u < v, rows sorted.

    Edge id e is the row index; every rate array of the project is indexed by it. Self-loops are
    left out (b_ii = 0). Requires the nodes to be 0..n-1 (see :func:`from_networkx`).
    """
    n = G.number_of_nodes()
    if set(G.nodes) != set(range(n)):
        raise GraphError("graph nodes must be the integers 0..n-1; pass it through "
                         "dadao.graphs.from_networkx first")
    e = np.array([(u, v) for u, v in G.edges() if u != v], dtype=np.int64).reshape(-1, 2)
    e.sort(axis=1)
    return e[np.lexsort((e[:, 1], e[:, 0]))]


# --------------------------------------------------------------------------------------------
# Laplacians and constants


def laplacian(edges, n: int, weights=None) -> sp.csr_matrix:
    """Weighted Laplacian sum_e w_e b_e b_e^T (b_e = e_u - e_v) as an n x n CSR matrix.

    ``weights`` defaults to 1 on every edge; zero weights are allowed.
    """
    edges = _as_edges(edges, n)
    w = np.ones(len(edges)) if weights is None else np.asarray(weights, dtype=np.float64)
    if w.shape != (len(edges),):
        raise GraphError(f"weights must have one entry per edge ({len(edges)}); "
                         f"got shape {w.shape}")
    u, v = edges[:, 0], edges[:, 1]
    rows = np.concatenate([u, v, u, v])
    cols = np.concatenate([u, v, v, u])
    data = np.concatenate([w, w, -w, -w])
    return sp.csr_matrix((data, (rows, cols)), shape=(n, n))


def laplacian_extremes(G: nx.Graph, *, method: str = "auto") -> tuple[float, float]:
    """(lambda_2, lambda_max) of the unweighted Laplacian L_G."""
    edges = edge_array(G)
    c = rate_constants(edges, np.ones(len(edges)), G.number_of_nodes(), method=method)
    return c["lambda_2"], c["lambda_max"]


def graph_chi(G: nx.Graph, *, method: str = "auto") -> float:
    """chi = lambda_max(L_G) / lambda_2(L_G), L_G the unweighted Laplacian (ADOM+, Scaman's chi)."""
    lambda_2, lambda_max = laplacian_extremes(G, method=method)
    return lambda_max / lambda_2


def effective_resistances(edges, rates, n: int, *, method: str = "auto") -> np.ndarray:
    """R_e = b_e^T Lambda^+ b_e for every edge e, with Lambda = sum_e lambda_e b_e b_e^T.

    Edges of rate 0 get their resistance too (they still belong to the graph).
    """
    return _solve(edges, rates, n, method, want_spectrum=False)["resistances"]


def chi_1(edges, rates, n: int, *, method: str = "auto") -> float:
    """chi_1[Lambda] = 1 / lambda_2(Lambda), lambda_2 the smallest positive eigenvalue."""
    return rate_constants(edges, rates, n, method=method)["chi_1"]


def chi_2(edges, rates, n: int, *, method: str = "auto") -> float:
    """chi_2[Lambda] = (1/2) max_{e in E} b_e^T Lambda^+ b_e (half the largest resistance)."""
    return 0.5 * float(effective_resistances(edges, rates, n, method=method).max())


def rate_constants(edges, rates, n: int, *, method: str = "auto") -> dict:
    """chi_1, chi_2, lambda_2, lambda_max and max_resistance of Lambda = sum_e lambda_e b_e b_e^T.

    All come from one factorisation. ``method``:

    - "dense": eigh of the dense Lambda; Lambda^+ = V diag(1/w) V^T over the nonzero eigenvalues.
      O(n^3) time, O(n^2) memory: n = 2000 takes about 1 s here (eigh, divide and conquer).
    - "sparse": ground Lambda at its highest-degree node r (for a connected graph,
      R_e = b_e^T Lambda_g^{-1} b_e with the r entry of b_e dropped), factorise the grounded
      matrix once, P Lambda_g P^T = L D L^T (SuperLU, minimum degree on A + A^T, symmetric mode,
      no pivoting), and get R_e = sum_k y_k^2 / D_k with y = L^{-1} P b_e by a sparse-right-hand-
      side solve: y is nonzero only on the nodes reachable from the two entries of P b_e (their
      elimination-tree paths). The sum has no cancellation. lambda_2 = 1 / lambda_max(Lambda^+)
      by Lanczos (eigsh) on x -> Lambda^+ x = centre(Lambda_g^{-1} x); lambda_max by Lanczos on
      Lambda (dense eigenvalues for n <= 50). Measured on the 2-core development machine
      (simulations/bench_graph_constants.py, edges processed in parallel): torus 141 x 141
      (19,881 nodes, 39,762 edges) 3-4.5 s, peak RSS 260 MB (60 MB above the interpreter with
      numpy/scipy/numba loaded); torus 100 x 200 3.2 s; random geometric n = 20,000
      (195k edges) 16 s, 350 MB. The cost is about |E| x (elimination-tree path length x column
      length): the minimum-degree factor of the 141 x 141 torus has 0.75M entries and paths of
      ~700 columns.
    - "auto": dense for n <= 2000, sparse above.

    Edges of rate 0 are allowed (their R_e counts in chi_2), but the edges of positive rate must
    connect all n nodes, else lambda_2 = 0 and RateError is raised.
    """
    out = _solve(edges, rates, n, method, want_spectrum=True)
    R = out["resistances"]
    return {
        "chi_1": 1.0 / out["lambda_2"],
        "chi_2": 0.5 * float(R.max()),
        "lambda_2": out["lambda_2"],
        "lambda_max": out["lambda_max"],
        "max_resistance": float(R.max()),
    }


def _as_edges(edges, n) -> np.ndarray:
    e = np.asarray(edges)
    if e.ndim != 2 or e.shape[1] != 2 or len(e) == 0:
        raise GraphError(f"edges must be a non-empty (E, 2) array of node pairs; "
                         f"got shape {e.shape}")
    e = e.astype(np.int64, copy=False)
    if e.min() < 0 or e.max() >= n:
        raise GraphError(f"edge endpoints must lie in 0..n-1 = 0..{n - 1}; "
                         f"got {e.min()}..{e.max()}")
    return e


def _rate_error(message: str) -> ValueError:
    # rates.py imports this module, so the import has to wait until an error is raised.
    from dadao.rates import RateError

    return RateError(message)


def _check_rates(edges, rates, n):
    edges = _as_edges(edges, n)
    lam = np.asarray(rates, dtype=np.float64)
    if lam.shape != (len(edges),):
        raise _rate_error(f"rates must have one entry per edge ({len(edges)}, in edge_array "
                          f"order); got shape {lam.shape}")
    bad = ~(np.isfinite(lam) & (lam >= 0))
    if bad.any():
        e = int(np.flatnonzero(bad)[0])
        raise _rate_error(f"rate of edge ({edges[e, 0]}, {edges[e, 1]}) must be finite and >= 0; "
                          f"got {lam[e]!r}")
    if np.any(edges[:, 0] == edges[:, 1]):
        raise GraphError("edges contain a self-loop; use edge_array(G) to build the edge list")
    on = lam > 0
    A = sp.csr_matrix((np.ones(int(on.sum())), (edges[on, 0], edges[on, 1])), shape=(n, n))
    k, _ = scipy.sparse.csgraph.connected_components(A, directed=False)
    if k > 1:
        Aall = sp.csr_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(n, n))
        k_all, _ = scipy.sparse.csgraph.connected_components(Aall, directed=False)
        if k_all > 1:
            raise GraphError(f"graph is disconnected: {k_all} components (n = {n}); the "
                             f"constants are infinite")
        raise _rate_error(f"the rate Laplacian is disconnected (lambda_2 = 0): the edges with "
                          f"positive rate form {k} components; give a positive rate to edges "
                          f"joining them")
    return edges, lam


def _solve(edges, rates, n, method, want_spectrum):
    if method not in ("auto", "dense", "sparse"):
        raise GraphError(f"method must be 'auto', 'dense' or 'sparse'; got {method!r}")
    n = _check_n(n, "graph")
    edges, lam = _check_rates(edges, rates, n)
    if method == "dense" or (method == "auto" and n <= DENSE_MAX_N):
        return _solve_dense(edges, lam, n)
    return _solve_sparse(edges, lam, n, want_spectrum)


def _solve_dense(edges, lam, n):
    # divide-and-conquer: about 3x faster than the default MRRR driver at n = 2000, as accurate
    w, V = scipy.linalg.eigh(laplacian(edges, n, lam).toarray(), driver="evd")
    # Connectivity was checked combinatorially, so exactly one eigenvalue (the first) is zero.
    Vp = V[:, 1:]
    Z = (Vp / w[1:]) @ Vp.T
    u, v = edges[:, 0], edges[:, 1]
    R = Z[u, u] + Z[v, v] - 2.0 * Z[u, v]
    return {"resistances": R, "lambda_2": float(w[1]), "lambda_max": float(w[-1])}


def _solve_sparse(edges, lam, n, want_spectrum):
    on = lam > 0
    Lam = laplacian(edges[on], n, lam[on]).tocsc()
    r = int(np.argmax(Lam.diagonal()))
    keep = np.flatnonzero(np.arange(n) != r)
    Lg = Lam[keep][:, keep].tocsc()
    lu = scipy.sparse.linalg.splu(
        Lg, permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.0,
        options=dict(SymmetricMode=True),
    )
    pos = np.full(n, -1, dtype=np.int64)
    if np.array_equal(lu.perm_r, lu.perm_c):
        L = sp.tril(lu.L, k=-1, format="csc")
        L.sort_indices()
        indptr, indices = L.indptr.astype(np.int64), L.indices.astype(np.int64)
        D = lu.U.diagonal().copy()
        # position of each node in the factor; the grounded node r maps to -1 (entry dropped)
        pos[keep] = lu.perm_c
        pu, pv = pos[edges[:, 0]], pos[edges[:, 1]]
        parent, closed = _elimination_tree(indptr, indices)
        if closed:
            R = _resistances_etree(indptr, indices, L.data, D, parent, pu, pv,
                                   min(len(pu), 8 * numba.get_num_threads()))
        else:
            R = _resistances_reach(indptr, indices, L.data, D, pu, pv)
    else:
        # SuperLU pivoted off the diagonal, so U is not D L^T and the kernel does not apply.
        # Not seen for Laplacians (SPD, so the diagonal pivot is always taken); this fallback is
        # correct but costs one full solve per edge.
        pos[keep] = np.arange(n - 1)
        R = _resistances_by_solves(lu, pos[edges[:, 0]], pos[edges[:, 1]])
    out = {"resistances": R, "lambda_2": np.nan, "lambda_max": np.nan}
    if want_spectrum and n <= 50:
        # ARPACK needs a Krylov space smaller than n; tiny graphs take the dense eigenvalues.
        w = scipy.linalg.eigvalsh(Lam.toarray())
        out["lambda_2"], out["lambda_max"] = float(w[1]), float(w[-1])
    elif want_spectrum:
        out["lambda_2"] = _lambda_2_sparse(lu, keep, n)
        out["lambda_max"] = _lambda_max_sparse(Lam)
    return out


def _resistances_by_solves(lu, pu, pv, block=256):
    m = lu.shape[0]
    R = np.empty(len(pu))
    for start in range(0, len(pu), block):
        a, b = pu[start:start + block], pv[start:start + block]
        cols = np.arange(len(a))
        B = np.zeros((m, len(a)))
        B[a[a >= 0], cols[a >= 0]] = 1.0
        B[b[b >= 0], cols[b >= 0]] = -1.0
        X = lu.solve(B)
        R[start:start + block] = np.einsum("ij,ij->j", B, X)
    return R


@numba.njit(cache=True)
def _elimination_tree(indptr, indices):
    """parent[j] = first row below j in column j of L (-1 for a root), if L's pattern is closed.

    Closed means struct(L[:, j]) minus {j, parent[j]} lies inside struct(L[:, parent[j]]) for every
    j: the pattern is then a filled graph, and the nonzeros of L^{-1} e_s are exactly the tree path
    from s to its root. Returns (parent, closed); a non-closed pattern (possible in principle if
    the factorisation dropped structural zeros) sends the caller to the plain reach search.
    """
    m = indptr.shape[0] - 1
    parent = np.full(m, -1, dtype=np.int64)
    mark = np.full(m, -1, dtype=np.int64)
    for j in range(m):
        if indptr[j + 1] > indptr[j]:
            parent[j] = indices[indptr[j]]
    for j in range(m):
        p = parent[j]
        if p < 0:
            continue
        for q in range(indptr[p], indptr[p + 1]):
            mark[indices[q]] = j
        for q in range(indptr[j] + 1, indptr[j + 1]):
            if mark[indices[q]] != j:
                return parent, False
    return parent, True


@numba.njit(cache=True)
def _energy_along(cols, count, y, a, b, indptr, indices, data, D):
    """sum_k y_k^2 / D_k for y = L^{-1} (e_a - e_b) (b < 0 or a < 0: that entry is absent).

    ``cols[:count]`` is the nonzero pattern of y in increasing order (a valid order for the
    forward solve). ``y`` must be all zeros on entry; it is all zeros again on exit.
    """
    if a >= 0:
        y[a] = 1.0
    if b >= 0:
        y[b] = -1.0
    acc = 0.0
    for t in range(count):
        j = cols[t]
        yj = y[j]
        y[j] = 0.0
        if yj != 0.0:
            for p in range(indptr[j], indptr[j + 1]):
                y[indices[p]] -= data[p] * yj
            acc += yj * yj / D[j]
    return acc


@numba.njit(cache=True, parallel=True)
def _resistances_etree(indptr, indices, data, D, parent, pu, pv, n_chunks):
    """R_e = sum_k y_k^2 / D_k with y = L^{-1} (e_pu - e_pv); L strictly lower part, CSC, sorted.

    y lives on the union of the elimination-tree paths of pu and pv; both paths are increasing,
    so merging them gives the columns in a valid order for the forward solve. The sum of positive
    terms has no cancellation, unlike Z_uu + Z_vv - 2 Z_uv from a (selected) inverse, which loses
    digits on long paths. Edges are split in chunks, one set of work arrays per chunk.
    """
    m = D.shape[0]
    E = pu.shape[0]
    R = np.empty(E)
    for c in numba.prange(n_chunks):
        y = np.zeros(m)
        mark = np.full(m, -1, dtype=np.int64)
        path_a = np.empty(m, dtype=np.int64)
        path_b = np.empty(m, dtype=np.int64)
        cols = np.empty(m, dtype=np.int64)
        for e in range(c * E // n_chunks, (c + 1) * E // n_chunks):
            a, b = pu[e], pv[e]
            if a < 0:
                a, b = b, a
            na = 0
            j = a
            while j >= 0:
                mark[j] = e
                path_a[na] = j
                na += 1
                j = parent[j]
            nb = 0
            j = b
            while j >= 0 and mark[j] != e:
                path_b[nb] = j
                nb += 1
                j = parent[j]
            ia = 0
            ib = 0
            for t in range(na + nb):
                if ib >= nb or (ia < na and path_a[ia] < path_b[ib]):
                    cols[t] = path_a[ia]
                    ia += 1
                else:
                    cols[t] = path_b[ib]
                    ib += 1
            R[e] = _energy_along(cols, na + nb, y, a, b, indptr, indices, data, D)
    return R


@numba.njit(cache=True)
def _resistances_reach(indptr, indices, data, D, pu, pv):
    """Same as _resistances_etree for any pattern: the reach is found by depth-first search."""
    m = D.shape[0]
    E = pu.shape[0]
    y = np.zeros(m)
    mark = np.full(m, -1, dtype=np.int64)
    reach = np.empty(m, dtype=np.int64)
    stack = np.empty(m, dtype=np.int64)
    R = np.empty(E)
    for e in range(E):
        top = 0
        count = 0
        for s in (pu[e], pv[e]):
            if s < 0 or mark[s] == e:
                continue
            mark[s] = e
            stack[top] = s
            top += 1
            while top > 0:
                top -= 1
                j = stack[top]
                reach[count] = j
                count += 1
                for p in range(indptr[j], indptr[j + 1]):
                    i = indices[p]
                    if mark[i] != e:
                        mark[i] = e
                        stack[top] = i
                        top += 1
        cols = np.sort(reach[:count])
        R[e] = _energy_along(cols, count, y, pu[e], pv[e], indptr, indices, data, D)
    return R


def _lambda_2_sparse(lu, keep, n):
    """lambda_2(Lambda) = 1 / lambda_max(Lambda^+), Lanczos on x -> Lambda^+ x."""

    def apply(x):
        x = np.ravel(x)
        x = x - x.mean()
        z = np.zeros(n)
        # For x orthogonal to 1, the solution with z_r = 0 solves Lambda z = x.
        z[keep] = lu.solve(x[keep])
        return z - z.mean()

    op = scipy.sparse.linalg.LinearOperator((n, n), matvec=apply, dtype=np.float64)
    v0 = np.random.default_rng(12345).standard_normal(n)
    v0 -= v0.mean()
    # Only the eigenvalue is needed; clustered or repeated lambda_2 (tori) does not slow it down.
    top = scipy.sparse.linalg.eigsh(op, k=1, which="LA", v0=v0, tol=1e-12,
                                    ncv=min(n - 1, 40), return_eigenvectors=False)
    return float(1.0 / top[0])


def _lambda_max_sparse(Lam):
    v0 = np.random.default_rng(12345).standard_normal(Lam.shape[0])
    top = scipy.sparse.linalg.eigsh(Lam, k=1, which="LA", v0=v0, tol=1e-12,
                                    ncv=min(Lam.shape[0] - 1, 40), return_eigenvectors=False)
    return float(top[0])

"""The wall time of a synchronous method, computed directly (no process), in seconds.

An iteration is every node's computation, c[tau, i], then K communication rounds. Global
barrier: everyone waits for the last node, then each round for the slowest link,
t_tau = t_{tau-1} + max_i c[tau, i] + l_1 + ... + l_K. Neighbourhood barrier: an exchange starts
when both its ends are ready, a max-plus recursion over the graph's edges; never later than the
global barrier, the same on a complete graph with one link time per round."""

from __future__ import annotations

import numpy as np

from dadao.errors import ConfigError
from dadao.timing.hints import did_you_mean


BARRIERS = ("global", "neighbourhood")


def sync_round_times(compute, links, T: int, K: int, barrier: str = "global", *,
                     edges=None, n: int | None = None, per_node: bool = False) -> np.ndarray:
    """Wall time (seconds from 0) at the end of each of T iterations of a synchronous method.

    An iteration is every node's computation, then K communication rounds. ``compute``: the
    durations c[tau, i] (an array broadcastable to (T, n)), or a callable compute(tau, starts)
    -> (n,) durations of computations started at starts (``ComputeModel.sync_compute``).
    ``links``: l[tau, r, e], the time of the exchange on edge e in round r of iteration tau,
    broadcastable to (T, K, E) (a scalar: every link, every round).

    global: everyone waits for the last node, then each round for the slowest link:
        t_tau = t_{tau-1} + max_i c[tau, i] + l_1 + ... + l_K,   l_r = max_e l[tau, r, e]
    (added in this order). neighbourhood (needs ``edges``): the exchange on edge (u, v) starts
    when both ends are ready and lasts l; a node goes on when its exchanges are done:
        t_i <- t_i + c[tau, i];   then K times   t_i <- max_{e = (i, j)} (max(t_i, t_j) + l_e)
    (a max-plus recursion, a node without edges keeps its time); the iteration ends when the
    last node is done, max_i t_i. Never later than the global barrier, and the same on a
    complete graph with the same link time on every edge (K >= 1). ``per_node``: (T, n) node
    times.
    """
    if barrier not in BARRIERS:
        raise ConfigError(f"unknown barrier {barrier!r}{did_you_mean(barrier, BARRIERS)} "
                          f"(barriers: {', '.join(BARRIERS)})", field="timing.barrier")
    T, K = _count(T, "T"), _count(K, "K")
    edges = None if edges is None else np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    n = _node_count(compute, edges, n)
    durations = _compute_durations(compute, T, n)
    link = np.asarray(links, dtype=np.float64)
    E = len(edges) if edges is not None else (link.shape[-1] if link.ndim == 3 else 1)
    link = np.broadcast_to(link, (T, K, E))
    if np.any(~np.isfinite(link) | (link < 0)):
        raise ValueError("link times must be finite and >= 0 seconds")
    if barrier == "global":
        times = _global_barrier(durations, link.max(axis=2, initial=0.0), T, n)
        return np.repeat(times[:, None], n, axis=1) if per_node else times
    if edges is None:
        raise ValueError("a neighbourhood barrier needs the graph's edges")
    node_times = _neighbourhood_barrier(durations, link, edges, T, K, n)
    return node_times if per_node else node_times.max(axis=1, initial=0.0)


def _count(value, name: str) -> int:
    if int(value) != value or value < 0:
        raise ValueError(f"{name} must be an integer >= 0, got {value!r}")
    return int(value)


def _node_count(compute, edges, n) -> int:
    if n is not None:
        return int(n)
    if not callable(compute) and np.ndim(compute) >= 1:
        return int(np.shape(compute)[-1])
    if edges is not None and len(edges):
        return int(edges.max()) + 1
    raise ValueError("give n: neither compute nor edges says how many nodes there are")


def _compute_durations(compute, T: int, n: int):
    """Callable (tau, starts) -> (n,) durations, from an array or a callable; checked."""
    if callable(compute):
        def checked(tau, starts):
            return _checked_durations(np.asarray(compute(tau, starts), dtype=np.float64), n)
        return checked
    table = _checked_durations(np.broadcast_to(np.asarray(compute, dtype=np.float64), (T, n)), n)
    return lambda tau, starts: table[tau]


def _checked_durations(c: np.ndarray, n: int) -> np.ndarray:
    if c.shape[-1:] != (n,) or np.any(~np.isfinite(c) | (c < 0)):
        raise ValueError(f"compute times must be {n} finite numbers >= 0 seconds per iteration")
    return c


def global_iteration(t: float, durations: np.ndarray, round_costs) -> float:
    """The end of an iteration started at t under the global barrier:
    ((t + max_i c_i) + l_1) + ... + l_K, seconds."""
    t = t + float(np.max(durations, initial=0.0))
    for cost in np.asarray(round_costs, dtype=np.float64).tolist():
        t = t + cost
    return t


def _global_barrier(durations, round_costs: np.ndarray, T: int, n: int) -> np.ndarray:
    """t_tau = ((t_{tau-1} + max_i c) + l_1) + ... + l_K, one iteration after the other."""
    times = np.empty(T)
    t = 0.0
    for tau in range(T):
        t = global_iteration(t, durations(tau, np.full(n, t)), round_costs[tau])
        times[tau] = t
    return times


class Incidence:
    """The edges at each node of a graph, for the max-plus step of the neighbourhood
    barrier."""

    def __init__(self, edges, n: int):
        self.edges = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
        self.ids, self.nodes, self.first = _incidence(self.edges, n)

    def iteration(self, t: np.ndarray, durations: np.ndarray, link_rounds) -> np.ndarray:
        """Node times at the end of an iteration whose nodes start at t (n,): compute, then
        for each round's exchange times l (E,), t_i <- max_{e = (i, j)} (max(t_i, t_j) + l_e)."""
        u, v = self.edges[:, 0], self.edges[:, 1]
        t = t + durations
        for link in link_rounds:
            done = np.maximum(t[u], t[v]) + link  # each exchange's end
            t = t.copy()
            if len(self.nodes):
                t[self.nodes] = np.maximum.reduceat(done[self.ids], self.first)
        return t


def _incidence(edges: np.ndarray, n: int):
    """(edge ids grouped by node, nodes with edges, start of each node's group) for reduceat."""
    ends = np.concatenate([edges[:, 0], edges[:, 1]])
    ids = np.concatenate([np.arange(len(edges))] * 2)
    order = np.argsort(ends, kind="stable")
    nodes, first = np.unique(ends[order], return_index=True)
    if len(nodes) and (nodes[0] < 0 or nodes[-1] >= n):
        raise ValueError(f"edge endpoints must lie in 0..{n - 1}")
    return ids[order], nodes, first


def _neighbourhood_barrier(durations, link: np.ndarray, edges: np.ndarray, T: int, K: int,
                           n: int) -> np.ndarray:
    """Node times (T, n) at the end of each iteration under the neighbourhood barrier."""
    incidence = Incidence(edges, n)
    out = np.empty((T, n))
    t = np.zeros(n)
    for tau in range(T):
        t = incidence.iteration(t, durations(tau, t), link[tau])
        out[tau] = t
    return out

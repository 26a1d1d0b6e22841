"""Pieces shared by the asynchronous algorithms (``AsyncAlgorithm``, see ``base``).

One place for each of: the 2x2 exchange flow of a pair of state rows, the do-nothing event
functions of methods without a flow or without gradient clocks, "send / estimate x_i", the
pairwise average of a gossip event, the start state, the averaging problem's checks, and the
default rates of the gossip baselines (uniform, total n/2).

The compiled helpers keep the ``AsyncAlgorithm`` signatures, so a module binds them directly
(``flow = no_flow``) or calls them from its own compiled functions.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from dadao.problems import ProblemError
from dadao.problems.base import rows_of
from dadao.rates import uniform_rates


# --------------------------------------------------------------------------------------------
# Compiled event functions


@numba.njit(cache=True)
def exchange_flow(s, a, b, eta, dt):
    """(u, v) <- expm([[-eta, eta], [eta, -eta]] dt) (u, v) for the rows u = s[a], v = s[b].

    The ODE u' = eta (v - u), v' = eta (u - v) keeps u + v and closes the gap u - v by the factor
    e^{-2 eta dt}: with f = (1 - e^{-2 eta dt})/2 (written with expm1 for small dt),
    u <- u + f (v - u) and v <- v + f (u - v). Nothing happens for dt <= 0.
    """
    if dt <= 0.0:
        return
    f = -math.expm1(-2.0 * eta * dt) / 2.0
    for m in range(s.shape[1]):
        u, v = s[a, m], s[b, m]
        s[a, m] = u + (v - u) * f
        s[b, m] = v + (u - v) * f


@numba.njit(cache=True)
def no_flow(s, dt, k):
    """Nothing moves between events (methods whose state changes only at events)."""
    return


@numba.njit(cache=True)
def no_gradient(s, k, oracle, i, work):
    """No gradient clocks: the engine runs the method with every gradient rate at 0."""
    return


@numba.njit(cache=True)
def copy_x(s, k, oracle, i, out):
    """out = x_i = s[0]: the message, or the primal estimate, of a method whose row 0 is x."""
    # a loop, not out[:] = s[0]: numba compiles the slice assignment for seconds on a cold start
    for p in range(out.shape[0]):
        out[p] = s[0, p]


@numba.njit(cache=True)
def gossip_average(s, k, own, peer, e):
    """``on_message`` of plain gossip on (i, j): x <- (x_own + x_peer) / 2 on row 0."""
    for m in range(s.shape[1]):
        s[0, m] = 0.5 * (own[m] + peer[m])


@numba.njit(cache=True)
def gossip_difference(s, k, own, peer, e):
    """``on_delayed_message`` of plain gossip: x += (x_peer - x_own) / 2 with the messages
    sent earlier, so that both ends change by opposite amounts (the sum of x is kept)."""
    for m in range(s.shape[1]):
        s[0, m] += 0.5 * (peer[m] - own[m])


# --------------------------------------------------------------------------------------------
# Start state, problems, rates


def start_state(n: int, size: int, d: int, start=None, rows=(0,)) -> np.ndarray:
    """The (n, size, d) state: zero, with the rows ``rows`` of every node set to ``start``.

    ``start`` is a (d,) vector for all nodes or an (n, d) array, one row per node (x0, or
    ``local_minimisers``); None leaves the state at zero.
    """
    state = np.zeros((n, size, d))
    if start is not None:
        start = np.broadcast_to(np.asarray(start, dtype=np.float64), (n, d))
        for row in rows:
            state[:, row] = start
    return state


def require_averaging(problem, name: str) -> None:
    """Refuse every problem but ``dadao.problems.averaging`` (one line naming problem.kind)."""
    kind = problem.params.get("kind", problem.name)
    if kind != "averaging":
        raise ProblemError(f"{name} solves the averaging problem only "
                           f"(f_i = 1/2 ||x - a_i||^2); got {kind!r}", field="problem.kind")


def local_minimisers(problem, nodes=None) -> np.ndarray:
    """(len(nodes), d): row k is argmin f_i = grad f_i^*(0) = H_i^{-1} c_i of node i =
    nodes[k], from its own data (a_i for averaging); ``nodes`` default: all n (of a problem of
    some nodes, an MPI rank's: nodes it holds)."""
    if nodes is None and problem.nodes is None:
        return problem.conjugate_gradients(np.zeros((problem.n, problem.dim)))
    o = problem.oracle
    rows = rows_of(o, np.arange(problem.n) if nodes is None else nodes)
    if np.any(rows < 0):
        raise ValueError("local_minimisers: a node whose data this problem does not hold")
    return np.einsum("nij,nj->ni", o.Hinv[rows], o.c[rows])  # as conjugate_gradients at 0


def half_n_rates(edges, n: int) -> np.ndarray:
    """Uniform edge rates of total n/2, the default of the gossip baselines.

    A node then takes part in one gossip event per unit time on average (each event involves two
    nodes): one averaging per node per gradient step for AD-PSGD, and, for the Continuized method
    (two conjugate gradients per event), n gradients per unit time, as DADAO with rate-1
    gradient clocks.
    """
    return uniform_rates(edges, n / 2.0)

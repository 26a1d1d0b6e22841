"""The compiled event kernels every engine runs: what happens at an event, and at a sample.

An asynchronous method (``dadao.algorithms.base.AsyncAlgorithm``) is a set of node-local compiled
functions; the kernels here compose them into the operations of an engine, so that every engine
does the same arithmetic in the same order on the same numbers (design rule 1: the in-process
loop, the MPI rank loop and any other consumer of the schedule call these and nothing else).

Lazy time bookkeeping: node i's state lives at time tau_i and is flowed to t only when an event
touches it (``flow`` integrates the method's between-event dynamics exactly, in closed form).

- ``gradient_event(state, tau, r, node, t, k, oracle, work)``: flow row r (node ``node``) from
  tau[r] to t, then its gradient step ``on_gradient``;
- ``pair_event(state, tau, ri, rj, i, j, e, t, k, oracle, msg_i, msg_j)``: flow rows ri and rj
  (nodes i and j of edge e) to t, compute both messages, apply both ``on_message``;
- ``primal_rows(state, tau, nodes, t, k, oracle, X)``: X[r] = primal estimate of node nodes[r]
  at time t, each row flowed on a copy (sampling never perturbs the run);
- ``event_loop(times, clocks, n, edges, state, tau, k, oracle, counts)``: a window of events of
  the whole network in (time, clock id) order; clock c < n is node c's gradient clock and n + e
  is the gossip clock of edge e (``dadao.events``).

Each is compiled once per method (keyed by its functions) and kept for the process.
"""

from __future__ import annotations

import numba
import numpy as np

_COMPILED: dict[tuple, tuple] = {}


def _key(algo, what: str) -> tuple:
    return (what, algo.flow, algo.on_gradient, algo.message, algo.on_message, algo.primal)


def event_functions(algo):
    """(gradient_event, pair_event, primal_rows) compiled for ``algo`` (see module docstring)."""
    key = _key(algo, "events")
    if key in _COMPILED:
        return _COMPILED[key]
    flow, on_gradient = algo.flow, algo.on_gradient
    message, on_message, primal = algo.message, algo.on_message, algo.primal

    @numba.njit
    def gradient_event(state, tau, r, node, t, k, oracle, work):
        si = state[r]
        flow(si, t - tau[r], k)
        tau[r] = t
        on_gradient(si, k, oracle, node, work)

    @numba.njit
    def pair_event(state, tau, ri, rj, i, j, e, t, k, oracle, msg_i, msg_j):
        si = state[ri]
        sj = state[rj]
        flow(si, t - tau[ri], k)
        tau[ri] = t
        flow(sj, t - tau[rj], k)
        tau[rj] = t
        message(si, k, oracle, i, msg_i)
        message(sj, k, oracle, j, msg_j)
        on_message(si, k, msg_i, msg_j, e)
        on_message(sj, k, msg_j, msg_i, e)

    @numba.njit
    def primal_rows(state, tau, nodes, t, k, oracle, X):
        """X[r] = primal estimate of node nodes[r] at time t: row r flowed on a copy (one row of
        scratch at a time, so sampling a large state allocates no copy of it)."""
        if state.shape[0] == 0:
            return
        s = np.empty_like(state[0])
        for r in range(state.shape[0]):
            s[:] = state[r]
            flow(s, t - tau[r], k)
            primal(s, k, oracle, nodes[r], X[r])

    _COMPILED[key] = (gradient_event, pair_event, primal_rows)
    return _COMPILED[key]


def event_loop(algo):
    """The window loop of the whole network, compiled for ``algo`` (see module docstring):
    counts[0] += gradient events, counts[1] += gossip events."""
    key = _key(algo, "loop")
    if key in _COMPILED:
        return _COMPILED[key]
    gradient_event, pair_event, _ = event_functions(algo)

    @numba.njit
    def run_events(times, clocks, n, edges, state, tau, k, oracle, counts):
        d = state.shape[2]
        work = np.empty(d)
        msg_i = np.empty(d)
        msg_j = np.empty(d)
        n_grad = 0
        n_gossip = 0
        for e in range(times.shape[0]):
            t = times[e]
            c = clocks[e]
            if c < n:
                gradient_event(state, tau, c, c, t, k, oracle, work)
                n_grad += 1
            else:
                i = edges[c - n, 0]
                j = edges[c - n, 1]
                pair_event(state, tau, i, j, i, j, c - n, t, k, oracle, msg_i, msg_j)
                n_gossip += 1
        counts[0] += n_grad
        counts[1] += n_gossip

    _COMPILED[key] = run_events
    return run_events

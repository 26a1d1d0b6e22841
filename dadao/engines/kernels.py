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


# ---------------------------------------------------------------------------------------------
# The timed loop: events of the timing engine (dadao.timing.schedule), where an exchange's two
# messages are computed when they are sent and applied when they arrive

#: kinds of a timed event, in the order events at the same time and clock are processed
#: (an exchange that ends at t comes before the next one on its link that starts at t)
APPLY, GRADIENT_APPLY, STALE_GRADIENT, GRADIENT, PAIR, SEND, GRADIENT_START = range(7)


def timed_event_loop(algo):
    """The window loop of the timing engine, compiled for ``algo``:

        run_timed(times, kinds, clocks, n, edges, state, tau, k, oracle, messages, grads, counts)

    event r is (times[r], kinds[r], clocks[r]); a clock is a node i < n for the gradient
    kinds, n + e for the exchange kinds on edge e (as in ``event_loop``).

    - GRADIENT, PAIR: the in-process engine's gradient and gossip events (``gradient_event``,
      ``pair_event``), the same arithmetic;
    - SEND: flow both ends of the edge to t, write their messages into messages[e] (2, d);
    - APPLY: flow both ends to t, apply the messages of messages[e] (``on_delayed_message``
      where the method has one);
    - GRADIENT_START: write grad f_i(x_i) of the flowed row into grads[i];
      GRADIENT_APPLY: apply grads[i] (``apply_gradient``); STALE_GRADIENT: GRADIENT_APPLY then
      GRADIENT_START (a node computing back to back).

    counts[0] += gradients applied, counts[1] += exchanges started (PAIR, SEND)."""
    key = _key(algo, "timed") + (algo.apply_gradient, algo.on_delayed_message)
    if key in _COMPILED:
        return _COMPILED[key]
    gradient_event, pair_event, _ = event_functions(algo)
    flow, message = algo.flow, algo.message
    # a delayed exchange applies the messages' difference (an overwrite with an old message
    # would break what the method conserves)
    on_message = algo.on_delayed_message or algo.on_message
    apply_gradient = algo.apply_gradient
    stale = apply_gradient is not None
    if not stale:
        @numba.njit
        def apply_gradient(s, k, i, grad):  # never called: the engine refuses stale gradients
            pass
    from dadao.problems.oracle import local_gradient

    @numba.njit
    def flowed(state, tau, r, t, k):
        s = state[r]
        if t > tau[r]:
            flow(s, t - tau[r], k)
            tau[r] = t
        return s

    @numba.njit
    def run_timed(times, kinds, clocks, n, edges, state, tau, k, oracle, messages, grads,
                  counts):
        d = state.shape[2]
        work = np.empty(d)
        msg_i = np.empty(d)
        msg_j = np.empty(d)
        n_grad = 0
        n_exchange = 0
        for r in range(times.shape[0]):
            t = times[r]
            kind = kinds[r]
            c = clocks[r]
            if kind == APPLY or kind == PAIR or kind == SEND:
                c -= n  # the edge
            if kind == GRADIENT:
                gradient_event(state, tau, c, c, t, k, oracle, work)
                n_grad += 1
            elif kind == PAIR:
                i = edges[c, 0]
                j = edges[c, 1]
                pair_event(state, tau, i, j, i, j, c, t, k, oracle, msg_i, msg_j)
                n_exchange += 1
            elif kind == SEND:
                i = edges[c, 0]
                j = edges[c, 1]
                message(flowed(state, tau, i, t, k), k, oracle, i, messages[c, 0])
                message(flowed(state, tau, j, t, k), k, oracle, j, messages[c, 1])
                n_exchange += 1
            elif kind == APPLY:
                i = edges[c, 0]
                j = edges[c, 1]
                on_message(flowed(state, tau, i, t, k), k, messages[c, 0], messages[c, 1], c)
                on_message(flowed(state, tau, j, t, k), k, messages[c, 1], messages[c, 0], c)
            else:
                s = flowed(state, tau, c, t, k)
                if kind == GRADIENT_APPLY or kind == STALE_GRADIENT:
                    apply_gradient(s, k, c, grads[c])
                    n_grad += 1
                if kind == GRADIENT_START or kind == STALE_GRADIENT:
                    local_gradient(oracle, c, s[0], grads[c])
        counts[0] += n_grad
        counts[1] += n_exchange

    _COMPILED[key] = run_timed
    return run_timed

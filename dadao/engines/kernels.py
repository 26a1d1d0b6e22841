"""The compiled event kernels every engine runs: what happens at an event, and at a sample.

An asynchronous method (``dadao.algorithms.base.AsyncAlgorithm``) is a set of node-local compiled
functions; the kernels here compose them into the operations of an engine, so that every engine
does the same arithmetic in the same order on the same numbers (design rule 1: the in-process
loop, the MPI rank loop and any other consumer of the schedule call these and nothing else).

Lazy time bookkeeping: node i's state lives at time tau_i and is flowed to t only when an event
touches it (``flow`` integrates the method's between-event dynamics exactly, in closed form).

- a gradient event flows node i's row from tau[i] to t, then takes its gradient step
  ``on_gradient``; a gossip event on edge e = (i, j) flows both rows to t, computes both
  messages, applies both ``on_message`` (``flow_rows``, ``gossip_rows``: every loop below);
- ``primal_rows(state, tau, nodes, t, k, oracle, X)``: X[r] = primal estimate of node nodes[r]
  at time t, each row flowed on a copy (sampling never perturbs the run);
- ``run_events(times, clocks, n, edges, state, tau, k, oracle, counts)`` (``event_loop``): a
  window of events of the whole network in (time, clock id) order; clock c < n is node c's
  gradient clock and n + e is the gossip clock of edge e (``dadao.events``);
- ``run_timed`` (``timed_event_loop``): the timing engine's window loop;
- ``run_until_cut`` (``dadao.engines.mpi.rank_kernels``): an MPI rank's loop, which exchanges
  the messages of its cut-edge events itself (``dadao.engines.native_mpi``) or returns at each
  one for its caller to exchange them.

They are the functions of ``TEMPLATE``, generated per method into a module that numba caches
across processes (``dadao.engines.codegen``), and kept for the process once loaded.
"""

from __future__ import annotations

from dadao.engines import codegen

#: kinds of a timed event, in the order events at the same time and clock are processed
#: (an exchange that ends at t comes before the next one on its link that starts at t)
APPLY, GRADIENT_APPLY, STALE_GRADIENT, GRADIENT, PAIR, SEND, GRADIENT_START = range(7)

#: the loops of every engine, for the functions ``_flow``, ``_on_gradient``, ... of a method
#: (``codegen.ROLES``, bound by the generated header; the optional ones may be None)
TEMPLATE = '''
import numba
import numpy as np

from dadao.engines.codegen import inlined, no_apply_gradient
from dadao.engines.kernels import (APPLY, GRADIENT, GRADIENT_APPLY, GRADIENT_START, PAIR, SEND,
                                   STALE_GRADIENT)
from dadao.engines.native_mpi import (COMM, DONE, DOUBLE, ERROR, EXCHANGE_NS, SENDRECV, STATUS,
                                      WAITING_ON, WTIME, sendrecv, wtime)
from dadao.problems.oracle import local_gradient as _local_gradient

flow = inlined(_flow)
on_gradient = inlined(_on_gradient)
message = inlined(_message)
on_message = inlined(_on_message)
primal = inlined(_primal)
local_gradient = inlined(_local_gradient)
# the engine refuses stale gradients for a method without apply_gradient
apply_gradient = no_apply_gradient if _apply_gradient is None else inlined(_apply_gradient)
# a delayed exchange applies the messages' difference (an overwrite with an old message would
# break what the method conserves)
on_delayed_message = (on_message if _on_delayed_message is None
                      else inlined(_on_delayed_message))


# Each loop flows the rows of an event at one place and calls each of the method's functions at
# one place (flow_rows, gossip_rows): every call is inlined, and one copy of each keeps the
# compiled loop small. An event's operations touch only its own rows, in the order given in
# the module docstring.


@numba.njit(cache=CACHE, inline="always")
def flow_rows(state, tau, ri, rj, ends, t, k, lazy):
    """Flow row ri (and row rj when ends == 2) from tau to t; with ``lazy``, only a row
    behind t (the timing engine's events that need a row at t)."""
    for w in range(ends):
        r = ri if w == 0 else rj
        if not lazy or t > tau[r]:
            flow(state[r], t - tau[r], k)
            tau[r] = t


@numba.njit(cache=CACHE, inline="always")
def gossip_rows(state, ri, rj, i, j, e, k, oracle, msgs, apply):
    """The messages of nodes i and j (rows ri, rj) of edge e into msgs[0] and msgs[1], then,
    with ``apply``, both on_message."""
    for w in range(2):
        message(state[ri if w == 0 else rj], k, oracle, i if w == 0 else j, msgs[w])
    if apply:
        for w in range(2):
            on_message(state[ri if w == 0 else rj], k, msgs[w], msgs[1 - w], e)


@numba.njit(cache=CACHE)
def primal_rows(state, tau, nodes, t, k, oracle, X):
    """X[r] = primal estimate of node nodes[r] at time t: row r flowed on a copy (one row of
    scratch at a time, so sampling a large state allocates no copy of it)."""
    if state.shape[0] == 0:
        return
    s = np.empty_like(state[0])
    for r in range(state.shape[0]):
        for a in range(s.shape[0]):  # (a loop: numba compiles s[:] = ... for seconds)
            for m in range(s.shape[1]):
                s[a, m] = state[r, a, m]
        flow(s, t - tau[r], k)
        primal(s, k, oracle, nodes[r], X[r])


@numba.njit(cache=CACHE)
def run_events(times, clocks, n, edges, state, tau, k, oracle, counts):
    """The window loop of the whole network: counts[0] += gradient events, counts[1] +=
    gossip events."""
    d = state.shape[2]
    work = np.empty(d)
    msgs = np.empty((2, d))
    n_grad = 0
    n_gossip = 0
    for e in range(times.shape[0]):
        t = times[e]
        c = clocks[e]
        if c < n:
            i, j, ends = c, c, 1
        else:
            i, j, ends = edges[c - n, 0], edges[c - n, 1], 2
        flow_rows(state, tau, i, j, ends, t, k, False)
        if ends == 1:
            on_gradient(state[i], k, oracle, i, work)
            n_grad += 1
        else:
            gossip_rows(state, i, j, i, j, c - n, k, oracle, msgs, True)
            n_gossip += 1
    counts[0] += n_grad
    counts[1] += n_gossip


@numba.njit(cache=CACHE)
def run_timed(times, kinds, clocks, n, edges, state, tau, k, oracle, messages, grads, counts):
    """The timing engine's window loop (``timed_event_loop``)."""
    d = state.shape[2]
    work = np.empty(d)
    msgs = np.empty((2, d))
    n_grad = 0
    n_exchange = 0
    for r in range(times.shape[0]):
        t = times[r]
        kind = kinds[r]
        c = clocks[r]
        if kind == APPLY or kind == PAIR or kind == SEND:
            c -= n  # the edge
            i, j, ends = edges[c, 0], edges[c, 1], 2
        else:
            i, j, ends = c, c, 1
        flow_rows(state, tau, i, j, ends, t, k, not (kind == GRADIENT or kind == PAIR))
        if kind == GRADIENT:
            on_gradient(state[i], k, oracle, i, work)
            n_grad += 1
        elif kind == PAIR or kind == SEND:
            # an exchange that is sent now computes its messages into messages[c], to be
            # applied when it ends
            gossip_rows(state, i, j, i, j, c, k, oracle, msgs if kind == PAIR else messages[c],
                        kind == PAIR)
            n_exchange += 1
        elif kind == APPLY:
            for w in range(2):
                on_delayed_message(state[i if w == 0 else j], k, messages[c, w],
                                   messages[c, 1 - w], c)
        else:
            if kind == GRADIENT_APPLY or kind == STALE_GRADIENT:
                apply_gradient(state[i], k, i, grads[i])
                n_grad += 1
            if kind == GRADIENT_START or kind == STALE_GRADIENT:
                local_gradient(oracle, i, state[i, 0], grads[i])
    counts[0] += n_grad
    counts[1] += n_exchange


@numba.njit(cache=CACHE, nogil=True)
def run_until_cut(times, clocks, lo, pending, n, edges, own_row, cut, row, partner, state, tau,
                  k, oracle, counts, msg_own, msg_peer, scratch, link):
    """An MPI rank's loop (``dadao.engines.mpi.RankEventRun``). First finish the exchanged
    cut-edge event ``pending`` (edge id, or -1): apply ``on_message`` to its own end with
    msg_own and msg_peer. Then process events lo, lo+1, ... in order (the in-process loop on
    local rows). At a cut-edge event: flow its own end, write its message in msg_own; then
    with the Python exchange (link[SENDRECV] == 0) return its index, to be called again with
    it as ``pending`` once the caller has exchanged; with the compiled one, exchange with
    partner[edge] here (``dadao.engines.native_mpi``: link's counters, the time inside
    MPI_Sendrecv) and apply on_message. Returns len(times) at the end of the window, or the
    index of an event whose MPI_Sendrecv failed (link[ERROR] != 0). counts: [gradient, local
    gossip, cut gossip] events of this rank. scratch: (3, d) buffers, allocated once per run.
    Releases Python's lock: the watchdog's thread runs while this waits on a partner."""
    work = scratch[0]
    msgs = scratch[1:]
    compiled = link[SENDRECV] != 0
    d = msg_own.shape[0]
    if pending >= 0:  # the cut-edge event the caller has just exchanged: its own end
        on_message(state[own_row[pending]], k, msg_own, msg_peer, pending)
    for e in range(lo, times.shape[0]):
        t = times[e]
        c = clocks[e]
        ed = c - n
        if c < n:
            ri, rj, ends = row[c], row[c], 1
        elif cut[ed]:
            ri, rj, ends = own_row[ed], own_row[ed], 1
        else:
            ri, rj, ends = row[edges[ed, 0]], row[edges[ed, 1]], 2
        flow_rows(state, tau, ri, rj, ends, t, k, False)
        if c < n:
            on_gradient(state[ri], k, oracle, c, work)
            counts[0] += 1
        elif cut[ed]:
            own = edges[ed, 0] if row[edges[ed, 0]] >= 0 else edges[ed, 1]
            message(state[ri], k, oracle, own, msg_own)
            counts[2] += 1
            if not compiled:
                return e
            link[WAITING_ON] = partner[ed]
            t0 = wtime(link[WTIME])
            code = sendrecv(link[SENDRECV], link[COMM], link[DOUBLE], msg_own, msg_peer, d,
                            partner[ed], link[STATUS:])
            link[EXCHANGE_NS] += np.int64(round((wtime(link[WTIME]) - t0) * 1e9))
            link[WAITING_ON] = -1
            if code != 0:
                link[ERROR] = code
                return e
            link[DONE] += 1
            on_message(state[ri], k, msg_own, msg_peer, ed)
        else:
            gossip_rows(state, ri, rj, edges[ed, 0], edges[ed, 1], ed, k, oracle, msgs, True)
            counts[1] += 1
    return times.shape[0]
'''

_MODULES: dict[tuple, object] = {}


def kernel_module(algo):
    """The generated module of ``TEMPLATE`` for ``algo`` (once per process and method)."""
    key = tuple(getattr(algo, role) for role in codegen.ROLES)
    if key not in _MODULES:
        _MODULES[key] = codegen.kernel_module(algo, TEMPLATE)
    return _MODULES[key]


def primal_rows(algo):
    """``primal_rows`` compiled for ``algo`` (see module docstring)."""
    return kernel_module(algo).primal_rows


def event_loop(algo):
    """The window loop of the whole network, compiled for ``algo`` (see module docstring):
    counts[0] += gradient events, counts[1] += gossip events."""
    return kernel_module(algo).run_events


def timed_event_loop(algo):
    """The window loop of the timing engine, compiled for ``algo``:

        run_timed(times, kinds, clocks, n, edges, state, tau, k, oracle, messages, grads, counts)

    event r is (times[r], kinds[r], clocks[r]); a clock is a node i < n for the gradient
    kinds, n + e for the exchange kinds on edge e (as in ``event_loop``).

    - GRADIENT, PAIR: the in-process engine's gradient and gossip events, the same
      arithmetic;
    - SEND: flow both ends of the edge to t, write their messages into messages[e] (2, d);
    - APPLY: flow both ends to t, apply the messages of messages[e] (``on_delayed_message``
      where the method has one);
    - GRADIENT_START: write grad f_i(x_i) of the flowed row into grads[i];
      GRADIENT_APPLY: apply grads[i] (``apply_gradient``); STALE_GRADIENT: GRADIENT_APPLY then
      GRADIENT_START (a node computing back to back).

    counts[0] += gradients applied, counts[1] += exchanges started (PAIR, SEND)."""
    return kernel_module(algo).run_timed

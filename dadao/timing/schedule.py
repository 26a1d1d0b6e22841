"""The timed schedule of an asynchronous run, computed directly: when each node's computations
end and when each exchange starts and ends, in the engine's unit of time (``TimingModel.unit_s``
seconds), as windows of (time, id) events like ``dadao.events``.

The model (docs/wall_clock.md, Semantics):

- a node computes gradients back to back from 0: the m-th ends at its m-th finish time
  (``ComputeModel.back_to_back``); with idealised gradients the gradient is taken and applied
  when it ends (event GRADIENT), with stale ones it is taken where the computation starts and
  applied where it ends (STALE_GRADIENT: apply the gradient taken at the last end, take the
  next one; GRADIENT_START at 0);
- each edge's gossip clock (the idealised one, ``dadao.events.PoissonClocks``) activates its
  link; an exchange sends a message each way, computed when it is sent (SEND), and lasts the
  slower direction, D = max(u -> v, v -> u) transfer time; both ends apply the two messages
  when it ends (APPLY), so each applies the same difference at the same time. With D = 0 the
  exchange is the idealised gossip event (PAIR). A link carries one exchange at a time: an
  activation while it is busy waits its turn (``busy_link = "queue"``: start
  S_k = max(A_k, F_{k-1}), end F_k = S_k + D_k) or is dropped (``"skip"``);
- a message lost in either direction cancels the exchange at both ends (no APPLY; the link
  was busy all the same): every invariant of a gossip event, such as sum_i z_i for DADAO, holds
  under delay and loss alike.

This is the timing of nodes whose computation and communication run in parallel and whose
messages leave at once (``parallel = true``, ``serial_sends = false``): then no node's timing
depends on another's, and each clock's events follow from its own draws. The SimPy model
(``dadao.timing.processes``) runs every choice, this one included, and gives the same events.

Ids: event id = 8 c + kind, c the clock (node i, or n + e for edge e) and kind one of
``dadao.engines.kernels`` (APPLY ... GRADIENT_START), so sorting by (time, id) orders events at
one time by clock, then by kind (an exchange ending at t before the next one starting at t).

How a window is computed: each node's computation ends (a Python step per node: its own
stream), every edge's gossip arrivals (one compiled pass over the clocks, ``dadao.events``), then
one compiled pass over every link (``link_events``: its exchange in flight, its queue or its skips), then one
sort of the window's events by (time, id). Where no exchange is lost and each edge's exchanges
all take the same time (constant latency, no message computation: the idealised links among
them), the durations are one number per edge and nothing more is drawn; otherwise each active
edge's durations and fates come from its ``ExchangeDraws`` (two Python steps per window).
"""

from __future__ import annotations

import numba
import numpy as np

from dadao.engines.kernels import (APPLY, GRADIENT, GRADIENT_START, PAIR, SEND,
                                   STALE_GRADIENT)
from dadao.events import PoissonClocks, Schedule, merge_events
from dadao.timing.laws import Constant
from dadao.timing.links import transfer_time

#: bits of an event id holding its kind
KIND_BITS = 3


def event_ids(clock, kind) -> np.ndarray:
    """Event ids 8 c + kind (see the module docstring)."""
    return (np.asarray(clock, dtype=np.int64) << KIND_BITS) + np.asarray(kind, dtype=np.int64)


@numba.njit(cache=True)
def _exchange(times, ids, m, cid, start, end, duration, lost, t_end):
    """Write the events in [now, t_end) of one exchange started at ``start`` (a PAIR if it takes
    no time and is not lost, else a SEND, and its APPLY if not lost and ended before t_end) from
    row m on; return the next free row."""
    instant = duration == 0.0 and not lost
    times[m] = start
    ids[m] = cid + (PAIR if instant else SEND)
    m += 1
    if not instant and not lost and end < t_end:
        times[m] = end
        ids[m] = cid + APPLY
        m += 1
    return m


@numba.njit(cache=True)
def link_events(t_end, skip, first_clock, counts, arrivals, durations, lost, wait_counts,
                wait_arrivals, wait_durations, wait_lost, free_at, in_flight, flight_end,
                flight_lost):
    """Every link's exchange events in [now, t_end) (times in units), in one pass over the
    edges.

    Edge e (clock first_clock + e) has ``counts[e]`` new activations, ``arrivals`` grouped by
    edge and increasing within one, with the ``durations`` and ``lost`` flags of its next
    exchanges (aligned with its arrivals: in a queue each activation takes one; with ``skip``
    the carried ones take them in order); ``wait_*`` (grouped the same way): the activations
    still waiting from earlier windows, with their durations and fates. Link state, updated in
    place: busy until ``free_at``; ``in_flight``: an exchange started and not ended, ending at
    ``flight_end``, lost or not.

    A queue starts S_k = max(A_k, F_{k-1}) and ends F_k = S_k + D_k; an exchange that would
    start at t_end or later waits, with every later one. With ``skip`` an activation that finds
    the link busy (A_k < F) is dropped.

    Returns (times, ids) of the events in no particular order, how many draws each edge took,
    the waiting activations (counts, arrivals, durations, lost), the exchanges started lost and
    the activations dropped.
    """
    E = counts.shape[0]
    size = wait_arrivals.shape[0] + arrivals.shape[0]
    times = np.empty(E + 2 * size)
    ids = np.empty(E + 2 * size, dtype=np.int64)
    taken = np.zeros(E, dtype=np.int64)
    held_counts = np.zeros(E, dtype=np.int64)
    held_arrivals = np.empty(size)
    held_durations = np.empty(size)
    held_lost = np.empty(size, dtype=np.bool_)
    m = 0
    held = 0
    lost_count = 0
    skipped = 0
    a0 = 0
    w0 = 0
    for e in range(E):
        cid = (first_clock + e) << KIND_BITS
        if in_flight[e] and flight_end[e] < t_end:
            in_flight[e] = False
            if not flight_lost[e]:
                times[m] = flight_end[e]
                ids[m] = cid + APPLY
                m += 1
        free = free_at[e]
        started = False
        waits = False
        last_end = 0.0
        last_instant = True
        last_lost = False
        used = 0
        cw = wait_counts[e]
        for k in range(cw + counts[e]):
            if k < cw:
                arrival = wait_arrivals[w0 + k]
                d = wait_durations[w0 + k]
                gone = wait_lost[w0 + k]
            else:
                arrival = arrivals[a0 + k - cw]
                if skip and arrival < free:
                    skipped += 1
                    continue
                d = durations[a0 + used]
                gone = lost[a0 + used]
                used += 1
            start = arrival if arrival > free else free
            if waits or start >= t_end:
                # the link is busy past the window: this one and every later one wait (only
                # in a queue: a carried activation starts when it arrives, before t_end)
                waits = True
                held_arrivals[held] = arrival
                held_durations[held] = d
                held_lost[held] = gone
                held += 1
                held_counts[e] += 1
                continue
            free = start + d
            m = _exchange(times, ids, m, cid, start, free, d, gone, t_end)
            if gone:
                lost_count += 1
            started = True
            last_end = free
            last_instant = d == 0.0 and not gone
            last_lost = gone
        if started:
            free_at[e] = free
            if not last_instant and last_end >= t_end:
                in_flight[e] = True
                flight_end[e] = last_end
                flight_lost[e] = last_lost
        taken[e] = used
        a0 += counts[e]
        w0 += cw
    return (times[:m], ids[:m], taken, held_counts, held_arrivals[:held],
            held_durations[:held], held_lost[:held], lost_count, skipped)


class ExchangeDraws:
    """The durations (units) and fates of the successive exchanges on one edge (u, v), drawn
    in order: exchange m sends the m-th message of u -> v and of v -> u; it lasts
    max(c_u + transfer u -> v, c_v + transfer v -> u) / unit_s and is lost if either message
    is. c_u: the time node u computes its message (``per_end`` gradients of
    ``ComputeModel.message_work``, for methods whose messages need them; 0 otherwise)."""

    BLOCK = 64

    def __init__(self, u: int, v: int, links, loss, nbytes: float, unit_s: float,
                 compute=None, per_end: int = 0):
        self.u, self.v = int(u), int(v)
        self.links, self.loss, self.nbytes, self.unit_s = links, loss, float(nbytes), unit_s
        self.compute, self.per_end = compute, int(per_end)
        self.durations = np.empty(0)
        self.lost = np.empty(0, dtype=bool)

    def open(self) -> None:
        """Open the random streams of this edge's draws now (each draws nothing: Links, Loss
        and ComputeModel open a stream when first asked, even for 0 values)."""
        for u, v in ((self.u, self.v), (self.v, self.u)):
            if not isinstance(self.links.latency_law(u, v), Constant):
                self.links.transfer_times(u, v, self.nbytes, 0)
            self.loss.lost(u, v, 0)
            if self.per_end:
                self.compute.message_work(u, v, 0)

    def transfer_times(self, u: int, v: int, m: int) -> np.ndarray:
        """Seconds of the transfers of u's next m messages to v (``Links.transfer_times``); a
        constant latency is computed without the stream that Links would open for it (it
        draws nothing from it: the same values)."""
        law = self.links.latency_law(u, v)
        if isinstance(law, Constant):
            return transfer_time(law.draw(None, m), self.nbytes, self.links.bandwidth(u, v))
        return self.links.transfer_times(u, v, self.nbytes, m)

    def message_times(self, u: int, v: int, m: int) -> np.ndarray:
        """Seconds of u's next m messages to v: computation (if any), then transfer."""
        transfer = self.transfer_times(u, v, m)
        if not self.per_end:
            return transfer
        work = self.compute.message_work(u, v, m * self.per_end).reshape(m, self.per_end)
        return self.compute.message_duration(u, 0.0, work.sum(axis=1)) + transfer

    def peek(self, count: int) -> tuple[np.ndarray, np.ndarray]:
        """The next ``count`` (durations, lost), not yet taken."""
        if len(self.durations) < count:
            m = max(self.BLOCK, count - len(self.durations))
            both = np.maximum(self.message_times(self.u, self.v, m),
                              self.message_times(self.v, self.u, m))
            lost = self.loss.lost(self.u, self.v, m) | self.loss.lost(self.v, self.u, m)
            self.durations = np.concatenate([self.durations, both / self.unit_s])
            self.lost = np.concatenate([self.lost, lost])
        return self.durations[:count], self.lost[:count]

    def take(self, count: int) -> None:
        self.durations, self.lost = self.durations[count:], self.lost[count:]


def constant_durations(edges, links, loss, nbytes: float, unit_s: float,
                       per_end: int) -> np.ndarray | None:
    """The duration (units) of every exchange of each edge where it is one number per edge and
    no exchange is lost: a constant latency each way, no message computation, no loss; None
    otherwise. The same arithmetic as ``ExchangeDraws``, edge by edge."""
    if per_end or loss.law is not None:
        return None
    pairs = [(u, v) for u, v in edges.tolist()]
    laws = [(links.latency_law(u, v), links.latency_law(v, u)) for u, v in pairs]
    if not all(isinstance(a, Constant) and isinstance(b, Constant) for a, b in laws):
        return None
    nbytes = float(nbytes)
    forward = transfer_time(np.array([a.value for a, _ in laws], dtype=np.float64), nbytes,
                            np.array([links.bandwidth(u, v) for u, v in pairs], np.float64))
    backward = transfer_time(np.array([b.value for _, b in laws], dtype=np.float64), nbytes,
                             np.array([links.bandwidth(v, u) for u, v in pairs], np.float64))
    return np.maximum(forward, backward) / unit_s


class TimedClocks(Schedule):
    """What both timed schedules (this direct one, and ``dadao.timing.processes``) start
    from: the run's edges, the idealised gossip clocks alone (ids n + e: the same streams and
    arrivals as ``dadao.events``), the nodes that compute (gradient rate > 0, for methods with
    gradient clocks), the expected events per unit (which sizes the windows) and the counters
    of lost exchanges and dropped activations."""

    def __init__(self, model, args, n: int, computes: bool):
        self.model, self.n = model, int(n)
        self.unit = model.unit_s
        self.edges = np.asarray(args.edges, dtype=np.int64).reshape(-1, 2)
        self.gossip = PoissonClocks(args.seed, np.zeros(self.n), self.edges, args.edge_rates)
        self.computing = (np.flatnonzero(np.asarray(args.grad_rates) > 0) if computes
                          else np.empty(0, dtype=np.int64))
        self.clock_ids = np.arange(self.n + len(self.edges), dtype=np.int64)
        g = np.asarray(args.grad_rates, dtype=np.float64)
        # slower nodes compute less often: fewer events per unit, larger windows
        mean_factor = float(np.mean(model.compute.factors)) if self.n else 1.0
        self.total_rate = (float(g[self.computing].sum()) / mean_factor
                           + float(np.sum(args.edge_rates)))
        self.time = 0.0
        self.lost_exchanges = 0
        self.skipped_activations = 0


class TimedSchedule(TimedClocks):
    """Windows of the timed events of an asynchronous run (module docstring), in units.

    Parameters: ``model`` (``TimingModel``), ``args`` (the run's ``RunArguments``: seed,
    gradient rates, edges, gossip rates), ``n``, ``computes``: whether nodes compute gradients
    (False for methods without gradient clocks), ``nbytes``: bytes of one message,
    ``per_end``: gradients each end computes for its message (``ExchangeDraws``).
    """

    kind = "direct"

    def __init__(self, model, args, n: int, computes: bool, nbytes: float, per_end: int = 0):
        if per_end and model.compute.timed_by_start:
            raise ValueError("message computations on transient stragglers need the processes")
        super().__init__(model, args, n, computes)
        self.stale = model.gradient == "stale"
        self.skip = model.busy_link == "skip"
        self._first = True
        self._init_nodes(model.compute)
        self._init_links(model, nbytes, per_end)

    def _init_nodes(self, compute) -> None:
        self.node_end_s = {int(i): 0.0 for i in self.computing}   # seconds: last end drawn
        self.node_pending = {int(i): np.empty(0) for i in self.computing}   # units
        # units: each computing node's mean compute time (sizes its blocks of draws)
        self.node_mean = {i: compute.law.mean * compute.factors[i] / compute.rates[i] / self.unit
                          for i in self.computing.tolist()}
        for i in self.computing.tolist():
            # open each node's stream now (it draws nothing), as the in-process engine opens
            # its clocks' streams before the run, not in its first window
            compute.work(i, 0)

    def _init_links(self, model, nbytes: float, per_end: int) -> None:
        E = len(self.edges)
        self.constant = constant_durations(self.edges, model.links, model.loss, nbytes,
                                           self.unit, per_end)
        self.draws = None
        if self.constant is None:
            self.draws = [ExchangeDraws(u, v, model.links, model.loss, nbytes, self.unit,
                                        model.compute, per_end) for u, v in self.edges.tolist()]
            for draws in self.draws:
                draws.open()   # before the run, as the nodes' streams (``_init_nodes``)
        # every link's state between windows (``link_events``)
        self.free_at = np.zeros(E)
        self.in_flight = np.zeros(E, dtype=bool)
        self.flight_end = np.zeros(E)
        self.flight_lost = np.zeros(E, dtype=bool)
        self.wait_counts = np.zeros(E, dtype=np.int64)
        self.wait_arrivals = np.empty(0)
        self.wait_durations = np.empty(0)
        self.wait_lost = np.empty(0, dtype=bool)
        # compile (or load from numba's cache) before the run's clock starts: a pass with no
        # activation at time 0 changes no link
        self._link_pass(0.0, np.zeros(E, dtype=np.int64), np.empty(0), np.empty(0),
                        np.empty(0, dtype=bool))

    # -- nodes ---------------------------------------------------------------------------------

    def _node_ends(self, i: int, t_end: float) -> np.ndarray:
        """Node i's computation ends in [now, t_end) (units), removed from its buffer."""
        pending = self.node_pending[i]
        compute = self.model.compute
        mean = self.node_mean[i]
        while not len(pending) or pending[-1] < t_end:
            count = int((t_end - (pending[-1] if len(pending) else 0.0)) / mean * 1.2) + 16
            ends_s = compute.back_to_back(i, self.node_end_s[i], count)
            self.node_end_s[i] = float(ends_s[-1])
            pending = np.concatenate([pending, ends_s / self.unit])
        cut = int(np.searchsorted(pending, t_end, side="left"))
        self.node_pending[i] = pending[cut:]
        return pending[:cut]

    def _node_events(self, t_end: float) -> tuple[np.ndarray, np.ndarray]:
        """(times, ids) of every node's computation ends in [now, t_end), node by node."""
        if not len(self.computing):
            return np.empty(0), np.empty(0, dtype=np.int64)
        ends = [self._node_ends(i, t_end) for i in self.computing.tolist()]
        kind = STALE_GRADIENT if self.stale else GRADIENT
        counts = np.fromiter((len(x) for x in ends), np.int64, len(ends))
        return np.concatenate(ends), np.repeat((self.computing << KIND_BITS) + kind, counts)

    # -- links ---------------------------------------------------------------------------------

    def _gossip_arrivals(self, t_end: float) -> tuple[np.ndarray, np.ndarray]:
        """(counts per edge, arrival times grouped by edge, increasing within one) of the gossip
        clocks in [now, t_end): ``PoissonClocks.until``'s draws without its merge
        (``PoissonClocks.arrivals``: the links take them edge by edge)."""
        times, ids = self.gossip.arrivals(t_end)
        return np.bincount(ids - self.n, minlength=len(self.edges)).astype(np.int64), times

    def _exchange_draws(self, counts: np.ndarray):
        """(active edges, durations, lost): the next counts[e] exchanges of each edge, grouped by
        edge like the arrivals, not taken yet (active edges: None where the durations are
        constant and nothing is drawn)."""
        if self.constant is not None:
            return (None, np.repeat(self.constant, counts),
                    np.zeros(int(counts.sum()), dtype=bool))
        active = np.flatnonzero(counts)
        peeks = [self.draws[e].peek(c) for e, c in zip(active.tolist(),
                                                        counts[active].tolist())]
        if not peeks:
            return active, np.empty(0), np.empty(0, dtype=bool)
        return (active, np.concatenate([d for d, _ in peeks]),
                np.concatenate([lost for _, lost in peeks]))

    def _link_pass(self, t_end: float, counts, arrivals, durations, lost):
        """``link_events`` on every link's state; (times, ids, draws taken per edge); keeps the
        waiting activations and the counters."""
        (times, ids, taken, self.wait_counts, self.wait_arrivals, self.wait_durations,
         self.wait_lost, lost_count, skipped) = link_events(
            float(t_end), self.skip, self.n, counts, arrivals, durations, lost,
            self.wait_counts, self.wait_arrivals, self.wait_durations, self.wait_lost,
            self.free_at, self.in_flight, self.flight_end, self.flight_lost)
        self.lost_exchanges += int(lost_count)
        self.skipped_activations += int(skipped)
        return times, ids, taken

    def _edge_events(self, t_end: float, counts, arrivals) -> tuple[np.ndarray, np.ndarray]:
        """(times, ids) of every link's exchange events in [now, t_end), in no order, given the
        gossip arrivals (``_gossip_arrivals``)."""
        active, durations, lost = self._exchange_draws(counts)
        times, ids, taken = self._link_pass(t_end, counts, arrivals, durations, lost)
        if active is not None:
            for e, used in zip(active.tolist(), taken[active].tolist()):
                self.draws[e].take(used)
        return times, ids

    # -- the schedule --------------------------------------------------------------------------

    def until(self, t_end: float) -> tuple[np.ndarray, np.ndarray]:
        """Events in [current time, t_end), as (times, ids) sorted by (time, id)."""
        if t_end < self.time:
            raise ValueError("the schedule cannot go back in time")
        parts_t, parts_c = [], []
        if self._first and self.stale and len(self.computing):
            parts_t.append(np.zeros(len(self.computing)))
            parts_c.append(event_ids(self.computing, GRADIENT_START))
        self._first = False
        counts, arrivals = self._gossip_arrivals(t_end)
        for times, ids in (self._node_events(t_end),
                           self._edge_events(t_end, counts, arrivals)):
            parts_t.append(times)
            parts_c.append(ids)
        self.time = float(t_end)
        return merge_events(parts_t, parts_c)

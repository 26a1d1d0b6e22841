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
"""

from __future__ import annotations

import numba
import numpy as np

from dadao.engines.kernels import (APPLY, GRADIENT, GRADIENT_START, PAIR, SEND,
                                   STALE_GRADIENT)
from dadao.events import PoissonClocks, _merge, _Schedule

#: bits of an event id holding its kind
KIND_BITS = 3


def event_ids(clock, kind) -> np.ndarray:
    """Event ids 8 c + kind (see the module docstring)."""
    return (np.asarray(clock, dtype=np.int64) << KIND_BITS) + np.asarray(kind, dtype=np.int64)


@numba.njit(cache=True)
def queue_times(arrivals, durations, free_at):
    """Starts and ends of exchanges activated at ``arrivals`` on a link free at ``free_at``,
    each waiting its turn: S_k = max(A_k, F_{k-1}), F_k = S_k + D_k, F_0 = free_at."""
    starts = np.empty(arrivals.shape[0])
    ends = np.empty(arrivals.shape[0])
    free = free_at
    for k in range(arrivals.shape[0]):
        s = arrivals[k] if arrivals[k] > free else free
        starts[k] = s
        free = s + durations[k]
        ends[k] = free
    return starts, ends


@numba.njit(cache=True)
def skip_times(arrivals, durations, free_at):
    """Exchanges activated at ``arrivals`` on a link free at ``free_at``, those that find it
    busy dropped: (carried mask, starts and ends of the carried ones, durations used: the
    carried exchanges take durations[0], durations[1], ... in order)."""
    carried = np.zeros(arrivals.shape[0], dtype=np.bool_)
    starts = np.empty(arrivals.shape[0])
    ends = np.empty(arrivals.shape[0])
    free = free_at
    used = 0
    for k in range(arrivals.shape[0]):
        if arrivals[k] >= free:
            carried[k] = True
            starts[used] = arrivals[k]
            free = arrivals[k] + durations[used]
            ends[used] = free
            used += 1
    return carried, starts[:used], ends[:used], used


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

    def message_times(self, u: int, v: int, m: int) -> np.ndarray:
        """Seconds of u's next m messages to v: computation (if any), then transfer."""
        transfer = self.links.transfer_times(u, v, self.nbytes, m)
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


class _Link:
    """One edge's link between windows: busy until ``free_at``; ``waiting``: activations (and
    their durations and fates) not started yet (queue); ``flight``: (end, lost) of the exchange
    started and not ended yet, None when idle."""

    __slots__ = ("draws", "free_at", "waiting", "wait_durations", "wait_lost", "flight")

    def __init__(self, draws: ExchangeDraws):
        self.draws = draws
        self.free_at = 0.0
        self.waiting = np.empty(0)
        self.wait_durations = np.empty(0)
        self.wait_lost = np.empty(0, dtype=bool)
        self.flight = None


class TimedSchedule(_Schedule):
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
        self.model, self.n = model, int(n)
        self.unit = model.unit_s
        self.stale = model.gradient == "stale"
        self.skip = model.busy_link == "skip"
        self.edges = np.asarray(args.edges, dtype=np.int64).reshape(-1, 2)
        E = len(self.edges)
        # the gossip clocks alone (ids n + e), the idealised ones: same streams, same arrivals
        self.gossip = PoissonClocks(args.seed, np.zeros(self.n), self.edges, args.edge_rates)
        self.computing = (np.flatnonzero(np.asarray(args.grad_rates) > 0) if computes
                          else np.empty(0, dtype=np.int64))
        self.node_end_s = {int(i): 0.0 for i in self.computing}   # seconds: last end drawn
        self.node_pending = {int(i): np.empty(0) for i in self.computing}   # units
        self.links = [_Link(ExchangeDraws(u, v, model.links, model.loss, nbytes, self.unit,
                                          model.compute, per_end))
                      for u, v in self.edges.tolist()]
        self.clock_ids = np.arange(self.n + E, dtype=np.int64)
        g = np.asarray(args.grad_rates, dtype=np.float64)
        mean_factor = float(np.mean(model.compute.factors)) if self.n else 1.0
        self.total_rate = (float(g[self.computing].sum()) / mean_factor
                           + float(np.sum(args.edge_rates)))
        self.started = self.time = 0.0
        self.lost_exchanges = 0
        self.skipped_activations = 0
        self._first = True

    # -- nodes ---------------------------------------------------------------------------------

    def _node_ends(self, i: int, t_end: float) -> np.ndarray:
        """Node i's computation ends in [now, t_end) (units), removed from its buffer."""
        pending = self.node_pending[i]
        compute = self.model.compute
        while not len(pending) or pending[-1] < t_end:
            mean = compute.law.mean * compute.factors[i] / compute.rates[i] / self.unit
            count = int((t_end - (pending[-1] if len(pending) else 0.0)) / mean * 1.2) + 16
            ends_s = compute.back_to_back(i, self.node_end_s[i], count)
            self.node_end_s[i] = float(ends_s[-1])
            pending = np.concatenate([pending, ends_s / self.unit])
        cut = int(np.searchsorted(pending, t_end, side="left"))
        self.node_pending[i] = pending[cut:]
        return pending[:cut]

    # -- links ---------------------------------------------------------------------------------

    def _link_events(self, e: int, arrivals: np.ndarray, t_end: float):
        """(times, kinds) of edge e's exchange events in [now, t_end), given its activations
        there."""
        link = self.links[e]
        times, kinds = [], []
        if link.flight is not None:
            end, lost = link.flight
            if end < t_end:
                link.flight = None
                if not lost:
                    times.append(np.array([end]))
                    kinds.append(np.array([APPLY]))
        if self.skip:
            durations, lost = link.draws.peek(len(arrivals))
            _, starts, ends, used = skip_times(arrivals, durations, link.free_at)
            self.skipped_activations += len(arrivals) - used
            lost = lost[:used]
            durations = durations[:used]
            link.draws.take(used)
        else:
            durations, lost = link.draws.peek(len(arrivals))
            link.draws.take(len(arrivals))
            arrivals = np.concatenate([link.waiting, arrivals])
            durations = np.concatenate([link.wait_durations, durations])
            lost = np.concatenate([link.wait_lost, lost])
            starts, ends = queue_times(arrivals, durations, link.free_at)
            now = int(np.searchsorted(starts, t_end, side="left"))
            link.waiting, link.wait_durations, link.wait_lost = (
                arrivals[now:], durations[now:], lost[now:])
            starts, ends, durations, lost = starts[:now], ends[:now], durations[:now], lost[:now]
        if len(starts):
            link.free_at = float(ends[-1])
            self.lost_exchanges += int(lost.sum())
            instant = (durations == 0) & ~lost
            times.append(starts)
            kinds.append(np.where(instant, PAIR, SEND))
            applied = ~instant & ~lost & (ends < t_end)
            times.append(ends[applied])
            kinds.append(np.full(int(applied.sum()), APPLY))
            last = len(starts) - 1
            if not instant[last] and ends[last] >= t_end:
                link.flight = (float(ends[last]), bool(lost[last]))
        return times, kinds

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
        node_kind = STALE_GRADIENT if self.stale else GRADIENT
        for i in self.computing.tolist():
            ends = self._node_ends(i, t_end)
            if len(ends):
                parts_t.append(ends)
                parts_c.append(np.full(len(ends), (i << KIND_BITS) + node_kind, np.int64))
        times, ids = self.gossip.until(t_end)
        edge = ids - self.n
        order = np.argsort(edge, kind="stable")
        edge_sorted = edge[order]
        active = np.unique(np.concatenate([edge_sorted, self._busy_edges()]))
        bounds = np.searchsorted(edge_sorted, np.stack([active, active + 1]))
        for e, lo, hi in zip(active.tolist(), bounds[0].tolist(), bounds[1].tolist()):
            ts, ks = self._link_events(e, times[order[lo:hi]], t_end)
            for t, k in zip(ts, ks):
                if len(t):
                    parts_t.append(t)
                    parts_c.append(((self.n + e) << KIND_BITS) + k.astype(np.int64))
        self.time = float(t_end)
        return _merge(parts_t, parts_c)

    def _busy_edges(self) -> np.ndarray:
        """Edges with an exchange in flight or activations waiting: they have events to come
        without a new activation."""
        return np.array([e for e, link in enumerate(self.links)
                         if link.flight is not None or len(link.waiting)], dtype=np.int64)

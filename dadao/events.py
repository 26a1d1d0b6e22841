"""Poisson clocks and the event schedule.

Every node i has a gradient clock, a Poisson process of rate g_i (default 1: time is counted in
expected gradient steps per node), and every edge (u, v) a gossip clock of rate lambda_uv. All clocks
are independent, so their superposition is a Poisson process of rate R = sum g_i + sum lambda_uv.

Design rule 2: the schedule is data and does not depend on the engine. Each clock draws its
inter-arrival times from its own keyed counter-based stream (``dadao.counter_rng``: Philox4x64-10
keyed by the run seed, addressed by the clock's identity and a counter):

    gradient clock of node i   ->  identity (0, i)
    gossip clock of edge (u,v) ->  identity (1, u, v)   with u < v

The j-th exponential E_j of a clock is a pure function of (seed, identity, j), so any subset of
clocks (the clocks a rank owns, say) generates exactly the corresponding subset of the full
schedule, without talking to anyone. Arrival times are accumulated sequentially
(t_0 = E_0 / rate, t_k = t_{k-1} + E_k / rate, E_k ~ Exp(1) by inversion, one counter word
each), which makes them independent of how the draws are split into windows. A clock's whole
state is two numbers: its next arrival and its counter (the exponentials drawn so far), held
for all clocks in two numpy arrays; a window's arrivals are drawn and merged in one compiled
pass (``window_events``).

``SCHEDULE_VERSION`` names this construction (version 1 drew from one numpy
``SeedSequence(seed, spawn_key=identity)`` generator per clock): meta.json records it with the
versions, and a checkpoint of another version is refused (``dadao.checkpoint``).

Clock ids: 0..n-1 are the gradient clocks of nodes 0..n-1; n + e is the gossip clock of edge e
(row e of ``dadao.graphs.edge_array``). Simultaneous events (probability zero) are ordered by clock
id, so the order is total and the same everywhere.

A clock of rate 0 never fires and draws nothing: methods without gradient clocks (Continuized,
gossip averaging) run with every g_i = 0.

Time-varying graphs (``SwitchingClocks``): K graphs used in turn, graph k active on the intervals
[(m K + k) P, (m K + k + 1) P), m = 0, 1, ..., i.e. the active graph at time t is floor(t / P) mod K.
The gossip clock of edge (u, v) of graph k runs only while graph k is active:

    gossip clock of edge (u,v) of graph k  ->  identity (2, k, u, v)

drawn in graph k's *active time* s (the time graph k has been active since 0) and placed at
t = (m K + k) P + (s - m P), m = floor(s / P). The switching times are thus built into every
clock's arrival times, the same for every engine; they need not cut the event windows, since each
event names its own edge (of its own graph).
"""

from __future__ import annotations

import math
from typing import Iterator

import numba
import numpy as np

from dadao.counter_rng import (CounterStream, block_word, exponential_of, philox4x64,
                               stream_key)

#: The construction of the schedule (module docstring); bumped whenever the events of a seed
#: change. 1: one numpy SeedSequence generator per clock; 2: keyed Philox4x64-10 streams.
SCHEDULE_VERSION = 2

GRADIENT_KEY = 0
GOSSIP_KEY = 1
SEQUENCE_GOSSIP_KEY = 2

#: Events per window of the merged schedule: large enough that the per-window Python work is
#: negligible per event, small enough to keep memory flat on long runs.
EVENTS_PER_WINDOW = 1 << 17
#: On graphs with many clocks a window holds this many events per clock: the compiled pass
#: visits every clock once per window (a few ns each), so a few events per clock keep that
#: small per event ...
EVENTS_PER_CLOCK = 4
#: ... up to this many events per window (64 MB of times and ids), beyond which memory wins:
#: never fewer than MIN_EVENTS_PER_CLOCK per clock, though.
MAX_EVENTS_PER_WINDOW = 1 << 22
MIN_EVENTS_PER_CLOCK = 1

# How a segment of clocks (a contiguous range of ids) names its streams: the words (a, b, c)
# after the kind are (id, 0, 0) for gradient clocks, (u, v, 0) for gossip clocks of a static
# graph and (k, u, v) for those of graph k of a list.
_NODE_WORDS, _EDGE_WORDS, _GRAPH_EDGE_WORDS = 0, 1, 2


def clock_stream(seed: int, key: tuple[int, ...]) -> CounterStream:
    """The random stream of one clock, identified by ``key`` (see module docstring): its j-th
    ``standard_exponential`` is the clock's E_j."""
    return CounterStream(seed, key)


class Schedule:
    """Windows over a merged schedule; subclasses define ``until``, ``time``, ``total_rate`` and
    ``clock_ids`` (the clocks here, and the timed schedules of ``dadao.timing``).

    ``rest``: while a consumer holds a piece of a window cut at a breakpoint, (the breakpoint,
    the times and ids of the window's events after it), None at a window's end; ``carry``: such
    a rest, restored from a snapshot, that the next ``windows`` emits before drawing again. The
    two make a snapshot exact at any breakpoint (``snapshot``).
    """

    rest = None
    carry = None

    @property
    def clock_count(self) -> int:
        """How many clocks there are (``len(clock_ids)``)."""
        return len(self.clock_ids)

    def default_events_per_window(self) -> int:
        """About how many events a window holds when ``windows`` is not told: EVENTS_PER_WINDOW,
        or EVENTS_PER_CLOCK per clock when there are many clocks, within the bounds above."""
        clocks = self.clock_count
        return max(EVENTS_PER_WINDOW, min(EVENTS_PER_CLOCK * clocks, MAX_EVENTS_PER_WINDOW),
                   MIN_EVENTS_PER_CLOCK * clocks)

    def windows(self, t_end: float, events_per_window: int | None = None,
                breakpoints=()) -> Iterator[tuple[float, np.ndarray, np.ndarray]]:
        """Yield (window end, times, ids) for consecutive windows covering [now, t_end).

        Window ends include every value of ``breakpoints`` in range (metric sampling times, say),
        so a consumer can stop exactly there; windows are otherwise sized to hold about
        ``events_per_window`` events (default: EVENTS_PER_WINDOW, or EVENTS_PER_CLOCK per clock
        when there are many clocks, so that visiting every clock once per window stays small per
        event; see the constants for the memory bound). Windows do not change the schedule.
        """
        if events_per_window is None:
            events_per_window = self.default_events_per_window()
        span = events_per_window / self.total_rate if self.total_rate > 0 else np.inf
        carry, self.carry = self.carry, None
        now = self.time if carry is None else carry[0]
        points = np.array(sorted({float(b) for b in breakpoints if now < b < t_end}))
        while carry is not None or self.time < t_end:
            if carry is not None:
                # the rest of a window a snapshot was taken inside: its events come first
                (start, times, ids), carry = carry, None
                end = self.time
            else:
                start = self.time
                end = min(float(t_end), start + span)
                times, ids = self.until(end)
            # Breakpoints split the window without touching the clocks, so that sampling
            # never changes the windows' sizes (one compiled pass per window).
            inside = points[(points > start) & (points < end)]
            cuts = np.searchsorted(times, inside, side="left")
            lo = 0
            for point, cut in zip(inside.tolist(), cuts.tolist()):
                # what a snapshot taken at ``point`` must carry: the window's events after it
                self.rest = (point, times[cut:], ids[cut:])
                yield point, times[lo:cut], ids[lo:cut]
                lo = cut
            self.rest = None
            yield end, times[lo:], ids[lo:]


def merge_events(parts_t, parts_c) -> tuple[np.ndarray, np.ndarray]:
    """Concatenate arrival times and ids given in any order, sorted by (time, id) (the timed
    schedules' merge; the clocks merge their own windows in compiled code)."""
    if not parts_t:
        return np.empty(0), np.empty(0, dtype=np.int64)
    times = np.concatenate(parts_t)
    ids = np.concatenate(parts_c)
    order = np.lexsort((ids, times))
    return times[order], ids[order]


# -- compiled: the clocks' draws and the merge of a window -------------------------------------

@numba.njit(cache=True, inline="always")
def _rate_of(c, n, grad_rates, edge_rates):
    return grad_rates[c] if c < n else edge_rates[c - n]


@numba.njit(cache=True, inline="always")
def _stream_words(mode, c, n, word, edges):
    """The counter words (a, b, c) of clock c in a segment of ``mode``."""
    zero = np.uint64(0)
    if mode == _NODE_WORDS:
        return np.uint64(c), zero, zero
    u = np.uint64(edges[c - n, 0])
    v = np.uint64(edges[c - n, 1])
    if mode == _EDGE_WORDS:
        return u, v, zero
    return word, u, v


@numba.njit(cache=True)
def start_clocks(seed, full, ids, nxt, drawn, n, grad_rates, edge_rates, edges, seg_pos,
                 seg_key, seg_mode, seg_word):
    """Draw every clock's first arrival t_0 = E_0 / rate (counter 1), or none at rate 0
    (next arrival +inf, counter 0). Clocks at positions seg_pos[s]..seg_pos[s + 1] - 1 form
    segment s (their ids: ``ids``, or the positions themselves when ``full``)."""
    for s in range(seg_pos.shape[0] - 1):
        for p in range(seg_pos[s], seg_pos[s + 1]):
            c = p if full else ids[p]
            rate = _rate_of(c, n, grad_rates, edge_rates)
            if rate > 0.0:
                a, b, w = _stream_words(seg_mode[s], c, n, seg_word[s], edges)
                block = philox4x64(np.uint64(0), a, b, w, seed, seg_key[s])
                nxt[p] = exponential_of(block[0]) / rate
                drawn[p] = 1
            else:
                nxt[p] = np.inf
                drawn[p] = 0


@numba.njit(cache=True)
def emit_arrivals(seed, full, ids, nxt, drawn, n, grad_rates, edge_rates, edges, seg_pos,
                  seg_key, seg_mode, seg_word, seg_frame, frame_end, K, period, t_start, below,
                  capacity):
    """Every arrival before its frame's end, clock by clock in id order (increasing within a
    clock): (times, ids, count), the buffers longer than count. Clocks advance in place.

    Frame 0 is the global time; frame k + 1 the active time of graph k of a list, whose
    arrivals s are placed at t = (m K + k) P + (s - m P), m = floor(s / P), within
    [t_start, below] (rounding must not move one out of the window)."""
    times = np.empty(max(capacity, 16))
    out = np.empty(times.shape[0], dtype=np.int64)
    m = 0
    for s in range(seg_pos.shape[0] - 1):
        frame = seg_frame[s]
        end = frame_end[frame]
        k = frame - 1
        for p in range(seg_pos[s], seg_pos[s + 1]):
            x = nxt[p]
            if not x < end:
                continue
            c = p if full else ids[p]
            rate = _rate_of(c, n, grad_rates, edge_rates)
            a, b, w = _stream_words(seg_mode[s], c, n, seg_word[s], edges)
            j = drawn[p]
            current = -1
            block = (np.uint64(0), np.uint64(0), np.uint64(0), np.uint64(0))
            while x < end:
                if m == times.shape[0]:
                    grown = np.empty(2 * m)
                    grown[:m] = times
                    times = grown
                    grown_ids = np.empty(2 * m, dtype=np.int64)
                    grown_ids[:m] = out
                    out = grown_ids
                if frame == 0:
                    times[m] = x
                else:
                    q = math.floor(x / period)
                    r = x - q * period
                    # x / period may round across an integer: keep the remainder in [0, P)
                    if r < 0.0:
                        q -= 1.0
                    elif r >= period:
                        q += 1.0
                    t = (q * K + k) * period + (x - q * period)
                    times[m] = min(max(t, t_start), below)
                out[m] = c
                m += 1
                if j >> 2 != current:
                    current = j >> 2
                    block = philox4x64(np.uint64(current), a, b, w, seed, seg_key[s])
                x = x + exponential_of(block_word(block, j)) / rate
                j += 1
            nxt[p] = x
            drawn[p] = j
    return times, out, m


#: a bucket of the merge holding more events than this is sorted by a merge sort, not by
#: insertion: times cluster only where something places them at one instant
_BUCKET_INSERTION_MAX = 32


@numba.njit(cache=True)
def sort_by_time(times, ids, m, t_start, t_end):
    """The first m (times, ids), given in id order (a clock's times increasing), sorted by
    (time, id): a stable sort on the time alone.

    A bucket sort: the window [t_start, t_end) is cut into m buckets of equal length (the
    events of Poisson clocks fall uniformly in it, one per bucket on average), events are
    scattered to their bucket in input order and each bucket sorted by insertion (stable), or
    by a merge sort when it holds more than a few events, so that clustered times cost
    O(m log m) at worst."""
    out_t = np.empty(m)
    out_c = np.empty(m, dtype=np.int64)
    span = t_end - t_start
    if m == 0:
        return out_t, out_c
    if not (span > 0.0 and span < np.inf):
        order = np.argsort(times[:m], kind="mergesort")
        for i in range(m):
            out_t[i] = times[order[i]]
            out_c[i] = ids[order[i]]
        return out_t, out_c
    scale = m / span
    top = m - 1
    ends = np.zeros(m + 1, dtype=np.int64)
    for i in range(m):
        b = min(max(int((times[i] - t_start) * scale), 0), top)
        ends[b + 1] += 1
    for b in range(m):
        ends[b + 1] += ends[b]
    for i in range(m):
        b = min(max(int((times[i] - t_start) * scale), 0), top)
        at = ends[b]
        ends[b] = at + 1
        out_t[at] = times[i]
        out_c[at] = ids[i]
    # ends[b] is now the end of bucket b, and its start the end of bucket b - 1
    lo = 0
    for b in range(m):
        hi = ends[b]
        if hi - lo > _BUCKET_INSERTION_MAX:
            order = np.argsort(out_t[lo:hi], kind="mergesort")
            chunk_t = out_t[lo:hi][order]
            chunk_c = out_c[lo:hi][order]
            out_t[lo:hi] = chunk_t
            out_c[lo:hi] = chunk_c
        else:
            for i in range(lo + 1, hi):
                x = out_t[i]
                c = out_c[i]
                j = i - 1
                while j >= lo and out_t[j] > x:
                    out_t[j + 1] = out_t[j]
                    out_c[j + 1] = out_c[j]
                    j -= 1
                out_t[j + 1] = x
                out_c[j + 1] = c
        lo = hi
    return out_t, out_c


@numba.njit(cache=True)
def window_events(seed, full, ids, nxt, drawn, n, grad_rates, edge_rates, edges, seg_pos,
                  seg_key, seg_mode, seg_word, seg_frame, frame_end, K, period, t_start,
                  t_end, below, capacity):
    """The events of a window [t_start, t_end), sorted by (time, id), in one compiled pass:
    ``emit_arrivals`` then ``sort_by_time``."""
    times, out, m = emit_arrivals(seed, full, ids, nxt, drawn, n, grad_rates, edge_rates,
                                  edges, seg_pos, seg_key, seg_mode, seg_word, seg_frame,
                                  frame_end, K, period, t_start, below, capacity)
    return sort_by_time(times, out, m, t_start, t_end)


# -- the clocks ------------------------------------------------------------------------------

def _checked_seed(seed) -> int:
    seed = int(seed)
    if not 0 <= seed < 1 << 64:
        raise ValueError(f"the schedule's seed must be an integer in [0, 2^64), got {seed}")
    return seed


class KeyedClocks(Schedule):
    """Poisson clocks on keyed streams, all their state in arrays: what ``PoissonClocks`` and
    ``SwitchingClocks`` share. Each clock is an index into ``clock_ids`` (ascending), with its
    next arrival (in its frame's time) and its counter; clocks form segments (contiguous id
    ranges) that name their streams alike and run in one frame (the global time, or one
    graph's active time)."""

    def _init_clocks(self, seed, n, grad_rates, edge_rates, edges, clocks, segments,
                     frames: int) -> None:
        """``segments``: (first id, kind, words mode, graph word, frame) in id order, each up
        to the next one's first id (the last one up to n + len(edge_rates))."""
        self.seed = _checked_seed(seed)
        self.n = int(n)
        self._grad = np.ascontiguousarray(grad_rates, dtype=np.float64)
        self._edge = np.ascontiguousarray(edge_rates, dtype=np.float64)
        self.edges = np.ascontiguousarray(edges, dtype=np.int64).reshape(-1, 2)
        n_clocks = self.n + len(self._edge)
        self._full = clocks is None
        if self._full:
            self._ids = np.empty(0, dtype=np.int64)
            count = n_clocks
        else:
            self._ids = np.unique(np.asarray(clocks, dtype=np.int64))
            if len(self._ids) and (self._ids[0] < 0 or self._ids[-1] >= n_clocks):
                raise ValueError(f"clock ids must lie in [0, {n_clocks})")
            count = len(self._ids)
        first = np.array([seg[0] for seg in segments] + [n_clocks], dtype=np.int64)
        self._seg_pos = (first if self._full
                         else np.searchsorted(self._ids, first).astype(np.int64))
        # k1 of each segment's key: its kind and the length of its identities
        self._seg_key = np.array([stream_key(self.seed, (s[1],) + (0,) * (_ARITY[s[2]] - 1))[1]
                                  for s in segments], dtype=np.uint64)
        self._seg_mode = np.array([s[2] for s in segments], dtype=np.int64)
        self._seg_word = np.array([s[3] for s in segments], dtype=np.uint64)
        self._seg_frame = np.array([s[4] for s in segments], dtype=np.int64)
        # events per unit of each frame's time, per segment (sizes the window's buffers)
        self._seg_rate = np.array([self._rates_at(a, b).sum() for a, b in
                                   zip(self._seg_pos[:-1], self._seg_pos[1:])])
        self._frame_time = np.zeros(frames)
        self._next = np.empty(count)
        self._drawn = np.empty(count, dtype=np.int64)
        self._seed64 = np.uint64(self.seed)
        start_clocks(self._seed64, self._full, self._ids, self._next, self._drawn, self.n,
                     self._grad, self._edge, self.edges, self._seg_pos, self._seg_key,
                     self._seg_mode, self._seg_word)
        self.time = 0.0

    def _rates_at(self, lo: int, hi: int) -> np.ndarray:
        """The rates of the clocks at positions lo..hi - 1 (all of one segment)."""
        if self._full:
            return self._grad[lo:hi] if hi <= self.n else self._edge[lo - self.n:hi - self.n]
        ids = self._ids[lo:hi]
        return self._grad[ids] if not len(ids) or ids[0] < self.n else self._edge[ids - self.n]

    @property
    def clock_ids(self) -> np.ndarray:
        """Ids of the clocks generated here, ascending."""
        return (np.arange(len(self._next), dtype=np.int64) if self._full else self._ids)

    @property
    def clock_count(self) -> int:
        return len(self._next)

    @property
    def rates(self) -> np.ndarray:
        """The rate of every clock (all of them, not only those generated here)."""
        return np.concatenate([self._grad, self._edge])

    def _frame_ends(self, t_end: float) -> np.ndarray:
        return np.array([t_end])

    def _pass(self, t_end: float, sort: bool):
        if t_end < self.time:
            raise ValueError("clocks cannot go back in time")
        t_end = float(t_end)
        ends = self._frame_ends(t_end)
        spans = ends - self._frame_time
        expected = float(np.dot(self._seg_rate, spans[self._seg_frame]))
        capacity = int(min(expected + 6.0 * math.sqrt(expected) + 64.0, 1 << 40))
        below = float(np.nextafter(t_end, -np.inf))
        common = (self._seed64, self._full, self._ids, self._next, self._drawn, self.n,
                  self._grad, self._edge, self.edges, self._seg_pos, self._seg_key,
                  self._seg_mode, self._seg_word, self._seg_frame, ends,
                  float(getattr(self, "K", 1)), float(getattr(self, "period", 1.0)),
                  self.time)
        if sort:
            result = window_events(*common, t_end, below, capacity)
        else:
            times, ids, m = emit_arrivals(*common, below, capacity)
            result = times[:m].copy(), ids[:m].copy()
        self._frame_time = ends
        self.time = t_end
        return result

    def until(self, t_end: float) -> tuple[np.ndarray, np.ndarray]:
        """Events in [current time, t_end), as (times, clock ids) sorted by (time, id)."""
        return self._pass(t_end, sort=True)

    def arrivals(self, t_end: float) -> tuple[np.ndarray, np.ndarray]:
        """The same events as ``until``, not merged: grouped by clock in id order, increasing
        within a clock (for consumers that take them clock by clock)."""
        return self._pass(t_end, sort=False)


#: the identity's length for each words mode: (kind, i), (kind, u, v), (kind, k, u, v)
_ARITY = {_NODE_WORDS: 2, _EDGE_WORDS: 3, _GRAPH_EDGE_WORDS: 4}


def _checked_rates(grad_rates, edges, edge_rates):
    grad_rates = np.asarray(grad_rates, dtype=np.float64)
    edge_rates = np.asarray(edge_rates, dtype=np.float64)
    edges = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    if len(edges) != len(edge_rates):
        raise ValueError(f"{len(edges)} edges but {len(edge_rates)} edge rates")
    if np.any(~np.isfinite(grad_rates)) or np.any(grad_rates < 0):
        raise ValueError("gradient rates must be finite and >= 0")
    if np.any(~np.isfinite(edge_rates)) or np.any(edge_rates < 0):
        raise ValueError("edge rates must be finite and >= 0")
    return grad_rates, edges, edge_rates


class PoissonClocks(KeyedClocks):
    """The merged, time-ordered events of a set of Poisson clocks.

    Parameters
    ----------
    seed : int
        Run seed, in [0, 2^64): the key of every clock's stream.
    grad_rates : array (n,)
        Rate g_i of node i's gradient clock, in events per unit time. Zero means never.
    edges : int array (E, 2)
        Edges (u, v), u < v, in the canonical order of ``dadao.graphs.edge_array``.
    edge_rates : array (E,)
        Gossip rate lambda_e of each edge.
    clocks : int array, optional
        Ids of the clocks to generate (default: all). The result is exactly the restriction of
        the full schedule to these clocks.
    gossip_key : tuple of int
        Prefix of the gossip clocks' identities (default ``(GOSSIP_KEY,)``; graph k of a
        time-varying list uses ``(SEQUENCE_GOSSIP_KEY, k)``).
    """

    def __init__(self, seed, grad_rates, edges, edge_rates, clocks=None,
                 gossip_key=(GOSSIP_KEY,)):
        grad_rates, edges, edge_rates = _checked_rates(grad_rates, edges, edge_rates)
        self.gossip_key = tuple(int(x) for x in gossip_key)
        if len(self.gossip_key) not in (1, 2):
            raise ValueError(f"a gossip key prefix has 1 or 2 integers, got {gossip_key!r}")
        n = len(grad_rates)
        mode = _EDGE_WORDS if len(self.gossip_key) == 1 else _GRAPH_EDGE_WORDS
        word = self.gossip_key[1] if len(self.gossip_key) == 2 else 0
        segments = [(0, GRADIENT_KEY, _NODE_WORDS, 0, 0), (n, self.gossip_key[0], mode, word, 0)]
        self._init_clocks(seed, n, grad_rates, edge_rates, edges, clocks, segments, frames=1)
        self.total_rate = float(self._seg_rate.sum())

    def key(self, clock: int) -> tuple[int, ...]:
        """Identity of a clock, which names its random stream."""
        if clock < self.n:
            return (GRADIENT_KEY, int(clock))
        u, v = self.edges[clock - self.n]
        return self.gossip_key + (int(u), int(v))


class SwitchingClocks(KeyedClocks):
    """The merged events of n gradient clocks and of the gossip clocks of K graphs used in turn.

    Graph k is active on [(m K + k) P, (m K + k + 1) P) (see the module docstring for the streams
    and the placement of arrivals). Clock ids: 0..n-1 gradient clocks; n + offsets[k] + e the
    gossip clock of edge e of graph k, i.e. row offsets[k] + e of the concatenated edge arrays.

    Parameters
    ----------
    seed, grad_rates : as for PoissonClocks
    edge_lists : list of K int arrays (E_k, 2)
        Each graph's edges in ``dadao.graphs.edge_array`` order.
    rate_lists : list of K arrays (E_k,)
        Each graph's gossip rates (per unit of time while the graph is active).
    period : float > 0
        P, the time each graph stays active before the next one takes over.
    clocks : int array, optional
        Ids of the clocks to generate (default: all); the result is the restriction of the full
        schedule to them.
    """

    def __init__(self, seed, grad_rates, edge_lists, rate_lists, period, clocks=None):
        if len(edge_lists) != len(rate_lists) or not len(edge_lists):
            raise ValueError(f"{len(edge_lists)} edge lists but {len(rate_lists)} rate lists")
        if not (period > 0 and math.isfinite(period)):
            raise ValueError(f"switching period must be positive and finite, got {period!r}")
        checked = [_checked_rates(np.empty(0), e, r) for e, r in zip(edge_lists, rate_lists)]
        grad_rates = _checked_rates(grad_rates, np.empty((0, 2)), np.empty(0))[0]
        self.n = n = len(grad_rates)
        self.K = len(edge_lists)
        self.period = float(period)
        sizes = [len(e) for _, e, _ in checked]
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        segments = [(0, GRADIENT_KEY, _NODE_WORDS, 0, 0)]
        segments += [(n + self.offsets[k], SEQUENCE_GOSSIP_KEY, _GRAPH_EDGE_WORDS, k, k + 1)
                     for k in range(self.K)]
        edges = (np.concatenate([e for _, e, _ in checked]) if sum(sizes)
                 else np.empty((0, 2), dtype=np.int64))
        self._init_clocks(seed, n, grad_rates, np.concatenate([r for _, _, r in checked]),
                          edges, clocks, segments, frames=self.K + 1)
        # each graph is active a fraction 1/K of the time
        self.total_rate = float(self._seg_rate[0] + self._seg_rate[1:].sum() / self.K)

    def key(self, clock: int) -> tuple[int, ...]:
        """Identity of a clock, which names its random stream."""
        if clock < self.n:
            return (GRADIENT_KEY, int(clock))
        row = clock - self.n
        k = int(np.searchsorted(self.offsets, row, side="right")) - 1
        u, v = self.edges[row]
        return (SEQUENCE_GOSSIP_KEY, k, int(u), int(v))

    def active_graph(self, t: float) -> int:
        """The graph in use at time t: floor(t / P) mod K."""
        return int(math.floor(t / self.period)) % self.K

    def active_time(self, k: int, t: float) -> float:
        """How long graph k has been active during [0, t)."""
        cycle = self.K * self.period
        m = math.floor(t / cycle)
        return m * self.period + min(max(t - m * cycle - k * self.period, 0.0), self.period)

    def _frame_ends(self, t_end: float) -> np.ndarray:
        ends = np.empty(self.K + 1)
        ends[0] = t_end
        for k in range(self.K):
            ends[k + 1] = max(self.active_time(k, t_end), self._frame_time[k + 1])
        return ends


def snapshot(clocks: KeyedClocks) -> tuple[dict, dict]:
    """(header, arrays) of the positions of ``PoissonClocks`` or ``SwitchingClocks``: the
    schedule's version, the time reached in each frame, every clock's next arrival and counter,
    with the rest of the current window when a consumer stopped at a breakpoint inside it
    (``rest``)."""
    header = {"schedule": SCHEDULE_VERSION, "time": clocks.time,
              "clocks": clocks.clock_count, "frames": clocks._frame_time.tolist()}
    arrays = {"next": clocks._next.copy(), "drawn": clocks._drawn.copy()}
    rest = clocks.rest
    header["rest_from"] = None if rest is None else rest[0]
    if rest is not None:
        arrays.update({"rest.times": rest[1], "rest.ids": rest[2]})
    return header, arrays


def restore(clocks: KeyedClocks, header: dict, arrays: dict) -> None:
    """Put ``clocks`` back where ``snapshot`` found them; ValueError for a snapshot of another
    schedule version or of other clocks."""
    version = header.get("schedule", 1)
    if version != SCHEDULE_VERSION:
        raise ValueError(f"clock positions of schedule version {version}; this dadao draws "
                         f"version {SCHEDULE_VERSION}")
    if header["clocks"] != clocks.clock_count or len(header["frames"]) != len(clocks._frame_time):
        raise ValueError(f"a checkpoint of {header['clocks']} clocks in "
                         f"{len(header['frames'])} frames for {clocks.clock_count} in "
                         f"{len(clocks._frame_time)}")
    if header.get("rest_from") is not None:
        clocks.carry = (float(header["rest_from"]), arrays["rest.times"].copy(),
                        arrays["rest.ids"].copy())
    clocks._next[...] = arrays["next"]
    clocks._drawn[...] = arrays["drawn"]
    clocks._frame_time = np.array(header["frames"], dtype=np.float64)
    clocks.time = float(header["time"])


def schedule(seed, grad_rates, edges, edge_rates, t_end, clocks=None):
    """The whole schedule on [0, t_end) at once: (times, clock ids). For tests and small runs."""
    return PoissonClocks(seed, grad_rates, edges, edge_rates, clocks).until(t_end)

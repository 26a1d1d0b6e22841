"""Poisson clocks and the event schedule.

Every node i has a gradient clock, a Poisson process of rate g_i (default 1: time is counted in
expected gradient steps per node), and every edge (u, v) a gossip clock of rate lambda_uv. All clocks
are independent, so their superposition is a Poisson process of rate R = sum g_i + sum lambda_uv.

Design rule 2: the schedule is data and does not depend on the engine. Each clock draws its
inter-arrival times from its own random stream, spawned from the run seed by the clock's identity:

    gradient clock of node i   ->  SeedSequence(seed, spawn_key=(0, i))
    gossip clock of edge (u,v) ->  SeedSequence(seed, spawn_key=(1, u, v))   with u < v

so any subset of clocks (the clocks a rank owns, say) generates exactly the corresponding subset of
the full schedule, without talking to anyone. Arrival times are accumulated sequentially
(t_k = t_{k-1} + E_k / rate, with E_k ~ Exp(1)), which makes them independent of how the draws are
split into blocks and windows.

Clock ids: 0..n-1 are the gradient clocks of nodes 0..n-1; n + e is the gossip clock of edge e
(row e of ``dadao.graphs.edge_array``). Simultaneous events (probability zero) are ordered by clock
id, so the order is total and the same everywhere.

A clock of rate 0 never fires and draws nothing: methods without gradient clocks (Continuized,
gossip averaging) run with every g_i = 0.

Time-varying graphs (``SwitchingClocks``): K graphs used in turn, graph k active on the intervals
[(m K + k) P, (m K + k + 1) P), m = 0, 1, ..., i.e. the active graph at time t is floor(t / P) mod K.
The gossip clock of edge (u, v) of graph k runs only while graph k is active:

    gossip clock of edge (u,v) of graph k  ->  SeedSequence(seed, spawn_key=(2, k, u, v))

drawn in graph k's *active time* s (the time graph k has been active since 0) and placed at
t = (m K + k) P + (s - m P), m = floor(s / P). The switching times are thus built into every
clock's arrival times, the same for every engine; they need not cut the event windows, since each
event names its own edge (of its own graph).
"""

from __future__ import annotations

from dataclasses import dataclass
import math
from typing import Iterator

import numpy as np

GRADIENT_KEY = 0
GOSSIP_KEY = 1
SEQUENCE_GOSSIP_KEY = 2

#: Events per window of the merged schedule: large enough that the per-window Python work (a
#: loop over clocks) is negligible per event, small enough to keep memory flat on long runs.
EVENTS_PER_WINDOW = 1 << 17
#: On graphs with many clocks a window holds this many events per clock: each clock costs a few
#: numpy calls per window (~7 us), so 128 events per clock keep that near 0.05 us per event
#: (32 gave 0.2 us, a third of a run with d = 10 on n = 1024 nodes: 1.6 -> 2.2 M events/s) ...
EVENTS_PER_CLOCK = 128
#: ... up to this many events per window (128 MB of times and ids), beyond which memory wins:
#: never fewer than MIN_EVENTS_PER_CLOCK per clock, though.
MAX_EVENTS_PER_WINDOW = 1 << 23
MIN_EVENTS_PER_CLOCK = 32


def clock_stream(seed: int, key: tuple[int, ...]) -> np.random.Generator:
    """The random stream of one clock, identified by ``key`` (see module docstring)."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))


@dataclass
class _Clock:
    rate: float
    stream: np.random.Generator | None
    pending: np.ndarray  # arrival times already drawn and not yet emitted, increasing
    last: float  # time of the last arrival drawn


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

    def windows(self, t_end: float, events_per_window: int | None = None,
                breakpoints=()) -> Iterator[tuple[float, np.ndarray, np.ndarray]]:
        """Yield (window end, times, ids) for consecutive windows covering [now, t_end).

        Window ends include every value of ``breakpoints`` in range (metric sampling times, say),
        so a consumer can stop exactly there; windows are otherwise sized to hold about
        ``events_per_window`` events (default: EVENTS_PER_WINDOW, or EVENTS_PER_CLOCK per clock
        when there are many clocks, so that the Python step per clock and window stays small per
        event; see the constants for the memory bound). Windows do not change the schedule.
        """
        if events_per_window is None:
            clocks = len(self.clock_ids)
            events_per_window = max(EVENTS_PER_WINDOW,
                                    min(EVENTS_PER_CLOCK * clocks, MAX_EVENTS_PER_WINDOW),
                                    MIN_EVENTS_PER_CLOCK * clocks)
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
            # Breakpoints split the window without touching the clocks: drawing per clock costs a
            # Python step per clock, which must stay rare next to the events (~10^5 a window).
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
    """Concatenate per-clock arrival times and ids, sorted by (time, id)."""
    if not parts_t:
        return np.empty(0), np.empty(0, dtype=np.int64)
    times = np.concatenate(parts_t)
    ids = np.concatenate(parts_c)
    order = np.lexsort((ids, times))
    return times[order], ids[order]


class PoissonClocks(Schedule):
    """The merged, time-ordered events of a set of Poisson clocks.

    Parameters
    ----------
    seed : int
        Run seed; each clock's stream is spawned from it by the clock's identity.
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
        Prefix of the gossip clocks' stream keys (default ``(GOSSIP_KEY,)``; graph k of a
        time-varying list uses ``(SEQUENCE_GOSSIP_KEY, k)``).
    """

    def __init__(self, seed, grad_rates, edges, edge_rates, clocks=None,
                 gossip_key=(GOSSIP_KEY,)):
        grad_rates = np.asarray(grad_rates, dtype=np.float64)
        edge_rates = np.asarray(edge_rates, dtype=np.float64)
        edges = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
        if len(edges) != len(edge_rates):
            raise ValueError(f"{len(edges)} edges but {len(edge_rates)} edge rates")
        if np.any(~np.isfinite(grad_rates)) or np.any(grad_rates < 0):
            raise ValueError("gradient rates must be finite and >= 0")
        if np.any(~np.isfinite(edge_rates)) or np.any(edge_rates < 0):
            raise ValueError("edge rates must be finite and >= 0")
        self.seed = int(seed)
        self.gossip_key = tuple(int(x) for x in gossip_key)
        self.n = len(grad_rates)
        self.edges = edges
        self.rates = np.concatenate([grad_rates, edge_rates])
        n_clocks = len(self.rates)
        self.clock_ids = (np.arange(n_clocks, dtype=np.int64) if clocks is None
                          else np.unique(np.asarray(clocks, dtype=np.int64)))
        if len(self.clock_ids) and (self.clock_ids[0] < 0 or self.clock_ids[-1] >= n_clocks):
            raise ValueError(f"clock ids must lie in [0, {n_clocks})")
        self.total_rate = float(self.rates[self.clock_ids].sum())
        self._clocks = [self._new_clock(c) for c in self.clock_ids]
        self.time = 0.0

    def key(self, clock: int) -> tuple[int, ...]:
        """Identity of a clock, from which its random stream is spawned."""
        if clock < self.n:
            return (GRADIENT_KEY, int(clock))
        u, v = self.edges[clock - self.n]
        return self.gossip_key + (int(u), int(v))

    def _new_clock(self, c: int) -> _Clock:
        rate = float(self.rates[c])
        stream = clock_stream(self.seed, self.key(c)) if rate > 0 else None
        return _Clock(rate, stream, np.empty(0), 0.0)

    @staticmethod
    def _draw_until(clock: _Clock, t_end: float) -> np.ndarray:
        """All not-yet-emitted arrivals of ``clock`` before ``t_end``, removed from its buffer."""
        if clock.stream is None:
            return clock.pending
        while clock.last < t_end:
            # Draw a block of the expected size plus margin; block sizes do not change the values.
            expected = clock.rate * (t_end - clock.last)
            size = int(expected + 4.0 * np.sqrt(expected) + 16)
            gaps = clock.stream.standard_exponential(size) / clock.rate
            gaps[0] += clock.last  # sequential accumulation from the last arrival
            times = np.cumsum(gaps)
            clock.pending = np.concatenate([clock.pending, times])
            clock.last = float(times[-1])
        cut = int(np.searchsorted(clock.pending, t_end, side="left"))
        out, clock.pending = clock.pending[:cut], clock.pending[cut:]
        return out

    def until(self, t_end: float) -> tuple[np.ndarray, np.ndarray]:
        """Events in [current time, t_end), as (times, clock ids) sorted by (time, id)."""
        if t_end < self.time:
            raise ValueError("clocks cannot go back in time")
        parts_t, parts_c = [], []
        for cid, clock in zip(self.clock_ids, self._clocks):
            t = self._draw_until(clock, t_end)
            if len(t):
                parts_t.append(t)
                parts_c.append(np.full(len(t), cid, dtype=np.int64))
        self.time = float(t_end)
        return merge_events(parts_t, parts_c)


class SwitchingClocks(Schedule):
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
        self.n = n = len(grad_rates)
        self.K = len(edge_lists)
        self.period = float(period)
        sizes = [len(e) for e in edge_lists]
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        ids = None if clocks is None else np.unique(np.asarray(clocks, dtype=np.int64))
        self._grad = PoissonClocks(seed, grad_rates, np.empty((0, 2)), np.empty(0),
                                   clocks=None if ids is None else ids[ids < n])
        self._graphs = []
        for k, (edges, lam) in enumerate(zip(edge_lists, rate_lists)):
            lo, hi = n + self.offsets[k], n + self.offsets[k + 1]
            sub = None if ids is None else ids[(ids >= lo) & (ids < hi)] - lo
            self._graphs.append(PoissonClocks(seed, np.empty(0), edges, lam, clocks=sub,
                                              gossip_key=(SEQUENCE_GOSSIP_KEY, k)))
        self.clock_ids = np.concatenate(
            [self._grad.clock_ids]
            + [g.clock_ids + n + self.offsets[k] for k, g in enumerate(self._graphs)])
        # each graph is active a fraction 1/K of the time
        self.total_rate = (self._grad.total_rate
                           + sum(g.total_rate for g in self._graphs) / self.K)
        self.time = 0.0

    def active_graph(self, t: float) -> int:
        """The graph in use at time t: floor(t / P) mod K."""
        return int(math.floor(t / self.period)) % self.K

    def active_time(self, k: int, t: float) -> float:
        """How long graph k has been active during [0, t)."""
        cycle = self.K * self.period
        m = math.floor(t / cycle)
        return m * self.period + min(max(t - m * cycle - k * self.period, 0.0), self.period)

    def global_times(self, k: int, s: np.ndarray) -> np.ndarray:
        """Times t of the instants s of graph k's active time: t = (m K + k) P + (s - m P)."""
        P = self.period
        m = np.floor(s / P)
        r = s - m * P
        # s / P may round across an integer: keep the remainder in [0, P)
        m = np.where(r < 0, m - 1, np.where(r >= P, m + 1, m))
        r = s - m * P
        return (m * self.K + k) * P + r

    def until(self, t_end: float) -> tuple[np.ndarray, np.ndarray]:
        """Events in [current time, t_end), as (times, clock ids) sorted by (time, id)."""
        if t_end < self.time:
            raise ValueError("clocks cannot go back in time")
        start = self.time
        parts_t, parts_c = [], []
        t, c = self._grad.until(t_end)
        if len(t):
            parts_t.append(t)
            parts_c.append(c)
        below = np.nextafter(float(t_end), -np.inf)
        for k, g in enumerate(self._graphs):
            s, c = g.until(max(self.active_time(k, t_end), g.time))
            if len(s):
                # rounding in the placement must not move an arrival out of [start, t_end)
                parts_t.append(np.clip(self.global_times(k, s), start, below))
                parts_c.append(c + self.n + self.offsets[k])
        self.time = float(t_end)
        return merge_events(parts_t, parts_c)


def _stream_state(stream) -> dict | None:
    return None if stream is None else stream.bit_generator.state


def poisson_snapshot(clocks: PoissonClocks) -> tuple[dict, dict]:
    """(header, arrays) of a set of clocks' positions: the time, each clock's random stream
    state and last drawn arrival, and the arrivals drawn and not yet emitted."""
    pending = [c.pending for c in clocks._clocks]
    header = {"time": clocks.time, "clocks": len(clocks._clocks),
              "last": [c.last for c in clocks._clocks],
              "streams": [_stream_state(c.stream) for c in clocks._clocks]}
    arrays = {"pending": np.concatenate(pending) if pending else np.empty(0),
              "pending_sizes": np.array([len(p) for p in pending], dtype=np.int64)}
    return header, arrays


def poisson_restore(clocks: PoissonClocks, header: dict, arrays: dict) -> None:
    """Put the clocks back where ``poisson_snapshot`` found them."""
    if header["clocks"] != len(clocks._clocks):
        raise ValueError(f"a checkpoint of {header['clocks']} clocks for {len(clocks._clocks)}")
    bounds = np.concatenate([[0], np.cumsum(arrays["pending_sizes"])])
    for i, clock in enumerate(clocks._clocks):
        clock.pending = arrays["pending"][bounds[i]:bounds[i + 1]].copy()
        clock.last = float(header["last"][i])
        if clock.stream is not None:
            clock.stream.bit_generator.state = header["streams"][i]
    clocks.time = float(header["time"])


def snapshot(clocks) -> tuple[dict, dict]:
    """(header, arrays) of the positions of ``PoissonClocks`` or ``SwitchingClocks``, with the
    rest of the current window when a consumer stopped at a breakpoint inside it (``rest``)."""
    if isinstance(clocks, PoissonClocks):
        header, arrays = poisson_snapshot(clocks)
    else:
        header, arrays = {"time": clocks.time, "graphs": []}, {}
        for name, part in [("grad", clocks._grad)] + [(f"graph{k}", g)
                                                       for k, g in enumerate(clocks._graphs)]:
            h, a = poisson_snapshot(part)
            header["graphs"].append(h)
            arrays.update({f"{name}.{key}": v for key, v in a.items()})
    rest = clocks.rest
    header["rest_from"] = None if rest is None else rest[0]
    if rest is not None:
        arrays.update({"rest.times": rest[1], "rest.ids": rest[2]})
    return header, arrays


def restore(clocks, header: dict, arrays: dict) -> None:
    """Put ``clocks`` back where ``snapshot`` found them."""
    if header.get("rest_from") is not None:
        clocks.carry = (float(header["rest_from"]), arrays["rest.times"].copy(),
                        arrays["rest.ids"].copy())
    if isinstance(clocks, PoissonClocks):
        poisson_restore(clocks, header, arrays)
        return
    parts = [("grad", clocks._grad)] + [(f"graph{k}", g) for k, g in enumerate(clocks._graphs)]
    if len(header["graphs"]) != len(parts):
        raise ValueError(f"a checkpoint of {len(header['graphs']) - 1} graphs for "
                         f"{len(parts) - 1}")
    for (name, part), h in zip(parts, header["graphs"]):
        poisson_restore(part, h, {key[len(name) + 1:]: v for key, v in arrays.items()
                                  if key.startswith(name + ".")})
    clocks.time = float(header["time"])


def schedule(seed, grad_rates, edges, edge_rates, t_end, clocks=None):
    """The whole schedule on [0, t_end) at once: (times, clock ids). For tests and small runs."""
    return PoissonClocks(seed, grad_rates, edges, edge_rates, clocks).until(t_end)


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
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np

GRADIENT_KEY = 0
GOSSIP_KEY = 1

#: Events per window of the merged schedule: large enough that the per-window Python work (a
#: loop over clocks) is negligible per event, small enough to keep memory flat on long runs.
EVENTS_PER_WINDOW = 1 << 17


def clock_stream(seed: int, key: tuple[int, ...]) -> np.random.Generator:
    """The random stream of one clock, identified by ``key`` (see module docstring)."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))


@dataclass
class _Clock:
    rate: float
    stream: np.random.Generator | None
    pending: np.ndarray  # arrival times already drawn and not yet emitted, increasing
    last: float  # time of the last arrival drawn


class PoissonClocks:
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
    """

    def __init__(self, seed, grad_rates, edges, edge_rates, clocks=None):
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
        return (GOSSIP_KEY, int(u), int(v))

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
        if not parts_t:
            return np.empty(0), np.empty(0, dtype=np.int64)
        times = np.concatenate(parts_t)
        ids = np.concatenate(parts_c)
        order = np.lexsort((ids, times))
        return times[order], ids[order]

    def windows(self, t_end: float, events_per_window: int | None = None,
                breakpoints=()) -> Iterator[tuple[float, np.ndarray, np.ndarray]]:
        """Yield (window end, times, ids) for consecutive windows covering [now, t_end).

        Window ends include every value of ``breakpoints`` in range (metric sampling times, say),
        so a consumer can stop exactly there; windows are otherwise sized to hold about
        ``events_per_window`` events (default: EVENTS_PER_WINDOW, or 32 per clock when there are
        many clocks, so that the Python step per clock and window stays small per event).
        """
        if events_per_window is None:
            events_per_window = max(EVENTS_PER_WINDOW, 32 * len(self.clock_ids))
        span = events_per_window / self.total_rate if self.total_rate > 0 else np.inf
        points = np.array(sorted({float(b) for b in breakpoints if self.time < b < t_end}))
        while self.time < t_end:
            start = self.time
            end = min(float(t_end), start + span)
            times, ids = self.until(end)
            # Breakpoints split the window without touching the clocks: drawing per clock costs a
            # Python step per clock, which must stay rare next to the events (~10^5 a window).
            inside = points[(points > start) & (points < end)]
            cuts = np.searchsorted(times, inside, side="left")
            lo = 0
            for point, cut in zip(inside.tolist(), cuts.tolist()):
                yield point, times[lo:cut], ids[lo:cut]
                lo = cut
            yield end, times[lo:], ids[lo:]


def schedule(seed, grad_rates, edges, edge_rates, t_end, clocks=None):
    """The whole schedule on [0, t_end) at once: (times, clock ids). For tests and small runs."""
    return PoissonClocks(seed, grad_rates, edges, edge_rates, clocks).until(t_end)

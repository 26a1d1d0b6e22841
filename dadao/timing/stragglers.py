"""Stragglers: nodes k times slower than their speed factor says, always (persistent) or
during slow spells (transient).

Which nodes straggle: the first floor(fraction n + 1/2) of a random permutation of 0..n-1 drawn
from (seed, (STRAGGLER_CHOICE_KEY,)), the stragglers' own seed. The slow spells of transient
straggler i start as a Poisson process of rate r per second (gaps from the stream (seed,
(STRAGGLER_KEY, i, 0))) and last a duration drawn from a law, seconds ((STRAGGLER_KEY, i, 1));
overlapping spells merge.

Slowness acts on progress: W(t) = integral_0^t speed(s) ds is the work (seconds at normal speed)
done by time t, slope 1/k while slow and 1 elsewhere, and a computation of w seconds started at
s ends at W^{-1}(W(s) + w)."""

from __future__ import annotations

import math
from bisect import bisect_right

import numpy as np

from dadao.errors import ConfigError
from dadao.timing.hints import did_you_mean
from dadao.timing.laws import Law
from dadao.timing.streams import STRAGGLER_CHOICE_KEY, STRAGGLER_KEY, stream


STRAGGLER_MODES = ("persistent", "transient")


def choose_stragglers(n: int, fraction: float, seed: int) -> np.ndarray:
    """The straggling nodes: the first floor(fraction n + 1/2) of a random permutation of 0..n-1
    drawn from (seed, (STRAGGLER_CHOICE_KEY,)), sorted. A larger fraction keeps the stragglers of
    a smaller one (same permutation, a longer prefix)."""
    if not (0.0 <= fraction <= 1.0):
        raise ConfigError(f"must be in [0, 1], got {fraction!r}",
                          field="timing.stragglers_fraction")
    count = int(math.floor(fraction * n + 0.5))
    order = stream(seed, (STRAGGLER_CHOICE_KEY,)).permutation(n)
    return np.sort(order[:count]).astype(np.int64)


class _Spells:
    """The slow spells of one transient straggler, drawn on demand.

    Spells start as a Poisson process of rate r (per second; gaps E / r from stream (5, i, 0),
    accumulated sequentially) and last a duration drawn from a law (stream (5, i, 1), the k-th
    length for the k-th start). Overlapping spells merge: the node is slow while at least one is
    on. ``known_until``: the last start drawn, so every spell starting before it is known and
    the merged intervals are exact on [0, known_until).
    """

    def __init__(self, seed: int, node: int, rate: float, duration: Law):
        self.rate = rate
        self.duration = duration
        self._gaps = stream(seed, (STRAGGLER_KEY, node, 0))
        self._lengths = stream(seed, (STRAGGLER_KEY, node, 1))
        self.starts = np.empty(0)
        self.ends = np.empty(0)
        self.known_until = math.inf if rate == 0 else 0.0
        self._merged = (np.empty(0), np.empty(0))
        self._progress = None  # W of the spells drawn so far, built once per extension

    def cover(self, t: float) -> None:
        """Draw spells until every spell that starts at or before ``t`` is known."""
        while self.known_until <= t:
            expected = self.rate * (t - self.known_until)
            size = int(expected + 4.0 * math.sqrt(expected) + 16)
            gaps = self._gaps.standard_exponential(size) / self.rate
            gaps[0] += self.known_until  # sequential accumulation, as the Poisson clocks
            starts = np.cumsum(gaps)
            self.starts = np.concatenate([self.starts, starts])
            self.ends = np.concatenate([self.ends, starts + self.duration.draw(self._lengths,
                                                                               size)])
            self.known_until = float(starts[-1])
            self._merged = _merge_intervals(self.starts, self.ends)
            self._progress = None

    def merged(self, t: float) -> tuple[np.ndarray, np.ndarray]:
        """Merged spells (starts, ends), exact on [0, t]."""
        self.cover(t)
        return self._merged

    def progress(self, t: float, k: float) -> "_Progress":
        """W of the node (slowed k times on its spells), exact on [0, t]."""
        self.cover(t)
        if self._progress is None or self._progress.k != k:
            self._progress = _Progress(*self._merged, k)
        return self._progress


def _merge_intervals(starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Union of the intervals [starts_j, ends_j) (starts increasing) as disjoint, non-empty
    intervals: a new one begins where a start lies beyond every end before it."""
    keep = ends > starts
    starts, ends = starts[keep], ends[keep]
    if not len(starts):
        return starts, ends
    reach = np.maximum.accumulate(ends)
    first = np.concatenate([[True], starts[1:] > reach[:-1]])
    last = np.concatenate([first[1:], [True]])
    return starts[first], reach[last]


class _Progress:
    """W(t) = integral_0^t speed(s) ds of a node slowed k times on disjoint intervals: the work
    (seconds at normal speed) done by time t. Piecewise linear with slope 1/k on a spell and 1
    elsewhere; its values at the breakpoints are cumulative sums of non-negative increments, so
    W is nondecreasing in floating point too."""

    def __init__(self, starts: np.ndarray, ends: np.ndarray, k: float):
        self.k = k
        self.points = np.empty(2 * len(starts))
        self.points[0::2], self.points[1::2] = starts, ends
        steps = np.empty_like(self.points)
        steps[0::2] = starts - np.concatenate([[0.0], ends[:-1]])
        steps[1::2] = (ends - starts) / k
        self.values = np.cumsum(steps)
        # the same breakpoints as Python floats, for one computation at a time (bisect is ~30x
        # faster than numpy on a scalar; the arithmetic below is the array path's, op for op)
        self._points = self.points.tolist()
        self._values = self.values.tolist()

    def work(self, t):
        """W(t)."""
        j = np.searchsorted(self.points, t, side="right") - 1
        return self._along(j, t, self.points, self.values, slow=lambda x: x / self.k)

    def time(self, w):
        """W^{-1}(w): the first time the work done reaches w."""
        j = np.searchsorted(self.values, w, side="right") - 1
        return self._along(j, w, self.values, self.points, slow=lambda x: x * self.k)

    def advance(self, start, work, target):
        """W^{-1}(target), target = W(start) + work: where the computation stays in one piece
        (a gap, or one spell), exactly start + work (or start + k work), not W's rounding of it;
        never before start."""
        through = np.maximum(self.time(target), start)
        piece = np.searchsorted(self.points, start, side="right") - 1
        same = piece == np.searchsorted(self.points, through, side="right") - 1
        slow = (piece >= 0) & (piece % 2 == 0)
        return np.where(same, np.where(slow, start + work * self.k, start + work), through)

    def work_one(self, t: float) -> float:
        """W(t) for one time."""
        j = bisect_right(self._points, t) - 1
        if j < 0:
            return t
        x0, y0 = self._points[j], self._values[j]
        return y0 + (t - x0) / self.k if j % 2 == 0 else y0 + (t - x0)

    def advance_one(self, start: float, work: float, target: float) -> float:
        """``advance`` for one computation."""
        j = bisect_right(self._values, target) - 1
        if j < 0:
            through = target
        else:
            y0, x0 = self._values[j], self._points[j]
            through = x0 + (target - y0) * self.k if j % 2 == 0 else x0 + (target - y0)
        through = max(through, start)
        piece = bisect_right(self._points, start) - 1
        if piece != bisect_right(self._points, through) - 1:
            return through
        return start + work * self.k if piece >= 0 and piece % 2 == 0 else start + work

    @staticmethod
    def _along(j, x, xs, ys, slow):
        # linear from breakpoint j: slope slow() inside a spell (j even), 1 between spells
        inside = (j >= 0) & (j % 2 == 0)
        jj = np.maximum(j, 0)
        x0 = np.where(j >= 0, xs[jj] if len(xs) else 0.0, 0.0)
        y0 = np.where(j >= 0, ys[jj] if len(ys) else 0.0, 0.0)
        return np.where(inside, y0 + slow(x - x0), y0 + (x - x0))


class Stragglers:
    """Nodes k times slower than their speed factor says: always (``persistent``) or during slow
    spells (``transient``: spells start at rate ``rate`` per second per straggler and last a
    duration drawn from ``duration``, see ``_Spells``; the run seed keys them by node).

    Slowness acts on progress: a computation of w seconds at normal speed started at s ends at
    W^{-1}(W(s) + w), W(t) the work done by t (1 per second, 1/k per second while slow).
    """

    def __init__(self, nodes=(), slowdown: float = 10.0, mode: str = "persistent",
                 rate: float = 0.0, duration: Law | None = None, seed: int = 0):
        if mode not in STRAGGLER_MODES:
            raise ConfigError(f"unknown straggler mode {mode!r}"
                              f"{did_you_mean(mode, STRAGGLER_MODES)} "
                              f"(modes: {', '.join(STRAGGLER_MODES)})",
                              field="timing.stragglers_mode")
        if not (math.isfinite(slowdown) and slowdown >= 1):
            raise ConfigError(f"must be a finite number >= 1, got {slowdown!r}",
                              field="timing.stragglers_slowdown")
        if mode == "transient" and not (math.isfinite(rate) and rate >= 0):
            raise ConfigError(f"must be a finite number >= 0, got {rate!r}",
                              field="timing.stragglers_rate")
        if mode == "transient" and duration is None:
            raise ConfigError("transient stragglers need the law of a spell's duration",
                              field="timing.episode")
        self.nodes = np.unique(np.asarray(nodes, dtype=np.int64))
        self.slowdown = float(slowdown)
        self.mode = mode
        self.rate = float(rate)
        self.duration = duration
        self.seed = int(seed)
        self._members = set(self.nodes.tolist())
        self._spells: dict[int, _Spells] = {}

    def is_straggler(self, node: int) -> bool:
        return int(node) in self._members

    def _node_spells(self, node: int) -> _Spells:
        node = int(node)
        if node not in self._spells:
            self._spells[node] = _Spells(self.seed, node, self.rate, self.duration)
        return self._spells[node]

    def episodes(self, node: int, t_end: float) -> np.ndarray:
        """The node's slow intervals meeting [0, t_end), clipped to it: an (m, 2) array of
        [start, end) in seconds, disjoint and increasing (a persistent straggler: [[0, t_end]];
        a node that is no straggler: none)."""
        if not self.is_straggler(node) or t_end <= 0:
            return np.empty((0, 2))
        if self.mode == "persistent":
            return np.array([[0.0, float(t_end)]])
        starts, ends = self._node_spells(node).merged(t_end)
        keep = starts < t_end
        return np.column_stack([starts[keep], np.minimum(ends[keep], t_end)])

    def compute_factor(self, node: int, t):
        """The slowdown of ``node`` at time(s) t (seconds): k while slow, else 1."""
        t = np.asarray(t, dtype=np.float64)
        if not self.is_straggler(node):
            return np.ones_like(t)
        if self.mode == "persistent":
            return np.full_like(t, self.slowdown)
        starts, ends = self._node_spells(node).merged(float(np.max(t, initial=0.0)))
        if not len(starts):
            return np.ones_like(t)
        j = np.searchsorted(starts, t, side="right") - 1  # the last spell started by t
        inside = (j >= 0) & (t < ends[np.maximum(j, 0)])
        return np.where(inside, self.slowdown, 1.0)

    def finish_time(self, node: int, start, work):
        """When computations of ``work`` seconds (at normal speed) started at ``start`` end:
        start + work off a straggler, start + k work on a persistent one, W^{-1}(W(start) +
        work) on a transient one (``Stragglers``). Broadcast over arrays."""
        start = np.asarray(start, dtype=np.float64)
        work = np.asarray(work, dtype=np.float64)
        if not self.is_straggler(node):
            return start + work
        if self.mode == "persistent":
            return start + work * self.slowdown
        if start.ndim == 0 and work.ndim == 0:
            return self._finish_one(node, float(start), float(work))
        progress, target = self._progress(node, start, work)
        return progress.advance(start, work, target)

    def _finish_one(self, node: int, start: float, work: float) -> float:
        """``finish_time`` of one computation on a transient straggler (the engine's case)."""
        spells = self._node_spells(node)
        reach = start
        while True:
            progress = spells.progress(reach, self.slowdown)
            target = progress.work_one(start) + work
            if spells.known_until == math.inf:
                break
            known = progress.work_one(spells.known_until)
            if known >= target:
                break  # as in _progress
            reach = spells.known_until + self.slowdown * (target - known)
        return progress.advance_one(start, work, target)

    def _progress(self, node: int, start: np.ndarray, work: np.ndarray):
        """(the node's W, drawn far enough to invert it at the targets, W(start) + work)."""
        spells = self._node_spells(node)
        reach = float(np.max(start, initial=0.0))
        while True:
            progress = spells.progress(reach, self.slowdown)
            target = progress.work(start) + work
            if spells.known_until == math.inf:
                break
            known = float(progress.work(spells.known_until))
            need = float(np.max(target, initial=0.0))
            if known >= need:
                break  # W is exact up to known_until, and reaches every target there
            # the target is reached before known_until + k (need - known) even if slow throughout
            reach = spells.known_until + self.slowdown * (need - known)
        return progress, target

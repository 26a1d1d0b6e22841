"""A group's curve over its seeds: the median at each x, and the band between the 25% and 75%
quantiles (never a bootstrap: a handful of seeds, shown as they are).

The runs of a group share their sampling grid in time (same t_max and log_every); their counts
of gradients and communications differ from seed to seed, so against those axes every run's
log y is interpolated (linearly in x) on one common grid: the overlap of their x ranges, with
as many points as the longest run. ``Curve.interpolated`` says when that was done.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

QUANTILES = (0.25, 0.5, 0.75)


@dataclass
class Curve:
    """x, the median and the quartiles of y (same length); ``runs``: how many runs."""

    x: np.ndarray
    median: np.ndarray
    low: np.ndarray
    high: np.ndarray
    runs: int
    interpolated: bool


def series(trace, x: str, metric: str, normalise: bool) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) of a trace's finite, positive points (log scale); ``normalise``: y divided by its
    first finite positive value (its value at the start, unless that is 0)."""
    xs = np.asarray(trace[x], dtype=float)
    y = np.asarray(trace[metric], dtype=float)
    keep = np.isfinite(y) & (y > 0) & np.isfinite(xs)
    xs, y = xs[keep], y[keep]
    if normalise and len(y):
        y = y / y[0]
    return xs, y


def aggregate(traces, x: str, metric: str, normalise: bool = False) -> Curve | None:
    """The median curve and quartile band of ``traces`` against ``x``; None when no trace has
    two points (nothing to draw)."""
    pairs = [series(t, x, metric, normalise) for t in traces]
    pairs = [(a, b) for a, b in pairs if len(a) >= 1]
    if not pairs:
        return None
    if len(pairs) == 1:
        a, b = pairs[0]
        return Curve(a, b, b, b, 1, False)
    same = all(len(a) == len(pairs[0][0]) and np.array_equal(a, pairs[0][0]) for a, _ in pairs)
    if same:
        grid = pairs[0][0]
        logs = np.array([np.log(b) for _, b in pairs])
    else:
        lo = max(a[0] for a, _ in pairs)
        hi = min(a[-1] for a, _ in pairs)
        if not hi > lo:  # no overlap: the longest run alone
            a, b = max(pairs, key=lambda p: len(p[0]))
            return Curve(a, b, b, b, 1, False)
        grid = np.linspace(lo, hi, max(len(a) for a, _ in pairs))
        # log y is what decays linearly: interpolating it keeps a geometric decay exact
        logs = np.array([np.interp(grid, a, np.log(b)) for a, b in pairs])
    q = np.quantile(logs, QUANTILES, axis=0)
    return Curve(grid, np.exp(q[1]), np.exp(q[0]), np.exp(q[2]), len(pairs), not same)

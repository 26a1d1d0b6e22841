"""Node speed factors f_0..f_{n-1}: multipliers of compute time, no unit (2 is twice as slow:
a gradient of X seconds at normal speed takes f_i X seconds on node i).

From a list, from a CSV file (header ``node,factor``; nodes not listed keep 1), or drawn i.i.d.
from a law on the stream (seed, (SPEED_KEY,)) with the factors' own seed, not the run's. Every
factor is a finite number > 0."""

from __future__ import annotations

import math
import numbers

import numpy as np

from dadao.errors import ConfigError
from dadao.timing.csv_files import csv_int, csv_number, csv_rows
from dadao.timing.laws import Law
from dadao.timing.streams import SPEED_KEY, stream


def checked_factors(factors: np.ndarray, field: str) -> np.ndarray:
    """``factors`` itself when every speed factor is a finite number > 0; else a ConfigError
    naming ``field`` and the first bad node."""
    bad = np.flatnonzero(~(np.isfinite(factors) & (factors > 0)))
    if len(bad):
        raise ConfigError(f"speed factor of node {bad[0]} must be a finite number > 0, got "
                          f"{factors[bad[0]]!r}", field=field)
    return factors


def speeds_from_list(values, n: int, field: str = "timing.speed_factors") -> np.ndarray:
    """Speed factors f_0..f_{n-1} (multipliers of compute time: 2 is twice as slow), from a
    sequence of n numbers or a string of n comma-separated numbers ("1, 1, 2.5")."""
    if isinstance(values, str):
        cells = [c.strip() for c in values.split(",") if c.strip()]
        try:
            values = [float(c) for c in cells]
        except ValueError:
            raise ConfigError(f"expected comma-separated numbers, got {values!r}",
                              field=field) from None
    factors = np.array([float(v) if isinstance(v, numbers.Real) and not isinstance(v, bool)
                        else math.nan for v in values], dtype=np.float64)
    if len(factors) != n:
        raise ConfigError(f"expected {n} speed factors (one per node), got {len(factors)}",
                          field=field)
    return checked_factors(factors, field)


def speeds_from_csv(path, n: int, field: str = "timing.speed_path") -> np.ndarray:
    """Speed factors from a CSV file with header ``node,factor``; nodes it does not list keep
    factor 1. A node listed twice or outside 0..n-1 is an error naming the line."""
    factors = np.ones(n)
    seen = set()
    for lineno, (node_text, factor_text) in csv_rows(path, ("node", "factor"),
                                                     "speed factors file", field):
        node = csv_int(node_text, "node", lineno, path, field)
        if not 0 <= node < n:
            raise ConfigError(f"line {lineno}: node {node} is not in 0..{n - 1}", field=field,
                              file=str(path))
        if node in seen:
            raise ConfigError(f"line {lineno}: node {node} is given a factor twice",
                              field=field, file=str(path))
        seen.add(node)
        factors[node] = csv_number(factor_text, "factor", lineno, path, field, zero_ok=False)
    return factors


def speeds_from_law(law: Law, n: int, seed: int, field: str = "timing.speed") -> np.ndarray:
    """n speed factors drawn i.i.d. from ``law`` (a law of a positive number, here unitless),
    in node order from the stream (seed, (SPEED_KEY,)): the factors' own seed, not the run's."""
    return checked_factors(law.draw(stream(seed, (SPEED_KEY,)), n).astype(np.float64), field)

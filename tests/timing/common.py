"""Helpers shared by the timing model's tests: the seed, graphs, error checks."""

from __future__ import annotations

import numpy as np

from dadao.errors import ConfigError
from dadao.timing.laws import Exponential
from dadao.timing.stragglers import Stragglers


SEED = 20240611


def cycle_edges(n: int) -> np.ndarray:
    """The edges (u, v), u < v, of the n-cycle, sorted."""
    return np.array(sorted((min(i, (i + 1) % n), max(i, (i + 1) % n)) for i in range(n)))


def assert_one_line(err: ConfigError, field: str) -> None:
    """The error names ``field`` and is one line, "field: what is wrong"."""
    assert err.field == field
    text = str(err)
    assert text.startswith(f"{field}: ") and "\n" not in text


def transient(nodes=(0,), rate=0.5, mean=0.4, k=10.0, seed=SEED) -> Stragglers:
    """Transient stragglers: spells at ``rate`` per second, Exponential(``mean``) seconds long."""
    return Stragglers(nodes, slowdown=k, mode="transient", rate=rate,
                      duration=Exponential(mean), seed=seed)

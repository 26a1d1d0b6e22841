"""Checks of a run's arguments, shared by every engine: one clear line per mistake, naming the
argument, before anything is compiled or drawn."""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np

#: At most this many metric samples per run (t_max / log_every): each is a Python step.
MAX_SAMPLES = 1_000_000


class RunArgumentError(ValueError):
    """A run argument is unusable (message: one line naming the argument)."""


@dataclass(frozen=True)
class RunArguments:
    """The normalised arguments of one run."""

    edges: np.ndarray  # (E, 2) int64
    edge_rates: np.ndarray  # (E,)
    grad_rates: np.ndarray  # (n,)
    x0: np.ndarray  # (n, d)
    t_max: float
    log_every: float
    seed: int


def _positive_time(name, value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise RunArgumentError(f"{name}: must be a number, got {value!r}")
    value = float(value)
    if not (value > 0 and math.isfinite(value)):
        raise RunArgumentError(f"{name}: must be a positive finite time, got {value!r}")
    return value


def _rates(name, values, length, what) -> np.ndarray:
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise RunArgumentError(f"{name}: expected {length} numbers ({what}), got {values!r}") from None
    if arr.shape != (length,):
        raise RunArgumentError(f"{name}: expected {length} rates ({what}), got shape {arr.shape}")
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        bad = int(np.flatnonzero(~(np.isfinite(arr) & (arr >= 0)))[0])
        raise RunArgumentError(f"{name}: rates must be finite and >= 0; entry {bad} is {arr[bad]!r}")
    return arr


def check_run_arguments(problem, edges, edge_rates, *, grad_rates=None, x0=None, t_max,
                        log_every=None, seed=0) -> RunArguments:
    """Validate and normalise; see ``dadao.engines.inprocess.simulate`` for the meaning."""
    n, d = problem.n, problem.dim
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise RunArgumentError(f"seed: must be an integer >= 0, got {seed!r}")
    t_max = _positive_time("t_max", t_max)
    log_every = t_max / 200 if log_every is None else _positive_time("log_every", log_every)
    if t_max / log_every > MAX_SAMPLES:
        raise RunArgumentError(f"log_every: {log_every!r} gives {t_max / log_every:.3g} samples "
                               f"up to t_max = {t_max!r}; at most {MAX_SAMPLES:,} are allowed")
    edges = np.ascontiguousarray(edges, dtype=np.int64)
    if edges.ndim != 2 or edges.shape[1] != 2:
        raise RunArgumentError(f"edges: expected an (E, 2) array, got shape {edges.shape}")
    if len(edges) and (edges.min() < 0 or edges.max() >= n):
        raise RunArgumentError(f"edges: node ids must lie in 0..{n - 1} (the problem has n = {n})")
    edge_rates = _rates("edge_rates", edge_rates, len(edges), "one per edge")
    grad_rates = (np.ones(n) if grad_rates is None
                  else _rates("grad_rates", grad_rates, n, "one per node"))
    if x0 is None:
        x0 = np.zeros((n, d))
    else:
        x0 = np.asarray(x0, dtype=np.float64)
        if x0.shape not in ((d,), (n, d)):
            raise RunArgumentError(f"x0: expected shape ({d},) or ({n}, {d}), got {x0.shape}")
        if not np.all(np.isfinite(x0)):
            raise RunArgumentError("x0: must be finite")
        x0 = np.ascontiguousarray(np.broadcast_to(x0, (n, d)))
    return RunArguments(edges, edge_rates, grad_rates, x0, t_max, log_every, int(seed))


def rate_constants_for(algo, problem, args: RunArguments, *, force=False):
    """chi_1 and chi_2 of the run's rate Laplacian, enforcing the algorithm's rate condition.

    Returns the ``dadao.rates.RateCondition`` (remembered by rates, so engines and reports that
    ask again do not refactorise).
    """
    from dadao import rates

    if algo.enforces_rate_condition:
        return rates.require_rate_condition(args.edges, args.edge_rates, problem.n, force=force)
    return rates.check_rate_condition(args.edges, args.edge_rates, problem.n)

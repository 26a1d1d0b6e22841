"""Checks of a run's arguments, shared by every engine: one clear line per mistake, naming the
argument, before anything is compiled or drawn.

A run's graph is either static (``edges`` an (E, 2) array, ``edge_rates`` an (E,) array) or
time-varying: ``edges`` a list of K edge arrays (one graph each, all on the nodes 0..n-1) and
``edge_rates`` a list of K rate arrays, graph k in use on [(m K + k) P, (m K + k + 1) P) with P
the ``switch_period`` (default 1 / max_k chi_1[Lbar_k], Lbar_k the unit-total-rate Laplacian of
graph k: DADAO's code switches to graph floor(t chi_1) mod K). Normalised, a time-varying run
holds the concatenated edges and rates with ``graph_offsets`` (graph k is rows
offsets[k]:offsets[k+1]); see ``dadao.events.SwitchingClocks``.
"""

from __future__ import annotations

import math
import numbers
import warnings
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
    #: time-varying graphs: (K + 1,) row offsets of each graph in ``edges``; None when static
    graph_offsets: np.ndarray | None = None
    #: time-varying graphs: how long each graph stays in use
    switch_period: float | None = None

    @property
    def time_varying(self) -> bool:
        return self.graph_offsets is not None

    def edge_lists(self) -> tuple[list, list]:
        """(edges of each graph, rates of each graph): one entry for a static graph."""
        if not self.time_varying:
            return [self.edges], [self.edge_rates]
        o = self.graph_offsets
        return ([self.edges[o[k]:o[k + 1]] for k in range(len(o) - 1)],
                [self.edge_rates[o[k]:o[k + 1]] for k in range(len(o) - 1)])

    def clocks(self, subset=None):
        """The run's event source: ``PoissonClocks`` or, time-varying, ``SwitchingClocks``.

        ``subset``: ids of the clocks to generate (default all), e.g. the clocks an MPI rank
        owns; the events are exactly those of the full schedule on these clocks.
        """
        from dadao.events import PoissonClocks, SwitchingClocks

        if not self.time_varying:
            return PoissonClocks(self.seed, self.grad_rates, self.edges, self.edge_rates,
                                 clocks=subset)
        edge_lists, rate_lists = self.edge_lists()
        return SwitchingClocks(self.seed, self.grad_rates, edge_lists, rate_lists,
                               self.switch_period, clocks=subset)


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


def is_sequence(edges) -> bool:
    """True when ``edges`` is a list (or tuple) of edge arrays: a time-varying graph."""
    return (isinstance(edges, (list, tuple)) and len(edges) > 0
            and np.ndim(edges[0]) == 2)


def _edge_array(name, edges, n) -> np.ndarray:
    edges = np.ascontiguousarray(edges, dtype=np.int64)
    if edges.ndim != 2 or edges.shape[1] != 2:
        raise RunArgumentError(f"{name}: expected an (E, 2) array, got shape {edges.shape}")
    if len(edges) and (edges.min() < 0 or edges.max() >= n):
        raise RunArgumentError(f"{name}: node ids must lie in 0..{n - 1} (the problem has n = {n})")
    return edges


def _graph_sequence(edges, edge_rates, n, switch_period):
    """Concatenated edges and rates of a time-varying graph, their offsets, the period."""
    K = len(edges)
    if not isinstance(edge_rates, (list, tuple)) or len(edge_rates) != K:
        got = len(edge_rates) if isinstance(edge_rates, (list, tuple)) else type(edge_rates).__name__
        raise RunArgumentError(f"edge_rates: a time-varying graph of {K} edge arrays needs a list "
                               f"of {K} rate arrays, got {got}")
    edge_lists = [_edge_array(f"edges[{k}]", e, n) for k, e in enumerate(edges)]
    rate_lists = [_rates(f"edge_rates[{k}]", r, len(e), f"one per edge of graph {k}")
                  for k, (e, r) in enumerate(zip(edge_lists, edge_rates))]
    for k, e in enumerate(edge_lists):
        if not len(e):
            raise RunArgumentError(f"edges[{k}]: graph {k} of the sequence has no edges")
    if switch_period is None:
        switch_period = default_switch_period(edge_lists, n)
    switch_period = _positive_time("switch_period", switch_period)
    offsets = np.concatenate([[0], np.cumsum([len(e) for e in edge_lists])]).astype(np.int64)
    return np.concatenate(edge_lists), np.concatenate(rate_lists), offsets, switch_period


def check_run_arguments(problem, edges, edge_rates, *, grad_rates=None, x0=None, t_max,
                        log_every=None, seed=0, algo=None, switch_period=None) -> RunArguments:
    """Validate and normalise; see ``dadao.engines.inprocess.simulate`` for the meaning.

    With ``algo`` (an ``AsyncAlgorithm``), also what that method accepts: a time-varying graph,
    gradient clocks (methods without them run with every gradient rate 0), an x0.
    """
    n, d = problem.n, problem.dim
    name = getattr(algo, "name", "this algorithm")
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise RunArgumentError(f"seed: must be an integer >= 0, got {seed!r}")
    t_max = _positive_time("t_max", t_max)
    log_every = t_max / 200 if log_every is None else _positive_time("log_every", log_every)
    if t_max / log_every > MAX_SAMPLES:
        raise RunArgumentError(f"log_every: {log_every!r} gives {t_max / log_every:.3g} samples "
                               f"up to t_max = {t_max!r}; at most {MAX_SAMPLES:,} are allowed")
    offsets = None
    if is_sequence(edges):
        if algo is not None and not algo.supports_time_varying:
            raise RunArgumentError(f"edges: {name} does not support time-varying graphs (got a "
                                   f"list of {len(edges)} graphs); give one graph")
        edges, edge_rates, offsets, switch_period = _graph_sequence(edges, edge_rates, n,
                                                                    switch_period)
    else:
        if switch_period is not None:
            raise RunArgumentError("switch_period: only for a time-varying graph (a list of "
                                   "edge arrays)")
        edges = _edge_array("edges", edges, n)
        edge_rates = _rates("edge_rates", edge_rates, len(edges), "one per edge")
    if algo is not None and not algo.gradient_clocks:
        if grad_rates is not None and np.any(np.asarray(grad_rates, dtype=float) != 0):
            raise RunArgumentError(f"grad_rates: {name} has no gradient clocks (its gradients, "
                                   f"if any, come with gossip events); leave grad_rates unset")
        grad_rates = np.zeros(n)
    grad_rates = (np.ones(n) if grad_rates is None
                  else _rates("grad_rates", grad_rates, n, "one per node"))
    if algo is not None and not algo.accepts_x0 and x0 is not None:
        raise RunArgumentError(f"x0: {name} starts every node at the minimiser of its own f_i; "
                               f"leave x0 unset")
    if x0 is None:
        x0 = np.zeros((n, d))
    else:
        x0 = np.asarray(x0, dtype=np.float64)
        if x0.shape not in ((d,), (n, d)):
            raise RunArgumentError(f"x0: expected shape ({d},) or ({n}, {d}), got {x0.shape}")
        if not np.all(np.isfinite(x0)):
            raise RunArgumentError("x0: must be finite")
        x0 = np.ascontiguousarray(np.broadcast_to(x0, (n, d)))
    return RunArguments(edges, edge_rates, grad_rates, x0, t_max, log_every, int(seed),
                        offsets, switch_period)


def unit_rate_chis(edge_lists, n: int) -> tuple[float, float]:
    """Worst-case (max over the list) chi_1[Lbar_k] and chi_2[Lbar_k], Lbar_k = L_{G_k} / |E_k|
    the unit-total-rate Laplacian of each graph (remembered by ``dadao.rates``)."""
    from dadao import rates

    conds = [rates.check_rate_condition(e, np.full(len(e), 1.0 / len(e)), n) for e in edge_lists]
    return max(c.chi_1 for c in conds), max(c.chi_2 for c in conds)


def default_switch_period(edge_lists, n: int) -> float:
    """P = 1 / max_k chi_1[Lbar_k]: the authors' code uses graph floor(t chi_1) mod K."""
    return 1.0 / unit_rate_chis(edge_lists, n)[0]


def sequence_theory_rates(edge_lists, n: int) -> list[np.ndarray]:
    """DADAO's theory rates on a time-varying graph: lambda_e = lambda_com / |E_k| on graph k,
    lambda_com = sqrt(2 chi_1 chi_2) with the worst-case chi's of the Lbar_k. Every graph then
    has total rate lambda_com and the worst-case chi's of the rate Laplacians satisfy
    chi_1 chi_2 = 1/2 (both scale as 1/lambda_com)."""
    chi_1, chi_2 = unit_rate_chis(edge_lists, n)
    lambda_com = math.sqrt(2.0 * chi_1 * chi_2)
    return [np.full(len(e), lambda_com / len(e)) for e in edge_lists]


def rate_constants_for(algo, problem, args: RunArguments, *, force=False):
    """chi_1 and chi_2 of the run's rate Laplacian, enforcing the algorithm's rate condition.

    Returns the ``dadao.rates.RateCondition`` (remembered by rates, so engines and reports that
    ask again do not refactorise).
    """
    from dadao import rates

    if not args.time_varying:
        if algo.enforces_rate_condition:
            return rates.require_rate_condition(args.edges, args.edge_rates, problem.n,
                                                force=force)
        return rates.check_rate_condition(args.edges, args.edge_rates, problem.n)
    # time-varying: the worst case over the list, as the authors' code (algorithms.md section 1)
    edge_lists, rate_lists = args.edge_lists()
    conds = [rates.check_rate_condition(e, r, problem.n) for e, r in zip(edge_lists, rate_lists)]
    cond = rates._condition(max(c.chi_1 for c in conds), max(c.chi_2 for c in conds),
                            float(np.mean([c.total for c in conds])))
    if algo.enforces_rate_condition and not cond.satisfied:
        text = f"time-varying graph, worst case over {len(conds)} graphs: {cond.describe()}"
        if not force:
            raise rates.RateError(text)
        warnings.warn(text, RuntimeWarning, stacklevel=2)
    return cond

"""The arguments of one run, checked and normalised before anything is compiled or drawn.

Every mistake is a ``RunArgumentError`` naming the argument in its ``field`` (``t_max``,
``edges[3]``, ...); the config layer relabels the field with the config key it came from.

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

from dadao.errors import DadaoWarning, RunArgumentError
from dadao.rates import default_switch_period

#: At most this many metric samples per run (t_max / log_every): each is a Python step.
MAX_SAMPLES = 1_000_000
#: At most this many expected events per run (gradient and gossip clock ticks; for synchronous
#: methods, gradients and communications): the compiled loop does 0.3 to 3 million a second,
#: so 1e12 is days of compute, and a horizon beyond it is a mistake (t_max = 1e15: centuries).
MAX_EVENTS = 1e12
#: Above this many expected events (an hour or more) the run is accepted with a DadaoWarning.
WARN_EVENTS = 1e10


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


def check_event_count(t_max: float, per_time: float, what: str) -> float:
    """The expected number of events of a run, t_max x ``per_time`` (events per unit time;
    ``what`` says what they are); above MAX_EVENTS refused (RunArgumentError naming t_max),
    above WARN_EVENTS accepted with a DadaoWarning."""
    events = float(t_max) * float(per_time)
    text = (f"t_max = {t_max:g} means about {events:.3g} events ({per_time:.6g} per unit "
            f"time: {what})")
    if events > MAX_EVENTS:
        raise RunArgumentError(f"{text}; at most {MAX_EVENTS:g} are simulated (days of "
                               f"compute at millions of events a second): lower t_max",
                               field="t_max")
    if events > WARN_EVENTS:
        warnings.warn(f"{text}: at millions of events a second this run takes hours",
                      DadaoWarning, stacklevel=4)
    return events


def _positive_time(name, value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise RunArgumentError(f"must be a number, got {value!r}", field=name)
    value = float(value)
    if not (value > 0 and math.isfinite(value)):
        raise RunArgumentError(f"must be a positive finite time, got {value!r}", field=name)
    return value


def _rates(name, values, length, what) -> np.ndarray:
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise RunArgumentError(f"expected {length} numbers ({what}), got {values!r}",
                               field=name) from None
    if arr.shape != (length,):
        raise RunArgumentError(f"expected {length} rates ({what}), got shape {arr.shape}",
                               field=name)
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        bad = int(np.flatnonzero(~(np.isfinite(arr) & (arr >= 0)))[0])
        raise RunArgumentError(f"rates must be finite and >= 0; entry {bad} is {arr[bad]!r}",
                               field=name)
    return arr


def is_sequence(edges) -> bool:
    """True when ``edges`` is a list (or tuple) of edge arrays: a time-varying graph."""
    return (isinstance(edges, (list, tuple)) and len(edges) > 0
            and np.ndim(edges[0]) == 2)


def _edge_array(name, edges, n) -> np.ndarray:
    edges = np.ascontiguousarray(edges, dtype=np.int64)
    if edges.ndim != 2 or edges.shape[1] != 2:
        raise RunArgumentError(f"expected an (E, 2) array, got shape {edges.shape}", field=name)
    if len(edges) and (edges.min() < 0 or edges.max() >= n):
        raise RunArgumentError(f"node ids must lie in 0..{n - 1} (the problem has n = {n})",
                               field=name)
    return edges


def check_edges(edges, n: int, *, algo=None) -> list[np.ndarray]:
    """The edge array, or each edge array of a time-varying list, checked against n nodes
    (and against what ``algo`` accepts: a list only for methods that support one)."""
    if not is_sequence(edges):
        return [_edge_array("edges", edges, n)]
    if algo is not None and not algo.supports_time_varying:
        raise RunArgumentError(f"{getattr(algo, 'name', 'this algorithm')} does not support "
                               f"time-varying graphs (got a list of {len(edges)} graphs); give "
                               f"one graph", field="edges")
    edge_lists = [_edge_array(f"edges[{k}]", e, n) for k, e in enumerate(edges)]
    for k, e in enumerate(edge_lists):
        if not len(e):
            raise RunArgumentError(f"graph {k} of the sequence has no edges", field=f"edges[{k}]")
    return edge_lists


def _graph_sequence(edge_lists, edge_rates, n, switch_period):
    """Concatenated edges and rates of a time-varying graph, their offsets, the period."""
    K = len(edge_lists)
    if not isinstance(edge_rates, (list, tuple)) or len(edge_rates) != K:
        got = len(edge_rates) if isinstance(edge_rates, (list, tuple)) else type(edge_rates).__name__
        raise RunArgumentError(f"a time-varying graph of {K} edge arrays needs a list of {K} "
                               f"rate arrays, got {got}", field="edge_rates")
    rate_lists = [_rates(f"edge_rates[{k}]", r, len(e), f"one per edge of graph {k}")
                  for k, (e, r) in enumerate(zip(edge_lists, edge_rates))]
    if switch_period is None:
        switch_period = default_switch_period(edge_lists, n)
    switch_period = _positive_time("switch_period", switch_period)
    offsets = np.concatenate([[0], np.cumsum([len(e) for e in edge_lists])]).astype(np.int64)
    return np.concatenate(edge_lists), np.concatenate(rate_lists), offsets, switch_period


def check_run_arguments(problem, edges, edge_rates, *, grad_rates=None, x0=None, t_max,
                        log_every=None, seed=0, algo=None, switch_period=None) -> RunArguments:
    """Validate and normalise; see ``dadao.setup.prepare`` for the meaning.

    With ``algo`` (an ``AsyncAlgorithm``), also what that method accepts: a time-varying graph,
    gradient clocks (methods without them run with every gradient rate 0), an x0.
    """
    n, d = problem.n, problem.dim
    name = getattr(algo, "name", "this algorithm")
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise RunArgumentError(f"must be an integer >= 0, got {seed!r}", field="seed")
    if seed >= 1 << 64:
        raise RunArgumentError(f"must be below 2^64 (the key of the schedule's random streams "
                               f"is 64 bits), got {seed!r}", field="seed")
    t_max = _positive_time("t_max", t_max)
    log_every = t_max / 200 if log_every is None else _positive_time("log_every", log_every)
    if t_max / log_every > MAX_SAMPLES:
        raise RunArgumentError(f"{log_every!r} gives {t_max / log_every:.3g} samples "
                               f"up to t_max = {t_max!r}; at most {MAX_SAMPLES:,} are allowed",
                               field="log_every")
    offsets = None
    edge_lists = check_edges(edges, n, algo=algo)
    if is_sequence(edges):
        edges, edge_rates, offsets, switch_period = _graph_sequence(edge_lists, edge_rates, n,
                                                                    switch_period)
    else:
        if switch_period is not None:
            raise RunArgumentError("only for a time-varying graph (a list of edge arrays)",
                                   field="switch_period")
        edges = edge_lists[0]
        edge_rates = _rates("edge_rates", edge_rates, len(edges), "one per edge")
    if algo is not None and not algo.gradient_clocks:
        if grad_rates is not None and np.any(np.asarray(grad_rates, dtype=float) != 0):
            raise RunArgumentError(f"{name} has no gradient clocks (its gradients, "
                                   f"if any, come with gossip events); leave grad_rates unset",
                                   field="grad_rates")
        grad_rates = np.zeros(n)
    grad_rates = (np.ones(n) if grad_rates is None
                  else _rates("grad_rates", grad_rates, n, "one per node"))
    if algo is not None and not algo.accepts_x0 and x0 is not None:
        raise RunArgumentError(f"{name} starts every node at the minimiser of its own f_i; "
                               f"leave x0 unset", field="x0")
    if x0 is None:
        x0 = np.zeros((n, d))
    else:
        x0 = np.asarray(x0, dtype=np.float64)
        if x0.shape not in ((d,), (n, d)):
            raise RunArgumentError(f"expected shape ({d},) or ({n}, {d}), got {x0.shape}",
                                   field="x0")
        if not np.all(np.isfinite(x0)):
            raise RunArgumentError("must be finite", field="x0")
        x0 = np.ascontiguousarray(np.broadcast_to(x0, (n, d)))
    return RunArguments(edges, edge_rates, grad_rates, x0, t_max, log_every, int(seed),
                        offsets, switch_period)

"""One prepared run: a ``Setup``, built once, that every engine takes.

    setup = prepare(G, problem, algorithm="dadao", rates="theory", t_max=400, seed=0)
    setup.describe()                 # what `dadao run --dry-run` prints and meta.json records
    engines.get_engine("inprocess").run(setup)

A run is one graph (or time-varying list of graphs), one problem, one method, its rates and
constants, a horizon and a seed. ``prepare`` checks every input once, in a fixed order, and
computes every derived number once (graph spectra, chi_1 and chi_2 of the rate Laplacian, the
per-edge resistances of methods that need them, the method's constants, its declared theory);
an engine only runs what the setup holds, so no number is computed twice or differently by two
engines. ``dadao.experiment.from_config`` builds a setup from a validated config; ``prepare``
builds one from Python objects.

Mistakes raise a ``dadao.errors.DadaoError`` whose ``field`` names the argument of ``prepare``
(``t_max``, ``edges``, ``rates``, ``x0``, ...) or the config key (``problem.kind``,
``algorithm.<constant>``) when the error belongs to one.

Time is in expected gradient steps per node; for synchronous methods one iteration (one gradient
per node) is one time unit.
"""

from __future__ import annotations

import functools
import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import numpy as np

from dadao import engines, graphs, rates as rate_choices
from dadao.algorithms import get_algorithm
from dadao.algorithms.theory import Setting
from dadao.errors import RateError, RunArgumentError, UnsupportedProblemError
from dadao.gossip import Network
from dadao.problems import Problem
from dadao.rates import RateCondition
from dadao.run_arguments import (RunArguments, check_edges, check_event_count,
                                 check_run_arguments, is_sequence)

#: constants of a method that are copies of numbers the record holds elsewhere (problem.L,
#: problem.mu, rates.chi_1, rates.chi_2): left out of algorithm.constants
RECORDED_ELSEWHERE = ("L", "mu", "chi_1", "chi_2")
#: what ``prepare`` takes as a graph object (anything else is an edge array or a list)
GRAPH_TYPES = (graphs.EdgeGraph, nx.Graph)


@dataclass(frozen=True, eq=False)
class Setup:
    """Everything one run needs, checked and derived once (see the module docstring).

    ``graphs``: the graph, or the K graphs of a time-varying list, as ``dadao.graphs.EdgeGraph``
    (n and the canonical edge array; ``to_networkx()`` for a networkx graph). ``args``: the checked run arguments (horizon, sampling period, seed, gradient rates,
    x0; for asynchronous methods also the edges and gossip rates, concatenated over a list).
    ``constants``: the method's constants k. ``condition``: chi_1, chi_2 and the total rate of the
    gossip rates (asynchronous methods; worst case over a list). ``network``: the gossip graphs
    with their spectra (synchronous methods). ``chi``: lambda_max / lambda_2 of L_G (worst case
    over a list). ``engine``: the registered engine that is to run it.
    """

    algorithm: Any
    problem: Problem
    graphs: tuple
    args: RunArguments
    constants: Any
    condition: RateCondition | None
    network: Network | None
    chi: float
    options: dict = field(default_factory=dict)
    force: bool = False
    engine: str = engines.DEFAULT
    #: how the rates were chosen ("auto", "theory", "uniform", "explicit", "sdp"; "none" for
    #: synchronous methods) and, for optimal rates, how they were found
    rates_kind: str = "auto"
    rates_detail: dict | None = None
    #: the graph family (a config's graph.family, or what the graphs say of themselves)
    family: str = "graph"
    #: the resolved config and its file, when the setup was built from one
    config: dict | None = None
    source: str | None = None
    #: how the graph constants were computed (``dadao.graphs.constants_record``), one record per
    #: graph: of the gossip rates' Laplacian (asynchronous methods) or of L_G (synchronous ones)
    constants_record: Any = None

    @property
    def synchronous(self) -> bool:
        """Synchronous methods advance in rounds (``step``); asynchronous ones react to events."""
        return is_synchronous(self.algorithm)

    @property
    def n(self) -> int:
        return self.problem.n

    @property
    def time_varying(self) -> bool:
        return len(self.graphs) > 1

    @property
    def edge_lists(self) -> list[np.ndarray]:
        """Each graph's edges in edge_array order."""
        return [graphs.edge_array(G) for G in self.graphs]

    @functools.cached_property
    def setting(self) -> Setting:
        """The constants the methods' declared theory depends on (dadao.algorithms.theory)."""
        counts = [G.number_of_edges() for G in self.graphs]
        c = self.condition
        return Setting(n=self.n, edges=float(np.mean(counts)) if self.time_varying else counts[0],
                       mu=self.problem.mu, L=self.problem.L, chi=self.chi,
                       chi_1=c.chi_1 if c else math.nan, chi_2=c.chi_2 if c else math.nan,
                       total_rate=c.total if c else math.nan)

    @functools.cached_property
    def _description(self) -> dict:
        a, k, s = self.args, self.constants, self.setting
        counts = [G.number_of_edges() for G in self.graphs]
        graph = {"family": self.family, "n": self.n, "edges": s.edges, "chi": float(self.chi),
                 "graphs": len(self.graphs),
                 "edges_per_graph": counts if self.time_varying else None,
                 "switch_period": a.switch_period, "constants_record": self.constants_record}
        c = self.condition
        lam = a.edge_rates
        rates = {"kind": self.rates_kind,
                 "total": None if c is None else float(c.total),
                 "min": None if c is None else float(lam.min()),
                 "max": None if c is None else float(lam.max()),
                 "chi_1": None if c is None else float(c.chi_1),
                 "chi_2": None if c is None else float(c.chi_2),
                 "condition_satisfied": (bool(c.satisfied) if c is not None
                                         and self.algorithm.enforces_rate_condition else None),
                 "gradient_total": None if c is None else float(a.grad_rates.sum()),
                 "optimal": self.rates_detail}
        p = self.problem
        problem = {"kind": p.params.get("kind", p.name), "name": p.name, "dim": p.dim,
                   "L": p.L, "mu": p.mu, "kappa": p.kappa}
        algorithm = {"name": self.algorithm.name, "synchronous": self.synchronous,
                     "gossip": getattr(self.algorithm, "gossip", None) if self.synchronous
                     else None,
                     "constants": {f: float(v) for f, v in k._asdict().items()
                                   if np.ndim(v) == 0 and f not in RECORDED_ELSEWHERE},
                     "options": dict(self.options)}
        theory = self.algorithm.theory
        return {"seed": a.seed, "t_max": a.t_max, "log_every": a.log_every,
                "graph": graph, "rates": rates, "problem": problem, "algorithm": algorithm,
                "theory": None if theory is None else {
                    "rate": None if theory.rate is None else theory.rate(s),
                    "gradients_per_time": theory.gradients_per_time(s),
                    "communications_per_time": theory.communications_per_time(s)}}

    def describe(self) -> dict:
        """The setup as the record of meta.json holds it (docs/run_directory.md lists the
        fields): seed, t_max, log_every and the sections graph, rates, problem, algorithm,
        theory. Every number appears once. A fresh copy each call."""
        import copy

        return copy.deepcopy(self._description)


def is_synchronous(algorithm) -> bool:
    """Synchronous methods advance in rounds (``step``); asynchronous ones react to events."""
    return hasattr(algorithm, "step")


def prepare(graph, problem: Problem, *, algorithm="dadao", rates="auto", t_max, seed=0,
            log_every=None, grad_rates=None, x0=None, force=False, options=None,
            switch_period=None, engine=engines.DEFAULT, rates_kind=None, rates_detail=None,
            family=None, constants="auto") -> Setup:
    """Check and derive one run (see the module docstring).

    ``graph``: a connected graph on the nodes 0..n-1 (a ``dadao.graphs.EdgeGraph``, as
    ``dadao.graphs.family_graph`` builds, or a networkx graph), an (E, 2) edge array in
    edge_array order, or a list of either (a time-varying graph: graph k in use on [(m K + k) P,
    (m K + k + 1) P), P = ``switch_period``; synchronous methods use graph q mod K in round q).
    ``rates`` (asynchronous methods): "auto" (the method's own default: DADAO's theory rates, n/2
    in total for the gossip baselines), "theory" (DADAO's theory rates, chi_1 chi_2 = 1/2; on a
    list, with the worst-case chi's), a number (uniform rates with that total on every graph), a
    mapping {(u, v): rate} or a sequence in edge order (for a list of graphs, a list of such).
    ``t_max``: horizon, in expected gradient steps per node. ``seed``: the event schedule's seed.
    ``log_every``: sampling period (default t_max / 200). ``grad_rates``: gradient clock rates
    (default 1). ``x0``: initial iterate, (d,) or (n, d). ``force``: run rates that break the
    method's rate condition (with a RuntimeWarning). ``options``: overrides of the method's
    tunable constants. ``engine``: a registered engine name. ``rates_kind``, ``rates_detail``,
    ``family``: what the record says of the rates and the graph (the config layer sets them).
    ``constants``: how the graph constants are computed ("auto", "exact", "estimate":
    ``dadao.graphs.constants_mode``; docs/graph_constants.md).
    """
    engines.check_name(engine)
    if not isinstance(force, (bool, np.bool_)):
        # bool("no") is True: a flag that is not a boolean is a mistake, not a truth value
        raise RunArgumentError(f"must be True or False, got {force!r}", field="force")
    algo = get_algorithm(algorithm) if isinstance(algorithm, str) else algorithm
    if options is not None and not isinstance(options, Mapping):
        raise RunArgumentError(f"must be a mapping {{name: number}} of constant overrides, got "
                               f"{type(options).__name__}", field="options")
    options = dict(options or {})
    items = list(graph) if _is_list(graph) else [graph]
    if not items:
        raise RunArgumentError("an empty list of graphs", field="edges")
    nx_given = all(isinstance(G, GRAPH_TYPES) for G in items)
    family = family or (items[0].graph.get("family", "graph") if nx_given else "edges")
    if nx_given:
        items = [_as_edge_graph(G) for G in items]
    common = dict(algo=algo, problem=problem, t_max=t_max, seed=seed, log_every=log_every,
                  x0=x0, options=options, force=force, engine=engine, family=family)
    with graphs.constants_mode(constants):
        if is_synchronous(algo):
            setup = _prepare_synchronous(items, nx_given, rates, grad_rates, switch_period,
                                         **common)
        else:
            setup = _prepare_asynchronous(items, nx_given, _is_list(graph), rates, grad_rates,
                                          switch_period, rates_kind, rates_detail, **common)
        return _with_constants_record(setup)


def _with_constants_record(setup: Setup) -> Setup:
    """The setup with the record of how its graph constants were computed (meta.json:
    graph.constants_record)."""
    import dataclasses

    n = setup.n
    if setup.synchronous:
        pairs = [(e, np.ones(len(e))) for e in setup.edge_lists]
    else:
        pairs = list(zip(*setup.args.edge_lists()))
    records = [graphs.constants_record(e, r, n) for e, r in pairs]
    return dataclasses.replace(setup, constants_record=records)


def _is_list(graph) -> bool:
    return isinstance(graph, (list, tuple)) and (not graph or isinstance(graph[0], GRAPH_TYPES)
                                                 or is_sequence(graph))


def _check_nodes(G, problem) -> None:
    if G.number_of_nodes() != problem.n:
        raise UnsupportedProblemError(f"has {G.number_of_nodes()} nodes but the problem has "
                                      f"n = {problem.n}", field="graph")


def _as_edge_graph(G) -> graphs.EdgeGraph:
    """A networkx graph (nodes 0..n-1) as the EdgeGraph of its edges and attributes; an
    EdgeGraph as it is."""
    if isinstance(G, graphs.EdgeGraph):
        return G
    return graphs.EdgeGraph(G.number_of_nodes(), graphs.edge_array(G), dict(G.graph))


def _prepare_synchronous(items, nx_given, rates, grad_rates, switch_period, *, algo, problem,
                         t_max, seed, log_every, x0, options, force, engine, family) -> Setup:
    """Every check of a synchronous run, before anything runs; Network computes the spectra."""
    if not (isinstance(rates, str) and rates == "auto"):
        raise RateError(f"{algo.name} is synchronous: every round activates every edge, so it "
                        f"takes no edge rates", field="rates")
    for name, value in (("grad_rates", grad_rates), ("switch_period", switch_period)):
        if value is not None:
            raise RunArgumentError(f"{algo.name} is synchronous: one iteration is one gradient "
                                   f"per node and one round per graph in turn; leave {name} "
                                   f"unset", field=name)
    # refusals that need no graph constants first: Network computes a spectrum per graph
    algo.check_problem(problem)
    if x0 is not None and not algo.accepts_x0:
        raise RunArgumentError(f"{algo.name} is a dual method and starts from the dual point 0 "
                               "(x_i = argmin f_i); x0 cannot be set", field="x0")
    if not nx_given:
        edge_lists = check_edges(items if len(items) > 1 else items[0], problem.n)
        items = [graphs.from_edges(problem.n, e) for e in edge_lists]
    network = Network(items if len(items) > 1 else items[0])
    _check_nodes(items[0], problem)
    algo.check_network(network)
    first = network.graphs[0].edges
    args = check_run_arguments(problem, first, np.zeros(len(first)), x0=x0, t_max=t_max,
                               log_every=log_every, seed=seed)
    k = algo.constants(problem, network, options or None)
    setup = Setup(algo, problem, tuple(items), args, k, None, network, network.chi, options,
                  bool(force), engine, "none", None, family)
    s, theory = setup.setting, algo.theory
    if theory is not None:
        per_time = theory.gradients_per_time(s) + theory.communications_per_time(s)
    else:
        per_time = s.n + s.edges
    check_event_count(args.t_max, per_time, f"{s.n} gradients and the communications of one "
                      f"iteration of {algo.name}")
    return setup


def _prepare_asynchronous(items, nx_given, as_list, rates, grad_rates, switch_period,
                          rates_kind, rates_detail, *, algo, problem, t_max, seed, log_every,
                          x0, options, force, engine, family) -> Setup:
    n = problem.n
    if nx_given:
        for G in items:
            graphs.check_connected(G)
            _check_nodes(G, problem)
    given = [graphs.edge_array(G) for G in items] if nx_given else items
    # the edges are checked (shapes, node ids, lists only for methods that take one) before
    # any rate is computed from them
    edge_lists = check_edges(given if as_list else given[0], n, algo=algo)
    edge_rates, kind = edge_rates_for(edge_lists, as_list, n, rates, algo)
    edges_arg = edge_lists if as_list else edge_lists[0]
    args = check_run_arguments(problem, edges_arg, edge_rates, grad_rates=grad_rates, x0=x0,
                               t_max=t_max, log_every=log_every, seed=seed, algo=algo,
                               switch_period=switch_period)
    edge_lists, rate_lists = args.edge_lists()
    # each graph of a list is in use 1/K of the time: its clocks tick at the mean total rate
    gossip_rate = float(np.mean([r.sum() for r in rate_lists]))
    check_event_count(args.t_max, float(args.grad_rates.sum()) + gossip_rate,
                      f"gradient clocks of total rate {args.grad_rates.sum():.6g}, gossip "
                      f"clocks of total rate {gossip_rate:.6g}")
    condition = rate_choices.run_condition(edge_lists, rate_lists, n,
                                           enforce=algo.enforces_rate_condition, force=force)
    extra = {}
    if algo.needs_resistances:
        extra["resistances"] = graphs.effective_resistances(args.edges, args.edge_rates, n)
    k = algo.constants(problem, condition.chi_1, condition.chi_2, options or None, **extra)
    # connectivity is known by now: checked above (networkx graphs) or by the rate condition
    held = items if nx_given else [graphs.from_edges(n, e) for e in edge_lists]
    chi = max(graphs.graph_chi(G) for G in held)
    return Setup(algo, problem, tuple(held), args, k, condition, None, chi, options,
                 bool(force), engine, rates_kind or kind, rates_detail, family)


def edge_rates_for(edge_lists, as_list: bool, n: int, rates, algo):
    """(per-edge rates, their kind) of the ``rates`` argument of ``prepare``: one array in
    edge_array order, or a list of them (one per graph) when ``as_list``."""
    if isinstance(rates, str):
        if rates not in ("auto", "theory"):
            raise RateError(f"unknown choice {rates!r}; use 'auto', 'theory', a total rate, a "
                            f"mapping {{(u, v): rate}} or a sequence in edge order",
                            field="rates")
        default = getattr(algo, "default_rates", None)
        if rates == "theory" or default is None or algo.enforces_rate_condition:
            out = (rate_choices.sequence_theory_rates(edge_lists, n) if as_list
                   else [rate_choices.theory_rates(edge_lists[0], n)])
        else:
            out = [default(e, n) for e in edge_lists]
        kind = rates
    elif isinstance(rates, numbers.Real) and not isinstance(rates, bool):
        out = [rate_choices.uniform_rates(e, float(rates)) for e in edge_lists]
        kind = "uniform"
    elif as_list:
        # a list of K arrays or mappings, one per graph; anything else goes to the run
        # arguments as it is, which refuse it naming edge_rates
        fits = isinstance(rates, (list, tuple)) and len(rates) == len(edge_lists)
        return ([_explicit(e, r) for e, r in zip(edge_lists, rates)] if fits else rates,
                "explicit")
    else:
        out = [_explicit(edge_lists[0], rates)]
        kind = "explicit"
    return (out if as_list else out[0]), kind


def _explicit(edges, rates):
    """A mapping {(u, v): rate} as an array in edge order; a sequence as it is (the run
    arguments check its length and values, naming ``edge_rates``)."""
    return rate_choices.explicit_rates(edges, rates) if isinstance(rates, Mapping) else rates

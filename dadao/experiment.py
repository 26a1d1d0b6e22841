"""From a validated config to the objects of one run, and the run itself.

    cfg = config.load("configs/quickstart.toml")
    exp = experiment.build(cfg, source="configs/quickstart.toml")
    exp.constants()          # what `dadao run --dry-run` prints and meta.json records
    trace = exp.run(progress=...)

Every library error a config can cause (a graph a family cannot take, a problem without a
conjugate, rates that break the algorithm's condition, a method that refuses time-varying graphs,
...) becomes a ConfigError naming the file and the field, so the CLI prints one line and exits 2.
The constants shown by ``constants`` are computed by the same engine functions the run uses.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import networkx as nx
import numpy as np

from dadao import api, graphs, problems, rates
from dadao.algorithms import UnknownAlgorithmError, get_algorithm
from dadao.algorithms.base import OptionError
from dadao.algorithms.synchronous import UnsupportedProblemError
from dadao.config import AUTO, ConfigError
from dadao.engines.arguments import RunArgumentError, check_run_arguments
from dadao.engines.mpi import MpiUnavailableError, RankError
from dadao.engines.partition import PartitionError
from dadao.gossip import Network, NetworkError


#: the library's exceptions for input a config can get wrong (each one printable line); any
#: other exception is a bug and is not dressed as a config error
LIBRARY_ERRORS = (RunArgumentError, OptionError, rates.RateError, graphs.GraphError,
                  problems.ProblemError, UnsupportedProblemError, NetworkError,
                  UnknownAlgorithmError, PartitionError, RankError, MpiUnavailableError)


@dataclass
class Experiment:
    """One run's graph(s), rates, problem and algorithm, with the resolved config that made
    them. ``graph`` is a list for a time-varying graph; ``edge_rates`` is None for synchronous
    methods (every round activates every edge)."""

    config: dict
    source: str
    graph: nx.Graph | list
    problem: problems.Problem
    algorithm: object
    edge_rates: np.ndarray | list | None
    #: what ``constants`` returns, computed once by ``build`` (graph spectra, chi's, Network)
    derived: dict | None = None

    @property
    def synchronous(self) -> bool:
        return api.is_synchronous(self.algorithm)

    @property
    def graphs(self) -> list[nx.Graph]:
        return self.graph if isinstance(self.graph, list) else [self.graph]

    @property
    def edges(self):
        e = [graphs.edge_array(G) for G in self.graphs]
        return e if isinstance(self.graph, list) else e[0]

    def _options(self) -> dict:
        return {k: v for k, v in self.config["algorithm"].items() if k != "name"}

    def _engine_kwargs(self) -> dict:
        run = self.config["run"]
        kw = {"log_every": run["log_every"], "options": self._options() or None}
        if not self.synchronous:
            kw["force"] = run["force"]
            if isinstance(self.graph, list):
                period = self.config["graph"]["switch_period"]
                kw["switch_period"] = None if period == AUTO else period
        return kw

    def _prepare(self):
        """(constants k, graph section, rates section) exactly as the engine will compute them."""
        run = self.config["run"]
        chi = max(graphs.graph_chi(G) for G in self.graphs)
        n_edges = [G.number_of_edges() for G in self.graphs]
        graph_info = {"family": self.config["graph"]["family"], "n": self.problem.n,
                      "edges": n_edges[0] if len(n_edges) == 1 else float(np.mean(n_edges)),
                      "chi": chi}
        if self.synchronous:
            check_run_arguments(self.problem, graphs.edge_array(self.graphs[0]),
                                np.zeros(self.graphs[0].number_of_edges()), t_max=run["t_max"],
                                log_every=run["log_every"], seed=run["seed"])
            network = Network(self.graph)
            self.algorithm.check_network(network)
            k = self.algorithm.constants(self.problem, network, self._options() or None)
            graph_info.update(chi_1=None, chi_2=None)
            return k, graph_info, {"kind": "synchronous", "total": None}
        from dadao.engines.inprocess import run_constants

        args = check_run_arguments(self.problem, self.edges, self.edge_rates, t_max=run["t_max"],
                                   log_every=run["log_every"], seed=run["seed"],
                                   algo=self.algorithm,
                                   switch_period=self._engine_kwargs().get("switch_period"))
        cond, k = run_constants(self.algorithm, self.problem, args, force=run["force"],
                                options=self._options() or None)
        graph_info.update(chi_1=cond.chi_1, chi_2=cond.chi_2)
        if args.time_varying:
            graph_info.update(graphs=len(self.graphs), switch_period=args.switch_period)
        lam = np.concatenate(self.edge_rates) if isinstance(self.edge_rates, list) \
            else self.edge_rates
        rate_info = {"kind": self.config["rates"]["kind"], "total": cond.total,
                     "min": float(lam.min()), "max": float(lam.max()),
                     "chi_1_chi_2": cond.product}
        if self.algorithm.enforces_rate_condition:
            rate_info["condition_satisfied"] = cond.satisfied
        return k, graph_info, rate_info

    def constants(self) -> dict:
        """Everything derived before running: graph, rates, problem, step constants, theory
        (what `dadao run --dry-run` prints and meta.json records); a copy of ``derived``."""
        return copy.deepcopy(self.derived)

    def _derive(self) -> dict:
        k, graph_info, rate_info = self._prepare()
        s = self.setting(graph_info, rate_info)
        theory = self.algorithm.theory
        return {
            "graph": graph_info,
            "rates": rate_info,
            "problem": {"kind": self.config["problem"]["kind"], "name": self.problem.name,
                        "dim": self.problem.dim, "L": self.problem.L, "mu": self.problem.mu,
                        "kappa": self.problem.kappa},
            "algorithm": {"name": self.algorithm.name,
                          "synchronous": self.synchronous,
                          "constants": {f: float(v) for f, v in k._asdict().items()
                                        if np.ndim(v) == 0},
                          "options": self._options()},
            "theory": None if theory is None else _theory(theory, s),
        }

    def setting(self, graph_info, rate_info):
        from dadao.algorithms.theory import Setting

        nan = float("nan")
        return Setting(n=self.problem.n, edges=graph_info["edges"], mu=self.problem.mu,
                       L=self.problem.L, chi=graph_info["chi"],
                       chi_1=graph_info["chi_1"] if graph_info["chi_1"] is not None else nan,
                       chi_2=graph_info["chi_2"] if graph_info["chi_2"] is not None else nan,
                       total_rate=rate_info["total"] if rate_info["total"] is not None else nan)

    def run(self, *, progress=None, on_failure=None):
        """Simulate to run.t_max; the engine's Trace (status completed | diverged |
        interrupted). With run.engine = "mpi" every rank calls this; the root gets the Trace,
        the others None, and ``on_failure(line, traceback)`` is called on a rank that fails
        during the run, before the job is aborted."""
        run = self.config["run"]
        rates_arg = "auto" if self.synchronous else self.edge_rates
        extra = {"engine": "mpi", "on_failure": on_failure} if run["engine"] == "mpi" else {}
        try:
            return api.simulate(self.graph, self.problem, rates=rates_arg,
                                algorithm=self.algorithm, t_max=run["t_max"], seed=run["seed"],
                                progress=progress, **self._engine_kwargs(), **extra)
        except LIBRARY_ERRORS as exc:
            raise _config_error(self.source, exc) from None


def _theory(theory, s) -> dict:
    out = {"communications_per_round": theory.communications_per_round(s),
           "gradients_per_time": theory.gradients_per_time(s),
           "communications_per_time": theory.communications_per_time(s)}
    if theory.rate is not None:
        out["rate"] = theory.rate(s)
        out["time_to_1e-8"] = theory.time_to(1e-8, s)
    return out


def _config_error(source: str, exc: Exception) -> ConfigError:
    """A library error as a config error: its first word names the argument when it can."""
    text = str(exc)
    if isinstance(exc, rates.RateError):
        return ConfigError(source, "rates", text + " (or set run.force = true to run anyway)")
    head, sep, rest = text.partition(":")
    fields = {"t_max": "run.t_max", "log_every": "run.log_every", "seed": "run.seed",
              "switch_period": "graph.switch_period", "edges": "graph",
              "edge_rates": "rates", "x0": "run"}
    if sep and head.startswith(("problem.", "algorithm.", "graph.", "rates.", "run.")):
        return ConfigError(source, "", text)
    if sep and head in fields:
        return ConfigError(source, fields[head], rest.strip())
    return ConfigError(source, "", text)


def build_graph(gcfg: dict, source: str):
    """The graph, or the list of graphs of a time-varying config."""
    K = gcfg.get("time_varying", 0)
    try:
        if gcfg["family"] == "file":
            if K >= 2:
                raise ConfigError(source, "graph.time_varying", "needs a random family, not a "
                                  "file (a file gives one graph)")
            return graphs.load_edge_list(gcfg["path"])
        params = {k: v for k, v in gcfg.items()
                  if k not in ("family", "n", "time_varying", "switch_period") and v != AUTO}
        seed = params.pop("seed", None)
        if K >= 2:
            if gcfg["family"] not in ("erdos_renyi", "random_geometric"):
                raise ConfigError(source, "graph.time_varying", f"needs a random family "
                                  f"(erdos_renyi or random_geometric): {gcfg['family']} would "
                                  f"give {K} copies of one graph")
            return graphs.graph_sequence(gcfg["family"], gcfg["n"], K, seed=seed, **params)
        return graphs.make_graph(gcfg["family"], gcfg["n"], seed=seed, **params)
    except graphs.GraphError as exc:
        field = "graph.path" if gcfg["family"] == "file" else "graph"
        raise ConfigError(source, field, str(exc)) from None


def build_rates(rcfg: dict, graph, algorithm, source: str):
    """Per-edge rates (a list for a time-varying graph), or None for synchronous methods."""
    if api.is_synchronous(algorithm):
        if rcfg["kind"] != "auto":
            raise ConfigError(source, "rates.kind", f"{algorithm.name} is synchronous: every "
                              f"round activates every edge, so it takes no edge rates; remove "
                              f"[rates] or set kind = \"auto\"")
        return None
    try:
        if rcfg["kind"] in ("auto", "theory"):
            return api.edge_rates_for(graph, rcfg["kind"], algorithm)
        if rcfg["kind"] == "uniform":
            return api.edge_rates_for(graph, rcfg["total"], algorithm)
        if isinstance(graph, list):
            raise ConfigError(source, "rates.kind", f"{rcfg['kind']} rates need a static graph "
                              "(graph.time_varying = 0)")
        if rcfg["kind"] == "sdp":
            from dadao.optimal_rates import OptimalRatesError

            try:
                return optimal_rates_for(rcfg, graph).rates
            except OptimalRatesError as exc:
                raise ConfigError(source, "rates.method", str(exc)) from None
        return rates.load_rates_csv(rcfg["path"], graphs.edge_array(graph))
    except rates.RateError as exc:
        raise ConfigError(source, f"rates.{'path' if rcfg['kind'] == 'explicit' else 'kind'}",
                          str(exc)) from None


def optimal_rates_for(rcfg: dict, graph):
    """The verified optimal rates of ``[rates] kind = "sdp"`` (cached on disk by graph and
    method; see dadao.optimal_rates)."""
    from dadao.optimal_rates import optimal_rates

    return optimal_rates(graphs.edge_array(graph), graph.number_of_nodes(),
                         method=rcfg["method"],
                         solver=None if rcfg["solver"] == AUTO else rcfg["solver"],
                         node_caps=None if rcfg["node_cap"] == AUTO else rcfg["node_cap"])


def build_problem(pcfg: dict, n: int, source: str) -> problems.Problem:
    params = {k: v for k, v in pcfg.items() if k not in ("kind",) and v != AUTO}
    seed = params.pop("seed")
    try:
        return problems.make_problem(pcfg["kind"], n, seed=seed, **params)
    except problems.ProblemError as exc:
        raise _config_error(source, exc) from None


def build(cfg: dict, source: str = "config") -> Experiment:
    """Build the run described by a validated config, and check everything a run would check.

    The returned ``config`` has the computed values written in place of "auto" (the problem's
    form and reg, a time-varying graph's switch period), so it rebuilds the same run.
    """
    cfg = copy.deepcopy(cfg)
    graph = build_graph(cfg["graph"], source)
    n = (graph[0] if isinstance(graph, list) else graph).number_of_nodes()
    problem = build_problem(cfg["problem"], n, source)
    for key, value in problem.params.items():
        if key in cfg["problem"] and cfg["problem"][key] == AUTO:
            cfg["problem"][key] = value
    algorithm = get_algorithm(cfg["algorithm"]["name"])
    if api.is_synchronous(algorithm):
        try:
            algorithm.check_problem(problem)
        except problems.ProblemError as exc:
            raise _config_error(source, exc) from None
    edge_rates = build_rates(cfg["rates"], graph, algorithm, source)
    exp = Experiment(cfg, source, graph, problem, algorithm, edge_rates)
    try:
        exp.derived = exp._derive()
    except LIBRARY_ERRORS as exc:
        raise _config_error(source, exc) from None
    if cfg["graph"].get("switch_period") == AUTO:
        cfg["graph"]["switch_period"] = exp.derived["graph"]["switch_period"]
    return exp

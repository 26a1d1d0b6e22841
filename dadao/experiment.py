"""From a validated config to the objects of one run, and the run itself.

    cfg = config.load("configs/quickstart.toml")
    exp = experiment.build(cfg, source="configs/quickstart.toml")
    exp.constants()          # what `dadao run --dry-run` prints
    trace = exp.run(progress=...)

Every library error a config can cause (a graph a family cannot take, a problem without a
conjugate, rates that break the algorithm's condition, ...) becomes a ConfigError naming the file
and the section, so the CLI can print one line and exit 2.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import networkx as nx
import numpy as np

from dadao import graphs, problems, rates
from dadao.algorithms import get_algorithm
from dadao.algorithms.theory import Setting
from dadao.config import AUTO, ConfigError
from dadao.engines import inprocess
from dadao.engines.arguments import RunArgumentError, check_run_arguments


@dataclass
class Experiment:
    """One run's graph, rates, problem and algorithm, with the resolved config that made them."""

    config: dict
    source: str
    graph: nx.Graph
    edges: np.ndarray
    edge_rates: np.ndarray
    problem: problems.Problem
    algorithm: object

    def rate_condition(self) -> rates.RateCondition:
        """chi_1, chi_2 of the rate Laplacian in use (memoised in dadao.rates)."""
        return rates.check_rate_condition(self.edges, self.edge_rates, self.problem.n)

    def setting(self) -> Setting:
        c = self.rate_condition()
        return Setting(n=self.problem.n, edges=len(self.edges), mu=self.problem.mu,
                       L=self.problem.L, chi=graphs.graph_chi(self.graph), chi_1=c.chi_1,
                       chi_2=c.chi_2, total_rate=float(self.edge_rates.sum()))

    def constants(self) -> dict:
        """Everything derived before running: graph, rates, problem and step constants."""
        cond = self.rate_condition()
        s = self.setting()
        k = self.algorithm.constants(self.problem, cond.chi_1, cond.chi_2,
                                     **self._overrides_kw())
        theory = self.algorithm.theory
        return {
            "graph": {"family": self.config["graph"]["family"], "n": s.n, "edges": s.edges,
                      "chi": s.chi, "chi_1": cond.chi_1, "chi_2": cond.chi_2},
            "rates": {"kind": self.config["rates"]["kind"], "total": s.total_rate,
                      "min": float(self.edge_rates.min()), "max": float(self.edge_rates.max()),
                      "chi_1_chi_2": cond.product, "condition_satisfied": cond.satisfied},
            "problem": {"kind": self.config["problem"]["kind"], "name": self.problem.name,
                        "dim": self.problem.dim, "L": self.problem.L, "mu": self.problem.mu,
                        "kappa": self.problem.kappa},
            "algorithm": {"name": self.algorithm.name,
                          "constants": {f: float(v) for f, v in k._asdict().items()}},
            "theory": None if theory is None else {
                "communications_per_round": theory.communications_per_round(s),
                "time_to_1e-8": theory.time_to(1e-8, s),
            },
        }

    def _overrides_kw(self) -> dict:
        overrides = {k: v for k, v in self.config["algorithm"].items() if k != "name"}
        return {"overrides": overrides} if overrides else {}

    def run(self, *, progress=None):
        """Simulate to run.t_max; returns the engine's Trace (status completed | diverged |
        interrupted)."""
        run = self.config["run"]
        try:
            return inprocess.simulate(
                self.problem, self.edges, self.edge_rates, algorithm=self.algorithm,
                t_max=run["t_max"], seed=run["seed"], log_every=run["log_every"],
                force=run["force"], progress=progress, **self._overrides_kw())
        except RunArgumentError as exc:
            raise ConfigError(self.source, "run", str(exc)) from None
        except rates.RateError as exc:
            raise ConfigError(self.source, "rates", _rate_hint(str(exc))) from None


def _rate_hint(message: str) -> str:
    return message + " (or set run.force = true to run anyway)"


def build_graph(gcfg: dict, source: str) -> nx.Graph:
    try:
        if gcfg["family"] == "file":
            return graphs.load_edge_list(gcfg["path"])
        params = {k: v for k, v in gcfg.items() if k not in ("family", "n") and v != AUTO}
        seed = params.pop("seed", None)
        return graphs.make_graph(gcfg["family"], gcfg["n"], seed=seed, **params)
    except graphs.GraphError as exc:
        field = "graph.path" if gcfg["family"] == "file" else "graph"
        raise ConfigError(source, field, str(exc)) from None


def build_rates(rcfg: dict, edges: np.ndarray, n: int, source: str) -> np.ndarray:
    try:
        if rcfg["kind"] == "theory":
            return rates.theory_rates(edges, n)
        if rcfg["kind"] == "uniform":
            return rates.uniform_rates(edges, rcfg["total"])
        return rates.load_rates_csv(rcfg["path"], edges)
    except rates.RateError as exc:
        raise ConfigError(source, f"rates.{'path' if rcfg['kind'] == 'explicit' else 'kind'}",
                          str(exc)) from None


def build_problem(pcfg: dict, n: int, source: str) -> problems.Problem:
    params = {k: v for k, v in pcfg.items() if k not in ("kind",) and v != AUTO}
    seed = params.pop("seed")
    try:
        return problems.make_problem(pcfg["kind"], n, seed=seed, **params)
    except problems.ProblemError as exc:
        text = str(exc)
        # ProblemError lines already start with the field ("problem.reg: ...")
        raise ConfigError(source, "" if text.startswith("problem.") else "problem",
                          text) from None


def build(cfg: dict, source: str = "config") -> Experiment:
    """Build the run described by a validated config; the returned ``config`` has the problem's
    resolved parameters (form, reg, ...) written in place of "auto"."""
    cfg = copy.deepcopy(cfg)
    G = build_graph(cfg["graph"], source)
    n = G.number_of_nodes()
    edges = graphs.edge_array(G)
    problem = build_problem(cfg["problem"], n, source)
    for key, value in problem.params.items():
        if key in cfg["problem"] and cfg["problem"][key] == AUTO:
            cfg["problem"][key] = value
    edge_rates = build_rates(cfg["rates"], edges, n, source)
    algorithm = get_algorithm(cfg["algorithm"]["name"])
    run = cfg["run"]
    try:
        check_run_arguments(problem, edges, edge_rates, t_max=run["t_max"],
                            log_every=run["log_every"], seed=run["seed"])
    except RunArgumentError as exc:
        raise ConfigError(source, f"run.{str(exc).split(':', 1)[0]}",
                          str(exc).split(":", 1)[1].strip()) from None
    exp = Experiment(cfg, source, G, edges, edge_rates, problem, algorithm)
    if algorithm.enforces_rate_condition and not cfg["run"]["force"]:
        cond = exp.rate_condition()
        if not cond.satisfied:
            raise ConfigError(source, "rates", _rate_hint(cond.describe()))
    return exp

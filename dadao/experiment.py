"""From a validated config to the ``Setup`` of one run.

    cfg = config.load("configs/quickstart.toml")
    setup = experiment.from_config(cfg, source="configs/quickstart.toml")
    setup.describe()       # what `dadao run --dry-run` prints and meta.json records
    setup.config           # the resolved config, "auto" values written as the numbers they became

The sections build the graph (or time-varying list), the problem and the rates; ``dadao.setup
.prepare`` does every check and derivation of the run, the same as for Python objects. Every error
a config can cause is a ``DadaoError`` located in the file and at the config key it came from
(``located``: the argument ``t_max`` of prepare is the key ``run.t_max``), so the command line
prints one line naming both.
"""

from __future__ import annotations

import copy
import dataclasses
import warnings

from dadao import graphs, memory, problems, rates
from dadao.algorithms import get_algorithm
from dadao.config import AUTO
from dadao.errors import ConfigError, DadaoError, GraphError, ProblemError, RateError
from dadao.rates.optimal.costs import load_costs_csv
from dadao.setup import Setup, is_synchronous, prepare

#: field of an error of ``graphs.family_graph`` / ``family_sequence`` -> the [graph] key
GRAPH_KEYS = {"n": "graph.n", "p": "graph.p", "radius": "graph.radius", "rows": "graph.rows",
              "cols": "graph.cols", "seed": "graph.seed", "K": "graph.time_varying"}

#: argument of ``prepare`` (or of the run arguments) -> the config key it comes from
CONFIG_KEYS = {
    "t_max": "run.t_max", "log_every": "run.log_every", "seed": "run.seed",
    "engine": "run.engine", "switch_period": "graph.switch_period", "graph": "graph",
    "edges": "graph", "edge_rates": "rates", "rates": "rates", "x0": "run",
    "options": "algorithm", "solver": "rates.solver", "method": "rates.method",
    "node_caps": "rates.node_cap", "force": "run.force", "costs": "rates.costs_path",
}


def located(exc: DadaoError, source: str) -> DadaoError:
    """``exc`` naming the config file and the config key of its field."""
    field = exc.field or ""
    key = CONFIG_KEYS.get(field.split("[", 1)[0], field) if field else None
    hint = (" (or set run.force = true to run anyway)"
            if isinstance(exc, RateError) and "is broken" in exc.message else "")
    return exc.located(field=key, file=source, hint=hint)


def from_config(cfg: dict, source: str = "config", group=None) -> Setup:
    """The setup of a validated config (``dadao.config.load``); see the module docstring.

    The setup's ``config`` has the computed values written in place of "auto" (the problem's
    form and reg, a time-varying graph's switch period), so it rebuilds the same run. Warnings
    raised while building (a sparse random graph made connected, a long horizon) are issued
    once each, and only for a config that is accepted: a refused one gets its one error line.

    ``group``: the processes that run it (``dadao.engines.base.Group``); on the ranks of an MPI
    job each builds its own nodes' problem data only where ``dadao.engines.mpi.rank_data``
    says so (collective then).
    """
    cfg = copy.deepcopy(cfg)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            setup = _build_setup(cfg, group)
        except DadaoError as exc:
            raise located(_with_rates_file(exc, cfg["rates"]), source) from None
    _reissue(caught)
    if cfg["graph"].get("switch_period") == AUTO and setup.args.switch_period is not None:
        cfg["graph"]["switch_period"] = setup.args.switch_period
    return dataclasses.replace(setup, config=cfg, source=source)


def _reissue(caught) -> None:
    """Warn again each distinct (category, text) of ``caught``, in order."""
    seen = set()
    for w in caught:
        key = (w.category, str(w.message))
        if key not in seen:
            seen.add(key)
            warnings.warn(str(w.message), w.category, stacklevel=3)


def _with_rates_file(exc: DadaoError, rcfg: dict) -> DadaoError:
    """A rate error about explicit rates (disconnected, below the condition) names their file."""
    if isinstance(exc, RateError) and rcfg["kind"] == "explicit" and \
            exc.field in (None, "rates", "edge_rates"):
        return exc.located(field="rates.path", hint=f" (rates of {rcfg['path']})")
    return exc


def _build_setup(cfg: dict, group=None) -> Setup:
    """The graph, the problem and the rates of the sections, then ``prepare``; on MPI ranks that
    build their own nodes' data, the problem's numbers first (from contiguous blocks of nodes,
    whose data is then dropped), and once the partition is known, each rank's nodes."""
    graph = build_graph(cfg["graph"])
    n = (graph[0] if isinstance(graph, list) else graph).number_of_nodes()
    algorithm = get_algorithm(cfg["algorithm"]["name"])
    conjugate = bool(getattr(algorithm, "needs_conjugate", False))
    comm = _rank_data_comm(cfg, algorithm, group, n)
    ranks = 1 if comm is None else comm.size
    require_problem_memory(cfg["problem"], n, algorithm, held=-(-n // ranks))
    if comm is None:
        problem = build_problem(cfg["problem"], n, conjugate=conjugate)
    else:
        from dadao.engines import mpi
        from dadao.problems.shards import summary_of

        problem = mpi.collectively(comm, lambda: summary_of(build_problem(
            cfg["problem"], n, conjugate=conjugate, shard=mpi.first_shard(comm, n))))
    for key, value in problem.params.items():
        if key in cfg["problem"] and cfg["problem"][key] == AUTO:
            cfg["problem"][key] = value
    if is_synchronous(algorithm):
        algorithm.check_problem(problem)  # before any rate: the refusal is about the problem
    lam, detail = build_rates(cfg["rates"], graph, algorithm, timing=cfg.get("timing"),
                              dim=problem.dim, seed=cfg["run"]["seed"])
    run = cfg["run"]
    period = cfg["graph"].get("switch_period", AUTO)
    options = {k: v for k, v in cfg["algorithm"].items() if k != "name"}
    setup = prepare(graph, problem, algorithm=algorithm,
                   rates="auto" if lam is None else lam, t_max=run["t_max"],
                   seed=run["seed"], log_every=run["log_every"], force=run["force"],
                   options=options,
                   switch_period=None if (period == AUTO or is_synchronous(algorithm))
                   else period,
                   engine=run["engine"], rates_kind=cfg["rates"]["kind"],
                   rates_detail=detail, family=cfg["graph"]["family"],
                   constants=cfg["graph"].get("constants", "auto"))
    if comm is None:
        return setup
    del problem  # the summary: the rank's own nodes' problem replaces it
    return mpi.collectively(comm, lambda: mpi.with_rank_data(setup, comm, lambda shard: (
        build_problem(cfg["problem"], n, conjugate=conjugate, shard=shard))))


def _rank_data_comm(cfg: dict, algorithm, group, n: int):
    """The communicator of the ranks when each builds its own nodes' data, else None (also
    with more ranks than nodes: the engine's check refuses that job in its own words)."""
    if group is None or getattr(group, "size", 1) < 2 or cfg["run"]["engine"] != "mpi":
        return None
    if group.size > n:
        return None
    from dadao.engines import mpi

    return group.comm if mpi.rank_data(cfg, algorithm, group.size) else None


def build_graph(gcfg: dict):
    """The graph (an EdgeGraph of ``dadao.graphs.family_graph``, or the networkx graph of an
    edge-list file), or the list of graphs of a time-varying config."""
    K = gcfg.get("time_varying", 0)
    if gcfg["family"] == "file":
        if K >= 2:
            raise ConfigError("needs a random family, not a file (a file gives one graph)",
                              field="graph.time_varying")
        try:
            return graphs.load_edge_list(gcfg["path"])
        except GraphError as exc:
            raise exc.located(field="graph.path") from None
    params = {k: v for k, v in gcfg.items()
              if k not in ("family", "n", "time_varying", "switch_period") and v != AUTO}
    seed = params.pop("seed", None)
    try:
        if K >= 2:
            if gcfg["family"] not in ("erdos_renyi", "random_geometric"):
                raise ConfigError(f"needs a random family (erdos_renyi or random_geometric): "
                                  f"{gcfg['family']} would give {K} copies of one graph",
                                  field="graph.time_varying")
            return graphs.family_sequence(gcfg["family"], gcfg["n"], K, seed=seed, **params)
        return graphs.family_graph(gcfg["family"], gcfg["n"], seed=seed, **params)
    except GraphError as exc:
        raise exc.located(field=GRAPH_KEYS.get(exc.field, "graph")) from None


def require_problem_memory(pcfg: dict, n: int, algorithm, held: int | None = None) -> None:
    """Refuse a problem (and the run's state) that cannot fit in memory, before its data is
    drawn, naming the key that makes it large (``dadao.memory`` has the formulas); a LIBSVM
    problem is checked by its reader, once the file has given its size. ``held``: the nodes
    whose data this process builds (an MPI rank's share; default all n)."""
    kind = pcfg["kind"]
    if kind == "libsvm":
        return
    d, m = pcfg["dim"], pcfg.get("samples_per_node", 1)
    form = pcfg.get("form", "auto")
    need = memory.problem_bytes(kind, n if held is None else held, d, m,
                                form if form != AUTO else "auto")
    need += memory.algorithm_state_bytes(algorithm, n, d)
    # the samples make a rows problem large when there are more of them than dimensions
    key = "problem.samples_per_node" if "samples_per_node" in pcfg and m > d else "problem.dim"
    memory.require(need, f"the {kind} problem of n = {n:,} nodes in dimension {d:,}"
                   + (f" with {m:,} samples per node" if "samples_per_node" in pcfg else "")
                   + f" and the state of {algorithm.name}", ProblemError, field=key)


def build_rates(rcfg: dict, graph, algorithm, *, timing=None, dim=1, seed=0):
    """(the ``rates`` argument of prepare, or None for the method's own; what the record says of
    optimal rates, or None). ``timing``, ``dim``, ``seed``: the [timing] section, the problem's
    dimension and the run's seed, for costs from the timing model."""
    kind = rcfg["kind"]
    if is_synchronous(algorithm):
        if kind != "auto":
            raise ConfigError(f"{algorithm.name} is synchronous: every round activates every "
                              f"edge, so it takes no edge rates; remove [rates] or set kind = "
                              f"\"auto\"", field="rates.kind")
        return None, None
    if kind in ("auto", "theory"):
        return (None if kind == "auto" else "theory"), None
    if kind == "uniform":
        return rcfg["total"], None
    if isinstance(graph, list):
        raise ConfigError(f"{kind} rates need a static graph (graph.time_varying = 0)",
                          field="rates.kind")
    edges = graphs.edge_array(graph)
    if kind == "sdp":
        result = optimal_rates_for(rcfg, graph, timing=timing, dim=dim, seed=seed)
        summary = result.summary()
        detail = {k: summary[k] for k in ("method", "solver", "status", "label", "exact",
                                           "saving", "uniform_total", "solve_time_s",
                                           "from_cache", "total_cost", "uniform_total_cost",
                                           "cost_saving") if k in summary}
        return result.rates, detail
    try:
        return rates.load_rates_csv(rcfg["path"], edges), None
    except RateError as exc:
        raise exc.located(field="rates.path") from None


def optimal_rates_for(rcfg: dict, graph, *, timing=None, dim=1, seed=0):
    """The verified optimal rates of ``[rates] kind = "sdp"`` (cached on disk by graph and
    method; see dadao.rates.optimal). With ``costs_path``, the rates of least total link busy
    time sum_e c_e lambda_e (dadao.rates.optimal.costs)."""
    edges = graphs.edge_array(graph)
    costs = None
    if rcfg.get("costs_path", AUTO) != AUTO:
        path = rcfg["costs_path"]
        try:
            costs = load_costs_csv(path, edges, field="rates.costs_path")
        except ConfigError as exc:  # the config file will be named in its place: name this one
            raise exc.located(hint=f" (costs file {path})") from None
    if rcfg.get("costs_from_timing"):
        costs = timing_costs(rcfg, graph, timing, dim, seed)
    return rates.optimal_rates(edges, graph.number_of_nodes(),
                               method=rcfg["method"],
                               solver=None if rcfg["solver"] == AUTO else rcfg["solver"],
                               node_caps=None if rcfg["node_cap"] == AUTO else rcfg["node_cap"],
                               costs=costs)


def timing_costs(rcfg: dict, graph, timing, dim: int, seed: int):
    """Each edge's mean exchange time (seconds) under the [timing] section: the costs of
    ``rates.costs_from_timing`` (``dadao.rates.optimal.costs.costs_from_links``)."""
    from dadao.rates.optimal.costs import costs_from_links
    from dadao.timing.model import TimingModel

    if rcfg.get("costs_path", AUTO) != AUTO:
        raise ConfigError("give costs_path or costs_from_timing, not both",
                          field="rates.costs_from_timing")
    if timing is None:
        raise ConfigError("needs a [timing] section (or run.engine = \"timing\")",
                          field="rates.costs_from_timing")
    edges = graphs.edge_array(graph)
    model = TimingModel.from_section(timing, n=graph.number_of_nodes(), d=dim, edges=edges,
                                     seed=seed)
    try:
        return costs_from_links(model.links, edges, model.vector_bytes)
    except DadaoError as exc:
        raise exc.located(field="rates.costs_from_timing") from None


def build_problem(pcfg: dict, n: int, conjugate: bool = True, shard=None) -> problems.Problem:
    """The [problem] section's problem on n nodes; ``conjugate`` False leaves out the
    inverses H_i^{-1} that only methods evaluating grad f_i^* use (n d^2 numbers); ``shard``:
    the nodes this process builds (``dadao.problems.shards``)."""
    params = {k: v for k, v in pcfg.items() if k not in ("kind",) and v != AUTO}
    seed = params.pop("seed")
    return problems.make_problem(pcfg["kind"], n, seed=seed, conjugate=conjugate, shard=shard,
                                 **params)

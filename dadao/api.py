"""The one-call Python API: graph(s), rates, problem, algorithm, horizon, seed -> Trace.

Whatever the method, ``simulate`` returns the same ``Trace``: asynchronous methods run on the
compiled event engine (``dadao.engines.inprocess``), synchronous ones (ADOM+, MSDA, OPAPC, EXTRA,
DIGing, DGD) on rounds of local steps and gossip (``dadao.engines.synchronous``).
"""

from __future__ import annotations

import numbers

import networkx as nx

from dadao import graphs, rates as rates_mod
from dadao.algorithms import get_algorithm


def is_synchronous(algo) -> bool:
    """Synchronous methods advance in rounds (``step``); asynchronous ones react to events."""
    return hasattr(algo, "step")


def _graph_list(graph) -> list[nx.Graph]:
    return list(graph) if isinstance(graph, (list, tuple)) else [graph]


def edge_rates_for(graph, rates="auto", algorithm="dadao"):
    """Per-edge rates in ``graphs.edge_array`` order (a list of arrays for a list of graphs).

    ``rates`` is "auto" (the method's own default: DADAO's theory rates, n/2 in total for the
    Continuized and gossip methods), "theory" (DADAO's uniform theory rates, chi_1 chi_2 = 1/2;
    on a time-varying list, with the worst-case chi's), a float (uniform rates with that total on
    every graph), a mapping {(u, v): rate} or a sequence in edge order (one static graph; for a
    list of graphs, a list of such, one per graph).
    """
    from dadao.engines.arguments import sequence_theory_rates

    algo = get_algorithm(algorithm) if isinstance(algorithm, str) else algorithm
    items = _graph_list(graph)
    n = items[0].number_of_nodes()
    edges = [graphs.edge_array(G) for G in items]
    sequence = isinstance(graph, (list, tuple))
    if isinstance(rates, str):
        if rates not in ("auto", "theory"):
            raise ValueError(f"rates: unknown choice {rates!r}; use 'auto', 'theory', a total "
                             "rate, a mapping {(u, v): rate} or a sequence in edge order")
        default = getattr(algo, "default_rates", None)
        if rates == "theory" or default is None or algo.enforces_rate_condition:
            out = (sequence_theory_rates(edges, n) if sequence
                   else [rates_mod.theory_rates(edges[0], n)])
        else:
            out = [default(e, n) for e in edges]
    elif isinstance(rates, numbers.Real) and not isinstance(rates, bool):
        out = [rates_mod.uniform_rates(e, float(rates)) for e in edges]
    elif sequence:
        if not (isinstance(rates, (list, tuple)) and len(rates) == len(edges)):
            raise ValueError(f"rates: a list of {len(edges)} graphs needs 'auto', 'theory', a "
                             f"total rate or a list of {len(edges)} per-edge rate arrays")
        out = [rates_mod.explicit_rates(e, r) for e, r in zip(edges, rates)]
    else:
        out = [rates_mod.explicit_rates(edges[0], rates)]
    return out if sequence else out[0]


ENGINES = ("inprocess", "mpi")


def simulate(graph, problem, *, rates="auto", algorithm="dadao", t_max: float, seed: int = 0,
             engine: str = "inprocess", **options):
    """Simulate ``algorithm`` on ``problem`` over ``graph`` until ``t_max``; return a Trace.

    ``graph`` is a connected networkx graph on the nodes 0..n-1, or a list of them (a
    time-varying graph, for the methods that support one). Time is in expected gradient steps per
    node (an iteration of a synchronous method). ``rates``: see ``edge_rates_for`` (asynchronous
    methods only). ``options`` go to the engine: log_every, x0, progress, options (overrides of
    the method's constants) and, asynchronous only, grad_rates, force, switch_period.

    ``engine``: "inprocess" (one process) or "mpi" (every rank of the MPI job calls this with
    the same arguments; the root gets the Trace, equal to the in-process one, the others None;
    ``comm`` may name another communicator than COMM_WORLD; see ``dadao.engines.mpi``).
    """
    from dadao.engines import inprocess, synchronous

    if engine not in ENGINES:
        raise ValueError(f"engine: unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
    if engine == "mpi":
        from dadao.engines import mpi

        sync_engine, async_engine = mpi.simulate_synchronous, mpi.simulate
    else:
        if "comm" in options:
            raise ValueError("comm: only the mpi engine takes a communicator")
        sync_engine, async_engine = synchronous.simulate, inprocess.simulate

    algo = get_algorithm(algorithm) if isinstance(algorithm, str) else algorithm
    items = _graph_list(graph)
    for G in items:
        graphs.check_connected(G)
        if G.number_of_nodes() != problem.n:
            raise ValueError(f"the graph has {G.number_of_nodes()} nodes but the problem "
                             f"has {problem.n}")
    if is_synchronous(algo):
        if not (isinstance(rates, str) and rates == "auto"):
            raise ValueError(f"rates: {algo.name} is synchronous: every round activates every "
                             "edge, so it takes no edge rates")
        return sync_engine(problem, graph, algorithm=algo, t_max=t_max, seed=seed, **options)
    edges = ([graphs.edge_array(G) for G in items] if isinstance(graph, (list, tuple))
             else graphs.edge_array(graph))
    return async_engine(problem, edges, edge_rates_for(graph, rates, algo), algorithm=algo,
                        t_max=t_max, seed=seed, **options)


__all__ = ["simulate", "edge_rates_for", "is_synchronous"]

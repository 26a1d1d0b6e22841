"""The one-call Python API: graph, rates, problem, algorithm, horizon, seed -> Trace."""

from __future__ import annotations

import numbers

import networkx as nx
import numpy as np

from dadao import graphs, rates as rates_mod
from dadao.engines import inprocess


def edge_rates_for(graph: nx.Graph, rates="theory") -> np.ndarray:
    """Per-edge rates in ``graphs.edge_array(graph)`` order.

    ``rates`` is "theory" (DADAO's uniform theory rate, chi_1 chi_2 = 1/2), a float (uniform
    rates with that total), a mapping {(u, v): rate}, or a sequence in edge order.
    """
    edges = graphs.edge_array(graph)
    if isinstance(rates, str):
        if rates != "theory":
            raise ValueError(f"rates: unknown choice {rates!r}; use 'theory', a total rate, "
                             "a mapping {(u, v): rate} or a sequence in edge order")
        return rates_mod.theory_rates(edges, graph.number_of_nodes())
    if isinstance(rates, numbers.Real) and not isinstance(rates, bool):
        return rates_mod.uniform_rates(edges, float(rates))
    return rates_mod.explicit_rates(edges, rates)


def simulate(graph: nx.Graph, problem, *, rates="theory", algorithm="dadao", t_max: float,
             seed: int = 0, **options):
    """Simulate ``algorithm`` on ``problem`` over ``graph`` until ``t_max``; return a Trace.

    Time is in expected gradient steps per node. ``options`` go to
    ``dadao.engines.inprocess.simulate`` (log_every, grad_rates, x0, force, progress).
    """
    graphs.check_connected(graph)
    if graph.number_of_nodes() != problem.n:
        raise ValueError(f"the graph has {graph.number_of_nodes()} nodes but the problem "
                         f"has {problem.n}")
    edges = graphs.edge_array(graph)
    return inprocess.simulate(problem, edges, edge_rates_for(graph, rates), algorithm=algorithm,
                              t_max=t_max, seed=seed, **options)

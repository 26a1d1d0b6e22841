"""Runs shared by the MPI tests and their worker (``python tests/mpi_cases.py SPEC OUT`` under
mpiexec): each case is built the same way in the test process (the in-process reference) and on
every rank (the MPI run), from a small dict.
"""

from __future__ import annotations

import json
import os
import sys

import numpy as np

import dadao
from dadao import graphs, problems

#: (case name, spec): the four methods the issue names on a random geometric graph, every other
#: method once, DADAO on a time-varying graph, and DADAO on a graph with a clique (barbell)
CASES = {
    "dadao": dict(algorithm="dadao", graph=("random_geometric", 16), t_max=20.0),
    "continuized": dict(algorithm="continuized", graph=("random_geometric", 16), t_max=20.0),
    "adom_plus": dict(algorithm="adom_plus", graph=("random_geometric", 16), t_max=30.0),
    "msda": dict(algorithm="msda", graph=("random_geometric", 16), t_max=30.0),
    "dadao_time_varying": dict(algorithm="dadao", graph=("random_geometric", 12, 3), t_max=8.0),
    "dadao_barbell": dict(algorithm="dadao", graph=("barbell", 12), t_max=10.0),
    "async_sgd": dict(algorithm="async_sgd", graph=("cycle", 12), t_max=10.0),
    "randomized_gossip": dict(algorithm="randomized_gossip", graph=("cycle", 12), t_max=10.0,
                              problem="averaging"),
    "accelerated_gossip": dict(algorithm="accelerated_gossip", graph=("cycle", 12), t_max=10.0,
                               problem="averaging"),
    "adom_plus_time_varying": dict(algorithm="adom_plus", graph=("random_geometric", 12, 3),
                                   t_max=10.0),
    "adom_plus_mc": dict(algorithm="adom_plus_mc", graph=("cycle", 12), t_max=10.0),
    "opapc": dict(algorithm="opapc", graph=("cycle", 12), t_max=10.0),
    "extra": dict(algorithm="extra", graph=("cycle", 12), t_max=10.0),
    "diging": dict(algorithm="diging", graph=("cycle", 12), t_max=10.0),
    "dgd": dict(algorithm="dgd", graph=("cycle", 12), t_max=10.0),
}


def build(spec: dict):
    """(graph or list of graphs, problem) of a case."""
    family, n, *K = spec["graph"]
    seed = 0 if family in ("random_geometric", "erdos_renyi") else None
    graph = (graphs.graph_sequence(family, n, K[0], seed=0) if K
             else graphs.make_graph(family, n, seed=seed))
    if spec.get("problem") == "averaging":
        problem = problems.averaging(n, 3, seed=2)
    else:
        problem = problems.least_squares(n, 4, samples_per_node=12, seed=1)
    return graph, problem


def run(spec: dict, engine: str):
    graph, problem = build(spec)
    return dadao.simulate(graph, problem, algorithm=spec["algorithm"], t_max=spec["t_max"],
                        seed=5, log_every=spec["t_max"] / 10, engine=engine)


def main(names, out):
    from mpi4py import MPI

    for name in names:
        trace = run(CASES[name], "mpi")
        if MPI.COMM_WORLD.rank == 0:
            np.savez(os.path.join(out, f"{name}.npz"), final_x=trace.final_x,
                     **{f"col_{c}": v for c, v in trace.columns.items()})
            with open(os.path.join(out, f"{name}.json"), "w") as fh:
                json.dump(trace.meta, fh)


if __name__ == "__main__":
    main(sys.argv[1].split(","), sys.argv[2])

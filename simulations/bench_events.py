"""Events per second of the in-process engine running DADAO.

Workloads:
  (a) paper_star300: the authors' reference run: star graph, n = 300, least squares with 100
      samples per node, d = 2, theory rates, t_max = 300 (about 180k events); gradients through
      the 2x2 Hessian (the default form of a least-squares problem with d <= 2 m).
  (a') paper_star300_rows: the same run, each gradient computed from the node's 100 samples as
      the authors' code does.
  (b) rgg1000_d100: random geometric graph, n = 1000, least squares with d = 100 and 200 samples
      per node, theory rates.

The clock starts after compilation (a warm-up run compiles the numba kernels) and after the
problem, graph and rate constants are built; it covers everything the run does: drawing the
schedule, the compiled event loop and the metric samples (log_every = 1). Run on one core:

    python simulations/bench_events.py [--json] [--repeat 3] [--only paper_star300]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time


from dadao import graphs, problems, rates
from dadao.engines import get_engine
from dadao.setup import prepare
from dadao.trace import events_of


def workloads():
    def star300():
        G = graphs.make_graph("star", 300)
        problem = problems.least_squares(300, 2, samples_per_node=100, seed=0)
        return G, problem, 300.0

    def star300_rows():
        # The authors' code computes every gradient from the 100 samples; "paper_star300" lets the
        # problem use its 2x2 Hessian instead (form="auto"). Both are the same f_i.
        G = graphs.make_graph("star", 300)
        problem = problems.least_squares(300, 2, samples_per_node=100, seed=0, form="rows")
        return G, problem, 300.0

    def rgg1000():
        G = graphs.make_graph("random_geometric", 1000, seed=0)
        problem = problems.least_squares(1000, 100, samples_per_node=200, seed=0)
        return G, problem, 10.0

    return {"paper_star300": star300, "paper_star300_rows": star300_rows,
            "rgg1000_d100": rgg1000}


def measure(name, build, repeat):
    G, problem, t_max = build()
    edges = graphs.edge_array(G)
    lam = rates.theory_rates(edges, G.number_of_nodes())
    common = dict(log_every=1.0)
    engine = get_engine("inprocess")
    engine.run(prepare(G, problem, rates=lam, t_max=1.0, seed=99, **common))  # compile
    best = None
    for rep in range(repeat):
        setup = prepare(G, problem, rates=lam, t_max=t_max, seed=rep, **common)
        t0 = time.perf_counter()  # the engine's run: state, clocks, events, samples
        trace = engine.run(setup)
        seconds = time.perf_counter() - t0
        events = events_of(trace.meta)
        if best is None or seconds < best["seconds"]:
            best = {"name": name, "events": events, "seconds": seconds,
                    "events_per_s": events / seconds, "n": problem.n, "dim": problem.dim,
                    "edges": len(edges), "t_max": t_max,
                    "final_dist_ratio": float(trace["dist_to_opt"][-1] / trace["dist_to_opt"][0])}
    return best


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("--repeat", type=int, default=3, help="runs per workload; the best counts")
    parser.add_argument("--only", action="append", help="workload name (repeatable)")
    args = parser.parse_args(argv)
    table = workloads()
    chosen = args.only or list(table)
    results = [measure(name, table[name], args.repeat) for name in chosen]
    if args.json:
        print(json.dumps({"workloads": results, "host": platform.node(),
                          "python": platform.python_version(),
                          "cpu_count": os.cpu_count()}, indent=2))
    else:
        for r in results:
            print(f"{r['name']:>16}: {r['events']:>9,d} events in {r['seconds']:7.3f} s "
                  f"= {r['events_per_s']:>12,.0f} events/s  (n={r['n']}, d={r['dim']}, "
                  f"|E|={r['edges']}, dist ratio {r['final_dist_ratio']:.1e})")


if __name__ == "__main__":
    main()

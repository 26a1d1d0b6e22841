"""DADAO with theory rates on the graphs of docs/model.md's table of graph constants: time,
gradients and communications to reach 1e-8 of the starting dist_to_opt, and the sqrt(kappa)
scaling.

    python simulations/dadao_convergence_table.py [--seeds 3]

Prints two markdown tables (docs/dadao_convergence.md). t r is the time in units of 1/r,
r = sqrt(nu/L).
"""

from __future__ import annotations

import argparse
import math

import numpy as np

import dadao
from dadao import graphs, problems
from dadao.algorithms.dadao import rate_scale

FAMILIES = ("star", "complete", "cycle", "path", "grid_2d", "barbell")


def time_to(problem, G, seed, fraction, horizon_r=200.0, samples=4000):
    r = rate_scale(problem.L, problem.mu)
    t_max = horizon_r / r
    trace = dadao.simulate(G, problem, t_max=t_max, seed=seed, log_every=t_max / samples)
    t = trace.first_time_below("dist_to_opt", fraction)
    if not math.isfinite(t):
        return r, math.inf, math.inf, math.inf
    i = int(np.searchsorted(trace["time"], t))
    return r, t, trace["gradients"][i], trace["communications"][i]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--n", type=int, default=16)
    args = parser.parse_args(argv)
    n = args.n

    print(f"## Time to 1e-8 of start, least squares (d = 5, 50 samples per node), n = {n}, "
          f"mean over {args.seeds} seeds\n")
    print("| graph | kappa | t | t r | gradients | communications | comms per unit time |")
    print("|---|---|---|---|---|---|---|")
    for family in FAMILIES:
        G = graphs.make_graph(family, n)
        rows = []
        for seed in range(args.seeds):
            problem = problems.least_squares(n, 5, samples_per_node=50, seed=seed)
            rows.append((problem.kappa,) + time_to(problem, G, seed, 1e-8))
        kappa, r, t, g, c = np.mean(rows, axis=0)
        print(f"| {family} | {kappa:.1f} | {t:.0f} | {t * r:.0f} | {g:.0f} | {c:.0f} | "
              f"{c / t:.1f} |")

    print(f"\n## Time to 1e-6 of start against kappa, quadratic (d = 4), cycle n = {n}\n")
    print("| kappa | t (mean over seeds) | t r | growth from kappa = 10 |")
    print("|---|---|---|---|")
    G = graphs.make_graph("cycle", n)
    base = None
    for kappa in (10.0, 100.0, 1000.0, 10000.0):
        res = [time_to(problems.quadratic(n, 4, kappa=kappa, seed=s), G, s, 1e-6)
               for s in range(args.seeds)]
        r = res[0][0]
        t = float(np.mean([x[1] for x in res]))
        base = base or t
        print(f"| {kappa:g} | {t:.0f} | {t * r:.0f} | {t / base:.2f} (sqrt predicts "
              f"{math.sqrt(kappa / 10):.2f}) |")


if __name__ == "__main__":
    main()

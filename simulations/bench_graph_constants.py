"""Time the graph constants: sparse path on ~20k-node tori, dense path at n = 2000.

Usage: python3 simulations/bench_graph_constants.py
Each case runs in a fresh subprocess so that its peak memory (ru_maxrss) is its own.
"""

import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CASES = [
    ("torus_2d", 141 * 141, {"rows": 141, "cols": 141}, "sparse"),
    ("torus_2d", 100 * 200, {"rows": 100, "cols": 200}, "sparse"),
    ("random_geometric", 20000, {"seed": 0}, "sparse"),
    ("torus_2d", 2000, {"rows": 40, "cols": 50}, "dense"),
    ("random_geometric", 2000, {"seed": 0}, "dense"),
]

CHILD = r"""
import json, resource, sys, time
import numpy as np
from dadao.graphs import edge_array, make_graph, rate_constants
family, n, params, method = json.loads(sys.argv[1])
G = make_graph(family, n, **params)
edges = edge_array(G)
rates = np.full(len(edges), 1.0 / len(edges))
rate_constants(np.array([[0, 1], [1, 2]]), np.ones(2), 3, method=method)  # load kernels first
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
t0 = time.perf_counter()
c = rate_constants(edges, rates, n, method=method)
seconds = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(dict(E=len(edges), seconds=seconds, peak_mb=peak, base_mb=base, **c)))
"""


def main():
    for family, n, params, method in CASES:
        arg = json.dumps([family, n, params, method])
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            p for p in (ROOT, os.environ.get("PYTHONPATH")) if p))
        out = subprocess.run([sys.executable, "-c", CHILD, arg], check=True, env=env,
                             capture_output=True, text=True).stdout
        r = json.loads(out.strip().splitlines()[-1])
        shape = "x".join(str(params[k]) for k in ("rows", "cols") if k in params) or str(n)
        print(f"{family} {shape:>8} n={n:6d} E={r['E']:6d} {method:6s} "
              f"{r['seconds']:6.2f} s  peak {r['peak_mb']:6.0f} MB (before: {r['base_mb']:.0f} MB)"
              f"  chi_1={r['chi_1']:.6g} chi_2={r['chi_2']:.6g}", flush=True)


if __name__ == "__main__":
    main()

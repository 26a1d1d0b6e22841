"""Time the graph constants chi_1, chi_2 (and lambda_2, lambda_max, every resistance): the sparse
path on ~20k-node graphs, the dense path at n = 2000. Writes docs/graph_constants.md.

    python simulations/bench_graph_constants.py            # pinned to core 0, one thread
    python simulations/bench_graph_constants.py --cpu -1   # unpinned, numba's default threads

Each case runs in a fresh subprocess, so that its peak memory (ru_maxrss) is its own; the case's
wall and CPU seconds are those of ``dadao.graphs.rate_constants`` alone (the interpreter, the
imports and the graph come before the clock starts). The load other processes put on the machine
during the whole run is read from /proc/stat (``machine_load``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time

from machine_load import Load, processor

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOC = os.path.join(ROOT, "docs", "graph_constants.md")

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
cpu0, t0 = time.process_time(), time.perf_counter()
c = rate_constants(edges, rates, n, method=method)
seconds, cpu = time.perf_counter() - t0, time.process_time() - cpu0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(dict(E=len(edges), seconds=seconds, cpu_seconds=cpu, peak_mb=peak, base_mb=base,
                      **c)))
"""


def run_case(case, cpu: int | None) -> dict:
    family, n, params, method = case
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        p for p in (ROOT, os.environ.get("PYTHONPATH")) if p))
    command = [sys.executable, "-c", CHILD, json.dumps([family, n, params, method])]
    if cpu is not None:
        command = ["taskset", "-c", str(cpu)] + command
        env["NUMBA_NUM_THREADS"] = "1"  # one core: the parallel resistance kernel in one thread
    out = subprocess.run(command, check=True, env=env, capture_output=True, text=True).stdout
    r = json.loads(out.strip().splitlines()[-1])
    shape = "x".join(str(params[k]) for k in ("rows", "cols") if k in params) or str(n)
    return dict(r, family=family, shape=shape, n=n, method=method)


def markdown(rows, cpu, load, wall) -> str:
    where = (f"pinned to core {cpu} (`taskset -c {cpu}`, `NUMBA_NUM_THREADS=1`)" if cpu is not None
             else f"unpinned, numba's default threads on {os.cpu_count()} cores")
    lines = [
        "# Graph constants: time and memory",
        "",
        "Written by `python simulations/bench_graph_constants.py` (edit the script, not this "
        f"file); the whole run took {wall:.0f} s.",
        "",
        f"Machine: {processor()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}; {where}. Load from other processes during the run "
        f"(busy jiffies not of this benchmark, /proc/stat): "
        f"{100 * load.get('core', float('nan')):.1f}% of the pinned core, "
        f"{100 * load.get('machine', float('nan')):.1f}% of the machine.",
        "",
        "`dadao.graphs.rate_constants` with uniform rates of total 1 (the Lbar of the paper): "
        "chi_1, chi_2, lambda_2, lambda_max and every effective resistance from one "
        "factorisation (docs/model.md, Graph constants; dadao/graphs/spectral.py). Wall and CPU "
        "seconds are those of that call alone; peak memory is the process's (the interpreter "
        "with numpy, scipy and numba loaded and the graph built: the `before` column).",
        "",
        "| graph | n | edges | method | wall (s) | CPU (s) | peak memory (MB) | before (MB) | "
        "chi_1 | chi_2 |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(f"| {r['family']} {r['shape']} | {r['n']:,} | {r['E']:,} | {r['method']} | "
                     f"{r['seconds']:.2f} | {r['cpu_seconds']:.2f} | {r['peak_mb']:.0f} | "
                     f"{r['base_mb']:.0f} | {r['chi_1']:.6g} | {r['chi_2']:.6g} |")
    lines += ["", "The sparse path's cost is about |E| x (elimination-tree path length x column "
              "length) of the minimum-degree factor of the grounded Laplacian; the dense path's "
              "is one eigendecomposition, O(n^3) time and O(n^2) memory.", ""]
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cpu", type=int, default=0, help="core to pin to (-1: unpinned)")
    p.add_argument("--doc", default=DOC, help=f"markdown to write (default {DOC})")
    args = p.parse_args(argv)
    cpu = None if args.cpu < 0 else args.cpu
    load, t0 = Load(cpu), time.perf_counter()
    rows = []
    for case in CASES:
        r = run_case(case, cpu)
        rows.append(r)
        print(f"{r['family']} {r['shape']:>8} n={r['n']:6d} E={r['E']:6d} {r['method']:6s} "
              f"{r['seconds']:6.2f} s ({r['cpu_seconds']:.2f} s CPU)  peak {r['peak_mb']:6.0f} MB"
              f"  chi_1={r['chi_1']:.6g} chi_2={r['chi_2']:.6g}", flush=True)
    text = markdown(rows, cpu, load.stop(), time.perf_counter() - t0)
    with open(args.doc, "w") as fh:
        fh.write(text)
    print(f"wrote {args.doc}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Time and peak memory of the graph constants chi_1, chi_2 (with lambda_2, lambda_max) at
n = 10^3 ... 10^6 on the torus and the random geometric graph. Writes
docs/bench_graph_constants.md.

    python simulations/bench_graph_constants.py              # pinned to core 0, one thread
    python simulations/bench_graph_constants.py --max-n 100000

Each case is one call of ``dadao.graphs.rate_constants`` with uniform rates of total 1 (the Lbar
of the paper; DADAO's theory rates are these scaled) in a fresh subprocess, so that its peak
memory (ru_maxrss) is its own; wall and CPU seconds are those of the call alone (the
interpreter, the imports, the graph and its edge array come before the clock starts). The
variants, run alternately at each size:

- torus: the closed forms (``lattice_resistances``, ``known_spectra``) against the sparse
  factorisation with the closed forms switched off (what a torus cost before them);
- random geometric: the estimate path (multigrid LOBPCG and the certified bracket of the
  largest resistance) against the exact sparse factorisation.

A case whose CPU time, projected from the previous size with the measured growth (at least n^2
for the factorisations, which grow about so on 2-D graphs, and n for the others), would pass
``--cap`` seconds is not run, and the table says so. The random geometric graph is
``make_graph("random_geometric", n, seed=0)``'s; above 10^5 nodes its edges are built the same
way without networkx (checked equal to make_graph's at n = 2000), since the networkx graph alone
takes minutes and gigabytes at n = 10^6. The load other processes put on the machine during
the run is read from /proc/stat (``machine_load``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import time

from machine_load import Load, processor

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOC = os.path.join(ROOT, "docs", "bench_graph_constants.md")
SIZES = (1_000, 10_000, 100_000, 1_000_000)
VARIANTS = {"torus_2d": ("closed form", "sparse factorisation"),
            "random_geometric": ("estimate", "exact (sparse)")}
#: least growth exponent of each variant's time, for the projections
GROWTH = {"closed form": 1.0, "estimate": 1.0, "sparse factorisation": 2.0,
          "exact (sparse)": 2.0}

CHILD = r"""
import json, math, resource, sys, time
import numpy as np
family, n, variant = json.loads(sys.argv[1])
sys.path.insert(0, sys.argv[2])
from bench_graph_constants import graph_edges
from dadao.graphs import spectral
edges, shape = graph_edges(family, n)
rates = np.full(len(edges), 1.0 / len(edges))
method = "estimate" if variant == "estimate" else ("sparse" if n > 2000 else "dense")
if variant == "sparse factorisation":
    spectral._closed_form_resistances = lambda *a: None
    spectral._closed_form_extremes = lambda *a: None
    method = "sparse"
# compile the kernels first (numba caches them on disk; the first process writes them)
spectral.rate_constants(np.array([[0, 1], [1, 2]]), np.ones(2), 3, method="sparse")
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
cpu0, t0 = time.process_time(), time.perf_counter()
c = spectral.rate_constants(edges, rates, n, method=method)
seconds, cpu = time.perf_counter() - t0, time.process_time() - cpu0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
rec = spectral.constants_record(edges, rates, n, method=method)
print(json.dumps(dict(E=len(edges), shape=shape, seconds=seconds, cpu_seconds=cpu,
                      peak_mb=peak, base_mb=base, record_method=rec["method"],
                      chi_2_interval=(rec.get("chi_2") or {}).get("interval"),
                      chi_1_interval=rec.get("chi_1_interval"), **c)))
"""


def graph_edges(family: str, n: int):
    """(edge array in edge_array order, shape label) of the benchmark's graph on n nodes."""
    from dadao.graphs import edge_array, make_graph

    if family == "torus_2d":
        rows = int(math.isqrt(n))
        while n % rows:
            rows -= 1
        edges = edge_array(make_graph("torus_2d", n, rows=rows, cols=n // rows))
        return edges, f"{rows}x{n // rows}"
    if n <= 100_000:
        return edge_array(make_graph("random_geometric", n, seed=0)), str(n)
    return rgg_edges(n, 0), str(n)


def rgg_edges(n: int, seed: int):
    """The edges of make_graph("random_geometric", n, seed=seed), built without networkx:
    the same draws, components in the same order (by smallest node), the same joining edges."""
    import numpy as np
    import scipy.sparse as sp
    import scipy.sparse.csgraph
    import scipy.spatial

    rng = np.random.default_rng(seed)
    pos = rng.random((n, 2))
    radius = math.sqrt(2.0 * math.log(n) / (math.pi * n))
    pairs = scipy.spatial.cKDTree(pos).query_pairs(radius, output_type="ndarray")
    pairs = pairs.astype(np.int64)
    A = sp.csr_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    k, label = scipy.sparse.csgraph.connected_components(A, directed=False)
    if k > 1:
        order = np.argsort(label, kind="stable")
        starts = np.searchsorted(label[order], np.arange(k + 1))
        comps = [order[starts[i]:starts[i + 1]] for i in range(k)]
        comps.sort(key=lambda c: c[0])  # networkx lists components by their smallest node
        extra = [(int(rng.choice(a)), int(rng.choice(b))) for a, b in zip(comps[:-1], comps[1:])]
        pairs = np.concatenate([pairs, np.array(extra, dtype=np.int64)])
    pairs.sort(axis=1)
    pairs = np.unique(pairs, axis=0)
    return pairs


def run_case(family, n, variant, cpu):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        p for p in (ROOT, os.environ.get("PYTHONPATH")) if p))
    command = [sys.executable, "-c", CHILD, json.dumps([family, n, variant]),
               os.path.dirname(os.path.abspath(__file__))]
    if cpu is not None:
        command = ["taskset", "-c", str(cpu)] + command
        env["NUMBA_NUM_THREADS"] = "1"
    out = subprocess.run(command, check=True, env=env, capture_output=True, text=True).stdout
    return dict(json.loads(out.strip().splitlines()[-1]), family=family, n=n, variant=variant)


def markdown(rows, skipped, cpu, load, wall) -> str:
    where = (f"pinned to core {cpu} (`taskset -c {cpu}`, `NUMBA_NUM_THREADS=1`)" if cpu is not None
             else f"unpinned on {os.cpu_count()} cores")
    lines = [
        "# Graph constants at scale: time and memory",
        "",
        "Written by `python simulations/bench_graph_constants.py` (edit the script, not this "
        f"file); the whole run took {wall:.0f} s. The methods and their error bounds: "
        "[graph_constants.md](graph_constants.md).",
        "",
        f"Machine: {processor()}, {os.cpu_count()} CPUs, Python {platform.python_version()}; "
        f"{where}. Load from other processes during the run (busy jiffies not of this "
        f"benchmark, /proc/stat): {100 * load.get('core', float('nan')):.0f}% of the pinned "
        f"core, {100 * load.get('machine', float('nan')):.0f}% of the machine: wall times are "
        "inflated by about that share, CPU seconds much less.",
        "",
        "`dadao.graphs.rate_constants` with uniform rates of total 1 (the Lbar of the paper), one "
        "fresh process per case, the two variants of each graph alternately. Wall and CPU "
        "seconds are those of that call alone; peak memory is the process's (the interpreter, "
        "numpy, scipy, numba and pyamg loaded and the graph's edge array built: the `before` "
        "column). For the estimate, chi_1 and chi_2 are the upper ends of their intervals "
        "(the relative widths are in the last column).",
        "",
        "| graph | n | edges | variant | wall (s) | CPU (s) | peak memory (MB) | before (MB) | "
        "chi_1 | chi_2 | interval widths (chi_1, chi_2) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        widths = "exact"
        if r["record_method"] == "estimate":
            w1 = r["chi_1_interval"][1] / r["chi_1_interval"][0] - 1
            w2 = r["chi_2_interval"][1] / r["chi_2_interval"][0] - 1
            widths = f"{w1:.1e}, {w2:.1e}"
        lines.append(f"| {r['family']} {r['shape']} | {r['n']:,} | {r['E']:,} | {r['variant']} | "
                     f"{r['seconds']:.2f} | {r['cpu_seconds']:.2f} | {r['peak_mb']:.0f} | "
                     f"{r['base_mb']:.0f} | {r['chi_1']:.6g} | {r['chi_2']:.6g} | {widths} |")
    for family, n, variant, why in skipped:
        lines.append(f"| {family} | {n:,} | | {variant} | not run: {why} | | | | | | |")
    lines += ["", "Where both variants ran, their chi_1 and chi_2 agree to the widths shown "
              "(the estimate's upper ends lie above the exact values by less than those "
              "widths).", ""]
    return "\n".join(lines)


def projected(history, n, exponent):
    """Seconds projected at n from the last two measured sizes (growth at least n^exponent)."""
    if not history:
        return 0.0
    (n1, t1) = history[-1]
    if len(history) >= 2:
        n0, t0 = history[-2]
        if t0 > 0 and t1 > 0:
            exponent = max(exponent, math.log(t1 / t0) / math.log(n1 / n0))
    return t1 * (n / n1) ** exponent


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cpu", type=int, default=0, help="core to pin to (-1: unpinned)")
    p.add_argument("--max-n", type=int, default=SIZES[-1], help="largest n to run")
    p.add_argument("--cap", type=float, default=160.0,
                   help="skip a case projected to take longer than this many CPU seconds")
    p.add_argument("--doc", default=DOC, help=f"markdown to write (default {DOC})")
    args = p.parse_args(argv)
    cpu = None if args.cpu < 0 else args.cpu
    import numpy as np

    from dadao.graphs import edge_array, make_graph
    assert np.array_equal(rgg_edges(2000, 0), edge_array(make_graph("random_geometric", 2000,
                                                                    seed=0)))
    load, t0 = Load(cpu), time.perf_counter()
    rows, skipped, history = [], [], {}
    for n in (s for s in SIZES if s <= args.max_n):
        for family, variants in VARIANTS.items():
            for variant in variants:
                past = history.setdefault((family, variant), [])
                guess = projected(past, n, GROWTH[variant])
                if guess > args.cap:
                    skipped.append((family, n, variant, f"projected {guess:.0f} s CPU from the "
                                    f"smaller sizes, over the {args.cap:.0f} s cap"))
                    print(f"skip {family} n={n} {variant}: projected {guess:.0f} s", flush=True)
                    continue
                r = run_case(family, n, variant, cpu)
                past.append((n, r["cpu_seconds"]))
                rows.append(r)
                print(f"{family} {r['shape']:>10} E={r['E']:9d} {variant:22s} "
                      f"{r['seconds']:7.2f} s ({r['cpu_seconds']:.2f} s CPU) peak "
                      f"{r['peak_mb']:6.0f} MB chi_1={r['chi_1']:.6g} chi_2={r['chi_2']:.6g}",
                      flush=True)
    text = markdown(rows, skipped, cpu, load.stop(), time.perf_counter() - t0)
    with open(args.doc, "w") as fh:
        fh.write(text)
    print(f"wrote {args.doc}")
    write_measured_rows(rows)
    return 0


def write_measured_rows(rows) -> None:
    """The README's Measured rows (``measured``): the largest case of each graph and variant."""
    from measured import write_rows

    largest = {}
    for r in rows:
        largest[(r["family"], r["variant"])] = r
    write_rows("bench_graph_constants", "python simulations/bench_graph_constants.py", [
        {"what": f"chi_1 and chi_2, {r['family']} n = {r['n']:,} ({r['E']:,} edges), "
                 f"{r['variant']}, one core",
         "figure": f"{r['cpu_seconds']:.1f} s CPU, peak {r['peak_mb']:.0f} MB "
                   f"([docs/bench_graph_constants.md](docs/bench_graph_constants.md))"}
        for r in largest.values()])


if __name__ == "__main__":
    sys.exit(main())

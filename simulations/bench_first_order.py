"""Convergence of the first-order optimal rates: iterations, whether a limit stopped it, CPU and
wall time, the total rate, the certified gap and, where the SDP runs, the gap to its optimum.

    python simulations/bench_first_order.py             # pinned to core 0, one thread
    python simulations/bench_first_order.py --quick     # small n only (a minute)

Two variants run side by side, alternating case by case: "new", the method of this tree
(dadao.rates.optimal.first_order: L-BFGS-B on rates with a certified gap), and "old", the method
before issue 15 (L-BFGS on log-rates, 400 iterations), read from git at OLD_COMMIT (skipped with a
note where git or that commit is not there). Both with their default settings. Graphs:
``make_graph(family, n, seed=0)`` for random_geometric and grid_2d at n = 256, 1024, 2048 (grid
32 x 64 at 2048), random_geometric at n = 10^4 (new only: the old dense factor needs 800 MB and
hours there); at n = 16-32 (random geometric, grids, Erdos-Renyi) the SDP (default chain,
Clarabel) gives the optimum the totals are compared with. Each case runs in a fresh subprocess
pinned to one core with one thread (``taskset``, ``NUMBA_NUM_THREADS``, ``OMP_NUM_THREADS``);
CPU and wall seconds are those of the ``first_order`` call alone, and the load other processes
put on the core and the machine during each case is read from /proc/stat (``machine_load``).
Writes docs/bench_first_order.md.
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
DOC = os.path.join(ROOT, "docs", "bench_first_order.md")
# The last commit with the log-rate method (before issue 15's deliverable 4).
OLD_COMMIT = "eed1065aa27af9010bd428d1cea5c6e32e324b28"
OLD_PATH = "dadao/rates/optimal/first_order.py"

SMALL = [("random_geometric", 16, {}), ("random_geometric", 24, {}),
         ("random_geometric", 32, {}), ("grid_2d", 16, {}), ("grid_2d", 25, {}),
         ("erdos_renyi", 24, {}), ("erdos_renyi", 32, {})]
LARGE = [("random_geometric", 256, {}), ("grid_2d", 256, {}),
         ("random_geometric", 1024, {}), ("grid_2d", 1024, {}),
         ("random_geometric", 2048, {}), ("grid_2d", 2048, {"rows": 32, "cols": 64})]
HUGE = [("random_geometric", 10_000, {})]
CASE_TIMEOUT_S = 1800

CHILD = r"""
import json, sys, time, types, warnings
warnings.simplefilter("ignore")
import numpy as np
from dadao import graphs
family, n, params, variant, source = json.loads(sys.argv[1])
G = graphs.make_graph(family, n, seed=0, **params)
edges = graphs.edge_array(G)
if variant == "sdp":
    from dadao.rates.optimal import optimal_rates
    cpu0, t0 = time.process_time(), time.perf_counter()
    r = optimal_rates(edges, n, cache=False)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - t0
    print(json.dumps(dict(E=len(edges), total=r.total, status=r.status, exact=r.exact,
                          solver=r.solver, cpu=cpu, wall=wall)))
    sys.exit(0)
if variant == "new":
    from dadao.rates.optimal import first_order as module
else:
    module = types.ModuleType("old_first_order")
    exec(compile(source, "old_first_order.py", "exec"), module.__dict__)
cpu0, t0 = time.process_time(), time.perf_counter()
lam, status, info = module.first_order(edges, n)
cpu, wall = time.process_time() - cpu0, time.perf_counter() - t0
c = graphs.rate_constants(edges, lam, n)
total = float(lam.sum()) * float(np.sqrt(2.0 * c["chi_1"] * c["chi_2"]))
info = {k: v for k, v in info.items() if isinstance(v, (int, float, str))}
print(json.dumps(dict(E=len(edges), total=total, status=status, cpu=cpu, wall=wall, **info)))
"""


def old_source():
    """The old method's source from git, or None (with the reason printed)."""
    try:
        return subprocess.run(["git", "-C", ROOT, "show", f"{OLD_COMMIT}:{OLD_PATH}"],
                              check=True, capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        print(f"old variant skipped: {exc}", file=sys.stderr)
        return None


def run_case(family, n, params, variant, source, cpu):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        p for p in (ROOT, os.environ.get("PYTHONPATH")) if p))
    command = [sys.executable, "-c", CHILD, json.dumps([family, n, params, variant, source])]
    if cpu is not None:
        command = ["taskset", "-c", str(cpu)] + command
        env.update(NUMBA_NUM_THREADS="1", OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    load = Load(cpu)
    try:
        proc = subprocess.run(command, env=env, capture_output=True, text=True,
                              timeout=CASE_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return {"status": f"timeout ({CASE_TIMEOUT_S} s)", "load": load.stop()}
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["?"])[-1]
        return {"status": f"error: {last[:100]}", "load": load.stop()}
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["load"] = load.stop()
    return out


def shape(family, n, params):
    if "rows" in params:
        return f"{params['rows']} x {params['cols']}"
    if family == "grid_2d":
        side = round(n ** 0.5)
        return f"{side} x {side}"
    return str(n)


def fmt(x, spec, missing="-"):
    return missing if x is None else format(x, spec)


def markdown(rows, cpu, load, wall, have_old) -> str:
    where = (f"pinned to core {cpu} (`taskset -c {cpu}`, one thread)" if cpu is not None
             else f"unpinned on {os.cpu_count()} cores")
    lines = [
        "# First-order optimal rates: convergence",
        "",
        "Written by `python simulations/bench_first_order.py` (edit the script, not this file); "
        f"the whole run took {wall:.0f} s.",
        "",
        f"Machine: {processor()}, {os.cpu_count()} CPUs, Python {platform.python_version()}; "
        f"{where}. Load from other processes during the run (busy jiffies not of this "
        f"benchmark, /proc/stat): {100 * load.get('core', float('nan')):.0f}% of the pinned "
        f"core, {100 * load.get('machine', float('nan')):.0f}% of the machine; per case in the "
        "last column (core / machine). Under load, wall time exceeds CPU time: compare CPU "
        "seconds.",
        "",
        "new: `dadao.rates.optimal.first_order` (L-BFGS-B on the rates, p-norm smoothing with "
        "continuation p = 16 ... 4096, stops on a certified gap of 1e-3 or when a stage stalls; "
        "limits 3000 iterations, 600 s). old: the log-rate L-BFGS before issue 15 (git "
        f"{OLD_COMMIT[:7]}; 400 iterations, 600 s)"
        + ("" if have_old else " -- not run here (git or the commit missing)") + ". "
        "total: sum of the rates after rescaling to chi_1 chi_2 = 1/2, recomputed exactly "
        "(`graphs.rate_constants`). certified gap: 1 - lower bound / total, the lower bound "
        "from the method's dual certificate (new only): the optimum lies in [total (1 - gap), "
        "total]. vs SDP: total / SDP optimum - 1 (default chain, Clarabel), where the SDP runs. "
        "limit hit: the method stopped at its iteration or time limit.",
        "",
        "| graph | n | edges | variant | status | limit hit | iterations | evaluations | "
        "CPU (s) | wall (s) | total | certified gap | vs SDP | load |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        ld = r.get("load", {})
        hit = r.get("status") in ("max_iter", "time_limit")
        total = r.get("total")
        lines.append(
            f"| {r['family']} {r['shape']} | {r['n']:,} | {fmt(r.get('E'), ',')} | "
            f"{r['variant']} | {r.get('status')} | "
            f"{'-' if r['variant'] == 'sdp' else ('yes' if hit else 'no')} | "
            f"{fmt(r.get('iterations'), 'd')} | {fmt(r.get('evaluations'), 'd')} | "
            f"{fmt(r.get('cpu'), '.2f')} | {fmt(r.get('wall'), '.2f')} | "
            f"{fmt(total, '.6f')} | {fmt(r.get('gap'), '.2e')} | "
            f"{fmt(r.get('vs_sdp'), '+.2e')} | "
            f"{100 * ld.get('core', float('nan')):.0f}% / "
            f"{100 * ld.get('machine', float('nan')):.0f}% |")
    lines.append("")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cpu", type=int, default=0, help="core to pin to (-1: unpinned)")
    p.add_argument("--doc", default=DOC, help=f"markdown to write (default {DOC})")
    p.add_argument("--quick", action="store_true", help="small n only")
    p.add_argument("--no-huge", action="store_true", help="skip n = 10^4")
    args = p.parse_args(argv)
    cpu = None if args.cpu < 0 else args.cpu
    source = old_source()
    load, t0 = Load(cpu), time.perf_counter()
    cases = SMALL + ([] if args.quick else LARGE + ([] if args.no_huge else HUGE))
    rows = []
    for k, (family, n, params) in enumerate(cases):
        variants = ["new"] + (["old"] if source is not None and n <= 2048 else [])
        if k % 2:
            variants.reverse()  # alternate which variant runs first
        if (family, n, params) in SMALL:
            variants = ["sdp"] + variants
        sdp_total = None
        for variant in variants:
            r = run_case(family, n, params, variant, source if variant == "old" else None, cpu)
            r.update(family=family, n=n, shape=shape(family, n, params), variant=variant)
            if variant == "sdp" and r.get("exact"):
                sdp_total = r["total"]
            if sdp_total and variant != "sdp" and r.get("total"):
                r["vs_sdp"] = r["total"] / sdp_total - 1.0
            rows.append(r)
            print(f"{family:17s} {n:6d} {variant:4s} {r.get('status')!s:10s} "
                  f"it={r.get('iterations')} cpu={fmt(r.get('cpu'), '.2f')} "
                  f"wall={fmt(r.get('wall'), '.2f')} total={fmt(r.get('total'), '.6f')} "
                  f"gap={fmt(r.get('gap'), '.2e')} vs_sdp={fmt(r.get('vs_sdp'), '+.2e')}",
                  flush=True)
    text = markdown(rows, cpu, load.stop(), time.perf_counter() - t0, source is not None)
    with open(args.doc, "w") as fh:
        fh.write(text)
    print(f"wrote {args.doc}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

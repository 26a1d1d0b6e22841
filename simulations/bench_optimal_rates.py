"""Optimal gossip rates against DADAO's theory-scaled uniform rates: total rate, saving, solve time.

Usage: python simulations/bench_optimal_rates.py [--out docs/optimal_rates.md] [--quick]

Graph families x n in {16, 64, 256, 1024, 2048}. The SDP (method "sdp", Clarabel) runs where an
interior-point solve fits here (n <= 64); the first-order method runs at every n. Each case runs
in a fresh subprocess with a time limit, so a case that is too large reports "timeout" instead of
stalling the table. Results are computed without the cache (cache=False), so the times are solve
times. Writes the markdown table to --out and prints one line per case.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

FAMILIES = ("path", "grid_2d", "barbell", "random_geometric")
SIZES = (16, 64, 256, 1024, 2048)
SDP_MAX_N = 64            # interior point on the 2(n-1) LMI: ~30-140 s at n = 64 here
BARBELL_MAX_N = 256       # barbell n = 1024 has 261,633 edges, n = 2048 has 1,047,553
CASE_TIMEOUT_S = 400

CHILD = r"""
import json, sys, warnings
warnings.simplefilter("ignore")
from dadao import graphs
from dadao.rates.optimal import optimal_rates
family, n, method, solver, params = json.loads(sys.argv[1])
G = graphs.make_graph(family, n, seed=0, **params)
edges = graphs.edge_array(G)
kw = {} if method == "first-order" else {"solver": solver}
r = optimal_rates(edges, n, method=method, cache=False, **kw)
print(json.dumps(dict(E=len(edges), **r.summary())))
"""


def graph_params(family, n):
    if family == "grid_2d":
        side = int(round(n ** 0.5))
        if side * side != n:
            return {"rows": side, "cols": n // side} if n % side == 0 else None
        return {}
    return {}


def run_case(family, n, method, solver):
    params = graph_params(family, n)
    if family == "grid_2d" and params is None:
        params = {"rows": 32, "cols": 64}
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        p for p in (ROOT, os.environ.get("PYTHONPATH")) if p))
    arg = json.dumps([family, n, method, solver, params])
    t0 = time.perf_counter()
    try:
        proc = subprocess.run([sys.executable, "-c", CHILD, arg], env=env, capture_output=True,
                              text=True, timeout=CASE_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return {"status": f"timeout ({CASE_TIMEOUT_S} s)", "wall_s": time.perf_counter() - t0}
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["?"])[-1]
        return {"status": f"error: {last[:120]}", "wall_s": time.perf_counter() - t0}
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["wall_s"] = time.perf_counter() - t0
    return out


def cases(quick):
    sizes = (16, 64) if quick else SIZES
    for family in FAMILIES:
        for n in sizes:
            if family == "barbell" and n > BARBELL_MAX_N:
                continue
            if n <= SDP_MAX_N:
                yield family, n, "sdp", "clarabel"
            yield family, n, "first-order", None


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join(ROOT, "docs", "optimal_rates.md"))
    ap.add_argument("--quick", action="store_true", help="n in {16, 64} only")
    args = ap.parse_args()
    rows = []
    t_all = time.perf_counter()
    for family, n, method, solver in cases(args.quick):
        r = run_case(family, n, method, solver)
        rows.append((family, n, method, solver or "-", r))
        if "total" in r:
            print(f"{family:16s} n={n:5d} E={r['E']:7d} {method:11s} {solver or '-':8s} "
                  f"uniform {r['uniform_total']:11.4f} optimal {r['total']:11.4f} "
                  f"saving {100 * r['saving']:5.1f}% solve {r['solve_time_s']:7.1f} s "
                  f"({r['status']})", flush=True)
        else:
            print(f"{family:16s} n={n:5d} {method:11s} {r['status']}", flush=True)
    minutes = (time.perf_counter() - t_all) / 60
    write_table(args.out, rows, minutes, args.quick)


def write_table(path, rows, minutes, quick):
    cmd = "python simulations/bench_optimal_rates.py" + (" --quick" if quick else "")
    lines = [
        "# Optimal gossip rates against theory-scaled uniform rates",
        "",
        f"Regenerate with `{cmd}` ({minutes:.0f} min on this 2-core machine, shared with other "
        "jobs while it ran, so times are indicative).",
        "",
        "Total rate = sum of edge rates = expected communications per unit time (time in expected "
        "gradient steps per node), after rescaling so that DADAO's condition chi_1 chi_2 = 1/2 "
        "holds; uniform = DADAO's theory rates (the same rate on every edge, saturating the "
        "condition). saving = 1 - optimal / uniform. Every row is verified independently of the "
        "solver (chi_1, chi_2 recomputed by eigendecomposition). Graphs: "
        "`dadao.graphs.make_graph(family, n, seed=0)`; grid_2d at n = 2048 is 32 x 64. sdp = the "
        "two-LMI program with s as a variable, Clarabel; first-order = L-BFGS on the smoothed "
        "log total rate, at most 400 iterations (status max_iter: stopped there, verified but "
        "possibly not optimal, so its saving is a lower bound on the optimum's). The random "
        "geometric radius shrinks with n (expected degree ~2 ln n), so savings across n are not "
        "of the same graph model at the same density. Measured once apart from this table: "
        "1600 iterations instead of 400 moved random_geometric n = 1024 from 59.0% to 59.1% "
        "(287 s) and left grid_2d n = 256 at 12.7% (converged after 285).",
        "",
        "Why the SDP stops at n = 64: the chi_2 LMI is one PSD cone of size 2(n - 1), and an "
        "interior-point method factors a dense block of size svec(2(n - 1)) per iteration "
        "(2,080 at n = 32, 8,001 at n = 64, 130,305 at n = 256), so Clarabel's time grows like "
        "n^6; SCS (operator splitting) needs 1e-7 tolerances to match Clarabel's totals to 1e-4, "
        "and with its default adaptive scaling took minutes, or stopped at optimal_inaccurate, "
        "from n = 24 on. The cone solvers compared, and the default chain (Clarabel, then SCS "
        "with fixed scaling, then first-order for \"sdp\"): docs/sdp_solvers.md. The "
        "first-order method needs no cone solver and runs to n = 2048 and beyond.",
        "",
        "Findings (this table, and the tests in tests/rates/test_optimal.py): the optimum equals "
        "the theory-uniform total on edge-transitive graphs (symmetry) and on paths (no saving "
        "found, by both the SDP and the first-order method); it saves 74% on the barbell of two "
        "8-cliques, 39% on a star of four 4-cliques, 5% on the 4x4 grid and 10% on the 8x8 "
        "grid, 96% on the barbell of two 32-cliques; on random geometric graphs 48% (n = 16), "
        "53-60% (n = 32, seeds 0-2), 58% (n = 64). The rescaled optimum's chi_1/chi_2 split "
        "differs from uniform rates', so \"relaxed\" (AM-GM, chi_1 = chi_2 favoured) and "
        "\"max-connectivity\" (chi_2 ignored) are worse.",
        "",
        "First-order method, measured once apart from this table (random geometric graphs): "
        "SuperLU's many-right-hand-side solves took 0.33 s per call at n = 1024, a dense "
        "Cholesky factor of the grounded Laplacian and its solves 0.13 s per whole evaluation "
        "at n = 1024 and 0.32 s at n = 2048, hence the dense factor above "
        "FIRST_ORDER_DENSE_MAX_N = 400 nodes; its memory is O(n^2), 32 MB at n = 2048.",
        "",
        "Reading a result: `OptimalRates.status` is \"optimal\" for a cone solve and "
        "\"converged\", \"max_iter\" or \"time_limit\" for the first-order method (stopped on "
        "its tolerances, at its iteration limit, at its time limit); `label` says the same for "
        "a person, e.g. \"optimal (clarabel)\" or \"stopped at its iteration limit (400 "
        "iterations); an upper bound on the least total rate\"; `exact` is True only for the "
        "exact program (\"sdp\", \"sdp-search\") solved to optimal, otherwise the total is an "
        "upper bound on the least total; `method` and `solver` say what produced the rates, "
        "`requested_method` and `requested_solver` what was asked, and `info[\"attempts\"]` "
        "every (solver, method, status, seconds) the default chain tried (docs/sdp_solvers.md).",
        "",
        "| graph | n | E | method | uniform total | optimal total | saving | solve time (s) "
        "| status |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for family, n, method, solver, r in rows:
        name = method if solver == "-" else f"{method} ({solver})"
        if "total" in r:
            lines.append(f"| {family} | {n} | {r['E']} | {name} | {r['uniform_total']:.4f} | "
                         f"{r['total']:.4f} | {100 * r['saving']:.1f}% | "
                         f"{r['solve_time_s']:.1f} | {r['status']} |")
        else:
            lines.append(f"| {family} | {n} | | {name} | | | | | {r['status']} |")
    lines += ["", "## Largest n each method handled in this run", ""]
    for method in ("sdp", "first-order"):
        done = [(n, r["solve_time_s"]) for _, n, m, _, r in rows if m == method and "total" in r]
        if done:
            n_max = max(n for n, _ in done)
            worst = max(t for n, t in done if n == n_max)
            lines.append(f"- {method}: n = {n_max} (slowest solve at that n: {worst:.0f} s)")
    lines += ["", f"Python {platform.python_version()}, {platform.machine()}, "
                  f"{os.cpu_count()} CPUs.", ""]
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("\n".join(lines))


if __name__ == "__main__":
    main()

"""Optimal gossip rates against DADAO's theory-scaled uniform rates: total rate, saving, solve time.

Usage: python simulations/bench_optimal_rates.py [--out docs/optimal_rates.md] [--quick]
                                                 [--save FILE.json]
       python simulations/bench_optimal_rates.py --load FILE.json   (write the report again)

Graph families x n in {16, 64, 256, 1024, 2048}. The SDP (method "sdp", Clarabel) runs where an
interior-point solve fits here (n <= 64); the first-order method runs at every n. Each case runs
in a fresh subprocess with one thread and a time limit, so a case that is too large reports
"timeout" instead of stalling the table. Results are computed without the cache (cache=False),
so the times are solve times: wall and CPU seconds of the optimal_rates call, and the load that
other processes put on the core (where the process is pinned to one, e.g. by taskset -c 1) and
on the machine meanwhile (/proc/stat). Writes the markdown table to --out, the README's
Measured row (docs/measured/bench_optimal_rates.json, full runs only) and prints one line per
case.
"""

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, ROOT)

from machine_load import THREAD_ENV, Load, processor  # noqa: E402
from dadao.rates.optimal import first_order as fo  # noqa: E402

FAMILIES = ("path", "grid_2d", "barbell", "random_geometric")
SIZES = (16, 64, 256, 1024, 2048)
SDP_MAX_N = 64            # interior point on the 2(n-1) LMI: its time grows like n^6
BARBELL_MAX_N = 256       # barbell n = 1024 has 261,633 edges, n = 2048 has 1,047,553
# Above the first-order method's own time limit, so that it reports "time_limit" itself.
CASE_TIMEOUT_S = fo.FIRST_ORDER_TIME_LIMIT_S + 300

CHILD = r"""
import json, sys, time, warnings
warnings.simplefilter("ignore")
from dadao import graphs
from dadao.rates.optimal import optimal_rates
family, n, method, solver, params = json.loads(sys.argv[1])
G = graphs.make_graph(family, n, seed=0, **params)
edges = graphs.edge_array(G)
kw = {} if method == "first-order" else {"solver": solver}
# a warm-up solve first, so that the CPU seconds are the solve's, not the imports' (cvxpy,
# the solver, numba's cached kernels)
optimal_rates(graphs.edge_array(graphs.make_graph("path", 4)), 4, method=method, cache=False,
              **kw)
cpu0 = time.process_time()
r = optimal_rates(edges, n, method=method, cache=False, **kw)
cpu = time.process_time() - cpu0
print(json.dumps(dict(E=len(edges), cpu_s=cpu, **r.summary()), default=str))
"""


def graph_params(family, n):
    if family == "grid_2d":
        side = int(round(n ** 0.5))
        if side * side != n:
            return {"rows": side, "cols": n // side} if n % side == 0 else None
        return {}
    return {}


def pinned_core():
    """The core this process is pinned to (taskset -c K), None when it may run on several."""
    cores = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else set()
    return next(iter(cores)) if len(cores) == 1 else None


def run_case(family, n, method, solver, cpu):
    params = graph_params(family, n)
    if family == "grid_2d" and params is None:
        params = {"rows": 32, "cols": 64}
    env = dict(os.environ, **THREAD_ENV, PYTHONPATH=os.pathsep.join(
        p for p in (ROOT, os.environ.get("PYTHONPATH")) if p))
    arg = json.dumps([family, n, method, solver, params])
    load = Load(cpu)
    t0 = time.perf_counter()
    try:
        proc = subprocess.run([sys.executable, "-c", CHILD, arg], env=env, capture_output=True,
                              text=True, timeout=CASE_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return {"status": f"timeout ({CASE_TIMEOUT_S:g} s)", "wall_s": time.perf_counter() - t0,
                "load": load.stop()}
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["?"])[-1]
        return {"status": f"error: {last[:120]}", "wall_s": time.perf_counter() - t0,
                "load": load.stop()}
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["wall_s"] = time.perf_counter() - t0
    out["load"] = load.stop()
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
    ap.add_argument("--save", metavar="FILE.json", help="also write the measurements as JSON")
    ap.add_argument("--load", metavar="FILE.json",
                    help="write the report from measurements saved by --save; solve nothing")
    args = ap.parse_args()
    if args.load:
        with open(args.load, encoding="utf-8") as fh:
            run = json.load(fh)
    else:
        run = measure(args.quick)
        if args.save:
            with open(args.save, "w", encoding="utf-8") as fh:
                json.dump(run, fh, indent=1)
    write_table(args.out, run)
    if not run["quick"]:
        write_readme_row(run)
    print(f"wrote {args.out}")


def measure(quick) -> dict:
    cpu = pinned_core()
    rows = []
    run_load = Load(cpu)
    t_all, c_all = time.perf_counter(), _children_cpu()
    for family, n, method, solver in cases(quick):
        r = run_case(family, n, method, solver, cpu)
        rows.append([family, n, method, solver or "-", r])
        if "total" in r:
            gap = (r.get("info") or {}).get("gap")
            print(f"{family:16s} n={n:5d} E={r['E']:7d} {method:11s} {solver or '-':8s} "
                  f"uniform {r['uniform_total']:11.4f} optimal {r['total']:11.4f} "
                  f"saving {100 * r['saving']:5.1f}% solve {r['solve_time_s']:7.1f} s "
                  f"cpu {r['cpu_s']:7.1f} s ({r['status']}"
                  + (f", gap {gap:.1e}" if isinstance(gap, float) else "") + ")", flush=True)
        else:
            print(f"{family:16s} n={n:5d} {method:11s} {r['status']}", flush=True)
    return {"rows": rows, "quick": quick, "cpu": cpu, "load": run_load.stop(),
            "minutes": (time.perf_counter() - t_all) / 60,
            "cpu_minutes": (_children_cpu() - c_all) / 60,
            "machine": f"{processor()}, {os.cpu_count()} CPUs, {platform.machine()}, Python "
                       f"{platform.python_version()}"}


def _children_cpu() -> float:
    """CPU seconds of the waited-for children (the cases) and of this process."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def command(quick) -> str:
    return "python simulations/bench_optimal_rates.py" + (" --quick" if quick else "")


# ------------------------------------------------------------------------------------------
# Report


def solved(rows):
    """(family, n, method, solver, result) of the rows with a verified total."""
    return [(f, n, m, s, r) for f, n, m, s, r in rows if "total" in r]


def best_saving(rows):
    """{(family, n): the largest saving any method found}."""
    out = {}
    for f, n, _, _, r in solved(rows):
        out[(f, n)] = max(out.get((f, n), -math.inf), r["saving"])
    return out


def _pct(x, digits=1):
    """x as a percentage; one that rounds to zero is 0 (a saving of -0.0% is a solver's
    round-off on a graph where nothing is saved)."""
    if x is None or not math.isfinite(x):
        return "?"
    v = 100 * x
    return f"{0.0 if round(v, digits) == 0 else v:.{digits}f}%"


def _span_pct(values):
    lo, hi = min(values), max(values)
    return _pct(lo) if f"{lo:.3f}" == f"{hi:.3f}" else f"{_pct(lo)}-{_pct(hi)}"


def _gap(r):
    g = (r.get("info") or {}).get("gap")
    return g if isinstance(g, (int, float)) and math.isfinite(g) else None


def findings(rows) -> list[str]:
    """Savings by family and n, and the first-order totals against the SDP's, from this run."""
    best = best_saving(rows)
    parts = []
    for family in FAMILIES:
        found = [(n, _pct(s)) for (f, n), s in sorted(best.items()) if f == family]
        if len({p for _, p in found}) == 1:
            parts.append(f"{family} {found[0][1]} at every n")
        elif found:
            parts.append(f"{family} " + ", ".join(f"{p} (n = {n})" for n, p in found))
    out = ["Findings (this table): the largest saving found at each n is "
           + "; ".join(parts) + "."]
    sdp = {(f, n): r["total"] for f, n, m, _, r in solved(rows) if m == "sdp"
           and r["status"] == "optimal"}
    fo_rows = [(f, n, r) for f, n, m, _, r in solved(rows) if m == "first-order"]
    vs = [r["total"] / sdp[(f, n)] - 1 for f, n, r in fo_rows if (f, n) in sdp]
    gaps = [g for _, _, r in fo_rows if (g := _gap(r)) is not None]
    if vs:
        out.append(f"Where both ran ({len(vs)} graphs), the first-order totals differ from the "
                   f"SDP optimum by at most {max(abs(v) for v in vs):.1e} (relative).")
    if gaps:
        worst = max(((f, n, _gap(r)) for f, n, r in fo_rows if _gap(r) is not None),
                    key=lambda t: t[2])
        out.append(f"Its certified gaps are at most {_pct(worst[2])} ({worst[0]} n = "
                   f"{worst[1]}): at every n the optimum saves at most that much more of the "
                   "uniform total than the first-order rates do.")
    out.append("tests/rates/test_optimal.py checks that paths gain nothing at n = 12, that "
               "edge-transitive graphs gain nothing (by symmetry), and that \"relaxed\" (AM-GM, "
               "chi_1 = chi_2 favoured) and \"max-connectivity\" (chi_2 ignored) are no better "
               "than the SDP: the rescaled optimum's chi_1/chi_2 split differs from uniform "
               "rates'.")
    return [" ".join(out)]


def svec(n):
    m = 2 * (n - 1)
    return m * (m + 1) // 2


def write_table(path, run):
    rows, quick = run["rows"], run["quick"]
    load = run["load"]
    p = fo._P_SCHEDULE
    sdp_labels = [r["label"] for _, _, m, _, r in solved(rows) if m == "sdp"]
    fo_labels = [(n, r["label"]) for _, n, m, _, r in solved(rows) if m == "first-order"]
    lines = [
        "# Optimal gossip rates against theory-scaled uniform rates",
        "",
        f"Regenerate with `{command(quick)}` ({run['minutes']:.0f} min wall, "
        f"{run['cpu_minutes']:.0f} min CPU). Written by simulations/bench_optimal_rates.py: "
        "edit the script, not this file.",
        "",
        f"Machine: {run['machine']}. "
        + (f"Pinned to core {run['cpu']} (taskset), one thread per case. "
           if run["cpu"] is not None else "Not pinned. ")
        + "Load from other processes during the run (busy jiffies not of this benchmark, "
        f"/proc/stat): {_pct((load or {}).get('core'))} of the pinned core, "
        f"{_pct((load or {}).get('machine'))} of the machine; per case in the last column "
        "(core / machine). Under load, wall time exceeds CPU time: compare CPU seconds.",
        "",
        "Total rate = sum of edge rates = expected communications per unit time (time in expected "
        "gradient steps per node), after rescaling so that DADAO's condition chi_1 chi_2 = 1/2 "
        "holds; uniform = DADAO's theory rates (the same rate on every edge, saturating the "
        "condition). saving = 1 - optimal / uniform. Every row is verified independently of the "
        "solver (chi_1, chi_2 recomputed exactly from the final rates, "
        "`dadao.graphs.rate_constants`). Graphs: `dadao.graphs.make_graph(family, n, seed=0)`; "
        "grid_2d at n = 2048 is 32 x 64. The random geometric radius shrinks with n (expected "
        "degree ~2 ln n), so savings across n are not of the same graph model at the same "
        "density. Solve time: wall seconds of the solve (`solve_time_s`); CPU: CPU seconds of the "
        "`optimal_rates` call.",
        "",
        "sdp = the two-LMI program with s as a variable, Clarabel. first-order = "
        "`dadao.rates.optimal.first_order`: L-BFGS-B on the rates, the max and min of the "
        f"objective smoothed by p-norms with continuation p = {p[0]:g}, ..., {p[-1]:g} (each "
        "stage warm-started from the last); it stops when its certified relative gap to the "
        f"optimum is at most {fo.FIRST_ORDER_GAP_TOL:g} or when the last stage stalls (status "
        f"converged), or at its limits ({fo.FIRST_ORDER_MAX_ITER} iterations, "
        f"{fo.FIRST_ORDER_TIME_LIMIT_S:g} s; status max_iter or time_limit). certified gap = 1 "
        "- lower bound / total, the lower bound from the method's dual certificate: the optimum "
        "lies in [total (1 - gap), total], whatever stopped it. Its backend (per evaluation) is a "
        f"dense eigendecomposition up to n = {fo.FIRST_ORDER_EIGH_MAX_N}, a dense Cholesky "
        f"factor and Lanczos up to n = {fo.FIRST_ORDER_DENSE_MAX_N}, a sparse factor and a "
        "working set of edges above; its convergence, against the method it replaced, is "
        "measured in docs/bench_first_order.md.",
        "",
        "Why the SDP stops at n = 64: the chi_2 LMI is one PSD cone of size 2(n - 1), and an "
        "interior-point method factors a dense block of size svec(2(n - 1)) per iteration "
        f"({svec(32):,} at n = 32, {svec(64):,} at n = 64, {svec(256):,} at n = 256), so "
        "Clarabel's time grows like n^6. The cone solvers compared (Clarabel, SCS with adaptive "
        "and with fixed scaling) and the default chain (Clarabel, then SCS with fixed scaling, "
        "then first-order for \"sdp\"): docs/sdp_solvers.md. The first-order method needs no "
        "cone solver.",
        "",
    ] + findings(rows) + [
        "",
        "Reading a result: `OptimalRates.status` is \"optimal\" for a cone solve and "
        "\"converged\", \"max_iter\" or \"time_limit\" for the first-order method (stopped on "
        "its own rules, at its iteration limit, at its time limit); `label` says the same for "
        "a person"
        + (f", e.g. \"{sdp_labels[0]}\"" if sdp_labels else "")
        + (f" or, at n = {fo_labels[-1][0]}, \"{fo_labels[-1][1]}\"" if fo_labels else "")
        + "; `info[\"gap\"]` and `info[\"lower_bound\"]` are the first-order certificate; "
        "`exact` is True only for the exact program (\"sdp\", \"sdp-search\") solved to "
        "optimal, otherwise the total is an upper bound on the least total; `method` and "
        "`solver` say what produced the rates, `requested_method` and `requested_solver` what "
        "was asked, and `info[\"attempts\"]` every (solver, method, status, seconds) the "
        "default chain tried (docs/sdp_solvers.md).",
        "",
        "| graph | n | E | method | uniform total | optimal total | saving | solve time (s) "
        "| CPU (s) | status | iterations | certified gap | load |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for family, n, method, solver, r in rows:
        name = method if solver == "-" else f"{method} ({solver})"
        ld = r.get("load") or {}
        share = f"{_pct(ld.get('core'), 0)} / {_pct(ld.get('machine'), 0)}"
        if "total" in r:
            info = r.get("info") or {}
            it = info.get("iterations", "-") if method == "first-order" else "-"
            gap = _gap(r) if method == "first-order" else None
            lines.append(f"| {family} | {n} | {r['E']} | {name} | {r['uniform_total']:.4f} | "
                         f"{r['total']:.4f} | {_pct(r['saving'])} | "
                         f"{r['solve_time_s']:.1f} | {r['cpu_s']:.1f} | {r['status']} | {it} | "
                         f"{'-' if gap is None else f'{gap:.1e}'} | {share} |")
        else:
            lines.append(f"| {family} | {n} | | {name} | | | | {r['wall_s']:.1f} | | "
                         f"{r['status']} | | | {share} |")
    lines += ["", "## Largest n each method handled in this run", ""]
    for method in ("sdp", "first-order"):
        done = [(n, r["solve_time_s"], r["cpu_s"]) for _, n, m, _, r in solved(rows)
                if m == method]
        if done:
            n_max = max(n for n, _, _ in done)
            worst = max((t, c) for n, t, c in done if n == n_max)
            lines.append(f"- {method}: n = {n_max} (slowest solve at that n: {worst[0]:.0f} s "
                         f"wall, {worst[1]:.0f} s CPU)")
    lines.append("")
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("\n".join(lines))


def write_readme_row(run) -> None:
    """The README's Measured row: the savings by family, and how far each method went."""
    from measured import write_rows

    rows = run["rows"]
    best = best_saving(rows)

    def family(name):
        return [s for (f, _), s in best.items() if f == name]

    bar = ", ".join(f"{_pct(s)} (barbell n = {n})" for (f, n), s in sorted(best.items())
                    if f == "barbell")
    reach = []
    for method, who in (("sdp", "SDP (Clarabel)"), ("first-order", "first-order")):
        ns = [n for _, n, m, _, r in solved(rows) if m == method]
        if ns:
            reach.append(f"{who} to n = {max(ns)}")
    gaps = [g for _, _, m, _, r in solved(rows) if m == "first-order" and (g := _gap(r))
            is not None]
    figure = (f"saving {bar}, {_span_pct(family('grid_2d'))} (grids), "
              f"{_span_pct(family('random_geometric'))} (random geometric), "
              f"{_span_pct(family('path'))} (paths); {', '.join(reach)}"
              + (f", its certified gap at most {_pct(max(gaps))}" if gaps else "")
              + " ([docs/optimal_rates.md](docs/optimal_rates.md))")
    write_rows("bench_optimal_rates", command(run["quick"]),
               [{"what": "optimal per-edge rates against theory-uniform ones, "
                         f"{len(best)} graphs, one core", "figure": figure}])


if __name__ == "__main__":
    main()

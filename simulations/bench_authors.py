"""dadao against the DADAO authors' implementation, side by side on one core, in one run.

The authors' code (github.com/AdelNabli/DADAO, PyTorch) is never vendored and never fetched
here: check it out yourself and point ``--authors`` at the folder, with ``--authors-python``
a Python that has its dependencies (torch, numpy, scipy, networkx, cvxpy, scikit-learn, tqdm).

    python simulations/bench_authors.py --authors ~/src/DADAO --authors-python ~/venvs/torch/bin/python \
        [--t-max 40] [--rounds 2] [--cpu 0] [-o docs/bench_authors.md]

Workload: their DADAO on a star with n = 300 nodes, linear regression with d = 2 and 100
samples per node, their rates (gradient clocks of total rate n, gossip lambda_mix =
sqrt(2 chi_1 chi_2)), t_max time units. Their loop computes each gradient from the node's 100
samples and dist_to_opt after every event, as their ``run_DADAO`` does; ours runs the same
setting (dadao's paper_star300 workload) in both forms: per-sample gradients (``form =
"rows"``, as theirs) and through the 2x2 Hessian (the default), sampling metrics every time
unit. Each side is a fresh subprocess pinned to one core (``--cpu``, default 0) with
``taskset``; the sides alternate,
``--rounds`` times each, and every figure is events per CPU second of the timed part (theirs:
``run_DADAO``; ours: ``Engine.run`` after a warm-up run that compiles), with the share of the
core and of the machine that other processes used meanwhile (/proc/stat).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

from machine_load import Load, processor  # noqa: E402

N = 300
DIM = 2
SAMPLES_PER_NODE = 100

#: their side: builds their data, graph and constants as their main.py does, then times
#: run_DADAO (events = one loss entry per event)
AUTHORS_CHILD = r"""
import json, os, sys, time
sys.path.insert(0, sys.argv[1])
t_max, n, dim, m = float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
import numpy as np, scipy.linalg, torch
from data import create_data, create_K_graphs
from utils import compute_regularity_constants
from cvx_functions import linear_regression
from run_optimizers import run_DADAO
np.random.seed(0); torch.manual_seed(0)
data, labels = create_data(n * m, dim, n, False)
mu, L = compute_regularity_constants(data, False)
list_G, list_W, _, chi_1, chi_2, chi = create_K_graphs(n, "star", K=50)
lamb_mix = float(np.sqrt(2 * chi_1 * chi_2))
f = linear_regression(dim, n, data.shape[1])
A = torch.cat([data[k] for k in range(n)]).numpy()
b = torch.cat([labels[k] for k in range(n)]).squeeze().numpy()
x_star = scipy.linalg.lstsq(A, b)[0].ravel()
cpu0, wall0 = time.process_time(), time.perf_counter()
_, loss, loss_edges = run_DADAO(n, t_max, n, lamb_mix, chi_1, f, mu, L, data, labels, x_star,
                                list_G, False, 1, "bench", "star")
cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
print(json.dumps({"events": len(loss) + len(loss_edges), "cpu_s": cpu, "wall_s": wall,
                  "final_ratio": float(loss_edges[-1] / loss_edges[0]) if loss_edges else None}))
"""

#: our side: dadao's paper_star300 workload in one form, compiled by a warm-up run first
OURS_CHILD = r"""
import json, sys, time
t_max, form = float(sys.argv[1]), sys.argv[2]
from dadao import graphs, problems, rates
from dadao.engines import get_engine
from dadao.setup import prepare
from dadao.trace import events_of
G = graphs.make_graph("star", 300)
problem = problems.least_squares(300, 2, samples_per_node=100, seed=0, form=form)
lam = rates.theory_rates(graphs.edge_array(G), 300)
engine = get_engine("inprocess")
engine.run(prepare(G, problem, rates=lam, t_max=1.0, seed=99, log_every=1.0))
setup = prepare(G, problem, rates=lam, t_max=t_max, seed=0, log_every=1.0)
cpu0, wall0 = time.process_time(), time.perf_counter()
trace = engine.run(setup)
cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
print(json.dumps({"events": events_of(trace.meta), "cpu_s": cpu, "wall_s": wall,
                  "final_ratio": float(trace["dist_to_opt"][-1] / trace["dist_to_opt"][0])}))
"""


def pinned(argv: list[str], cpu: int) -> list[str]:
    return (["taskset", "-c", str(cpu)] if _has_taskset() else []) + argv


def _has_taskset() -> bool:
    from shutil import which
    return which("taskset") is not None


def run_child(argv: list[str], cwd: str, cpu: int) -> dict:
    """One measurement in a fresh process on core ``cpu``, with the foreign load on that core and
    the machine."""
    load = Load(cpu=cpu)
    env = dict(os.environ, PYTHONHASHSEED="0", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    done = subprocess.run(pinned(argv, cpu), cwd=cwd, env=env, capture_output=True, text=True)
    share = load.stop()
    if done.returncode != 0:
        raise SystemExit(f"a measurement failed ({' '.join(argv[:3])} ...):\n{done.stderr[-2000:]}")
    out = json.loads(done.stdout.strip().splitlines()[-1])
    out.update(load_core=share.get("core"), load_machine=share.get("machine"))
    out["events_per_cpu_s"] = out["events"] / out["cpu_s"]
    out["events_per_wall_s"] = out["events"] / out["wall_s"]
    return out


def measure(args) -> dict:
    sides = {
        "authors (PyTorch), per-sample gradients":
            [args.authors_python, "-c", AUTHORS_CHILD, os.path.abspath(args.authors),
             str(args.t_max), str(N), str(DIM), str(SAMPLES_PER_NODE)],
        "dadao, per-sample gradients (form rows)":
            [sys.executable, "-c", OURS_CHILD, str(args.t_max), "rows"],
        "dadao, 2x2 Hessian (default form)":
            [sys.executable, "-c", OURS_CHILD, str(args.t_max), "auto"],
    }
    results = {name: [] for name in sides}
    with tempfile.TemporaryDirectory() as cwd:  # their save_data writes under ./runs
        for _ in range(args.rounds):
            for name, argv in sides.items():  # alternating, one round at a time
                results[name].append(run_child(argv, cwd, args.cpu))
                print(f"{name}: {results[name][-1]['events_per_cpu_s']:,.0f} events/CPU s",
                      file=sys.stderr)
    return results


def table(results: dict, args) -> str:
    authors = [r["events_per_cpu_s"] for r in next(iter(results.values()))]
    lines = [
        "| implementation | events | events per CPU second | events per wall second | "
        f"x authors (per CPU s) | dist_to_opt end / start | foreign load core {args.cpu}, "
        "machine |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, runs in results.items():
        rates = [r["events_per_cpu_s"] for r in runs]
        walls = [r["events_per_wall_s"] for r in runs]
        ratio = [r / a for r, a in zip(rates, authors)]
        loads = ", ".join(f"{r['load_core']:.0%}/{r['load_machine']:.0%}" for r in runs)
        ends = ", ".join("-" if r["final_ratio"] is None else f"{r['final_ratio']:.1e}"
                         for r in runs)
        lines.append(f"| {name} | {runs[0]['events']:,} | {_span(rates)} | {_span(walls)} | "
                     f"{_span(ratio, '{:,.0f}x')} | {ends} | {loads} |")
    return "\n".join(lines)


def _span(values, fmt="{:,.0f}") -> str:
    lo, hi = min(values), max(values)
    return fmt.format(lo) if lo == hi else f"{fmt.format(lo)}-{fmt.format(hi)}"


def document(results: dict, args) -> str:
    command = (f"python simulations/bench_authors.py --authors PATH --authors-python PY "
               f"--t-max {args.t_max:g} --rounds {args.rounds}{cpu_flag(args)}")
    return "\n".join([
        "# dadao against the authors' implementation",
        "",
        "Generated by `simulations/bench_authors.py` (do not edit by hand):",
        "",
        f"    {command}",
        "",
        f"Machine: {processor()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
        f"every run pinned to core {args.cpu}, sides alternating ({args.rounds} rounds), "
        f"{time.strftime('%Y-%m-%d')}.",
        "",
        f"Workload: DADAO on a star of n = {N} nodes, linear regression, d = {DIM}, "
        f"{SAMPLES_PER_NODE} samples per node, theory rates, t_max = {args.t_max:g}. The two "
        "codes draw different random data and events (theirs from numpy's global generator "
        "and scikit-learn's make_regression, ours from the keyed streams of dadao.events): the "
        "figures compare speed on the same setting, not traces. Their loop also evaluates "
        "dist_to_opt after every event, which is part of what it costs as shipped; ours "
        "samples the metrics once per time unit.",
        "",
        table(results, args),
        "",
        "The timed part: theirs is `run_DADAO` (drawing the events, the loop, their per-event "
        "loss); ours is `Engine.run` after a warm-up run that compiled the kernels (drawing "
        "the schedule, the compiled loop, the metric samples). Rates differ between rounds by "
        f"the load other processes put on the machine (last column: share of core {args.cpu} "
        "and of the whole machine busy with other processes during the run).",
        "",
    ])


def write_readme_rows(results: dict, args) -> None:
    """The README's rows: each of our forms against the authors' code, per CPU second."""
    from measured import write_rows

    names = list(results)
    authors = [r["events_per_cpu_s"] for r in results[names[0]]]
    rows = []
    for name in names[1:]:
        ours = [r["events_per_cpu_s"] for r in results[name]]
        ratio = [o / a for o, a in zip(ours, authors)]
        rows.append({
            "what": f"{name} against the authors' PyTorch code, side by side, star n = {N}, "
                    f"d = {DIM}, t_max = {args.t_max:g}",
            "figure": f"{_span(ours)} against {_span(authors)} events per CPU second: "
                      f"{_span(ratio, '{:,.0f}x')} ([docs/bench_authors.md]"
                      f"(docs/bench_authors.md))"})
    write_rows("bench_authors", f"python simulations/bench_authors.py --authors PATH "
               f"--t-max {args.t_max:g} --rounds {args.rounds}{cpu_flag(args)}", rows)


def cpu_flag(args) -> str:
    """The --cpu of the command line, as written in the report (none for the default core)."""
    return "" if args.cpu == 0 else f" --cpu {args.cpu}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--authors", required=True,
                        help="a checkout of github.com/AdelNabli/DADAO (never fetched here)")
    parser.add_argument("--authors-python", default=sys.executable,
                        help="a Python with the authors' dependencies (torch, tqdm, ...)")
    parser.add_argument("--t-max", type=float, default=40.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--cpu", type=int, default=0,
                        help="the core every measurement is pinned to (default 0)")
    parser.add_argument("-o", "--output", help="write the Markdown report here")
    args = parser.parse_args(argv)
    if not os.path.isfile(os.path.join(args.authors, "run_optimizers.py")):
        parser.error(f"--authors: {args.authors} is not a checkout of the authors' code "
                     "(no run_optimizers.py)")
    results = measure(args)
    text = document(results, args)
    if args.output:
        with open(args.output, "w") as fh:
            fh.write(text)
        write_readme_rows(results, args)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Wall-clock time on a modelled cluster: is an asynchronous method worth it, and where?

    python simulations/wall_clock.py              # the committed docs/wall_clock.md, ~10 min
    python simulations/wall_clock.py --quick      # one graph, one seed: a smoke test, ~1 min

DADAO, the Continuized method, ADOM+ with multi-consensus, MSDA, OPAPC and EXTRA on three graphs
of N nodes (a hypercube: well connected; a cycle: poorly connected; a random geometric graph),
least squares, on the timing engine (docs/timing.md). A gradient takes COMPUTE_S seconds on
average (exponential), links take no time unless a scenario says otherwise. Scenarios:

    (a) the idealised cluster;  (b) 10% of the nodes 10 times slower (persistent stragglers);
    (c) link latency from 0.01 to 100 times the mean compute time;  (d) 1% and 10% message loss,
    at a latency of 0.01 mean compute time (without latency a lost message costs a
    synchronous round nothing).

For each (scenario, graph, method, seed) the seconds until dist_to_opt first falls to 1e-6 of
its start (resolved to the sampling grid), within a budget of T_ASYNC units (asynchronous) or
T_SYNC iterations (synchronous). Writes OUT.md (default docs/wall_clock.md) and its figures
in OUT/. Asynchronous methods run with busy_link = "skip": a gossip activation that finds its
link busy is dropped, so a slow link lowers the rate of exchanges instead of queueing ever
older messages.
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import os
import platform
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache

import numpy as np

import dadao
from dadao import graphs, problems
from dadao.algorithms import get_algorithm
from dadao.atomic import write_atomic
from dadao.report import figures
from dadao.setup import is_synchronous

METHODS = ("dadao", "continuized", "adom_plus_mc", "msda", "opapc", "extra")
GRAPHS = ("hypercube", "cycle", "random_geometric")
N = 32
DIM, SAMPLES_PER_NODE = 5, 50
COMPUTE_S = 0.001
LATENCY_RATIOS = (0.01, 0.1, 1.0, 10.0, 100.0)
LOSSES = (0.01, 0.1)
LOSS_LATENCY_RATIO = 0.01
STRAGGLERS = {"stragglers_fraction": 0.1, "stragglers_slowdown": 10.0}
SEEDS = (0, 1, 2)
TARGET = 1e-6
T_ASYNC = 2000.0
T_SYNC = 800.0
WORKERS = 2


@dataclass(frozen=True)
class Scenario:
    name: str       # "a", "b", "c", "d"
    label: str
    timing: tuple   # (key, value) pairs of the [timing] section
    x: float | None = None   # the latency ratio (c) or the loss (d)


def scenarios() -> list[Scenario]:
    base = {"compute_law": "exponential", "compute_mean": COMPUTE_S}
    out = [Scenario("a", "idealised cluster", tuple(base.items())),
           Scenario("b", "10% of nodes 10x slower", tuple({**base, **STRAGGLERS}.items()))]
    for r in LATENCY_RATIOS:
        out.append(Scenario("c", f"latency {r:g} x compute", tuple(
            {**base, "latency_value": r * COMPUTE_S}.items()), r))
    for p in LOSSES:
        out.append(Scenario("d", f"{100 * p:g}% loss, latency {LOSS_LATENCY_RATIO:g} x compute",
                            tuple({**base, "latency_value": LOSS_LATENCY_RATIO * COMPUTE_S,
                                   "loss": "independent", "loss_p": p}.items()), p))
    return out


@dataclass(frozen=True)
class Cell:
    scenario: Scenario
    graph: str
    method: str
    seed: int


@dataclass
class Outcome:
    cell: Cell
    seconds_to_target: float      # inf: not reached within the budget
    budget_s: float               # the wall_time the run reached
    status: str
    curve: tuple | None           # (wall_time, relative dist_to_opt) for the figures
    host_s: float


@lru_cache(maxsize=None)
def make_problem():
    return problems.least_squares(N, DIM, samples_per_node=SAMPLES_PER_NODE, seed=0)


@lru_cache(maxsize=None)
def make_graph(name: str):
    return graphs.make_graph(name, N, seed=0)


def run_cell(cell: Cell) -> Outcome:
    """One run on the timing engine: seconds to TARGET x the starting dist_to_opt."""
    t0 = time.perf_counter()
    algorithm = get_algorithm(cell.method)
    synchronous = is_synchronous(algorithm)
    timing = dict(cell.scenario.timing)
    timing["stragglers_seed"] = cell.seed
    if not synchronous:
        timing["busy_link"] = "skip"
    trace = dadao.simulate(make_graph(cell.graph), make_problem(), algorithm=cell.method,
                           t_max=T_SYNC if synchronous else T_ASYNC,
                           log_every=1.0 if synchronous else 2.0, seed=cell.seed,
                           engine="timing", timing=timing)
    reached = trace.first_time_below("dist_to_opt", TARGET, x="wall_time")
    d = trace["dist_to_opt"]
    keep = slice(None, None, max(1, len(trace) // 400))
    curve = (trace["wall_time"][keep].copy(), (d / d[0])[keep].copy())
    return Outcome(cell, reached, float(trace["wall_time"][-1]), trace.status, curve,
                   time.perf_counter() - t0)


def run_grid(cells: list[Cell], workers: int) -> list[Outcome]:
    done = []
    with multiprocessing.Pool(workers) as pool:
        for outcome in pool.imap_unordered(run_cell, cells, chunksize=1):
            done.append(outcome)
            c = outcome.cell
            print(f"[{len(done)}/{len(cells)}] {c.scenario.label} {c.graph} {c.method} seed "
                  f"{c.seed}: {seconds_text(outcome.seconds_to_target)} ({outcome.host_s:.1f} s)",
                  flush=True)
    return done


# ---------------------------------------------------------------- results

def seconds_text(s: float) -> str:
    if not math.isfinite(s):
        return "not reached"
    if s >= 1.0:
        return f"{s:.3g} s"
    return f"{1e3 * s:.3g} ms"


def median(values) -> float:
    """The median over seeds; inf when more than half never reached the target."""
    v = sorted(values)
    return float(np.median(v)) if v else math.nan


def summary(outcomes, scenario: Scenario, graph: str, method: str) -> tuple[float, list]:
    times = [o.seconds_to_target for o in outcomes
             if o.cell.scenario == scenario and o.cell.graph == graph and o.cell.method == method]
    return median(times), times


def cell_text(times: list, med: float) -> str:
    if not times:
        return "-"
    reached = [t for t in times if math.isfinite(t)]
    if not reached:
        budget = "not reached"
        return budget
    spread = (f" [{seconds_text(min(reached))}, {seconds_text(max(times))}]"
              if len(times) > 1 else "")
    missing = len(times) - len(reached)
    tail = f", {missing}/{len(times)} seeds not reached" if missing else ""
    return f"{seconds_text(med)}{spread}{tail}"


def best(outcomes, scenario, graph, methods) -> tuple[str, float]:
    meds = [(summary(outcomes, scenario, graph, m)[0], m) for m in methods]
    meds = [(t, m) for t, m in meds if not math.isnan(t)]
    if not meds:
        return "-", math.inf
    t, m = min(meds)
    return m, t


def asynchronous(method: str) -> bool:
    return not is_synchronous(get_algorithm(method))


def scenario_table(outcomes, scenario, graph_names, methods) -> list[str]:
    lines = [f"| method | " + " | ".join(graph_names) + " |",
             "|---|" + "---|" * len(graph_names)]
    for m in methods:
        row = [cell_text(summary(outcomes, scenario, g, m)[1], summary(outcomes, scenario, g, m)[0])
               for g in graph_names]
        kind = "async" if asynchronous(m) else "sync"
        lines.append(f"| {m} ({kind}) | " + " | ".join(row) + " |")
    lines.append("| **winner** | " + " | ".join(
        winner_text(outcomes, scenario, g, methods) for g in graph_names) + " |")
    return lines


def winner_text(outcomes, scenario, graph, methods) -> str:
    a_m, a_t = best(outcomes, scenario, graph, [m for m in methods if asynchronous(m)])
    s_m, s_t = best(outcomes, scenario, graph, [m for m in methods if not asynchronous(m)])
    if not math.isfinite(a_t) and not math.isfinite(s_t):
        return "none reached"
    if a_t <= s_t:
        ratio = s_t / a_t if math.isfinite(s_t) else math.inf
        return f"async: {a_m}, {ratio_text(ratio)} faster than {s_m}"
    ratio = a_t / s_t if math.isfinite(a_t) else math.inf
    return f"sync: {s_m}, {ratio_text(ratio)} faster than {a_m}"


def ratio_text(r: float) -> str:
    return "infinitely" if not math.isfinite(r) else f"{r:.2g}x"


def crossover(outcomes, latency_scenarios, graph, methods) -> str:
    """Where the best asynchronous method stops beating the best synchronous one as latency
    grows (or the other way round), from the medians."""
    sides = []
    for sc in latency_scenarios:
        _, a_t = best(outcomes, sc, graph, [m for m in methods if asynchronous(m)])
        _, s_t = best(outcomes, sc, graph, [m for m in methods if not asynchronous(m)])
        sides.append("async" if a_t <= s_t else "sync")
    changes = [(latency_scenarios[k - 1].x, latency_scenarios[k].x, sides[k - 1], sides[k])
               for k in range(1, len(sides)) if sides[k] != sides[k - 1]]
    if not changes:
        return f"{sides[0]} wins at every latency"
    return "; ".join(f"{a} wins up to {lo:g} x compute, {b} from {hi:g} x"
                     for lo, hi, a, b in changes)


# ---------------------------------------------------------------- figures

def latency_figure(outcomes, latency_scenarios, graph_names, methods, path):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(4.2 * len(graph_names), 3.6), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(graph_names), squeeze=False)[0]
    xs = [sc.x for sc in latency_scenarios]
    for ax, g in zip(axes, graph_names):
        for m in methods:
            ys = [summary(outcomes, sc, g, m)[0] for sc in latency_scenarios]
            ys = [y if math.isfinite(y) else np.nan for y in ys]
            ax.loglog(xs, ys, marker="o", linestyle="-" if asynchronous(m) else "--", label=m)
        ax.set_title(g, fontsize="medium")
        ax.set_xlabel("link latency / mean compute time")
        ax.grid(True, which="major", alpha=0.3)
    axes[0].set_ylabel(f"seconds to {TARGET:g} of start (median)")
    axes[-1].legend(fontsize="small")
    figures.save(fig, path)


def straggler_figure(outcomes, scenario_pair, graph, methods, path):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8.4, 3.6), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, 2, squeeze=False)[0]
    for ax, sc in zip(axes, scenario_pair):
        for m in methods:
            runs = [o for o in outcomes if o.cell.scenario == sc and o.cell.graph == graph
                    and o.cell.method == m and o.cell.seed == SEEDS[0]]
            if not runs:
                continue
            t, y = runs[0].curve
            keep = np.isfinite(y) & (y > 0) & (y >= 1e-12)
            ax.semilogy(t[keep], y[keep], linestyle="-" if asynchronous(m) else "--", label=m)
        ax.set_title(f"{graph}: {sc.label}", fontsize="medium")
        ax.set_xlabel("wall-clock time (seconds, timing model)")
        ax.set_xscale("log")
        ax.grid(True, which="major", alpha=0.3)
    axes[0].set_ylabel("dist_to_opt / its start")
    axes[-1].legend(fontsize="small")
    figures.save(fig, path)


# ---------------------------------------------------------------- the document

def markdown(outcomes, args, methods, graph_names, seconds, command, figure_dir) -> str:
    sc = scenarios()
    a, b = sc[0], sc[1]
    lat = [s for s in sc if s.name == "c"]
    loss = [s for s in sc if s.name == "d"]
    seeds = args.seeds
    lines = [
        "# Wall-clock time: where asynchrony pays",
        "",
        f"Generated by `{command}` on {datetime.now(timezone.utc):%Y-%m-%d} "
        f"({platform.node()}, {seconds / 60:.1f} min on {WORKERS} workers); do not edit by hand.",
        "",
        f"Every method on the timing engine (docs/timing.md): n = {N}, least squares "
        f"(d = {DIM}, {SAMPLES_PER_NODE} samples per node), each method's own rates and "
        f"constants. A gradient takes {1e3 * COMPUTE_S:g} ms on average (exponential compute "
        f"times); links take no time unless a scenario says otherwise. Each cell: the "
        f"seconds on the modelled cluster until dist_to_opt first falls to {TARGET:g} of its "
        f"start, median [min, max] over seeds {', '.join(map(str, seeds))}; budget "
        f"{T_ASYNC:g} units ({T_ASYNC * COMPUTE_S:g} s) for the asynchronous methods, "
        f"{T_SYNC:g} iterations for the synchronous ones. Asynchronous methods run with "
        f"`busy_link = \"skip\"` (an activation of a busy link is dropped). Graphs: "
        + ", ".join(f"{g} (|E| = {make_graph(g).number_of_edges()}, chi = "
                    f"{graphs.graph_chi(make_graph(g)):.3g})" for g in graph_names) + ".",
        "",
        "A synchronous iteration waits for the slowest of the n computations (the mean of the "
        f"maximum of {N} exponential draws is H_{N} = {sum(1 / k for k in range(1, N + 1)):.2f} "
        "mean compute times) and then for each of its gossip rounds; an asynchronous node "
        "never waits.",
        "",
        f"## (a) {a.label}", "", *scenario_table(outcomes, a, graph_names, methods), "",
        f"## (b) {b.label}", "", *scenario_table(outcomes, b, graph_names, methods), "",
        f"![dist_to_opt against seconds with and without stragglers]({figure_dir}/"
        f"stragglers_{graph_names[-1]}.png)", "",
        "## (c) link latency", "",
        f"![seconds to {TARGET:g} against latency]({figure_dir}/latency.png)", "",
    ]
    for s in lat:
        lines += [f"### {s.label}", "", *scenario_table(outcomes, s, graph_names, methods), ""]
    lines += ["Crossover (medians, best asynchronous against best synchronous method):", ""]
    lines += [f"- {g}: {crossover(outcomes, lat, g, methods)}" for g in graph_names]
    lines += ["", "## (d) message loss", ""]
    for s in loss:
        lines += [f"### {s.label}", "", *scenario_table(outcomes, s, graph_names, methods), ""]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- command line

def parse(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="the random geometric graph, seed 0: writes wall_clock_quick")
    parser.add_argument("--out", default=None,
                        help="figures in OUT/, the tables in OUT.md (default docs/wall_clock)")
    parser.add_argument("--workers", type=int, default=WORKERS)
    args = parser.parse_args(argv)
    args.seeds = SEEDS[:1] if args.quick else SEEDS
    if args.out is None:
        args.out = "wall_clock_quick" if args.quick else os.path.join("docs", "wall_clock")
    return args


def main(argv=None):
    args = parse(argv)
    graph_names = GRAPHS[-1:] if args.quick else GRAPHS
    command = "python " + " ".join([os.path.relpath(__file__)] + (argv or sys.argv[1:]))
    cells = [Cell(s, g, m, seed) for s in scenarios() for g in graph_names for m in METHODS
             for seed in args.seeds]
    # the slow cells (synchronous methods with many rounds) first, so they do not finish alone
    cells.sort(key=lambda c: (c.method != "adom_plus_mc", c.method in ("dadao", "continuized")))
    start = time.perf_counter()
    outcomes = run_grid(cells, args.workers)
    seconds = time.perf_counter() - start
    os.makedirs(args.out, exist_ok=True)
    sc = scenarios()
    latency_figure(outcomes, [s for s in sc if s.name == "c"], graph_names, METHODS,
                   os.path.join(args.out, "latency.png"))
    straggler_figure(outcomes, sc[:2], graph_names[-1], METHODS,
                     os.path.join(args.out, f"stragglers_{graph_names[-1]}.png"))
    md_path = args.out.rstrip("/") + ".md"
    figure_dir = os.path.relpath(args.out, os.path.dirname(os.path.abspath(md_path)))
    write_atomic(md_path, markdown(outcomes, args, METHODS, graph_names, seconds, command,
                                   figure_dir))
    print(f"{md_path}: written ({seconds / 60:.1f} min)")


if __name__ == "__main__":
    main()

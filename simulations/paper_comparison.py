"""The DADAO paper's comparison: every method on eight graph settings, n = 16 and 64.

    python simulations/paper_comparison.py                 # the committed table, ~10 min
    python simulations/paper_comparison.py --quick         # n = 16, three graphs, ~1 min
    python simulations/paper_comparison.py --n 16 --only dadao continuized

Least squares (every method) and logistic regression (the primal methods), one seed for every
method, a common budget of T_MAX time units (expected gradient steps per node; an iteration of a
synchronous method). Writes OUT.md (default docs/paper_comparison.md): the gradients and
communications each method needed to reach 1e-4 and 1e-8 of its starting dist_to_opt, and
OUT/<problem>_n<N>_<graph>.png: the relative dist_to_opt against gradients and communications.
Counts are resolved to the sampling grid (every SAMPLE_EVERY time units, every iteration for
the synchronous methods).
"""

from __future__ import annotations

import argparse
import io
import math
import multiprocessing
import os
import platform
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import lru_cache

import numpy as np

import dadao
from dadao import graphs, problems
from dadao.algorithms import get_algorithm
from dadao.algorithms.synchronous import UnsupportedProblemError
from dadao.setup import is_synchronous
from dadao.atomic import write_atomic
from dadao.problems.base import ProblemError
from dadao.report import figures
from dadao.trace import Trace

METHODS = ("dadao", "continuized", "async_sgd", "adom_plus", "adom_plus_mc", "msda", "opapc",
           "extra", "diging", "dgd")
ASYNCHRONOUS = ("dadao", "continuized", "async_sgd")
GRAPHS = ("star", "complete", "cycle", "path", "grid_2d", "barbell", "random_geometric",
          "time_varying")
QUICK_GRAPHS = ("star", "cycle", "time_varying")
PROBLEMS = ("least_squares", "logistic")
LEVELS = (1e-4, 1e-8)
#: where the plotted curves stop: two decades past the last level, before round-off floors
PLOT_FLOOR = 1e-10
#: points kept per plotted curve, log-spaced along the trace (the x axes are logarithmic)
PLOT_POINTS = 600
DIM, SAMPLES_PER_NODE = 5, 50
#: the time-varying setting: K random geometric graphs, as in the authors' code
SEQUENCE_LENGTH = 50
T_MAX = 5000.0
SAMPLE_EVERY = 0.5
SEED = 0
WORKERS = 2
#: the hand-written summary of OUT.md lives between these markers and survives regeneration
SUMMARY_BEGIN, SUMMARY_END = "<!-- summary: kept on regeneration -->", "<!-- end of summary -->"
#: fixed colours so a method looks the same in every figure (DADAO black and thicker)
COLOURS = dict(zip(METHODS, ("black", "tab:blue", "tab:cyan", "tab:orange", "tab:brown",
                              "tab:green", "tab:olive", "tab:purple", "tab:pink", "tab:gray")))
LABELS = {"dadao": "DADAO", "continuized": "Continuized", "async_sgd": "async SGD",
          "adom_plus": "ADOM+", "adom_plus_mc": "ADOM+ (multi-consensus)", "msda": "MSDA",
          "opapc": "OPAPC", "extra": "EXTRA", "diging": "DIGing", "dgd": "DGD"}


@dataclass(frozen=True)
class Cell:
    """One run of the grid."""

    problem: str
    n: int
    graph: str
    method: str
    t_max: float


@dataclass
class Outcome:
    """What a run measured: counts at each level (inf: not reached), or why it could not run."""

    cell: Cell
    gradients: dict = field(default_factory=dict)
    communications: dict = field(default_factory=dict)
    not_applicable: str = ""
    status: str = ""
    seconds: float = 0.0
    trace: Trace | None = None  # relative dist_to_opt, cut at PLOT_FLOOR (for the figures)


# ---------------------------------------------------------------- settings (cached per process)

@lru_cache(maxsize=None)
def make_problem(kind: str, n: int):
    maker = problems.least_squares if kind == "least_squares" else problems.logistic
    return maker(n, DIM, samples_per_node=SAMPLES_PER_NODE, seed=SEED)


@lru_cache(maxsize=None)
def make_setting(name: str, n: int):
    """A graph, or for "time_varying" a list of SEQUENCE_LENGTH random geometric graphs."""
    if name == "time_varying":
        return graphs.graph_sequence("random_geometric", n, K=SEQUENCE_LENGTH, seed=SEED)
    return graphs.make_graph(name, n, seed=SEED)


def graph_chi(name: str, n: int) -> float:
    """chi = lambda_max / lambda_2 of the Laplacian; the worst over the list when time-varying."""
    setting = make_setting(name, n)
    return max(graphs.graph_chi(G) for G in (setting if isinstance(setting, list) else [setting]))


# ---------------------------------------------------------------- one run

def run_cell(cell: Cell) -> Outcome:
    """Simulate one (problem, n, graph, method); "n/a" when the method refuses the setting."""
    algo = get_algorithm(cell.method)
    setting = make_setting(cell.graph, cell.n)
    if isinstance(setting, list) and not algo.supports_time_varying:
        return Outcome(cell, not_applicable="static graphs only")
    # a whole iteration is the finest grid of a synchronous method
    log_every = 1.0 if is_synchronous(algo) else SAMPLE_EVERY
    start = time.perf_counter()
    try:
        trace = dadao.simulate(setting, make_problem(cell.problem, cell.n), algorithm=cell.method,
                               t_max=cell.t_max, seed=SEED, log_every=log_every)
    except (ProblemError, UnsupportedProblemError) as exc:  # e.g. dual methods on logistic
        return Outcome(cell, not_applicable=str(exc).split(";")[0])
    return Outcome(cell,
                   gradients={lv: trace.first_time_below("dist_to_opt", lv, x="gradients")
                              for lv in LEVELS},
                   communications={lv: trace.first_time_below("dist_to_opt", lv,
                                                              x="communications")
                                   for lv in LEVELS},
                   status=trace.status, seconds=time.perf_counter() - start,
                   trace=plot_trace(trace))


def plot_trace(trace: Trace) -> Trace:
    """dist_to_opt relative to its start, up to the first sample below PLOT_FLOOR.

    Relative, because the dual methods start at x_i = argmin f_i rather than at 0; cut, so the
    figures show the levels of the table rather than round-off floors."""
    relative = trace["dist_to_opt"] / trace["dist_to_opt"][0]
    below = np.nonzero(relative <= PLOT_FLOOR)[0]
    stop = below[0] + 1 if len(below) else len(relative)
    keep = np.unique(np.geomspace(1, stop, PLOT_POINTS).astype(int) - 1)
    columns = {name: np.array(trace[name][keep]) for name in ("gradients", "communications")}
    columns["dist_to_opt"] = relative[keep]
    return Trace(columns, dict(trace.meta))


def run_grid(cells: list[Cell], workers: int) -> list[Outcome]:
    """Run every cell on a pool; each worker compiles each method's kernels once."""
    done = []
    with multiprocessing.Pool(workers) as pool:
        for outcome in pool.imap_unordered(run_cell, cells, chunksize=1):
            done.append(outcome)
            c = outcome.cell
            what = outcome.not_applicable and "n/a" or f"{outcome.seconds:.1f} s"
            print(f"[{len(done)}/{len(cells)}] {c.problem} n={c.n} {c.graph} {c.method}: {what}",
                  flush=True)
    return done


def grid(ns, graph_names, methods, t_max) -> list[Cell]:
    """Every cell, the largest networks first so the slow runs do not finish the grid alone."""
    return [Cell(p, n, g, m, t_max) for n in sorted(ns, reverse=True) for p in PROBLEMS
            for g in graph_names for m in methods]


# ---------------------------------------------------------------- figures

def write_figure(outcomes: list[Outcome], path: str) -> None:
    """Relative dist_to_opt against gradients and communications, every method of one setting."""
    ran = [o for o in outcomes if o.trace is not None]
    if not ran:
        return
    c = ran[0].cell
    fig = figures.convergence_figure(
        [(o.trace, LABELS[o.cell.method]) for o in ran], xs=("gradients", "communications"),
        title=f"{c.problem.replace('_', ' ')}, {c.graph.replace('_', ' ')}, n = {c.n}")
    for ax in fig.axes:
        for line, o in zip(ax.get_lines(), ran):
            line.set_color(COLOURS[o.cell.method])
            line.set_linewidth(2.2 if o.cell.method == "dadao" else 1.2)
        # counts span orders of magnitude between methods: a log axis shows every curve
        ax.set_xscale("log")
        ax.set_ylim(PLOT_FLOOR / 3, 3.0)
        for level in LEVELS:
            ax.axhline(level, color="red", linewidth=0.6, linestyle=":")
        if ax.get_legend() is not None:
            ax.get_legend().remove()
    fig.axes[0].set_ylabel("dist_to_opt / its start")
    fig.set_size_inches(10.5, 3.6)
    fig.legend(*fig.axes[0].get_legend_handles_labels(), loc="outside right upper",
               fontsize="small")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)  # small PNGs: the repository must stay light
    write_atomic(path, buf.getvalue())


def figure_name(problem: str, n: int, graph: str) -> str:
    return f"{problem}_n{n}_{graph}.png"


# ---------------------------------------------------------------- the markdown

def count_text(value: float) -> str:
    """1216, 13.3k, 2.57M; "—" when the level was not reached within the budget."""
    if not math.isfinite(value):
        return "—"
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if value >= scale:
            return f"{value / scale:.3g}{suffix}"
    return f"{value:.0f}"


def ratio_text(ratio: float) -> str:
    return f"{ratio:.2g}x" if ratio < 10 else f"{ratio:.0f}x"


def cell_text(outcome: Outcome | None, counts: str) -> str:
    if outcome is None:
        return ""
    if outcome.not_applicable:
        return "n/a"
    values = getattr(outcome, counts)
    text = " / ".join(count_text(values[lv]) for lv in LEVELS)
    return text if outcome.status in ("", "completed") else f"{text} ({outcome.status})"


def table(results: dict, problem: str, n: int, graph_names, methods, counts: str) -> list[str]:
    """Rows = graphs, columns = methods, cells "to 1e-4 / to 1e-8"."""
    lines = ["| graph | " + " | ".join(LABELS[m] for m in methods) + " |",
             "|---|" + "---|" * len(methods)]
    for g in graph_names:
        cells = [cell_text(results.get((problem, n, g, m)), counts) for m in methods]
        lines.append(f"| {g} | " + " | ".join(cells) + " |")
    return lines


def ranking_sentence(results: dict, problem: str, n: int, graph: str, methods,
                     counts: str) -> str:
    """One sentence: DADAO's count to 1e-8 against the methods that got there, fewest first."""
    level = LEVELS[-1]
    reached = sorted((getattr(o, counts)[level], m) for m in methods
                     if (o := results.get((problem, n, graph, m))) and not o.not_applicable
                     and math.isfinite(getattr(o, counts)[level]))
    ran = [m for m in methods if (o := results.get((problem, n, graph, m)))
           and not o.not_applicable]
    noun = "gradients" if counts == "gradients" else "communications"
    missed = [LABELS[m] for m in ran if m not in {name for _, name in reached}]
    missed_text = f"; 1e-8 not reached by {', '.join(missed)}" if missed else ""
    if "dadao" not in ran:
        return f"DADAO did not run here{missed_text}."
    best_value, best = reached[0] if reached else (math.inf, None)
    mine = getattr(results[(problem, n, graph, "dadao")], counts)[level]
    if not math.isfinite(mine):
        return (f"In {noun}, DADAO did not reach 1e-8 within the budget; fewest: "
                f"{LABELS[best]} {count_text(best_value)}{missed_text}." if best else
                f"In {noun}, no method reached 1e-8 within the budget.")
    rank = 1 + sum(value < mine for value, _ in reached)
    if rank == 1:
        runner = next(((v, m) for v, m in reached if m != "dadao"), None)
        margin = (f", {ratio_text(runner[0] / mine)} fewer than {LABELS[runner[1]]} "
                  f"({count_text(runner[0])})" if runner else "")
        return (f"In {noun} to 1e-8, DADAO ({count_text(mine)}) is first of "
                f"{len(reached)}{margin}{missed_text}.")
    beaten_by = [LABELS[m] for v, m in reached if v < mine]
    verb = "needs" if len(beaten_by) == 1 else "need"
    return (f"In {noun} to 1e-8, DADAO ({count_text(mine)}) ranks {rank} of {len(reached)}: "
            f"{', '.join(beaten_by)} {verb} fewer, the fewest {LABELS[best]} with "
            f"{count_text(best_value)} ({ratio_text(mine / best_value)} fewer){missed_text}.")


def constants_table(results: dict, ns) -> list[str]:
    lines = ["| problem | n | L | mu | kappa |", "|---|---|---|---|---|"]
    for p in PROBLEMS:
        for n in ns:
            if any(key[:2] == (p, n) for key in results):
                prob = make_problem(p, n)
                lines.append(f"| {p} | {n} | {prob.L:.4g} | {prob.mu:.4g} | {prob.kappa:.4g} |")
    return lines


def graphs_table(graph_names, ns) -> list[str]:
    lines = ["| graph | " + " | ".join(f"E (n = {n}) | chi (n = {n})" for n in ns) + " |",
             "|---|" + "---|---|" * len(ns)]
    for g in graph_names:
        row = []
        for n in ns:
            setting = make_setting(g, n)
            edges = (f"{np.mean([G.number_of_edges() for G in setting]):.0f} (mean)"
                     if isinstance(setting, list) else str(setting.number_of_edges()))
            row += [edges, f"{graph_chi(g, n):.3g}"]
        lines.append(f"| {g} | " + " | ".join(row) + " |")
    return lines


def markdown(results: dict, args, methods, graph_names, seconds: float, command: str,
             figure_dir: str, summary: str) -> str:
    ns = sorted(args.n)
    out = [
        "# The DADAO paper's comparison, reproduced",
        "",
        f"Regenerate with `{command}` ({seconds / 60:.1f} min on this machine: "
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{WORKERS} worker processes; written {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC).",
        "",
        f"- Budget: t_max = {args.t_max:g} time units for every method (expected gradient steps "
        "per node; one iteration of a synchronous method = one gradient per node). \"—\": the "
        "level was not reached within the budget; \"n/a\": the method cannot run that setting "
        "(dual methods need the conjugate of f_i: least squares only; EXTRA, MSDA, OPAPC and the "
        "Continuized method take static graphs only).",
        "- Cells: gradients (or communications: edge activations, each method counted by "
        "its own accounting) summed over the network until dist_to_opt = (1/n) sum_i "
        "||x_i - x*||^2 first falls to 1e-4 / 1e-8 of its own start. Counts are resolved to the "
        f"sampling grid: every {SAMPLE_EVERY:g} time units for the asynchronous methods (about "
        f"{SAMPLE_EVERY:g} n gradients), every iteration (n gradients) for the synchronous ones.",
        f"- Problems (`dadao.problems`, seed {SEED}): least squares and logistic regression, "
        f"d = {DIM}, {SAMPLES_PER_NODE} samples per node, heterogeneous nodes; x0 = 0 (the dual "
        "methods start at the dual point 0, x_i = argmin f_i). Graphs: `make_graph(family, n, "
        f"seed={SEED})` (grid_2d: 4x4 and 8x8; barbell: two cliques of n/2); time_varying: "
        f"`graph_sequence(\"random_geometric\", n, K={SEQUENCE_LENGTH}, seed={SEED})`, switched "
        "every 1 / max_k chi_1 time units for the asynchronous methods and every gossip round "
        "for the synchronous ones. Each method's own default rates and constants (`rates=\"auto\"`: "
        "DADAO theory rates, Continuized and async SGD uniform rates of total n/2). One run seed "
        f"({SEED}) for every method.",
        "- DGD and async SGD use a constant step and converge only to a neighbourhood of x*: "
        "they are not expected to reach 1e-8 (often not 1e-4 either).",
        "",
        "## Summary",
        "",
        SUMMARY_BEGIN,
        summary.strip() or "(no summary written yet)",
        SUMMARY_END,
        "",
        "## Problem and graph constants",
        "",
        *constants_table(results, ns),
        "",
        *graphs_table(graph_names, ns),
    ]
    for p in PROBLEMS:
        for n in ns:
            if not any(key[:2] == (p, n) for key in results):
                continue
            out += ["", f"## {p.replace('_', ' ')}, n = {n}", "",
                    "Gradients to reach 1e-4 / 1e-8 of the start:", "",
                    *table(results, p, n, graph_names, methods, "gradients"), "",
                    "Communications to reach 1e-4 / 1e-8 of the start:", "",
                    *table(results, p, n, graph_names, methods, "communications"), "",
                    "DADAO against the others, per graph:", ""]
            for g in graph_names:
                figure = os.path.join(figure_dir, figure_name(p, n, g))
                out.append(f"- **{g}** ([figure]({figure})). "
                           + ranking_sentence(results, p, n, g, methods, "gradients") + " "
                           + ranking_sentence(results, p, n, g, methods, "communications"))
    return "\n".join(out) + "\n"


def kept_summary(path: str) -> str:
    """The hand-written summary of an earlier OUT.md, so regenerating does not erase it."""
    try:
        with open(path) as fh:
            text = fh.read()
    except FileNotFoundError:
        return ""
    start, end = text.find(SUMMARY_BEGIN), text.find(SUMMARY_END)
    return text[start + len(SUMMARY_BEGIN):end] if 0 <= start < end else ""


# ---------------------------------------------------------------- command line

def parse(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help=f"n = 16, graphs {', '.join(QUICK_GRAPHS)}; writes to "
                             "paper_comparison_quick unless --out is given")
    parser.add_argument("--out", default=None,
                        help="figures in OUT/, the table in OUT.md (default docs/paper_comparison)")
    parser.add_argument("--n", type=int, nargs="+", default=None, help="network sizes (16 64)")
    parser.add_argument("--only", nargs="+", choices=METHODS, default=METHODS, metavar="METHOD",
                        help=f"a subset of: {' '.join(METHODS)}")
    parser.add_argument("--t-max", type=float, default=T_MAX,
                        help=f"budget in time units, common to every method (default {T_MAX:g})")
    args = parser.parse_args(argv)
    if args.n is None:
        args.n = [16] if args.quick else [16, 64]
    if args.out is None:
        args.out = "paper_comparison_quick" if args.quick else os.path.join("docs",
                                                                            "paper_comparison")
    return args


def main(argv=None):
    args = parse(argv)
    methods = [m for m in METHODS if m in args.only]
    graph_names = QUICK_GRAPHS if args.quick else GRAPHS
    command = "python " + " ".join([os.path.relpath(__file__)] + (argv or sys.argv[1:]))
    start = time.perf_counter()
    outcomes = run_grid(grid(args.n, graph_names, methods, args.t_max), WORKERS)
    seconds = time.perf_counter() - start
    results = {(o.cell.problem, o.cell.n, o.cell.graph, o.cell.method): o for o in outcomes}

    os.makedirs(args.out, exist_ok=True)
    for p in PROBLEMS:
        for n in args.n:
            for g in graph_names:
                write_figure([results[(p, n, g, m)] for m in methods],
                             os.path.join(args.out, figure_name(p, n, g)))
    md_path = args.out.rstrip("/") + ".md"
    figure_dir = os.path.relpath(args.out, os.path.dirname(os.path.abspath(md_path)))
    write_atomic(md_path, markdown(results, args, methods, graph_names, seconds, command,
                                   figure_dir, kept_summary(md_path)))
    print(f"wrote {md_path} and {len(args.n) * len(graph_names) * len(PROBLEMS)} figures in "
          f"{args.out} ({seconds / 60:.1f} min)")


if __name__ == "__main__":
    main()

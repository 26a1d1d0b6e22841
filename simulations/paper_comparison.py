"""The DADAO paper's comparison, as a sweep: every method on eight graph settings, n = 16 and 64.

    python simulations/paper_comparison.py                 # the committed report, 3 seeds
    python simulations/paper_comparison.py --quick         # n = 16, three graphs, one seed
    python simulations/paper_comparison.py --report-only   # the report of the runs already there

The runs are the cells of a `dadao sweep` file, configs/sweeps/paper_comparison.toml (--quick:
paper_comparison_quick.toml), each an ordinary run directory; running again runs only what is
missing. This script has no simulation code of its own: it runs the sweep
(``dadao.sweep.run_sweep``, 2 worker processes) and builds the report from the run directories
only (``dadao.collect`` for the counts, ``dadao.rundir.read_run`` for the curves). Writes OUT.md
(default docs/paper_comparison.md): for each setting and method the gradients and communications
needed to reach 1e-4 and 1e-8 of the starting dist_to_opt, median [min, max] over the seeds, and
OUT/<problem>_n<N>_<graph>.png: the relative dist_to_opt of seed 0 against gradients and
communications. A method absent from a setting of the sweep (it cannot run there) is "n/a".
"""

from __future__ import annotations

import argparse
import io
import math
import os
import platform
import statistics
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone

import numpy as np

from dadao import collect, config, rundir, sweep
from dadao.atomic import write_atomic
from dadao.report import figures
from dadao.sweeps import cells as cellmod
from dadao.sweeps import spec as specmod
from dadao.sweeps.progress import Printer
from dadao.trace import Trace

HERE = os.path.dirname(os.path.abspath(__file__))
SWEEPS = os.path.join(os.path.dirname(HERE), "configs", "sweeps")
SWEEP = os.path.join(SWEEPS, "paper_comparison.toml")
QUICK_SWEEP = os.path.join(SWEEPS, "paper_comparison_quick.toml")
METHODS = ("dadao", "continuized", "async_sgd", "adom_plus", "adom_plus_mc", "msda", "opapc",
           "extra", "diging", "dgd")
GRAPHS = ("star", "complete", "cycle", "path", "grid_2d", "barbell", "random_geometric",
          "time_varying")
PROBLEMS = ("least_squares", "logistic")
#: the levels of the table: names of dadao.collect's ``*_to_LEVEL`` columns
LEVELS = ("1e-4", "1e-8")
COUNTS = ("gradients", "communications")
#: the seed whose curves are drawn and whose constants are listed
FIGURE_SEED = 0
#: where the plotted curves stop: two decades past the last level, before round-off floors
PLOT_FLOOR = 1e-10
#: points kept per plotted curve, log-spaced along the trace (the x axes are logarithmic)
PLOT_POINTS = 600
JOBS = 2
#: the hand-written summary of OUT.md lives between these markers and survives regeneration
SUMMARY_BEGIN, SUMMARY_END = "<!-- summary: kept on regeneration -->", "<!-- end of summary -->"
#: fixed colours so a method looks the same in every figure (DADAO black and thicker)
COLOURS = dict(zip(METHODS, ("black", "tab:blue", "tab:cyan", "tab:orange", "tab:brown",
                              "tab:green", "tab:olive", "tab:purple", "tab:pink", "tab:gray")))
LABELS = {"dadao": "DADAO", "continuized": "Continuized", "async_sgd": "async SGD",
          "adom_plus": "ADOM+", "adom_plus_mc": "ADOM+ (multi-consensus)", "msda": "MSDA",
          "opapc": "OPAPC", "extra": "EXTRA", "diging": "DIGing", "dgd": "DGD"}


# ---------------------------------------------------------------- the sweep's cells

@dataclass
class Result:
    """One (problem, n, graph, method) of the sweep over its seeds: ``counts[(axis, level)]``
    the seeds' values (inf: not reached), ``statuses`` theirs, ``meta`` and ``trace`` (relative
    dist_to_opt, cut at PLOT_FLOOR) of FIGURE_SEED."""

    key: tuple
    counts: dict = field(default_factory=dict)
    statuses: list = field(default_factory=list)
    seeds: list = field(default_factory=list)
    wall_seconds: float = 0.0
    meta: dict | None = None
    trace: Trace | None = None


def setting_of(cfg: dict) -> tuple:
    """(problem, n, graph setting, method) of a resolved config; graph "time_varying" for a
    list of graphs."""
    graph = cfg["graph"]
    name = "time_varying" if graph.get("time_varying", 0) >= 2 else graph["family"]
    return (cfg["problem"]["kind"], graph["n"], name, cfg["algorithm"]["name"])


def sweep_cells(path: str, out: str | None = None) -> list[tuple[tuple, int, str]]:
    """(setting key, seed, run directory) of every cell of the sweep file, without running."""
    spec = specmod.read(path, out=out)
    with cellmod.base_file(spec) as base:
        cells = cellmod.expand(spec, base)
        return [(setting_of(_resolved(base, cell)), cell.seed, cell.path) for cell in cells]


def _resolved(base: str, cell) -> dict:
    """The resolved config of a cell, as its run will have it."""
    return config.load(base, sets=cell.sets, seed=cell.run_seed)


def absent_methods(keys) -> dict:
    """{(problem, n, graph): methods of METHODS absent from that setting}: its "n/a" cells."""
    present = {}
    for problem, n, graph, method in keys:
        present.setdefault((problem, n, graph), set()).add(method)
    return {setting: {m for m in METHODS if m not in there} for setting, there in present.items()}


def run(path: str, jobs: int, out: str | None) -> tuple[sweep.SweepResult, float]:
    """Run the sweep file (only what is missing); its result and wall seconds."""
    start = time.perf_counter()
    result = sweep.run_sweep(path, jobs=jobs, out=out, reporter=Printer(),
                             command=[sys.executable, os.path.relpath(__file__), path])
    return result, time.perf_counter() - start


# ---------------------------------------------------------------- reading the run directories

def gather(cells) -> dict:
    """{setting key: Result} of the cells' run directories (a cell without one is left out)."""
    results = {}
    for key, seed, path in cells:
        if not os.path.isfile(os.path.join(path, rundir.META)):
            continue
        trace, meta = rundir.read_run(path)
        cfg = config.read_toml(os.path.join(path, rundir.CONFIG))
        row = collect.row_of(path, trace, meta, cfg)
        result = results.setdefault(key, Result(key))
        result.seeds.append(seed)
        result.statuses.append(row["status"])
        result.wall_seconds += row["wall_time_s"] or 0.0
        for axis in COUNTS:
            for level in LEVELS:
                value = row[f"{axis}_to_{level}"]
                result.counts.setdefault((axis, level), []).append(
                    math.inf if value is None else value)
        if seed == FIGURE_SEED:
            result.meta, result.trace = meta, plot_trace(trace)
    return results


def plot_trace(trace: Trace) -> Trace | None:
    """dist_to_opt relative to its start, up to the first sample below PLOT_FLOOR.

    Relative, because the dual methods start at x_i = argmin f_i rather than at 0; cut, so the
    figures show the levels of the table rather than round-off floors."""
    if not len(trace):
        return None
    relative = trace["dist_to_opt"] / trace["dist_to_opt"][0]
    below = np.nonzero(relative <= PLOT_FLOOR)[0]
    stop = below[0] + 1 if len(below) else len(relative)
    keep = np.unique(np.geomspace(1, stop, PLOT_POINTS).astype(int) - 1)
    columns = {name: np.array(trace[name][keep]) for name in COUNTS}
    columns["dist_to_opt"] = relative[keep]
    return Trace(columns, dict(trace.meta))


def median(values) -> float:
    """The median over seeds; inf (not reached) counts as the largest value."""
    return statistics.median(values) if values else math.inf


# ---------------------------------------------------------------- figures

def write_figure(ran: list[Result], path: str) -> None:
    """Relative dist_to_opt against gradients and communications, every method of one setting
    (seed FIGURE_SEED)."""
    ran = [r for r in ran if r.trace is not None]
    if not ran:
        return
    problem, n, graph, _ = ran[0].key
    fig = figures.convergence_figure(
        [(r.trace, LABELS[r.key[3]]) for r in ran], xs=COUNTS,
        title=f"{problem.replace('_', ' ')}, {graph.replace('_', ' ')}, n = {n}")
    for ax in fig.axes:
        for line, r in zip(ax.get_lines(), ran):
            line.set_color(COLOURS[r.key[3]])
            line.set_linewidth(2.2 if r.key[3] == "dadao" else 1.2)
        # counts span orders of magnitude between methods: a log axis shows every curve
        ax.set_xscale("log")
        ax.set_ylim(PLOT_FLOOR / 3, 3.0)
        for level in LEVELS:
            ax.axhline(float(level), color="red", linewidth=0.6, linestyle=":")
        if ax.get_legend() is not None:
            ax.get_legend().remove()
    fig.axes[0].set_ylabel("dist_to_opt / its start")
    fig.set_size_inches(10.5, 3.6)
    fig.legend(*fig.axes[0].get_legend_handles_labels(), loc="outside right upper",
               fontsize="small")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)  # small PNGs: the repository must stay light
    import matplotlib.pyplot as plt

    plt.close(fig)
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


def spread_text(values) -> str:
    """The median over seeds, then [min, max] when the seeds differ: "1.23k [1.2k, 1.3k]"."""
    text = count_text(median(values))
    low, high = count_text(min(values)), count_text(max(values))
    return text if low == high else f"{text} [{low}, {high}]"


def ratio_text(ratio: float) -> str:
    return f"{ratio:.2g}x" if ratio < 10 else f"{ratio:.0f}x"


def cell_text(result: Result | None, absent: bool, axis: str) -> str:
    """"to 1e-4 / to 1e-8" of one method; "n/a" where the sweep does not run it."""
    if absent:
        return "n/a"
    if result is None:
        return "not run"
    text = " / ".join(spread_text(result.counts[(axis, level)]) for level in LEVELS)
    others = [s for s in result.statuses if s != "completed"]
    if others:
        text += " (" + ", ".join(f"{s} x{others.count(s)}" for s in sorted(set(others))) + ")"
    return text


def table(results: dict, absent: dict, setting: tuple, graph_names, methods,
          axis: str) -> list[str]:
    """Rows = graphs, columns = methods, cells "to 1e-4 / to 1e-8"."""
    problem, n = setting
    lines = ["| graph | " + " | ".join(LABELS[m] for m in methods) + " |",
             "|---|" + "---|" * len(methods)]
    for g in graph_names:
        missing = absent.get((problem, n, g), set())
        row = [cell_text(results.get((problem, n, g, m)), m in missing, axis) for m in methods]
        lines.append(f"| {g} | " + " | ".join(row) + " |")
    return lines


def ranking_sentence(results: dict, problem: str, n: int, graph: str, methods,
                     axis: str) -> str:
    """One sentence: DADAO's median count to 1e-8 against the methods that got there, fewest
    first."""
    level = LEVELS[-1]
    ran = {m: median(r.counts[(axis, level)]) for m in methods
           if (r := results.get((problem, n, graph, m)))}
    reached = sorted((value, m) for m, value in ran.items() if math.isfinite(value))
    missed = [LABELS[m] for m, value in ran.items() if not math.isfinite(value)]
    missed_text = f"; 1e-8 not reached by {', '.join(missed)}" if missed else ""
    if "dadao" not in ran:
        return f"DADAO did not run here{missed_text}."
    best_value, best = reached[0] if reached else (math.inf, None)
    mine = ran["dadao"]
    if not math.isfinite(mine):
        return (f"In {axis}, DADAO did not reach 1e-8 within the budget; fewest: "
                f"{LABELS[best]} {count_text(best_value)}{missed_text}." if best else
                f"In {axis}, no method reached 1e-8 within the budget.")
    rank = 1 + sum(value < mine for value, _ in reached)
    if rank == 1:
        runner = next(((v, m) for v, m in reached if m != "dadao"), None)
        margin = (f", {ratio_text(runner[0] / mine)} fewer than {LABELS[runner[1]]} "
                  f"({count_text(runner[0])})" if runner else "")
        return (f"In {axis} to 1e-8, DADAO ({count_text(mine)}) is first of "
                f"{len(reached)}{margin}{missed_text}.")
    beaten_by = [LABELS[m] for v, m in reached if v < mine]
    verb = "needs" if len(beaten_by) == 1 else "need"
    return (f"In {axis} to 1e-8, DADAO ({count_text(mine)}) ranks {rank} of {len(reached)}: "
            f"{', '.join(beaten_by)} {verb} fewer, the fewest {LABELS[best]} with "
            f"{count_text(best_value)} ({ratio_text(mine / best_value)} fewer){missed_text}.")


def any_meta(results: dict, match) -> dict | None:
    """meta.json of FIGURE_SEED of the first result whose key satisfies ``match``."""
    return next((r.meta for key, r in sorted(results.items())
                 if match(key) and r.meta is not None), None)


def constants_table(results: dict, problems_, ns) -> list[str]:
    """L, mu, kappa of each problem (FIGURE_SEED's data), from meta.json."""
    lines = ["| problem | n | L | mu | kappa |", "|---|---|---|---|---|"]
    for p in problems_:
        for n in ns:
            meta = any_meta(results, lambda key: key[:2] == (p, n))
            if meta is not None:
                prob = meta["problem"]
                lines.append(f"| {p} | {n} | {prob['L']:.4g} | {prob['mu']:.4g} | "
                             f"{prob['kappa']:.4g} |")
    return lines


def graphs_table(results: dict, graph_names, ns) -> list[str]:
    """Edges and chi of each graph setting (FIGURE_SEED's graphs), from meta.json."""
    lines = ["| graph | " + " | ".join(f"E (n = {n}) | chi (n = {n})" for n in ns) + " |",
             "|---|" + "---|---|" * len(ns)]
    for g in graph_names:
        row = []
        for n in ns:
            meta = any_meta(results, lambda key: key[1:3] == (n, g))
            if meta is None:
                row += ["", ""]
                continue
            graph = meta["graph"]
            edges = (f"{graph['edges']:.0f} (mean)" if (graph.get("graphs") or 1) > 1
                     else str(int(graph["edges"])))
            row += [edges, f"{graph['chi']:.3g}"]
        lines.append(f"| {g} | " + " | ".join(row) + " |")
    return lines


@dataclass
class Layout:
    """What the report shows: the methods, graphs, problems and sizes present in the sweep, its
    seeds, and the run's provenance (command, sweep file, seconds, cells ran / skipped)."""

    methods: list
    graphs: list
    problems: list
    ns: list
    seeds: list
    command: str
    sweep_path: str
    seconds: float | None
    ran: int
    skipped: int
    run_seconds: float


def layout_of(cells, results: dict, command: str, sweep_path: str, outcome) -> Layout:
    """The Layout of the cells (their keys), the results and the sweep's (result, seconds)."""
    keys = [key for key, _, _ in cells]
    result, seconds = outcome if outcome else (None, None)
    run_seconds = sum(r.wall_seconds for r in results.values())
    return Layout(methods=[m for m in METHODS if any(k[3] == m for k in keys)],
                  graphs=[g for g in GRAPHS if any(k[2] == g for k in keys)],
                  problems=[p for p in PROBLEMS if any(k[0] == p for k in keys)],
                  ns=sorted({k[1] for k in keys}), seeds=sorted({s for _, s, _ in cells}),
                  command=command, sweep_path=sweep_path, seconds=seconds,
                  ran=result.ran if result else 0, skipped=result.skipped if result else 0,
                  run_seconds=run_seconds)


def provenance(lay: Layout, cells) -> str:
    """The first paragraph: how to regenerate, and how long it took."""
    timing = (f"the sweep took {lay.seconds / 60:.1f} min of wall time on this machine "
              f"({lay.ran} cells ran, {lay.skipped} were already done)"
              if lay.seconds is not None else "the report of runs already done (--report-only)")
    return (f"Regenerate with `{lay.command}`: it runs the sweep `{lay.sweep_path}` ("
            f"{len(cells)} cells: `dadao sweep` in {JOBS} worker processes, each cell an "
            f"ordinary run directory; a second run runs only what is missing) and builds this "
            f"page from the run directories. Here {timing}: "
            f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
            f"written {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC. The cells' own wall times "
            f"(meta.json run.wall_time_s: the event loops, without building, compiling and "
            f"writing) add up to {lay.run_seconds / 60:.1f} min.")


def seeds_text(seeds) -> str:
    if len(seeds) == 1:
        return (f"One seed ({seeds[0]}) for every method: problem.seed = graph.seed (random "
                f"families) = run.seed = {seeds[0]}.")
    return (f"Seeds {', '.join(map(str, seeds))} for every cell, the data following the seed "
            "(`vary_data_seeds`: problem.seed, the random graphs' graph.seed and the event "
            "schedule's run.seed all equal the seed), so each cell is the median [min, max] "
            f"over {len(seeds)} problems (and random graphs); [min, max] is left out where the "
            f"seeds agree. The figures and the constants below are those of seed {FIGURE_SEED}.")


def preamble(lay: Layout, cells) -> list[str]:
    return [
        "# The DADAO paper's comparison, reproduced",
        "",
        provenance(lay, cells),
        "",
        "- Budget: t_max = 5000 time units for every method (expected gradient steps per node; "
        "one iteration of a synchronous method = one gradient per node). \"—\": the level was "
        "not reached within the budget; \"n/a\": the method is not in the sweep for that "
        "setting because it cannot run it (dual methods need the conjugate of f_i: least squares "
        "only; EXTRA, MSDA, OPAPC and the Continuized method take static graphs only).",
        "- Cells: gradients (or communications: edge activations, each method counted by "
        "its own accounting) summed over the network until dist_to_opt = (1/n) sum_i "
        "||x_i - x*||^2 first falls to 1e-4 / 1e-8 of its own start (`dadao collect`'s "
        "`gradients_to_1e-4` ... columns). Counts are resolved to the sampling grid: every 0.5 "
        "time units for the asynchronous methods (about 0.5 n gradients), every iteration "
        "(n gradients) for the synchronous ones.",
        "- Problems (`[problem]`): least squares and logistic regression, d = 5, 50 samples per "
        "node, heterogeneous nodes; x0 = 0 (the dual methods start at the dual point 0, "
        "x_i = argmin f_i). Graphs (`[graph]` family and n; grid_2d: 4x4 and 8x8; barbell: two "
        "cliques of n/2); time_varying: `time_varying = 50` random geometric graphs, switched "
        "every 1 / max_k chi_1 time units for the asynchronous methods and every gossip round "
        "for the synchronous ones. Each method's own default rates and constants "
        "(`rates.kind = \"auto\"`: DADAO theory rates, Continuized and async SGD uniform rates "
        "of total n/2). " + seeds_text(lay.seeds),
        "- DGD and async SGD use a constant step and converge only to a neighbourhood of x*: "
        "they are not expected to reach 1e-8 (often not 1e-4 either).",
    ]


def section(results: dict, absent: dict, lay: Layout, p: str, n: int, figure_dir: str):
    """The tables and the sentences of one (problem, n)."""
    out = ["", f"## {p.replace('_', ' ')}, n = {n}", ""]
    for axis in COUNTS:
        out += [f"{axis.capitalize()} to reach 1e-4 / 1e-8 of the start:", "",
                *table(results, absent, (p, n), lay.graphs, lay.methods, axis), ""]
    out += ["DADAO against the others, per graph (medians over the seeds):", ""]
    for g in lay.graphs:
        if (p, n, g) not in absent:
            continue
        figure = os.path.join(figure_dir, figure_name(p, n, g))
        out.append(f"- **{g}** ([figure]({figure})). "
                   + ranking_sentence(results, p, n, g, lay.methods, "gradients") + " "
                   + ranking_sentence(results, p, n, g, lay.methods, "communications"))
    return out


def markdown(results: dict, absent: dict, lay: Layout, cells, figure_dir: str,
             summary: str) -> str:
    out = [*preamble(lay, cells), "", "## Summary", "", SUMMARY_BEGIN,
           summary.strip() or "(no summary written yet)", SUMMARY_END, "",
           "## Problem and graph constants", "",
           *constants_table(results, lay.problems, lay.ns), "",
           *graphs_table(results, lay.graphs, lay.ns)]
    for p in lay.problems:
        for n in lay.ns:
            if any(setting[:2] == (p, n) for setting in absent):
                out += section(results, absent, lay, p, n, figure_dir)
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


def write_report(cells, results: dict, out: str, lay: Layout) -> str:
    """The figures in ``out``/ and the markdown in ``out``.md; the markdown's path."""
    absent = absent_methods(key for key, _, _ in cells)
    os.makedirs(out, exist_ok=True)
    for (p, n, g) in absent:
        write_figure([results[(p, n, g, m)] for m in lay.methods if (p, n, g, m) in results],
                     os.path.join(out, figure_name(p, n, g)))
    md_path = out.rstrip("/") + ".md"
    figure_dir = os.path.relpath(out, os.path.dirname(os.path.abspath(md_path)))
    write_atomic(md_path, markdown(results, absent, lay, cells, figure_dir,
                                   kept_summary(md_path)))
    return md_path


# ---------------------------------------------------------------- command line

def parse(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="the sweep paper_comparison_quick.toml (n = 16, star, cycle, "
                             "time_varying, seed 0); writes to paper_comparison_quick unless "
                             "--out is given")
    parser.add_argument("--sweep", default=None, help="another sweep file of the same settings")
    parser.add_argument("--sweep-out", default=None,
                        help="the sweep's folder (default: the file's sweep.out)")
    parser.add_argument("--out", default=None,
                        help="figures in OUT/, the table in OUT.md (default docs/paper_comparison)")
    parser.add_argument("--jobs", type=int, default=JOBS, help=f"worker processes ({JOBS})")
    parser.add_argument("--report-only", action="store_true",
                        help="run nothing: the report of the cells already run")
    args = parser.parse_args(argv)
    if args.sweep is None:
        args.sweep = QUICK_SWEEP if args.quick else SWEEP
    if args.out is None:
        args.out = "paper_comparison_quick" if args.quick else os.path.join("docs",
                                                                            "paper_comparison")
    return args


def command_text(args) -> str:
    """The command that regenerates the report (the folders it was told to use left out)."""
    words = ["python", os.path.relpath(__file__)]
    if args.quick:
        words.append("--quick")
    if args.sweep not in (SWEEP, QUICK_SWEEP):
        words += ["--sweep", os.path.relpath(args.sweep)]
    return " ".join(words)


def main(argv=None):
    args = parse(argv)
    command = command_text(args)
    cells = sweep_cells(args.sweep, args.sweep_out)
    outcome = None if args.report_only else run(args.sweep, args.jobs, args.sweep_out)
    if outcome is not None:
        print(f"sweep: {outcome[1] / 60:.2f} min wall time ({outcome[0].ran} cells ran, "
              f"{outcome[0].skipped} done)", flush=True)
    results = gather(cells)
    lay = layout_of(cells, results, command, os.path.relpath(args.sweep), outcome)
    md_path = write_report(cells, results, args.out, lay)
    print(f"wrote {md_path} and its figures in {args.out}")
    return outcome[0].code if outcome else 0


if __name__ == "__main__":
    sys.exit(main())

"""The DADAO paper's comparison, as a sweep: every method on eight graph settings, n = 16 and 64.

    python simulations/paper_comparison.py                 # the committed report, 3 seeds
    python simulations/paper_comparison.py --quick         # n = 16, three graphs, one seed
    python simulations/paper_comparison.py --report-only   # the report of the runs already there

The runs are the cells of a `dadao sweep` file, configs/sweeps/paper_comparison.toml (--quick:
paper_comparison_quick.toml), each an ordinary run directory; running again runs only what is
missing. This script has no simulation code of its own: it runs the sweep
(``dadao.sweep.run_sweep``, 2 worker processes) and builds the report from the run directories
only (``dadao.collect`` for the counts, ``dadao.rundir.read_run`` for the curves; the cells
write no figures of their own). Writes OUT.md (default docs/paper_comparison.md): a summary
whose every number is computed from the medians; for each setting and method the gradients and
communications needed to reach 1e-4 and 1e-8 of the starting dist_to_opt, median [min, max]
over the seeds; and OUT/<problem>_n<N>_<graph>.png: the relative dist_to_opt of seed 0 against
gradients and communications. A method absent from a setting of the sweep (it cannot run there) is "n/a".
The committed report (no --quick, --sweep or --out) also writes the README's Measured row
(docs/measured/paper_comparison.json).
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


@dataclass
class Timing:
    """How the sweep ran: wall seconds, CPU seconds (this process and its workers), the share
    of the machine other processes kept busy meanwhile (/proc/stat), the cells it ran and
    found done, its worker processes and when it finished (UTC). Kept in the sweep's folder
    (TIMING) for a later --report-only."""

    seconds: float
    cpu_seconds: float
    foreign_load: float
    ran: int
    skipped: int
    jobs: int
    finished: str


#: the Timing of the last sweep, in its folder
TIMING = "paper_comparison_timing.json"


def read_timing(folder: str, cells: int) -> Timing | None:
    """The Timing kept in the sweep's ``folder``, if it is that of a sweep of ``cells`` cells."""
    import json

    try:
        with open(os.path.join(folder, TIMING)) as fh:
            timing = Timing(**json.load(fh))
    except (OSError, ValueError, TypeError):
        return None
    return timing if timing.ran + timing.skipped == cells else None


def run(path: str, jobs: int, out: str | None) -> tuple[sweep.SweepResult, Timing]:
    """Run the sweep file (only what is missing), timed; the Timing is kept in its folder."""
    import dataclasses
    import json

    import resource

    sys.path.insert(0, HERE)
    from machine_load import Load

    def cpu() -> float:
        return sum(u.ru_utime + u.ru_stime for u in (resource.getrusage(resource.RUSAGE_SELF),
                                                    resource.getrusage(resource.RUSAGE_CHILDREN)))

    load, start, cpu_start = Load(), time.perf_counter(), cpu()
    result = sweep.run_sweep(path, jobs=jobs, out=out, reporter=Printer(),
                             command=[sys.executable, os.path.relpath(__file__), path])
    # the workers are waited for when the sweep ends: their CPU time is in RUSAGE_CHILDREN
    timing = Timing(time.perf_counter() - start, cpu() - cpu_start, load.stop()["machine"],
                    result.ran, result.skipped, jobs,
                    f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M}")
    write_atomic(os.path.join(result.out, TIMING),
                 json.dumps(dataclasses.asdict(timing), indent=2) + "\n")
    return result, timing


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
    seeds, and the run's provenance (command, sweep file, seconds, cells ran / skipped, worker
    processes)."""

    methods: list
    graphs: list
    problems: list
    ns: list
    seeds: list
    command: str
    sweep_path: str
    timing: Timing | None
    ran: int
    skipped: int
    run_seconds: float
    jobs: int = JOBS
    figures: bool = False
    report_only: bool = False


def layout_of(cells, results: dict, command: str, sweep_path: str, timing: Timing | None,
              jobs: int = JOBS, figures: bool = False, report_only: bool = False) -> Layout:
    """The Layout of the cells (their keys), the results, the sweep's Timing (None: not
    known), its worker processes, whether its cells draw their own figures and whether this is
    a --report-only."""
    keys = [key for key, _, _ in cells]
    run_seconds = sum(r.wall_seconds for r in results.values())
    return Layout(methods=[m for m in METHODS if any(k[3] == m for k in keys)],
                  graphs=[g for g in GRAPHS if any(k[2] == g for k in keys)],
                  problems=[p for p in PROBLEMS if any(k[0] == p for k in keys)],
                  ns=sorted({k[1] for k in keys}), seeds=sorted({s for _, s, _ in cells}),
                  command=command, sweep_path=sweep_path, timing=timing,
                  ran=timing.ran if timing else 0, skipped=timing.skipped if timing else 0,
                  run_seconds=run_seconds, jobs=timing.jobs if timing else jobs,
                  figures=figures, report_only=report_only)


def provenance(lay: Layout, cells) -> str:
    """The first paragraph: how to regenerate, and how long it took (with --report-only, the
    time of the sweep's last run, kept in its folder)."""
    t = lay.timing
    timing = (f"the sweep took {t.seconds / 60:.1f} min of wall time and {t.cpu_seconds / 60:.1f} "
              f"min of CPU on this machine, other processes keeping {100 * t.foreign_load:.0f}% "
              f"of it busy meanwhile (/proc/stat) ({lay.ran} cells ran, {lay.skipped} were "
              f"already done; finished {t.finished} UTC)" if t is not None
              else "the sweep's time is not known (--report-only of runs made without it)")
    if lay.report_only:
        timing = f"the report of runs already done (--report-only); {timing}"
    return (f"Regenerate with `{lay.command}`: it runs the sweep `{lay.sweep_path}` ("
            f"{len(cells)} cells: `dadao sweep` in {lay.jobs} worker process"
            f"{'es' if lay.jobs > 1 else ''}, each cell an ordinary run directory"
            f"{'' if lay.figures else ' without figures of its own, `figures = false`'}; a "
            f"second run runs only what is missing) and builds this page, its figures too, "
            f"from the run directories. Here {timing}: "
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


# ---------------------------------------------------------------- the summary, from the medians

#: the level the summary compares at, and the static graph settings
SUMMARY_LEVEL = LEVELS[-1]
STATIC = tuple(g for g in GRAPHS if g != "time_varying")


def at(results: dict, setting: tuple, method: str, axis: str) -> float | None:
    """The median count to SUMMARY_LEVEL of ``method`` in ``setting`` (problem, n, graph): inf
    when not reached, None when it did not run there."""
    r = results.get((*setting, method))
    return None if r is None else median(r.counts[(axis, SUMMARY_LEVEL)])


def comparison(results: dict, settings, method: str, other: str, axis: str):
    """([(setting, ratio)] where ``other`` needs fewer than ``method``, ratio = method's count /
    other's; the settings where both reached SUMMARY_LEVEL)."""
    both, fewer = [], []
    for setting in settings:
        mine, theirs = at(results, setting, method, axis), at(results, setting, other, axis)
        if mine is None or theirs is None or not (math.isfinite(mine) and math.isfinite(theirs)):
            continue
        both.append(setting)
        if theirs < mine:
            fewer.append((setting, mine / theirs))
    return fewer, both


def summary_ratio(ratio: float) -> str:
    """"1.0x", "2.3x", "12x": one decimal below 10 (a ratio of 1.04 is not "1x fewer")."""
    return f"{ratio:.1f}x" if ratio < 10 else f"{ratio:.0f}x"


def ratios_text(ratios) -> str:
    """"2.3x" or "1.5x-12x": the range of the ratios."""
    lo, hi = summary_ratio(min(ratios)), summary_ratio(max(ratios))
    return lo if lo == hi else f"{lo}-{hi}"


def settings_text(settings, ns) -> str:
    """"star and cycle at both sizes; path at n = 64 for logistic": settings (problem, n, graph)
    grouped by graph, sizes and problems ("both sizes" where every n of the sweep is there; the
    problems named when there are several)."""
    sizes, problems = {}, {}
    for problem, n, graph in settings:
        sizes.setdefault((graph, problem), set()).add(n)
    for (graph, problem), there in sizes.items():
        problems.setdefault((graph, tuple(sorted(there))), []).append(problem)
    named = len({problem for problem, _, _ in settings}) > 1
    parts = {}
    for (graph, there), which in problems.items():
        where = ("at both sizes" if list(there) == sorted(ns) and len(ns) == 2 else
                 "at n = " + " and ".join(str(n) for n in there))
        if named:
            where += (" for both problems" if len(which) > 1 else
                      f" for {which[0].replace('_', ' ')}")
        parts.setdefault(where, []).append(graph.replace("_", " "))
    out = []
    for where, graphs in parts.items():
        names = graphs[0] if len(graphs) == 1 else ", ".join(graphs[:-1]) + " and " + graphs[-1]
        out.append(f"{names} {where}")
    return "; ".join(out)


def share_text(count: int, total: int, what: str) -> str:
    """"every static graph" / "5 of 7 static graphs"."""
    return f"every {what}" if count == total else f"{count} of {total} {what}s"


def except_text(fewer, both, ns, limit: int = 4) -> str:
    """Where, when it is short to say: " (not on the star at n = 16)" when a few of ``both``
    are not in ``fewer``, " (star and complete at both sizes)" when a few are."""
    rest = [s for s in both if s not in {setting for setting, _ in fewer}]
    if not rest:
        return ""
    if len(rest) <= limit:
        return f" (not on {settings_text(rest, ns)})"
    if len(fewer) <= 2 * limit:
        return f" ({settings_text([s for s, _ in fewer], ns)})"
    return ""


def claim(results, settings, other: str, axis: str, what: str, ns) -> str | None:
    """"MSDA needs 4x-16x fewer gradients than DADAO on 12 of 14 static graphs (not on ...)";
    None when ``other`` never needs fewer."""
    fewer, both = comparison(results, settings, "dadao", other, axis)
    if not fewer:
        return None
    subject = "The Continuized method" if other == "continuized" else LABELS[other]
    return (f"{subject} needs {ratios_text([r for _, r in fewer])} fewer {axis} than "
            f"DADAO on {share_text(len(fewer), len(both), what)}"
            f"{except_text(fewer, both, ns)}")


def dadao_fewer(results, settings, other: str, axis: str, what: str, ns) -> str | None:
    """"DADAO needs 1.5x-2.2x fewer gradients than OTHER on 7 of 8 graphs (not on ...)"."""
    fewer, both = comparison(results, settings, other, "dadao", axis)
    if not fewer:
        return None
    return (f"{ratios_text([r for _, r in fewer])} fewer {axis} than {LABELS[other]} on "
            f"{share_text(len(fewer), len(both), what)}{except_text(fewer, both, ns)}")


def first_on_both(results, setting, methods) -> bool:
    """Whether DADAO's median count to SUMMARY_LEVEL is the smallest of ``methods`` in
    ``setting``, in gradients and in communications."""
    for axis in COUNTS:
        mine = at(results, setting, "dadao", axis)
        if mine is None or not math.isfinite(mine):
            return False
        others = [at(results, setting, m, axis) for m in methods if m != "dadao"]
        if any(v is not None and v < mine for v in others):
            return False
    return True


def summary(results: dict, lay: Layout) -> str:
    """The summary's paragraphs: every number a median over the seeds, computed here from the
    tables' counts at SUMMARY_LEVEL, every "on k of m" counted."""
    ns, level = lay.ns, SUMMARY_LEVEL
    static_ls = [("least_squares", n, g) for n in ns for g in STATIC if g in lay.graphs]
    static_all = [(p, n, g) for p in lay.problems for n in ns for g in STATIC if g in lay.graphs]
    varying = [(p, n, "time_varying") for p in lay.problems for n in ns
               if "time_varying" in lay.graphs]
    out = [f"Generated from the tables below: medians over the seeds of the counts to {level} "
           f"of the start (the tables give median [min, max]); a comparison counts the "
           f"settings where both methods reached {level}."]

    spans = []
    for p in lay.problems:
        for n in ns:
            settings = [(p, n, g) for g in lay.graphs]
            got = [v for s in settings if (v := at(results, s, "dadao", "gradients"))
                   is not None and math.isfinite(v)]
            if got:
                spans.append(f"{count_text(min(got))}-{count_text(max(got))} on "
                             f"{share_text(len(got), len(settings), 'graph')} of "
                             f"{p.replace('_', ' ')} at n = {n}")
    text = ("**What DADAO is built for.** Its gradient clocks and gossip clocks are decoupled, "
            f"so its gradient count to {level} hardly depends on the graph: "
            + "; ".join(spans) + ".")
    top = max(ns)
    fewer, _ = comparison(results, [("least_squares", top, g) for g in STATIC
                                    if g in lay.graphs], "continuized", "dadao", "gradients")
    if fewer:
        text += (f" So at n = {top} (least squares) it needs fewer gradients than the "
                 "Continuized method on " + ", ".join(f"the {s[2].replace('_', ' ')} "
                                                      f"({summary_ratio(r)})" for s, r in fewer)
                 + ".")
    if varying:
        firsts = [s for s in varying if first_on_both(results, s, lay.methods)]
        text += (" On the time-varying graphs it needs the fewest gradients and the fewest "
                 "communications of all methods "
                 + ("in every" if len(firsts) == len(varying) else
                    f"in {len(firsts)} of {len(varying)}") + " (problem, n) setting"
                 + ("" if len(firsts) == len(varying) else "s") + ".")
    out.append(text)

    losses = [c for c in (
        claim(results, static_ls, "continuized", "communications",
              "static least-squares graph", ns),
        claim(results, static_ls, "continuized", "gradients", "static least-squares graph",
              ns),
        claim(results, static_all, "msda", "gradients", "static graph", ns),
        claim(results, static_all, "msda", "communications", "static graph", ns),
        claim(results, static_all, "opapc", "gradients", "static graph", ns),
        claim(results, static_all, "opapc", "communications", "static graph", ns),
        claim(results, [s for s in static_all if s[0] == "logistic"], "extra",
              "communications", "static logistic graph", ns),
    ) if c]
    if losses:
        out.append("**Where DADAO loses** (each graph counted once per problem and n).\n"
                   + "\n".join(f"- {c}." for c in losses))

    wins = [w for w in (dadao_fewer(results, static_all + varying, "adom_plus_mc", axis,
                                    "graph", ns) for axis in COUNTS) if w]
    if wins:
        text = ("**Where DADAO wins.** Against ADOM+ with multi-consensus, the other method for "
                "time-varying graphs, DADAO needs " + " and ".join(wins)
                + " (each graph counted once per problem and n).")
        pairs = [(s, at(results, s, "dadao", "gradients"), at(results, s, "adom_plus_mc",
                                                               "gradients"))
                 for s in varying if s[0] == "least_squares"]
        pairs = [(s, a, b) for s, a, b in pairs if a is not None and b is not None]
        if pairs:
            text += (" On the time-varying random geometric graphs: " + "; ".join(
                f"{count_text(a)} least-squares gradients at n = {s[1]} against "
                f"{count_text(b)}" for s, a, b in pairs) + ".")
        out.append(text)

    kappas = {p: [m["problem"]["kappa"] for n in ns
                  if (m := any_meta(results, lambda key, p=p, n=n: key[:2] == (p, n)))]
              for p in lay.problems}
    kappa_text = "; ".join(f"{p.replace('_', ' ')} kappa "
                           + "-".join(dict.fromkeys(f"{k:.2g}" for k in sorted(v)))
                           for p, v in kappas.items() if v)
    plain = [s for s in static_all + varying
             if (v := at(results, s, "adom_plus", "gradients")) is not None and
             math.isfinite(v)]
    text = ("**Caveats.** Every method runs with its own default constants and rates, none "
            "tuned; DADAO uses its theory rates (chi_1 chi_2 = 1/2), not the SDP-optimal "
            "per-edge rates (docs/optimal_rates.md). The problems: " + kappa_text
            + f" (seed {FIGURE_SEED}'s data). The counts do not show wall-clock time, where a "
            "synchronous iteration waits for the slowest node and link and an asynchronous "
            "node applies what it receives late: docs/wall_clock.md measures the seconds. DGD "
            "and async SGD (constant steps) stall in a neighbourhood of x*.")
    if "adom_plus" in lay.methods:
        text += (f" Plain ADOM+ with its theory constants reaches {level} within the budget "
                 + (f"only on {settings_text(plain, ns)}." if plain else "on no setting."))
    out.append(text)
    out.append("Per graph, the sentences under each table compare DADAO with every method.")
    return "\n\n".join(out)


def readme_row(results: dict, lay: Layout) -> dict:
    """The README's Measured row: the sweep's time, how much DADAO's gradients vary with the
    graph, where it is first, and where the Continuized method, MSDA and OPAPC need fewer."""
    ns, level = lay.ns, SUMMARY_LEVEL
    static_ls = [("least_squares", n, g) for n in ns for g in STATIC if g in lay.graphs]
    static_all = [(p, n, g) for p in lay.problems for n in ns for g in STATIC if g in lay.graphs]
    varying = [(p, n, "time_varying") for p in lay.problems for n in ns
               if "time_varying" in lay.graphs]
    spread = []
    for p in lay.problems:
        for n in ns:
            got = [v for g in lay.graphs if (v := at(results, (p, n, g), "dadao", "gradients"))
                   is not None and math.isfinite(v)]
            if got:
                spread.append(max(got) / min(got))
    parts = []
    t = lay.timing
    if t is not None:
        parts.append(f"the sweep {t.seconds / 60:.1f} min wall, {t.cpu_seconds / 60:.1f} min "
                     f"CPU ({t.jobs} worker process{'es' if t.jobs > 1 else ''})")
    if spread:
        parts.append(f"DADAO's gradients to {level} within {ratios_text(spread)} of each other "
                     "across the graphs of each (problem, n)")
    if varying:
        firsts = sum(first_on_both(results, s, lay.methods) for s in varying)
        parts.append(f"DADAO needs the fewest gradients and communications on the time-varying "
                     f"graphs in {firsts} of {len(varying)} (problem, n) settings")
    losses = [c for c in (
        claim(results, static_ls, "continuized", "communications",
              "static least-squares graph", ns),
        claim(results, static_all, "msda", "gradients", "static graph", ns),
        claim(results, static_all, "opapc", "gradients", "static graph", ns)) if c]
    parts += [c.replace("The ", "the ", 1) if c.startswith("The ") else c for c in losses]
    return {"what": f"every method on {len(lay.graphs)} graph settings x n in "
                    f"{{{', '.join(map(str, ns))}}} x "
                    f"{{{', '.join(p.replace('_', ' ') for p in lay.problems)}}} x "
                    f"{len(lay.seeds)} seeds: gradients and communications to "
                    f"{' and '.join(LEVELS)}",
            "figure": "; ".join(parts)
                      + ": [docs/paper_comparison.md](docs/paper_comparison.md)"}


def markdown(results: dict, absent: dict, lay: Layout, cells, figure_dir: str) -> str:
    out = [*preamble(lay, cells), "", "## Summary", "", summary(results, lay), "",
           "## Problem and graph constants", "",
           *constants_table(results, lay.problems, lay.ns), "",
           *graphs_table(results, lay.graphs, lay.ns)]
    for p in lay.problems:
        for n in lay.ns:
            if any(setting[:2] == (p, n) for setting in absent):
                out += section(results, absent, lay, p, n, figure_dir)
    return "\n".join(out) + "\n"


def write_report(cells, results: dict, out: str, lay: Layout) -> str:
    """The figures in ``out``/ and the markdown in ``out``.md; the markdown's path."""
    absent = absent_methods(key for key, _, _ in cells)
    os.makedirs(out, exist_ok=True)
    for (p, n, g) in absent:
        write_figure([results[(p, n, g, m)] for m in lay.methods if (p, n, g, m) in results],
                     os.path.join(out, figure_name(p, n, g)))
    md_path = out.rstrip("/") + ".md"
    figure_dir = os.path.relpath(out, os.path.dirname(os.path.abspath(md_path)))
    write_atomic(md_path, markdown(results, absent, lay, cells, figure_dir))
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
    spec = specmod.read(args.sweep, out=args.sweep_out)
    if args.report_only:
        result, timing = None, read_timing(spec.out, len(cells))
    else:
        result, timing = run(args.sweep, args.jobs, args.sweep_out)
        print(f"sweep: {timing.seconds / 60:.2f} min wall time, {timing.cpu_seconds / 60:.2f} min "
              f"CPU, foreign load {timing.foreign_load:.2f} ({timing.ran} cells ran, "
              f"{timing.skipped} done)", flush=True)
    results = gather(cells)
    lay = layout_of(cells, results, command, os.path.relpath(args.sweep), timing, args.jobs,
                    spec.figures, args.report_only)
    md_path = write_report(cells, results, args.out, lay)
    print(f"wrote {md_path} and its figures in {args.out}")
    committed = (not args.quick and args.sweep == SWEEP and args.sweep_out is None
                 and os.path.abspath(args.out) == os.path.join(os.path.dirname(HERE), "docs",
                                                               "paper_comparison"))
    if committed:
        from measured import write_rows

        write_rows("paper_comparison", command, [readme_row(results, lay)])
    return result.code if result else 0


if __name__ == "__main__":
    sys.exit(main())

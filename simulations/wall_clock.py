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
in OUT/; with the default OUT (and not --quick) also the README's Measured row
(docs/measured/wall_clock.json). Asynchronous methods run with busy_link = "skip": a gossip activation that finds its
link busy is dropped, so a slow link lowers the rate of exchanges instead of queueing ever
older messages.
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import os
import platform
import resource
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

#: (label, method, [timing] keys of its own): the Continuized method twice, its messages'
#: gradients timed (each end computes one before sending, the default) and free (the idealised
#: model, where they take no time)
VARIANTS = (("dadao", "dadao", ()), ("continuized", "continuized", ()),
            ("continuized, free message gradients", "continuized",
             (("message_gradients", "free"),)),
            ("adom_plus_mc", "adom_plus_mc", ()), ("msda", "msda", ()), ("opapc", "opapc", ()),
            ("extra", "extra", ()))
METHODS = tuple(label for label, _, _ in VARIANTS)
#: shown for reference, left out of the winners: a model that charges nothing for a gradient
REFERENCE = ("continuized, free message gradients",)
ALGORITHM = {label: (name, dict(keys)) for label, name, keys in VARIANTS}
GRAPHS = ("hypercube", "cycle", "random_geometric")
N = 32
DIM, SAMPLES_PER_NODE = 5, 50
COMPUTE_S = 0.001
LATENCY_RATIOS = (0.01, 0.03, 0.1, 1.0, 10.0, 100.0)
LOSSES = (0.01, 0.1)
LOSS_LATENCY_RATIO = 0.01
STRAGGLERS = {"stragglers_fraction": 0.1, "stragglers_slowdown": 10.0}
#: a harsher variant of (b), to see where the balance tips
HARSH_STRAGGLERS = {"stragglers_fraction": 0.1, "stragglers_slowdown": 100.0}
SEEDS = (0, 1, 2)
TARGET = 1e-6
#: the asynchronous runs' budgets, in units of the mean compute time, tried in turn until the
#: target is reached (a run is cheap, a long one is not: most reach it within the first)
BUDGETS = (2000.0, 20000.0, 100000.0)
T_ASYNC = BUDGETS[-1]
T_SYNC = 800.0
WORKERS = 2
DEFAULT_OUT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs",
                           "wall_clock")


@dataclass(frozen=True)
class Scenario:
    name: str       # "a", "b", "c", "d"
    label: str
    timing: tuple   # (key, value) pairs of the [timing] section
    x: float | None = None   # the slowdown (a, b), the latency ratio (c) or the loss (d)


def scenarios() -> list[Scenario]:
    base = {"compute_law": "exponential", "compute_mean": COMPUTE_S}
    out = [Scenario("a", "idealised cluster", tuple(base.items()), 1.0),
           Scenario("b", "10% of nodes 10x slower", tuple({**base, **STRAGGLERS}.items()),
                    10.0),
           Scenario("b", "10% of nodes 100x slower",
                    tuple({**base, **HARSH_STRAGGLERS}.items()), 100.0)]
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
    diverged: bool
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
    name, own = ALGORITHM[cell.method]
    synchronous = is_synchronous(get_algorithm(name))
    timing = {**dict(cell.scenario.timing), **own}
    timing["stragglers_seed"] = cell.seed
    if not synchronous:
        timing["busy_link"] = "skip"
    for t_max in (T_SYNC,) * synchronous or BUDGETS:
        trace = dadao.simulate(make_graph(cell.graph), make_problem(), algorithm=name,
                               t_max=t_max, log_every=1.0 if synchronous else t_max / 1000,
                               seed=cell.seed, engine="timing", timing=timing)
        reached = trace.first_time_below("dist_to_opt", TARGET, x="wall_time")
        if math.isfinite(reached) or trace.status == "diverged":
            break
    d = trace["dist_to_opt"]
    keep = slice(None, None, max(1, len(trace) // 400))
    curve = (trace["wall_time"][keep].copy(), (d / d[0])[keep].copy())
    return Outcome(cell, reached, float(trace["wall_time"][-1]), trace.status == "diverged",
                   curve,
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


def runs_of(outcomes, scenario: Scenario, graph: str, method: str) -> list:
    return [o for o in outcomes
            if o.cell.scenario == scenario and o.cell.graph == graph and o.cell.method == method]


def summary(outcomes, scenario: Scenario, graph: str, method: str) -> tuple[float, list]:
    times = [o.seconds_to_target for o in runs_of(outcomes, scenario, graph, method)]
    return median(times), times


def cell_text(outcomes, scenario, graph, method) -> str:
    med, times = summary(outcomes, scenario, graph, method)
    if not times:
        return "-"
    reached = [t for t in times if math.isfinite(t)]
    if not reached:
        diverged = sum(o.diverged for o in runs_of(outcomes, scenario, graph, method))
        return ("diverged" if diverged == len(times) else
                f"not reached ({diverged}/{len(times)} diverged)" if diverged else "not reached")
    spread = (f" [{seconds_text(min(reached))}, {seconds_text(max(times))}]"
              if len(times) > 1 else "")
    med = median(times)
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
    return not is_synchronous(get_algorithm(ALGORITHM[method][0]))


def scenario_table(outcomes, scenario, graph_names, methods) -> list[str]:
    lines = ["| method | " + " | ".join(graph_names) + " |",
             "|---|" + "---|" * len(graph_names)]
    for m in methods:
        row = [cell_text(outcomes, scenario, g, m) for g in graph_names]
        kind = "async" if asynchronous(m) else "sync"
        kind += ", idealised: not a contender" if m in REFERENCE else ""
        lines.append(f"| {m} ({kind}) | " + " | ".join(row) + " |")
    lines.append("| **winner** | " + " | ".join(
        winner_text(outcomes, scenario, g, methods) for g in graph_names) + " |")
    return lines


def contenders(methods, asynchronous_side: bool) -> list[str]:
    return [m for m in methods if asynchronous(m) == asynchronous_side and m not in REFERENCE]


def winner_text(outcomes, scenario, graph, methods) -> str:
    a_m, a_t = best(outcomes, scenario, graph, contenders(methods, True))
    s_m, s_t = best(outcomes, scenario, graph, contenders(methods, False))
    if not math.isfinite(a_t) and not math.isfinite(s_t):
        return "none reached"
    if not math.isfinite(a_t):
        return f"sync: {s_m} (every asynchronous method diverged or missed the target)"
    if a_t <= s_t:
        if not math.isfinite(s_t):
            return f"async: {a_m} (no synchronous method reached the target)"
        return f"async: {a_m}, {ratio_text(s_t / a_t)} faster than {s_m}"
    return f"sync: {s_m}, {ratio_text(a_t / s_t)} faster than {a_m}"


def ratio_text(r: float) -> str:
    return f"{r:.2f}x" if r < 10 else f"{r:.3g}x"


def winner_summary(outcomes, scenario, graph_names, methods) -> str:
    """The winners of a scenario, graphs with the same winner and runner-up together: "msda
    2.28x-2.64x faster than dadao (hypercube, cycle)" (medians)."""
    groups = {}
    for g in graph_names:
        a_m, a_t = best(outcomes, scenario, g, contenders(methods, True))
        s_m, s_t = best(outcomes, scenario, g, contenders(methods, False))
        if not (math.isfinite(a_t) or math.isfinite(s_t)):
            key, ratio = ("none", None, None), None
        elif a_t <= s_t:
            key, ratio = ("async", a_m, s_m if math.isfinite(s_t) else None), s_t / a_t
        else:
            key, ratio = ("sync", s_m, a_m if math.isfinite(a_t) else None), a_t / s_t
        groups.setdefault(key, []).append((g, ratio))
    parts = []
    for (side, winner, second), items in groups.items():
        where = ", ".join(g for g, _ in items)
        if side == "none":
            parts.append(f"no method reached the target ({where})")
        elif second is None:
            other = "synchronous" if side == "async" else "asynchronous"
            parts.append(f"{winner} (no {other} method reached the target; {where})")
        else:
            lo, hi = (ratio_text(f([r for _, r in items])) for f in (min, max))
            span = lo if lo == hi else f"{lo[:-1]}-{hi}"
            parts.append(f"{winner} {span} faster than {second} ({where})")
    return "; ".join(parts)


def fate(outcomes, scenario, graph, method="dadao") -> str:
    """"reached" (the median over seeds reached the target), "diverged" (every seed diverged)
    or "missed"."""
    runs = runs_of(outcomes, scenario, graph, method)
    if math.isfinite(median(o.seconds_to_target for o in runs)):
        return "reached"
    return "diverged" if runs and all(o.diverged for o in runs) else "missed"


def first_miss(outcomes, latency_scenarios, graph, method="dadao") -> float | None:
    """The smallest latency ratio at which ``method``'s median misses the target (None: none)."""
    missed = [s.x for s in latency_scenarios if fate(outcomes, s, graph, method) != "reached"]
    return min(missed) if missed else None


def crossover(outcomes, latency_scenarios, graph, methods, what="latency") -> str:
    """Where the best asynchronous method stops beating the best synchronous one along the
    scenarios (latency, or straggler slowdown), or the other way round, from the medians."""
    sides, steps = [], []
    for sc in latency_scenarios:
        a_m, a_t = best(outcomes, sc, graph, contenders(methods, True))
        s_m, s_t = best(outcomes, sc, graph, contenders(methods, False))
        side, who = ("async", a_m) if a_t <= s_t else ("sync", s_m)
        sides.append(side)
        steps.append(f"{sc.x:g}x: {side} ({who})")
    xs = [sc.x for sc in latency_scenarios]
    changes = [f"between {xs[k - 1]:g}x and {xs[k]:g}x ({sides[k - 1]} to {sides[k]})"
               for k in range(1, len(sides)) if sides[k] != sides[k - 1]]
    verdict = ("no crossover: " + sides[0] + f" wins at every {what} tried" if not changes
               else "crossover " + ", then ".join(changes))
    return f"{'; '.join(steps)}. {verdict[0].upper()}{verdict[1:]}."


# ---------------------------------------------------------------- figures

def latency_figure(outcomes, latency_scenarios, graph_names, methods, path):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(4.2 * len(graph_names) + 2.2, 3.6), layout="constrained")
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
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, fontsize="small", loc="outside right upper")
    figures.save(fig, path)


def straggler_figure(outcomes, scenario_pair, graph, methods, path):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(4.2 * len(scenario_pair) + 2.2, 3.6), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(scenario_pair), squeeze=False)[0]
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
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, fontsize="small", loc="outside right upper")
    figures.save(fig, path)


# ---------------------------------------------------------------- the document

def winners_table(outcomes, scenario_list, graph_names, methods) -> list[str]:
    lines = ["| scenario | " + " | ".join(graph_names) + " |",
             "|---|" + "---|" * len(graph_names)]
    for sc in scenario_list:
        lines.append(f"| {sc.label} | " + " | ".join(
            winner_text(outcomes, sc, g, methods) for g in graph_names) + " |")
    return lines


PAPER_CLAIMS = [
    "The DADAO paper (Nabli & Oyallon, ICML 2023) claims that DADAO decouples computation "
    "from communication (each runs on its own Poisson clocks, so neither waits for the "
    "other), needs no global synchronisation (so a slow node slows down only itself), and "
    "reaches the optimal gradient and communication complexities among asynchronous "
    "methods. Its model has no link time: an exchange is instantaneous. It reports counts "
    "of gradients and communications, not seconds.",
]


def markdown(outcomes, args, methods, graph_names, seconds, cpu, command, figure_dir) -> str:
    sc = scenarios()
    group = {k: [s for s in sc if s.name == k] for k in "abcd"}
    seeds = args.seeds
    lines = [
        "# Wall-clock time: where asynchrony pays",
        "",
        f"Generated by `{command}` on {datetime.now(timezone.utc):%Y-%m-%d} "
        f"({platform.node()}, {seconds / 60:.1f} min wall, {cpu / 60:.1f} min CPU, "
        f"{args.workers} worker{'s' if args.workers != 1 else ''}); do not edit "
        f"by hand. The model and its semantics: docs/timing.md.",
        "",
        f"Every method on the timing engine: n = {N}, least squares (d = {DIM}, "
        f"{SAMPLES_PER_NODE} samples per node), each method's own rates and constants. A "
        f"gradient takes {1e3 * COMPUTE_S:g} ms on average (exponential compute times); links "
        f"take no time unless a scenario says otherwise. Each cell: the seconds on the "
        f"modelled cluster until dist_to_opt first falls to {TARGET:g} of its start, median "
        f"[min, max] over seeds {', '.join(map(str, seeds))} (the seed draws the clocks, the "
        f"compute times and which nodes straggle); budget {T_ASYNC:g} units "
        f"({T_ASYNC * COMPUTE_S:g} s) for the asynchronous methods, {T_SYNC:g} iterations for "
        f"the synchronous ones (an asynchronous run is tried with "
        f"{', '.join(f'{b:g}' for b in BUDGETS[:-1])} units first and given more only if it "
        f"has neither reached the target nor diverged). \"diverged\": the run stopped when "
        f"dist_to_opt exceeded 1e8 "
        f"times its start. Asynchronous methods run with `busy_link = \"skip\"`. Graphs: "
        + ", ".join(f"{g} (|E| = {make_graph(g).number_of_edges()}, chi = "
                    f"{graphs.graph_chi(make_graph(g)):.3g})" for g in graph_names) + ".",
        "",
        "A synchronous iteration waits for the slowest of the n computations (the mean of the "
        f"maximum of {N} exponential draws is H_{N} = {sum(1 / k for k in range(1, N + 1)):.2f} "
        "mean compute times) and then for each of its gossip rounds; an asynchronous node "
        "never waits, but applies what it receives late: an exchange's messages are computed "
        "when it starts and applied when it ends.",
        "",
        "## Who wins where", "",
        "The best asynchronous method against the best synchronous one (medians; the "
        "Continuized method with free message gradients is shown in the tables for reference "
        "and left out here: it charges nothing for the gradients its messages need).", "",
        *winners_table(outcomes, [s for k in "abcd" for s in group[k]], graph_names, methods),
        "",
        "Crossover in link latency (medians, best asynchronous against best synchronous):", "",
        *[f"- {g}: {crossover(outcomes, group['c'], g, methods)}" for g in graph_names],
        "",
        "Crossover in straggler slowdown (1x is scenario (a)):", "",
        *[f"- {g}: {crossover(outcomes, group['a'] + group['b'], g, methods, 'slowdown')}"
          for g in graph_names],
        "",
        "## The paper's claims beside these measurements", "",
        *PAPER_CLAIMS, "",
        *measured_claims(outcomes, group, graph_names, methods), "",
        f"## (a) {group['a'][0].label}", "",
        *scenario_table(outcomes, group["a"][0], graph_names, methods), "",
    ]
    for s in group["b"]:
        lines += [f"## (b) {s.label}", "", *scenario_table(outcomes, s, graph_names, methods),
                  ""]
    lines += [f"![dist_to_opt against seconds with and without stragglers]({figure_dir}/"
              f"stragglers_{graph_names[-1]}.png)", "",
              "## (c) link latency", "",
              f"![seconds to {TARGET:g} against latency]({figure_dir}/latency.png)", ""]
    for s in group["c"]:
        lines += [f"### {s.label}", "", *scenario_table(outcomes, s, graph_names, methods), ""]
    lines += ["## (d) message loss", "",
              "An asynchronous exchange with a lost message is cancelled at both ends; a "
              "synchronous round sends a lost message again until it arrives.", ""]
    for s in group["d"]:
        lines += [f"### {s.label}", "", *scenario_table(outcomes, s, graph_names, methods), ""]
    return "\n".join(lines) + "\n"


def measured_claims(outcomes, group, graph_names, methods) -> list[str]:
    """What the measurements say of each claim, from the medians."""
    a, b10 = group["a"][0], group["b"][0]
    out = []
    for g in graph_names:
        da, _ = summary(outcomes, a, g, "dadao")
        db, _ = summary(outcomes, b10, g, "dadao")
        s_m, sa = best(outcomes, a, g, contenders(methods, False))
        _, sb = best(outcomes, b10, g, contenders(methods, False))
        out.append(f"- {g}: with 10% of nodes 10x slower DADAO takes "
                   f"{ratio_text(db / da) if math.isfinite(da) else '?'} its idealised time, "
                   f"the best synchronous method ({s_m} idealised) "
                   f"{ratio_text(sb / sa) if math.isfinite(sa) else '?'} its own.")
    tolerated, beyond = [], []
    for g in graph_names:
        ok = [s.x for s in group["c"] if fate(outcomes, s, g) == "reached"]
        tolerated.append(f"{g} up to {max(ok):g}" if ok else f"{g} at none")
        beyond += [fate(outcomes, s, g) for s in group["c"] if not ok or s.x > max(ok)]
    diverged = beyond.count("diverged")
    if not beyond:
        after = "."
    elif diverged == len(beyond):
        after = "; beyond, every run diverges"
    else:
        after = (f"; beyond, it misses the target (every seed diverged in {diverged} of those "
                 f"{len(beyond)} settings)")
    if diverged:
        after += (": a correction computed one exchange time ago is applied to a state that "
                  "has moved, and DADAO's gossip gains (beta_t = 2 chi_1 sqrt(L/nu)) are large "
                  "where chi_1 is.")
    out.append("- Link latency, which the paper's model does not have: DADAO reaches the "
               "target at latencies (x the mean compute time) on " + ", ".join(tolerated)
               + after)
    harsh = group["b"][-1]
    fates = {g: fate(outcomes, harsh, g) for g in graph_names}
    where = {}
    for g in graph_names:
        where.setdefault(fates[g], []).append(g)
    verbs = {"diverged": "diverges", "missed": "misses the target", "reached": "reaches it"}
    said = ("DADAO diverges on every graph" if list(where) == ["diverged"] else
            "DADAO " + "; ".join(f"{verbs[f]} on {', '.join(gs)}" for f, gs in where.items()))
    text = f"- Stragglers {harsh.x:g}x slower: {said}."
    g = next((g for g in graph_names if fates[g] == "diverged"), None)
    if g is not None:
        status = idealised_with_slow_clocks(g, harsh.x)
        lead = "It is not the timing model: t" if status == "diverges" else "T"
        text += (f" {lead}he in-process engine, with the gradient clocks of the same nodes at "
                 f"rate 1/{harsh.x:g} instead, {status} on the {g}"
                 f"{' too' if status == 'diverges' else ''} (seed {SEEDS[0]}). DADAO's "
                 f"constants assume every gradient clock ticks at rate 1; a node that computes "
                 f"{harsh.x:g} times less often breaks that assumption")
        mild = {fate(outcomes, b10, g) for g in graph_names}
        text += (f"; at {b10.x:g}x DADAO reaches the target on every graph." if mild ==
                 {"reached"} else ".")
    out.append(text)
    return out


def readme_row(outcomes, graph_names, methods, seeds) -> dict:
    """The README's Measured row: who wins the idealised cluster and the stragglers, and where
    DADAO stops reaching the target as the link latency grows."""
    sc = scenarios()
    group = {k: [s for s in sc if s.name == k] for k in "abcd"}
    parts = [f"{s.label}: {winner_summary(outcomes, s, graph_names, methods)}"
             for s in group["a"] + group["b"]]
    misses = {}
    for g in graph_names:
        x = first_miss(outcomes, group["c"], g)
        misses.setdefault("never" if x is None else f"{x:g}", []).append(g)
    parts.append("DADAO misses the target from a link latency of " + ", ".join(
        f"{x} ({', '.join(gs)})" for x, gs in misses.items()) + " x the compute time")
    n_methods = len(contenders(methods, True)) + len(contenders(methods, False))
    return {"what": f"seconds to {TARGET:g} on a modelled cluster, {n_methods} methods x "
                    f"{len(graph_names)} graphs (n = {N}) x {len(sc)} scenarios x {len(seeds)} "
                    f"seeds",
            "figure": "; ".join(parts) + ": [docs/wall_clock.md](docs/wall_clock.md)"}


def idealised_with_slow_clocks(graph: str, slowdown: float) -> str:
    """How DADAO ends on the in-process engine when the stragglers of seed SEEDS[0] have
    gradient clocks of rate 1 / slowdown (the idealised counterpart of scenario (b))."""
    from dadao.timing.stragglers import choose_stragglers

    rates = np.ones(N)
    rates[choose_stragglers(N, HARSH_STRAGGLERS["stragglers_fraction"], SEEDS[0])] = 1 / slowdown
    trace = dadao.simulate(make_graph(graph), make_problem(), t_max=BUDGETS[0], seed=SEEDS[0],
                           grad_rates=rates)
    return {"diverged": "diverges", "completed": "completes"}.get(trace.status, trace.status)


# ---------------------------------------------------------------- command line

def cpu_seconds() -> float:
    """CPU seconds of this process and of its waited-for children (the pool's workers)."""
    own, kids = (resource.getrusage(w) for w in (resource.RUSAGE_SELF,
                                                 resource.RUSAGE_CHILDREN))
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


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
        args.out = "wall_clock_quick" if args.quick else DEFAULT_OUT
    return args


def main(argv=None):
    args = parse(argv)
    graph_names = GRAPHS[-1:] if args.quick else GRAPHS
    command = "python " + " ".join([os.path.relpath(__file__)] + (argv or sys.argv[1:]))
    cells = [Cell(s, g, m, seed) for s in scenarios() for g in graph_names for m in METHODS
             for seed in args.seeds]
    # the slow cells (synchronous methods with many rounds) first, so they do not finish alone
    cells.sort(key=lambda c: (c.method != "adom_plus_mc", asynchronous(c.method)))
    start, cpu0 = time.perf_counter(), cpu_seconds()
    outcomes = run_grid(cells, args.workers)
    seconds, cpu = time.perf_counter() - start, cpu_seconds() - cpu0
    os.makedirs(args.out, exist_ok=True)
    sc = scenarios()
    latency_figure(outcomes, [s for s in sc if s.name == "c"], graph_names, METHODS,
                   os.path.join(args.out, "latency.png"))
    straggler_figure(outcomes, sc[:3], graph_names[-1], METHODS,
                     os.path.join(args.out, f"stragglers_{graph_names[-1]}.png"))
    md_path = args.out.rstrip("/") + ".md"
    figure_dir = os.path.relpath(args.out, os.path.dirname(os.path.abspath(md_path)))
    write_atomic(md_path, markdown(outcomes, args, METHODS, graph_names, seconds, cpu, command,
                                   figure_dir))
    print(f"{md_path}: written ({seconds / 60:.1f} min wall, {cpu / 60:.1f} min CPU)")
    if not args.quick and os.path.abspath(args.out) == os.path.abspath(DEFAULT_OUT):
        from measured import write_rows

        write_rows("wall_clock", command,
                   [readme_row(outcomes, graph_names, METHODS, args.seeds)])


if __name__ == "__main__":
    main()

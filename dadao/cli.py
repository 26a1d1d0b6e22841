"""The `dadao` command: parse, call, print. The run lifecycle is ``dadao.runs``; the numbers
come from the library.

Exit codes: 0 done (or already done), 1 the run failed or diverged, 2 a user mistake (one line on
stderr, nothing written that looks like a result), 3 a numerical solver failed (one line naming
the setting to change), 130 interrupted by SIGINT (Ctrl-C) and 143 by SIGTERM (the trace so far
and a checkpoint are kept: `dadao run RUN_DIR --resume` goes on).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import warnings

from dadao import engines
from dadao.errors import DadaoError, UsageError
from dadao.trace import WALL_TIME, events_of

EXAMPLES_RUN = """\
examples:
  dadao run configs/quickstart.toml
  dadao run configs/quickstart.toml --seed 3 --out runs/qs-seed3
  dadao run configs/cycle.toml --set graph.n=64 --set run.t_max=2000
  dadao run configs/paper_star300.toml --dry-run
  mpiexec -n 4 dadao run configs/mpi_demo.toml --engine mpi   (same results, across 4 ranks)
  dadao run runs/long-0123456789 --resume     (go on from the last checkpoint)

The run directory (default runs/<config name>-<hash of the resolved config>/) holds config.toml,
trace.csv, meta.json, convergence.png and convergence.pdf (not with --no-figures). Running the same resolved config and
seed again finds the finished directory and stops (use --rerun to run it anyway).
SIGINT (Ctrl-C) or SIGTERM stops a run at the next window of events, keeps the trace so far and
writes a checkpoint: the run ends "interrupted" (exit 130 or 143) and --resume goes on with it.
"""

EXAMPLES_MPI_CHECK = """\
examples:
  mpiexec -n 4 dadao mpi-check
  mpiexec -f hosts -n 8 dadao mpi-check      (MPICH, hostfile lines "node1:4")
  srun dadao mpi-check                        (inside a Slurm allocation)
"""

EXAMPLES_SWEEP = """\
examples:
  dadao sweep configs/sweeps/demo.toml --dry-run    (list the cells and which are done)
  dadao sweep configs/sweeps/demo.toml --jobs 4     (4 worker processes)
  dadao sweep configs/sweeps/demo.toml --jobs 4 --no-figures   (no figures per cell)
  mpiexec -n 9 dadao sweep configs/sweeps/demo.toml --executor mpi   (8 MPI workers)

Each cell (grid values x seeds) is an ordinary run directory <out>/<values>-<hash>. Running the
sweep again skips the completed cells and runs the failed, interrupted and new ones; sweep.json
and sweep.csv in <out> list every cell. The sweep file's format is docs/sweep.md.
"""

EXAMPLES_GRAPH = """\
examples:
  dadao graph star --n 300
  dadao graph grid_2d --n 16 --rates theory
  dadao graph random_geometric --n 64 --param radius=0.3 --seed 1 --json
  dadao graph my_edges.txt            (an edge-list file: one "u v" per line)
"""

EXAMPLES_RATES = """\
examples:
  dadao rates barbell --n 16
  dadao rates grid_2d --n 64 --method first-order -o grid64_rates.csv
  dadao rates random_geometric --n 32 --seed 1 --solver clarabel --json
  dadao rates grid_2d --n 36 --costs link_costs.csv   (least link busy time, CSV u,v,cost)

A config uses the result with [rates] kind = "sdp" (computed once, cached by graph and method),
or with kind = "explicit" and path = "grid64_rates.csv".
"""

EXAMPLES_PLOT = """\
examples:
  dadao plot runs/quickstart-*/ -o quickstart.png
  dadao plot runs/a runs/b --x communications -o comms.pdf
  dadao plot runs/sweep-a/* --x time --normalise --theory -o rates.png

Runs that differ only by their seeds are one group: one legend entry, the median over the seeds
and the band between the 25% and 75% quantiles; labels name the config keys that differ.
"""

EXAMPLES_REPORT = """\
examples:
  dadao report runs -o report.html
  dadao report runs/sweep-a -o report.html --pdf report.pdf

One HTML file, images embedded (no link to anything); docs/report.md says what it holds.
"""

EXAMPLES_COLLECT = """\
examples:
  dadao collect runs -o results.csv
  dadao collect runs/sweep-a runs/quickstart-0a41b07463 -o results.json

A run directory is a folder with meta.json, config.toml and trace.csv, found at any depth under
each DIR. One row per run (unfinished runs too, with their status), one column per config key
("graph.n", "run.seed", ...) and per result; every column is in docs/collect.md.
"""

DESCRIPTION = """\
dadao: event-driven simulator of asynchronous decentralized optimization (DADAO and baselines).
Time is in expected gradient steps per node.

commands:
  run     run one simulation from a TOML config and write a run directory
  sweep   run a grid of configs (methods, sizes, seeds), each a run directory
  graph   print a graph's constants (chi, chi_1, chi_2) and communications per round
  rates   optimal per-edge gossip rates (SDP or first-order) against uniform ones
  plot    overlay the convergence of run directories
  report  one self-contained HTML (and PDF) report of run directories
  collect one table (CSV or JSON) of the run directories under folders

`dadao COMMAND --help` lists each command's options, with examples.
"""


class _Parser(argparse.ArgumentParser):
    """argparse, with a mistake said in one line ("dadao run: error: ..."), as every other
    error of the command; `--help` shows the usage."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


def _parser() -> argparse.ArgumentParser:
    from dadao import __version__
    from dadao.rates.optimal import METHODS, SOLVERS

    fmt = argparse.RawDescriptionHelpFormatter
    p = _Parser(prog="dadao", description=DESCRIPTION, formatter_class=fmt)
    p.add_argument("--version", action="version", version=f"dadao {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    r = sub.add_parser("run", help="run one simulation from a config", epilog=EXAMPLES_RUN,
                       formatter_class=fmt,
                       description="Run one simulation and write its run directory.")
    r.add_argument("config", metavar="CONFIG.toml", help="the run's config file")
    r.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="override one config key (repeatable); VALUE is read as TOML, bare "
                        "words as strings, e.g. --set graph.family=star --set graph.n=32")
    r.add_argument("--seed", type=int, metavar="N", help="the run seed (same as --set run.seed=N)")
    r.add_argument("--out", metavar="DIR", help="run directory (default: runs/<name>-<hash>)")
    r.add_argument("--engine", choices=engines.names(),
                   help="engine (default: run.engine); mpi: launch with mpiexec -n P")
    r.add_argument("--dry-run", action="store_true",
                   help="validate, print the resolved config and derived constants, run nothing")
    r.add_argument("--rerun", action="store_true",
                   help="run even if the run directory already holds this finished run")
    r.add_argument("--resume", action="store_true",
                   help="go on with the interrupted (or killed) run in the run directory from "
                        "its last checkpoint; CONFIG may then be the run directory itself")
    r.add_argument("--checkpoint-every", type=float, default=None, metavar="SECONDS",
                   help="wall seconds between two checkpoints of the run's state (default "
                        "600; 0: none but the one a stop by SIGINT or SIGTERM always writes)")
    r.add_argument("--no-figures", action="store_true",
                   help="write no convergence.png/.pdf (dadao plot and dadao report draw "
                        "them later from trace.csv)")

    sw = sub.add_parser("sweep", help="run a grid of configs, each a run directory",
                        epilog=EXAMPLES_SWEEP, formatter_class=fmt,
                        description="Run every cell of a sweep file (a base config, seeds and "
                                    "grids of config values) into its own run directory.")
    sw.add_argument("sweep", metavar="SWEEP.toml", help="the sweep file (docs/sweep.md)")
    sw.add_argument("--jobs", type=int, default=1, metavar="N",
                    help="worker processes that run the cells (default 1: in this process)")
    sw.add_argument("--out", metavar="DIR",
                    help="the sweep's folder (default: sweep.out, else sweeps/<file stem>)")
    sw.add_argument("--dry-run", action="store_true",
                    help="check the sweep file, list the cells and which are done, run nothing")
    sw.add_argument("--no-figures", action="store_true",
                    help="the cells write no convergence.png/.pdf (same as sweep.figures = "
                         "false; dadao report draws its figures from the traces)")
    sw.add_argument("--executor", choices=("local", "mpi"), default="local",
                    help="local: --jobs processes on this machine (default); mpi: the other "
                         "processes of the MPI job, under mpiexec -n K (K - 1 workers)")

    g = sub.add_parser("graph", help="a graph's constants", epilog=EXAMPLES_GRAPH,
                       formatter_class=fmt,
                       description="Print the constants of a graph family (or an edge-list file)"
                                   " and, for every algorithm, the expected communications per "
                                   "round of n gradients with its default rates.")
    _add_graph_arguments(g)
    g.add_argument("--rates", choices=("uniform", "theory"), default="uniform",
                   help="rates whose chi_1, chi_2 are shown: uniform with total 1 (the Lbar of "
                        "the paper, default) or DADAO's theory rates (chi_1 chi_2 = 1/2)")
    g.add_argument("--json", action="store_true", help="print JSON instead of a table")

    ra = sub.add_parser("rates", help="optimal per-edge gossip rates", epilog=EXAMPLES_RATES,
                        formatter_class=fmt,
                        description="Find the per-edge gossip rates of least total that meet "
                                    "DADAO's condition chi_1 chi_2 <= 1/2, verified by "
                                    "eigendecomposition, against theory-scaled uniform rates.")
    _add_graph_arguments(ra)
    ra.add_argument("--method", default="sdp", choices=METHODS,
                    help="sdp: the exact program (default); sdp-search: the same by a 1-d "
                         "search; relaxed: chi_1 + chi_2 <= sqrt(2); max-connectivity: the "
                         "classical problem, rescaled; first-order: no cone solver, large graphs")
    ra.add_argument("--solver", choices=("auto",) + SOLVERS,
                    help="cone solver (default auto: clarabel, then scs with fixed scaling, then "
                         "the first-order method for sdp; a named solver is strict)")
    ra.add_argument("--node-cap", type=float, metavar="RATE",
                    help="cap on every node's total gossip rate")
    ra.add_argument("--costs", metavar="FILE.csv",
                    help="per-edge costs, CSV u,v,cost (seconds a link is busy per activation, "
                         "every edge once): minimise the total link busy time sum_e c_e "
                         "lambda_e instead of the total rate")
    ra.add_argument("--no-cache", action="store_true", help="solve again even if cached")
    ra.add_argument("--json", action="store_true", help="print JSON instead of a table")
    ra.add_argument("-o", "--output", metavar="FILE", help="write the rates as CSV u,v,rate")

    mc = sub.add_parser("mpi-check", help="check an MPI launch: hosts and versions of every "
                        "rank (and, with a config, its partition and memory)",
                        formatter_class=fmt, epilog=EXAMPLES_MPI_CHECK,
                        description="Print every rank's host, pid and the versions of Python, "
                                    "dadao, numpy, numba, mpi4py and the MPI library; exit 1 if "
                                    "any differ across ranks (a run would not be exact). With a "
                                    "config: also build its setup on every rank and print the "
                                    "partition of its nodes over the ranks (method, nodes, "
                                    "expected events and their imbalance, cut edges and the "
                                    "share of the gossip rate they carry) and each rank's "
                                    "memory, before a long job starts.")
    mc.add_argument("config", nargs="?", help="a run's config file (TOML)")
    mc.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                    help="override a config value (repeatable)")
    pl = sub.add_parser("plot", help="overlay runs", epilog=EXAMPLES_PLOT, formatter_class=fmt,
                        description="Overlay dist_to_opt of run directories, labelled by "
                                    "algorithm and graph.")
    pl.add_argument("runs", nargs="+", metavar="RUN_DIR", help="run directories")
    pl.add_argument("-o", "--output", default="convergence.png", metavar="FILE",
                    help="output figure, .png, .pdf or .svg (default convergence.png)")
    pl.add_argument("--x", choices=("time", "gradients", "communications", "wall_time"),
                    help="one panel against this axis (default: time, gradients and "
                         "communications; wall_time first instead of time when every run "
                         "has it: runs of the timing engine)")
    pl.add_argument("--metric", choices=("dist_to_opt", "suboptimality", "consensus"),
                    default="dist_to_opt", help="the y axis, a column of trace.csv (default "
                                                "dist_to_opt)")
    pl.add_argument("--normalise", action="store_true",
                    help="divide each run's y by its value at the start")
    pl.add_argument("--logx", action="store_true", help="log scale on x too")
    pl.add_argument("--theory", action="store_true",
                    help="each group's declared rate (meta.json theory.rate) as a dashed line "
                         "y0 exp(-rate t), against x = time")
    rp = sub.add_parser("report", help="one HTML (and PDF) report of many runs",
                        epilog=EXAMPLES_REPORT, formatter_class=fmt,
                        description="Write one self-contained HTML report of the run "
                                    "directories found under the DIRs: convergence by group "
                                    "(median and quartile band over seeds), declared rates, "
                                    "lower bounds, counts to 1e-4/1e-6/1e-8, graphs, "
                                    "provenance (docs/report.md).")
    rp.add_argument("dirs", nargs="+", metavar="DIR",
                    help="run directories, or folders holding them at any depth")
    rp.add_argument("-o", "--output", default="report.html", metavar="FILE",
                    help="the HTML report (default report.html)")
    rp.add_argument("--pdf", metavar="FILE", help="also a PDF of the figures and tables")
    co = sub.add_parser("collect", help="one table of many runs", epilog=EXAMPLES_COLLECT,
                        formatter_class=fmt,
                        description="Write one flat table, a row per run directory found under "
                                    "the DIRs: its config keys, status, counts, the gradients, "
                                    "communications and time to reach dist_to_opt 1e-4, 1e-6 "
                                    "and 1e-8 of its start, final metrics and provenance.")
    co.add_argument("dirs", nargs="+", metavar="DIR",
                    help="run directories, or folders holding them at any depth")
    co.add_argument("-o", "--output", default="results.csv", metavar="FILE",
                    help="output table, .csv or .json (a JSON array of objects; default "
                         "results.csv)")
    return p


def command_names() -> list[str]:
    """The commands of ``dadao``, in the order of its help."""
    sub = next(a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction))
    return list(sub.choices)


def _add_graph_arguments(p) -> None:
    """FAMILY --n --param --seed: the graph of `dadao graph` and `dadao rates`."""
    from dadao.graphs import FAMILIES

    p.add_argument("family", metavar="FAMILY", help=f"one of {', '.join(FAMILIES)}, or the path "
                                                    "of an edge-list file (which sets n; "
                                                    "./star for a file named like a family)")
    p.add_argument("--n", type=int, help="number of nodes (required for a family; with an "
                                          "edge-list file, only its own node count)")
    p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                   help="family parameter: rows, cols (grids), p (erdos_renyi), radius "
                        "(random_geometric); not with an edge-list file")
    p.add_argument("--seed", type=int, default=0, help="seed of the random families (default 0)")


def main(argv=None) -> int:
    """The ``dadao`` command; returns its exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        args, unknown = _parser().parse_known_args(argv)
    except SystemExit as exc:  # --help, --version, or a mistake already said in one line
        return exc.code if isinstance(exc.code, int) else 2
    if unknown:  # named by the command they were given to, not by the top-level parser
        where = f"dadao {args.command}" if args.command else "dadao"
        print(f"{where}: error: unrecognized arguments: {' '.join(unknown)} (see {where} "
              f"--help)", file=sys.stderr)
        return 2
    args.argv = argv
    if args.command is None:
        _parser().print_help()
        return 2
    with warnings.catch_warnings():
        warnings.showwarning = _one_line_warning(args.command)
        return _dispatch(args)


def _one_line_warning(command: str):
    """``warnings.showwarning`` for the command line: one line, no source path."""
    def show(message, category, filename, lineno, file=None, line=None):
        print(f"dadao {command}: warning: {message}", file=sys.stderr)
    return show


def _dispatch(args) -> int:
    try:
        return {"run": cmd_run, "sweep": cmd_sweep, "graph": cmd_graph, "rates": cmd_rates,
                "plot": cmd_plot, "report": cmd_report, "collect": cmd_collect,
                "mpi-check": cmd_mpi_check}[args.command](args)
    except BrokenPipeError:
        # output piped into `head` and closed: stop quietly, as Unix tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except KeyboardInterrupt:
        print(f"dadao {args.command}: interrupted", file=sys.stderr)
        return 130
    except DadaoError as exc:
        from dadao.engines.mpi import launcher_rank

        if not launcher_rank():  # under MPI, rank 0 speaks for every rank
            print(f"dadao {args.command}: error: {exc}", file=sys.stderr)
        return exc.exit_code


# ---------------------------------------------------------------------------------------------
# dadao run


def cmd_run(args) -> int:
    from dadao import runs

    config_path, out = args.config, args.out
    if args.resume and os.path.isdir(config_path):
        # `dadao run RUN_DIR --resume`: the directory holds its own resolved config
        if out is not None and os.path.abspath(out) != os.path.abspath(config_path):
            raise UsageError(f"resuming the run directory {config_path}: --out must be it or "
                             f"absent", field="--out")
        config_path, out = os.path.join(config_path, "config.toml"), config_path
        args.config = config_path
    every = runs.CHECKPOINT_EVERY_S if args.checkpoint_every is None else args.checkpoint_every
    return runs.run_config(config_path, sets=args.set, seed=args.seed, engine=args.engine,
                           out=out, rerun=args.rerun, dry_run=args.dry_run, resume=args.resume,
                           checkpoint_every=every, command=["dadao"] + args.argv,
                           reporter=CliReporter(args), figures=not args.no_figures).code


def cmd_sweep(args) -> int:
    from dadao import sweep
    from dadao.sweeps.progress import Printer

    return sweep.run_sweep(args.sweep, jobs=args.jobs, dry_run=args.dry_run, out=args.out,
                           reporter=Printer(), command=["dadao"] + args.argv,
                           figures=False if args.no_figures else None,
                           executor=args.executor).code


class CliReporter:
    """What ``dadao run`` prints at each step of the lifecycle (``dadao.runs.Reporter``)."""

    def __init__(self, args):
        self.args = args

    def dry_run(self, setup) -> None:
        from dadao import config

        print(f"# {self.args.config}: resolved config (valid; nothing was run)")
        print(config.to_toml(setup.config))
        print("# derived constants")
        _print_constants(setup.describe())

    def already_done(self, path, meta) -> None:
        print(f"{path}: this run already completed (same resolved config and seed); "
              f"use --rerun to run it again")
        _print_summary(meta, path)

    def started(self, setup, path) -> None:
        g = setup.describe()["graph"]
        shape = f"{g['graphs']} graphs, " if g["graphs"] > 1 else ""
        print(f"{path}: {setup.algorithm.name} on {g['family']} ({shape}n = {g['n']}, "
              f"|E| = {g['edges']:g}), {setup.problem.name} d = {setup.problem.dim}, "
              f"t_max = {setup.args.t_max:g}", flush=True)

    def resumed(self, setup, path, time) -> None:
        print(f"{path}: resuming {setup.algorithm.name} from its checkpoint at t = {time:g} "
              f"(t_max = {setup.args.t_max:g})", flush=True)

    def progress(self, setup):
        return _progress_bar(setup.args.t_max)

    def finished(self, meta, path, trace) -> None:
        if trace is None:
            print(f"{path}: {meta.get('error')}", file=sys.stderr)
            return
        _print_summary(meta, path, trace)

    def failed(self, line, path) -> None:
        print(f"dadao run: failed: {line} (traceback in {os.path.join(path, 'error.log')})",
              file=sys.stderr)


def cmd_mpi_check(args) -> int:
    from dadao.engines.mpi import check_ranks, world

    comm = world()
    records, differing = check_ranks(comm)
    code = None
    if comm.rank == 0:
        fields = [f for f in records[0] if f not in ("rank",)]
        print(f"{comm.size} rank(s)")
        for r in records:
            print(f"rank {r['rank']}: " + ", ".join(f"{f} {r[f]}" for f in fields))
        if differing:
            print(f"dadao mpi-check: error: ranks differ in {', '.join(differing)}; runs across "
                  f"them would not be exact", file=sys.stderr)
            code = 1
        else:
            print("ok: every rank runs the same versions")
            code = 0
    code = comm.bcast(code, root=0)
    if code == 0 and args.config:
        _mpi_check_config(comm, args)
    return code


def _mpi_check_config(comm, args) -> None:
    """The partition and per-rank memory of a config's run on the ranks of ``comm``: every
    rank builds the setup as a run would (a DadaoError is the run's own one line, exit 2)."""
    from dadao import memory, runs
    from dadao.engines.mpi import Mpi, run_partition

    group = Mpi().group(comm)
    try:
        setup = runs.build(args.config, sets=args.set, engine="mpi", group=group)
        Mpi().check(setup, group)
        part, edges = run_partition(comm, setup)
    finally:
        group.close()
    own = int((part.owner == comm.rank).sum())
    peak = memory.peak_resident_bytes()
    held = setup.problem.nodes
    mine = {"rank": comm.rank, "nodes": own, "peak_mb": None if peak is None else peak / 2 ** 20,
            "data_nodes": setup.n if held is None else len(held),
            "data_mb": sum(a.nbytes for a in setup.problem.oracle[1:]) / 2 ** 20,
            "state_mb": memory.algorithm_state_bytes(setup.algorithm, own,
                                                     setup.problem.dim) / 2 ** 20}
    ranks = comm.gather(mine, root=0)
    if comm.rank != 0:
        return
    d = part.describe(edges)
    rates = None if setup.synchronous else setup.args.edge_rates
    cut = part.cut(edges)
    share = (f", {rates[cut].sum() / rates.sum():.1%} of the gossip rate" if rates is not None
             and rates.sum() > 0 else "")
    print(f"partition of {setup.n:,} nodes over {comm.size} rank(s): {d['method']}; "
          f"{d['cut_edges']:,} of {d['edges']:,} edges cut{share}")
    if "event_imbalance" in d:
        print("  expected events per unit time per rank: "
              + ", ".join(f"{x:,.4g}" for x in d["events_per_time_per_rank"])
              + f" (imbalance {d['event_imbalance']:.1%}: the busiest rank over the mean, less 1)")
    per_rank = held is not None
    print(f"  problem data: {'each rank its own nodes' if per_rank else 'whole on every rank'} "
          f"([mpi] data)")
    for r in ranks:
        peak = "unknown" if r["peak_mb"] is None else f"{r['peak_mb']:,.0f} MB"
        print(f"  rank {r['rank']}: {r['nodes']:,} nodes, the data of {r['data_nodes']:,} nodes "
              f"({r['data_mb']:,.1f} MB), peak resident memory after building the setup "
              f"{peak}, its nodes' state in the run about {r['state_mb']:,.1f} MB")


class _progress_bar:
    """tqdm bar of simulated time (events, current dist_to_opt) on a terminal; nothing otherwise."""

    def __init__(self, t_max: float):
        self.t_max, self.bar = t_max, None

    def __enter__(self):
        if not sys.stderr.isatty():
            return None
        from tqdm import tqdm

        self.bar = tqdm(total=self.t_max, unit="t", file=sys.stderr, dynamic_ncols=True,
                        bar_format="{l_bar}{bar}| t={n:.4g}/{total:.4g} [{elapsed}<{remaining}"
                                   "{postfix}]")
        return self.update

    def update(self, t, events, dist):
        self.bar.n = min(t, self.t_max)
        self.bar.set_postfix_str(f"events={events:,} dist_to_opt={dist:.3e}", refresh=False)
        self.bar.refresh()

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.close()
        return False


def _print_constants(described: dict) -> None:
    """A setup's description (``Setup.describe``), one section of keys at a time."""
    scalars = {k: v for k, v in described.items() if not isinstance(v, dict) and v is not None}
    sections = {"run": scalars, **{k: v for k, v in described.items() if isinstance(v, dict)}}
    for section, values in sections.items():
        print(f"[{section}]")
        for key, value in values.items():
            if isinstance(value, dict):
                for k, v in value.items():
                    print(f"  {key}.{k:<10} {_fmt(v)}")
            elif value is not None:
                print(f"  {key:<20} {_fmt(value)}")


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


def _print_summary(meta: dict, path: str, trace=None) -> None:
    status = meta.get("status")
    parts = [f"{path}: {status}"]
    if trace is not None and len(trace):
        d = trace["dist_to_opt"]
        if d[0] > 0 and math.isfinite(d[-1]):
            parts.append(f"dist_to_opt {d[0]:.3g} -> {d[-1]:.3g} (x {d[-1] / d[0]:.2e})")
    run = meta.get("run")
    if run:
        events, wall = events_of(meta), run["wall_time_s"]
        unit = "iterations" if run.get("iterations") is not None else "events"
        rate = f" ({events / wall:,.0f} {unit}/s)" if wall > 0 else ""
        parts.append(f"{events:,} {unit} in {wall:.2f} s{rate}")
    if trace is not None and len(trace) and WALL_TIME in trace.columns:
        parts.append(f"{trace[WALL_TIME][-1]:.6g} s on the modelled cluster (wall_time)")
    if meta.get("error"):
        parts.append(meta["error"])
    print("; ".join(parts))


# ---------------------------------------------------------------------------------------------
# dadao graph


def _graph_from_args(args):
    """(graph, label) of `dadao graph` / `dadao rates`: a family with --n, or an edge-list file.

    A family name wins over a file of that name (write ./star for the file). An edge-list file
    sets n: --n is refused when it disagrees with the file's node count (accepted when it
    agrees, so scripts may pass it uniformly), and --param always (families only)."""
    import difflib

    from dadao import config, graphs
    from dadao.errors import GraphError

    name = args.family
    if name not in graphs.FAMILIES:
        if os.path.isdir(name):
            raise GraphError("is a directory, not an edge-list file", file=name)
        if os.path.exists(name) and not os.path.isfile(name):  # a FIFO would block on open
            raise GraphError('is not a regular file (an edge-list file is one "u v" per line)',
                             file=name)
        if not os.path.exists(name):
            close = difflib.get_close_matches(name, graphs.FAMILIES, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise GraphError(f"neither a graph family nor an existing file{hint}; families: "
                             f"{', '.join(graphs.FAMILIES)}", file=name)
        if args.param:
            raise UsageError(f"family parameters do not apply to an edge-list file ({name})",
                             field="--param")
        G = graphs.load_edge_list(name)
        if args.n is not None and args.n != G.number_of_nodes():
            raise UsageError(f"{args.n}, but {name} has {G.number_of_nodes()} nodes (an "
                             f"edge-list file sets the number of nodes: leave --n out)",
                             field="--n")
        return G, name
    if args.n is None:
        raise UsageError("required for a graph family", field="--n")
    graphs.check_n(args.n, "--n")  # named by its flag, not by the family
    if args.seed < 0:
        raise UsageError(f"must be a non-negative integer; got {args.seed}", field="--seed")
    params = {}
    for text in args.param:
        key, sep, value = text.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"expected KEY=VALUE, got {text!r}", field="--param")
        params[key.strip()] = config.parse_set(f"graph.{key.strip()}={value}")[2]
    try:
        return graphs.family_graph(args.family, args.n, seed=args.seed, **params), args.family
    except DadaoError as exc:  # a family's argument, named by the flag that gave it
        flag = {"n": "--n", "seed": "--seed"}.get(exc.field)
        if flag is None and exc.field in params:
            flag = f"--param {exc.field}"
        if flag is None and exc.field and exc.field.startswith("graph."):
            flag = {"graph.n": "--n", "graph.seed": "--seed"}.get(
                exc.field, f"--param {exc.field[len('graph.'):]}")
        raise (exc.located(field=flag) if flag else exc) from None


def cmd_graph(args) -> int:
    G, family = _graph_from_args(args)
    from dadao.report.graph import graph_report

    info = graph_report(G, family, args.rates)
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    print(f"{family}: n = {info['n']}, |E| = {info['edges']}")
    print(f"  chi = lambda_max/lambda_2 of L_G   {info['chi']:.6g}  (lambda_2 = "
          f"{info['lambda_2']:.6g}, lambda_max = {info['lambda_max']:.6g})")
    print(f"  ceil(chi ln 2)                     {info['ceil_chi_ln2']}")
    print(f"  floor(sqrt(chi))                   {info['floor_sqrt_chi']}")
    r = info["rates"]
    print(f"  rates: {r['kind']}, total {r['total']:.6g} per unit time")
    print(f"    chi_1 = 1/lambda_2(Lambda)       {r['chi_1']:.6g}")
    print(f"    chi_2 = max_e R_e / 2            {r['chi_2']:.6g}")
    print(f"    sqrt(2 chi_1 chi_2)              {r['sqrt_2_chi1_chi2']:.6g}")
    print("  communications per round of n gradients (each method's default rates):")
    for name, value in info["communications_per_round"].items():
        print(f"    {name:<28} {value:,.6g}")
    return 0


# ---------------------------------------------------------------------------------------------
# dadao rates


def cmd_rates(args) -> int:
    from dadao import graphs
    from dadao.rates import optimal_rates, write_rates_csv
    from dadao.report.output import check_output_file, write_failed

    if args.output:  # before the solve, which may take minutes
        check_output_file(args.output, "-o", "rates.csv")
    G, family = _graph_from_args(args)
    n = G.number_of_nodes()
    edges = graphs.edge_array(G)
    costs = None
    if args.costs is not None:
        from dadao.rates.optimal.costs import load_costs_csv

        costs = load_costs_csv(args.costs, edges, field="--costs")
    try:
        result = optimal_rates(edges, n, method=args.method,
                               solver=None if args.solver in (None, "auto") else args.solver,
                               node_caps=args.node_cap, cache=not args.no_cache, costs=costs)
    except DadaoError as exc:
        flags = {"solver": "--solver", "method": "--method", "node_caps": "--node-cap",
                 "costs": "--costs"}
        raise exc.located(field=flags.get(exc.field, exc.field)) from None
    info = {"family": family, "n": n, "edges": len(edges),
            "optimal": {**result.summary(), "min_rate": float(result.rates.min()),
                        "max_rate": float(result.rates.max())},
            "uniform": {"total": result.uniform_total, "chi_1": result.uniform_chi_1,
                        "chi_2": result.uniform_chi_2,
                        "product": result.uniform_chi_1 * result.uniform_chi_2}}
    if costs is not None:
        info["costs"] = args.costs
    if args.output:
        try:
            write_rates_csv(args.output, edges, result.rates)
        except OSError as exc:
            raise write_failed(args.output, "-o", exc) from None
        info["written"] = args.output
    if args.json:
        from dadao.rundir import strict_json

        print(json.dumps(strict_json(info), indent=2))
        return 0
    o = info["optimal"]
    print(f"{family}: n = {n}, |E| = {len(edges)}; method {o['method']} "
          f"({o['solve_time_s']:.3g} s{', cached' if o['from_cache'] else ''}): {o['label']}")
    print(f"  {'':<24} {'total rate':>12} {'chi_1':>12} {'chi_2':>12} {'chi_1 chi_2':>12}")
    for name, r in (("theory-scaled uniform", info["uniform"]), ("optimal", o)):
        print(f"  {name:<24} {r['total']:12.6g} {r['chi_1']:12.6g} {r['chi_2']:12.6g} "
              f"{r['product']:12.6g}")
    saving = 0.0 if abs(o["saving"]) < 5e-5 else 100 * o["saving"]  # rescaling rounds to 1e-9
    print(f"  saving: {saving:.2f}% of the communications; optimal rates range over "
          f"[{o['min_rate']:.4g}, {o['max_rate']:.4g}]")
    if costs is not None:  # the objective that was minimised
        print(f"  link busy time sum_e c_e lambda_e (seconds per unit time): theory-scaled "
              f"uniform {o['uniform_total_cost']:.6g}, optimal {o['total_cost']:.6g} (saving "
              f"{100 * o['cost_saving']:.2f}%; costs of {args.costs})")
    if args.output:
        print(f"  per-edge rates written to {args.output} (u,v,rate)")
    return 0


# ---------------------------------------------------------------------------------------------
# dadao plot


def cmd_plot(args) -> int:
    from dadao import rundir
    from dadao.errors import RunDirError
    from dadao.report import figures
    from dadao.report.output import check_output_file, write_failed

    check_output_file(args.output, "-o", "convergence.png")
    ext = os.path.splitext(args.output)[1].lower()
    if ext not in (".png", ".pdf", ".svg"):
        raise UsageError("the extension must be .png, .pdf or .svg", field=f"-o {args.output}")
    from dadao.report import grouping

    runs = []
    for path in args.runs:
        run = grouping.read_run(path)
        empty = figures.nothing_to_plot(run.trace, args.metric)
        if empty:  # an empty figure with exit 0 would look like a result
            raise RunDirError(f"{rundir.TRACE} {empty}: nothing to plot", file=path)
        if args.x and args.x not in run.trace.columns:
            raise RunDirError(f"{rundir.TRACE} has no {args.x} column (runs of engine "
                              f"\"timing\" have one)", file=path)
        runs.append(run)
    groups, _, _ = grouping.group_runs(runs)
    xs = (args.x,) if args.x else None
    fig, notes = figures.group_figure(groups, xs, metric=args.metric, normalise=args.normalise,
                                      logx=args.logx, theory=args.theory)
    try:
        figures.save(fig, args.output)
    except OSError as exc:
        raise write_failed(args.output, "-o", exc) from None
    for note in notes:
        print(f"note: {note}")
    print(f"{args.output}: {len(runs)} run(s), {len(groups)} group(s)")
    return 0


# ---------------------------------------------------------------------------------------------
# dadao report


def cmd_report(args) -> int:
    from dadao.report import build

    return build.main(args)


# ---------------------------------------------------------------------------------------------
# dadao collect


def cmd_collect(args) -> int:
    from dadao import collect
    from dadao.errors import DadaoWarning
    from dadao.report.output import check_output_file, write_failed

    check_output_file(args.output, "-o", "results.csv")
    collect.check_format(args.output)
    # one warning line per skipped folder, even when two say the same (same name elsewhere)
    warnings.simplefilter("always", DadaoWarning)
    columns, rows = collect.table(args.dirs)
    try:
        collect.write(args.output, columns, rows)
    except OSError as exc:
        raise write_failed(args.output, "-o", exc) from None
    print(f"{args.output}: {len(rows)} run(s), {len(columns)} columns")
    return 0


if __name__ == "__main__":
    sys.exit(main())

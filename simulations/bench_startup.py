"""Start-up of ``dadao run``: CPU seconds from process start to the first event, in the first
process (nothing cached) and in the ones after it. Writes docs/bench_startup.md.

    python simulations/bench_startup.py                   # about 3 minutes
    python simulations/bench_startup.py --compare /tmp/head   # also another checkout of
                                                          # dadao (a git worktree of HEAD,
                                                          # say), alternating with this one
    python simulations/bench_startup.py --quick --doc /tmp/s.md   # one round, one case

Cases: DADAO, the Continuized method and EXTRA (synchronous) with the in-process engine, DADAO
and EXTRA with the timing engine, each on a small config (an 8-cycle, least squares with d = 3
and 20 samples per node, t_max = 10: the run itself takes milliseconds).

How it measures. Every process is ``dadao run CONFIG --no-figures`` in a fresh Python, pinned
to core 0 (``taskset -c 0``) with one BLAS/OpenMP/numba thread, under a small wrapper (HOOK
below, nothing in the package) that records time.process_time() - the CPU seconds of the
process since it started, the interpreter's start included - when the first window of events
has been processed (asynchronous methods: ``EventRun._process`` with a non-empty window) or the
first iteration (synchronous methods: ``SyncRun.iteration_done``), and counts the functions numba
compiled before that (its ``numba:compile`` events: a function loaded from numba's cache is not
compiled). Python's bytecode is there from the start, as after an install (the script
byte-compiles each package first). A round of a case: a new empty NUMBA_CACHE_DIR, the cold
process, then ``--warm`` processes on that cache. Cases alternate within a round (and packages,
with --compare); the table gives the median and range over rounds. The load is the share of busy time of other processes on core 0
and on the machine over each process (/proc/stat, ``machine_load``).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from machine_load import THREAD_ENV, Load, processor

HERE = Path(__file__).resolve()
ROOT = HERE.parent.parent
DOC = ROOT / "docs" / "bench_startup.md"
MARKER = "BENCH_STARTUP_JSON "
CPU = 0

CONFIG = """
[graph]
family = "cycle"
n = 8
[problem]
kind = "least_squares"
dim = 3
samples_per_node = 20
[run]
t_max = 10.0
log_every = 1.0
"""

#: (name, method, engine)
CASES = [("dadao", "dadao", "inprocess"), ("continuized", "continuized", "inprocess"),
         ("extra", "extra", "inprocess"), ("dadao, timing", "dadao", "timing"),
         ("extra, timing", "extra", "timing")]

#: the wrapper each process runs: ``python -c HOOK ENGINE dadao-arguments...``
HOOK = r"""
import json, sys, time
from numba.core import event

first = []
compiled = []


class Compiles(event.Listener):
    def on_start(self, ev):
        if not first:
            compiled.append(ev.data["dispatcher"].py_func.__qualname__)

    def on_end(self, ev):
        pass


event.register("numba:compile", Compiles())


def after(cls, name, first_one):
    inner = cls.__dict__[name]

    def wrapped(self, *args):
        out = inner(self, *args)
        if not first and first_one(args):
            first.append((time.process_time(), time.time()))
        return out

    setattr(cls, name, wrapped)


engine = sys.argv[1]
from dadao.engines import inprocess, rounds
after(inprocess.EventRun, "_process", lambda args: len(args[0]) > 0)
after(rounds.SyncRun, "iteration_done", lambda args: True)
if engine == "timing":
    from dadao.engines import timing
    after(timing.TimedEventRun, "_process", lambda args: len(args[0]) > 0)
    after(timing.TimedSyncRun, "iteration_done", lambda args: True)
from dadao.cli import main
code = main(sys.argv[2:])
print("BENCH_STARTUP_JSON " + json.dumps({
    "code": code, "first_cpu_s": first[0][0] if first else None,
    "first_wall": first[0][1] if first else None, "process_cpu_s": time.process_time(),
    "compiled": compiled}))
"""


def child_env(cache: Path, package: Path | None) -> dict:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("NUMBA_") and k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPATH")}
    env.update(THREAD_ENV, NUMBA_CACHE_DIR=str(cache / "numba"),
               DADAO_CACHE_DIR=str(cache / "dadao"))
    if package is not None:
        env["PYTHONPATH"] = str(package)
    return env


def figures_flag(package: Path | None) -> list[str]:
    """["--no-figures"] where the package's ``dadao run`` has it (an older checkout draws its
    figures after the run: the time to the first event is the same)."""
    elsewhere = tempfile.gettempdir()  # not this checkout's folder: -m imports from the cwd
    done = subprocess.run([sys.executable, "-m", "dadao", "run", "--help"], capture_output=True,
                          text=True, env=child_env(Path(elsewhere), package), cwd=elsewhere)
    return ["--no-figures"] if "--no-figures" in done.stdout else []


def one_process(config: Path, method: str, engine: str, cache: Path, package: Path | None,
                out: Path, flags: list[str]) -> dict:
    """One pinned ``dadao run`` under the hook: its measurements, its load and meta.json's
    compile time."""
    taskset = shutil.which("taskset")
    argv = ([taskset, "-c", str(CPU)] if taskset else []) + [
        sys.executable, "-c", HOOK, engine, "run", str(config), "--set",
        f"algorithm.name={method}", "--engine", engine, "--out", str(out), *flags]
    load = Load(cpu=CPU)
    start = time.time()
    done = subprocess.run(argv, env=child_env(cache, package), capture_output=True, text=True,
                          cwd=str(cache), timeout=600)
    wall = time.time() - start
    share = load.stop()
    lines = [line for line in done.stdout.splitlines() if line.startswith(MARKER)]
    result = json.loads(lines[-1][len(MARKER):]) if lines else {}
    if done.returncode != 0 or result.get("code") != 0:
        raise RuntimeError(f"{method} ({engine}) failed:\n{done.stdout}\n{done.stderr}")
    meta = json.loads((out / "meta.json").read_text())
    result.update(wall_s=wall, first_wall_s=result.pop("first_wall") - start, load=share,
                  compile_time_s=meta["run"].get("compile_time_s"))
    return result


def measure(rounds: int, warm: int, cases, packages) -> list[dict]:
    """Every (case, package) for ``rounds`` rounds, alternating: a cold process, then ``warm``
    processes on its cache."""
    rows = []
    flags = {label: figures_flag(package) for label, package in packages}
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        config = Path(tmp) / "small.toml"
        config.write_text(CONFIG)
        for r in range(rounds):
            for name, method, engine in cases:
                for label, package in packages:
                    cache = Path(tmp) / f"cache-{r}-{method}-{engine}-{len(rows)}"
                    cache.mkdir()
                    runs = []
                    for k in range(1 + warm):
                        runs.append(one_process(config, method, engine, cache, package,
                                                cache / f"run{k}", flags[label]))
                    rows.append({"case": name, "method": method, "engine": engine,
                                 "package": label, "round": r, "cold": runs[0],
                                 "warm": runs[1:]})
                    print(f"{name:>14} [{label}] round {r}: cold {runs[0]['first_cpu_s']:.2f} s,"
                          f" warm " + ", ".join(f"{w['first_cpu_s']:.2f}" for w in runs[1:])
                          + " s CPU to the first event", file=sys.stderr)
    return rows


def _spread(values) -> str:
    values = [v for v in values if v is not None]
    if not values:
        return "-"
    return f"{statistics.median(values):.2f} [{min(values):.2f}, {max(values):.2f}]"


def _pct(x) -> str:
    return f"{100 * x:.0f}%"


def table(rows, cases, packages) -> list[str]:
    out = ["| case | package | cold: CPU s to the first event | cold: compile_time_s | "
           "second and later: CPU s to the first event | wall s to the first event | "
           "functions compiled before it | CPU s, whole process | compile_time_s | "
           "load: core 0, machine (max) |",
           "|---|---|---|---|---|---|---|---|---|---|"]
    for name, _, _ in cases:
        for label, _ in packages:
            mine = [r for r in rows if r["case"] == name and r["package"] == label]
            if not mine:
                continue
            cold = [r["cold"] for r in mine]
            warm = [w for r in mine for w in r["warm"]]
            loads = [p["load"] for p in cold + warm]
            compiled = sorted({len(w["compiled"]) for w in warm})
            out.append(
                f"| {name} | {label} | {_spread(c['first_cpu_s'] for c in cold)} | "
                f"{_spread(c['compile_time_s'] for c in cold)} | "
                f"{_spread(w['first_cpu_s'] for w in warm)} | "
                f"{_spread(w['first_wall_s'] for w in warm)} | "
                f"{', '.join(map(str, compiled))} | "
                f"{_spread(w['process_cpu_s'] for w in warm)} | "
                f"{_spread(w['compile_time_s'] for w in warm)} | "
                f"{_pct(max(l.get('core', 0.0) for l in loads))}, "
                f"{_pct(max(l.get('machine', 0.0) for l in loads))} |")
    return out


def document(rows, cases, packages, args, seconds) -> str:
    import numba
    import numpy

    import dadao

    when = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    command = "python simulations/bench_startup.py" + "".join(
        f" {a}" for a in sys.argv[1:] if a not in ("--doc",))
    lines = [
        "# Start-up: CPU seconds to the first event, first and later processes", "",
        f"Generated by `{command}` on {when} in {seconds:.0f} s (edit the script, not this "
        f"file: it is written whole by the script).", "",
        f"Machine: {processor()}, {os.cpu_count()} CPUs; every process pinned to core 0 "
        f"(`taskset -c 0`) with one BLAS/OpenMP/numba thread. Python "
        f"{platform.python_version()}, numpy {numpy.__version__}, numba {numba.__version__}, "
        f"dadao {dadao.__version__}.", "",
        "Workload: `dadao run CONFIG --no-figures` of an 8-cycle, least squares with d = 3 and "
        "20 samples per node, t_max = 10 (the run itself takes milliseconds), for each case's "
        "method and engine.", "",
        "Method: each process is a fresh Python under a wrapper (the script's HOOK, nothing in "
        "the package) that records time.process_time() - CPU seconds since the process "
        "started, the interpreter's start and every import included - once the first window of "
        "events (asynchronous methods) or the first iteration (synchronous methods) has been "
        "processed, and counts the functions numba compiled before then (`numba:compile` "
        "events; a function loaded from numba's cache is not compiled). Python's bytecode is "
        "there, as after an install (the script byte-compiles the package first). A round of "
        "a case: a new empty NUMBA_CACHE_DIR, the cold process, then "
        f"{args.warm} later processes on the same cache; {args.rounds} rounds, cases "
        "alternating; medians [min, max]. compile_time_s is meta.json's (the engine's warm-up "
        "call of its compiled functions: compiling, or loading them from the cache). Load: the "
        "largest share of busy time of other processes over a process, on core 0 and on the "
        "machine (/proc/stat).", "",
        *table(rows, cases, packages), "",
    ]
    for label, _ in packages:
        names = sorted({n for r in rows if r["package"] == label for w in r["warm"]
                        for n in w["compiled"]})
        if not names:
            lines.append(f"`{label}`: no function was compiled before the first event in any "
                         f"later process (all that numba ran there came from its cache).")
            continue
        shown = ", ".join(f"`{n}`" for n in names[:12])
        more = f" and {len(names) - 12} more" if len(names) > 12 else ""
        lines.append(f"`{label}`: compiled before the first event in a later process (the "
                     f"distinct functions over all cases): {shown}{more}.")
    lines.append("")
    for label, package in packages:
        where = "this checkout" if package is None else f"`{package}` (on PYTHONPATH)"
        drawn = "" if figures_flag(package) else " (no --no-figures: it draws its figures)"
        lines.append(f"Package `{label}`: {where}{drawn}.")
    return "\n".join(lines) + "\n"


def _label(folder: Path) -> str:
    """The folder's name, with its commit where it is a git checkout."""
    done = subprocess.run(["git", "-C", str(folder), "rev-parse", "--short", "HEAD"],
                          capture_output=True, text=True)
    return f"{folder.name} ({done.stdout.strip()})" if done.returncode == 0 else folder.name


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=2, help="cold caches per case (default 2)")
    p.add_argument("--warm", type=int, default=2,
                   help="processes after the cold one, per round (default 2)")
    p.add_argument("--compare", type=Path, help="another checkout of dadao, run alternately")
    p.add_argument("--quick", action="store_true", help="one round of the first case")
    p.add_argument("--doc", type=Path, help=f"write the document here (default {DOC}; "
                                            "with --quick, only when given)")
    p.add_argument("--json", type=Path, help="also save every measurement")
    args = p.parse_args(argv)
    cases = CASES[:1] if args.quick else CASES
    if args.quick:
        args.rounds = 1
    packages = [("this", None)]
    if args.compare is not None:
        packages.append((_label(args.compare), args.compare.resolve()))
    for _, package in packages:  # Python's bytecode, as an install leaves it
        folder = (package or ROOT) / "dadao"
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(folder)], check=True,
                       env={k: v for k, v in os.environ.items()
                            if k != "PYTHONDONTWRITEBYTECODE"}, stdout=subprocess.DEVNULL)
    t0 = time.time()
    rows = measure(args.rounds, args.warm, cases, packages)
    seconds = time.time() - t0
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    text = document(rows, cases, packages, args, seconds)
    target = args.doc or (None if args.quick else DOC)
    if target is not None:
        target.write_text(text)
        print(f"wrote {target}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    if target == DOC:
        from measured import write_rows

        write_rows("bench_startup", "python simulations/bench_startup.py", readme_rows(rows))
    return 0


def readme_rows(rows) -> list[dict]:
    """The README's row: this checkout's later processes, every case, to the first event."""
    mine = [r for r in rows if r["package"] == "this"]
    warm = [w["first_cpu_s"] for r in mine for w in r["warm"]]
    cold = [r["cold"]["first_cpu_s"] for r in mine]
    compiled = sum(len(w["compiled"]) for r in mine for w in r["warm"])
    cases = "; ".join(dict.fromkeys(r["case"] for r in mine))
    return [{"what": f"a second `dadao run` of a small config ({cases})",
             "figure": f"{min(warm):.2f}-{max(warm):.2f} s of CPU from process start to the first "
                       f"event, {compiled} functions compiled (numba loads every loop from its "
                       f"cache; the first process: {min(cold):.1f}-{max(cold):.1f} s): "
                       f"[docs/bench_startup.md](docs/bench_startup.md)"}]


if __name__ == "__main__":
    sys.exit(main())

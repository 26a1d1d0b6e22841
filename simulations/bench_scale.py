"""DADAO from a config to its first event, and its events per second, from n = 10^3 to 10^6 nodes
on a torus and a random geometric graph. Writes docs/bench_scale.md and the README rows
(docs/measured/bench_scale.json).

    python simulations/bench_scale.py                  # about 10 minutes, 5 GB at the peak
    python simulations/bench_scale.py --max-n 10000 --doc /tmp/s.md   # the small sizes only

Each case is one fresh process, pinned to core 0 (``taskset -c 0``) with one BLAS/OpenMP/numba
thread, that loads a config (graph ``torus_2d`` or ``random_geometric`` on n nodes, quadratic
problem in dimension d = 10, DADAO with its theory rates, ``graph.constants = "auto"``) and
does what ``dadao run`` does before the first event: ``dadao.experiment.from_config`` (the
graph as edge arrays, the problem and its x*, the graph constants, the rates, the setup) and
the in-process engine's run up to its first window of events. The time to the first event is
the process's CPU seconds since it started (the interpreter's start and the imports included),
read when the first non-empty window has been processed; the peak memory is the process's
resident peak (VmHWM) at that moment. The run then goes on to its horizon, chosen so that the
run has about ``EVENTS`` events (the setup gives the expected events per unit time, so the
horizon is set on the prepared setup), and the events per CPU second are the run's events
over the CPU seconds from the first window to the end of the run, which include the samples
(``SAMPLES`` per run) and the trace; the events per CPU second between samples leave out the
samples (``EventRun.primal_X``, bringing every node to the sampling time, and the metrics:
O(n d) each, a cost per sample that grows with n while the events' does not). numba's cache is warm (a first process per method compiles the
loops once; ``bench_startup.py`` measures that).

Which part of the set-up takes the time is measured with timers around the graph
(``experiment.build_graph``), the problem (``build_problem``), the setup (``prepare``: the graph
constants, the rates, the method's constants) and the engine's start (its state and clocks).
The load is the share of busy time of other processes on core 0 and on the machine over each
process (/proc/stat, ``machine_load``).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from machine_load import THREAD_ENV, Load, processor

HERE = Path(__file__).resolve()
ROOT = HERE.parent.parent
DOC = ROOT / "docs" / "bench_scale.md"
MARKER = "BENCH_SCALE_JSON "
CPU = 0
DIM = 10
#: events of each run after its set-up, and its samples of the metrics
EVENTS = 5_000_000
SAMPLES = 20
SIZES = (1_000, 10_000, 100_000, 1_000_000)
FAMILIES = ("torus_2d", "random_geometric")
#: the goals of the issue: config to first event, and memory, at 10^6 nodes
GOAL_SECONDS, GOAL_MB = 60.0, 4096.0

CONFIG = """\
[graph]
family = "{family}"
n = {n}
constants = "auto"

[problem]
kind = "quadratic"
dim = {dim}
seed = 1

[algorithm]
name = "dadao"

[run]
t_max = 1.0
seed = 0
"""


def child(config: str) -> dict:
    """One case, in this process: set-up timers, the first event, the run; a dict of figures."""
    import dataclasses

    from machine_load import proc_status

    from dadao import config as config_module, engines, experiment
    from dadao.engines import inprocess

    parts, first = {}, {}

    def timed(owner, name, key):
        original = getattr(owner, name)

        def wrapped(*args, **kwargs):
            start = time.process_time()
            try:
                return original(*args, **kwargs)
            finally:
                parts[key] = parts.get(key, 0.0) + time.process_time() - start
        setattr(owner, name, wrapped)

    timed(experiment, "build_graph", "graph")
    timed(experiment, "build_problem", "problem")
    timed(experiment, "prepare", "setup")
    process = inprocess.EventRun._process

    def first_window(self, times, *args, **kwargs):
        out = process(self, times, *args, **kwargs)
        if not first and len(times):
            clock = os.times()
            first.update(cpu=time.process_time(), wall=time.time(),
                         peak_mb=proc_status("VmHWM"), system_s=clock.system)
        return out
    inprocess.EventRun._process = first_window
    start_init = inprocess.EventRun.__init__

    def init(self, *args, **kwargs):
        start = time.process_time()
        start_init(self, *args, **kwargs)
        parts["engine start"] = time.process_time() - start
    inprocess.EventRun.__init__ = init
    sampled = {"cpu": 0.0, "count": 0}
    primal = inprocess.EventRun.primal_X
    from dadao.engines import base as engine_base
    metrics = engine_base.metrics

    def timed_sample(function):
        def wrapped(*args, **kwargs):
            start = time.process_time()
            try:
                return function(*args, **kwargs)
            finally:
                sampled["cpu"] += time.process_time() - start
        return wrapped
    inprocess.EventRun.primal_X = timed_sample(primal)
    engine_base.metrics = timed_sample(metrics)

    cfg = config_module.load(config)
    setup = experiment.from_config(cfg, config)
    c = setup.condition
    per_time = float(setup.args.grad_rates.sum() + c.total)
    t_max = EVENTS / per_time
    args = dataclasses.replace(setup.args, t_max=t_max, log_every=t_max / SAMPLES)
    setup = dataclasses.replace(setup, args=args)
    trace = engines.get_engine("inprocess").run(setup)
    end = time.process_time()
    events = int(trace["gradients"][-1] + trace["communications"][-1])
    record = setup.constants_record[0]
    return {"n": setup.n, "edges": int(setup.setting.edges), "first_cpu_s": first["cpu"],
            "first_system_s": first["system_s"], "first_touch_ms_per_mb": first_touch_cost(),
            "first_wall": first["wall"], "peak_mb": first["peak_mb"],
            "final_peak_mb": proc_status("VmHWM"), "parts": parts, "events": events,
            "run_cpu_s": end - first["cpu"], "t_max": t_max, "sample_cpu_s": sampled["cpu"],
            "constants": record.get("method") if isinstance(record, dict) else None,
            "chi_1": float(c.chi_1), "chi_2": float(c.chi_2),
            "dist_ratio": float(trace["dist_to_opt"][-1] / trace["dist_to_opt"][0])}


def first_touch_cost(megabytes: int = 256) -> float:
    """CPU milliseconds per MB of writing fresh memory the first time (the kernel's page
    faults and zeroing), then nothing: what every new array of a large set-up pays once."""
    import numpy as np

    start = time.process_time()
    block = np.empty(megabytes * 2 ** 20 // 8)
    block[:] = 1.0
    first = time.process_time() - start
    del block
    return 1000.0 * first / megabytes


def one_process(family: str, n: int, folder: Path) -> dict:
    """One pinned child process: its figures and the load over it."""
    path = folder / f"{family}-{n}.toml"
    path.write_text(CONFIG.format(family=family, n=n, dim=DIM))
    taskset = shutil.which("taskset")
    argv = ([taskset, "-c", str(CPU)] if taskset else []) + [
        sys.executable, str(HERE), "--child", str(path)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_NUM")}
    env.update(THREAD_ENV)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(HERE.parent)])
    load = Load(cpu=CPU)
    start = time.time()
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=1800)
    wall = time.time() - start
    share = load.stop()
    lines = [line for line in done.stdout.splitlines() if line.startswith(MARKER)]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"{family} n = {n} failed:\n{done.stdout}\n{done.stderr}")
    result = json.loads(lines[-1][len(MARKER):])
    result.update(family=family, wall_s=wall, first_wall_s=result.pop("first_wall") - start,
                  load=share)
    return result


def warm_cache(folder: Path) -> None:
    """A first small run, so that every measured process loads the loops from numba's cache."""
    one_process("torus_2d", 1_024, folder)


def _mb(value) -> str:
    return "" if value is None else f"{value:,.0f}"


def table(results) -> list[str]:
    lines = ["| graph | n | edges | constants | CPU s to the first event (of which system) | "
             "of which: graph, problem, setup, engine start | wall s | peak MB at the first event | "
             "events | events per CPU s: whole run, between samples | load (core, machine) |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        p = r["parts"]
        split = ", ".join(f"{p.get(k, 0.0):.1f}" for k in ("graph", "problem", "setup",
                                                            "engine start"))
        lines.append(
            f"| {r['family']} | {r['n']:,} | {r['edges']:,} | {r['constants']} | "
            f"{r['first_cpu_s']:.1f} ({r['first_system_s']:.1f}) | {split} | {r['first_wall_s']:.1f} | "
            f"{_mb(r['peak_mb'])} | {r['events']:,} | {r['events'] / r['run_cpu_s']:,.0f}, "
            f"{_between(r):,.0f} | "
            f"{r['load'].get('core', float('nan')):.0%}, {r['load'].get('machine', 0):.0%} |")
    return lines


def _between(r) -> float:
    """Events per CPU s of the run less its samples."""
    return r["events"] / (r["run_cpu_s"] - r["sample_cpu_s"])


def ratios(results) -> list[str]:
    """Events per CPU s (between samples) of each n against the smallest n of the family."""
    out = []
    for family in FAMILIES:
        rows = [r for r in results if r["family"] == family]
        base = next((r for r in rows if r["n"] == min(x["n"] for x in rows)), None)
        if base is None:
            continue
        parts = [f"n = {r['n']:,}: {_between(r) / _between(base):.2f}"
                 for r in rows if r is not base]
        if parts:
            out.append(f"- {family}: events per CPU s between samples against n = "
                       f"{base['n']:,}: " + "; ".join(parts) + ".")
    return out


def goals(results) -> list[str]:
    out = []
    for r in results:
        if r["n"] < 1_000_000:
            continue
        met = r["first_cpu_s"] < GOAL_SECONDS and (r["peak_mb"] or 0) < GOAL_MB
        out.append(f"- {r['family']}, n = {r['n']:,}: {r['first_cpu_s']:.1f} s CPU and "
                   f"{_mb(r['peak_mb'])} MB to the first event: "
                   f"{'within' if met else 'outside'} the goal of {GOAL_SECONDS:.0f} s and "
                   f"{GOAL_MB / 1024:.0f} GB.")
    return out


def document(results, seconds: float) -> str:
    loads = [r["load"].get("core", 0.0) for r in results]
    machines = [r["load"].get("machine", 0.0) for r in results]
    return "\n".join([
        "# From a config to the first event, n = 10^3 to 10^6", "",
        f"Written by `python simulations/bench_scale.py` (edit the script, not this file) on "
        f"{datetime.date.today().isoformat()}; the whole run took {seconds:.0f} s.", "",
        f"Machine: {processor()}, {os.cpu_count()} CPUs, Python {platform.python_version()}; "
        f"each case a fresh process pinned to core {CPU} with one thread. Load from other "
        f"processes (busy jiffies not of this benchmark, /proc/stat): {min(loads):.0%}-"
        f"{max(loads):.0%} of the pinned core, {min(machines):.0%}-{max(machines):.0%} of "
        f"the machine.", "",
        f"DADAO with its theory rates on a quadratic problem in dimension d = {DIM} "
        f"(``graph.constants = \"auto\"``: closed forms on the torus, exact sparse "
        f"factorisations up to 10^4 nodes and certified estimates above on the random "
        f"geometric graph: [graph_constants.md](graph_constants.md)). CPU seconds to the "
        f"first event count the whole process from its start; the split is the CPU seconds "
        f"of building the graph (edge arrays, no networkx graph), the problem (its data and "
        f"x*), the setup (graph constants, rates, the method's constants) and the engine's "
        f"start (state and clocks); the rest is the interpreter, the imports and loading the "
        f"compiled loops. *System*: the kernel's share of those CPU seconds, mostly page faults "
        f"on memory written for the first time; on this machine (a virtual machine) that costs "
        f"{_touch(results)} CPU ms per MB, measured in each process after its run (a fresh "
        f"256 MB block), where a physical machine takes a fraction of a millisecond. "
        f"Events per CPU second: the run after its first window, about "
        f"{EVENTS:,} events with {SAMPLES} samples of the metrics, as a whole and less the "
        f"samples (each brings every node to the sampling time and computes the metrics: "
        f"O(n d), so at 10^6 nodes a sample costs as much as hundreds of thousands of "
        f"events).", "",
        *table(results), "",
        *goals(results),
        *ratios(results), ""])


def _touch(results) -> str:
    values = [r["first_touch_ms_per_mb"] for r in results]
    return f"{min(values):.1f}-{max(values):.1f}"


def readme_rows(results) -> list[dict]:
    rows = []
    for r in results:
        if r["n"] != 1_000_000:
            continue
        base = min((b for b in results if b["family"] == r["family"]), key=lambda b: b["n"])
        rate = _between(r)
        versus = f"; {rate / _between(base):.2f}x the rate at n = {base['n']:,}"
        rows.append({
            "what": f"DADAO on a {r['family']} of n = 1,000,000 ({r['edges']:,} edges), "
                    f"quadratic d = {DIM}, from the config to the first event, one core",
            "figure": f"{r['first_cpu_s']:.1f} s CPU, peak {_mb(r['peak_mb'])} MB; then "
                      f"{rate / 1e6:.2f} million events per CPU s between samples{versus} "
                      f"([docs/bench_scale.md](docs/bench_scale.md))"})
    return rows


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--max-n", type=int, default=max(SIZES))
    p.add_argument("--doc", type=Path, help=f"write the document here (default {DOC}; with "
                   "--max-n below 10^6 nothing is written unless given)")
    p.add_argument("--json", type=Path, help="also save every measurement")
    p.add_argument("--child", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        print(MARKER + json.dumps(child(args.child)))
        return 0
    begin = time.time()
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        warm_cache(Path(tmp))
        for n in [s for s in SIZES if s <= args.max_n]:
            for family in FAMILIES:
                r = one_process(family, n if family != "torus_2d" else _square(n), Path(tmp))
                results.append(r)
                print(f"{family} n = {r['n']:,}: {r['first_cpu_s']:.1f} s CPU to the first "
                      f"event, {_mb(r['peak_mb'])} MB, "
                      f"{r['events'] / r['run_cpu_s']:,.0f} events per CPU s, "
                      f"{_between(r):,.0f} between samples", file=sys.stderr)
    seconds = time.time() - begin
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    doc = args.doc or (DOC if args.max_n >= max(SIZES) else None)
    if doc is not None:
        doc.write_text(document(results, seconds))
        print(f"wrote {doc}", file=sys.stderr)
    if doc == DOC:
        from measured import write_rows

        write_rows("bench_scale", "python simulations/bench_scale.py", readme_rows(results))
    return 0


def _square(n: int) -> int:
    """The perfect square nearest n (a square torus)."""
    side = round(n ** 0.5)
    return side * side


if __name__ == "__main__":
    sys.exit(main())

"""Events per second and memory of the timing engine next to the in-process engine, on the same
runs, at n = 100, 1,000 and 10,000 nodes. Writes docs/bench_timing.md.

    python simulations/bench_timing.py             # the full benchmark, about 5 minutes
    python simulations/bench_timing.py --quick     # a smoke test: shorter horizons, two
                                                   # repetitions; writes the document only
                                                   # with --doc PATH
    python simulations/bench_timing.py --json PATH # also save every measurement
    python simulations/bench_timing.py --no-memory # without the memory children
    python simulations/bench_timing.py --cpu 1     # pinned to core 1 (default 0)

The full run also writes the README's Measured row (docs/measured/bench_timing.json).

Workload: DADAO with its theory rates (the default) on a 2-D torus (degree 4: 10 x 10, 25 x 40,
100 x 100), a quadratic problem with d = 10 (kappa 10, seed 0), run seed 0, metrics sampled every
t_max / 20. (A random regular graph would do as well at n <= 1,000, but its graph constants take
minutes at n = 10,000, where the torus has them in closed form and by a sparse factorisation.)

Engines, each on the same Setup: ``inprocess``; ``timing``, the timing engine on its direct
schedule (``dadao.timing.schedule.TimedSchedule``); ``simpy``, the timing engine with
processes=True (``dadao.timing.processes.ProcessSchedule``). With the default timing model the
three run the same events; the script checks it (same event counts, same final iterates, bit for
bit). A fourth case runs the two timing schedules at n = 1,000 with exponential latency (mean
0.005 units) and 1% independent loss, where an exchange is a SEND and an APPLY event (checked
equal to each other). (With a mean latency of 0.05 or 0.02 units DADAO diverges on this torus
before t = 10; 0.005 converges.)

How it measures (the project's rules for benchmarks):

- the process runs on one core: it re-executes itself under ``taskset -c CPU`` (``--cpu``,
  default 0; or, without
  taskset, pins itself with os.sched_setaffinity) with one BLAS/OpenMP/numba thread; the memory
  children inherit the pinning;
- a run's clock is bracketed by the progress callback of ``drive``: from its first sample (t = 0,
  after the setup, the schedule's construction and the kernels' compilation) to its last (t_max),
  i.e. the engine's timed part (``meta["run"]["wall_time_s"]``) less the metrics of the first
  sample; rates are events per wall second (time.perf_counter) and per CPU second of this process
  (time.process_time), and over the same bracket the share of busy time of other processes on
  the pinned core and on the machine is read from /proc/stat (``machine_load.Load``);
- each case first runs every engine once on a short horizon (the first such run in the process
  compiles the numba kernels: its ``compile_time_s`` is reported apart), then the engines are
  measured alternately, A B C A B C ..., ``--reps`` times; the tables give the median and the
  range;
- memory: each (case, engine) runs once more in a fresh child process (same pinning): its peak RSS
  (VmHWM, which includes the numba compilation of the kernels) minus the peak RSS of a
  baseline child that only imports dadao and builds the graph, the problem and the Setup; and the
  run's own peak: the child compiles on a short run first, resets its peak RSS
  (/proc/self/clear_refs) and reports VmHWM after the run minus VmRSS before it;
- where the timing engine's time goes at n = 1,000: one more run of each timing case with timers
  around the parts of ``TimedSchedule.until`` (node computations, gossip clocks, links, merge
  sort) and the compiled event loop; the rest is the windows, the samples and Python between.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

#: the core every measurement runs on (--cpu)
CPU = 0


def cpu_option(argv: list[str]) -> int:
    """The --cpu of argv, read before the pinning (and so before argparse and numpy)."""
    early = argparse.ArgumentParser(add_help=False)
    early.add_argument("--cpu", type=int, default=CPU)
    return early.parse_known_args(argv)[0].cpu


if __name__ == "__main__":
    from machine_load import pin_to_one_core

    CPU = cpu_option(sys.argv[1:])
    pin_to_one_core(__file__, sys.argv[1:], CPU)

import numpy as np  # noqa: E402  (after the pinning: one thread)

from machine_load import THREAD_ENV, Load, proc_status, processor, reset_peak  # noqa: E402

HERE = Path(__file__).resolve()
DOC = HERE.parent.parent / "docs" / "bench_timing.md"
MARKER = "BENCH_TIMING_JSON "

#: the timing model of the case with latency and loss (seconds; the unit of time is the mean
#: compute time, 1 s): a latency of mean 0.05 or 0.02 makes DADAO diverge on the torus
LOSSY = {"latency_law": "exponential", "latency_mean": 0.005, "loss": "independent",
         "loss_p": 0.01}

#: engine key -> (engine name, options of Engine.run)
ENGINES = {
    "inprocess": ("inprocess", {}),
    "timing": ("timing", {}),
    "simpy": ("timing", {"processes": True}),
}
LABELS = {"inprocess": "in-process", "timing": "timing, direct schedule",
          "simpy": "timing, SimPy processes"}

#: the cases: torus rows x cols, horizon (about 4 x 10^5 events with the default model), its
#: --quick horizon, the timing model (None: the default), the engines and the repetitions of
#: each (None: --reps). SimPy at n = 10,000 runs once: each run takes about as long as at
#: n = 1,000 (the same number of events) and the benchmark's time must stay near 5 minutes.
CASES = [
    dict(name="n100", n=100, rows=10, cols=10, t_max=1200.0, quick_t_max=200.0, timing=None,
         engines=("inprocess", "timing", "simpy"), reps={}),
    dict(name="n1000", n=1000, rows=25, cols=40, t_max=40.0, quick_t_max=8.0, timing=None,
         engines=("inprocess", "timing", "simpy"), reps={}),
    dict(name="n10000", n=10000, rows=100, cols=100, t_max=1.7, quick_t_max=0.4, timing=None,
         engines=("inprocess", "timing", "simpy"), reps={"simpy": 1}, quick_skip=("simpy",)),
    dict(name="n1000-loss", n=1000, rows=25, cols=40, t_max=20.0, quick_t_max=4.0,
         timing=LOSSY, engines=("timing", "simpy"), reps={}),
]
#: the cases profiled (where the timing engine's time goes)
PROFILED = ("n1000", "n1000-loss")
#: the issue's target for the timing engine at n = 1,000, microseconds per event
TARGET_US = 3.0

# ---------------------------------------------------------------------------------------------
# One run


def horizon(case: dict, quick: bool) -> float:
    return case["quick_t_max"] if quick else case["t_max"]


def build_setup(case: dict, t_max: float):
    """The Setup of ``case`` with horizon t_max: every engine runs it as is."""
    from dadao import graphs
    from dadao.problems import quadratic
    from dadao.setup import prepare

    G = graphs.make_graph("torus_2d", case["n"], rows=case["rows"], cols=case["cols"])
    problem = quadratic(case["n"], 10, kappa=10.0, seed=0)
    return prepare(G, problem, algorithm="dadao", t_max=t_max, seed=0, log_every=t_max / 20)


class Bracket:
    """The progress callback of a run: wall and CPU seconds and the load of other processes
    from its first sample (t = 0) to its last (t = t_max)."""

    def __init__(self, t_max: float):
        self.t_max = float(t_max)
        self.start = self.end = self.load = self.share = None

    def __call__(self, t, events, dist):
        if self.start is None:
            self.load = Load(CPU)
            self.start = (time.perf_counter(), time.process_time())
        if t >= self.t_max:
            self.end = (time.perf_counter(), time.process_time())
            self.share = self.load.stop()

    def result(self) -> dict:
        return {"wall_s": self.end[0] - self.start[0], "cpu_s": self.end[1] - self.start[1],
                "load_core": self.share.get("core", float("nan")),
                "load_machine": self.share.get("machine", float("nan"))}


def run_engine(setup, case: dict, key: str, progress=None):
    """The Trace of ``key``'s engine on ``setup`` (the case's timing model for the timing
    engine)."""
    from dadao.engines import get_engine

    name, options = ENGINES[key]
    if name == "timing" and case["timing"] is not None:
        options = dict(options, timing=case["timing"])
    return get_engine(name).run(setup, progress=progress, **options)


class EventCounter:
    """Counts the events the timing engine processes (a context: ``TimedEventRun._process``
    wrapped, one Python call per window): with delays an exchange is a SEND and an APPLY, which
    the engine's counts (gradients, exchanges started) do not tell apart; and the windows of the
    direct schedule (calls of ``TimedSchedule.until``)."""

    def __init__(self):
        self.events = self.windows = 0

    def __enter__(self):
        from dadao.engines.timing import TimedEventRun
        from dadao.timing.schedule import TimedSchedule

        inner = self._inner = TimedEventRun._process
        until = self._until = TimedSchedule.until

        def counted(run, times, ids):
            self.events += len(times)
            return inner(run, times, ids)

        def window(schedule, t_end):
            self.windows += 1
            return until(schedule, t_end)

        TimedEventRun._process = counted
        TimedSchedule.until = window
        return self

    def __exit__(self, *exc):
        from dadao.engines.timing import TimedEventRun
        from dadao.timing.schedule import TimedSchedule

        TimedEventRun._process = self._inner
        TimedSchedule.until = self._until


def measure(setup, case: dict, key: str) -> tuple[dict, np.ndarray]:
    """One timed run: (its figures, its final iterates)."""
    bracket = Bracket(setup.args.t_max)
    call = time.perf_counter()
    with EventCounter() as counter:
        trace = run_engine(setup, case, key, bracket)
    call = time.perf_counter() - call
    meta = trace.meta
    if meta["status"] != "completed":
        raise RuntimeError(f"{case['name']} {key}: the run ended {meta['status']}: "
                           f"{meta.get('error')}")
    run = meta["run"]
    detail = (run.get("engine_detail") or {})
    counted = run["gradient_events"] + run["gossip_events"]
    if ENGINES[key][0] == "timing":
        counted = counter.events
    out = dict(bracket.result(), call_s=call, events=counted, windows=counter.windows,
               gradient_events=run["gradient_events"], gossip_events=run["gossip_events"],
               engine_wall_s=run["wall_time_s"],
               compile_s=run["compile_time_s"], lost_exchanges=detail.get("lost_exchanges") or 0,
               skipped=detail.get("skipped_activations") or 0)
    return out, np.asarray(trace.final_x)


# ---------------------------------------------------------------------------------------------
# Where the timing engine's time goes


#: (label, [(module path, class or None, attribute), ...]): the first attribute that exists is
#: timed (the schedule's parts have had other names)
PARTS = [
    ("node computations (per node: draws, ends in the window)",
     [("dadao.timing.schedule", "TimedSchedule", "_node_events"),
      ("dadao.timing.schedule", "TimedSchedule", "_node_ends")]),
    ("gossip clocks (per edge: arrivals)",
     [("dadao.timing.schedule", "TimedSchedule", "_gossip_arrivals"),
      ("dadao.events", "PoissonClocks", "until")]),
    ("links (queues, durations, loss)",
     [("dadao.timing.schedule", "TimedSchedule", "_edge_events"),
      ("dadao.timing.schedule", "TimedSchedule", "_link_events")]),
    ("busy-edge scan", [("dadao.timing.schedule", "TimedSchedule", "_busy_edges")]),
    ("merge sort by (time, id)",
     [("dadao.timing.schedule", None, "merge_events")]),
]
UNTIL = ("dadao.timing.schedule", "TimedSchedule", "until")
KERNEL = ("dadao.engines.timing", "TimedEventRun", "_process")


def _owner(module: str, cls: str | None):
    import importlib

    mod = importlib.import_module(module)
    return mod if cls is None else getattr(mod, cls)


class PartTimers:
    """Seconds spent in each part while active (a context): each timed attribute is replaced by
    a wrapper that adds its wall time to its part, and put back on exit."""

    def __init__(self):
        self.seconds: dict[str, float] = {}
        self._saved = []

    def _wrap(self, label: str, where) -> None:
        owner = _owner(where[0], where[1])
        inner = getattr(owner, where[2])
        self.seconds[label] = 0.0

        def timed(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return inner(*args, **kwargs)
            finally:
                self.seconds[label] += time.perf_counter() - t0

        self._saved.append((owner, where[2], inner))
        setattr(owner, where[2], timed)

    def __enter__(self):
        for label, choices in PARTS:
            for where in choices:
                if hasattr(_owner(where[0], where[1]), where[2]):
                    self._wrap(label, where)
                    break
        self._wrap("until", UNTIL)
        self._wrap("compiled event loop (with the split of ids into kinds and clocks)", KERNEL)
        return self

    def __exit__(self, *exc):
        for owner, name, inner in reversed(self._saved):
            setattr(owner, name, inner)
        self._saved = []


def profile(setup, case: dict) -> dict:
    """One run of the direct timing schedule with part timers: {part: seconds}, the bracket's
    wall seconds and the events."""
    with PartTimers() as timers:
        r, _ = measure(setup, case, "timing")
    parts = dict(timers.seconds)
    until = parts.pop("until")
    kernel_label = [k for k in parts if k.startswith("compiled")][0]
    kernel = parts.pop(kernel_label)
    split = dict(parts)
    split["until, the rest (concatenations, Python between the parts)"] = until - sum(
        parts.values())
    split[kernel_label] = kernel
    split["the rest: windows, samples (metrics), Python"] = r["wall_s"] - until - kernel
    return {"split_s": split, "wall_s": r["wall_s"], "events": r["events"],
            "load_core": r["load_core"]}


# ---------------------------------------------------------------------------------------------
# Memory, in fresh children


def child(spec: dict) -> None:
    """A memory child: build the case; unless a baseline, compile on a short run, reset the
    peak RSS, run the case's horizon; print the figures (MB) on one line. Peaks are VmHWM, the
    high-water mark of this process's own memory (ru_maxrss would not do: Linux carries it
    over from the parent across fork and exec)."""
    case = {c["name"]: c for c in CASES}[spec["case"]]
    t_max = horizon(case, spec["quick"])
    setup = build_setup(case, t_max)
    out = {"base_mb": proc_status("VmHWM")}
    peak = out["base_mb"]
    if spec["engine"] != "baseline":
        run_engine(build_setup(case, t_max / 200), case, spec["engine"])   # compiles
        out["compiled_mb"] = peak = proc_status("VmHWM")
        reset = reset_peak()
        rss0 = proc_status("VmRSS")
        run_engine(setup, case, spec["engine"])
        hwm = proc_status("VmHWM")
        out["run_own_mb"] = hwm - rss0 if reset else None
        peak = max(peak, hwm)
    out["peak_mb"] = peak
    print(MARKER + json.dumps(out), flush=True)


def memory(case: dict, engine: str, quick: bool) -> dict:
    """The figures of a memory child (``child``) for (case, engine or "baseline")."""
    spec = json.dumps({"case": case["name"], "engine": engine, "quick": quick})
    out = subprocess.run([sys.executable, str(HERE), "--child", spec], check=True,
                         capture_output=True, text=True, env=dict(os.environ, **THREAD_ENV))
    line = [s for s in out.stdout.splitlines() if s.startswith(MARKER)][-1]
    return json.loads(line[len(MARKER):])


# ---------------------------------------------------------------------------------------------
# The benchmark


def run_case(case: dict, reps: int, quick: bool, log) -> dict:
    """Warm-up, then the engines alternately; the checks that they ran the same events."""
    engines = [k for k in case["engines"] if not (quick and k in case.get("quick_skip", ()))]
    t_max = horizon(case, quick)
    warm = build_setup(case, t_max / 200)
    compile_s = {}
    for key in engines:
        r, _ = measure(warm, case, key)
        compile_s[key] = r["compile_s"]
    setup = build_setup(case, t_max)
    runs = {key: [] for key in engines}
    finals = {}
    for rep in range(reps):
        for key in engines:
            if rep >= case["reps"].get(key, reps):
                continue
            r, final_x = measure(setup, case, key)
            runs[key].append(r)
            finals.setdefault(key, final_x)
            log(f"{case['name']:>10} {key:>9} rep {rep}: {r['events']:>9,d} events, "
                f"{r['wall_s']:6.2f} s wall, {r['cpu_s']:6.2f} s CPU, "
                f"{r['events'] / r['cpu_s']:>11,.0f} events/CPU s, load core "
                f"{100 * r['load_core']:4.1f}%")
    return {"name": case["name"], "n": case["n"], "edges": 2 * case["n"], "t_max": t_max,
            "edge_rate": float(np.mean(setup.args.edge_rates)),
            "timing": case["timing"], "engines": engines, "compile_s": compile_s,
            "runs": runs, "checks": same_runs(runs, finals)}


def same_runs(runs: dict, finals: dict) -> dict:
    """Whether every engine of a case ran the same events: the same counts in every run and the
    same final iterates as the first engine, bit for bit."""
    keys = list(runs)
    first = keys[0]
    counts = {k: {(r["events"], r["gradient_events"], r["gossip_events"], r["lost_exchanges"])
                  for r in runs[k]} for k in keys}
    return {k: {"same_counts": counts[k] == counts[first] and len(counts[k]) == 1,
                "same_final_x": bool(np.array_equal(finals[k], finals[first]))}
            for k in keys[1:]}


def summary(runs: list[dict], field: str) -> tuple[float, float, float]:
    values = [r["events"] / r[field] for r in runs]
    return statistics.median(values), min(values), max(values)


# ---------------------------------------------------------------------------------------------
# The document


def _fmt_rate(med_lo_hi) -> str:
    med, lo, hi = med_lo_hi
    return f"{med:,.0f} [{lo:,.0f}, {hi:,.0f}]"


def _pct(x) -> str:
    return f"{100 * x:.1f}%"


def throughput_table(cases: list[dict]) -> list[str]:
    lines = ["| case | n | edges | t_max | engine | events per run (gradient + exchange "
             "events) | runs | events / wall s, median [min, max] | events / CPU s, median "
             "[min, max] | us / event (CPU, median) | CPU rate / in-process | whole run() call "
             "(s, median) | load: pinned core, machine (median; max) |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for c in cases:
        ref = (summary(c["runs"]["inprocess"], "cpu_s")[0] if "inprocess" in c["runs"]
               else None)
        for key in c["engines"]:
            runs = c["runs"][key]
            r0 = runs[0]
            cpu = summary(runs, "cpu_s")
            core = [r["load_core"] for r in runs]
            machine = [r["load_machine"] for r in runs]
            split = (f"{r0['gradient_events']:,} + {r0['events'] - r0['gradient_events']:,}")
            lines.append(
                f"| {c['name']} | {c['n']:,} | {c['edges']:,} | {c['t_max']:g} | "
                f"{LABELS[key]} | {r0['events']:,} ({split}) | {len(runs)} | "
                f"{_fmt_rate(summary(runs, 'wall_s'))} | {_fmt_rate(cpu)} | "
                f"{1e6 / cpu[0]:.2f} | {'-' if ref is None else f'{cpu[0] / ref:.2f}'} | "
                f"{statistics.median(r['call_s'] for r in runs):.2f} | "
                f"{_pct(statistics.median(core))}, {_pct(statistics.median(machine))}; "
                f"{_pct(max(core))}, {_pct(max(machine))} |")
    return lines


def memory_table(cases: list[dict], mem: dict) -> list[str]:
    lines = ["| case | n | engine | peak RSS (MB) | peak RSS - baseline (MB) | the run's own "
             "peak (MB) | baseline child (MB) |", "|---|---|---|---|---|---|---|"]
    for c in cases:
        base = mem[(c["n"], "baseline")]["peak_mb"]
        for key in c["engines"]:
            m = mem[(c["name"], key)]
            own = "n/a" if m.get("run_own_mb") is None else f"{m['run_own_mb']:.1f}"
            lines.append(f"| {c['name']} | {c['n']:,} | {LABELS[key]} | {m['peak_mb']:.0f} | "
                         f"{m['peak_mb'] - base:.0f} | {own} | {base:.0f} |")
    return lines


def profile_lines(name: str, p: dict) -> list[str]:
    lines = [f"| part ({name}: {p['events']:,} events, {p['wall_s']:.2f} s, load on the "
             f"pinned core {_pct(p['load_core'])}) | seconds | us / event | share |",
             "|---|---|---|---|"]
    for label, s in p["split_s"].items():
        lines.append(f"| {label} | {s:.3f} | {1e6 * s / p['events']:.2f} | "
                     f"{_pct(s / p['wall_s'])} |")
    lines.append(f"| total (first to last sample) | {p['wall_s']:.3f} | "
                 f"{1e6 * p['wall_s'] / p['events']:.2f} | 100% |")
    return lines


def checks_line(cases: list[dict]) -> str:
    bad = [f"{c['name']} {k}" for c in cases for k, v in c["checks"].items()
           if not (v["same_counts"] and v["same_final_x"])]
    if bad:
        return ("Exactness: **the engines did not run the same events** in: " + ", ".join(bad)
                + ".")
    return ("Exactness: in every case every engine ran the same events as the first engine of "
            "its case (the same gradient, gossip and lost-exchange counts in every run) and ended "
            "on the same final iterates, bit for bit.")


def target_line(cases: list[dict]) -> str:
    c = {c["name"]: c for c in cases}.get("n1000")
    if c is None or "timing" not in c["runs"]:
        return ""
    cpu = 1e6 / summary(c["runs"]["timing"], "cpu_s")[0]
    wall = 1e6 / summary(c["runs"]["timing"], "wall_s")[0]
    met = "met" if max(cpu, wall) <= TARGET_US else "**not met**"
    return (f"Target (issue 13): at most {TARGET_US:g} us per event for the timing engine at "
            f"n = 1,000: {met} ({cpu:.2f} us per CPU second, {wall:.2f} us per wall second, "
            f"medians, default model).")


def latency_line(cases: list[dict]) -> str:
    """How the lossy case's mean latency compares with the time between an edge's exchanges."""
    c = {c["name"]: c for c in cases}.get("n1000-loss")
    if c is None:
        return ""
    rate, mean = c["edge_rate"], LOSSY["latency_mean"]
    return (f" At its theory rates an edge of that torus exchanges {rate:.2f} times per unit, so "
            f"the mean latency is {mean * rate:.3f} of the mean time between its exchanges.")


def readme_row(cases: list[dict]) -> dict:
    """The README's Measured row: events per CPU second of the three engines at n = 1,000 and
    10,000 (medians), and whether they ran the same events."""
    by = {c["name"]: c for c in cases}

    def rate(name, key):
        return summary(by[name]["runs"][key], "cpu_s")[0]

    def text(name, key):
        r = rate(name, key)
        return f"{r / 1e6:.2f} million" if r >= 1e6 else f"{r / 1e3:.0f} thousand"

    same = all(v["same_counts"] and v["same_final_x"] for c in cases
               for v in c["checks"].values())
    events = sorted(by[name]["runs"]["inprocess"][0]["events"] for name in ("n1000", "n10000"))
    events = (f"{events[0]:,}" if events[0] == events[-1] else
              f"{events[0]:,}-{events[-1]:,}")
    return {
        "what": f"timing engine against in process, DADAO on a torus, d = 10, "
                f"{events} events, default timing model, one core",
        "figure": (f"n = 1,000: {text('n1000', 'timing')} events per CPU second (in process "
                   f"{text('n1000', 'inprocess')}; {1e6 / rate('n1000', 'timing'):.2f} us per "
                   f"event), SimPy processes {text('n1000', 'simpy')}; n = 10,000: "
                   f"{text('n10000', 'timing')} (in process {text('n10000', 'inprocess')}); "
                   + ("traces bit-identical" if same else "**the engines' runs differ**")
                   + ": [docs/bench_timing.md](docs/bench_timing.md)")}


def markdown(cases, mem, profiles, argv, wall_s, quick) -> str:
    import importlib.metadata

    from dadao.versions import versions

    v = versions()
    v.setdefault("simpy", importlib.metadata.version("simpy"))
    if v["simpy"] is None:
        v["simpy"] = importlib.metadata.version("simpy")
    now = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    command = " ".join(["python", "simulations/bench_timing.py", *argv])
    lines = [
        "# Timing engine: events per second and memory",
        "",
        f"Generated by `{command}` on {now} in {wall_s:.0f} s (edit the script, not this file: "
        "it is written whole by the script).",
        "",
        f"Machine: {processor()}, {os.cpu_count()} CPUs; every measurement pinned to core {CPU} "
        f"(`taskset -c {CPU}`) with one BLAS/OpenMP/numba thread. Python {v['python']}, numpy "
        f"{v.get('numpy')}, numba {v.get('numba')}, SimPy {v.get('simpy')}, dadao "
        f"{v.get('dadao')}." + (" **--quick: a smoke test, short horizons.**" if quick else ""),
        "",
        "Workload: DADAO with its theory rates on a 2-D torus (degree 4: 10 x 10, 25 x 40, "
        "100 x 100 nodes), quadratic problem with d = 10 (kappa 10, seed 0), run seed 0, metrics "
        "sampled every t_max / 20. The theory rates of a torus grow with its size, so the share "
        "of exchanges grows with n (the events column). Horizons give about 4 x 10^5 events per "
        "run with the default model. The n1000-loss case runs the timing engine with exponential "
        f"latency (mean {LOSSY['latency_mean']:g} units) and {100 * LOSSY['loss_p']:g}% "
        "independent loss per message "
        f"(`{json.dumps(LOSSY)}`): an exchange is then a SEND and, unless lost, an APPLY event, "
        "both counted; its horizon is half the n1000 one." + latency_line(cases),
        "",
        "Method: the engines of a case run the same Setup, alternately (A B C A B C ...), after a "
        "warm-up run of each (compiles the kernels). A run's clock goes from its first sample "
        "(t = 0: after the setup, the construction of the schedule and the compilation) to its "
        "last (t = t_max), bracketed by the progress callback: the engine's own timed part "
        "(`meta[\"run\"][\"wall_time_s\"]`) less the first sample's metrics. Events per wall "
        "second (perf_counter) and per CPU second of the process (process_time); the load is "
        "the share of busy time of other processes over the same interval, on the pinned core "
        "and on the machine (/proc/stat, `simulations/machine_load.py`). *Whole run() call*: "
        "the wall seconds of `Engine.run` on the ready Setup, clock and all: the construction "
        "of the run and its schedule (the streams of every clock, node and link are opened "
        "there, for both engines), the check of the compiled kernels, the first sample and "
        "the trace.",
        "",
        "## Events per second",
        "",
    ]
    lines += throughput_table(cases)
    notes = ["", checks_line(cases), ""]
    ten = {c["name"]: c for c in cases}.get("n10000")
    if ten is not None:
        simpy_runs = len(ten["runs"].get("simpy", []))
        times = {0: "", 1: "once"}.get(simpy_runs, f"{simpy_runs} times")
        direct = ten["runs"].get("timing") or [{}]
        windows = direct[0].get("windows")
        notes.append(
            (f"At n = 10,000 a run of the direct schedule is {windows:,} window"
             f"{'s' if windows != 1 else ''} of the schedule (split at the samples); "
             if windows else "At n = 10,000 ")
            + "the SimPy processes run "
            + (f"{times} there, not every repetition (each run takes about as long as at "
               "n = 1,000, and the benchmark must stay near 5 minutes)."
               if simpy_runs else "not at all there in --quick."))
        notes.append("")
    notes += [target_line(cases), "", "Compile time (the first warm-up run of each engine in the "
              "process; the kernels are compiled once per process and the later engines reuse "
              "what they share, `meta[\"run\"][\"compile_time_s\"]`): "
              + ", ".join(f"{LABELS[k]} {s:.2f} s" for k, s in cases[0]["compile_s"].items())
              + ".", ""]
    lines += notes
    lines += ["## Memory", "",
              "Each (case, engine) once more in a fresh child process (pinned like the rest). *Peak"
              " RSS*: the child's high-water mark (VmHWM of /proc/self/status, over the whole "
              "child, across the reset below), which includes the numba compilation of the kernels "
              "(most of what it has over the baseline); *- baseline*: minus the peak RSS of a child"
              " that only imports dadao and builds the graph, the problem and the Setup of that n; "
              "*the run's own peak*: the child first compiles on a run of t_max / 200, resets its "
              "peak RSS (`/proc/self/clear_refs`), runs the case's horizon and reports VmHWM minus "
              "the VmRSS it started the run with: the memory of the run itself (state, schedule "
              "windows, sort permutations, the trace).", ""]
    lines += memory_table(cases, mem) if mem else ["Not measured (--no-memory)."]
    lines += ["", "## Where the timing engine's time goes at n = 1,000", "",
              "One more run of the direct schedule with wall-clock timers around the parts of "
              "`TimedSchedule.until` and the compiled loop (`TimedEventRun._process`); "
              "microseconds per event processed.", ""]
    for name, p in profiles.items():
        lines += profile_lines(name, p) + [""]
        top = sorted(p["split_s"].items(), key=lambda kv: -kv[1])[:3]
        lines += [f"{name}: {1e6 * p['wall_s'] / p['events']:.2f} us per event in all; the "
                  "largest parts: " + "; ".join(f"{label}: {1e6 * sec / p['events']:.2f} us "
                                                f"({_pct(sec / p['wall_s'])})"
                                                for label, sec in top) + ".", ""]
    return "\n".join(lines)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="short horizons, 2 repetitions")
    p.add_argument("--reps", type=int, default=None, help="repetitions (default 3, --quick 2)")
    p.add_argument("--doc", default=None, help=f"markdown to write (default {DOC}; with "
                   "--quick: none unless given)")
    p.add_argument("--json", default=None, help="also save every measurement to this file")
    p.add_argument("--no-memory", action="store_true", help="skip the memory children")
    p.add_argument("--cpu", type=int, default=CPU, help="core to pin to (default %(default)s)")
    p.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child is not None:
        child(json.loads(args.child))
        return 0
    reps = args.reps or (2 if args.quick else 3)
    t0 = time.perf_counter()

    def log(msg):
        print(f"[{time.perf_counter() - t0:6.1f} s] {msg}", flush=True)

    log(f"pinned to {sorted(os.sched_getaffinity(0))}")
    cases = [run_case(c, reps, args.quick, log) for c in CASES]
    profiles = {}
    for c in CASES:
        if c["name"] in PROFILED:
            profiles[c["name"]] = profile(build_setup(c, horizon(c, args.quick)), c)
            log(f"profiled {c['name']}")
    mem = {}
    if not args.no_memory:
        for c in CASES:
            if (c["n"], "baseline") not in mem:
                mem[(c["n"], "baseline")] = memory(c, "baseline", args.quick)
            for key in [k for k in c["engines"]
                        if not (args.quick and k in c.get("quick_skip", ()))]:
                mem[(c["name"], key)] = m = memory(c, key, args.quick)
                log(f"memory {c['name']} {key}: peak {m['peak_mb']:.0f} MB, run's own "
                    f"{m.get('run_own_mb')}")
    wall = time.perf_counter() - t0
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"cases": cases, "profiles": profiles,
                       "memory": {f"{k[0]} {k[1]}": v for k, v in mem.items()}}, fh, indent=1)
    doc = args.doc if args.doc is not None else (None if args.quick else str(DOC))
    if doc is not None:
        with open(doc, "w") as fh:
            fh.write(markdown(cases, mem, profiles, argv, wall, args.quick))
        log(f"wrote {doc}")
    if not args.quick and doc is not None and Path(doc).resolve() == DOC:
        from measured import write_rows

        write_rows("bench_timing", " ".join(["python", "simulations/bench_timing.py", *argv]),
                   [readme_row(cases)])
    return 0


if __name__ == "__main__":
    sys.exit(main())

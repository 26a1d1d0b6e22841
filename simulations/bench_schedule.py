"""The event schedule: clock creation, drawing and merging the windows, for the keyed
counter-based clocks of dadao.events (schedule version 2) next to the per-clock numpy
generators they replaced (version 1, read from git). Writes docs/bench_schedule.md.

    python simulations/bench_schedule.py              # the full benchmark, 10 to 15 minutes
                                                      # (version 1 at 10^6 nodes: most of it)
    python simulations/bench_schedule.py --quick      # a smoke test (n <= 10^4, one repetition);
                                                      # writes the document only with --doc PATH
    python simulations/bench_schedule.py --old-rev REV   # version 1 from this git revision

Workloads (every clock of rate 1):

- clock creation on a 2-D torus (``dadao.graphs.make_graph("torus_2d")``, edges by
  ``dadao.graphs.edge_array``): n = 10^3 (25 x 40), 10^4, 10^5 (250 x 400), 10^6 nodes, i.e.
  3n clocks; then the whole schedule of about 3 x 10^6 events (t_end = 10^6 / n) through
  ``windows``, each version with its default window sizes;
- the schedule of the authors' reference run: star graph, n = 300 (599 clocks), t_max = 300;
- the merge alone, on the arrivals of one window given clock by clock (star 300: a default
  window of 2^17 events; the 10^6 torus: one of 2^22): ``np.lexsort`` by (time, id) as version
  1 merged, a stable argsort (merge sort) of the times compiled by numba, a k-way merge of the
  clocks' runs with a binary heap compiled by numba, and the compiled bucket sort of version 2
  (``dadao.events.sort_by_time``). All four give the same order (checked).

How it measures (the project's rules for benchmarks): the process runs on core 0 (it
re-executes itself under ``taskset -c 0``) with one thread; figures are per CPU second of the
measuring process (time.process_time) and per wall second, and over each measurement the busy
share of other processes on core 0 and on the machine is read from /proc/stat
(``machine_load.Load``). The two versions run alternately, old then new, repetition after
repetition; the tables give medians and ranges. Clock creation and its schedule run in a fresh
child process per measurement (same pinning): its peak RSS is reset (/proc/self/clear_refs)
before the clocks are created, and the table gives VmHWM after minus VmRSS before (the
creation's own peak; then the generation's), with the peak of Python's allocations by
tracemalloc in a second creation (except for version 1 at 10^6, which would take minutes more).
Compilation (numba's cache) happens in a warm-up before every clock.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from machine_load import THREAD_ENV, Load, pin_to_one_core, proc_status, processor, reset_peak

CPU = 0

if __name__ == "__main__":
    pin_to_one_core(__file__, sys.argv[1:], CPU)

import numba  # noqa: E402  (after the pinning: one thread)
import numpy as np  # noqa: E402

HERE = Path(__file__).resolve()
ROOT = HERE.parent.parent
DOC = ROOT / "docs" / "bench_schedule.md"
MARKER = "BENCH_SCHEDULE_JSON "
#: torus sides of each n
TORI = {10**3: (25, 40), 10**4: (100, 100), 10**5: (250, 400), 10**6: (1000, 1000)}
#: events of each torus schedule: t_end = EVENTS / (3 n)
EVENTS = 3_000_000
#: a window of the merge-alone measurements at the 10^6 torus
BIG_WINDOW = 1 << 22


# ---------------------------------------------------------------------------------------------
# The two versions

def old_revision() -> str:
    """The git revision before the keyed streams: the parent of the commit that introduced
    SCHEDULE_VERSION into dadao/events.py, or HEAD while that change is not committed."""
    out = subprocess.run(["git", "-C", str(ROOT), "log", "--format=%H", "-S",
                          "SCHEDULE_VERSION", "--", "dadao/events.py"],
                         capture_output=True, text=True, check=True).stdout.split()
    return f"{out[-1]}^" if out else "HEAD"


def load_version(label: str, rev: str | None, folder: str):
    """dadao.events (rev None) or dadao/events.py of git revision ``rev`` as a module."""
    if rev is None:
        from dadao import events
        return events
    text = subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:dadao/events.py"],
                          capture_output=True, text=True, check=True).stdout
    path = Path(folder) / f"events_{label}.py"
    path.write_text(text)
    spec = importlib.util.spec_from_file_location(f"events_{label}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module   # dataclasses look their module up there
    spec.loader.exec_module(module)
    if hasattr(module, "SCHEDULE_VERSION"):
        raise SystemExit(f"dadao/events.py of {rev} already has the keyed streams: give "
                         f"--old-rev a revision before them")
    return module


# ---------------------------------------------------------------------------------------------
# Children: one clock creation and its schedule

def child(spec: dict) -> None:
    """Create the clocks of a torus (timed, own peak RSS), draw their schedule (timed), and
    with ``traced`` create them once more under tracemalloc; print the figures on one line."""
    import tracemalloc

    with tempfile.TemporaryDirectory() as folder:
        events = load_version(spec["version"], spec["rev"], folder)
    edges = np.load(spec["edges"])
    n = spec["n"]
    grad, lam = np.ones(n), np.ones(len(edges))
    events.PoissonClocks(1, grad[:4], edges[:2] % 4, lam[:2]).until(3.0)   # compile / load
    out = {}
    reset = reset_peak()
    rss0 = proc_status("VmRSS")
    c0, w0 = time.process_time(), time.perf_counter()
    clocks = events.PoissonClocks(spec["seed"], grad, edges, lam)
    out["create_cpu_s"] = time.process_time() - c0
    out["create_wall_s"] = time.perf_counter() - w0
    out["create_own_mb"] = proc_status("VmHWM") - rss0 if reset else None
    c0, w0 = time.process_time(), time.perf_counter()
    count = 0
    for _, times, _ in clocks.windows(spec["t_end"]):
        count += len(times)
    out["gen_cpu_s"] = time.process_time() - c0
    out["gen_wall_s"] = time.perf_counter() - w0
    out["events"] = count
    out["peak_own_mb"] = proc_status("VmHWM") - rss0 if reset else None
    if spec["traced"]:
        del clocks
        tracemalloc.start()
        clocks = events.PoissonClocks(spec["seed"], grad, edges, lam)
        out["traced_mb"] = tracemalloc.get_traced_memory()[1] / 1e6
        tracemalloc.stop()
    print(MARKER + json.dumps(out), flush=True)


def run_child(spec: dict) -> dict:
    load = Load(cpu=CPU)
    proc = subprocess.run([sys.executable, str(HERE), "--child", json.dumps(spec)],
                          capture_output=True, text=True, env=dict(os.environ, **THREAD_ENV))
    if proc.returncode:
        raise SystemExit(f"child {spec} failed:\n{proc.stderr}")
    line = [s for s in proc.stdout.splitlines() if s.startswith(MARKER)][-1]
    out = json.loads(line[len(MARKER):])
    shares = load.stop()
    out.update(load_core=shares.get("core"), load_machine=shares.get("machine"))
    return out


def torus_edges(n: int, folder: str) -> tuple[str, int]:
    from dadao import graphs

    rows, cols = TORI[n]
    edges = graphs.edge_array(graphs.make_graph("torus_2d", n, rows=rows, cols=cols))
    path = os.path.join(folder, f"torus{n}.npy")
    np.save(path, edges)
    return path, len(edges)


def creation(sizes, reps: int, rev: str, log) -> list[dict]:
    """Alternately old and new, per n: children creating the clocks and drawing the schedule."""
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for n in sizes:
            path, E = torus_edges(n, folder)
            t_end = EVENTS / (n + E)
            runs = {"v1": [], "v2": []}
            for rep in range(reps):
                for version in ("v1", "v2"):
                    if version == "v1" and n >= 10**6 and rep >= 1:
                        continue   # 46 s and 3.7 GB a time
                    spec = {"version": version, "rev": rev if version == "v1" else None,
                            "edges": path, "n": n, "t_end": t_end, "seed": rep,
                            "traced": rep == 0 and not (version == "v1" and n >= 10**6)}
                    r = run_child(spec)
                    runs[version].append(r)
                    log(f"n = {n:>9,} {version} rep {rep}: create {r['create_cpu_s']:8.3f} s "
                        f"CPU, {r['create_own_mb'] or 0:8.1f} MB; {r['events']:,} events "
                        f"{1e9 * r['gen_cpu_s'] / r['events']:7.0f} ns/event CPU; load core "
                        f"{100 * (r['load_core'] or 0):.1f}%")
            rows.append({"n": n, "edges": E, "clocks": n + E, "t_end": t_end, "runs": runs})
    return rows


# ---------------------------------------------------------------------------------------------
# Star 300, in this process

def star300(versions: dict, reps: int, log) -> dict:
    n = 300
    edges = np.array([[0, i] for i in range(1, n)], dtype=np.int64)
    grad, lam = np.ones(n), np.ones(n - 1)
    for events in versions.values():   # compile / load
        for _ in events.PoissonClocks(0, grad, edges, lam).windows(5.0):
            pass
    runs = {key: [] for key in versions}
    load = Load(cpu=CPU)   # over the whole section: one run takes a few clock ticks
    for rep in range(reps):
        for key, events in versions.items():
            clocks = events.PoissonClocks(rep, grad, edges, lam)
            c0, w0 = time.process_time(), time.perf_counter()
            count = 0
            for _, times, _ in clocks.windows(300.0):
                count += len(times)
            cpu, wall = time.process_time() - c0, time.perf_counter() - w0
            runs[key].append({"events": count, "cpu_s": cpu, "wall_s": wall})
            log(f"star 300 {key} rep {rep}: {count:,} events, {1e9 * cpu / count:6.0f} ns/event "
                f"CPU")
    return {"runs": runs, "load": load.stop()}


# ---------------------------------------------------------------------------------------------
# The merge alone

def lexsort_merge(times, ids):
    order = np.lexsort((ids, times))
    return times[order], ids[order]


@numba.njit(cache=False)
def stable_argsort_merge(times, ids):
    order = np.argsort(times, kind="mergesort")
    return times[order], ids[order]


@numba.njit(cache=False)
def _before(times, head, r, q):
    """Whether run r's head comes before run q's: (time, run) order (runs are in id order)."""
    return times[head[r]] < times[head[q]] or (times[head[r]] == times[head[q]] and r < q)


@numba.njit(cache=False)
def _sift_down(heap, size, i, times, head):
    while True:
        a = 2 * i + 1
        if a >= size:
            return
        if a + 1 < size and _before(times, head, heap[a + 1], heap[a]):
            a += 1
        if not _before(times, head, heap[a], heap[i]):
            return
        heap[i], heap[a] = heap[a], heap[i]
        i = a


@numba.njit(cache=False)
def heap_merge(times, ids, starts):
    """k-way merge of the clocks' runs (run r: rows starts[r]..starts[r + 1] - 1, increasing
    times, one id) with a binary heap of the runs keyed by (head time, run)."""
    m = times.shape[0]
    out_t = np.empty(m)
    out_c = np.empty(m, dtype=np.int64)
    k = starts.shape[0] - 1
    heap = np.empty(k, dtype=np.int64)
    head = starts[:-1].copy()
    size = 0
    for r in range(k):
        if starts[r + 1] > starts[r]:
            heap[size] = r
            size += 1
    for i in range(size // 2 - 1, -1, -1):
        _sift_down(heap, size, i, times, head)
    for j in range(m):
        r = heap[0]
        out_t[j] = times[head[r]]
        out_c[j] = ids[head[r]]
        head[r] += 1
        if head[r] == starts[r + 1]:
            size -= 1
            heap[0] = heap[size]
        _sift_down(heap, size, 0, times, head)
    return out_t, out_c


def merge_alone(reps: int, big: bool, log) -> list[dict]:
    """The four merges on one window's arrivals, given clock by clock."""
    from dadao import events

    windows = []
    n = 300
    star = events.PoissonClocks(0, np.ones(n), np.array([[0, i] for i in range(1, n)]),
                                np.ones(n - 1))
    star.until(10.0)
    t0 = star.time
    windows.append(("star 300, one window", t0, t0 + events.EVENTS_PER_WINDOW / star.total_rate,
                    star))
    if big:
        with tempfile.TemporaryDirectory() as folder:
            path, _ = torus_edges(10**6, folder)
            edges = np.load(path)
        torus = events.PoissonClocks(0, np.ones(10**6), edges, np.ones(len(edges)))
        torus.until(0.5)
        windows.append(("10^6 torus, one window", 0.5, 0.5 + BIG_WINDOW / torus.total_rate,
                        torus))
    rows = []
    for label, start, end, clocks in windows:
        times, ids = clocks.arrivals(end)
        starts = np.concatenate([[0], np.cumsum(np.bincount(ids, minlength=clocks.clock_count)
                                                )]).astype(np.int64)
        ref = np.lexsort((ids, times))
        methods = {
            "np.lexsort by (time, id), then gather (version 1)":
                lambda: lexsort_merge(times, ids),
            "stable argsort of the times (numba merge sort), then gather":
                lambda: stable_argsort_merge(times, ids),
            "k-way merge of the clocks' runs, binary heap (numba)":
                lambda: heap_merge(times, ids, starts),
            "bucket sort of the times (version 2: dadao.events.sort_by_time)":
                lambda: events.sort_by_time(times, ids, len(times), start, end),
        }
        for name, call in methods.items():   # compile, and check the order
            got_t, got_c = call()
            if not (np.array_equal(got_t, times[ref]) and np.array_equal(got_c, ids[ref])):
                raise SystemExit(f"{name} does not sort by (time, id)")
        runs = {name: [] for name in methods}
        load = Load(cpu=CPU)   # over all repetitions: one call takes a few clock ticks
        for rep in range(reps):
            for name, call in methods.items():
                c0, w0 = time.process_time(), time.perf_counter()
                call()
                cpu, wall = time.process_time() - c0, time.perf_counter() - w0
                runs[name].append({"cpu_s": cpu, "wall_s": wall})
        rows.append({"window": label, "events": len(times), "clocks": clocks.clock_count,
                     "runs": runs, "load": load.stop()})
        log(f"merge alone, {label}: " + ", ".join(
            f"{1e9 * statistics.median(r['cpu_s'] for r in v) / len(times):.0f}"
            for v in runs.values()) + " ns/event")
    return rows


# ---------------------------------------------------------------------------------------------
# The document

def _med(values) -> str:
    values = list(values)
    return (f"{statistics.median(values):,.0f} [{min(values):,.0f}, {max(values):,.0f}]"
            if len(values) > 1 else f"{values[0]:,.0f}")


def _med2(values) -> str:
    values = list(values)
    return (f"{statistics.median(values):.3f} [{min(values):.3f}, {max(values):.3f}]"
            if len(values) > 1 else f"{values[0]:.3f}")


def _known(x) -> bool:
    return x is not None and x == x


def _pct(x) -> str:
    return f"{100 * x:.0f}%" if _known(x) else "n/a"


def _loads(runs) -> str:
    core = [r["load_core"] for r in runs if _known(r["load_core"])]
    machine = [r["load_machine"] for r in runs if _known(r["load_machine"])]
    if not core or not machine:
        return "n/a"
    return (f"{_pct(statistics.median(core))}, {_pct(statistics.median(machine))}; max "
            f"{_pct(max(core))}, {_pct(max(machine))}")


def _section_load(load: dict) -> str:
    return (f"Load over the section's measurements: core {_pct(load.get('core'))}, machine "
            f"{_pct(load.get('machine'))}.")


def _ratio(row: dict, field: str, per_event: bool) -> float:
    """Median of ``field`` (per event) of version 1 over version 2's."""
    def med(key):
        return statistics.median(r[field] / (r["events"] if per_event else 1.0)
                                 for r in row["runs"][key])
    return med("v1") / med("v2")


LABEL = {"v1": "1: a numpy generator per clock", "v2": "2: keyed Philox streams, arrays"}


def markdown(created, star, merges, argv, rev, wall_s, quick) -> str:
    from dadao.versions import versions

    v = versions()
    now = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    command = " ".join(["python", "simulations/bench_schedule.py", *argv])
    lines = [
        "# The event schedule: clock creation, drawing, merging",
        "",
        f"Generated by `{command}` on {now} in {wall_s:.0f} s (edit the script, not this file: "
        "it is written whole by the script).",
        "",
        f"Machine: {processor()}, {os.cpu_count()} CPUs; every measurement pinned to core {CPU} "
        f"(`taskset -c {CPU}`) with one thread. Python {v['python']}, numpy {v.get('numpy')}, "
        f"numba {v.get('numba')}. Version 1 is `dadao/events.py` of git revision `{rev}`; "
        f"version 2 is this tree's (`dadao.events.SCHEDULE_VERSION` = {v.get('schedule')})."
        + (" **--quick: a smoke test.**" if quick else ""),
        "",
        "How it measures, and the workloads: the script's docstring. Figures are medians "
        "[min, max] over the repetitions, per CPU second of the measuring process and per wall "
        "second; *load* is the busy share of other processes on the pinned core and on the "
        "machine during the measurements (in the first table per child process: median; max).",
        "",
        "## Clock creation and the schedule on a 2-D torus (3n clocks of rate 1)",
        "",
        "| n | clocks | version | reps | creation, CPU s | creation, wall s | creation's own "
        "peak RSS (MB) | tracemalloc peak (MB) | bytes per clock (tracemalloc) | events | "
        "schedule, ns / event (CPU) | schedule, ns / event (wall) | own peak RSS with the "
        "schedule (MB) | load: core, machine |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in created:
        for key, runs in row["runs"].items():
            if not runs:
                continue
            traced = [r["traced_mb"] for r in runs if "traced_mb" in r]
            per_clock = (f"{1e6 * traced[0] / row['clocks']:,.0f}" if traced else "n/a")
            own = [r["create_own_mb"] for r in runs if r["create_own_mb"] is not None]
            peak = [r["peak_own_mb"] for r in runs if r["peak_own_mb"] is not None]
            lines.append(
                f"| {row['n']:,} | {row['clocks']:,} | {LABEL[key]} | {len(runs)} | "
                f"{_med2(r['create_cpu_s'] for r in runs)} | "
                f"{_med2(r['create_wall_s'] for r in runs)} | "
                f"{_med(own) if own else 'n/a'} | {f'{traced[0]:,.1f}' if traced else 'n/a'} | "
                f"{per_clock} | {runs[0]['events']:,} | "
                f"{_med(1e9 * r['gen_cpu_s'] / r['events'] for r in runs)} | "
                f"{_med(1e9 * r['gen_wall_s'] / r['events'] for r in runs)} | "
                f"{_med(peak) if peak else 'n/a'} | {_loads(runs)} |")
    lines += ["", "Version 1 over version 2 (medians, CPU): " + "; ".join(
        f"n = {row['n']:,}: creation {_ratio(row, 'create_cpu_s', False):,.0f}x, schedule "
        f"{_ratio(row, 'gen_cpu_s', True):.1f}x per event" for row in created) + "."]
    lines += ["", "Version 1 spends a Python step per clock and window (its windows hold at "
              "least 32 events per clock, here one window): where a clock has few events, as "
              "at 10^6 nodes over t_end = 1, that step, not the draws, is its cost per event.",
              "", "## The schedule of star 300 (599 clocks of rate 1, t_max = 300)", "",
              "| version | reps | events | ns / event (CPU) | ns / event (wall) | events per CPU "
              "second |", "|---|---|---|---|---|---|"]
    for key, runs in star["runs"].items():
        lines.append(f"| {LABEL[key]} | {len(runs)} | {runs[0]['events']:,} | "
                     f"{_med(1e9 * r['cpu_s'] / r['events'] for r in runs)} | "
                     f"{_med(1e9 * r['wall_s'] / r['events'] for r in runs)} | "
                     f"{_med(r['events'] / r['cpu_s'] for r in runs)} |")
    lines += ["", _section_load(star["load"]), "",
              "## The merge alone (one window's arrivals, given clock by clock)", "",
              "| window | clocks | events | merge | ns / event (CPU) | ns / event (wall) |",
              "|---|---|---|---|---|---|"]
    for row in merges:
        for name, runs in row["runs"].items():
            lines.append(f"| {row['window']} | {row['clocks']:,} | {row['events']:,} | {name} | "
                         f"{_med(1e9 * r['cpu_s'] / row['events'] for r in runs)} | "
                         f"{_med(1e9 * r['wall_s'] / row['events'] for r in runs)} |")
    lines += [""] + [f"{row['window']}: " + _section_load(row["load"]) for row in merges]
    lines += ["", "The bucket sort is what `dadao.events` uses: the arrivals of Poisson clocks "
              "fall uniformly in a window, so a window cut into as many buckets as it has "
              "events holds about one per bucket, and each is sorted by insertion (stable: "
              "ties keep the clocks' id order); a bucket of more than a few events (times "
              "piled on one instant) is merge sorted, so the worst case stays O(m log m).", ""]
    return "\n".join(lines)


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--reps", type=int, default=None)
    parser.add_argument("--old-rev", default=None, help="git revision of version 1")
    parser.add_argument("--doc", default=None, help="where to write the document")
    parser.add_argument("--json", default=None, help="also save every measurement here")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        child(json.loads(args.child))
        return
    quick = args.quick
    reps = args.reps or (1 if quick else 3)
    rev = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short",
                          args.old_rev or old_revision()],
                         capture_output=True, text=True, check=True).stdout.strip()
    log = lambda text: print(text, flush=True)  # noqa: E731
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        versions = {"v1": load_version("v1", rev, folder), "v2": load_version("v2", None, folder)}
    star = star300(versions, 3 if quick else 7, log)
    merges = merge_alone(2 if quick else 5, big=not quick, log=log)
    sizes = [10**3, 10**4] if quick else sorted(TORI)
    created = creation(sizes, reps, rev, log)
    wall_s = time.perf_counter() - start
    text = markdown(created, star, merges, argv, rev, wall_s, quick)
    doc = args.doc or (None if quick else str(DOC))
    if doc:
        Path(doc).write_text(text)
        log(f"wrote {doc}")
    else:
        print(text)
    if args.json:
        Path(args.json).write_text(json.dumps({"created": created, "star": star,
                                               "merges": merges}, indent=1))


if __name__ == "__main__":
    main()

"""Events per second and wall time of the MPI engine for P = 1, 2, 4 ranks, against in process.

Workloads (DADAO, theory rates, random geometric graph with seed 0, run seed 0):
  compute:        n = 64 nodes, least squares with d = 100,000, 10 samples per node, reg = 100
                  (an event touches megabytes: the node's 10 x 100,000 rows and its state);
  communication:  n = 1024 nodes, least squares with d = 10, 20 samples per node (an event is a
                  few hundred flops, so every cut-edge exchange is comparatively expensive).

Driver (default): for each workload, runs the in-process engine (P = 0 in the JSON, "inprocess" in
the table) and then ``mpiexec -n P python simulations/bench_mpi.py --worker WORKLOAD`` for each P,
each in its own subprocess (clean memory, timeout), collects the JSON line of rank 0, checks that
every MPI run ends on the in-process final iterates (max |x_mpi - x_inprocess|) with the same
event counts, prints the table and writes it, with what limits the parallel efficiency, to
docs/bench_mpi.md:

    python simulations/bench_mpi.py [--ranks 1 2 4] [--quick] [--only compute]

--quick is a smoke test (short horizons, d = 10,000 for the compute workload; about a minute)
and does not write the document unless --doc is given. Runs with more ranks than cores
(os.cpu_count()) are run anyway and marked "oversubscribed".

Cut-edge exchanges: ``--exchange compiled python`` runs every job of two ranks or more once per
variant ($DADAO_MPI_EXCHANGE: MPI_Sendrecv called from the compiled loop, or a return to Python
and mpi4py's Sendrecv at each cut-edge event; docs/mpi.md), alternating, ``--rounds`` times
(default: ``auto``, once).

Timing: the wall time is the engine's own (``meta["run"]["wall_time_s"]``: the sampling loop from the
first sample to t_max, after the problem is built and the kernels are compiled; for MPI the ranks
start it together after a barrier); events/s = events / wall time. Events per CPU second =
events / the CPU seconds of every process over the same loop (each rank's ``cpu_s``; in process,
the process's CPU time from the first sample to the last): a rank that waits at a cut edge
busy-polls, so its waits cost CPU time too. The foreign load is the busy share of the machine's
cores (/proc/stat) not spent by the benchmark's own processes during the job
(``machine_load.Load``). Metrics are sampled every t_max / 20. Every worker runs with one
BLAS/OpenMP/numba thread, so a rank uses one core.

The per-rank time split of an MPI run (event loop, cut-edge exchanges, samples, schedule draws)
is measured by the ranks inside the run (``meta["run"]["engine_detail"]["ranks_detail"]``). The in-process engine
does not time its parts; for it the schedule draws are estimated by replaying them after the run.

Worker: ``python simulations/bench_mpi.py --worker WORKLOAD [--engine mpi|inprocess] [--t-max T]
[--dim D] [--final-x PATH]`` builds the workload on every rank (same seeds, same data), runs
``dadao.simulate(..., engine=...)`` and rank 0 prints one line "BENCH_JSON {...}" (and saves
the final iterates to PATH). After the timed run, and outside it, a worker measures separately:
in process, the schedule replay, one sample's primal iterates and one evaluation of the metrics;
in a one-rank MPI job, the cost of entering the rank's compiled loop on an empty window (paid
after every cut-edge event) and the metrics; with two or more ranks, a Sendrecv between ranks 0
and 1 that wait for nothing.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine_load import THREAD_ENV, Load  # noqa: E402  (one thread per rank)

from dadao import engines
from dadao.engines.native_mpi import EXCHANGE_CHOICES

HERE = Path(__file__).resolve()
DOC = HERE.parent.parent / "docs" / "bench_mpi.md"
MARKER = "BENCH_JSON "

#: name -> n, graph family, d, samples per node, reg, horizon (full and --quick), --quick's d,
#: and the fraction of the horizon run with more ranks than cores. Horizons: a P = 1 run takes
#: 20-40 s on the 2-core machine of the committed figures. An oversubscribed rank that waits at a
#: cut edge busy-polls for its time slice, so the communication workload, oversubscribed, ran 2.5
#: times (quiet machine) to 30 times (other jobs running) slower than with one rank: it gets 1/4
#: of the horizon, to bound the benchmark's time (its speed-ups are ratios of events/s, and its
#: exactness is checked against an in-process run of that horizon).
WORKLOADS = {
    "compute": dict(n=64, graph="random_geometric", dim=100_000, samples=10, reg=100.0,
                    t_max=24.0, quick_t_max=0.5, quick_dim=10_000, oversubscribed_fraction=1.0),
    "communication": dict(n=1024, graph="random_geometric", dim=10, samples=20, reg=0.0,
                          t_max=2000.0, quick_t_max=20.0, quick_dim=10,
                          oversubscribed_fraction=0.25),
}


# ---------------------------------------------------------------------------------------------
# Worker


def build(name, dim=None):
    from dadao import graphs, problems

    w = WORKLOADS[name]
    G = graphs.make_graph(w["graph"], w["n"], seed=0)
    problem = problems.least_squares(w["n"], dim or w["dim"], samples_per_node=w["samples"],
                                     reg=w["reg"], seed=0)
    return G, problem


def run_setup(G, problem, t_max):
    """The Setup of the benchmark's run, as every engine takes it."""
    from dadao.setup import prepare

    return prepare(G, problem, algorithm="dadao", t_max=t_max, seed=0, log_every=t_max / 20)


def best_of(fn, repeat=3):
    """Smallest wall time of ``repeat`` calls of fn(), in seconds."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def schedule_estimate(G, problem, t_max):
    """Seconds the in-process engine spends drawing its event schedule, ESTIMATED.

    The in-process engine draws it inside the timed run (``clocks.windows``) without timing it
    apart (an MPI rank times its own: ``ranks_detail[r]["schedule_s"]``): this replays the same
    draws (same run arguments, same sampling breakpoints) without the event loop."""
    from dadao.engines.base import sample_grid

    setup = run_setup(G, problem, t_max)
    clocks = setup.args.clocks()  # made before the timed run in the engine too
    grid = sample_grid(t_max, setup.args.log_every)
    t0 = time.perf_counter()
    for _ in clocks.windows(t_max, breakpoints=grid):
        pass
    return time.perf_counter() - t0


def probe_inprocess(G, problem, t_max, final_x):
    """Costs measured separately, after the run, in the in-process worker (seconds, best of 3):
    one sample's primal iterates (``EventRun.primal_X``: every row flowed through one row of
    scratch) and one evaluation of the metrics on the final iterates (what the root does at each
    sample)."""
    from dadao.engines.inprocess import EventRun
    from dadao.trace import metrics

    run = EventRun(run_setup(G, problem, t_max))
    return {"sample_s": best_of(lambda: run.primal_X(0.0)),
            "metrics_s": best_of(lambda: metrics(final_x, problem))}


def probe_rank(comm, G, problem, t_max, final_x, calls=20_000):
    """Costs measured separately, after the run, in a one-rank MPI job: entering the rank's
    compiled event loop on an empty window (microseconds per call; the rank re-enters it after
    every cut-edge event) and one evaluation of the metrics on the final iterates (seconds,
    best of 3; the root does it at each sample while the other ranks wait)."""
    from dadao.engines.mpi import RankEventRun
    from dadao.engines.partition import partition
    from dadao.trace import metrics

    setup = run_setup(G, problem, t_max)
    args = setup.args
    run = RankEventRun(comm, setup, partition(problem.n, args.edges, comm.size, args.edge_rates))
    times, ids = np.empty(0), np.empty(0, dtype=np.int64)

    def enter():
        # the engine's own call (RankEventRun.run_events) on an empty window with no pending
        # cut-edge event
        for _ in range(calls):
            run.run_events(times, ids, 0, -1)

    return {"reentry_us": best_of(enter) / calls * 1e6,
            "metrics_s": best_of(lambda: metrics(final_x, problem))}


def ping_pong(comm, d, seconds=0.2):
    """Microseconds of one ``Sendrecv`` of d float64 between ranks 0 and 1 (the engine's message
    at a cut-edge event), both waiting for it (no lag); on rank 0, None elsewhere."""
    a, b = np.zeros(d), np.zeros(d)
    count = max(100, int(seconds / (1e-6 + d * 4e-10)))
    comm.Barrier()
    if comm.rank < 2:
        peer = 1 - comm.rank
        for _ in range(10):
            comm.Sendrecv(a, peer, 0, b, peer, 0)
        t0 = time.perf_counter()
        for _ in range(count):
            comm.Sendrecv(a, peer, 0, b, peer, 0)
        us = (time.perf_counter() - t0) / count * 1e6
    comm.Barrier()
    return us if comm.rank == 0 else None


def ping_pong_compiled(comm, d, seconds=0.2):
    """Microseconds of one MPI_Sendrecv of d float64 between ranks 0 and 1, both waiting for
    it, called from compiled code as the engine's compiled exchange calls it
    (``dadao.engines.native_mpi``); on rank 0 where this MPI library allows it, None elsewhere."""
    import numba

    from dadao.engines import native_mpi as nm

    link = nm.exchange_for(comm, setting="auto").link

    @numba.njit
    def exchange(link, a, b, peer, count):
        for _ in range(count):
            nm.sendrecv(link[nm.SENDRECV], link[nm.COMM], link[nm.DOUBLE], a, b, a.shape[0],
                        peer, link[nm.STATUS:])

    a, b = np.zeros(d), np.zeros(d)
    count = max(100, int(seconds / (1e-6 + d * 4e-10)))
    us = None
    comm.Barrier()
    if comm.rank < 2 and link[nm.SENDRECV]:
        peer = 1 - comm.rank
        exchange(link, a, b, peer, 10)  # compiles, and the first messages
        t0 = time.perf_counter()
        exchange(link, a, b, peer, count)
        us = (time.perf_counter() - t0) / count * 1e6
    comm.Barrier()
    return us if comm.rank == 0 else None


def worker(args) -> int:
    import dadao
    from dadao.trace import events_of

    comm = None
    if args.engine == "mpi":
        from dadao.engines.mpi import world

        comm = world()
    t0 = time.perf_counter()
    G, problem = build(args.worker, args.dim)
    build_s = time.perf_counter() - t0
    t_max = args.t_max
    cpu = []  # the process's CPU time at each sample (on the root)
    trace = dadao.simulate(G, problem, algorithm="dadao", t_max=t_max, seed=0,
                           log_every=t_max / 20, engine=args.engine,
                           progress=lambda *_: cpu.append(time.process_time()))
    # everything below runs after the timed run and is reported apart from it
    schedule_est, probe, sendrecv_us, sendrecv_compiled_us = None, None, None, None
    if comm is None:
        schedule_est = schedule_estimate(G, problem, t_max)
        probe = probe_inprocess(G, problem, t_max, trace.final_x)
    elif comm.size == 1:
        probe = probe_rank(comm, G, problem, t_max, trace.final_x)
    else:
        sendrecv_us = ping_pong(comm, problem.dim)
        sendrecv_compiled_us = ping_pong_compiled(comm, problem.dim)
    if comm is not None and comm.rank != 0:
        return 0
    meta = trace.meta
    run = meta["run"]
    out = {"workload": args.worker, "engine": args.engine,
           "P": comm.size if comm is not None else 0,
           "n": problem.n, "dim": problem.dim, "t_max": t_max,
           "status": meta["status"], "build_s": build_s, "samples": len(trace),
           "events": events_of(meta), "events_per_s": events_of(meta) / run["wall_time_s"],
           "cpu_s": cpu[-1] - cpu[0],
           **{k: run[k] for k in ("gradient_events", "gossip_events", "wall_time_s",
                                  "compile_time_s")},
           "edges": meta["graph"]["edges"],
           "final_dist_to_opt": float(trace["dist_to_opt"][-1]),
           "schedule_estimate_s": schedule_est, "probe": probe, "sendrecv_us": sendrecv_us,
           "sendrecv_compiled_us": sendrecv_compiled_us,
           "host": platform.node()}
    if meta["engine"] == "mpi":
        mpi = run["engine_detail"]
        out["mpi"] = {k: mpi.get(k) for k in ("ranks", "method", "cut_edges", "edges",
                                              "nodes_per_rank", "event_imbalance", "library",
                                              "exchange", "ranks_detail")}
        out["cpu_s"] = sum(r["cpu_s"] for r in mpi["ranks_detail"])
    out["events_per_cpu_s"] = out["events"] / out["cpu_s"]
    if args.final_x:
        np.save(args.final_x, trace.final_x)
    print(MARKER + json.dumps(out), flush=True)
    return 0


# ---------------------------------------------------------------------------------------------
# Driver


def launch(cmd, timeout, env):
    """Run cmd in its own process group; (stdout, stderr, seconds, returncode or 'timeout')."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
        code = proc.returncode
    except subprocess.TimeoutExpired:
        for sig in (signal.SIGTERM, signal.SIGKILL):  # the group of the process started here
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                break
            time.sleep(2)
        out, err = proc.communicate()
        code = "timeout"
    return out, err, time.perf_counter() - t0, code


def run_one(name, P, t_max, dim, timeout, tmpdir, env, exchange=None):
    """One worker run (P = 0: in process; ``exchange``: $DADAO_MPI_EXCHANGE of an MPI job);
    its JSON record, or a record of the failure."""
    xfile = os.path.join(tmpdir, f"{name}_P{P}_t{t_max:g}_{exchange}_{time.time_ns()}.npy")
    if exchange is not None:
        env = dict(env, DADAO_MPI_EXCHANGE=exchange)
    worker_args = [sys.executable, str(HERE), "--worker", name, "--t-max", repr(t_max),
                   "--dim", str(dim), "--final-x", xfile]
    if P == 0:
        cmd = worker_args + ["--engine", "inprocess"]
    else:
        cmd = ["mpiexec", "-n", str(P)] + worker_args + ["--engine", "mpi"]
    load = os.getloadavg()[0]
    foreign = Load()
    out, err, seconds, code = launch(cmd, timeout, env)
    foreign = foreign.stop()["machine"]
    lines = [ln for ln in out.splitlines() if ln.startswith(MARKER)]
    base = {"workload": name, "P": P, "engine": "inprocess" if P == 0 else "mpi", "t_max": t_max,
            "load_1min": load, "foreign_load": foreign, "process_s": seconds,
            "command": " ".join(cmd), "final_x_file": xfile}
    if code != 0 or not lines:
        tail = (err.strip().splitlines() or ["(no output)"])[-3:]
        print(f"  {name} P={P}: FAILED ({code}) after {seconds:.0f} s: {' | '.join(tail)}",
              file=sys.stderr, flush=True)
        return dict(base, failed=str(code), stderr_tail=tail)
    record = dict(json.loads(lines[-1][len(MARKER):]), **base)
    how = f" ({record['mpi']['exchange']} exchange)" if P > 1 else ""
    print(f"  {name} P={P}{how}: {record['events']} events in {record['wall_time_s']:.2f} s "
          f"({record['events_per_s']:.4g} events/s, {record['events_per_cpu_s']:.4g} per CPU s;"
          f" process {seconds:.0f} s, foreign load {foreign:.0%})", flush=True)
    return record


def rest_of(rank):
    """A rank's wall time not in its four timed parts (seconds)."""
    return (rank["wall_time_s"] - rank["events_s"] - rank["exchange_s"] - rank["sample_s"]
            - rank["schedule_s"])


def split(record):
    """Max over ranks of the events / exchange / sample / schedule / rest seconds, all measured
    by the ranks inside the run (``ranks_detail``)."""
    ranks = record["mpi"]["ranks_detail"]
    out = {key: max(r[key] for r in ranks)
           for key in ("events_s", "exchange_s", "sample_s", "schedule_s")}
    out["rest_s"] = max(rest_of(r) for r in ranks)
    return out


def analyse(records, cores):
    """Add speed-ups, efficiency, the time split and the exactness check to each record.

    Speed-ups are ratios of events/s (at equal horizons, inverse ratios of wall times): against
    the P = 1 MPI run, and against the in-process run of the same horizon."""
    ok = [r for r in records if "failed" not in r]
    refs = {(r["workload"], r["t_max"]): r for r in ok if r["P"] == 0}
    ones = {r["workload"]: r for r in ok if r["P"] == 1}
    for r in records:
        r["oversubscribed"] = r["P"] > cores
        if "failed" in r:
            continue
        ref, one = refs.get((r["workload"], r["t_max"])), ones.get(r["workload"])
        rate = r["events_per_s"]
        r["speedup_vs_inprocess"] = rate / ref["events_per_s"] if ref else None
        r["speedup_vs_P1"] = rate / one["events_per_s"] if one and r["P"] else None
        r["efficiency"] = r["speedup_vs_P1"] / r["P"] if r["speedup_vs_P1"] else None
        if r["P"]:
            r["split"] = split(r)
            if ref:
                a, b = np.load(r["final_x_file"]), np.load(ref["final_x_file"])
                r["max_abs_diff_vs_inprocess"] = float(np.max(np.abs(a - b)))
                r["bit_identical"] = bool(np.array_equal(a, b))
                r["same_counts"] = all(r[k] == ref[k] for k in
                                       ("events", "gradient_events", "gossip_events"))
    return records


def fmt(x, spec):
    return "-" if x is None else format(x, spec)


def us(x):
    """Microseconds, 3 significant digits, no exponent."""
    return f"{x:,.0f}" if x >= 100 else f"{x:.3g}"


num = us  # any positive figure: 3 significant digits, no exponent


def table(records) -> str:
    head = ("| workload | engine | P | t_max | events | wall time (s) | events/s "
            "| events per CPU s | foreign load | speed-up vs P=1 "
            "| speed-up vs in-process | efficiency | cut edges / edges "
            "| time split (s, max over ranks): events / exchange / sample / schedule / rest "
            "| max abs diff vs in-process |")
    rows = [head, "|" + "|".join(["---"] * (head.count("|") - 1)) + "|"]
    for r in records:
        eng = r["engine"] + (" (oversubscribed)" if r["oversubscribed"] else "")
        if r["P"] > 1 and "failed" not in r:
            eng += f", {r['mpi']['exchange']} exchange"
        P = "-" if r["P"] == 0 else str(r["P"])
        if "failed" in r:
            rows.append(f"| {r['workload']} | {eng} | {P} | {r['t_max']:g} | failed: "
                        f"{r['failed']} after {r['process_s']:.0f} s |" + " |" * 10)
            continue
        if r["P"]:
            s = r["split"]
            sp = (f"{s['events_s']:.2f} / {s['exchange_s']:.2f} / {s['sample_s']:.2f} / "
                  f"{s['schedule_s']:.2f} / {s['rest_s']:.2f}")
            cut = f"{r['mpi']['cut_edges']} / {r['mpi']['edges']}"
            diff = fmt(r.get("max_abs_diff_vs_inprocess"), ".3g")
            if r.get("same_counts") is False:
                diff += " (event counts differ!)"
        else:
            sp = f"- / - / - / ~{r['schedule_estimate_s']:.2f} (estimated) / -"
            cut, diff = f"- / {r['edges']}", "(reference)"
        if r["status"] != "completed":
            diff += f" (run {r['status']})"
        rows.append(f"| {r['workload']} | {eng} | {P} | {r['t_max']:g} | {r['events']:,} | "
                    f"{r['wall_time_s']:.2f} | {r['events_per_s']:,.0f} | "
                    f"{r['events_per_cpu_s']:,.0f} | {r['foreign_load']:.0%} | "
                    f"{fmt(r.get('speedup_vs_P1'), '.2f')} | "
                    f"{fmt(r.get('speedup_vs_inprocess'), '.2f')} | "
                    f"{fmt(r.get('efficiency'), '.2f')} | {cut} | {sp} | {diff} |")
    return "\n".join(rows)


def fraction(r, key):
    return r["split"][key] / r["wall_time_s"]


def runs_of(records, name):
    """(in-process run of the full horizon, MPI runs by P) of a workload, failures left out."""
    ok = [r for r in records if "failed" not in r and r["workload"] == name]
    refs = [r for r in ok if r["P"] == 0]
    ref = max(refs, key=lambda r: r["t_max"]) if refs else None
    return ref, sorted((r for r in ok if r["P"] > 0), key=lambda r: r["P"])


def job_label(r) -> str:
    """"P = 2", with how a job of several ranks exchanged: "P = 2 (compiled exchange)"."""
    how = f" ({r['mpi']['exchange']} exchange)" if r["P"] > 1 else ""
    return f"P = {r['P']}{how}"


def unwaited(r) -> tuple[float | None, str]:
    """(microseconds of a Sendrecv between two ranks that wait for nothing, measured after the
    run, the way the job exchanged: from compiled code or through mpi4py; which)."""
    if r["mpi"]["exchange"] == "compiled" and r.get("sendrecv_compiled_us") is not None:
        return r["sendrecv_compiled_us"], "MPI_Sendrecv from compiled code"
    return r.get("sendrecv_us"), "mpi4py's Sendrecv"


def busiest(r):
    """The rank with the most events."""
    return max(r["mpi"]["ranks_detail"], key=lambda x: x["events"])


PARTS = (("events_s", "event loop"), ("exchange_s", "cut-edge exchanges"),
         ("sample_s", "snapshot + Gatherv"), ("schedule_s", "drawing the schedule"),
         ("rest_s", "rest"))


def readme_rows(records) -> list[dict]:
    """The README's rows: in-process events/s of the communication workload, and each
    workload's P = 2 speed-up, efficiency and event imbalance (the busiest rank over an even
    share, less 1) with its partition method."""
    rows = []
    ref, _ = runs_of(records, "communication")
    if ref:
        rows.append({"what": f"in process, random geometric n = 1024, least squares d = 10 "
                             f"({ref['events']:,} events)",
                     "figure": f"{ref['events_per_s'] / 1e6:.2f} million events/s "
                               f"([docs/bench_mpi.md](docs/bench_mpi.md))"})
    for name, what in (("compute", "compute-heavy (n = 64, d = 100,000 least squares)"),
                       ("communication", "communication-heavy (n = 1024, d = 10)")):
        _, runs = runs_of(records, name)
        twos = [r for r in runs if r["P"] == 2 and not r["oversubscribed"]]
        # the engine's default where the benchmark ran both exchanges
        two = next((r for r in twos if r["mpi"]["exchange"] == "compiled"),
                   twos[0] if twos else None)
        if two is None or two.get("speedup_vs_P1") is None:
            continue
        b = busiest(two)
        cut = sum(x["cut_gossip_events"] for x in two["mpi"]["ranks_detail"]) // 2
        rows.append({"what": f"MPI, {what}, P = 2 on 2 cores, {two['mpi']['exchange']} "
                             "exchange",
                     "figure": f"speed-up {two['speedup_vs_P1']:.2f} over P = 1 (efficiency "
                               f"{two['efficiency']:.2f}) and "
                               f"{two['speedup_vs_inprocess']:.2f} over in process; "
                               f"{two['mpi'].get('method')} "
                               f"partition, busiest rank {b['events'] / two['events']:.1%} of "
                               f"the events (imbalance "
                               f"{2 * b['events'] / two['events'] - 1:.1%}), "
                               f"{cut / two['events']:.2%} of the events on cut edges; "
                               f"bit-identical to in process "
                               f"([docs/bench_mpi.md](docs/bench_mpi.md))"})
    return rows


def explanation(records, cores) -> str:
    """The measured split of every run, one paragraph per workload."""
    out = []
    for name in WORKLOADS:
        ref, runs = runs_of(records, name)
        if not runs:
            continue
        parts = []
        if ref:
            est = ref["schedule_estimate_s"]
            parts.append(f"in process, {ref['wall_time_s']:.2f} s, of which drawing the event "
                         f"schedule ~{est:.2f} s ({est / ref['wall_time_s']:.0%}; estimated by "
                         "replaying the draws)")
        for r in runs:
            ranks = r["mpi"]["ranks_detail"]
            s = r["split"]
            note = (f" (oversubscribed: {r['P']} ranks on {cores} cores, t_max = "
                    f"{r['t_max']:g})" if r["oversubscribed"] else "")
            eff = (f"efficiency {r['efficiency']:.2f}, "
                   if r.get("efficiency") is not None and r["P"] > 1 else "")
            text = (f"{job_label(r)}{note}: {eff}{r['wall_time_s']:.2f} s, of which (max over "
                    "ranks, measured in the run) "
                    + ", ".join(f"{fraction(r, key):.0%} {label}" for key, label in PARTS))
            if r["P"] == 1:
                text += (f"; the compiled loop takes {us(s['events_s'] / r['events'] * 1e6)} us "
                         "per event")
            else:
                cut = sum(x["cut_gossip_events"] for x in ranks) // 2
                b = busiest(r)
                waiter = max(ranks, key=lambda x: x["exchange_s"])
                per_cut = waiter["exchange_s"] / max(1, waiter["cut_gossip_events"]) * 1e6
                text += (f"; {cut:,} cut-edge events ({cut / r['events']:.1%} of all events); "
                         f"rank {waiter['rank']} spends {us(per_cut)} us per cut-edge event in "
                         "the exchange")
                base_us, how = unwaited(r)
                if base_us is not None:
                    text += (f" (a Sendrecv of the same {r['dim']:,} doubles between two ranks "
                             f"that wait for nothing, {how}, measured after the run: "
                             f"{us(base_us)} us)")
                text += (f"; the busiest rank has {b['events']:,} events "
                         f"({b['events'] / r['events']:.1%} of all; even split "
                         f"{1 / r['P']:.0%})")
                expected = r["mpi"].get("event_imbalance")
                if expected is not None:
                    text += (f"; partition {r['mpi'].get('method')}, whose expected events "
                             f"per rank are within {expected:.1%} of even")
            parts.append(text)
        out.append(f"**{name}**: " + "; ".join(parts) + ".")
    return "\n\n".join(out)


def losses(records, cores) -> str:
    """Where the time of each parallel run goes: the busiest rank's measured parts against the
    P = 1 run's parts divided by P (the ideal). The busiest rank's wall time is the sum of its
    parts, so the differences add up to wall(P) - wall(P = 1) / P."""
    head = ("| workload | P | busiest rank (events) | | event loop | exchange | sample "
            "| schedule | rest | wall |")
    rows = [head, "|" + "|".join(["---"] * (head.count("|") - 1)) + "|"]
    for name in WORKLOADS:
        _, runs = runs_of(records, name)
        one = next((r for r in runs if r["P"] == 1), None)
        if one is None:
            continue
        o = one["mpi"]["ranks_detail"][0]
        o = dict(o, rest_s=rest_of(o))
        for r in runs:
            if r["P"] == 1 or r["oversubscribed"] or r["t_max"] != one["t_max"]:
                continue
            b = busiest(r)
            b = dict(b, rest_s=rest_of(b))
            keys = [key for key, _ in PARTS] + ["wall_time_s"]
            who = f"rank {b['rank']} ({b['events']:,}, {b['events'] / r['events']:.1%})"
            rows.append(f"| {name} | {job_label(r)[4:]} | {who} | measured (s) | "
                        + " | ".join(f"{b[k]:.2f}" for k in keys) + " |")
            rows.append(f"| | | | P = 1 / {r['P']} (s) | "
                        + " | ".join(f"{o[k] / r['P']:.2f}" for k in keys) + " |")
            rows.append("| | | | excess (s) | "
                        + " | ".join(f"{b[k] - o[k] / r['P']:+.2f}" for k in keys) + " |")
    return "\n".join(rows) if len(rows) > 2 else ""


def reading(records, cores) -> str:
    """What limits the parallel efficiency, in words, with the measured figures."""
    out = []
    for name in WORKLOADS:
        ref, runs = runs_of(records, name)
        one = next((r for r in runs if r["P"] == 1), None)
        pars = [r for r in runs if r["P"] > 1 and not r["oversubscribed"]
                and one and r["t_max"] == one["t_max"]]
        if one is None:
            continue
        o = one["mpi"]["ranks_detail"][0]
        items = []
        per_event = o["events_s"] / one["events"] * 1e6
        probe = one.get("probe") or {}
        for r in pars:
            b = busiest(r)
            ideal = one["wall_time_s"] / r["P"]
            loss = b["wall_time_s"] - ideal
            even = o["events_s"] * b["events"] / one["events"]
            imbalance = even - o["events_s"] / r["P"]
            slow = b["events_s"] - even
            exch = b["exchange_s"]
            waiter = max(r["mpi"]["ranks_detail"], key=lambda x: x["exchange_s"])
            per_cut = waiter["exchange_s"] / max(1, waiter["cut_gossip_events"]) * 1e6
            text = (f"{job_label(r)}: speed-up {r['speedup_vs_P1']:.2f}, efficiency "
                    f"{r['efficiency']:.2f}. The busiest rank (rank {b['rank']}) needs "
                    f"{b['wall_time_s']:.2f} s against wall(P = 1) / {r['P']} = {ideal:.2f} s, "
                    f"{loss:+.2f} s, of which: cut-edge exchanges {exch:.2f} s ("
                    + (f"{exch / loss:.0%} of the excess; " if loss > 0 else "")
                    + f"{us(per_cut)} us per cut-edge event on rank {waiter['rank']}")
            base_us, how = unwaited(r)
            if base_us is not None:
                text += (f" against {us(base_us)} us for a Sendrecv without waiting ({how}), "
                         + ("so most of it is waiting for the partner rank"
                            if per_cut > 2 * base_us else
                            "so it is mostly the transfer itself"))
            text += (f"); its event loop {b['events_s'] - o['events_s'] / r['P']:+.2f} s, i.e. "
                     f"{imbalance:+.2f} s because it has {b['events'] / r['events']:.1%} of the "
                     f"events instead of {1 / r['P']:.0%} (imbalance of the realised random "
                     f"events; the partition balances nodes and cut gossip rate) and "
                     f"{slow:+.2f} s from its cost per event "
                     f"({us(b['events_s'] / b['events'] * 1e6)} us against "
                     f"{us(per_event)} us at P = 1)")
            if r["mpi"]["exchange"] == "compiled":
                text += ("; with the compiled exchange the rank enters its loop once per window, "
                         "not after each cut-edge event")
            elif "reentry_us" in probe:
                reentry = b["cut_gossip_events"] * probe["reentry_us"] * 1e-6
                text += (f"; re-entering the compiled loop after each of its "
                         f"{b['cut_gossip_events']:,} cut-edge events accounts for about "
                         f"{reentry:.2f} s of that ({probe['reentry_us']:.2g} us per entry, "
                         "measured separately in the P = 1 job by entering the rank's loop on "
                         "an empty window, which allocates nothing: the call itself, numba's "
                         "dispatch of its 19 arguments)")
            text += (f"; drawing the schedule {b['schedule_s'] - o['schedule_s'] / r['P']:+.2f} s "
                     f"({b['schedule_s']:.2f} s against {o['schedule_s'] / r['P']:.2f} s); "
                     f"sample {b['sample_s'] - o['sample_s'] / r['P']:+.2f} s and rest "
                     f"{rest_of(b) - rest_of(o) / r['P']:+.2f} s")
            if "metrics_s" in probe:
                text += (f" (the rest holds the metrics, "
                         f"{probe['metrics_s'] * one['samples']:.2f} s in one process, "
                         "each rank computing its own nodes' part of their sums)")
            text += "."
            items.append(text)
        text = (f"P = 1: the event loop takes {o['events_s'] / one['wall_time_s']:.0%} of the "
                f"wall time ({us(per_event)} us per event), drawing the schedule "
                f"{o['schedule_s'] / one['wall_time_s']:.0%} (measured in the run; Python per "
                "clock and window; with P ranks each draws the clocks of its own nodes and of "
                "the edges touching them, cut edges on both sides)")
        if "metrics_s" in probe:
            serial = probe["metrics_s"] * one["samples"]
            text += (f"; the metrics take {num(probe['metrics_s'] * 1e3)} ms per sample "
                     f"(measured separately on the final iterates), {serial:.2f} s over the "
                     f"{one['samples']} samples, of a rest of {rest_of(o):.2f} s (the remainder "
                     "is not timed apart: the collectives on the counts, Python overhead); at "
                     "P ranks each rank computes the sums over its own nodes, so this part "
                     "shrinks with P, except the suboptimality through the d x d root (d <= "
                     "4096), which every rank computes from the mean xbar)")
        items.insert(0, text + ".")
        if ref and ref["t_max"] == one["t_max"]:
            ratio = ref["wall_time_s"] / one["wall_time_s"]
            text = (f"In process against MPI with one rank: {ref['wall_time_s']:.2f} s against "
                    f"{one['wall_time_s']:.2f} s (in process / P = 1 = {ratio:.2f}); both run "
                    "the same compiled event functions and, at each sample, the same one-row "
                    "primal kernel")
            rprobe = ref.get("probe") or {}
            if "sample_s" in rprobe:
                rank_each = o["sample_s"] / (one["samples"] + 1)
                extra = (rank_each - rprobe["sample_s"]) * one["samples"]
                text += (f" (one in-process sample: {num(rprobe['sample_s'] * 1e3)} ms, measured "
                         f"separately; the rank's snapshot + Gatherv: "
                         f"{num(rank_each * 1e3)} ms per sample, measured in the run, which "
                         "also allocates a receive buffer of all the rows and copies them into "
                         f"it; the difference over the {one['samples']} samples: "
                         f"{extra:+.2f} s, of a difference of wall times (P = 1 minus in "
                         f"process) of {one['wall_time_s'] - ref['wall_time_s']:+.2f} s; the "
                         f"remaining {one['wall_time_s'] - ref['wall_time_s'] - extra:+.2f} s is "
                         "not accounted for by these measurements: the in-process engine does "
                         "not time its event loop)")
            text += (f"; the in-process schedule draws, estimated by replay, "
                     f"~{ref['schedule_estimate_s']:.2f} s against {o['schedule_s']:.2f} s "
                     "measured by the rank.")
            items.append(text)
        out.append(f"**{name}**\n\n" + "\n".join(f"- {x}" for x in items))
    return "\n\n".join(out)


def source() -> str:
    """Which dadao the workers import: its directory and, in a git checkout, the commit (and
    whether dadao/ has uncommitted changes)."""
    import dadao

    pkg = Path(dadao.__file__).resolve().parent

    def git(*cmd):
        out = subprocess.run(["git", "-C", str(pkg), *cmd], capture_output=True, text=True)
        return out.stdout.strip() if out.returncode == 0 else None

    commit = git("rev-parse", "--short", "HEAD")
    if commit is None:
        return f"dadao from {pkg}"
    dirty = git("status", "--porcelain", "--", ".")
    return (f"dadao from {pkg} at commit {commit}"
            + (" with uncommitted changes in dadao/" if dirty else ", dadao/ clean"))


def document(records, cores, args, started) -> str:
    ok = [r for r in records if "failed" not in r]
    host = ok[0]["host"] if ok else platform.node()
    library = next((r["mpi"]["library"] for r in ok if "mpi" in r), "?")
    loads = ", ".join(f"{r['workload']} {r['engine']} P={r['P']} t_max={r['t_max']:g}: "
                      f"{r['load_1min']:.1f}" for r in records)
    exact = [r for r in ok if r["P"]]
    all_exact = exact and all(r.get("bit_identical") and r.get("same_counts") for r in exact)
    lines = [
        "# MPI engine: events/s and parallel efficiency",
        "",
        "Generated by `" + " ".join(["python simulations/bench_mpi.py", *args]) + "` on "
        f"{started} (host {host}, {cores} cores, {library}, Python {platform.python_version()}; "
        f"{source()}). Do not edit by hand: rerun the script.",
        "",
        "DADAO with its theory rates on a random geometric graph (seed 0), least squares "
        "(seed 0), run seed 0, metrics sampled every t_max / 20:",
        "",
    ]
    for name, w in WORKLOADS.items():
        mine = [x for x in ok if x["workload"] == name]
        if not mine:
            continue
        r = max(mine, key=lambda x: x["t_max"])
        lines.append(f"- **{name}**: n = {r['n']}, d = {r['dim']:,}, {w['samples']} samples per "
                     f"node, reg = {w['reg']:g}, {r['edges']:,} edges, t_max = {r['t_max']:g}.")
    lines += [
        "",
        "Each row is one process (in process) or one `mpiexec -n P` job, started afresh. Wall "
        "time: the engine's `meta[\"run\"][\"wall_time_s\"]` (first sample to t_max; the problem "
        "build, the numba compilation and the MPI start-up are excluded); events/s = events / "
        "wall time; speed-up vs P=1 = events/s(P) / events/s(P=1 MPI), speed-up vs in-process = "
        "events/s(P) / events/s(in process, same t_max) (at equal horizons both are ratios of "
        "wall times); efficiency = speed-up vs P=1 / P; events per CPU s = events / the CPU "
        "seconds of every process of the job over the same loop (a rank waiting at a cut edge "
        "busy-polls: its waits cost CPU time); foreign load = the busy share of the machine's "
        "cores not spent by the benchmark's processes during the job (/proc/stat). A job of "
        "several ranks exchanges the messages of its cut-edge events either from the compiled "
        "loop (*compiled exchange*: MPI_Sendrecv called from numba code) or by returning to "
        "Python for mpi4py's Sendrecv at each one (*python exchange*; $DADAO_MPI_EXCHANGE, "
        "docs/mpi.md). "
        "Every process uses one thread (BLAS, OpenMP, numba). Time split of an MPI run, per "
        "rank, max over ranks, all measured by the ranks inside the timed run (the engine's "
        "`ranks_detail`): *events* = the compiled event loop, *exchange* = cut-edge `Sendrecv` "
        "(including the wait for the partner rank to reach the event; timed with MPI_Wtime "
        "around each MPI_Sendrecv inside the loop for the compiled exchange, with "
        "perf_counter around mpi4py's call for the python exchange), *sample* = the rank's primal rows (flowed through one row of scratch) + "
        "`Gatherv` (it also counts the gather of the final iterates just after the timed run: "
        "one more than the samples), *schedule* = drawing the rank's event schedule "
        "(`clocks.windows` of `dadao.events`, Python per clock and window; `schedule_s`); "
        "*rest* = wall time minus events, exchange, sample and schedule (the metrics: each "
        "rank's part of their sums and the collectives that combine them, Python overhead). The "
        "in-process engine does not time its parts: its rows show only *schedule*, marked ~ "
        "because it is an estimate (the same draws replayed after the run, without the event "
        "loop). Figures labelled *measured separately* come from short probes each worker runs "
        "after its timed run (they are not part of its wall time).",
        "",
        table(records),
        "",
        ("Exactness: every MPI run ended on the in-process final iterates bit for bit, with the "
         "same gradient and gossip event counts." if all_exact else
         "Exactness: NOT every MPI run matched the in-process run (see the last column)."),
        "",
        f"Load average (1 min) of the machine when each run started (it counts the "
        f"benchmark's own previous run, and any other job on the machine): {loads}.",
        "",
        "## What limits the parallel efficiency",
        "",
        explanation(records, cores),
        "",
    ]
    loss = losses(records, cores)
    if loss:
        lines += [
            "Where a parallel run's time goes: the busiest rank's parts (measured in the run; "
            "the sum of its parts is its wall time) against the P = 1 run's parts divided by P "
            "(perfect scaling); the excesses add up to its wall time minus wall(P = 1) / P.",
            "",
            loss,
            "",
        ]
    lines += [
        "Reading the figures:",
        "",
        reading(records, cores),
        "",
        LIMITS,
        "",
    ]
    return "\n".join(lines)


#: what holds whatever the figures (the mechanisms behind the columns)
LIMITS = """\
In general:

- **A cut-edge event is a rendezvous.** A rank runs its own events in time order and stops at
  every event of an edge shared with another rank until that rank reaches the same event. The
  exchange column is therefore mostly *waiting*, not transfer, whenever the time per cut-edge
  event is far above the Sendrecv between two ranks that wait for nothing. The partner is late
  because the events are random (between two shared events one rank can have more to do than
  the other), because the busiest rank has more events than the others, and because each rank
  stops, at moments of its own, to draw its next window of events in Python (the schedule
  column).
- **Samples are collective.** At each sample every rank flows its rows and the root gathers
  them; the root alone then computes the metrics on the (n, d) iterates while the other ranks
  wait at the next collective. That serial part does not shrink with P.
- **More ranks than cores.** The ranks time-share the cores, and a rank waiting at a cut edge
  busy-polls in MPICH's progress loop for its time slice instead of yielding it to the rank it
  waits for. An oversubscribed row measures oversubscription, not scaling, and it depends
  strongly on whatever else runs on the machine (the foreign load column)."""


def driver(args) -> int:
    cores = os.cpu_count() or 1
    names = args.only or list(WORKLOADS)
    env = dict(os.environ, **THREAD_ENV)
    started = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    records = []
    with tempfile.TemporaryDirectory(prefix="bench_mpi_") as tmpdir:
        for name in names:
            w = WORKLOADS[name]
            t_max = w["quick_t_max"] if args.quick else w["t_max"]
            dim = w["quick_dim"] if args.quick else w["dim"]
            print(f"{name}: n = {w['n']}, d = {dim}, t_max = {t_max:g}", flush=True)
            short = t_max * w["oversubscribed_fraction"]
            ranks = sorted(set(args.ranks))
            plan = [(0, t_max)] + [(P, t_max) for P in ranks if P <= cores]
            over = [(P, short) for P in ranks if P > cores]
            if over and short != t_max:
                plan.append((0, short))  # the in-process reference of the oversubscribed runs
            plan += over
            for P, t in plan:
                timeout = args.timeout * (1 + max(0, P - cores))
                # the exchanges compared side by side: alternating, round after round
                variants = args.exchange * args.rounds if P > 1 else [None]
                for exchange in variants:
                    records.append(run_one(name, P, t, dim, timeout, tmpdir, env, exchange))
        analyse(records, cores)
    doc = args.doc or (None if args.quick else DOC)
    if doc:
        cli = [a for a in sys.argv[1:] if a not in (args.doc, args.json, "--doc", "--json")]
        Path(doc).write_text(document(records, cores, cli, started))
    if doc == DOC:
        from measured import write_rows

        write_rows("bench_mpi", "python simulations/bench_mpi.py", readme_rows(records))
    if args.json:
        Path(args.json).write_text(json.dumps(records, indent=1, default=str))
    print()
    print(table(records))
    print()
    print(explanation(records, cores))
    print()
    print(losses(records, cores))
    print()
    print(reading(records, cores))
    if doc:
        print(f"\nwrote {doc}")
    failed = [r for r in records if "failed" in r]
    inexact = [r for r in records if "failed" not in r and (r["status"] != "completed" or (
        r["P"] and not (r.get("bit_identical") and r.get("same_counts"))))]
    return 1 if failed or inexact else 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ranks", type=int, nargs="+", default=[1, 2, 4],
                        help="numbers of MPI ranks (default 1 2 4)")
    parser.add_argument("--quick", action="store_true",
                        help="smoke test: short horizons, smaller compute workload, no document")
    parser.add_argument("--only", action="append", choices=list(WORKLOADS),
                        help="workload (repeatable; default all)")
    parser.add_argument("--timeout", type=float, default=300.0,
                        help="seconds per run (times 1 + the ranks beyond the cores)")
    parser.add_argument("--exchange", nargs="+", choices=EXCHANGE_CHOICES, default=["auto"],
                        help="how jobs of 2 ranks or more exchange at cut edges "
                             "($DADAO_MPI_EXCHANGE), each run in turn (default auto)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="runs of each --exchange variant, alternating (default 1)")
    parser.add_argument("--doc", help=f"write the markdown here (default {DOC}, not with --quick)")
    parser.add_argument("--json", help="also write every run's record here")
    parser.add_argument("--worker", choices=list(WORKLOADS), help=argparse.SUPPRESS)
    parser.add_argument("--engine", choices=engines.names(), default="mpi",
                        help=argparse.SUPPRESS)
    parser.add_argument("--t-max", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--dim", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--final-x", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        if args.t_max is None:
            args.t_max = WORKLOADS[args.worker]["t_max"]
        return worker(args)
    return driver(args)


if __name__ == "__main__":
    sys.exit(main())

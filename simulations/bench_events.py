"""Events per second of the in-process engine running DADAO: the whole run, the compiled loop
alone next to the loop as it was built before (closures) and a hand-fused floor, and where the
time of a run goes. Writes docs/bench_events.md.

    python simulations/bench_events.py                         # about 2 minutes
    python simulations/bench_events.py --only paper_star300 --reps 3 --doc /tmp/e.md
    python simulations/bench_events.py --json PATH             # also save every measurement

Workloads:
  (a) paper_star300: the authors' reference run: star graph, n = 300, least squares with 100
      samples per node, d = 2, theory rates, t_max = 300 (about 180k events), metrics every
      time unit; gradients through the 2x2 Hessian (a least-squares problem with d <= 2 m is
      built as a quadratic oracle: the "Hessian form").
  (a') paper_star300_rows: the same run, each gradient computed from the node's 100 samples as
      the authors' code does (the "per-sample form").
  (b) rgg1000_d100: random geometric graph, n = 1000, least squares with d = 100 and 200 samples
      per node, theory rates, t_max = 10.

Variants, each on the same Setup, measured alternately (A B C ... A B C ...) after a warm-up
that compiles them:

- run, generated: ``Engine.run(setup)`` as it is (the loops of ``dadao.engines.kernels``,
  generated per method and inlined, ``dadao.engines.codegen``): state, clocks, events, samples;
- run, closures: the same with the loop built as before issue 15 (``closure_loop`` below:
  plain ``@numba.njit`` closures calling the method's compiled functions);
- loop, generated / loop, closures / loop, hand-fused: the compiled loop alone on all the run's
  events at once (drawn beforehand), from the start state; the hand-fused loop (``fused_dadao``
  below) is DADAO written out in one function, the arrays of the oracle and the constants
  passed one by one: the floor of the arithmetic, checked bit for bit against the simulator.

Per CPU second of this process (time.process_time) and per wall second, with the share of busy
time of other processes on the pinned core and on the machine over each measurement
(/proc/stat, ``machine_load.Load``). The process runs on core 0 (it re-executes itself under
``taskset -c 0``) with one BLAS/OpenMP/numba thread.

Where the time goes: one more run of the generated variant, per repetition, with timers around
the schedule's windows (``PoissonClocks.until``: drawing every clock, and within it
``dadao.events.merge_events``, the lexsort of the window), the compiled loop
(``EventRun._process``), the samples' primal rows (``EventRun.primal_X``) and their metrics
(``dadao.trace.metrics``); the rest is the run's construction (its state, every clock's random
stream), drive's Python, the counts and the trace. The schedule
and the metrics belong to other modules (dadao.events, dadao.trace): measured here, not changed.
"""

from __future__ import annotations

import os
import sys

CPU = 0


if __name__ == "__main__":
    from machine_load import pin_to_one_core

    pin_to_one_core(__file__, sys.argv[1:], CPU)

import argparse  # noqa: E402
import datetime  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numba  # noqa: E402
import numpy as np  # noqa: E402

from machine_load import Load, processor  # noqa: E402

from dadao import events, graphs, problems, rates  # noqa: E402
from dadao.engines import base, inprocess  # noqa: E402
from dadao.problems.oracle import local_gradient  # noqa: E402
from dadao.setup import prepare  # noqa: E402
from dadao.trace import events_of  # noqa: E402

DOC = Path(__file__).resolve().parent.parent / "docs" / "bench_events.md"


def workloads():
    def star300():
        G = graphs.make_graph("star", 300)
        problem = problems.least_squares(300, 2, samples_per_node=100, seed=0)
        return G, problem, 300.0, 1.0

    def star300_rows():
        # The authors' code computes every gradient from the 100 samples; "paper_star300" lets the
        # problem use its 2x2 Hessian instead (form="auto"). Both are the same f_i.
        G = graphs.make_graph("star", 300)
        problem = problems.least_squares(300, 2, samples_per_node=100, seed=0, form="rows")
        return G, problem, 300.0, 1.0

    def rgg1000():
        G = graphs.make_graph("random_geometric", 1000, seed=0)
        problem = problems.least_squares(1000, 100, samples_per_node=200, seed=0)
        return G, problem, 10.0, 1.0

    return {"paper_star300": star300, "paper_star300_rows": star300_rows,
            "rgg1000_d100": rgg1000}


# ---------------------------------------------------------------------------------------------
# The loop as it was built before issue 15, and the hand-fused floor


def closure_loop(algo):
    """The window loop as ``dadao.engines.kernels.event_loop`` built it before the generated
    modules: plain ``@numba.njit`` closures (compiled in every process, never cached) calling
    the method's compiled functions, each call passing the oracle tuple."""
    flow, on_gradient = algo.flow, algo.on_gradient
    message, on_message = algo.message, algo.on_message

    @numba.njit
    def gradient_event(state, tau, r, node, t, k, oracle, work):
        si = state[r]
        flow(si, t - tau[r], k)
        tau[r] = t
        on_gradient(si, k, oracle, node, work)

    @numba.njit
    def pair_event(state, tau, ri, rj, i, j, e, t, k, oracle, msg_i, msg_j):
        si = state[ri]
        sj = state[rj]
        flow(si, t - tau[ri], k)
        tau[ri] = t
        flow(sj, t - tau[rj], k)
        tau[rj] = t
        message(si, k, oracle, i, msg_i)
        message(sj, k, oracle, j, msg_j)
        on_message(si, k, msg_i, msg_j, e)
        on_message(sj, k, msg_j, msg_i, e)

    @numba.njit
    def run_events(times, clocks, n, edges, state, tau, k, oracle, counts):
        d = state.shape[2]
        work = np.empty(d)
        msg_i = np.empty(d)
        msg_j = np.empty(d)
        n_grad = 0
        n_gossip = 0
        for e in range(times.shape[0]):
            t = times[e]
            c = clocks[e]
            if c < n:
                gradient_event(state, tau, c, c, t, k, oracle, work)
                n_grad += 1
            else:
                i = edges[c - n, 0]
                j = edges[c - n, 1]
                pair_event(state, tau, i, j, i, j, c - n, t, k, oracle, msg_i, msg_j)
                n_gossip += 1
        counts[0] += n_grad
        counts[1] += n_gossip

    return run_events


@numba.njit(inline="always")
def gradient_2d(A, b, offsets, reg, i, x0, x1):
    """grad f_i(x) of a per-sample least-squares oracle at d = 2, its two sums in registers:
    the operations of ``local_gradient`` in its order."""
    lo, hi = offsets[i], offsets[i + 1]
    w0, w1 = 0.0, 0.0
    for kk in range(lo, hi):
        res = -b[kk]
        res += A[kk, 0] * x0
        res += A[kk, 1] * x1
        w0 += res * A[kk, 0]
        w1 += res * A[kk, 1]
    scale = 2.0 / (hi - lo)
    return scale * w0 + reg[i] * x0, scale * w1 + reg[i] * x1


@numba.njit
def fused_dadao(times, clocks, n, edges, state, tau, kind, H, c, A, b, offsets, reg,
                nu, gamma, gamma_t, c_y, beta, beta_t, alpha, alpha_t, l1, l2, omega, theta,
                p1y, p1yt, p2y, p2yt):
    """DADAO's events in one function (dadao.algorithms.dadao: flow, on_gradient, message,
    on_message; dadao.problems.oracle.local_gradient, QUADRATIC and LEAST_SQUARES), the same
    operations in the same order, on arrays and floats passed one by one; at d = 2 the
    per-sample gradient keeps its two sums in registers (local_gradient adds into its output
    array, which the compiler must store and load again at every sample: it cannot prove that
    the array is not one of the oracle's)."""
    d = state.shape[2]
    work = np.empty(d)
    n00, n01, n10, n11 = -0.5 * alpha, alpha, -theta, 0.5 * alpha
    a, at, sz = alpha, alpha_t, l2
    for e in range(times.shape[0]):
        t = times[e]
        cl = clocks[e]
        if cl < n:
            ends, u0, u1 = 1, cl, cl
        else:
            ends, u0, u1 = 2, edges[cl - n, 0], edges[cl - n, 1]
        for w in range(ends):  # flow each end to t
            r = u0 if w == 0 else u1
            dt = t - tau[r]
            tau[r] = t
            if dt <= 0.0:
                continue
            fx = -math.expm1(-l1 * dt) / 2.0
            fz = -math.expm1(-sz * dt) / sz
            half = math.expm1(-0.5 * a * dt)
            wd = omega * dt
            sin_half = math.sin(0.5 * wd)
            damp = 1.0 + half
            cphi = half * math.cos(wd) - 2.0 * sin_half * sin_half
            sphi = damp * math.sin(wd) / omega
            e1m = math.expm1(-l1 * dt)
            e2m = math.expm1(-sz * dt)
            for m in range(d):
                x, xt, y = state[r, 0, m], state[r, 1, m], state[r, 2, m]
                yt, z, zt = state[r, 3, m], state[r, 4, m], state[r, 5, m]
                q0 = nu * (x + xt) * 0.5 + (at * z + a * zt) / sz
                q1 = -nu * (x - xt) * 0.5
                q2 = a * (z - zt) / sz
                v0 = y + q0 - p1y * q1 - p2y * q2
                v1 = yt + q0 - p1yt * q1 - p2yt * q2
                dy = cphi * v0 + sphi * (n00 * v0 + n01 * v1) + p1y * q1 * e1m + p2y * q2 * e2m
                dyt = (cphi * v1 + sphi * (n10 * v0 + n11 * v1) + p1yt * q1 * e1m
                       + p2yt * q2 * e2m)
                state[r, 0, m] = x + (xt - x) * fx
                state[r, 1, m] = xt + (x - xt) * fx
                state[r, 2, m] = y + dy
                state[r, 3, m] = yt + dyt
                state[r, 4, m] = z + a * (zt - z) * fz
                state[r, 5, m] = zt + at * (z - zt) * fz
        if ends == 1:  # gradient step
            i = cl
            if kind == 0:
                for p in range(d):
                    s = -c[i, p]
                    for q in range(d):
                        s += H[i, p, q] * state[i, 0, q]
                    work[p] = s
            elif d == 2:  # the sums in registers (the operations and their order unchanged)
                work[0], work[1] = gradient_2d(A, b, offsets, reg, i, state[i, 0, 0],
                                               state[i, 0, 1])
            else:
                lo, hi = offsets[i], offsets[i + 1]
                for p in range(d):
                    work[p] = 0.0
                for kk in range(lo, hi):
                    res = -b[kk]
                    for p in range(d):
                        res += A[kk, p] * state[i, 0, p]
                    for p in range(d):
                        work[p] += res * A[kk, p]
                scale = 2.0 / (hi - lo)
                for p in range(d):
                    work[p] = scale * work[p] + reg[i] * state[i, 0, p]
            for m in range(d):
                g = work[m] - nu * state[i, 0, m] - state[i, 3, m]
                state[i, 0, m] -= gamma * g
                state[i, 1, m] -= gamma_t * g
                state[i, 3, m] += c_y * g
        else:  # gossip: w = y + z each side, z -= beta (w_own - w_peer), zt -= beta_t (...)
            for m in range(d):
                wi = state[u0, 2, m] + state[u0, 4, m]
                wj = state[u1, 2, m] + state[u1, 4, m]
                di, dj = wi - wj, wj - wi
                state[u0, 4, m] -= beta * di
                state[u0, 5, m] -= beta_t * di
                state[u1, 4, m] -= beta * dj
                state[u1, 5, m] -= beta_t * dj


@numba.njit
def gradients_oracle(oracle, X, out, reps):
    """reps x every node's gradient at X[i], through ``local_gradient``."""
    for _ in range(reps):
        for i in range(X.shape[0]):
            local_gradient(oracle, i, X[i], out[i])


@numba.njit
def gradients_registers(A, b, offsets, reg, X, out, reps):
    """The same per-sample gradients at d = 2 with the sums in registers (``gradient_2d``)."""
    for _ in range(reps):
        for i in range(X.shape[0]):
            out[i, 0], out[i, 1] = gradient_2d(A, b, offsets, reg, i, X[i, 0], X[i, 1])


def gradient_costs(problem, reps) -> dict | None:
    """CPU ns per per-sample gradient (d = 2): through local_gradient, and with the sums in
    registers, alternating; None for another oracle. Checked equal bit for bit."""
    o = problem.oracle
    if o.kind != 1 or problem.dim != 2:
        return None
    X = np.random.default_rng(0).normal(size=(problem.n, 2))
    outs = [np.empty_like(X), np.empty_like(X)]
    calls = [lambda r: gradients_oracle(o, X, outs[0], r),
             lambda r: gradients_registers(o.A, o.b, o.offsets, o.reg, X, outs[1], r)]
    for call in calls:
        call(1)
    ns = [[], []]
    for _ in range(reps):
        for k, call in enumerate(calls):
            c0 = time.process_time()
            call(200)
            ns[k].append(1e9 * (time.process_time() - c0) / (200 * problem.n))
    return {"local_gradient_ns": statistics.median(ns[0]),
            "registers_ns": statistics.median(ns[1]),
            "same": bool(np.array_equal(outs[0], outs[1])),
            "samples_per_node": int(o.offsets[1] - o.offsets[0])}


def run_fused(times, ids, n, edges, state, tau, k, oracle, counts):
    """``fused_dadao`` with the signature of the window loop."""
    o = oracle
    fused_dadao(times, ids, n, edges, state, tau, o.kind, o.H, o.c, o.A, o.b, o.offsets, o.reg,
                k.nu, k.gamma, k.gamma_t, k.c_y, k.beta, k.beta_t, k.alpha, k.alpha_t, k.l1,
                k.l2, k.omega, k.theta, k.p1_y, k.p1_yt, k.p2_y, k.p2_yt)


# ---------------------------------------------------------------------------------------------
# Measurements


def timed(fn, *args):
    """(result, CPU s, wall s, load) of fn(*args)."""
    load = Load(cpu=CPU)
    c0, w0 = time.process_time(), time.perf_counter()
    out = fn(*args)
    cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    return out, cpu, wall, load.stop()


class ClosureRun(inprocess.EventRun):
    """An in-process run through ``closure_loop`` (compiled once per method here)."""

    _loops: dict = {}

    @staticmethod
    def _event_loop(algo):
        if algo.name not in ClosureRun._loops:
            ClosureRun._loops[algo.name] = closure_loop(algo)
        return ClosureRun._loops[algo.name]


def whole_run(setup, run_class):
    """The in-process engine's run() with runs of ``run_class``: (trace, events)."""
    run = run_class(setup)
    trace = base.trace(run, setup, base.drive(run, setup), "inprocess")
    return trace, events_of(trace.meta)


class Timers:
    """Process seconds spent in a few functions during one run (wrapped for the run only)."""

    PARTS = (("schedule", events.PoissonClocks, "until"),
             ("merge", events, "merge_events"),
             ("loop", inprocess.EventRun, "_process"),
             ("primal rows", inprocess.EventRun, "primal_X"),
             ("metrics", base, "metrics"))

    def __enter__(self):
        self.seconds = dict.fromkeys([name for name, _, _ in self.PARTS], 0.0)
        self.saved = []
        for name, owner, attr in self.PARTS:
            inner = getattr(owner, attr)
            self.saved.append((owner, attr, inner))
            setattr(owner, attr, self._wrap(name, inner))
        return self

    def _wrap(self, name, inner):
        def wrapped(*args, **kwargs):
            t0 = time.process_time()
            try:
                return inner(*args, **kwargs)
            finally:
                self.seconds[name] += time.process_time() - t0
        return wrapped

    def __exit__(self, *exc):
        for owner, attr, inner in self.saved:
            setattr(owner, attr, inner)


def all_events(setup):
    """Every event of the run (times, ids), drawn as the run draws them."""
    clocks = setup.args.clocks()
    grid = base.sample_grid(setup.args.t_max, setup.args.log_every).tolist()
    parts = [(t, i) for _, t, i in clocks.windows(setup.args.t_max, breakpoints=grid)]
    return (np.concatenate([t for t, _ in parts]),
            np.ascontiguousarray(np.concatenate([i for _, i in parts])))


def loop_only(loop, setup, times, ids):
    """The final (state, tau, counts) of ``loop`` over all events from the start state."""
    algo, problem, args = setup.algorithm, setup.problem, setup.args
    state = np.ascontiguousarray(algo.init_state(problem.n, problem.dim, args.x0, problem),
                                 dtype=np.float64)
    tau, counts = np.zeros(problem.n), np.zeros(2, dtype=np.int64)
    loop(times, ids, problem.n, args.edges, state, tau, setup.constants, problem.oracle, counts)
    return state, tau, counts


def measure(name, build, reps):
    G, problem, t_max, log_every = build()
    edges = graphs.edge_array(G)
    lam = rates.theory_rates(edges, G.number_of_nodes())
    setup = prepare(G, problem, rates=lam, t_max=t_max, seed=0, log_every=log_every)
    warm = prepare(G, problem, rates=lam, t_max=t_max / 100, seed=1, log_every=log_every)
    from dadao.engines import kernels

    generated = kernels.event_loop(setup.algorithm)
    closures = ClosureRun._event_loop(setup.algorithm)
    for run_class in (inprocess.EventRun, ClosureRun):  # compile, load, warm the caches
        whole_run(warm, run_class)
    times, ids = all_events(setup)
    loops = {"loop, generated": generated, "loop, closures": closures,
             "loop, hand-fused": run_fused}
    for loop in loops.values():
        loop_only(loop, setup, times[:10], ids[:10])
    variants = {"run, generated": lambda: whole_run(setup, inprocess.EventRun),
                "run, closures": lambda: whole_run(setup, ClosureRun),
                **{k: (lambda f=f: loop_only(f, setup, times, ids)) for k, f in loops.items()}}
    samples = {k: [] for k in variants}
    results = {}
    parts = []
    for _ in range(reps):
        for key, fn in variants.items():
            out, cpu, wall, load = timed(fn)
            samples[key].append({"cpu_s": cpu, "wall_s": wall, "load": load})
            results[key] = out
        with Timers() as timers:
            out, cpu, wall, load = timed(whole_run, setup, inprocess.EventRun)
        parts.append(dict(timers.seconds, total=cpu, load=load))
    # exactness: the same trace and final iterates with either loop; the same final state,
    # times and counts from the three loops
    (t_gen, n_events), (t_clo, n_clo) = results["run, generated"], results["run, closures"]
    same_runs = (n_events == n_clo and np.array_equal(t_gen.final_x, t_clo.final_x)
                 and all(np.array_equal(t_gen[c], t_clo[c], equal_nan=True)
                         for c in t_gen.columns))
    ref = results["loop, generated"]
    same_loops = (all(np.array_equal(ref[0], results[k][0])
                      and np.array_equal(ref[1], results[k][1]) for k in loops)
                  and np.array_equal(ref[2], results["loop, closures"][2]))
    return {"name": name, "n": problem.n, "dim": problem.dim, "edges": len(edges),
            "gradient": gradient_costs(problem, reps),
            "t_max": t_max, "log_every": log_every, "samples_per_run": len(t_gen),
            "oracle": problem.params.get("form", problem.name), "events": n_events,
            "loop_events": int(len(times)), "variants": samples, "parts": parts,
            "same_runs": bool(same_runs), "same_loops": bool(same_loops),
            "final_dist_ratio": float(t_gen["dist_to_opt"][-1] / t_gen["dist_to_opt"][0])}


# ---------------------------------------------------------------------------------------------
# The document


def _median_range(values, fmt="{:,.0f}") -> str:
    return (f"{fmt.format(statistics.median(values))} "
            f"[{fmt.format(min(values))}, {fmt.format(max(values))}]")


def _load(samples) -> str:
    core = [s["load"].get("core", 0.0) for s in samples]
    machine = [s["load"].get("machine", 0.0) for s in samples]
    return (f"{100 * statistics.median(core):.0f}%, {100 * statistics.median(machine):.0f}%; "
            f"{100 * max(core):.0f}%, {100 * max(machine):.0f}%")


def rate_table(results) -> list[str]:
    out = ["| workload | variant | events | events / CPU s, median [min, max] | "
           "ns / event (CPU, median) | events / wall s, median | vs generated (CPU) | "
           "load: core 0, machine (median; max) |", "|---|---|---|---|---|---|---|---|"]
    for r in results:
        ref = {}
        for key, samples in r["variants"].items():
            events = r["events"] if key.startswith("run") else r["loop_events"]
            per_cpu = [events / s["cpu_s"] for s in samples]
            per_wall = [events / s["wall_s"] for s in samples]
            kind = key.split(",")[0]
            if key.endswith("generated"):
                ref[kind] = statistics.median(per_cpu)
            ratio = statistics.median(per_cpu) / ref[kind] if kind in ref else math.nan
            out.append(f"| {r['name']} | {key} | {events:,} | {_median_range(per_cpu)} | "
                       f"{1e9 / statistics.median(per_cpu):.0f} | "
                       f"{statistics.median(per_wall):,.0f} | {ratio:.2f} | "
                       f"{_load(samples)} |")
    return out


def parts_table(results) -> list[str]:
    names = [name for name, _, _ in Timers.PARTS]
    out = ["| workload | whole run (ms CPU) | " + " | ".join(
        f"{n} (ms; ns / event)" for n in names) + " | rest (ms; ns / event) |",
        "|---|---|" + "---|" * (len(names) + 1)]
    for r in results:
        def cell(values):
            ms = 1e3 * statistics.median(values)
            return f"{ms:.1f}; {1e6 * ms / r['events']:.0f}"
        rest = [p["total"] - sum(p[n] for n in names if n != "merge") for p in r["parts"]]
        out.append(f"| {r['name']} | {1e3 * statistics.median(p['total'] for p in r['parts']):.1f}"
                   f" | " + " | ".join(cell([p[n] for p in r["parts"]]) for n in names)
                   + f" | {cell(rest)} |")
    return out


def document(results, reps, seconds) -> str:
    import dadao

    when = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    command = "python simulations/bench_events.py" + "".join(
        f" {a}" for a in sys.argv[1:])
    lines = [
        "# Events per second: the whole run, the loop, the floor", "",
        f"Generated by `{command}` on {when} in {seconds:.0f} s (edit the script, not this "
        f"file: it is written whole by the script).", "",
        f"Machine: {processor()}, {os.cpu_count()} CPUs; pinned to core 0 (`taskset -c 0`) "
        f"with one BLAS/OpenMP/numba thread. Python {platform.python_version()}, numpy "
        f"{np.__version__}, numba {numba.__version__}, dadao {dadao.__version__}.", "",
        "Workloads: " + "; ".join(
            f"{r['name']}: n = {r['n']}, |E| = {r['edges']}, d = {r['dim']}, oracle "
            f"{r['oracle']}, t_max = {r['t_max']:g}, {r['samples_per_run']} samples "
            f"(log_every {r['log_every']:g}), {r['events']:,} events, dist_to_opt x "
            f"{r['final_dist_ratio']:.1e}" for r in results) + ".", "",
        f"Method: the variants of a workload run alternately, {reps} times each, after a "
        "warm-up that compiles them (see the script's docstring). *run*: the in-process "
        "engine's run on a ready Setup (the run's state and clocks, drawing the schedule, the "
        "compiled loop, the samples and their metrics, the trace), through the generated loops "
        "of `dadao.engines.kernels` or through the loop as it was built before (closures). "
        "*loop*: the compiled loop alone on all the run's events in one call, from the start "
        "state; *hand-fused*: DADAO written out in one numba function (the script's "
        "`fused_dadao`), the floor of its arithmetic. Rates per CPU second of the process "
        "(time.process_time) and per wall second; load: the share of busy time of other "
        "processes over each measurement, on core 0 and on the machine (/proc/stat).", "",
        "How the same run scales from 10^3 to 10^6 nodes (set-up time, peak memory, events per "
        "CPU second) is the table of [bench_scale.md](bench_scale.md), written by "
        "`python simulations/bench_scale.py`: each size needs a process of its own.", "",
        "## Events per second", "",
        *rate_table(results), "",
        "Exactness: " + "; ".join(
            f"{r['name']}: the two runs' traces and final iterates "
            f"{'are equal bit for bit' if r['same_runs'] else 'DIFFER'}, the three loops' final "
            f"states and times {'are equal bit for bit' if r['same_loops'] else 'DIFFER'} (and "
            f"the counts of the two simulator loops)"
            for r in results) + ".", "",
        "## Where the time of a run goes", "",
        "The generated variant once more per repetition, with timers around its parts (medians): "
        "*schedule*: `PoissonClocks.until`, drawing every clock's arrivals of a window and "
        "merging them, of which *merge*: `dadao.events.merge_events` (the lexsort by time and "
        "clock id); *loop*: the compiled loop on the windows (`EventRun._process`); *primal "
        "rows*: the samples' flowed copies (`EventRun.primal_X`); *metrics*: "
        "`dadao.trace.metrics` of each sample; *rest*: the run less the parts (merge counted "
        "inside the schedule): the run's construction (its state, every clock's random "
        "stream), drive's Python, the counts, the trace. The schedule "
        "(dadao.events) and the metrics (dadao.trace) are other modules' and are measured here, "
        "not changed.", "",
        *parts_table(results), "",
    ]
    for r in results:
        g = r["gradient"]
        if g is None:
            continue
        lines += [
            f"The per-sample gradient alone ({r['name']}: {g['samples_per_node']} samples, "
            f"d = 2, every node's in turn): {g['local_gradient_ns']:.0f} ns per gradient "
            f"through `dadao.problems.oracle.local_gradient`, {g['registers_ns']:.0f} ns with "
            f"its two sums kept in registers (the same operations in the same order; the "
            f"results {'equal bit for bit' if g['same'] else 'DIFFER'}). local_gradient adds "
            f"into its output array at every sample, and the compiler cannot keep it in a "
            f"register (it cannot prove that the array is not one of the oracle's): that "
            f"store and load is most of what separates the generated loop from the hand-fused "
            f"one in the per-sample form (it is in dadao/problems/oracle.py, not in the "
            f"loop).", ""]
    return "\n".join(lines) + "\n"


#: the README's words for each workload
README_WORKLOADS = {
    "paper_star300": "paper's reference run (star n = 300, least squares d = 2, t_max = 300), "
                     "gradients via the 2x2 Hessian",
    "paper_star300_rows": "the same, each gradient from the node's 100 samples (as the "
                          "authors' code)",
    "rgg1000_d100": "random geometric n = 1000, least squares d = 100, t_max = 10",
}


def write_readme_rows(results) -> None:
    """The README's rows (docs/measured/bench_events.json): the whole run, the loop and the
    hand-fused floor, events per CPU second (medians)."""
    from measured import write_rows

    def rate(r, key):
        events = r["events"] if key.startswith("run") else r["loop_events"]
        return statistics.median(events / s["cpu_s"] for s in r["variants"][key])

    rows = []
    for r in results:
        run, loop, fused = (rate(r, k) for k in ("run, generated", "loop, generated",
                                                 "loop, hand-fused"))
        rows.append({
            "what": f"{README_WORKLOADS.get(r['name'], r['name'])}, {r['events']:,} events, "
                    "one core",
            "figure": f"{run / 1e6:.2f} million events per CPU s for the whole run; the "
                      f"compiled loop alone {loop / 1e6:.2f} million ({1e9 / loop:.0f} ns per "
                      f"event), a hand-fused loop {1e9 / fused:.0f} ns; dist_to_opt "
                      f"{r['final_dist_ratio']:.1e} of start "
                      "([docs/bench_events.md](docs/bench_events.md))"})
    write_rows("bench_events", "python simulations/bench_events.py", rows)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5, help="measurements of each variant")
    parser.add_argument("--only", action="append", help="workload name (repeatable)")
    parser.add_argument("--doc", type=Path, help=f"write the document here (default {DOC}; "
                                                 "with --only, only when given)")
    parser.add_argument("--json", type=Path, help="also save every measurement")
    args = parser.parse_args(argv)
    table = workloads()
    chosen = args.only or list(table)
    t0 = time.time()
    results = []
    for name in chosen:
        results.append(measure(name, table[name], args.reps))
        print(f"{name}: done", file=sys.stderr)
    seconds = time.time() - t0
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    text = document(results, args.reps, seconds)
    target = args.doc or (None if args.only else DOC)
    if target is not None:
        target.write_text(text)
        print(f"wrote {target}", file=sys.stderr)
        if target == DOC:
            write_readme_rows(results)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()

"""The in-process engine: the idealised event model of the paper, in one compiled loop.

Events come from ``dadao.events.PoissonClocks`` (per-clock random streams, so the schedule is the
same whatever engine consumes it) in windows of about 10^5 events; each window runs in one
numba-compiled loop that dispatches to the algorithm's node-local functions with lazy time
bookkeeping: node i's state lives at time tau_i and is flowed to t only when an event touches it.

Metrics are sampled on the grid 0, log_every, 2 log_every, ..., t_max. Sampling flows *copies* of
the states to the sample time, so it never perturbs the run: the trajectory, and hence the final
iterates, do not depend on log_every.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
import time as wallclock

import numba
import numpy as np

from dadao.algorithms import get_algorithm
from dadao.engines.arguments import (RunArgumentError, RunArguments, check_run_arguments,
                                     rate_constants_for)
from dadao.trace import TraceRecorder, metrics
from dadao.versions import versions

#: A run is declared diverged when dist_to_opt exceeds this multiple of its starting value (or of
#: ||x*||^2 + 1 if it starts at 0), or stops being finite.
DIVERGENCE_FACTOR = 1e8

_LOOPS: dict[tuple, tuple] = {}


def event_functions(algo):
    """(gradient event, gossip event between two local rows, primal estimates of rows), compiled
    for ``algo``: what every engine does at an event and at a sample, so that all of them do the
    same arithmetic in the same order.

    ``gradient_event(state, tau, r, node, t, k, oracle, work)`` flows row r (node ``node``) from
    tau[r] to t and takes its gradient step; ``pair_event(state, tau, ri, rj, i, j, e, t, k,
    oracle, msg_i, msg_j)`` flows rows ri and rj (nodes i and j of edge e) to t, computes both
    messages and applies both ``on_message``.
    """
    key = ("events", algo.flow, algo.on_gradient, algo.message, algo.on_message, algo.primal)
    if key in _LOOPS:
        return _LOOPS[key]
    flow, on_gradient = algo.flow, algo.on_gradient
    message, on_message, primal = algo.message, algo.on_message, algo.primal

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
    def primal_rows(state, tau, nodes, t, k, oracle, X):
        """X[r] = primal estimate of node nodes[r] at time t: row r flowed on a copy (one row of
        scratch at a time, so sampling a large state allocates no copy of it)."""
        if state.shape[0] == 0:
            return
        s = np.empty_like(state[0])
        for r in range(state.shape[0]):
            s[:] = state[r]
            flow(s, t - tau[r], k)
            primal(s, k, oracle, nodes[r], X[r])

    _LOOPS[key] = (gradient_event, pair_event, primal_rows)
    return _LOOPS[key]


def compiled_kernels(algo):
    """(event loop, snapshot) specialised to ``algo``'s node-local functions; built once each."""
    key = (algo.flow, algo.on_gradient, algo.message, algo.on_message, algo.primal)
    if key in _LOOPS:
        return _LOOPS[key]
    flow, primal = algo.flow, algo.primal
    gradient_event, pair_event, _ = event_functions(algo)

    @numba.njit
    def run_events(times, clocks, n, edges, state, tau, k, oracle, counts):
        """Process events in order; counts[0] += gradient events, counts[1] += gossip events."""
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

    @numba.njit
    def snapshot(state, tau, t, k, oracle, flowed, X):
        """flowed[i] = state of node i flowed to time t (copy); X[i] = its primal estimate."""
        for i in range(state.shape[0]):
            flowed[i] = state[i]
            flow(flowed[i], t - tau[i], k)
            primal(flowed[i], k, oracle, i, X[i])

    _LOOPS[key] = (run_events, snapshot)
    return _LOOPS[key]


class InProcessRun:
    """One run's state and clocks, advanced window by window. ``simulate`` drives it; tests use it
    directly to look at the full state at any time (e.g. the sum of z over nodes).

    ``args`` are checked ``RunArguments``; ``k`` the algorithm's constants.
    """

    def __init__(self, algo, problem, args: RunArguments, k, *, events_per_window=None):
        self.algo, self.problem, self.k = algo, problem, k
        self.n, self.d = problem.n, problem.dim
        self.edges = args.edges
        self.state = np.ascontiguousarray(algo.init_state(self.n, self.d, args.x0, problem),
                                          dtype=np.float64)
        self.tau = np.zeros(self.n)
        self.counts = np.zeros(2, dtype=np.int64)
        # PoissonClocks, or SwitchingClocks on a time-varying graph: edge ids index self.edges
        self.clocks = args.clocks()
        self.time = 0.0
        self._run_events, self._snapshot = compiled_kernels(algo)
        self._primal_rows = event_functions(algo)[2]
        self._all_nodes = np.arange(self.n, dtype=np.int64)
        self._window = {} if events_per_window is None else {"events_per_window": events_per_window}
        # Compile (first run in a process: a few seconds) before anyone times the run: an empty
        # window has the argument types of every later window, and a snapshot at t = 0 is a no-op.
        t0 = wallclock.perf_counter()
        self._run_events(np.empty(0), np.empty(0, dtype=np.int64), self.n, self.edges,
                         self.state, self.tau, self.k, problem.oracle, self.counts)
        self.primal_X(0.0)
        self.compile_s = wallclock.perf_counter() - t0

    def windows(self, t_end, breakpoints=()):
        """Advance to t_end, yielding after each window (its end time) so callers can sample.

        ``self.time`` is the end of the last window whose events have all been processed: after a
        KeyboardInterrupt (which Python delivers between compiled calls) the run is consistent
        at that time.
        """
        for end, times, ids in self.clocks.windows(t_end, breakpoints=breakpoints, **self._window):
            self._run_events(times, ids, self.n, self.edges, self.state, self.tau, self.k,
                             self.problem.oracle, self.counts)
            self.time = end
            yield end

    def snapshot(self, t=None):
        """(states flowed to t, primal iterates X (n, d)), copies; t defaults to the current time.

        t may not precede the run's current time: states cannot be flowed backwards.
        """
        t = self.time if t is None else float(t)
        if t < self.time:
            raise ValueError(f"snapshot at t = {t} is before the run's current time {self.time}")
        flowed = np.empty_like(self.state)
        X = np.empty((self.n, self.d))
        self._snapshot(self.state, self.tau, t, self.k, self.problem.oracle, flowed, X)
        return flowed, X

    # The run interface of ``drive`` (an MPI run implements the same, collectively).
    is_root = True
    catches_interrupt = True

    def primal_X(self, t) -> np.ndarray:
        """The primal iterates X (n, d) at time t (the run is not perturbed)."""
        t = float(t)
        if t < self.time:
            raise ValueError(f"snapshot at t = {t} is before the run's current time {self.time}")
        X = np.empty((self.n, self.d))
        self._primal_rows(self.state, self.tau, self._all_nodes, t, self.k, self.problem.oracle,
                          X)
        return X

    def global_counts(self) -> np.ndarray:
        """[gradient events, gossip events] so far, over the whole network."""
        return self.counts.copy()

    def agree(self, flag: bool) -> bool:
        """The root's decision, for every part of the run (one part here)."""
        return flag

    @property
    def gradients(self) -> int:
        return gradient_count(self.algo, self.counts)

    @property
    def communications(self) -> int:
        return int(self.counts[1])


def gradient_count(algo, counts) -> int:
    """Gradient computations of ``counts`` = [gradient events, gossip events] (each method
    declares how many gradients an event of each kind costs)."""
    return int(counts[0] * algo.gradients_per_gradient_event
               + counts[1] * algo.gradients_per_gossip_event)


def run_constants(algo, problem, args: RunArguments, *, force=False, options=None):
    """(rate condition, constants k) of a run: chi_1, chi_2 of the actual rate Laplacian (worst
    case over a time-varying list), the per-edge resistances for algorithms that need them, and
    the user's ``options`` (constant overrides)."""
    condition = rate_constants_for(algo, problem, args, force=force)
    extra = {}
    if algo.needs_resistances:
        from dadao import graphs

        extra["resistances"] = graphs.effective_resistances(args.edges, args.edge_rates,
                                                            problem.n)
    k = algo.constants(problem, condition.chi_1, condition.chi_2, options or None, **extra)
    return condition, k


def simulate(problem, edges, edge_rates, *, algorithm="dadao", t_max, seed=0, log_every=None,
             grad_rates=None, x0=None, force=False, progress=None, events_per_window=None,
             options=None, switch_period=None):
    """Run one asynchronous simulation and return its ``Trace``.

    Parameters
    ----------
    problem : dadao.problems.Problem
        Local objectives f_i, their L, mu, x* and compiled oracle.
    edges : int array (E, 2), or a list of K such arrays
        Edges in the canonical order of ``dadao.graphs.edge_array``. A list is a time-varying
        graph (e.g. from ``dadao.graphs.graph_sequence``): graph k is in use on
        [(m K + k) P, (m K + k + 1) P), P = ``switch_period`` (``dadao.events.SwitchingClocks``).
        Only algorithms with ``supports_time_varying`` accept one (DADAO, async_sgd,
        randomized_gossip).
    edge_rates : array (E,), or a list of K arrays
        Gossip rate of each edge, in activations per unit time (of a time-varying graph: per
        unit of time while its graph is in use; DADAO's theory rates are
        ``dadao.engines.arguments.sequence_theory_rates``).
    algorithm : str or AsyncAlgorithm
    t_max : float
        Horizon, in expected gradient steps per node.
    seed : int >= 0
        Run seed: the whole event schedule derives from it (``dadao.events``).
    log_every : float
        Sampling period of the metrics (default t_max / 200).
    grad_rates : array (n,), optional
        Gradient clock rates (default 1 for every node; DADAO's theory assumes 1; 0 for methods
        without gradient clocks, which refuse any other value).
    x0 : array (d,) or (n, d), optional
        Initial iterate (default 0); refused by methods that start elsewhere (gossip averaging
        starts every node at its a_i, Continuized at the dual point 0).
    force : bool
        Run even if the rates break the algorithm's rate condition (a RuntimeWarning is emitted);
        divergence is watched for in every run.
    progress : callable(t, events, dist_to_opt), optional
        Called at every sample.
    options : dict, optional
        Overrides of the algorithm's tunable constants, {name: number} (``[algorithm]`` keys of
        a config); refused with ``OptionError`` for names outside ``algorithm.tunables``.
        Recorded in the metadata as "options".
    switch_period : float, optional
        Time-varying graphs only: how long each graph is used (default 1 / max_k chi_1[Lbar_k],
        as in the authors' code).

    Raises ``RunArgumentError`` (a ValueError naming the argument) for unusable arguments and
    ``dadao.rates.RateError`` for rates that break the algorithm's condition.
    """
    algo, args, condition, k = prepare(
        problem, edges, edge_rates, algorithm=algorithm, t_max=t_max, seed=seed,
        log_every=log_every, grad_rates=grad_rates, x0=x0, force=force, options=options,
        switch_period=switch_period)
    run = InProcessRun(algo, problem, args, k, events_per_window=events_per_window)
    recorder, status, error, wall = drive(run, problem, args, progress)
    X = run.primal_X(recorder.last("time"))
    meta = run_meta(run, algo, problem, args, condition, k, options, recorder, status, error,
                    wall, engine="inprocess")
    return recorder.trace(meta, final_x=X)


def prepare(problem, edges, edge_rates, *, algorithm, t_max, seed, log_every, grad_rates, x0,
            force, options, switch_period):
    """(algorithm, checked RunArguments, rate condition, constants k) of an asynchronous run;
    the checks and constants every engine shares (arguments as for ``simulate``)."""
    algo = get_algorithm(algorithm) if isinstance(algorithm, str) else algorithm
    if options is not None and not isinstance(options, Mapping):
        raise RunArgumentError(f"options: must be a mapping {{name: number}} of constant "
                               f"overrides, got {type(options).__name__}")
    args = check_run_arguments(problem, edges, edge_rates, grad_rates=grad_rates, x0=x0,
                               t_max=t_max, log_every=log_every, seed=seed, algo=algo,
                               switch_period=switch_period)
    condition, k = run_constants(algo, problem, args, force=force, options=options)
    return algo, args, condition, k


def sample_grid(t_max: float, log_every: float) -> np.ndarray:
    """Sampling times strictly inside (0, t_max): log_every, 2 log_every, ...; 0 and t_max are
    sampled too."""
    grid = np.arange(1, int(math.floor(t_max / log_every + 1e-9)) + 1) * log_every
    return grid[grid < t_max]


def drive(run, problem, args, progress):
    """Advance ``run`` to args.t_max, sampling the metrics on the grid; (recorder, status, error,
    wall seconds). The recorder and the status are meaningful on the root part of the run.

    ``run`` is an ``InProcessRun`` or an MPI rank's part of a run (``dadao.engines.mpi``):
    ``windows``, ``primal_X`` and ``global_counts`` are collective there, X and the counts are
    complete on the root only, and ``agree`` hands every rank the root's decision to go on, so
    all ranks stop at the same sample.
    """
    t_max = args.t_max
    grid = sample_grid(t_max, args.log_every)
    sample_times = set(grid.tolist()) | {float(t_max)}
    recorder = TraceRecorder()
    start_scale = None

    def sample(t):
        """Record metrics at t; False (on every rank) when the run has diverged."""
        nonlocal start_scale
        X = run.primal_X(t)
        counts = run.global_counts()
        ok = True
        if run.is_root:
            dist, subopt, cons = metrics(X, problem)
            recorder.add(t, float(gradient_count(run.algo, counts)), float(counts[1]), dist,
                         subopt, cons)
            if start_scale is None:
                start_scale = dist if dist > 0 else float(problem.x_star @ problem.x_star) + 1.0
            if progress is not None:
                progress(t, int(counts.sum()), dist)
            ok = math.isfinite(dist) and dist <= DIVERGENCE_FACTOR * start_scale
        return run.agree(ok)

    status, error = "completed", None
    wall0 = wallclock.perf_counter()
    sample(0.0)
    try:
        for end in run.windows(t_max, breakpoints=grid):
            if end in sample_times and not sample(end):
                status = "diverged"
                if run.is_root:
                    error = (f"dist_to_opt reached {recorder.last('dist_to_opt'):.3g} at "
                             f"t = {end:.6g}, more than {DIVERGENCE_FACTOR:.0e} x its start "
                             f"{recorder.first('dist_to_opt'):.3g}")
                break
    except KeyboardInterrupt:
        if not run.catches_interrupt:
            raise
        status = "interrupted"
        if run.time > recorder.last("time"):
            progress = None  # record where the run stopped; a second Ctrl-C must not be asked for
            sample(run.time)
    return recorder, status, error, wallclock.perf_counter() - wall0


def run_meta(run, algo, problem, args, condition, k, options, recorder, status, error, wall, *,
             engine) -> dict:
    """The metadata of an asynchronous run (root part): status, counts, timings, constants."""
    counts = run.global_counts()
    events = int(counts.sum())
    return {
        "status": status,
        "error": error,
        "engine": engine,
        "algorithm": algo.name,
        "seed": args.seed,
        "t_max": float(args.t_max),
        "t_end": recorder.last("time"),
        "log_every": args.log_every,
        "events": events,
        "gradient_events": int(counts[0]),
        "gossip_events": int(counts[1]),
        "gradients": gradient_count(algo, counts),
        "communications": int(counts[1]),
        "wall_time_s": wall,
        "compile_time_s": run.compile_s,
        "events_per_s": events / wall if wall > 0 else float("nan"),
        "n": problem.n,
        "dim": problem.dim,
        "edges": len(args.edges),
        "chi_1": float(condition.chi_1),
        "chi_2": float(condition.chi_2),
        # DADAO's chi_1 chi_2 <= 1/2; other methods' constants do not depend on it
        "rate_condition": ({"product": condition.product, "satisfied": condition.satisfied}
                           if algo.enforces_rate_condition else None),
        "total_gossip_rate": float(condition.total),  # time-varying: mean over the graphs
        "total_gradient_rate": float(args.grad_rates.sum()),
        "constants": {name: float(v) for name, v in k._asdict().items() if np.ndim(v) == 0},
        "options": dict(options or {}),
        "time_varying": None if not args.time_varying else {
            "graphs": len(args.graph_offsets) - 1,
            "switch_period": args.switch_period,
            "edges_per_graph": np.diff(args.graph_offsets).tolist(),
        },
        "versions": versions(),
    }

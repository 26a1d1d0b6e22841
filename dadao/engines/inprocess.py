"""The in-process engine: the idealised event model of the paper, in one compiled loop.

Asynchronous methods: events come from ``dadao.events`` (per-clock random streams, so the
schedule is the same whatever engine consumes it) in windows of about 10^5 events or more; each
window runs in one numba-compiled loop (``dadao.engines.kernels.event_loop``, generated for the
method and cached across processes) that inlines the algorithm's node-local functions, with lazy
time bookkeeping: node i's state lives at time
tau_i and is flowed to t only when an event touches it. Synchronous methods run their rounds on
all rows at once (``dadao.engines.rounds``).

Metrics are sampled on the grid 0, log_every, 2 log_every, ..., t_max (``dadao.engines.base
.drive``). Sampling flows *copies* of the states to the sample time, so it never perturbs the
run: the trajectory, and hence the final iterates, do not depend on log_every.
"""

from __future__ import annotations

import time as wallclock

import numpy as np

from dadao import checkpoint
from dadao.engines import base, kernels, rounds


class EventRun:
    """An asynchronous run's states and clocks in this process, advanced window by window (the
    run interface of ``dadao.engines.base``).

    ``state`` is (n, S, d): row i is node i's state at time ``tau[i]``; ``counts`` =
    [gradient events, gossip events] so far.
    """

    is_root = True
    catches_interrupt = True

    def __init__(self, setup, *, events_per_window=None, clocks=None):
        algo, problem, args = setup.algorithm, setup.problem, setup.args
        self.algo, self.problem, self.k = algo, problem, setup.constants
        self.n, self.d = problem.n, problem.dim
        self.edges = args.edges
        self.state = np.ascontiguousarray(algo.init_state(self.n, self.d, args.x0, problem),
                                          dtype=np.float64)
        self.tau = np.zeros(self.n)
        self.counts_ = np.zeros(2, dtype=np.int64)
        # PoissonClocks, or SwitchingClocks on a time-varying graph: edge ids index self.edges
        # (the timing engine passes its own schedule, dadao.timing.schedule)
        self.clocks = args.clocks() if clocks is None else clocks
        self.time = 0.0
        self._run_events = self._event_loop(algo)
        self._primal_rows = kernels.primal_rows(algo)
        self._all_nodes = np.arange(self.n, dtype=np.int64)
        self._window = {} if events_per_window is None else {"events_per_window": events_per_window}
        # Compile, or load from numba's cache (dadao.engines.codegen), before anyone times the
        # run: an empty window has the argument types of every later window, and a sample at
        # t = 0 is a no-op.
        t0 = wallclock.perf_counter()
        self._process(np.empty(0), np.empty(0, dtype=np.int64))
        self.primal_X(0.0)
        self.compile_s = wallclock.perf_counter() - t0

    def sample_times(self, t_max, log_every):
        return base.sample_grid(t_max, log_every).tolist() + [float(t_max)]

    def advance(self, t_end, breakpoints=()):
        """Process the events up to t_end, yielding after each window (its end time).

        ``self.time`` is the end of the last window whose events have all been processed: after
        a KeyboardInterrupt (which Python delivers between compiled calls) the run is consistent
        at that time.
        """
        for end, times, ids in self.clocks.windows(t_end, breakpoints=breakpoints,
                                                   **self._window):
            self._process(times, ids)
            self.time = end
            yield end

    @staticmethod
    def _event_loop(algo):
        return kernels.event_loop(algo)

    def _process(self, times, ids) -> None:
        """Run one window's events (times, clock ids) on the states."""
        self._run_events(times, ids, self.n, self.edges, self.state, self.tau, self.k,
                         self.problem.oracle, self.counts_)

    def primal_X(self, t) -> np.ndarray:
        """The primal iterates X (n, d) at time t (the run is not perturbed)."""
        t = float(t)
        if t < self.time:
            raise ValueError(f"a sample at t = {t} is before the run's current time {self.time}")
        X = np.empty((self.n, self.d))
        self._primal_rows(self.state, self.tau, self._all_nodes, t, self.k, self.problem.oracle,
                          X)
        return X

    def counts(self) -> base.Counts:
        return base.event_counts(self.algo, self.counts_)

    def snapshot(self) -> tuple[dict, dict]:
        """(header, arrays) of the run at ``self.time`` (``checkpoint.event_run_snapshot``)."""
        return checkpoint.event_run_snapshot(self)

    def restore(self, header: dict, arrays: dict) -> None:
        checkpoint.event_run_restore(self, header, arrays)

    def agree(self, flag: bool) -> bool:
        return flag

    def record(self, wall_time_s: float) -> dict:
        return {"compile_time_s": self.compile_s, "engine_detail": None}


class InProcess(base.Engine):
    """Runs a setup in this process (``events_per_window``: the size of the event windows of
    asynchronous methods; it does not change the schedule)."""

    name = "inprocess"

    def run(self, setup, *, group=None, progress=None, journal=None, events_per_window=None):
        if setup.synchronous:
            run = rounds.SyncRun(setup, rounds.SingleProcess())
        else:
            run = EventRun(setup, events_per_window=events_per_window)
        return base.trace(run, setup, base.drive(run, setup, progress, journal), self.name)


ENGINE = InProcess()

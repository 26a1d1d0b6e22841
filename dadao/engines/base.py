"""What every engine shares: the run interface, the sampling loop, the result record.

An engine (``Engine``) runs a ``dadao.setup.Setup`` and returns a ``dadao.trace.Trace``; its
lifecycle is one call, ``Engine.run(setup, group=..., progress=...)``. Inside, it builds a *run*
(one per method kind: events for asynchronous methods, rounds for synchronous ones) that offers

    is_root, catches_interrupt     whether this process holds the result / handles Ctrl-C
    time                           the time up to which every event (iteration) is processed
    sample_times(t_max, log_every) the sampling grid after 0, ending at the final time
    advance(t_end, breakpoints)    process events up to t_end, yielding at every breakpoint
    primal_X(t)                    the primal iterates (n, d) at t (on the root; the run is not
                                   perturbed)
    local_rows(t), sums            optional: this process's rows of primal_X(t) and how the
                                   processes combine partial sums (``dadao.sample_metrics``):
                                   the samples' metrics are then computed by every process
                                   from its rows, without gathering the iterates
    wall_time(t)                   optional: seconds on the modelled cluster at t (the timing
                                   engine); the trace then has a wall_time column
    counts()                       ``Counts`` over the whole network
    agree(flag)                    the root's decision, on every process
    record(wall_time_s)            what the engine measured besides the counts and this
                                   process's wall time: compile time and an engine-specific
                                   detail (MPI: the partition, per-rank timings)

and ``drive`` samples it on the grid, watches for divergence and Ctrl-C, and ``trace`` turns the
outcome into the one result shape (docs/run_directory.md): the setup's record, then ``run``
(counts, timings, ``engine_detail``). The loop is written once, here, for every engine and both
kinds of methods; methods of an MPI job call ``counts``, ``primal_X``, ``local_rows`` and the
metrics, ``agree`` and ``record`` collectively, on every rank.

A ``Group`` is the set of processes that run one setup together; in process it is this process
alone. The run lifecycle (``dadao.runs``) uses it to agree on errors and to let one process write.
"""

from __future__ import annotations

import math
import time as wallclock
from dataclasses import asdict, dataclass

import numpy as np

from dadao.errors import RunArgumentError
from dadao.trace import COLUMNS, TIMED_COLUMNS, TraceRecorder, metrics
from dadao.versions import versions

#: A run is declared diverged when dist_to_opt exceeds this multiple of its starting value (or of
#: ||x*||^2 + 1 if it starts at 0), or stops being finite.
DIVERGENCE_FACTOR = 1e8


@dataclass(frozen=True)
class Counts:
    """Cumulative counts over the whole network. ``gradients`` (gradient computations) and
    ``communications`` (edge activations) are defined for every method; asynchronous methods
    also count clock events, synchronous ones iterations and gossip rounds (None otherwise)."""

    gradients: int
    communications: int
    gradient_events: int | None = None
    gossip_events: int | None = None
    iterations: int | None = None
    gossip_rounds: int | None = None

    @property
    def events(self) -> int:
        """What the engine processed: clock events, or iterations of a synchronous method."""
        if self.iterations is not None:
            return self.iterations
        return self.gradient_events + self.gossip_events


def event_counts(algo, counts) -> Counts:
    """``Counts`` of [gradient events, gossip events]: each method declares how many gradients
    an event of each kind costs; one gossip event is one communication."""
    return Counts(
        gradients=int(counts[0] * algo.gradients_per_gradient_event
                      + counts[1] * algo.gradients_per_gossip_event),
        communications=int(counts[1]), gradient_events=int(counts[0]),
        gossip_events=int(counts[1]))


def sample_grid(t_max: float, log_every: float) -> np.ndarray:
    """Sampling times strictly inside (0, t_max): log_every, 2 log_every, ...; 0 and t_max are
    sampled too."""
    grid = np.arange(1, int(math.floor(t_max / log_every + 1e-9)) + 1) * log_every
    return grid[grid < t_max]


class Group:
    """The processes that run one setup together: this process alone (see ``dadao.engines.mpi``
    for the ranks of an MPI job)."""

    rank = 0
    size = 1
    is_root = True

    def agree_on_error(self, exc: BaseException | None) -> None:
        """Raise on every process the first error any met (None: no error here)."""
        if exc is not None:
            raise exc

    def bcast(self, value):
        """The root's ``value``, on every process."""
        return value

    def check_same(self, fields: dict) -> None:
        """Collective: raise on every process when ``fields`` (what every process must agree
        on: the resolved config's hash, the command's flags, versions) differ between them."""

    def close(self) -> None:
        """The run is over (whatever its end): release what the group holds (watchdogs)."""


class Engine:
    """An engine: ``run(setup)`` returns the Trace (None on processes that are not the root).

    Subclasses set ``name`` (their registry name) and may declare a config section of their own:
    ``config_section`` (its name) and ``config_fields`` ({key: dadao.config.Field}).
    """

    name = "engine"
    #: True for an engine that runs one setup across several processes (its group is a job)
    distributed = False
    #: True for an engine whose runs have a wall_time column (``dadao.trace.TIMED_COLUMNS``)
    timed = False
    config_section: str | None = None
    config_fields: dict = {}

    def group(self, **options) -> Group:
        """The processes that run a setup together (``options``: the engine's own, e.g. comm)."""
        if options:
            name = next(iter(options))
            raise RunArgumentError(f"only engines that run across processes take {name} (the "
                                   f"{self.name} engine runs in one process)", field=name)
        return Group()

    def check(self, setup, group: Group) -> None:
        """Collective: raise a DadaoError on every process of ``group`` if this engine cannot run
        ``setup`` there (more ranks than nodes, different data on different ranks); called
        before anything is written."""

    def run(self, setup, *, group: Group | None = None, progress=None, **options):
        raise NotImplementedError


# ---------------------------------------------------------------------------------------------
# The sampling loop, written once


class Journal:
    """What ``drive`` tells the world outside the run as it goes, and asks of it; this one keeps
    nothing (a run from Python). The run lifecycle's journal (``dadao.runs``) appends each
    sample to trace.csv, watches SIGINT and SIGTERM and writes checkpoints.

    ``resume``: a ``DriveState`` to start from instead of time 0 (None: from the start).
    """

    resume = None

    def sample(self, row: tuple) -> None:
        """A row of the trace (``dadao.trace.COLUMNS``), as soon as it is taken (root only)."""

    def stop_requested(self) -> str | None:
        """The name of a signal that asked the run to stop ("SIGTERM"), else None."""
        return None

    def checkpoint_due(self) -> bool:
        """Whether a checkpoint should be written at the next consistent time."""
        return False

    def checkpoint(self, state: "DriveState") -> None:
        """Keep ``state``, from which ``drive`` can resume the run bit for bit."""


@dataclass
class DriveState:
    """Where ``drive`` is, at a time every event before which is processed: the run's own
    state (``run.snapshot()``: a JSON header and arrays), the trace rows so far, the divergence
    test's scale, the last sampled time and the wall seconds of the timed part so far."""

    time: float
    run_header: dict
    run_arrays: dict
    rows: list
    start_scale: float | None
    last_sample: float
    wall_time_s: float


@dataclass
class Outcome:
    """How ``drive`` ended: status (completed | diverged | interrupted), the error line of a
    divergence or an interruption, wall seconds of the timed part, the last sampled time (on
    every process)."""

    recorder: TraceRecorder
    status: str
    error: str | None
    wall_time_s: float
    t_end: float


def drive(run, setup, progress=None, journal: Journal | None = None) -> Outcome:
    """Advance ``run`` to setup.args.t_max, sampling the metrics on its grid.

    A sample records time, gradients, communications and the metrics of ``dadao.trace`` on the
    root (handed to ``journal.sample`` at once), and asks every process to go on unless
    dist_to_opt stopped being finite or exceeds DIVERGENCE_FACTOR x its start (status
    "diverged"). A stop asked by a signal (``journal.stop_requested``: after every window in one
    process, at every sample across processes) or Ctrl-C where the run handles it ends the run
    at the last consistent time, which is sampled once more (status "interrupted").

    Checkpoints: where the run offers ``snapshot()`` (its state at its current time) and the
    journal says one is due, the loop hands it a ``DriveState`` after a window (across
    processes: at a sample, every process its own part, the root's last); it does so too when a
    signal stops the run, so that the stop costs nothing. ``journal.resume`` restarts from such
    a state: ``run.restore`` puts the run back, the rows so far are the trace's first rows, and
    the loop goes on from there.
    """
    journal = journal or Journal()
    args, problem = setup.args, setup.problem
    grid = run.sample_times(args.t_max, args.log_every)
    timed = hasattr(run, "wall_time")
    recorder = TraceRecorder(TIMED_COLUMNS if timed else COLUMNS)
    start_scale = None
    last = [0.0]
    wall_before = 0.0
    resume = journal.resume
    if resume is not None:
        run.restore(resume.run_header, resume.run_arrays)
        for row in resume.rows:
            recorder.add(*row)
        start_scale, last[0], wall_before = (resume.start_scale, resume.last_sample,
                                             resume.wall_time_s)
        grid = [t for t in grid if t > run.time]
    wanted = set(grid)
    distributed = not run.catches_interrupt
    checkpoints = getattr(run, "snapshot", None) is not None
    stop, keep = [None], [False]

    def sample(t):
        """Record metrics at t; False (on every process) when the run must stop."""
        nonlocal start_scale
        dist, subopt, cons = sample_metrics(run, problem, t)
        counts = run.counts()
        last[0] = t
        go = True
        if run.is_root:
            row = (t, float(counts.gradients), float(counts.communications), dist, subopt, cons)
            if timed:
                row += (run.wall_time(t),)
            recorder.add(*row)
            journal.sample(row)
            if start_scale is None:
                start_scale = dist if dist > 0 else float(problem.x_star @ problem.x_star) + 1.0
            if progress is not None:
                progress(t, counts.events, dist)
            go = math.isfinite(dist) and dist <= DIVERGENCE_FACTOR * start_scale
            if distributed and go:
                stop[0] = journal.stop_requested()
                go = stop[0] is None
        go = run.agree(go)
        if distributed and checkpoints:
            # across processes a checkpoint is taken at a sample, by every process at once:
            # when one is due, or when a signal stops the run (the root decides)
            keep[0] = run.agree(run.is_root and ((go and journal.checkpoint_due())
                                                 or stop[0] is not None))
        return go

    def state() -> DriveState:
        header, arrays = run.snapshot()
        return DriveState(run.time, header, arrays, list(recorder.rows), start_scale,
                          last[0], wall_before + wallclock.perf_counter() - wall0)

    def keep_state():
        """Every process hands its part of the state to its journal; the root last, once every
        other part is written (the root's checkpoint names the others)."""
        kept = state()
        if not run.is_root:
            journal.checkpoint(kept)
        run.agree(True)
        if run.is_root:
            journal.checkpoint(kept)

    status, error = "completed", None
    wall0 = wallclock.perf_counter()
    if resume is None:
        sample(0.0)
    try:
        for end in run.advance(args.t_max, grid):
            sampled = end in wanted
            if sampled and not sample(end):
                if distributed and keep[0]:
                    keep_state()
                if stop[0] is not None or not run.is_root:
                    status = "interrupted"
                    break
                status = "diverged"
                error = (f"dist_to_opt reached {recorder.last('dist_to_opt'):.3g} at "
                         f"t = {end:.6g}, more than {DIVERGENCE_FACTOR:.0e} x its start "
                         f"{recorder.first('dist_to_opt'):.3g}")
                break
            if distributed:
                if sampled and keep[0]:
                    keep_state()
                continue
            stop[0] = journal.stop_requested()
            if checkpoints and (stop[0] is not None or journal.checkpoint_due()):
                journal.checkpoint(state())
            if stop[0] is not None:
                status = "interrupted"
                break
    except KeyboardInterrupt:
        if distributed:
            raise
        status = "interrupted"
    if status == "interrupted":
        if run.is_root:
            error = (f"interrupted by {stop[0] or 'Ctrl-C'} at t = {run.time:.6g}; the trace so "
                     f"far is kept")
        if not distributed and run.time > last[0]:
            progress = None  # record where the run stopped; a second Ctrl-C must not be asked for
            sample(run.time)
    return Outcome(recorder, status, error,
                   wall_before + wallclock.perf_counter() - wall0, last[0])


def sample_metrics(run, problem, t) -> tuple[float, float, float] | None:
    """Collective: (dist_to_opt, suboptimality, consensus) of the run at t, on the root at
    least: from every process's own rows where the run offers them (``local_rows``, ``sums``),
    else from the gathered iterates (None off the root). The same numbers either way."""
    rows = getattr(run, "local_rows", None)
    if rows is not None:
        return metrics(rows(t), problem, run.sums, getattr(run, "nodes", None))
    X = run.primal_X(t)
    return metrics(X, problem) if run.is_root else (None, None, None)


def trace(run, setup, outcome: Outcome, engine: str):
    """The Trace of a finished ``drive`` (collective: None on processes that are not the root).

    ``meta`` is the one result record: status, error, engine, the setup's description
    (``Setup.describe``), ``run`` (t_end, the ``Counts``, wall_time_s, compile_time_s,
    engine_detail) and versions; ``final_x`` the iterates at t_end.
    """
    X = run.primal_X(outcome.t_end)
    counts = run.counts()
    record = run.record(outcome.wall_time_s)
    if not run.is_root:
        return None
    meta = {"status": outcome.status, "error": outcome.error, "engine": engine,
            **setup.describe(),
            "run": {"t_end": outcome.t_end, **asdict(counts),
                    "wall_time_s": outcome.wall_time_s,
                    "compile_time_s": record.get("compile_time_s"),
                    "engine_detail": record.get("engine_detail")},
            "versions": versions()}
    return outcome.recorder.trace(meta, final_x=X)

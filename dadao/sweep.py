"""`dadao sweep SWEEP.toml`: many runs from one base config, each an ordinary run directory.

    result = sweep.run_sweep("configs/sweeps/demo.toml", jobs=2)
    result.code, result.ran, result.skipped, result.failed

The sweep file (``dadao.sweeps.spec``, docs/sweep.md) names a base config, seeds and grids of
config values; its cells (``dadao.sweeps.cells``) are checked, every one, before anything runs
or is written (a mistake: a ConfigError line, exit 2). Each cell then goes through
``dadao.runs.run_config`` into ``<out>/<readable values>-<config hash>``: a cell already completed
is found "done" and skipped, one that failed, diverged or was interrupted runs again (from its
checkpoint when it has one), so running a sweep again runs only what is missing. With
``jobs`` > 1 the cells run in that many worker processes (``dadao.sweeps.workers``); with
``executor="mpi"`` on the other processes of the MPI job that runs the sweep
(``dadao.sweeps.mpi``). ``figures=False`` (or sweep.figures = false) writes no per-cell
figures: most of a small cell's time, and a report draws its own from the traces.

sweep.json and sweep.csv (``dadao.sweeps.summary``) are rewritten as each cell finishes. A failed
cell does not stop the sweep. SIGINT or SIGTERM stops handing out cells; the cells being run stop
as ``dadao run`` stops (interrupted, trace and checkpoint kept), the summary is written. Exit
codes: 0 every cell completed or was done, 1 some cell failed or diverged, 2 a mistake in the
sweep file (nothing run, nothing written), 130 / 143 stopped by SIGINT / SIGTERM.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field

from dadao import signals
from dadao.errors import ConfigError, DadaoWarning, OutputError, UsageError
from dadao.sweeps import cells as cellmod
from dadao.sweeps import spec as specmod
from dadao.sweeps import workers
from dadao.sweeps.summary import JSON, Summary


@dataclass
class SweepResult:
    """How a sweep ended: its exit ``code``, the sweep's folder ``out``, the counts of cells
    (``ran`` this time, ``skipped`` as done, ``failed`` or diverged, ``interrupted`` by the
    signal that ``stopped`` the sweep, ``not_run`` after it),
    ``failures`` [(folder, status)], the signal's name ``stopped``, and the run directories
    of ``out`` that are not cells of this sweep."""

    code: int
    out: str
    cells: int = 0
    ran: int = 0
    skipped: int = 0
    failed: int = 0
    not_run: int = 0
    failures: list = field(default_factory=list)
    stopped: str | None = None
    not_in_sweep: list = field(default_factory=list)
    interrupted: int = 0
    #: True on a worker process of an MPI sweep: it ran cells, the root holds the result
    worker: bool = False


class Reporter:
    """What a sweep tells the person running it; this one says nothing (``dadao.sweeps.progress``
    is the command line's)."""

    def dry_run(self, spec, cells, states, others) -> None:
        """``--dry-run``: the cells, and the state of their folders (``cells.state``)."""

    def started(self, spec, cells, others, workers: str):
        """The cells are about to run (``workers``: where, "2 worker processes", "in
        process"); a context manager (a progress bar, or nothing)."""
        import contextlib

        return contextlib.nullcontext()

    def cell(self, index: int, total: int, cell, outcome: dict) -> None:
        """``cell`` finished (``outcome``: ``workers.run_cell``), the ``index``-th of ``total``."""

    def finished(self, result: SweepResult) -> None:
        """The sweep ended; its summary is written."""


#: where the cells run: worker processes of this machine, or the processes of an MPI job
EXECUTORS = ("local", "mpi")


def run_sweep(path: str, jobs: int = 1, dry_run: bool = False, *, out: str | None = None,
              reporter: Reporter | None = None, command: list[str] | None = None,
              figures: bool | None = None, executor: str = "local") -> SweepResult:
    """Run the sweep file at ``path`` in ``jobs`` processes (1: in this one); ``out`` replaces
    its sweep.out; ``dry_run`` lists the cells and runs nothing; ``figures`` replaces its
    sweep.figures; ``executor="mpi"``: on the other processes of this MPI job (on those, this
    returns when the sweep is over, ``worker`` set). See the module docstring."""
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise UsageError(f"must be a whole number of processes >= 1, got {jobs!r}",
                         field="--jobs")
    if executor not in EXECUTORS:
        raise UsageError(f"expected one of {', '.join(EXECUTORS)}, got {executor!r}",
                         field="--executor")
    reporter = reporter or Reporter()
    command = command or ["dadao", "sweep", path]
    if executor == "local":
        return _sweep(path, dry_run, out, reporter, command, figures, jobs)
    if jobs != 1:
        raise UsageError("with --executor mpi the workers are the other processes of the MPI "
                         "job (mpiexec -n K: K - 1 workers): leave --jobs out", field="--jobs")
    from dadao.sweeps import mpi

    with mpi.executor() as pool:
        if pool is None:  # a worker: it ran the cells it was handed
            return SweepResult(0, out or "", worker=True)
        return _sweep(path, dry_run, out, reporter, command, figures, 1, pool)


def _sweep(path, dry_run, out, reporter, command, figures, jobs, pool=None) -> SweepResult:
    """``run_sweep`` once the executor is chosen: ``jobs`` local processes, or the MPI job's
    workers behind ``pool`` (``dadao.sweeps.mpi``)."""
    spec = specmod.read(path, out=out)
    figures = spec.figures if figures is None else figures
    if os.path.exists(spec.out) and not os.path.isdir(spec.out):
        raise ConfigError("exists and is not a folder", field="--out" if out else "sweep.out",
                          file=spec.out if out else path)
    with cellmod.base_file(spec) as base:
        cells = cellmod.expand(spec, base)
        if pool is not None:
            from dadao.sweeps import mpi

            mpi.check_cells(spec, cells)
        others = cellmod.not_in_sweep(spec.out, cells)
        if dry_run:
            reporter.dry_run(spec, cells, {c.key: cellmod.state(c.path) for c in cells}, others)
            return SweepResult(0, spec.out, len(cells), not_in_sweep=others)
        summary = Summary(spec, cells, others, command)
        try:
            os.makedirs(spec.out, exist_ok=True)
            summary.write()
        except OSError as exc:
            raise OutputError(f"cannot write the sweep's summary: {exc.strerror or exc}",
                              file=spec.out) from None
        base_text = None
        if spec.inline_base is not None:  # a worker may be on another host: its text travels
            with open(base) as fh:
                base_text = fh.read()
        stops = _Stops()
        with stops, reporter.started(spec, cells, others, _where(jobs, len(cells), pool)):
            by_key = {cell.key: cell for cell in cells}
            tasks = [workers.task(cell, base, command, figures, base_text) for cell in cells]
            for index, outcome in enumerate(_outcomes(tasks, jobs, stops, pool), 1):
                for text in outcome["warnings"]:
                    warnings.warn(f"{outcome['key']}: {text}", DadaoWarning)
                summary.update(outcome)
                _write(summary)
                reporter.cell(index, len(cells), by_key[outcome["key"]], outcome)
        summary.stopped = stops.requested is not None
        summary.state = "stopped" if summary.stopped else "finished"
        _write(summary)
    counts = summary.counts()
    failures = summary.failures()
    code = (signals.exit_code(stops.requested) if stops.requested is not None
            else 1 if failures else 0)
    result = SweepResult(code, spec.out, counts["cells"], counts["ran"], counts["skipped"],
                         counts["failed"], counts["not_run"] + counts["pending"], failures,
                         stops.name, others, counts["interrupted"])
    reporter.finished(result)
    return result


def _where(jobs: int, cells: int, pool) -> str:
    """Where the cells run, in words: "2 worker processes", "in process"."""
    if pool is not None:
        from dadao.sweeps import mpi

        return mpi.describe(pool)
    return f"{jobs} worker processes" if jobs > 1 and cells > 1 else "in process"


def _write(summary: Summary) -> None:
    try:
        summary.write()
    except OSError as exc:  # the runs so far are kept in their folders
        raise OutputError(f"cannot write {JSON}: {exc.strerror or exc}", file=summary.spec.out,
                          exit_code=1) from None


class _Stops(signals.StopRequests):
    """The sweep's own SIGINT and SIGTERM: recorded, never raised (the summary must still be
    written), and passed on to the worker processes by ``forward`` (each signal once: a second
    one stops their runs at once, as a second Ctrl-C stops ``dadao run``)."""

    def __init__(self):
        super().__init__()
        self.forward = None

    def _handle(self, signum, frame):
        if self.requested is None:
            self.requested = signum
        if self.forward is not None:
            self.forward(signum)


def _outcomes(tasks: list[dict], jobs: int, stops: _Stops, pool=None):
    """The outcome of every task, as each finishes (in process with ``jobs`` = 1; on the MPI
    workers of ``pool`` when there is one)."""
    if pool is not None:
        yield from _in_pool(pool, tasks, stops, forward=None)
        return
    if jobs == 1 or len(tasks) <= 1:
        for job in tasks:
            if stops.requested is not None:
                yield _not_run(job)
                continue
            outcome = workers.run_cell(job)
            # in process, the run's own handlers caught the signal: the sweep stops too
            if outcome["status"] == "interrupted" and outcome["code"] in (
                    signals.exit_code(s) for s in signals.STOP_SIGNALS):
                stops.requested = stops.requested or outcome["code"] - 128
            yield outcome
        return
    yield from _in_workers(tasks, jobs, stops)


def _in_workers(tasks: list[dict], jobs: int, stops: _Stops):
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # "spawn": a fork would copy numba's and the threads' state of this process
    context = multiprocessing.get_context("spawn")
    event = context.Event()
    # a ProcessPoolExecutor, not a Pool: a worker killed (the OOM killer) fails its cell
    # instead of leaving the sweep waiting for it forever
    pool = ProcessPoolExecutor(max_workers=min(jobs, len(tasks)), mp_context=context,
                               initializer=workers.start_worker, initargs=(event,))
    try:
        pids = []

        def forward(signum):
            event.set()  # queued cells come back "not run"
            for pid in pids:
                try:
                    os.kill(pid, signum)
                except (ProcessLookupError, PermissionError):
                    pass

        yield from _in_pool(pool, tasks, stops, forward, pids)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _in_pool(pool, tasks: list[dict], stops: _Stops, forward, pids=None):
    """The outcomes of ``tasks`` run on ``pool`` (an Executor), as they finish. On a stop the
    cells not handed out yet are cancelled, and ``forward(signum)`` (if any) passes the signal
    on to the workers, whose pids go into ``pids`` once they are started (an MPI pool has no
    ``forward``: its launcher signals every process itself)."""
    from concurrent.futures import FIRST_COMPLETED, wait

    futures = {pool.submit(workers.run_cell, job): job for job in tasks}
    if pids is not None:
        import multiprocessing

        pids.extend(child.pid for child in multiprocessing.active_children())
    stops.forward = forward
    try:
        if forward is not None and stops.requested is not None:
            forward(stops.requested)  # received while the workers were being started
        pending = set(futures)
        while pending:
            if stops.requested is not None:
                for future in pending:
                    future.cancel()  # the queued cells are not handed out
            # polled: a cancelled future counts as done here, not yet for wait()
            wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
            done = {future for future in pending if future.done()}
            pending -= done
            for future in done:
                yield _result(future, futures[future], stops)
    finally:
        stops.forward = None
        for future in futures:
            future.cancel()  # left early: nothing more is handed out


def _result(future, job: dict, stops: _Stops) -> dict:
    """The outcome of a worker's future: cancelled ones were not run."""
    from concurrent.futures import CancelledError

    try:
        return future.result()
    except CancelledError:
        return _not_run(job)
    except Exception as exc:  # noqa: BLE001: a worker died (BrokenProcessPool)
        if stops.requested is not None:  # killed while it was being started by the signal
            return _not_run(job)
        return _not_run(job, status="failed",
                        error=f"its worker process died ({type(exc).__name__}: {exc})")


def _not_run(job: dict, status: str = workers.NOT_RUN, error: str | None = None) -> dict:
    return {"key": job["key"], "status": status, "code": 1 if error else 0, "events": None,
            "host_seconds": None, "elapsed_s": 0.0, "dist_first": None, "dist_last": None,
            "error": error, "warnings": []}

"""`dadao sweep SWEEP.toml`: many runs from one base config, each an ordinary run directory.

    result = sweep.run_sweep("configs/sweeps/demo.toml", jobs=2)
    result.code, result.ran, result.skipped, result.failed

The sweep file (``dadao.sweeps.spec``, docs/sweep.md) names a base config, seeds and grids of
config values; its cells (``dadao.sweeps.cells``) are checked, every one, before anything runs
or is written (a mistake: a ConfigError line, exit 2). Each cell then goes through
``dadao.runs.run_config`` into ``<out>/<readable values>-<config hash>``: a cell already completed
is found "done" and skipped, one that failed, diverged or was interrupted runs again (from its
checkpoint when it has one), so running a sweep again runs only what is missing. With
``jobs`` > 1 the cells run in that many worker processes (``dadao.sweeps.workers``).

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


class Reporter:
    """What a sweep tells the person running it; this one says nothing (``dadao.sweeps.progress``
    is the command line's)."""

    def dry_run(self, spec, cells, states, others) -> None:
        """``--dry-run``: the cells, and the state of their folders (``cells.state``)."""

    def started(self, spec, cells, others, jobs: int):
        """The cells are about to run; a context manager (a progress bar, or nothing)."""
        import contextlib

        return contextlib.nullcontext()

    def cell(self, index: int, total: int, cell, outcome: dict) -> None:
        """``cell`` finished (``outcome``: ``workers.run_cell``), the ``index``-th of ``total``."""

    def finished(self, result: SweepResult) -> None:
        """The sweep ended; its summary is written."""


def run_sweep(path: str, jobs: int = 1, dry_run: bool = False, *, out: str | None = None,
              reporter: Reporter | None = None, command: list[str] | None = None) -> SweepResult:
    """Run the sweep file at ``path`` in ``jobs`` processes (1: in this one); ``out`` replaces
    its sweep.out; ``dry_run`` lists the cells and runs nothing. See the module docstring."""
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise UsageError(f"must be a whole number of processes >= 1, got {jobs!r}",
                         field="--jobs")
    reporter = reporter or Reporter()
    command = command or ["dadao", "sweep", path]
    spec = specmod.read(path, out=out)
    if os.path.exists(spec.out) and not os.path.isdir(spec.out):
        raise ConfigError("exists and is not a folder", field="--out" if out else "sweep.out",
                          file=spec.out if out else path)
    with cellmod.base_file(spec) as base:
        cells = cellmod.expand(spec, base)
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
        stops = _Stops()
        with stops, reporter.started(spec, cells, others, jobs):
            by_key = {cell.key: cell for cell in cells}
            tasks = [workers.task(cell, base, command) for cell in cells]
            for index, outcome in enumerate(_outcomes(tasks, jobs, stops), 1):
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


def _outcomes(tasks: list[dict], jobs: int, stops: _Stops):
    """The outcome of every task, as each finishes (in process with ``jobs`` = 1)."""
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
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    # "spawn": a fork would copy numba's and the threads' state of this process
    context = multiprocessing.get_context("spawn")
    event = context.Event()
    # a ProcessPoolExecutor, not a Pool: a worker killed (the OOM killer) fails its cell
    # instead of leaving the sweep waiting for it forever
    pool = ProcessPoolExecutor(max_workers=min(jobs, len(tasks)), mp_context=context,
                               initializer=workers.start_worker, initargs=(event,))
    try:
        futures = {pool.submit(workers.run_cell, job): job for job in tasks}
        pids = [child.pid for child in multiprocessing.active_children()]

        def forward(signum):
            event.set()  # queued cells come back "not run"
            for pid in pids:
                try:
                    os.kill(pid, signum)
                except (ProcessLookupError, PermissionError):
                    pass

        stops.forward = forward
        if stops.requested is not None:  # received while the workers were being started
            forward(stops.requested)
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
        pool.shutdown(wait=True, cancel_futures=True)


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

"""Running one cell of a sweep, in this process, in a worker process of ``--jobs N``, or on a
worker process of an MPI job (``--executor mpi``, ``dadao.sweeps.mpi``).

A worker is a long-lived process (``multiprocessing`` "spawn" context: no numba state copied
from the parent by a fork) that compiles the kernels once and runs many cells, each through
the ordinary run lifecycle, ``dadao.runs.run_config`` with ``launcher=False`` (a worker's run is
its own, whatever launched the sweep). It sits in its own process group, so that the terminal's
Ctrl-C reaches only the sweep, which passes each signal on once: a cell being run stops as
``dadao run`` stops (interrupted, trace and checkpoint kept); an idle worker ignores it, and the
stop event makes it skip the cells still queued. An MPI worker is in its launcher's process
group (the launcher passes the signals on to every process): once it has had a stop signal,
while idle or by the cell it was running, it hands back the cells it is given untouched.

A task (``task``) and what comes back (``outcome``) are small dicts, never the trace: they
cross a process boundary, on an MPI job perhaps to another host, so an inline [base] travels
as its text (``base_text``), written to a temporary file where the cell runs.
"""

from __future__ import annotations

import contextlib
import os
import signal
import tempfile
import time as wallclock
import warnings

from dadao import runs, signals
from dadao.errors import DadaoError, DadaoWarning, RunInterrupted
from dadao.sweeps import cells
from dadao.trace import events_of

#: the sweep's stop event, in a worker process (None in the sweep's own process)
_STOP = None
#: on an MPI worker: whether a stop signal reached it (None: not an MPI worker)
_SIGNALLED = None
#: statuses of a cell that the sweep did not run to an end of its own
NOT_RUN = "not run"


def start_worker(stop_event) -> None:
    """Initializer of a worker process: its own process group, stop signals ignored while idle
    (``run_config`` installs its own handlers for the length of a run)."""
    global _STOP
    _STOP = stop_event
    os.setpgid(0, 0)
    for signum in signals.STOP_SIGNALS:
        signal.signal(signum, signal.SIG_IGN)


def start_mpi_worker() -> None:
    """Initializer of an MPI worker process: a stop signal while idle is noted, not raised
    (the launcher, not the sweep, delivers it to every process); from then on the cells
    handed to this worker come back "not run"."""
    global _SIGNALLED
    _SIGNALLED = False

    def note(signum, frame):
        global _SIGNALLED
        _SIGNALLED = True

    for signum in signals.STOP_SIGNALS:
        signal.signal(signum, note)


def task(cell: cells.Cell, base: str, command: list[str], figures: bool = True,
         base_text: str | None = None) -> dict:
    """What a worker needs to run ``cell`` (picklable): ``base`` the base config's path, or
    with ``base_text`` (an inline [base]) its text; ``figures``: write the cell's figures."""
    return {"key": cell.key, "path": cell.path, "base": base, "base_text": base_text,
            "sets": list(cell.sets), "seed": cell.run_seed, "command": command,
            "figures": figures}


@contextlib.contextmanager
def _base_path(job: dict):
    """The path of the job's base config, here (its text written to a temporary file)."""
    if job.get("base_text") is None:
        yield job["base"]
        return
    with tempfile.TemporaryDirectory(prefix="dadao-sweep-") as folder:
        path = os.path.join(folder, os.path.basename(job["base"]))
        with open(path, "w") as fh:
            fh.write(job["base_text"])
        yield path


def run_cell(job: dict) -> dict:
    """Run one cell (``task``); its outcome: key, status (a final status of meta.json, "done",
    or "not run"), code, events, host_seconds (the run's wall seconds, meta.json run.wall_time_s),
    elapsed_s (this call, build included), dist_first/dist_last, error, warnings."""
    outcome = {"key": job["key"], "status": NOT_RUN, "code": 0, "events": None,
               "host_seconds": None, "elapsed_s": 0.0, "dist_first": None, "dist_last": None,
               "error": None, "warnings": []}
    global _SIGNALLED
    if _STOP is not None and _STOP.is_set() or _SIGNALLED:
        return outcome  # the sweep was asked to stop: hand the cell back untouched
    status, checkpoint = cells.state(job["path"])
    start = wallclock.monotonic()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DadaoWarning)
        try:
            with _base_path(job) as base:
                result = runs.run_config(base, sets=job["sets"], seed=job["seed"],
                                         out=job["path"],
                                         resume=checkpoint and status != "diverged",
                                         command=job["command"], launcher=False,
                                         figures=job.get("figures", True))
            _record(outcome, result)
        except RunInterrupted as exc:
            outcome.update(status="interrupted", code=exc.exit_code, error=str(exc))
        except DadaoError as exc:
            outcome.update(status="failed", code=1, error=str(exc))
        except KeyboardInterrupt:  # a second signal while the run was being prepared
            outcome.update(status="interrupted", code=130, error="stopped at once")
        except Exception as exc:  # noqa: BLE001: one cell's crash must not end the sweep
            outcome.update(status="failed", code=1,
                           error=f"{type(exc).__name__}: {exc}".splitlines()[0])
    outcome["warnings"] = [str(w.message) for w in caught
                           if issubclass(w.category, DadaoWarning)]
    outcome["elapsed_s"] = wallclock.monotonic() - start
    if _SIGNALLED is not None and outcome["status"] == "interrupted" and outcome["code"] in (
            signals.exit_code(s) for s in signals.STOP_SIGNALS):
        _SIGNALLED = True  # the run's own handlers caught the launcher's signal
    return outcome


def _record(outcome: dict, result) -> None:
    meta = result.meta or {}
    outcome.update(status=result.status, code=result.code, error=meta.get("error"))
    if meta.get("run"):
        outcome.update(events=events_of(meta), host_seconds=meta["run"].get("wall_time_s"))
    trace = result.trace
    if trace is not None and len(trace):
        dist = trace["dist_to_opt"]
        outcome.update(dist_first=float(dist[0]), dist_last=float(dist[-1]))

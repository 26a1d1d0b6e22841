"""Checkpoints: a run's whole state at one consistent time, in one file, written atomically.

A checkpoint holds what the event loop needs to go on exactly as if it had never stopped: the
method's states and clock positions (each clock's next arrival and the counter of its keyed
stream: two arrays), the counters, the rows of the trace so far (by their byte length in
trace.csv) and the loop's own state (the scale of the divergence test, the wall time so far).
Resuming from it gives a trace and final iterates bit for bit equal to an uninterrupted run's,
because the schedule is data (``dadao.events``): windows and sampling never change it.

The file is a numpy ``.npz`` archive read with ``allow_pickle=False``: arrays as arrays and one
JSON header (``HEADER``) for the scalars, so loading a checkpoint never runs code from it.
``FORMAT`` is bumped whenever the layout changes; a checkpoint of another format, config or
engine is refused rather than half-used, and so is one of another schedule
(``dadao.events.SCHEDULE_VERSION``, in every checkpoint's header): its clock positions would
go on with other events than the run it started; or of a problem data version that drew
the run's problem kind otherwise (``dadao.problems.streams.PROBLEM_DATA_VERSION`` and
``data_changed``: a version that changed libsvm problems only leaves a quadratic run's
checkpoint good): its states would go on on other data.
"""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np

from dadao import events
from dadao.atomic import write_atomic
from dadao.problems.streams import PROBLEM_DATA_VERSION, data_changed

FORMAT = 1
HEADER = "__header__"


class CheckpointError(ValueError):
    """A checkpoint file that cannot be read back (truncated, of another format)."""


def save(path: str, header: dict, arrays: dict) -> None:
    """Write ``header`` (JSON values) and ``arrays`` ({name: ndarray}) to ``path`` atomically."""
    buf = io.BytesIO()
    text = json.dumps({"format": FORMAT, "schedule": events.SCHEDULE_VERSION,
                       "problem_data": PROBLEM_DATA_VERSION, **header}, allow_nan=True)
    np.savez(buf, **{HEADER: np.frombuffer(text.encode(), dtype=np.uint8)},
             **{name: np.asarray(a) for name, a in arrays.items()})
    write_atomic(path, buf.getvalue())


#: a problem kind that no version changed alone: only a change of every kind touches it
_NO_KIND = ""


def load(path: str, kind: str | None = None) -> tuple[dict, dict]:
    """(header, arrays) of the checkpoint at ``path``; CheckpointError if it is not one, or
    not one to go on from (``check_header``)."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            header = json.loads(bytes(archive[HEADER]).decode())
            arrays = {name: archive[name] for name in archive.files if name != HEADER}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile,
            UnicodeDecodeError) as exc:
        raise CheckpointError(f"unreadable checkpoint ({type(exc).__name__}: {exc})") from None
    check_header(header, kind)
    return header, arrays


def check_header(header: dict, kind: str | None = None) -> None:
    """CheckpointError for a checkpoint of another format or schedule, or whose problem data
    version drew a ``kind`` problem (the run's [problem] kind, ``dadao.rundir`` gives it)
    otherwise than this dadao (``data_changed``); ``kind`` None: a version that changed every
    kind only."""
    if header.get("format") != FORMAT:
        raise CheckpointError(f"checkpoint format {header.get('format')!r}, this dadao reads "
                              f"{FORMAT}")
    schedule = header.get("schedule", 1)   # version 1 wrote none
    if schedule != events.SCHEDULE_VERSION:
        raise CheckpointError(f"a checkpoint of schedule version {schedule!r}, this dadao draws "
                              f"version {events.SCHEDULE_VERSION} (other events for the same "
                              f"seed)")
    data = header.get("problem_data", 1)   # version 1 wrote none
    if data_changed(data, _NO_KIND if kind is None else kind):
        problem = "problem" if kind is None else f"{kind} problem"
        raise CheckpointError(f"a checkpoint of problem data version {data!r}, this dadao "
                              f"draws version {PROBLEM_DATA_VERSION} (other data for the same "
                              f"{problem} seed)")


def prefixed(prefix: str, arrays: dict) -> dict:
    """``arrays`` with every name prefixed ("clocks." + name): one namespace per part."""
    return {f"{prefix}.{name}": a for name, a in arrays.items()}


def unprefixed(prefix: str, arrays: dict) -> dict:
    """The arrays of one part, ``prefixed``'s inverse."""
    start = prefix + "."
    return {name[len(start):]: a for name, a in arrays.items() if name.startswith(start)}


def event_run_snapshot(run) -> tuple[dict, dict]:
    """(header, arrays) of an asynchronous run (in process, or one MPI rank's share) at its
    current time: its ``state`` rows, their times ``tau``, its ``counts_`` and its clocks'
    positions, with the rest of a window cut at a breakpoint (``dadao.events.snapshot``)."""
    header, arrays = events.snapshot(run.clocks)
    return ({"time": run.time, "clocks": header},
            {"state": run.state, "tau": run.tau, "counts": run.counts_,
             **prefixed("clocks", arrays)})


def event_run_restore(run, header: dict, arrays: dict) -> None:
    """Put an asynchronous run of the same setup back where ``event_run_snapshot`` found it."""
    for name, target in (("state", run.state), ("tau", run.tau), ("counts", run.counts_)):
        if arrays[name].shape != target.shape:
            raise ValueError(f"checkpoint {name} of shape {arrays[name].shape}, the run's is "
                             f"{target.shape}")
        target[...] = arrays[name]
    events.restore(run.clocks, header["clocks"], unprefixed("clocks", arrays))
    run.time = float(header["time"])

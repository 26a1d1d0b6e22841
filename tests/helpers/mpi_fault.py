"""Test helper: ``dadao`` with a fault injected on one MPI rank (the engine has no test hooks).

    mpiexec -n 2 python tests/helpers/mpi_fault.py RANK:KIND:WHEN run CONFIG --engine mpi ...

KIND is what happens on rank RANK:

- ``raise``: an exception;
- ``nan``: a NaN written into the rank's first state;
- ``exit``: the process dies without a word;
- ``stop``: the process freezes (SIGSTOP: every thread stops, the watchdog's too);
- ``hang``: the main thread loops forever (sleeping: the watchdog's heartbeats go on);
- ``problem``: the rank's problem data differ from the others' in one number (WHEN is
  ignored: the difference is there from the setup on).

WHEN is a time t (the fault happens just before the rank processes its first window of events
that ends at or after t, by wrapping that rank's event source) or ``setup`` (right after the rank
has built its setup, before the ranks compare theirs). Everything else is the ordinary ``dadao``
command. Before a ``stop`` or a ``hang`` the rank prints "mpi_fault: rank R: KIND at EPOCH" on
stderr (EPOCH: ``time.time()``), so that a test can time how long the job takes to end.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import sys
import time

import numpy as np

from dadao import cli, runs
from dadao.engines import mpi


def fire(kind: str, t, run=None) -> None:
    """The fault ``kind`` now (``t``: the time it is at, for the messages)."""
    if kind in ("stop", "hang"):
        print(f"mpi_fault: rank {mpi.world().rank}: {kind} at {time.time():.3f}",
              file=sys.stderr, flush=True)
    if kind == "raise":
        raise RuntimeError(f"injected fault at t = {t}")
    if kind == "nan":
        run.state[0, 0, 0] = float("nan")
    elif kind == "exit":
        os._exit(3)
    elif kind == "stop":
        os.kill(os.getpid(), signal.SIGSTOP)
    elif kind == "hang":
        while True:
            time.sleep(0.05)


class FaultyClocks:
    """The rank's clocks, with the fault before the first window ending at or after ``time``."""

    def __init__(self, clocks, run, kind: str, time: float):
        self.clocks, self.run, self.kind, self.time = clocks, run, kind, time
        self.fired = False

    def __getattr__(self, name):  # everything else (checkpoints) is the clocks'
        return getattr(self.clocks, name)

    def windows(self, *args, **kwargs):
        for end, times, ids in self.clocks.windows(*args, **kwargs):
            if not self.fired and end >= self.time:
                self.fired = True
                fire(self.kind, f"{end:.6g}", self.run)
            yield end, times, ids


def other_problem(setup):
    """``setup`` with x* moved by one part in 1e12: problem data that differ from the others'."""
    problem = setup.problem
    x_star = np.array(problem.x_star, dtype=np.float64)
    x_star[0] += 1e-12 * max(1.0, abs(x_star[0]))
    return dataclasses.replace(setup, problem=dataclasses.replace(problem, x_star=x_star))


def inject_in_setup(rank: int, kind: str) -> None:
    """The fault on ``rank`` right after it has built its setup (the run lifecycle's build)."""
    original = runs.build

    def build(*args, **kwargs):
        setup = original(*args, **kwargs)
        if mpi.world().rank != rank:
            return setup
        if kind == "problem":
            return other_problem(setup)
        fire(kind, "setup")
        return setup

    runs.build = build


def inject_in_run(rank: int, kind: str, time: float) -> None:
    """The fault on ``rank`` before its first window of events ending at or after ``time``."""
    original = mpi.RankEventRun.__init__

    def init(self, comm, *args, **kwargs):
        original(self, comm, *args, **kwargs)
        if comm.rank == rank:
            self.clocks = FaultyClocks(self.clocks, self, kind, time)

    mpi.RankEventRun.__init__ = init


def inject(spec: str) -> None:
    rank, kind, when = spec.split(":")
    if kind == "problem" or when == "setup":
        inject_in_setup(int(rank), kind)
    else:
        inject_in_run(int(rank), kind, float(when))


if __name__ == "__main__":
    inject(sys.argv[1])
    sys.exit(cli.main(sys.argv[2:]))

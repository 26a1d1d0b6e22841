"""Test helper: ``dadao`` with a fault injected on one MPI rank (the engine has no test hooks).

    mpiexec -n 2 python tests/mpi_fault.py RANK:KIND:TIME run CONFIG --engine mpi --out DIR

KIND is ``raise`` (an exception), ``nan`` (a NaN written into the rank's first state) or
``exit`` (the process dies without a word). The fault happens on rank RANK just before it
processes its first window of events that ends at or after TIME, by wrapping that rank's event
source; everything else is the ordinary ``dadao`` command.
"""

from __future__ import annotations

import os
import sys

from dadao import cli
from dadao.engines import mpi


class FaultyClocks:
    """The rank's clocks, with the fault before the first window ending at or after ``time``."""

    def __init__(self, clocks, run, kind: str, time: float):
        self.clocks, self.run, self.kind, self.time = clocks, run, kind, time
        self.fired = False

    def windows(self, *args, **kwargs):
        for end, times, ids in self.clocks.windows(*args, **kwargs):
            if not self.fired and end >= self.time:
                self.fired = True
                self.fire(end)
            yield end, times, ids

    def fire(self, t):
        if self.kind == "raise":
            raise RuntimeError(f"injected fault at t = {t:.6g}")
        if self.kind == "nan":
            self.run.state[0, 0, 0] = float("nan")
        elif self.kind == "exit":
            os._exit(3)


def inject(spec: str) -> None:
    rank, kind, time = spec.split(":")
    original = mpi.RankEventRun.__init__

    def init(self, comm, *args, **kwargs):
        original(self, comm, *args, **kwargs)
        if comm.rank == int(rank):
            self.clocks = FaultyClocks(self.clocks, self, kind, float(time))

    mpi.RankEventRun.__init__ = init


if __name__ == "__main__":
    inject(sys.argv[1])
    sys.exit(cli.main(sys.argv[2:]))

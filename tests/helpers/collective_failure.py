"""Run under mpiexec: a build whose collectives fail on some ranks only (``mpi.collectively``).

    python collective_failure.py WHO

WHO = "one": rank 1 raises a ProblemError inside the build while the others wait in a sum of
the ranks; WHO = "all": every rank raises it at the same point. Each rank prints what it saw
("raised: ..."); a rank waiting forever would hang the job (the test's timeout).
"""

import sys

import numpy as np

from dadao.engines import mpi
from dadao.errors import ProblemError



def build(comm, who):
    sums = mpi.RankSums(comm)
    if who == "all" or comm.rank == 1:
        raise ProblemError("the data of this rank's nodes is bad", field="problem")
    return sums.sum(np.ones(3))


def main():
    who = sys.argv[1]
    # one rank alone: the grace runs out (kept short); every rank: they all reach the
    # settling barrier within the grace, however loaded the machine (kept long)
    mpi.BUILD_FAILURE_GRACE_S = 2.0 if who == "one" else 60.0
    comm = mpi.world()
    try:
        mpi.collectively(comm, lambda: build(comm, who))
    except ProblemError as exc:
        print(f"rank {comm.rank} raised: {exc}", flush=True)
        comm.Barrier()  # every rank has printed before one exits (the launcher ends the rest)
        sys.exit(exc.exit_code)
    print(f"rank {comm.rank} completed", flush=True)


if __name__ == "__main__":
    main()

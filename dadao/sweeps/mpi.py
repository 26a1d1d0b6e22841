"""The cells of a sweep on the processes of an MPI job (``dadao sweep --executor mpi``).

    mpiexec -n K dadao sweep SWEEP.toml --executor mpi
    mpiexec -n K python -m mpi4py.futures -m dadao sweep SWEEP.toml --executor mpi

Rank 0 reads the sweep file, hands out the cells, writes the summary and prints; the K - 1
other processes are the workers, through ``mpi4py.futures.MPICommExecutor`` (under a plain
mpiexec every process runs `dadao sweep`, and the workers wait in the executor until the sweep
is over; under ``python -m mpi4py.futures`` they are its shared pool and run only cells). A
worker is one long-lived process: it compiles the kernels once and runs many cells, one at a
time, each as a ``--jobs`` worker runs it (``dadao.sweeps.workers.run_cell``: the same folder,
the same skip and rerun). The sweep's folder must be on a file system every process sees.

A cell of ``run.engine = "mpi"`` is refused (its run would use the whole job's ranks); a signal
from the launcher reaches every process: the cells being run stop as ``dadao run`` stops, and
rank 0 hands out no more.
"""

from __future__ import annotations

import contextlib

from dadao import engines
from dadao.errors import ConfigError, UsageError

#: what an MPI job needs: one process that hands out the cells, at least one that runs them
MIN_PROCESSES = 2


def _world():
    try:
        from mpi4py import MPI
    except ImportError as exc:
        raise UsageError(f"the MPI executor needs mpi4py ({exc}); pip install 'dadao[mpi]'",
                         field="--executor") from None
    return MPI.COMM_WORLD


@contextlib.contextmanager
def executor():
    """On rank 0 an ``MPIPoolExecutor`` whose workers are the job's other processes; on those,
    None once the sweep is over. UsageError on every process in a job of one process."""
    from dadao.sweeps import workers

    comm = _world()
    if comm.Get_size() < MIN_PROCESSES:
        raise UsageError(f"needs an MPI job of {MIN_PROCESSES} processes or more (mpiexec -n K "
                         f"dadao sweep SWEEP.toml --executor mpi: K - 1 of them run the cells); "
                         f"this one has {comm.Get_size()}", field="--executor mpi")
    from mpi4py.futures import MPICommExecutor

    with MPICommExecutor(comm, root=0, initializer=workers.start_mpi_worker) as pool:
        yield pool


def describe(pool) -> str:
    """"3 MPI worker processes"."""
    count = pool.num_workers
    return f"{count} MPI worker process" + ("es" if count != 1 else "")


def check_cells(spec, cells) -> None:
    """A ConfigError line for the first cell whose engine runs across processes: on a worker of
    the sweep it would take part in collectives of the whole job."""
    for cell in cells:
        if engines.get_engine(cell.engine).distributed:
            raise ConfigError(f"run.engine = {cell.engine!r} runs one simulation across the "
                              f"processes of an MPI job; the cells of --executor mpi run one "
                              f"per process: use run.engine = \"inprocess\"",
                              field=f"cell {cell.describe()}", file=spec.path)

"""The parts of ``dadao sweep`` (the entry point is ``dadao.sweep.run_sweep``).

    spec      the sweep file: parsing and checking its sections, one line per mistake
    cells     the cells it describes: each one's --set overrides, resolved config and folder
    workers   running one cell (in process, or in a long-lived worker process)
    mpi       the cells on the processes of an MPI job (--executor mpi, mpi4py.futures)
    summary   sweep.json and sweep.csv, rewritten atomically as cells finish
    progress  what the command line prints (a line per cell, or a tqdm bar on a terminal)
"""

"""Runs shared by the MPI tests and their worker (``python tests/mpi_cases.py SPEC OUT`` under
mpiexec): each case is built the same way in the test process (the in-process reference) and on
every rank (the MPI run), from a small dict. Also how a test launches a job whose ranks run
different commands (``launch``), always under a timeout: a hang fails the test, not the CI run.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import dadao
from dadao import graphs, problems

#: (case name, spec): the four methods the issue names on a random geometric graph, every other
#: method once, DADAO on a time-varying graph, and DADAO on a graph with a clique (barbell)
CASES = {
    "dadao": dict(algorithm="dadao", graph=("random_geometric", 16), t_max=20.0),
    "continuized": dict(algorithm="continuized", graph=("random_geometric", 16), t_max=20.0),
    "adom_plus": dict(algorithm="adom_plus", graph=("random_geometric", 16), t_max=30.0),
    "msda": dict(algorithm="msda", graph=("random_geometric", 16), t_max=30.0),
    "dadao_time_varying": dict(algorithm="dadao", graph=("random_geometric", 12, 3), t_max=8.0),
    "dadao_barbell": dict(algorithm="dadao", graph=("barbell", 12), t_max=10.0),
    "async_sgd": dict(algorithm="async_sgd", graph=("cycle", 12), t_max=10.0),
    "randomized_gossip": dict(algorithm="randomized_gossip", graph=("cycle", 12), t_max=10.0,
                              problem="averaging"),
    "accelerated_gossip": dict(algorithm="accelerated_gossip", graph=("cycle", 12), t_max=10.0,
                               problem="averaging"),
    "adom_plus_time_varying": dict(algorithm="adom_plus", graph=("random_geometric", 12, 3),
                                   t_max=10.0),
    "adom_plus_mc": dict(algorithm="adom_plus_mc", graph=("cycle", 12), t_max=10.0),
    "opapc": dict(algorithm="opapc", graph=("cycle", 12), t_max=10.0),
    "extra": dict(algorithm="extra", graph=("cycle", 12), t_max=10.0),
    "diging": dict(algorithm="diging", graph=("cycle", 12), t_max=10.0),
    "dgd": dict(algorithm="dgd", graph=("cycle", 12), t_max=10.0),
}


def build(spec: dict):
    """(graph or list of graphs, problem) of a case."""
    family, n, *K = spec["graph"]
    seed = 0 if family in ("random_geometric", "erdos_renyi") else None
    graph = (graphs.graph_sequence(family, n, K[0], seed=0) if K
             else graphs.make_graph(family, n, seed=seed))
    if spec.get("problem") == "averaging":
        problem = problems.averaging(n, 3, seed=2)
    else:
        problem = problems.least_squares(n, 4, samples_per_node=12, seed=1)
    return graph, problem


def run(spec: dict, engine: str):
    graph, problem = build(spec)
    return dadao.simulate(graph, problem, algorithm=spec["algorithm"], t_max=spec["t_max"],
                        seed=5, log_every=spec["t_max"] / 10, engine=engine)


def mpiexec_path() -> str | None:
    """The mpiexec next to this Python (the mpich wheel's), else the one on PATH."""
    here = Path(sys.executable).parent / "mpiexec"
    return str(here) if here.exists() else shutil.which("mpiexec")


def mpi_missing() -> str | None:
    """Why MPI tests cannot run here (the reason of their skip), or None."""
    import importlib.util

    if importlib.util.find_spec("mpi4py") is None:
        return "mpi4py is not installed (pip install 'dadao[mpi]')"
    if mpiexec_path() is None:
        return "no mpiexec on PATH (pip install mpich)"
    return None


@dataclass
class Launched:
    """How a ``launch`` ended: ``returncode`` None when it was killed at its timeout;
    ``ended_at``: ``time.time()`` at its end."""

    returncode: int | None
    stdout: str
    stderr: str
    ended_at: float

    def dadao_lines(self) -> list[str]:
        """The lines of stderr that dadao printed (its errors, a rank's last words)."""
        return [line for line in self.stderr.splitlines() if line.startswith("dadao")]


def launch(commands, *, env=None, timeout: float = 120, cwd=None) -> Launched:
    """``mpiexec -n 1 python ARGS_0 : -n 1 python ARGS_1 ...``: rank r runs ``commands[r]``
    (a list of arguments of python). Past ``timeout`` seconds the job is ended (mpiexec is
    asked to end its ranks, then killed) and ``returncode`` is None."""
    argv = [mpiexec_path()]
    for r, command in enumerate(commands):
        argv += ([":"] if r else []) + ["-n", "1", sys.executable, *map(str, command)]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, **(env or {})}, cwd=cwd)
    try:
        out, err = proc.communicate(timeout=timeout)
        return Launched(proc.returncode, out, err, time.time())
    except subprocess.TimeoutExpired:
        proc.terminate()  # Hydra's mpiexec ends its ranks, stopped ones included
        try:
            out, err = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
        return Launched(None, out, err, time.time())


def main(names, out):
    from mpi4py import MPI

    for name in names:
        trace = run(CASES[name], "mpi")
        if MPI.COMM_WORLD.rank == 0:
            np.savez(os.path.join(out, f"{name}.npz"), final_x=trace.final_x,
                     **{f"col_{c}": v for c, v in trace.columns.items()})
            with open(os.path.join(out, f"{name}.json"), "w") as fh:
                json.dump(trace.meta, fh)


if __name__ == "__main__":
    main(sys.argv[1].split(","), sys.argv[2])

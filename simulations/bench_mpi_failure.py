"""How fast a failure on one MPI rank ends the whole job.

Runs the quick start on 2 ranks with a fault injected on one rank halfway through (the test
helper ``tests/helpers/mpi_fault.py RANK:KIND:200``, which wraps that rank's event source): an
exception on rank 0, an
exception on rank 1, and rank 1 dying without a word (``os._exit``). For each, prints the exit
code, the total wall time and the time from the first line reporting the failure to the end of
the job (the silent death prints nothing of its own: its job time, against the exception's at
the same simulated time, shows how fast the launcher ends the other rank).

    python simulations/bench_mpi_failure.py
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CASES = [("raise", 0), ("raise", 1), ("exit", 1)]


def mpiexec() -> str:
    here = Path(sys.executable).parent / "mpiexec"
    return str(here) if here.exists() else shutil.which("mpiexec")


def measure(kind: str, rank: int, out: str) -> dict:
    t0 = time.perf_counter()
    proc = subprocess.Popen([mpiexec(), "-n", "2", sys.executable,
                             str(ROOT / "tests" / "helpers" / "mpi_fault.py"), f"{rank}:{kind}:200", "run",
                             str(ROOT / "configs" / "quickstart.toml"), "--engine", "mpi",
                             "--out", out], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            text=True, cwd=ROOT)
    first, t_first = None, None
    for line in proc.stderr:
        if t_first is None and ("failed" in line or "BAD TERMINATION" in line):
            first, t_first = line.strip(), time.perf_counter()
    proc.wait(timeout=120)
    t_end = time.perf_counter()
    return {"kind": kind, "rank": rank, "code": proc.returncode, "total_s": t_end - t0,
            "after_failure_s": t_end - (t_first if t_first is not None else t_end),
            "line": first or ""}


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        for kind, rank in CASES:
            r = measure(kind, rank, os.path.join(tmp, f"{kind}{rank}"))
            if r["line"]:
                when = f"ended {r['after_failure_s']:.2f} s after the first failure line"
            else:  # a silent death prints nothing: compare with the raise at the same time
                when = "no line (a silent death): compare the job time with the raise on rank 1"
            print(f"{kind} on rank {rank}: exit {r['code']}, job {r['total_s']:.2f} s, {when}"
                  f" | {r['line'][:90]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

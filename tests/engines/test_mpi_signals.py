"""SIGTERM to mpiexec (what scancel and Slurm's time limit do): the launcher forwards it to every
rank, rank 0 stops the run at its next sample, every rank ends, exit 143, status interrupted,
the trace so far kept."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from dadao import rundir
from dadao.trace import Trace

import helpers
from engines.test_mpi import _mpi_missing, _mpiexec

pytestmark = pytest.mark.skipif(_mpi_missing() is not None, reason=str(_mpi_missing()))

LONG = """
[graph]
family = "cycle"
n = 32
[problem]
kind = "least_squares"
dim = 3
samples_per_node = 10
[run]
t_max = 1e6
log_every = 5.0
"""


def test_sigterm_to_mpiexec_ends_every_rank_interrupted_with_the_trace(tmp_path):
    config = tmp_path / "long.toml"
    config.write_text(LONG)
    out = tmp_path / "r"
    proc = subprocess.Popen([_mpiexec(), "-n", "2", sys.executable, "-m", "dadao", "run",
                             str(config), "--engine", "mpi", "--out", str(out)],
                            cwd=helpers.ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        deadline = time.time() + 180
        while time.time() < deadline and proc.poll() is None and not (
                (out / "trace.csv").exists()
                and len((out / "trace.csv").read_text().splitlines()) > 4):
            time.sleep(0.1)
        os.kill(proc.pid, signal.SIGTERM)
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 143, stderr
    assert "Traceback" not in stderr
    meta = rundir.read_meta(str(out))
    assert meta["status"] == "interrupted" and "SIGTERM" in meta["error"]
    trace = Trace.read_csv(out / "trace.csv")
    assert len(trace) > 3 and trace["time"][-1] == meta["run"]["t_end"] < 1e6
    assert not os.path.exists(out / "run.lock")

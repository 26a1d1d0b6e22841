"""SIGTERM to mpiexec (what scancel and Slurm's time limit do): the launcher forwards it to every
rank, rank 0 stops the run at its next sample, every rank writes its part of a checkpoint and
ends, exit 143, status interrupted, the trace so far kept; `--resume` on as many ranks goes on,
to the trace of an uninterrupted in-process run, bit for bit."""

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
from helpers import mpi_cases

pytestmark = pytest.mark.skipif(mpi_cases.mpi_missing() is not None, reason=str(mpi_cases.mpi_missing()))

LONG = """
[graph]
family = "cycle"
n = 32
[problem]
kind = "least_squares"
dim = 3
samples_per_node = 10
[run]
t_max = 6000.0
log_every = 1.0
"""


def dadao_mpi(*args) -> list[str]:
    return [mpi_cases.mpiexec_path(), "-n", "2", sys.executable, "-m", "dadao", "run", *map(str, args)]


def test_sigterm_to_mpiexec_ends_interrupted_and_resumes_to_the_uninterrupted_trace(tmp_path):
    config = tmp_path / "long.toml"
    config.write_text(LONG)
    whole = tmp_path / "whole"
    done = subprocess.run([sys.executable, "-m", "dadao", "run", str(config), "--out",
                           str(whole)], cwd=helpers.ROOT, capture_output=True, text=True,
                          timeout=180)
    assert done.returncode == 0, done.stderr
    out = tmp_path / "r"
    proc = subprocess.Popen(dadao_mpi(config, "--engine", "mpi", "--out", out),
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
    assert len(trace) > 3 and trace["time"][-1] == meta["run"]["t_end"] < 6000.0
    assert not os.path.exists(out / "run.lock")
    assert os.path.exists(out / rundir.CHECKPOINT) and os.path.exists(out / "checkpoint.rank1.npz")
    resumed = subprocess.run(dadao_mpi(out, "--resume", "--engine", "mpi"), cwd=helpers.ROOT,
                             capture_output=True, text=True, timeout=180)
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming" in resumed.stdout
    assert (out / "trace.csv").read_bytes() == (whole / "trace.csv").read_bytes()
    assert rundir.read_meta(str(out))["status"] == "completed"

"""No MPI job hangs: a rank that stops taking part ends the job within the watchdog's seconds.

A rank frozen by SIGSTOP (its heartbeats stop: its neighbour ends the job), in the run or while
the setup is built, and a rank whose main thread loops forever (its heartbeats go on, but the
rank waiting on it in the run is blocked in one MPI call: that rank ends the job). The watchdog
is set to WATCHDOG_S seconds here (DADAO_MPI_WATCHDOG_S); the bound asserted is generous, the
time each job took is printed (``pytest -s``).
"""

from __future__ import annotations

import json
import re

import pytest

import helpers
from helpers import mpi_cases

from dadao.engines import mpi
from dadao.errors import UsageError

ROOT = helpers.ROOT
CONFIG = ROOT / "configs" / "quickstart.toml"
FAULT = ROOT / "tests" / "helpers" / "mpi_fault.py"

#: the watchdog's seconds in these jobs
WATCHDOG_S = 4
#: a faulty job must have ended within this many seconds of its fault
ENDED_WITHIN_S = 60
#: a job that takes this long has hung
TIMEOUT = 120


needs_mpi = pytest.mark.skipif(mpi_cases.mpi_missing() is not None, reason=str(mpi_cases.mpi_missing()))


def faulty_job(fault: str, out, *extra, P: int = 2):
    """``dadao run`` of the quick start under mpiexec -n P with ``fault`` (mpi_fault.py)."""
    command = [FAULT, fault, "run", CONFIG, "--engine", "mpi", "--out", out, *extra]
    return mpi_cases.launch([command] * P, env={mpi.WATCHDOG_VARIABLE: str(WATCHDOG_S)},
                            timeout=TIMEOUT)


def seconds_after_the_fault(job) -> float:
    """Seconds from the fault (the rank's "mpi_fault: ... at EPOCH" line) to the job's end."""
    found = re.search(r"^mpi_fault: rank \d+: \w+ at ([\d.]+)$", job.stderr, re.M)
    assert found, job.stderr[-3000:]
    return job.ended_at - float(found.group(1))


def last_words(job) -> str:
    """The one line of the rank that ended the job."""
    assert job.returncode not in (None, 0), (job.returncode, job.stderr[-3000:])
    lines = [line for line in job.dadao_lines() if "ending the job" in line]
    assert len(lines) == 1 and "Traceback" not in job.stderr, job.stderr[-3000:]
    return lines[0]


# ---------------------------------------------------------------------------------------------
# The setting (no MPI needed)


@pytest.mark.parametrize("text,seconds", [("", mpi.WATCHDOG_S), ("30", 30.0), ("2.5", 2.5),
                                          ("0", None), ("off", None)])
def test_the_watchdog_setting_is_read_from_the_environment(monkeypatch, text, seconds):
    monkeypatch.setenv(mpi.WATCHDOG_VARIABLE, text)
    assert mpi.watchdog_setting() == seconds


@pytest.mark.parametrize("text", ["soon", "-1", "nan", "inf"])
def test_a_bad_watchdog_setting_is_one_line(monkeypatch, text):
    monkeypatch.setenv(mpi.WATCHDOG_VARIABLE, text)
    with pytest.raises(UsageError, match=f"^{mpi.WATCHDOG_VARIABLE}: expected seconds"):
        mpi.watchdog_setting()


def test_an_explicit_setting_wins_over_the_environment(monkeypatch):
    monkeypatch.setenv(mpi.WATCHDOG_VARIABLE, "30")
    assert mpi.watchdog_setting(7) == 7.0 and mpi.watchdog_setting(0) is None


# ---------------------------------------------------------------------------------------------
# Under mpiexec


@needs_mpi
def test_a_stopped_rank_ends_the_job_and_the_run_is_marked_failed(tmp_path):
    out = tmp_path / "out"
    job = faulty_job("1:stop:50", out)
    line = last_words(job)
    assert re.match(r"dadao: rank 0 of 2 on \S+: no heartbeat from rank 1 for \d+ s; "
                    "ending the job$", line), line
    took = seconds_after_the_fault(job)
    print(f"SIGSTOP in the run -> the job ended {took:.1f} s later (watchdog {WATCHDOG_S} s)")
    assert took < ENDED_WITHIN_S
    meta = json.loads((out / "meta.json").read_text())
    assert meta["status"] == "failed" and meta["error"] == line, meta
    # error.log says where the rank that noticed was waiting
    assert "the main thread of rank 0 was at:" in (out / "error.log").read_text()


@needs_mpi
def test_a_rank_stopped_while_the_setup_is_built_ends_the_job(tmp_path):
    out = tmp_path / "out"
    job = faulty_job("1:stop:setup", out)
    assert "no heartbeat from rank 1" in last_words(job)
    took = seconds_after_the_fault(job)
    print(f"SIGSTOP in the setup -> the job ended {took:.1f} s later (watchdog {WATCHDOG_S} s)")
    assert took < ENDED_WITHIN_S
    assert not out.exists()


@needs_mpi
def test_a_rank_looping_forever_ends_the_job(tmp_path):
    """The root loops (its heartbeats go on); rank 1, blocked on it in the run, ends the job and
    marks the run directory failed."""
    out = tmp_path / "out"
    job = faulty_job("0:hang:50", out)
    line = last_words(job)
    assert re.match(r"dadao: rank 1 of 2 on \S+: waited \d+ s for (rank 0 in an exchange|the "
                    r"other ranks in \w+)", line), line
    took = seconds_after_the_fault(job)
    print(f"endless loop in the run -> the job ended {took:.1f} s later (watchdog {WATCHDOG_S} s)")
    assert took < ENDED_WITHIN_S
    meta = json.loads((out / "meta.json").read_text())
    assert meta["status"] == "failed" and meta["error"] == line, meta


#: two runs of a job of two ranks, watched for 1 s: in the first, rank 1 ends first and rank 0
#: must not take it for stopped; in the second, rank 1 must watch rank 0 again (not be fooled by
#: rank 0's goodbye from the end of the first run) and end the job when rank 0 stops
TWO_RUNS = """
import os, signal, sys, time
from dadao.engines import mpi

group = mpi.ENGINE.group(watchdog_s=1)
if group.rank == 1:
    group.close()
time.sleep(4)
group.close()
group = mpi.ENGINE.group(watchdog_s=1)
if group.rank == 0:
    print(f"mpi_fault: rank 0: stop at {time.time():.3f}", file=sys.stderr, flush=True)
    os.kill(os.getpid(), signal.SIGSTOP)
time.sleep(60)
"""


@needs_mpi
def test_a_rank_that_ended_its_run_says_goodbye_and_the_next_run_is_watched_again():
    job = mpi_cases.launch([["-c", TWO_RUNS]] * 2, timeout=TIMEOUT)
    line = last_words(job)
    assert re.match(r"dadao: rank 1 of 2 on \S+: no heartbeat from rank 0 for \d+ s", line), line
    assert seconds_after_the_fault(job) < ENDED_WITHIN_S


#: rank 1 crashes where rank 0 waits on it (an uncaught exception: it says no goodbye)
CRASH = """
import time
from dadao.engines import mpi

group = mpi.ENGINE.group(watchdog_s=1)
if group.rank == 1:
    print(f"mpi_fault: rank 1: raise at {time.time():.3f}", flush=True)
    raise RuntimeError("injected crash")
group.comm.Barrier()
"""


@needs_mpi
def test_a_rank_that_crashes_where_the_others_wait_on_it_ends_the_job():
    """A rank that ends on an uncaught exception does not say goodbye: MPICH's launcher does not
    end the job when a rank exits, but the rank waiting on it does."""
    job = mpi_cases.launch([["-c", CRASH]] * 2, timeout=TIMEOUT)
    assert job.returncode not in (None, 0), job.stderr[-3000:]
    assert "RuntimeError: injected crash" in job.stderr
    lines = [line for line in job.dadao_lines() if "ending the job" in line]
    assert len(lines) == 1 and "rank 0 of 2" in lines[0] and "rank 1" in lines[0], job.stderr
    found = re.search(r"^mpi_fault: rank 1: raise at ([\d.]+)$", job.stdout, re.M)
    assert found and job.ended_at - float(found.group(1)) < ENDED_WITHIN_S, job.stdout

"""Cut-edge messages exchanged from inside the compiled loop (``dadao.engines.native_mpi``).

The compiled exchange is the default wherever the MPI library allows it, so every equality case
of test_mpi.py runs it; here: the Python exchange it falls back to, both in one job (each rank
its own), against the in-process run bit for bit; the setting ($DADAO_MPI_EXCHANGE) and the
fallback; the watchdog's view of a loop blocked in an exchange; and the loop loaded from numba's
cache by a second process, its function addresses being no constants of the compiled code.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from dadao.engines import mpi, native_mpi
from dadao.errors import UsageError

import helpers
from helpers import mpi_cases

ROOT = helpers.ROOT
CONFIG = ROOT / "configs" / "quickstart.toml"

needs_mpi = pytest.mark.skipif(mpi_cases.mpi_missing() is not None,
                               reason=str(mpi_cases.mpi_missing()))

#: a launched rank that runs the cases of mpi_cases with its own exchange setting (argv[1])
RANK = """
import os, sys
os.environ[sys.argv[1]] = sys.argv[2]
sys.path.insert(0, sys.argv[3])
import mpi_cases
mpi_cases.main(sys.argv[4].split(","), sys.argv[5])
"""

#: an MPI rank's loop on a two-node network with the Python exchange (no MPI needed): one
#: gossip event of randomized gossip on edge (0, 1), both ends on this rank
LOOP = """
import json
import numpy as np
from dadao.algorithms import get_algorithm
from dadao.algorithms.randomized_gossip import GossipConstants
from dadao.engines import kernels, native_mpi
from dadao.problems.oracle import make_oracle

loop = kernels.kernel_module(get_algorithm("randomized_gossip")).run_until_cut
state, tau = np.array([[[1.0, -2.0]], [[3.0, 4.0]]]), np.zeros(2)
counts, link = np.zeros(3, dtype=np.int64), np.zeros(native_mpi.LINK_SIZE, dtype=np.int64)
end = loop(np.array([0.5]), np.array([2]), 0, -1, 2, np.array([[0, 1]]), np.array([-1]),
           np.array([False]), np.array([0, 1]), np.array([0]), state, tau,
           GossipConstants(1.0, 1.0), make_oracle(0), counts, np.empty(2), np.empty(2),
           np.empty((3, 2)), link)
print(json.dumps({"end": end, "state": state.ravel().tolist(), "counts": counts.tolist(),
                  "hits": sum(loop.stats.cache_hits.values()),
                  "misses": sum(loop.stats.cache_misses.values())}))
"""


@needs_mpi
def test_a_python_and_a_compiled_rank_give_the_in_process_run(tmp_path):
    """Rank 0 returns to Python at every cut-edge event, rank 1 exchanges from its compiled
    loop: each side of every exchange takes one path, and the run is the in-process run."""
    name = "dadao_time_varying"
    commands = [["-c", RANK, native_mpi.EXCHANGE_VARIABLE, setting, ROOT / "tests" / "helpers",
                 name, tmp_path] for setting in ("python", "compiled")]
    job = mpi_cases.launch(commands, timeout=180)
    assert job.returncode == 0, job.stderr[-3000:]
    ref = mpi_cases.run(mpi_cases.CASES[name], "inprocess")
    got = np.load(tmp_path / f"{name}.npz")
    assert np.array_equal(got["final_x"], ref.final_x)
    for column, values in ref.columns.items():
        assert np.array_equal(got[f"col_{column}"], values), column
    detail = json.loads((tmp_path / f"{name}.json").read_text())["run"]["engine_detail"]
    assert detail["exchange"] == "mixed"
    ranks = detail["ranks_detail"]
    assert [r["exchange"] for r in ranks] == ["python", "compiled"]
    assert ranks[0]["exchange_fallback"] == f"{native_mpi.EXCHANGE_VARIABLE}=python"
    assert "exchange_fallback" not in ranks[1]
    for r in ranks:  # the compiled rank times its exchanges inside its loop
        assert r["cut_gossip_events"] > 0 and r["exchange_s"] > 0 and r["events_s"] > 0


@needs_mpi
def test_a_bad_exchange_setting_is_one_line_exit_2(tmp_path):
    job = mpi_cases.launch([["-m", "dadao", "run", CONFIG, "--engine", "mpi", "--out",
                             tmp_path / "out"]] * 2,
                           env={native_mpi.EXCHANGE_VARIABLE: "fast"}, timeout=120)
    assert job.returncode == 2, job.stderr[-3000:]
    lines = job.dadao_lines()
    assert len(lines) == 1 and "Traceback" not in job.stderr, job.stderr
    assert f"{native_mpi.EXCHANGE_VARIABLE}: expected one of auto, compiled, python" in lines[0]
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("text,setting", [("", "auto"), ("compiled", "compiled"),
                                          (" Python ", "python")])
def test_the_exchange_setting_is_read_from_the_environment(text, setting):
    assert native_mpi.exchange_setting({native_mpi.EXCHANGE_VARIABLE: text}) == setting


def test_a_bad_exchange_setting_names_the_variable():
    with pytest.raises(UsageError, match=f"^{native_mpi.EXCHANGE_VARIABLE}: expected one of "
                                         "auto, compiled, python .*; got 'fast'$"):
        native_mpi.exchange_setting({native_mpi.EXCHANGE_VARIABLE: "fast"})


def test_a_library_that_cannot_be_called_falls_back_to_python(monkeypatch):
    """Another ABI (pointer handles) or a failed self-test: the Python exchange, with the
    reason; asked for the compiled one, an error naming the setting."""
    reason = "the MPI library's handles are not C ints"
    monkeypatch.setattr(native_mpi, "library", lambda: reason)
    monkeypatch.delenv(native_mpi.EXCHANGE_VARIABLE, raising=False)
    exchange = native_mpi.exchange_for(None)
    assert (exchange.kind, exchange.why) == ("python", reason)
    assert exchange.link[native_mpi.SENDRECV] == 0  # the loop returns at cut-edge events
    native_mpi.check_setting()
    monkeypatch.setenv(native_mpi.EXCHANGE_VARIABLE, "compiled")
    for call in (native_mpi.check_setting, lambda: native_mpi.exchange_for(None)):
        with pytest.raises(UsageError, match=f"^{native_mpi.EXCHANGE_VARIABLE}: compiled "
                                             f"exchange unavailable: {reason}$"):
            call()


def test_the_watchdog_sees_a_compiled_loop_blocked_in_one_exchange():
    """The loop writes the rank it waits on and counts its exchanges: the same exchange at
    every look is one blocked call, a new one starts the count again."""
    watchdog = mpi.Watchdog.__new__(mpi.Watchdog)  # no communicator: only the bookkeeping
    watchdog.link, watchdog._link_blocked = None, None
    assert watchdog._link_waiting(0.0) is None
    link = np.zeros(native_mpi.LINK_SIZE, dtype=np.int64)
    link[native_mpi.WAITING_ON] = -1
    watchdog.link = link
    assert watchdog._link_waiting(1.0) is None  # computing, not exchanging
    link[native_mpi.WAITING_ON], link[native_mpi.DONE] = 3, 7
    assert watchdog._link_waiting(2.0) == (0.0, 3)
    assert watchdog._link_waiting(9.0) == (7.0, 3)
    link[native_mpi.DONE] = 8  # exchanges go on, with the same partner
    assert watchdog._link_waiting(10.0) == (0.0, 3)
    link[native_mpi.WAITING_ON] = -1
    assert watchdog._link_waiting(11.0) is None


def test_a_second_process_loads_the_rank_loop_compiled():
    """This process compiles (or loads) the rank's loop; a new process finds it compiled: the
    addresses of MPI_Sendrecv and MPI_Wtime are read from ``link`` at run time."""
    exec(LOOP.replace("print(", "here = ("), namespace := {})
    done = subprocess.run([sys.executable, "-c", LOOP], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    there = json.loads(done.stdout.splitlines()[-1])
    for out in (json.loads(namespace["here"]), there):
        # one averaging: (1, -2) and (3, 4) both become (2, 1); one local gossip event
        assert out["end"] == 1 and out["state"] == [2.0, 1.0, 2.0, 1.0]
        assert out["counts"] == [0, 1, 0]
    assert (there["misses"], there["hits"]) == (0, 1)

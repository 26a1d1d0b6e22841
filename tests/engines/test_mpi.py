"""The MPI engine, run for real through ``mpiexec`` subprocesses with timeouts (a hang fails a
test, not the CI run): exactness against the in-process engine for P = 1..4, the command line,
failures on one rank, and the launch check. Skipped, with the reason, where MPI is absent.
"""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from dadao import rundir
from dadao.trace import events_of

import helpers
from helpers import mpi_cases

ROOT = helpers.ROOT
CONFIG = ROOT / "configs" / "quickstart.toml"


pytestmark = pytest.mark.skipif(mpi_cases.mpi_missing() is not None, reason=str(mpi_cases.mpi_missing()))

#: a launch that takes longer than this has hung (the slowest, P = 4 on 2 cores, takes ~40 s)
TIMEOUT = 240


def mpiexec(P: int, *args, env=None, timeout=TIMEOUT, cwd=None) -> subprocess.CompletedProcess:
    """``mpiexec -n P python ARGS``; a hang raises TimeoutExpired (the test fails)."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run([mpi_cases.mpiexec_path(), "-n", str(P), sys.executable, *map(str, args)],
                          capture_output=True, text=True, timeout=timeout, env=full_env,
                          cwd=cwd or ROOT)


def dadao_mpi(P: int, *args, **kw) -> subprocess.CompletedProcess:
    return mpiexec(P, "-m", "dadao", *args, **kw)


def dadao_mpi_fault(P: int, fault: str, *args, **kw) -> subprocess.CompletedProcess:
    """``dadao`` under mpiexec with the fault RANK:KIND:TIME of tests/helpers/mpi_fault.py."""
    return mpiexec(P, ROOT / "tests" / "helpers" / "mpi_fault.py", fault, *args, **kw)


# ---------------------------------------------------------------------------------------------
# Exactness: every case of mpi_cases, P = 1..4, against the in-process engine


@pytest.fixture(scope="module")
def references():
    return {name: mpi_cases.run(spec, "inprocess") for name, spec in mpi_cases.CASES.items()}


@pytest.fixture(scope="module", params=[1, 2, 3, 4], ids=lambda P: f"P{P}")
def mpi_runs(request, tmp_path_factory):
    P = request.param
    out = tmp_path_factory.mktemp(f"mpi_P{P}")
    proc = mpiexec(P, ROOT / "tests" / "helpers" / "mpi_cases.py", ",".join(mpi_cases.CASES), out)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return P, out


@pytest.mark.parametrize("name", list(mpi_cases.CASES))
def test_mpi_run_equals_the_in_process_run(mpi_runs, references, name):
    P, out = mpi_runs
    ref = references[name]
    got = np.load(out / f"{name}.npz")
    meta = json.loads((out / f"{name}.json").read_text())
    # bit for bit: the same operations on the same numbers, and metrics from sums exact in
    # any order of the ranks (dadao.sample_metrics)
    for column, values in ref.columns.items():
        assert got[f"col_{column}"].shape == values.shape, column
        assert np.array_equal(got[f"col_{column}"], values, equal_nan=True), column
    assert np.array_equal(got["final_x"], ref.final_x)
    # the same events, counted over the ranks: cut-edge events are not counted twice
    assert events_of(meta) == events_of(ref.meta)
    assert meta["run"]["communications"] == ref.meta["run"]["communications"]
    assert meta["run"]["gradients"] == ref.meta["run"]["gradients"]
    assert meta["engine"] == "mpi" and meta["run"]["engine_detail"]["ranks"] == P
    ranks = meta["run"]["engine_detail"]["ranks_detail"]
    assert len(ranks) == P and sum(r["nodes"] for r in ranks) == ref.meta["graph"]["n"]


def test_partition_records_cut_edges_and_per_rank_events(mpi_runs, references):
    P, out = mpi_runs
    meta = json.loads((out / "dadao.json").read_text())
    mpi = meta["run"]["engine_detail"]
    # the partition balances expected events (dadao.engines.partition), not node counts
    assert sum(mpi["nodes_per_rank"]) == 16 and min(mpi["nodes_per_rank"]) >= 1
    assert len(mpi["events_per_time_per_rank"]) == P and mpi["event_imbalance"] >= 0.0
    assert mpi["method"] == ("single" if P == 1 else "metis")
    if P == 1:
        assert mpi["cut_edges"] == 0
    else:
        assert 0 < mpi["cut_edges"] < mpi["edges"]
    ranks = mpi["ranks_detail"]
    # each cut-edge event is processed by its two ranks, every other event by one
    total = sum(r["gradient_events"] + r["local_gossip_events"] for r in ranks)
    cut = sum(r["cut_gossip_events"] for r in ranks)
    assert cut % 2 == 0 and total + cut // 2 == events_of(meta)
    assert (cut > 0) == (P > 1)
    for r in ranks:
        assert r["wall_time_s"] > 0 and r["events_s"] >= 0 and r["exchange_s"] >= 0


# ---------------------------------------------------------------------------------------------
# The command line


def _rows(path):
    with open(path, newline="") as fh:
        return list(csv.reader(fh))


def test_dadao_run_engine_mpi_writes_the_in_process_results(tmp_path):
    serial = subprocess.run([sys.executable, "-m", "dadao", "run", CONFIG, "--out",
                             tmp_path / "serial"], capture_output=True, text=True, timeout=TIMEOUT)
    assert serial.returncode == 0, serial.stderr
    proc = dadao_mpi(2, "run", CONFIG, "--engine", "mpi", "--out", tmp_path / "mpi")
    assert proc.returncode == 0, proc.stderr
    # rank 0 speaks for the job: one header, one summary
    assert proc.stdout.count("completed") == 1
    assert _rows(tmp_path / "mpi" / "trace.csv") == _rows(tmp_path / "serial" / "trace.csv")
    meta = json.loads((tmp_path / "mpi" / "meta.json").read_text())
    assert meta["status"] == "completed" and meta["engine"] == "mpi"
    mpi = meta["run"]["engine_detail"]
    assert mpi["ranks"] == 2 and mpi["cut_edges"] == 2  # a cycle cut into two arcs
    assert [r["rank"] for r in mpi["ranks_detail"]] == [0, 1]
    assert all("host" in r and r["wall_time_s"] > 0 for r in mpi["ranks_detail"])
    assert (tmp_path / "mpi" / "convergence.png").exists()


SHARDED_CONFIG = """
[graph]
family = "random_geometric"
n = 40
seed = 1
[problem]
kind = "{kind}"
dim = {dim}
seed = 3
{extra}
[algorithm]
name = "{algorithm}"
[rates]
kind = "auto"
[run]
t_max = 30.0
log_every = 2.0
seed = 0
"""


#: rows-form least squares (d > 2 m) and logistic: x* by Newton on sums across the ranks
ROWS_LEAST_SQUARES = "samples_per_node = 3\nreg = 0.5"
LOGISTIC_ROWS = "samples_per_node = 20"


def write_libsvm_case(tmp_path) -> str:
    """The [problem] lines of a logistic LIBSVM problem (no dim: the file's) on a file of 110
    samples of 4 features, written in ``tmp_path``: 40 nodes of 2 or 3 samples each."""
    rng = np.random.default_rng(5)
    X = rng.standard_normal((110, 4))
    X[rng.uniform(size=X.shape) < 0.2] = 0.0
    y = (X @ np.array([1.0, -2.0, 0.5, 1.5]) + 0.5 * rng.standard_normal(110) > 0).astype(int)
    data = tmp_path / "d.svm"
    data.write_text("".join(
        f"{label} " + " ".join(f"{j + 1}:{float(v)!r}" for j, v in enumerate(row) if v) + "\n"
        for row, label in zip(X, y)))
    return f'path = "{data}"'


@pytest.mark.parametrize("kind, dim, extra, algorithm, P", [
    ("quadratic", 4, "", "dadao", 2),
    ("averaging", 4, "", "randomized_gossip", 2),
    ("least_squares", 7, ROWS_LEAST_SQUARES, "continuized", 2),
    ("logistic", 4, LOGISTIC_ROWS, "dadao", 3),
    ("libsvm", None, None, "dadao", 2)])
def test_ranks_that_build_their_own_nodes_data_give_the_in_process_trace(tmp_path, kind, dim,
                                                                         extra, algorithm, P):
    """[mpi] data = "auto": each rank draws its own nodes' data only (the problem's numbers
    from sums across the ranks; a LIBSVM file: each rank parses its nodes' samples only), and
    the trace is the in-process one, bit for bit."""
    config = tmp_path / "c.toml"
    template = SHARDED_CONFIG
    if kind == "libsvm":  # the file's own dimension
        template, extra = template.replace("dim = {dim}\n", ""), write_libsvm_case(tmp_path)
    config.write_text(template.format(kind=kind, dim=dim, extra=extra, algorithm=algorithm))
    serial = subprocess.run([sys.executable, "-m", "dadao", "run", config, "--out",
                             tmp_path / "serial"], capture_output=True, text=True, timeout=TIMEOUT)
    assert serial.returncode == 0, serial.stderr
    proc = dadao_mpi(P, "run", config, "--engine", "mpi", "--out", tmp_path / "mpi")
    assert proc.returncode == 0, proc.stderr
    assert _rows(tmp_path / "mpi" / "trace.csv") == _rows(tmp_path / "serial" / "trace.csv")
    meta = json.loads((tmp_path / "mpi" / "meta.json").read_text())
    ref = json.loads((tmp_path / "serial" / "meta.json").read_text())
    assert meta["problem"] == ref["problem"]  # the same L, mu, x*, f*, ...
    ranks = meta["run"]["engine_detail"]["ranks_detail"]
    assert [r["data_nodes"] for r in ranks] == [r["nodes"] for r in ranks]
    assert sum(r["data_nodes"] for r in ranks) == 40
    assert all(r["peak_resident_bytes"] > 0 for r in ranks)
    if (kind, algorithm) != ("quadratic", "dadao"):
        return
    whole = dadao_mpi(2, "run", config, "--engine", "mpi", "--set", "mpi.data=whole",
                      "--out", tmp_path / "whole")
    assert whole.returncode == 0, whole.stderr
    ranks = json.loads((tmp_path / "whole" / "meta.json").read_text())["run"][
        "engine_detail"]["ranks_detail"]
    assert [r["data_nodes"] for r in ranks] == [40, 40]


@pytest.mark.parametrize("kind, dim, algorithm, why", [
    ("logistic", 5000, "dadao", "logistic problem above dim = 4,096 is built whole"),
    ("quadratic", 4, "msda", "msda is synchronous")])
def test_per_rank_data_where_it_does_not_apply_is_one_line_exit_2(tmp_path, kind, dim,
                                                                  algorithm, why):
    config = tmp_path / "c.toml"
    config.write_text(SHARDED_CONFIG.format(kind=kind, dim=dim, extra="", algorithm=algorithm)
                      + '[mpi]\ndata = "per_rank"\n')
    proc = dadao_mpi(2, "run", config, "--engine", "mpi", "--out", tmp_path / "out")
    lines = [x for x in proc.stderr.splitlines() if x.strip()]
    assert proc.returncode == 2 and len(lines) == 1, proc.stderr
    assert "mpi.data" in lines[0] and why in lines[0]
    assert not (tmp_path / "out" / "trace.csv").exists()


def test_synchronous_method_through_the_command_line(tmp_path):
    sets = ["--set", "algorithm.name=msda", "--set", "run.t_max=40"]
    serial = subprocess.run([sys.executable, "-m", "dadao", "run", CONFIG, *sets, "--out",
                             tmp_path / "serial"], capture_output=True, text=True, timeout=TIMEOUT)
    assert serial.returncode == 0, serial.stderr
    proc = dadao_mpi(3, "run", CONFIG, *sets, "--engine", "mpi", "--out", tmp_path / "mpi")
    assert proc.returncode == 0, proc.stderr
    assert _rows(tmp_path / "mpi" / "trace.csv") == _rows(tmp_path / "serial" / "trace.csv")
    meta = json.loads((tmp_path / "mpi" / "meta.json").read_text())
    assert meta["run"]["engine_detail"]["ranks"] == 3 and meta["run"]["engine_detail"]["cut_edges"] == 3


def _one_error_line(proc) -> str:
    lines = [line for line in proc.stderr.splitlines() if line.startswith("dadao")]
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    return lines[0]


def test_config_mistake_under_mpiexec_is_one_line_exit_2(tmp_path):
    proc = dadao_mpi(2, "run", CONFIG, "--engine", "mpi", "--set", "graph.n=0", "--out",
                     tmp_path / "out")
    assert proc.returncode == 2
    assert "graph.n" in _one_error_line(proc)
    assert not (tmp_path / "out").exists()


def test_in_process_engine_on_several_ranks_is_refused(tmp_path):
    proc = dadao_mpi(2, "run", CONFIG, "--out", tmp_path / "out")
    assert proc.returncode == 2
    line = _one_error_line(proc)
    assert "run.engine" in line and "--engine mpi" in line
    assert not (tmp_path / "out").exists()


def test_more_ranks_than_nodes_is_refused(tmp_path):
    proc = dadao_mpi(3, "run", CONFIG, "--engine", "mpi", "--set", "graph.family=complete",
                     "--set", "graph.n=2", "--out", tmp_path / "out")
    assert proc.returncode == 2
    assert "3 MPI ranks for n = 2 nodes" in _one_error_line(proc)


# ---------------------------------------------------------------------------------------------
# Failures on one rank end every rank, with the error, and nothing looks finished


@pytest.mark.parametrize("rank", [0, 1])
def test_exception_on_one_rank_aborts_the_job(tmp_path, rank):
    out = tmp_path / "out"
    proc = dadao_mpi_fault(2, f"{rank}:raise:50", "run", CONFIG, "--engine", "mpi", "--out",
                           out, timeout=60)
    assert proc.returncode != 0, proc.stderr
    # the run directory names the cause, written before the job is aborted
    meta = json.loads((out / "meta.json").read_text())
    assert meta["status"] == "failed" and "injected fault" in meta["error"], (meta, proc.stderr)
    assert meta["error"].startswith(f"dadao: rank {rank} of 2 on "), meta["error"]
    assert (out / "error.log").exists()
    # the samples taken before the fault are kept (trace.csv is appended as they come), and
    # they stop before it
    assert rundir.read_run(str(out))[0]["time"][-1] <= 50
    # and the failing rank's line reaches the terminal (the launcher is given time to forward
    # it before MPI_Abort: engines.mpi.ABORT_GRACE_S)
    assert f"dadao: rank {rank} of 2" in proc.stderr, proc.stderr
    assert "injected fault at t = 50" in proc.stderr, proc.stderr


def test_killed_rank_ends_the_job(tmp_path):
    out = tmp_path / "out"
    proc = dadao_mpi_fault(2, "1:exit:50", "run", CONFIG, "--engine", "mpi", "--out", out,
                           timeout=60)
    assert proc.returncode != 0, proc.stderr
    meta = json.loads((out / "meta.json").read_text())
    assert meta["status"] != "completed", proc.stderr
    assert rundir.read_run(str(out))[0]["time"][-1] <= 50


def test_nan_on_one_rank_stops_every_rank_as_diverged(tmp_path):
    out = tmp_path / "out"
    proc = dadao_mpi_fault(3, "2:nan:50", "run", CONFIG, "--engine", "mpi", "--out", out,
                           timeout=60)
    assert proc.returncode == 1, proc.stderr
    meta = json.loads((out / "meta.json").read_text())
    assert meta["status"] == "diverged", (meta, proc.stderr)
    times = [float(r[0]) for r in _rows(out / "trace.csv")[1:]]
    assert times[-1] == 50.0  # the first sample at or after the NaN, the same on every rank


# ---------------------------------------------------------------------------------------------
# dadao mpi-check


def test_mpi_check_prints_every_rank():
    proc = dadao_mpi(3, "mpi-check")
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stdout.splitlines() if line.startswith("rank ")]
    assert [line.split(":")[0] for line in lines] == ["rank 0", "rank 1", "rank 2"]
    for line in lines:
        assert "dadao 0." in line and "mpi4py " in line and "mpi " in line
    assert "ok: every rank runs the same versions" in proc.stdout


def test_mpi_check_of_a_config_reports_the_partition_and_memory(tmp_path):
    config = tmp_path / "rgg.toml"
    config.write_text('[graph]\nfamily = "random_geometric"\nn = 200\nseed = 0\n'
                      '[problem]\nkind = "quadratic"\ndim = 4\n'
                      '[algorithm]\nname = "dadao"\n[run]\nt_max = 1.0\n')
    proc = dadao_mpi(2, "mpi-check", config)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "partition of 200 nodes over 2 rank(s): metis;" in out and "of the gossip rate" in out
    imbalance = float(out.split("(imbalance ")[1].split("%")[0])
    assert 0.0 <= imbalance <= 5.0
    nodes = [int(line.split(": ")[1].split(" nodes")[0].replace(",", ""))
             for line in out.splitlines() if line.startswith("  rank ")]
    assert len(nodes) == 2 and sum(nodes) == 200
    assert out.count("peak resident memory after building the setup") == 2
    # each rank holds its own nodes' data: 4 x 4 Hessians (and c) of 8-byte numbers
    assert "problem data: each rank its own nodes" in out
    held = [int(line.split("the data of ")[1].split(" nodes")[0]) for line in out.splitlines()
            if line.startswith("  rank ")]
    assert held == nodes
    whole = dadao_mpi(2, "mpi-check", config, "--set", "mpi.data=whole")
    assert whole.returncode == 0 and "problem data: whole on every rank" in whole.stdout
    assert whole.stdout.count("the data of 200 nodes") == 2
    bad = dadao_mpi(2, "mpi-check", config, "--set", "mpi.partition=kway")
    assert bad.returncode == 2 and "mpi.partition" in bad.stderr


# ---------------------------------------------------------------------------------------------
# A sweep of independent runs over ranks (mpi4py.futures)


def test_sweep_runs_every_seed_on_the_worker_ranks(tmp_path):
    out = tmp_path / "sweep"
    proc = mpiexec(3, "-m", "mpi4py.futures", ROOT / "simulations" / "sweep_mpi.py", CONFIG,
                   "--seeds", "0-3", "--set", "run.t_max=20", "--out", out)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((out / "sweep.json").read_text())
    assert [r["seed"] for r in summary["runs"]] == [0, 1, 2, 3]
    assert {r["status"] for r in summary["runs"]} == {"completed"}
    assert {r["rank"] for r in summary["runs"]} <= {1, 2}  # rank 0 only hands out the seeds
    # each run is the in-process run of its seed, to the last bit
    serial = subprocess.run([sys.executable, "-m", "dadao", "run", CONFIG, "--seed", "2", "--set",
                             "run.t_max=20", "--out", tmp_path / "serial"],
                            capture_output=True, text=True, timeout=TIMEOUT)
    assert serial.returncode == 0, serial.stderr
    assert _rows(out / "seed-2" / "trace.csv") == _rows(tmp_path / "serial" / "trace.csv")


def test_sweep_refuses_a_bad_config_before_running(tmp_path):
    out = tmp_path / "sweep"
    proc = mpiexec(2, "-m", "mpi4py.futures", ROOT / "simulations" / "sweep_mpi.py", CONFIG,
                   "--seeds", "0-1", "--set", "run.t_max=-1", "--out", out)
    assert proc.returncode == 2
    # mpi4py.futures ends the job with MPI_Abort(2), which MPICH reports on a line of its own
    errors = [line for line in proc.stderr.splitlines() if line.startswith("sweep_mpi")]
    assert len(errors) == 1 and "run.t_max" in errors[0] and not out.exists()


@pytest.mark.parametrize("who", ["one", "all"])
def test_a_collective_build_that_fails_on_some_ranks_ends_the_job_instead_of_hanging(who):
    """A rank whose part of a problem built in shards fails, while the others wait for it in a
    sum of the ranks, ends the job after the grace (MPI_Abort with the error's exit code 2,
    its line on stderr); an error met by every rank is raised on every rank as it is."""
    proc = mpiexec(3, ROOT / "tests" / "helpers" / "collective_failure.py", who, timeout=120)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    if who == "all":
        # the launcher may interleave the ranks' lines
        said = re.findall(r"rank (\d) raised: problem: the data of this rank's nodes is bad",
                          proc.stdout)
        assert sorted(said) == ["0", "1", "2"], proc.stdout
    else:
        assert "completed" not in proc.stdout
        assert ("dadao: rank 1 of 3" in proc.stderr
                and "ProblemError: problem: the data of this rank's nodes is bad" in proc.stderr)

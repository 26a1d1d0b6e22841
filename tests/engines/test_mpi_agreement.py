"""Every rank of an MPI job runs the same thing, or none runs and nothing is written.

Under ``mpiexec`` each rank reads its own command line: the ranks compare their resolved config,
flags and versions (``MpiGroup.check_same``) and their graphs and problem data (``Mpi.check``)
before any of them writes or waits, and a difference is one line, exit 2, on every rank. The
jobs here fail before the run (no compile): about 2 s each.
"""

from __future__ import annotations


import pytest

import helpers
from helpers import mpi_cases

from dadao.engines import mpi

ROOT = helpers.ROOT
CONFIG = ROOT / "configs" / "quickstart.toml"
FAULT = ROOT / "tests" / "helpers" / "mpi_fault.py"

#: a job that fails before its run ends in a few seconds; one that takes this long has hung
TIMEOUT = 60


needs_mpi = pytest.mark.skipif(mpi_cases.mpi_missing() is not None, reason=str(mpi_cases.mpi_missing()))


def run_args(out, *extra):
    return ["-m", "dadao", "run", CONFIG, "--engine", "mpi", "--out", out, *extra]


def one_error_line(job) -> str:
    """The one line a refused job prints (rank 0 speaks for every rank): exit 2, no traceback."""
    assert job.returncode == 2, job.stderr[-3000:]
    lines = job.dadao_lines()
    assert len(lines) == 1 and "Traceback" not in job.stderr, job.stderr[-3000:]
    return lines[0]


def assert_nothing_written(out) -> None:
    assert not out.exists() or not any(out.iterdir()), sorted(p.name for p in out.iterdir())


# ---------------------------------------------------------------------------------------------
# The one line, from the ranks' fields (no MPI needed)


def fields(seed=0, dry_run=False, **config_run):
    cfg = {"graph": {"family": "cycle", "n": 16}, "run": {"seed": seed, **config_run}}
    return {"config_hash": f"hash{seed}", "config": cfg, "engine": "mpi", "out": None,
            "rerun": False, "dry_run": dry_run, "versions": {"numpy": "2.4.6"}}


def test_the_line_names_the_config_keys_and_flags_that_differ():
    line = mpi.differences_message([fields(0), fields(1, dry_run=True), fields(0)])
    assert line.startswith("rank 1 differs from rank 0 in run.seed (1 vs 0), "
                           "--dry-run (on vs off); ")
    assert "hash" not in line  # the keys say more than the hash


def test_the_line_names_every_differing_rank_and_its_value():
    line = mpi.differences_message([fields(0), fields(1), fields(2), fields(0, t_max=5.0)])
    assert line.startswith("ranks 1-3 differ from rank 0 in run.seed (1 on rank 1, 2 on rank 2 "
                           "vs 0), run.t_max (5.0 vs (absent));")


def test_without_the_config_the_line_names_its_hash():
    records = [{"config_hash": "aaa", "versions": {"numpy": "2.4.6"}},
               {"config_hash": "bbb", "versions": {"numpy": "2.3.0"}}]
    line = mpi.differences_message(records)
    assert line.startswith("rank 1 differs from rank 0 in config (hash bbb vs aaa), "
                           "versions.numpy (2.3.0 vs 2.4.6);")


def test_rank_lists_are_short():
    assert mpi.rank_list([1]) == "rank 1"
    assert mpi.rank_list([1, 2]) == "ranks 1, 2"
    assert mpi.rank_list([1, 2, 3, 5, 7, 8, 9, 10]) == "ranks 1-3, 5, 7-10"


# ---------------------------------------------------------------------------------------------
# Under mpiexec: one line, exit 2, nothing written


@needs_mpi
@pytest.mark.parametrize("dry_rank", [0, 1])
def test_dry_run_on_one_rank_only_is_refused_at_once(tmp_path, dry_rank):
    """--dry-run given to rank 0 alone used to hang rank 1 (waiting for rank 0's decision), and
    the other way round."""
    out = tmp_path / "out"
    commands = [run_args(out, *(["--dry-run"] if r == dry_rank else [])) for r in range(2)]
    job = mpi_cases.launch(commands, timeout=TIMEOUT)
    line = one_error_line(job)
    assert "rank 1 differs from rank 0 in --dry-run" in line, line
    assert_nothing_written(out)


#: rank 1's extra arguments -> what the line must name (the config key once the lifecycle hands
#: check_same the resolved config, else the config's hash)
OTHER_RUNS = {
    "seed": (["--seed", "1"], "run.seed"),
    "t_max": (["--set", "run.t_max=300"], "run.t_max"),
    "graph_seed": (["--set", "graph.seed=1"], "graph.seed"),
    "family": (["--set", "graph.family=path"], "graph.family"),
    "algorithm": (["--set", "algorithm.name=continuized"], "algorithm.name"),
}


@needs_mpi
@pytest.mark.parametrize("name", list(OTHER_RUNS))
def test_a_rank_given_another_run_is_refused_before_writing(tmp_path, name):
    """Rank 1 used to run rank 0's seed, horizon or graph silently (rank 0's run arguments are
    broadcast), or crash in numba with another algorithm."""
    extra, key = OTHER_RUNS[name]
    out = tmp_path / "out"
    # a random graph on both ranks, so that graph.seed is a key of the config
    common = ["--set", "graph.family=random_geometric"]
    job = mpi_cases.launch([run_args(out, *common), run_args(out, *common, *extra)],
                           timeout=TIMEOUT)
    line = one_error_line(job)
    assert line.startswith("dadao run: error: rank 1 differs from rank 0 in "), line
    assert key in line, line
    assert_nothing_written(out)


@needs_mpi
def test_more_ranks_than_nodes_is_refused_before_writing(tmp_path):
    out = tmp_path / "out"
    args = run_args(out, "--set", "graph.family=complete", "--set", "graph.n=2")
    job = mpi_cases.launch([args] * 3, timeout=TIMEOUT)
    assert "3 MPI ranks for n = 2 nodes" in one_error_line(job)
    assert_nothing_written(out)


@needs_mpi
def test_problem_data_that_differ_on_a_rank_are_refused_before_writing(tmp_path):
    """The same config, but rank 1 read other data (another file at the same path, another
    numpy): found before the run directory is written."""
    out = tmp_path / "out"
    job = mpi_cases.launch([[FAULT, "1:problem:setup", *run_args(out)[2:]]] * 2,
                           timeout=TIMEOUT)
    line = one_error_line(job)
    assert "problem: rank 1 built problem data different from rank 0's" in line, line
    assert_nothing_written(out)

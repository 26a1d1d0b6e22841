"""`dadao sweep` (dadao.sweep, dadao.sweeps): cells of grids x seeds, each an ordinary run
directory; a second sweep skips what is done, reruns what failed, adds only new cells; the
summary is written as cells finish; a bad sweep file is one line, exit 2, nothing written."""

from __future__ import annotations

import csv
import json
import os
import signal
import threading

import pytest

from dadao import cli, runs, sweep
from dadao.errors import ConfigError, UsageError
from dadao.sweeps import cells, spec
from dadao.sweeps.progress import Printer
from helpers import TINY_CONFIG, listing, mpi_cases

#: the tiny 8-cycle of the helpers, DADAO named (the tests swap the method): each cell runs in
#: well under a second once compiled
BASE = TINY_CONFIG + '[algorithm]\nname = "dadao"\n'
#: the run section of BASE, for the tests that change it
BASE_RUN = "t_max = 10.0\nlog_every = 1.0"

#: the issue's acceptance sweep: 2 methods x 2 sizes x 3 seeds; no figures: matplotlib would
#: take most of a tiny cell's time, and what is tested here is the sweep
ACCEPTANCE = """
[sweep]
base = "base.toml"
out = "out"
seeds = [0, 1, 2]
vary_data_seeds = true
figures = false

[[grid]]
"algorithm.name" = ["dadao", "dgd"]
"graph.n" = [8, 12]
"""
FIGURES = ("convergence.png", "convergence.pdf")


def write(folder, name: str, text: str) -> str:
    path = folder / name
    path.write_text(text)
    return str(path)


def rows(out) -> list[dict]:
    with open(os.path.join(out, "sweep.csv"), newline="") as fh:
        return list(csv.DictReader(fh))


def test_acceptance_12_cells_then_none_then_only_the_new_seed(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "base.toml", BASE)
    path = write(tmp_path, "s.toml", ACCEPTANCE)
    first = sweep.run_sweep(path, jobs=2)
    assert (first.code, first.ran, first.skipped, first.failed) == (0, 12, 0, 0)
    record = json.loads((tmp_path / "out" / "sweep.json").read_text())
    assert record["state"] == "finished" and len(record["cells"]) == 12
    assert {c["status"] for c in record["cells"]} == {"completed"}
    table = rows(tmp_path / "out")
    assert len(table) == 12 and set(table[0]) == {"folder", "algorithm.name", "graph.n", "seed",
                                                  "status", "events", "host_seconds"}
    folders = {r["folder"] for r in table}
    for folder in folders:  # an ordinary, finished run directory each, without figures
        meta = json.loads((tmp_path / "out" / folder / "meta.json").read_text())
        assert meta["status"] == "completed"
        assert not any((tmp_path / "out" / folder / name).exists() for name in FIGURES)

    again = sweep.run_sweep(path)
    assert (again.code, again.ran, again.skipped) == (0, 0, 12)

    write(tmp_path, "s.toml", ACCEPTANCE.replace("[0, 1, 2]", "[0, 1, 2, 3]"))
    third = sweep.run_sweep(path)
    assert (third.code, third.ran, third.skipped) == (0, 4, 12)
    table = rows(tmp_path / "out")
    assert {r["folder"] for r in table} > folders and len(table) == 16
    assert {r["folder"] for r in table if r["status"] == "completed"} - folders == {
        r["folder"] for r in table if r["seed"] == "3"}

    # vary_data_seeds: the problem of each seed is another one (another x*, so another start)
    def run_of(seed):
        key = next(r["folder"] for r in table if r["seed"] == str(seed)
                   and r["algorithm.name"] == "dadao" and r["graph.n"] == "8")
        folder = tmp_path / "out" / key
        first_row = (folder / "trace.csv").read_text().splitlines()[1].split(",")
        return (folder / "config.toml").read_text(), first_row[3]

    (config0, dist0), (config1, dist1) = run_of(0), run_of(1)
    assert "seed = 0" in config0.split("[problem]")[1].split("[")[0]
    assert "seed = 1" in config1.split("[problem]")[1].split("[")[0]
    assert dist0 != dist1


def test_random_graph_seeds_follow_the_run_seed_only_with_vary_data_seeds(tmp_path):
    write(tmp_path, "base.toml", BASE.replace('"cycle"', '"random_geometric"'))
    text = '[sweep]\nbase = "base.toml"\nseeds = [4, 5]\n'
    for vary in (True, False):
        path = write(tmp_path, "s.toml", text + f"vary_data_seeds = {str(vary).lower()}\n")
        found = spec.read(path)
        with cells.base_file(found) as base:
            made = cells.expand(found, base)
        assert [c.seed for c in made] == [4, 5]
        for cell in made:
            data = {f"graph.seed={cell.seed}", f"problem.seed={cell.seed}"}
            assert (data <= set(cell.sets)) is vary
        assert made[0].key != made[1].key


def test_a_diverged_or_interrupted_cell_runs_again_and_the_command_says_which(
        tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "base.toml", BASE.replace('"dadao"', '"dgd"'))
    write(tmp_path, "s.toml", '[sweep]\nbase = "base.toml"\n[[grid]]\n'
                              '"algorithm.alpha" = [0.01, 10.0]\n')
    assert cli.main(["sweep", "s.toml", "--no-figures"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[1].startswith("[1/2] alpha0.01-seed0-") and ": completed, dist_to_opt" in out[1]
    assert out[2].startswith("[2/2] alpha10-seed0-") and ": diverged" in out[2]
    assert "1 failed" in out[-1] and "alpha10-seed0-" in out[-1] and "(diverged)" in out[-1]
    good = next(r["folder"] for r in rows("sweeps/s") if r["status"] == "completed")
    meta_path = tmp_path / "sweeps" / "s" / good / "meta.json"
    meta = json.loads(meta_path.read_text())
    meta_path.write_text(json.dumps({**meta, "status": "interrupted"}))
    result = sweep.run_sweep("s.toml", figures=False)
    assert (result.code, result.ran, result.skipped, result.failed) == (1, 2, 0, 1)
    assert json.loads(meta_path.read_text())["status"] == "completed"


def test_a_signal_stops_the_sweep_keeps_the_trace_and_writes_the_summary(tmp_path,
                                                                         monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "base.toml", BASE.replace(BASE_RUN, "t_max = 1e9\nlog_every = 1e6"))
    path = write(tmp_path, "s.toml", '[sweep]\nbase = "base.toml"\nseeds = [0, 1]\n')
    timer = threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGTERM))
    timer.start()
    try:
        result = sweep.run_sweep(path, figures=False)
    finally:
        timer.cancel()
    assert (result.code, result.stopped, result.interrupted, result.not_run) == (
        143, "SIGTERM", 1, 1)
    record = json.loads((tmp_path / "sweeps" / "s" / "sweep.json").read_text())
    assert record["state"] == "stopped"
    assert [c["status"] for c in record["cells"]] == ["interrupted", "not run"]
    folder = tmp_path / "sweeps" / "s" / record["cells"][0]["folder"]
    assert (folder / "checkpoint.npz").exists() and (folder / "trace.csv").exists()
    assert cells.state(str(folder)) == ("interrupted", True)


def test_grids_are_a_union_zip_rows_vary_together_and_a_dry_run_writes_nothing(
        tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    path = write(tmp_path, "s.toml", """
[sweep]
seeds = [0, 1]
[base]
graph = { family = "cycle", n = 8 }
problem = { kind = "quadratic", dim = 3 }
run = { t_max = 5.0 }
[[grid]]
"graph.n" = [8, 12]
[[grid]]
zip = [ { "graph.family" = "complete", "graph.n" = 6 }, { graph.family = "cycle", graph.n = 12 } ]
""")
    before = listing(tmp_path)
    result = sweep.run_sweep(path, dry_run=True, reporter=Printer())
    assert result.cells == 6  # n8 x 2, n12 x 2, complete6 x 2; cycle 12 is already there
    out = capsys.readouterr().out
    assert out.count(" new ") == 6 and "complete-n6-seed1-" in out
    assert listing(tmp_path) == before


BAD = {
    "unknown-section": ("[sweeps]\nbase = 'base.toml'\n", "[sweeps]"),
    "unknown-sweep-key": ("[sweep]\nbase = 'base.toml'\nseed = [1]\n", "sweep.seed"),
    "base-missing": ("[sweep]\nbase = 'nope.toml'\n", "sweep.base"),
    "axis-not-a-config-key": ("[sweep]\nbase = 'base.toml'\n[[grid]]\n'graph.nn' = [8]\n",
                              "graph.nn"),
    "axis-value-invalid": ("[sweep]\nbase = 'base.toml'\n[[grid]]\n'graph.n' = [8, 1]\n",
                           "graph.n = 1"),
    "empty-axis": ("[sweep]\nbase = 'base.toml'\n[[grid]]\n'graph.n' = []\n", "graph.n"),
    "duplicate-cells": ("[sweep]\nbase = 'base.toml'\n[[grid]]\n'graph.n' = [8, 8]\n",
                        "graph.n"),
    "same-run-twice": ("[sweep]\nbase = 'base.toml'\n[[grid]]\nzip = [{'graph.n' = 8}, "
                       "{'graph.n' = 8, 'graph.time_varying' = 0}]\n", "same run"),
    "grid-not-an-array": ("[sweep]\nbase = 'base.toml'\n[grid]\n'graph.n' = [8]\n", "[[grid]]"),
    "figures-not-a-boolean": ("[sweep]\nbase = 'base.toml'\nfigures = 0\n", "sweep.figures"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_a_bad_sweep_file_is_one_line_exit_2_and_nothing_written(case, tmp_path, monkeypatch,
                                                                 capsys):
    text, named = BAD[case]
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "base.toml", BASE)
    write(tmp_path, "s.toml", text)
    before = listing(tmp_path)
    assert cli.main(["sweep", "s.toml", "--jobs", "2"]) == 2
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("dadao sweep: error: s.toml: "), lines
    assert named in lines[0] and not captured.out
    assert listing(tmp_path) == before


def test_jobs_must_be_a_positive_count(tmp_path):
    with pytest.raises(Exception, match="--jobs"):
        sweep.run_sweep(write(tmp_path, "s.toml", ""), jobs=0)
    with pytest.raises(ConfigError, match="sweep.base"):
        sweep.run_sweep(write(tmp_path, "s.toml", ""))


def test_the_demo_sweep_is_valid_and_its_dry_run_writes_nothing(tmp_path, monkeypatch, capsys):
    from helpers import ROOT

    monkeypatch.chdir(tmp_path)
    assert cli.main(["sweep", str(ROOT / "configs" / "sweeps" / "demo.toml"), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "18 cells in sweeps/demo" in out and out.count(" new ") == 18
    assert not os.listdir(tmp_path)


# --- figures ---------------------------------------------------------------------------------

def test_figures_are_on_by_default_and_off_with_no_figures(tmp_path, monkeypatch):
    """A run draws its two figures unless told not to (`dadao run --no-figures`); a sweep's
    cells do unless sweep.figures = false or `dadao sweep --no-figures`; a cell done with
    figures is done without (figures are no part of its config)."""
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "base.toml", BASE)
    assert cli.main(["run", "base.toml", "--out", "drawn"]) == 0
    assert cli.main(["run", "base.toml", "--out", "plain", "--no-figures"]) == 0
    assert all((tmp_path / "drawn" / name).stat().st_size > 0 for name in FIGURES)
    assert not any((tmp_path / "plain" / name).exists() for name in FIGURES)
    assert (tmp_path / "plain" / "trace.csv").read_text() == \
        (tmp_path / "drawn" / "trace.csv").read_text()

    path = write(tmp_path, "s.toml", '[sweep]\nbase = "base.toml"\nseeds = [0, 1]\n')
    assert spec.read(path).figures is True
    assert cli.main(["sweep", "s.toml", "--no-figures"]) == 0
    folders = [tmp_path / "sweeps" / "s" / r["folder"] for r in rows("sweeps/s")]
    assert len(folders) == 2 and not any((f / name).exists() for f in folders for name in FIGURES)
    write(tmp_path, "s.toml", '[sweep]\nbase = "base.toml"\nseeds = [0, 1]\nfigures = false\n')
    assert spec.read(path).figures is False
    assert sweep.run_sweep(path).skipped == 2


# --- MPI -------------------------------------------------------------------------------------

#: a sweep of 2 methods x 2 seeds with an inline base (its text travels to the workers)
MPI_SWEEP = f"""
[sweep]
out = "out"
seeds = [0, 1]
figures = false

[base]
graph = {{ family = "cycle", n = 8 }}
problem = {{ kind = "least_squares", dim = 3, samples_per_node = 20 }}
run = {{ {BASE_RUN.replace(chr(10), ", ")} }}

[[grid]]
"algorithm.name" = ["dadao", "dgd"]
"""


@pytest.mark.skipif(mpi_cases.mpi_missing() is not None, reason=str(mpi_cases.mpi_missing()))
def test_an_mpi_sweep_runs_every_cell_on_the_worker_into_the_same_folders(tmp_path,
                                                                          monkeypatch):
    """`mpiexec -n 2 dadao sweep S --executor mpi`: rank 0 hands out the 4 cells, rank 1 runs
    them; each is the run directory the local executor would make (a second sweep in this
    process finds them all done), with the trace of the same cell run here, to the bit."""
    import subprocess
    import sys

    monkeypatch.chdir(tmp_path)
    path = write(tmp_path, "s.toml", MPI_SWEEP)
    proc = subprocess.run([mpi_cases.mpiexec_path(), "-n", "2", sys.executable, "-m", "dadao",
                           "sweep", "s.toml", "--executor", "mpi"], capture_output=True,
                          text=True, timeout=240, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.splitlines()  # rank 0 alone speaks
    assert lines[0] == "s.toml: 4 cells in out, 1 MPI worker process"
    assert len(lines) == 6 and lines[-1].startswith("4 cells: 4 ran, 0 skipped")
    table = rows(tmp_path / "out")
    assert [r["status"] for r in table] == ["completed"] * 4
    again = sweep.run_sweep(path)
    assert (again.code, again.ran, again.skipped) == (0, 0, 4)

    found = spec.read(path)
    with cells.base_file(found) as base:
        cell = cells.expand(found, base)[1]
        here = runs.run_config(base, sets=cell.sets, seed=cell.run_seed,
                               out=str(tmp_path / "here"), figures=False)
    assert here.code == 0
    assert (tmp_path / "here" / "trace.csv").read_text() == \
        (tmp_path / "out" / cell.key / "trace.csv").read_text()
    meta = json.loads((tmp_path / "out" / cell.key / "meta.json").read_text())
    assert meta["config_hash"] == here.meta["config_hash"] and meta["status"] == "completed"


def test_the_mpi_executor_refuses_a_job_of_one_process_and_cells_of_the_mpi_engine(
        tmp_path, monkeypatch):
    """Checked without MPI: a job of one process has no worker; a cell of run.engine = "mpi"
    would join the whole job's collectives from one worker; --jobs has no meaning there."""
    from dadao.sweeps import mpi

    class OneProcess:
        def Get_size(self):
            return 1

    monkeypatch.setattr(mpi, "_world", lambda: OneProcess())
    path = write(tmp_path, "s.toml", MPI_SWEEP)
    with pytest.raises(UsageError, match="needs an MPI job of 2 processes or more"):
        sweep.run_sweep(path, executor="mpi")
    with pytest.raises(UsageError, match="leave --jobs out"):
        sweep.run_sweep(path, jobs=2, executor="mpi")
    with pytest.raises(UsageError, match="--executor"):
        sweep.run_sweep(path, executor="slurm")
    write(tmp_path, "s.toml", MPI_SWEEP.replace("run = { ", 'run = { engine = "mpi", '))
    found = spec.read(path)
    with cells.base_file(found) as base:
        made = cells.expand(found, base)
    assert {c.engine for c in made} == {"mpi"}
    with pytest.raises(ConfigError, match="run.engine = 'mpi' runs one simulation across"):
        mpi.check_cells(found, made)

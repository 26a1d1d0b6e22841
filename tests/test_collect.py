"""`dadao collect`: one table of real run directories, read back with the csv module alone.

Six tiny runs are made once for the module (DADAO and DGD on the 8-cycle, a quadratic of
kappa 1, two seeds each; a DADAO run too short to reach 1e-8; a run of the timing engine),
in folders of different depths. Every number of the table is checked against the run's own
meta.json and trace.csv (``dadao.rundir.read_run``), exactly: floats are written as repr.
"""

from __future__ import annotations

import csv
import json
import math
import os
import shutil

import pytest

from dadao import cli, collect, runs
from dadao.rundir import read_run
from dadao.trace import events_of
from helpers import SMALL_CONFIG

#: the small 8-cycle of the helpers, as a quadratic of kappa 1, 120 time units, set on every run
COMMON = ['problem.kind="quadratic"', "problem.dim=3", "problem.kappa=1.0", "run.t_max=120.0",
          "run.log_every=1.0"]
#: run folder (under the module's runs/) -> the --set texts of its run (after COMMON)
RUNS = {
    "sweep/a/dadao-0": ['algorithm.name="dadao"', "run.seed=0"],
    "sweep/a/dadao-1": ['algorithm.name="dadao"', "run.seed=1"],
    "sweep/b/dgd-0": ['algorithm.name="dgd"', "run.seed=0"],
    "sweep/b/dgd-1": ['algorithm.name="dgd"', "run.seed=1"],
    # DADAO reaches 1e-4 near t = 50 and 1e-8 near t = 100 on this problem
    "short": ["run.t_max=60.0"],
    "timing": ['run.engine="timing"', "run.t_max=60.0"],
}
LEVELS = ("1e-4", "1e-6", "1e-8")


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    """A folder holding runs/ with the run directories of ``RUNS``."""
    root = tmp_path_factory.mktemp("collect")
    (root / "c.toml").write_text(SMALL_CONFIG)
    for name, sets in RUNS.items():
        result = runs.run_config(str(root / "c.toml"), sets=COMMON + sets,
                                 out=str(root / "runs" / name), figures=False)
        assert result.code == 0, name
    return root


def dadao(argv, cwd, monkeypatch, capsys):
    """(exit code, stdout, stderr) of `dadao collect ARGV` in the folder ``cwd``."""
    monkeypatch.chdir(cwd)
    code = cli.main(["collect", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def read_table(path) -> tuple[list[str], list[dict]]:
    """(header, rows as {column: cell text}) of a CSV, with the csv module only."""
    with open(path, newline="") as fh:
        rows = list(csv.reader(fh))
    header = rows[0]
    assert all(len(r) == len(header) for r in rows[1:])
    return header, [dict(zip(header, r)) for r in rows[1:]]


@pytest.fixture(scope="module")
def table(root):
    """(header, rows) of `dadao collect runs -o results.csv` run in ``root``."""
    cwd = os.getcwd()
    os.chdir(root)
    try:
        assert cli.main(["collect", "runs", "-o", "results.csv"]) == 0
    finally:
        os.chdir(cwd)
    return read_table(root / "results.csv")


def copy_run(root, name, dest) -> str:
    """A copy of the run ``name`` at ``dest`` (a test may break it)."""
    shutil.copytree(root / "runs" / name, dest)
    return str(dest)


def test_one_row_per_run_sorted_by_path(table):
    header, rows = table
    assert [r["path"] for r in rows] == sorted(os.path.join("runs", n) for n in RUNS)
    assert header[0] == "path"
    assert len(set(header)) == len(header)


def test_config_keys_are_dotted_columns_in_section_order(root, table):
    header, rows = table
    by_path = {r["path"]: r for r in rows}
    config_columns = [c for c in header if c.split(".")[0] in
                      ("graph", "problem", "algorithm", "rates", "run", "timing")]
    assert header[1:1 + len(config_columns)] == config_columns  # right after path
    sections = [c.split(".")[0] for c in config_columns]
    assert sections == sorted(sections, key=["graph", "problem", "algorithm", "rates", "run",
                                             "timing"].index)
    for section in set(sections):  # keys sorted inside a section
        keys = [c for c in config_columns if c.split(".")[0] == section]
        assert keys == sorted(keys)
    for row in rows:
        assert (row["graph.family"], row["graph.n"], row["problem.kind"]) == ("cycle", "8",
                                                                               "quadratic")
        assert float(row["problem.kappa"]) == 1.0
    assert by_path["runs/sweep/b/dgd-1"]["algorithm.name"] == "dgd"
    assert by_path["runs/sweep/b/dgd-1"]["run.seed"] == "1"
    assert by_path["runs/sweep/a/dadao-0"]["run.seed"] == "0"
    assert by_path["runs/short"]["run.t_max"] == "60.0"
    assert by_path["runs/short"]["run.engine"] == "inprocess"
    # [timing] only in the timing run's config: empty elsewhere
    assert by_path["runs/timing"]["run.engine"] == "timing"
    assert by_path["runs/timing"]["timing.compute_law"] == "exponential"
    assert by_path["runs/short"]["timing.compute_law"] == ""


def test_counts_times_and_metrics_are_those_of_the_run(root, table):
    header, rows = table
    reached = not_reached = 0
    for row in rows:
        trace, meta = read_run(str(root / row["path"]))
        run = meta["run"]
        assert row["status"] == meta["status"] == "completed"
        assert row["events"] == str(events_of(meta))
        assert row["gradients"] == str(run["gradients"])
        assert row["communications"] == str(run["communications"])
        assert float(row["wall_time_s"]) == run["wall_time_s"]
        compile_s = run["compile_time_s"]
        assert row["compile_time_s"] == ("" if compile_s is None else repr(compile_s))
        for level in LEVELS:
            for axis in ("gradients", "communications", "time"):
                value = trace.first_time_below("dist_to_opt", float(level), x=axis)
                cell = row[f"{axis}_to_{level}"]
                if math.isinf(value):
                    assert cell == ""
                    not_reached += 1
                else:
                    assert float(cell) == value  # exactly: written as repr
                    reached += 1
        for metric in ("dist_to_opt", "suboptimality", "consensus"):
            assert float(row[f"final_{metric}"]) == trace[metric][-1]
        for key in ("config_hash", "host", "started", "finished"):
            assert row[key] == meta[key]
        for key, value in meta["versions"].items():
            assert row[f"versions.{key}"] == value
    assert reached and not_reached
    fixed = header[header.index("status"):]
    assert fixed[:6] == ["status", "events", "wall_time_s", "compile_time_s", "gradients",
                         "communications"]
    assert header.index("versions.python") < header.index("versions.numpy")


def test_a_run_too_short_for_1e8_has_empty_cells(table):
    short = {r["path"]: r for r in table[1]}["runs/short"]
    assert short["time_to_1e-4"] != "" and float(short["time_to_1e-4"]) <= 60.0
    assert short["time_to_1e-8"] == short["gradients_to_1e-8"] == ""


def test_the_timing_run_has_wall_time_columns(root, table):
    header, rows = table
    for level in LEVELS:
        assert f"wall_time_to_{level}" in header
    for row in rows:
        trace, _ = read_run(str(root / row["path"]))
        if row["path"] != "runs/timing":
            assert row["wall_time_to_1e-4"] == ""
            continue
        assert "wall_time" in trace.columns
        assert float(row["wall_time_to_1e-4"]) == trace.first_time_below(
            "dist_to_opt", 1e-4, x="wall_time")


def test_no_wall_time_columns_without_a_timing_run(root, tmp_path, monkeypatch, capsys):
    code, out, err = dadao([str(root / "runs" / "sweep"), "-o", "t.csv"], tmp_path,
                           monkeypatch, capsys)
    assert code == 0 and err == ""
    header, rows = read_table(tmp_path / "t.csv")
    assert len(rows) == 4
    assert not [c for c in header if c.startswith("wall_time_to_") or c.startswith("timing.")]
    assert "time_to_1e-4" in header


def test_a_run_directory_given_twice_or_itself_is_one_row(root, monkeypatch, capsys):
    code, out, err = dadao(["runs/sweep/a/dadao-0", "runs/sweep", "runs/sweep/a/dadao-0/",
                            "-o", str(root / "twice.csv")], root, monkeypatch, capsys)
    assert code == 0, err
    rows = read_table(root / "twice.csv")[1]
    assert [r["path"] for r in rows] == ["runs/sweep/a/dadao-0", "runs/sweep/a/dadao-1",
                                         "runs/sweep/b/dgd-0", "runs/sweep/b/dgd-1"]
    assert out == f"{root / 'twice.csv'}: 4 run(s), {len(read_table(root / 'twice.csv')[0])} " \
                  f"columns\n"


def test_unfinished_runs_are_rows_with_their_status(root, tmp_path, monkeypatch, capsys):
    copy_run(root, "short", tmp_path / "d" / "diverged")
    meta_path = tmp_path / "d" / "diverged" / "meta.json"
    meta = json.loads(meta_path.read_text())
    meta_path.write_text(json.dumps({**meta, "status": "diverged", "error": "grew"}))
    copy_run(root, "short", tmp_path / "d" / "running")
    meta_path = tmp_path / "d" / "running" / "meta.json"
    meta_path.write_text(json.dumps({**meta, "status": "running", "run": None,
                                     "finished": None}))
    code, out, err = dadao(["d", "-o", "u.csv"], tmp_path, monkeypatch, capsys)
    assert code == 0 and err == ""
    rows = {r["path"]: r for r in read_table(tmp_path / "u.csv")[1]}
    assert rows["d/diverged"]["status"] == "diverged"
    assert rows["d/diverged"]["events"] == str(events_of(meta))
    running = rows["d/running"]
    assert running["status"] == "running"
    # no run record yet: what it measured is empty, the trace so far is not
    assert running["events"] == running["wall_time_s"] == running["finished"] == ""
    trace, _ = read_run(str(tmp_path / "d" / "running"))
    assert float(running["gradients"]) == trace["gradients"][-1]
    assert running["time_to_1e-4"] == rows["d/diverged"]["time_to_1e-4"] != ""


def test_a_broken_folder_is_one_warning_and_skipped(root, tmp_path, monkeypatch, capsys):
    copy_run(root, "short", tmp_path / "s" / "good")
    copy_run(root, "short", tmp_path / "s" / "bad-json")
    (tmp_path / "s" / "bad-json" / "meta.json").write_text('{"status": ')
    copy_run(root, "short", tmp_path / "s" / "no-trace")
    os.unlink(tmp_path / "s" / "no-trace" / "trace.csv")
    copy_run(root, "short", tmp_path / "s" / "no-config")
    os.unlink(tmp_path / "s" / "no-config" / "config.toml")
    code, out, err = dadao(["s", "-o", "b.csv"], tmp_path, monkeypatch, capsys)
    assert code == 0
    lines = err.splitlines()
    assert len(lines) == 3, err
    assert all(line.startswith("dadao collect: warning: ") for line in lines)
    assert "bad-json" in lines[0] and "meta.json" in lines[0]
    assert "no-config" in lines[1] and "config.toml" in lines[1]
    assert "no-trace" in lines[2] and "trace.csv" in lines[2]
    assert "Traceback" not in err
    assert [r["path"] for r in read_table(tmp_path / "b.csv")[1]] == ["s/good"]


def test_no_run_found_is_exit_2_naming_the_dirs(tmp_path, monkeypatch, capsys):
    (tmp_path / "empty").mkdir()
    (tmp_path / "other" / "deep").mkdir(parents=True)
    (tmp_path / "other" / "notes.txt").write_text("hello\n")
    code, out, err = dadao(["empty", "other"], tmp_path, monkeypatch, capsys)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("dadao collect: error: ")
    assert "empty" in err and "other" in err
    assert not (tmp_path / "results.csv").exists()


def test_json_output_is_the_csv_content(root, table, monkeypatch, capsys):
    code, out, err = dadao(["runs", "-o", "results.json"], root, monkeypatch, capsys)
    assert code == 0, err
    header, rows = table
    records = json.loads((root / "results.json").read_text())
    assert isinstance(records, list) and len(records) == len(rows)
    for record, row in zip(records, rows):
        assert list(record) == header  # every column, in the CSV's order
        assert [collect.cell(v) for v in record.values()] == [row[c] for c in header]
    # numbers are JSON numbers, missing values null
    dgd = next(r for r in records if r["algorithm.name"] == "dgd")
    assert isinstance(dgd["graph.n"], int) and isinstance(dgd["final_dist_to_opt"], float)
    assert dgd["time_to_1e-8"] is None


def test_cells_round_trip():
    assert collect.cell(None) == "" and collect.cell(True) == "true"
    for value in (0.1, 1 / 3, 5e-324, 1e300, -0.0):
        assert float(collect.cell(value)) == value
    assert collect.cell([1, 2.5]) == "[1,2.5]"

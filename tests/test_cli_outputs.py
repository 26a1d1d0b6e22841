"""User mistakes in the outputs and inputs of `dadao rates`, `dadao graph` and `dadao plot`
(issue 12, defects 3-5): one line on stderr naming the flag or file, exit 2, no traceback,
nothing written, and the mistake found before any solve."""

from __future__ import annotations

import json
import os

import pytest

from dadao import cli
from dadao import rates as rates_module
from dadao.graphs import FAMILIES
from dadao.trace import COLUMNS

EDGES_OF_8_CYCLE = "".join(f"{i} {(i + 1) % 8}\n" for i in range(8))


@pytest.fixture
def here(tmp_path, monkeypatch):
    """Run in an empty tmp_path, with a private cache; returns tmp_path."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DADAO_CACHE_DIR", str(tmp_path / ".cache"))
    return tmp_path


@pytest.fixture
def no_solve(monkeypatch):
    """Any call to the optimal-rate solver fails the test: mistakes are found before it."""
    def solve(*args, **kwargs):
        raise AssertionError("the rates were solved before the arguments were checked")

    monkeypatch.setattr(rates_module, "optimal_rates", solve)


def files_under(path) -> list:
    return sorted(str(p.relative_to(path)) for p in path.rglob("*")
                  if ".cache" not in p.parts)


def one_error_line(argv, capsys, folder) -> str:
    """argv fails with exit 2, one stderr line, nothing on stdout, nothing new under folder."""
    before = files_under(folder)
    code = cli.main(argv)
    out, err = capsys.readouterr()
    assert code == 2, (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert out == ""
    assert files_under(folder) == before
    return lines[0]


# --- dadao rates -o ----------------------------------------------------------------------------

def test_rates_output_naming_a_directory_is_refused_before_solving(here, capsys, no_solve):
    (here / "out").mkdir()
    line = one_error_line(["rates", "barbell", "--n", "6", "-o", "out"], capsys, here)
    assert line == "dadao rates: error: -o out: is a directory; give a file name, e.g. " \
                   "out/rates.csv"


def test_rates_output_in_a_missing_folder_is_refused_before_solving(here, capsys, no_solve):
    line = one_error_line(["rates", "barbell", "--n", "6", "-o", "no/such/r.csv"], capsys, here)
    assert line == "dadao rates: error: -o no/such/r.csv: folder does not exist: no/such"


def test_rates_output_under_a_file_is_refused_before_solving(here, capsys, no_solve):
    (here / "plain").write_text("x")
    line = one_error_line(["rates", "barbell", "--n", "6", "-o", "plain/r.csv"], capsys, here)
    assert "-o plain/r.csv: " in line and "plain is not a folder" in line


def test_rates_output_in_an_unwritable_folder_is_refused_before_solving(here, capsys, no_solve,
                                                                       monkeypatch):
    """os.access is the check; it is faked here, since root may write anywhere."""
    (here / "locked").mkdir()
    real_access = os.access

    def access(path, mode, **kw):
        if os.path.abspath(path) == str(here / "locked") and mode & os.W_OK:
            return False
        return real_access(path, mode, **kw)

    monkeypatch.setattr(os, "access", access)
    line = one_error_line(["rates", "barbell", "--n", "6", "-o", "locked/r.csv"], capsys, here)
    assert "-o locked/r.csv: " in line and "is not writable" in line


def test_rates_output_that_cannot_be_written_after_the_solve_is_one_line(here, capsys,
                                                                        monkeypatch):
    """A write that fails anyway (disk full, say) is one line too, not a traceback."""
    def full_disk(path, edges, rates):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(rates_module, "write_rates_csv", full_disk)
    line = one_error_line(["rates", "barbell", "--n", "6", "-o", "r.csv"], capsys, here)
    assert line == "dadao rates: error: -o r.csv: cannot write: No space left on device"


def test_rates_output_is_written_when_it_can_be(here, capsys):
    code = cli.main(["rates", "barbell", "--n", "6", "-o", "r.csv"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert (here / "r.csv").read_text().splitlines()[0] == "u,v,rate"


# --- dadao graph FILE -------------------------------------------------------------------------

def test_a_name_that_is_neither_a_family_nor_a_file(here, capsys, no_solve):
    for command in ("graph", "rates"):
        line = one_error_line([command, "missing.txt"], capsys, here)
        assert "missing.txt: neither a graph family nor an existing file" in line, line
        assert all(f in line for f in FAMILIES), line
        assert "--n" not in line
    line = one_error_line(["graph", "barbel", "--n", "12"], capsys, here)
    assert "did you mean 'barbell'" in line


def test_a_folder_or_a_fifo_as_the_edge_list(here, capsys):
    (here / "edges").mkdir()
    line = one_error_line(["graph", "edges"], capsys, here)
    assert line == "dadao graph: error: edges: is a directory, not an edge-list file"
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs on this platform")
    os.mkfifo(here / "pipe")  # never opened: reading it would block
    line = one_error_line(["graph", "pipe"], capsys, here)
    assert line == "dadao graph: error: pipe: is not a regular file (an edge-list file is " \
                   "one \"u v\" per line)"


def test_n_that_disagrees_with_the_file_is_refused_and_param_always(here, capsys):
    (here / "c8.txt").write_text(EDGES_OF_8_CYCLE)
    line = one_error_line(["graph", "c8.txt", "--n", "99"], capsys, here)
    assert line == "dadao graph: error: --n: 99, but c8.txt has 8 nodes (an edge-list file " \
                   "sets the number of nodes: leave --n out)"
    line = one_error_line(["graph", "c8.txt", "--param", "p=0.5"], capsys, here)
    assert line == "dadao graph: error: --param: family parameters do not apply to an " \
                   "edge-list file (c8.txt)"
    code = cli.main(["graph", "c8.txt", "--n", "8", "--json"])  # agreeing: accepted
    out, err = capsys.readouterr()
    assert code == 0 and err == ""
    assert json.loads(out)["n"] == 8


def test_family_arguments_are_named_by_their_flag(here, capsys):
    for argv, start in ((["--n", "0"], "--n: n must be >= 2"),
                        (["--n", "8", "--seed", "-1"], "--seed: must be a non-negative"),
                        (["--n", "8", "--param", "=3"], "--param: expected KEY=VALUE")):
        line = one_error_line(["graph", "star", *argv], capsys, here)
        assert line.startswith(f"dadao graph: error: {start}"), line


# --- dadao plot -----------------------------------------------------------------------------

def fake_run(folder, rows) -> str:
    """A run directory with this many rows of trace.csv (meta.json as `dadao run` writes it)."""
    folder.mkdir()
    (folder / "meta.json").write_text(json.dumps({
        "status": "completed", "error": None, "seed": 0, "algorithm": {"name": "dadao"},
        "graph": {"family": "cycle", "n": 8}, "problem": {}}))
    lines = [",".join(COLUMNS)]
    for k in range(rows):
        values = {"time": k, "gradients": 8 * k, "communications": 4 * k,
                  "dist_to_opt": 2.0 ** -k, "suboptimality": 2.0 ** -k, "consensus": 0.0}
        lines.append(",".join(repr(float(values[c])) for c in COLUMNS))
    (folder / "trace.csv").write_text("\n".join(lines) + "\n")
    return str(folder.name)


def test_plot_output_naming_a_directory(here, capsys):
    run = fake_run(here / "a", rows=5)
    (here / "figs").mkdir()
    (here / "figs.png").mkdir()
    for out in ("figs", "figs.png"):
        line = one_error_line(["plot", run, "-o", out], capsys, here)
        assert line.startswith(f"dadao plot: error: -o {out}: is a directory; give a file "
                               f"name"), line


def test_plot_of_a_run_without_rows_writes_nothing(here, capsys):
    good, empty = fake_run(here / "good", rows=5), fake_run(here / "empty", rows=0)
    line = one_error_line(["plot", good, empty, "-o", "f.png"], capsys, here)
    assert line == "dadao plot: error: empty: trace.csv has no rows: nothing to plot"
    (here / "empty" / "trace.csv").write_text("")  # not even a header
    line = one_error_line(["plot", good, empty, "-o", "f.png"], capsys, here)
    assert line.startswith("dadao plot: error: empty") and "trace.csv" in line


def test_plot_of_good_runs_still_writes_the_figure(here, capsys):
    run = fake_run(here / "a", rows=5)
    code = cli.main(["plot", run, "-o", "f.svg", "--x", "time"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert (here / "f.svg").read_text().lstrip().startswith("<?xml")

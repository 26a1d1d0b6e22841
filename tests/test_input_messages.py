"""Inputs that used to crash, mislead or be silently changed (issue 12): each is refused in one
line naming the file or the key (exit 2, nothing written), accepted with one DadaoWarning line,
or, for valid inputs, run. Each test reproduced its defect before the fix."""

from __future__ import annotations

import json
import math
import os
import re
import signal
import warnings

import numpy as np
import pytest

from dadao import cli, graphs, problems, rates
from dadao.errors import DadaoWarning, GraphError, OptionError, ProblemError, RateError
from helpers import TINY_CONFIG, listing

CYCLE = TINY_CONFIG

TRIANGLE = "0 1\n1 2\n2 0\n"
SVM = "".join(f"{1 if i % 2 else -1} 1:{0.1 * i + 0.3:.2f} 2:{1.0 - 0.05 * i:.2f}\n"
              for i in range(16))


@pytest.fixture
def here(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def refused(argv, capsys, root) -> str:
    """cli.main(argv) in ``root``: exit 2, exactly one stderr line, nothing written; the line."""
    before = listing(root)
    old = signal.signal(signal.SIGALRM, lambda *_: pytest.fail("hung (a FIFO opened?)"))
    signal.alarm(60)  # a hang detector (a FIFO opened), not a speed test
    try:
        code = cli.main(list(argv))
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    out, err = capsys.readouterr()
    lines = err.splitlines()
    assert code == 2, (out, err)
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith(f"dadao {argv[0]}: error: "), err
    assert listing(root) == before
    return lines[0]


def config_with(root, text, **files) -> str:
    for name, content in files.items():
        path = root / name
        if content == "<dir>":
            path.mkdir()
        elif content == "<fifo>":
            os.mkfifo(path)
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    (root / "c.toml").write_text(text)
    return "c.toml"


# --- 1. synchronous methods on a time-varying graph ---------------------------------------

TIME_VARYING = """
[graph]
family = "random_geometric"
n = 8
time_varying = 3
seed = 0
[problem]
kind = "least_squares"
dim = 3
samples_per_node = 20
[run]
t_max = 3.0
log_every = 1.0
"""


@pytest.mark.parametrize("name", ["dgd", "adom_plus", "adom_plus_mc", "diging"])
def test_synchronous_methods_dry_run_and_run_on_a_time_varying_graph(name, here, capsys):
    path = config_with(here, TIME_VARYING)
    assert cli.main(["run", path, "--set", f"algorithm.name={name}", "--dry-run"]) == 0
    assert re.search(r"graphs +3\n", capsys.readouterr().out)
    out = str(here / "out")
    assert cli.main(["run", path, "--set", f"algorithm.name={name}", "--out", out]) == 0
    assert "completed" in capsys.readouterr().out
    meta = json.loads((here / "out" / "meta.json").read_text())
    assert meta["status"] == "completed" and meta["graph"]["graphs"] == 3


# --- 2. MSDA at kappa chi = 1 -----------------------------------------------------------------

def test_msda_on_the_complete_graph_averages_in_one_iteration():
    import dadao

    G = graphs.make_graph("complete", 8)
    problem = problems.averaging(8, 3, seed=0)
    trace = dadao.simulate(G, problem, algorithm="msda", t_max=3.0, log_every=1.0)
    assert trace.status == "completed"
    assert trace.meta["theory"]["rate"] == math.inf  # the limit of -ln(1 - 1/sqrt(q)), q -> 1
    d = trace["dist_to_opt"]
    assert d[0] > 0 and d[1] <= 1e-12 * d[0]  # exact averaging: x* after one iteration


def test_msda_averaging_on_the_complete_graph_dry_runs(here, capsys):
    path = config_with(here, CYCLE)
    assert cli.main(["run", path, "--set", "graph.family=complete", "--set",
                     "problem.kind=averaging", "--set", "algorithm.name=msda", "--dry-run"]) == 0
    assert "inf" in capsys.readouterr().out


# --- 4. misleading messages -----------------------------------------------------------------

def test_a_misspelt_selector_is_named_with_a_suggestion(here, capsys):
    path = config_with(here, CYCLE.replace("family =", "famly ="))
    line = refused(["run", path, "--dry-run"], capsys, here)
    assert "graph.famly" in line and "did you mean 'family'" in line
    assert "required key is missing" not in line


@pytest.mark.parametrize("kind", ["<dir>", "<fifo>"])
def test_a_folder_or_a_pipe_as_the_config_is_named_as_such(kind, here, capsys):
    config_with(here, CYCLE, **{"given.toml": kind})
    line = refused(["run", "given.toml", "--dry-run"], capsys, here)
    assert "given.toml" in line and "not found" not in line
    assert ("is a directory" if kind == "<dir>" else "is not a regular file") in line


FILE_KEYS = {
    "graph.path": (CYCLE.replace('family = "cycle"\nn = 8', 'family = "file"\npath = "x"')),
    "rates.path": CYCLE + '[rates]\nkind = "explicit"\npath = "x"\n',
    "problem.path": CYCLE.replace('kind = "least_squares"\ndim = 3\nsamples_per_node = 20',
                                  'kind = "libsvm"\npath = "x"'),
}


@pytest.mark.parametrize("key", list(FILE_KEYS))
@pytest.mark.parametrize("kind", ["<dir>", "<fifo>"])
def test_a_folder_or_a_pipe_as_a_data_file_is_named_as_such(key, kind, here, capsys):
    path = config_with(here, FILE_KEYS[key], x=kind)
    line = refused(["run", path, "--dry-run"], capsys, here)
    assert f"c.toml: {key}: " in line and "not found" not in line
    assert ("is a directory" if kind == "<dir>" else "is not a regular file") in line


def test_the_loaders_share_the_file_check(tmp_path):
    """The library's readers (not only the config) say what the path is."""
    folder, pipe = tmp_path / "d", tmp_path / "p"
    folder.mkdir()
    os.mkfifo(pipe)
    edges = graphs.edge_array(graphs.make_graph("cycle", 3))
    for read, error in ((graphs.load_edge_list, GraphError),
                        (lambda p: rates.load_rates_csv(p, edges), RateError),
                        (problems.read_libsvm, ProblemError)):
        with pytest.raises(error, match="is a directory"):
            read(folder)
        with pytest.raises(error, match="is not a regular file"):
            read(pipe)


BOM = b"\xef\xbb\xbf"


def test_a_config_with_a_byte_order_mark_is_read(here, capsys):
    (here / "c.toml").write_bytes(BOM + CYCLE.encode())
    assert cli.main(["run", "c.toml", "--dry-run"]) == 0
    assert 'family = "cycle"' in capsys.readouterr().out


def test_data_files_with_a_byte_order_mark_are_read(tmp_path):
    (tmp_path / "e.txt").write_bytes(BOM + TRIANGLE.encode())
    G = graphs.load_edge_list(tmp_path / "e.txt")
    assert (G.number_of_nodes(), G.number_of_edges()) == (3, 3)
    edges = graphs.edge_array(G)
    (tmp_path / "r.csv").write_bytes(BOM + b"u,v,rate\n0,1,1.0\n0,2,2.0\n1,2,3.0\n")
    np.testing.assert_array_equal(rates.load_rates_csv(tmp_path / "r.csv", edges), [1, 2, 3])
    (tmp_path / "d.svm").write_bytes(BOM + SVM.encode())
    X, y, _ = problems.read_libsvm(tmp_path / "d.svm")
    assert X.shape == (16, 2) and y[0] == -1


def test_an_unknown_key_of_a_set_is_named_by_the_set(here, capsys):
    path = config_with(here, CYCLE)
    line = refused(["run", path, "--set", "graph.bogus=1", "--dry-run"], capsys, here)
    assert "--set graph.bogus: unknown key" in line and "c.toml" not in line


def test_a_bad_value_of_a_set_names_the_key_and_the_set(here, capsys):
    path = config_with(here, CYCLE)
    line = refused(["run", path, "--set", "run.t_max=-1", "--dry-run"], capsys, here)
    assert "c.toml: run.t_max: must be > 0" in line and "(given by --set run.t_max=-1)" in line


@pytest.mark.parametrize("kappa", ["1e12", "1e9"])
def test_an_ill_conditioned_quadratic_advises_only_quadratic_keys(kappa, here, capsys):
    path = config_with(here, CYCLE.replace('kind = "least_squares"\ndim = 3\nsamples_per_node '
                                           '= 20', f'kind = "quadratic"\ndim = 4\n'
                                                   f'kappa = {kappa}'))
    line = refused(["run", path, "--dry-run"], capsys, here)
    assert "c.toml: problem.kappa: " in line and "lower problem.kappa" in line
    assert "reg" not in line and "samples" not in line and "x_star" not in line


def test_libsvm_names_the_number_of_nodes_by_its_key(here, capsys):
    path = config_with(here, FILE_KEYS["problem.path"].replace("n = 8", "n = 20"), x=SVM)
    line = refused(["run", path, "--dry-run"], capsys, here)
    assert "c.toml: graph.n: " in line and "16 samples, fewer than n = 20" in line
    assert "problem.n" not in line


# --- 5. silently accepted ---------------------------------------------------------------------

@pytest.mark.parametrize("name,key,value", [
    ("dadao", "gamma", "-1.0"), ("dadao", "gamma", "0.0"), ("dadao", "beta_t", "-2.0"),
    ("dgd", "alpha", "-0.1"), ("msda", "eta", "0.0"), ("adom_plus", "theta", "-1.0"),
])
def test_non_positive_step_constants_are_refused(name, key, value, here, capsys):
    path = config_with(here, CYCLE + f'[algorithm]\nname = "{name}"\n{key} = {value}\n')
    line = refused(["run", path, "--dry-run"], capsys, here)
    assert f"c.toml: algorithm.{key}: must be > 0" in line


def test_a_momentum_of_zero_is_accepted():
    G = graphs.make_graph("cycle", 8)
    problem = problems.least_squares(8, 3, samples_per_node=20, seed=0)
    from dadao.setup import prepare

    assert prepare(G, problem, algorithm="msda", t_max=1.0, options={"mom": 0.0}).constants.mom == 0
    with pytest.raises(OptionError, match=r"^algorithm\.mom: must be >= 0"):
        prepare(G, problem, algorithm="msda", t_max=1.0, options={"mom": -0.5})


@pytest.mark.parametrize("p", ["0.0", "1.5", "-0.1"])
def test_an_edge_probability_outside_0_1_is_refused(p, here, capsys):
    path = config_with(here, CYCLE.replace('"cycle"', f'"erdos_renyi"\np = {p}'))
    line = refused(["run", path, "--dry-run"], capsys, here)
    assert "c.toml: graph.p: " in line
    if p == "0.0":  # why 0 is not a probability of this family
        assert "(0, 1]" in line and "random tree" in line


def test_the_library_refuses_p_0_and_warns_below_the_connectivity_threshold():
    with pytest.raises(GraphError, match=r"^p: .*\(0, 1\].*random tree") as info:
        graphs.make_graph("erdos_renyi", 20, p=0.0, seed=0)
    assert info.value.field == "p"
    with pytest.warns(DadaoWarning, match="below ln\\(n\\)/n"):
        G = graphs.make_graph("erdos_renyi", 20, p=0.01, seed=0)
    assert G.graph["edges_added_to_connect"] > 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the default p is above the threshold: no warning
        graphs.make_graph("erdos_renyi", 20, seed=0)
    with pytest.raises(GraphError, match="radius must be a finite number > 0"):
        graphs.make_graph("random_geometric", 20, radius=math.inf)


@pytest.mark.parametrize("value", ["1", "true", "1.0"])
def test_time_varying_takes_a_count_of_graphs_not_a_switch(value, here, capsys):
    path = config_with(here, CYCLE.replace('"cycle"', '"random_geometric"'))
    line = refused(["run", path, "--set", f"graph.time_varying={value}", "--dry-run"], capsys,
                   here)
    assert "graph.time_varying: " in line


def test_a_boolean_choice_does_not_take_an_integer(tmp_path):
    (tmp_path / "d.svm").write_text(SVM)
    with pytest.raises(ProblemError, match="zero_based"):
        problems.libsvm(tmp_path / "d.svm", 2, zero_based=1)
    assert problems.libsvm(tmp_path / "d.svm", 2, zero_based=False).n == 2


def test_self_loops_and_repeated_edges_of_an_edge_list_are_reported_once(tmp_path):
    path = tmp_path / "e.txt"
    path.write_text("0 1\n1 1\n1 2\n2 1\n2 0\n0 0\n0 1 # again\n")
    with pytest.warns(DadaoWarning) as record:
        G = graphs.load_edge_list(path)
    assert (G.number_of_nodes(), G.number_of_edges()) == (3, 3)
    assert len(record) == 1
    text = str(record[0].message)
    assert "2 self-loop(s) dropped (first at lines 2, 6)" in text
    assert "2 repeated edge(s) kept once (first at lines 4, 7)" in text
    path.write_text(TRIANGLE)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        graphs.load_edge_list(path)


def test_an_edge_list_warning_is_one_line_of_the_command(tmp_path, capsys):
    path = tmp_path / "e.txt"
    path.write_text(TRIANGLE + "2 2\n")
    assert cli.main(["graph", str(path), "--json"]) == 0
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("dadao graph: warning: ") and "line 4" in err[0]


def test_force_must_be_a_boolean():
    from dadao.errors import RunArgumentError
    from dadao.setup import prepare

    G = graphs.make_graph("cycle", 8)
    problem = problems.least_squares(8, 3, samples_per_node=20, seed=0)
    with pytest.raises(RunArgumentError, match=r"^force: must be True or False, got 'no'"):
        prepare(G, problem, t_max=1.0, force="no")  # bool("no") would be True
    assert prepare(G, problem, t_max=1.0, force=np.bool_(False)).force is False

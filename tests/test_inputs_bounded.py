"""Inputs too large for any machine, or for the time a run can take, are refused in one line
before anything is allocated or run, saying how much they need and how much there is
(``dadao.memory``, ``dadao.run_arguments.check_event_count``). The sizes are absurd anywhere
(hundreds of GiB and more), or the available memory is patched: no test depends on the
machine's memory."""

from __future__ import annotations

import math
import os
import re
import resource

import pytest

from dadao import cli, graphs, memory, problems
from dadao.errors import DadaoWarning, GraphError, ProblemError, RunArgumentError
from dadao.run_arguments import MAX_EVENTS, WARN_EVENTS, check_event_count
from helpers import TINY_CONFIG

CYCLE = TINY_CONFIG

#: every memory refusal says this
NEEDS = re.compile(r"needs about [0-9.e+]+ [KMGT]?i?B(ytes)? of memory, but [0-9.e+]+ "
                   r"[KMGT]?i?B(ytes)? is available")


def listing(root) -> list:
    return sorted(os.path.relpath(os.path.join(d, f), root)
                  for d, dirs, files in os.walk(root) for f in dirs + files)


@pytest.fixture
def here(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "c.toml").write_text(CYCLE)
    return tmp_path


def refused(argv, capsys, root) -> str:
    before = listing(root)
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    lines = err.splitlines()
    assert code == 2 and len(lines) == 1 and "Traceback" not in err, (out, err)
    assert not out.strip() and listing(root) == before
    return lines[0]


# --- memory -------------------------------------------------------------------------------------

@pytest.mark.parametrize("sets,key", [
    (["graph.n=1000000000"], "graph.n"),
    (["graph.family=complete", "graph.n=300000"], "graph.n"),
    (["graph.n=9223372036854775808"], "graph.n"),  # beyond int64
    (["graph.family=random_geometric", "graph.n=100000", "graph.time_varying=100000"],
     "graph.time_varying"),
    (["problem.samples_per_node=2000000000"], "problem.samples_per_node"),
    (["problem.samples_per_node=9223372036854775808"], "problem.samples_per_node"),
    (["problem.kind=quadratic", "problem.dim=1000000"], "problem.dim"),
    (["problem.kind=averaging", "problem.dim=1000000"], "problem.dim"),
    (["problem.kind=logistic", "problem.samples_per_node=2000000000"],
     "problem.samples_per_node"),
])
def test_what_cannot_fit_is_refused_before_it_is_built(sets, key, here, capsys):
    argv = ["run", "c.toml", "--dry-run"] + [a for s in sets for a in ("--set", s)]
    line = refused(argv, capsys, here)
    assert f"c.toml: {key}: " in line and NEEDS.search(line), line


@pytest.mark.parametrize("family,n", [("cycle", 10 ** 9), ("complete", 300_000)])
def test_the_graph_command_refuses_a_graph_that_cannot_fit(family, n, here, capsys):
    line = refused(["graph", family, "--n", str(n)], capsys, here)
    assert NEEDS.search(line) and f"{n:,}" in line


def test_the_library_refuses_before_allocating():
    with pytest.raises(GraphError, match=NEEDS) as info:
        graphs.make_graph("path", 10 ** 10)
    assert info.value.field == "n"
    with pytest.raises(GraphError, match=NEEDS) as info:
        graphs.graph_sequence("random_geometric", 10 ** 5, K=10 ** 6, seed=0)
    assert info.value.field == "K"  # one graph fits, a million do not
    with pytest.raises(ProblemError, match=NEEDS):
        problems.quadratic(16, 10 ** 6, seed=0)
    with pytest.raises(ProblemError, match=NEEDS):
        problems.least_squares(4, 2, samples_per_node=2 ** 63, seed=0)


def test_the_limit_is_the_memory_available(monkeypatch, here, capsys):
    """A config that fits is refused once the available memory is smaller than its need."""
    # a run holds its graph as edge arrays (dadao.graphs.EdgeGraph), not as a networkx graph
    need = memory.edge_graph_bytes(20_000, memory.graph_edges("cycle", 20_000))
    monkeypatch.setattr(memory, "available_bytes", lambda: need / 2)
    line = refused(["run", "c.toml", "--dry-run", "--set", "graph.n=20000"], capsys, here)
    assert "graph.n" in line and memory.describe_bytes(need / 2) in line
    monkeypatch.setattr(memory, "available_bytes", lambda: math.inf)
    assert cli.main(["run", "c.toml", "--dry-run", "--set", "graph.n=200"]) == 0


def test_the_address_space_limit_counts(monkeypatch):
    """RLIMIT_AS (ulimit -v) caps what is available, less what the process already maps."""
    monkeypatch.setattr(resource, "getrlimit", lambda which: (1 << 40, resource.RLIM_INFINITY))
    assert memory.available_bytes() <= 1 << 40
    monkeypatch.setattr(resource, "getrlimit",
                        lambda which: (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    assert memory.available_bytes() > 0


@pytest.mark.parametrize("family,n,params", [
    ("complete", 30, {}), ("path", 30, {}), ("star", 30, {}), ("cycle", 30, {}),
    ("grid_2d", 30, {"rows": 5, "cols": 6}), ("grid_2d", 36, {}),
    ("torus_2d", 35, {"rows": 5, "cols": 7}), ("hypercube", 32, {}), ("barbell", 30, {}),
])
def test_the_edge_count_formulas_are_exact_for_the_deterministic_families(family, n, params):
    G = graphs.make_graph(family, n, **params)
    assert memory.graph_edges(family, n, **params) == G.number_of_edges()


@pytest.mark.parametrize("family,params", [("erdos_renyi", {"p": 0.2}),
                                           ("random_geometric", {"radius": 0.2})])
def test_the_edge_count_of_the_random_families_is_their_mean(family, params):
    counts = [graphs.make_graph(family, 400, seed=s, **params).number_of_edges()
              for s in range(3)]
    expected = memory.graph_edges(family, 400, **params)
    # random_geometric's F(r) ignores nothing below r = 1: the mean is exact up to sampling
    assert abs(sum(counts) / 3 - expected) < 0.05 * expected


# --- the horizon --------------------------------------------------------------------------------

def test_a_horizon_of_centuries_is_refused_with_its_event_count(here, capsys):
    line = refused(["run", "c.toml", "--dry-run", "--set", "run.t_max=1e15", "--set",
                    'run.log_every="auto"'], capsys, here)
    assert "c.toml: run.t_max: " in line
    events = float(re.search(r"about ([0-9.e+]+) events", line).group(1))
    assert events > MAX_EVENTS and f"{MAX_EVENTS:g}" in line


def test_a_horizon_of_hours_is_run_with_one_warning_line(here, capsys):
    # t_max x (8 gradient clocks + the theory rates' total) lies between the two bounds
    assert cli.main(["run", "c.toml", "--dry-run", "--set", "run.t_max=1e9", "--set",
                     'run.log_every="auto"']) == 0
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("dadao run: warning: t_max = 1e+09 means about")


def test_synchronous_runs_count_their_gradients_and_communications(here, capsys):
    line = refused(["run", "c.toml", "--dry-run", "--set", "algorithm.name=dgd", "--set",
                    "run.t_max=1e12", "--set", 'run.log_every="auto"'], capsys, here)
    assert "run.t_max" in line and "8 gradients" in line


def test_the_event_bounds():
    assert check_event_count(10.0, 5.0, "x") == 50.0
    with pytest.warns(DadaoWarning, match="takes hours"):
        check_event_count(WARN_EVENTS, 2.0, "x")
    with pytest.raises(RunArgumentError, match="at most") as info:
        check_event_count(MAX_EVENTS, 2.0, "x")
    assert info.value.field == "t_max"


def test_an_explicit_memory_budget_bounds_what_is_available(monkeypatch):
    from dadao import memory
    from dadao.errors import UsageError

    monkeypatch.setenv("DADAO_MEMORY_BUDGET", "64G")
    assert memory.available_bytes() < 64 * 2 ** 30  # less what this process already holds
    for text, value in (("1.5G", 1.5 * 2 ** 30), ("512m", 512 * 2 ** 20), ("1000", 1000.0)):
        monkeypatch.setenv("DADAO_MEMORY_BUDGET", text)
        assert memory.memory_budget() == value
    monkeypatch.setenv("DADAO_MEMORY_BUDGET", "1K")  # less than this process already holds
    assert memory.available_bytes() == 0.0
    for bad in ("lots", "-1G", "0", "2X", "inf"):
        monkeypatch.setenv("DADAO_MEMORY_BUDGET", bad)
        with pytest.raises(UsageError, match=r"^DADAO_MEMORY_BUDGET: must be a number of bytes"):
            memory.memory_budget()

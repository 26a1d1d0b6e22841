"""One error vocabulary (dadao.errors): every error a user can cause carries its field and its
file, prints as one line, and has its exit code; the command line prints exactly these."""

from __future__ import annotations

import inspect

import pytest

from dadao import cli, errors


def test_an_error_prints_file_field_and_message_in_one_line():
    e = errors.RunArgumentError("must be > 0, got -1", field="t_max")
    assert str(e) == "t_max: must be > 0, got -1" and e.exit_code == 2
    located = e.located(field="run.t_max", file="c.toml", hint=" (see the docs)")
    assert str(located) == "c.toml: run.t_max: must be > 0, got -1 (see the docs)"
    assert isinstance(located, errors.RunArgumentError) and isinstance(located, ValueError)
    assert (e.field, e.file) == ("t_max", None)  # the original is unchanged
    assert str(errors.ConfigError("config file not found", file="x.toml")) == \
        "x.toml: config file not found"


def test_every_class_is_one_of_the_vocabulary():
    classes = [c for _, c in inspect.getmembers(errors, inspect.isclass)
               if c.__module__ == "dadao.errors"]
    assert len(classes) >= 15
    for c in classes:
        assert issubclass(c, errors.DadaoError) or c is errors.DadaoWarning, c
    assert issubclass(errors.DadaoWarning, UserWarning)
    inputs = [c for c in classes if issubclass(c, errors.InputError)]
    assert all(c.exit_code == 2 and issubclass(c, ValueError) for c in inputs)
    assert errors.SolverError.exit_code == 3 and not issubclass(errors.SolverError, ValueError)
    other = errors.RankError("rank 1: no data", kind="ProblemError", exit_code=3)
    assert other.exit_code == 3 and other.kind == "ProblemError"


def test_the_library_raises_the_vocabulary():
    """The classes modules export are the ones of dadao.errors (no second definition)."""
    from dadao import algorithms, gossip, graphs, problems, rates, rundir
    from dadao.algorithms import base, synchronous
    from dadao.engines import partition

    assert graphs.GraphError is errors.GraphError and rates.RateError is errors.RateError
    assert problems.ProblemError is errors.ProblemError
    assert gossip.NetworkError is errors.NetworkError
    assert algorithms.UnknownAlgorithmError is errors.UnknownAlgorithmError
    assert base.OptionError is errors.OptionError
    assert synchronous.UnsupportedProblemError is errors.UnsupportedProblemError
    assert partition.PartitionError is errors.PartitionError
    assert rundir.RunDirError is errors.RunDirError


@pytest.mark.parametrize("error, code", [
    (errors.GraphError("graph is disconnected", field="graph.path", file="c.toml"), 2),
    (errors.SolverError("scs and clarabel failed; set rates.method = \"first-order\"",
                        field="rates.solver"), 3),
])
def test_the_command_line_prints_exactly_these_with_their_exit_code(monkeypatch, capsys,
                                                                    error, code):
    def fail(args):
        raise error

    monkeypatch.setattr(cli, "cmd_graph", fail)
    assert cli.main(["graph", "star", "--n", "5"]) == code
    err = capsys.readouterr().err
    assert err == f"dadao graph: error: {error}\n"

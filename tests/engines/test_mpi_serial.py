"""The MPI engine's behaviour that needs no MPI: the message when mpi4py is missing, engine
names, and how a launched process finds its rank."""

import sys

import pytest

import helpers

from dadao import api, graphs, problems
from dadao.cli import main
from dadao.engines.mpi import launcher_rank

CONFIG = str(helpers.ROOT / "configs" / "quickstart.toml")


def test_engine_mpi_without_mpi4py_is_one_line_exit_2(monkeypatch, capsys, tmp_path):
    monkeypatch.setitem(sys.modules, "mpi4py", None)  # import mpi4py raises ImportError
    for name in ("PMI_RANK", "OMPI_COMM_WORLD_RANK", "PMIX_RANK", "SLURM_STEP_ID"):
        monkeypatch.delenv(name, raising=False)
    code = main(["run", CONFIG, "--engine", "mpi", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert err[0].startswith("dadao run: error: run.engine: 'mpi' needs mpi4py")
    assert "pip install 'dadao[mpi]'" in err[0]
    assert not (tmp_path / "out").exists()


def test_unknown_engine_and_misplaced_communicator():
    G = graphs.make_graph("cycle", 6)
    P = problems.least_squares(6, 2, samples_per_node=5, seed=0)
    with pytest.raises(ValueError, match="engine: unknown engine 'gpu'"):
        api.simulate(G, P, t_max=1.0, engine="gpu")
    with pytest.raises(ValueError, match="comm: only engines that run across processes"):
        api.simulate(G, P, t_max=1.0, comm=object())


@pytest.mark.parametrize("env,rank", [
    ({}, None),
    ({"PMI_RANK": "3"}, 3),                      # MPICH Hydra
    ({"OMPI_COMM_WORLD_RANK": "1"}, 1),          # Open MPI
    ({"PMIX_RANK": "2"}, 2),                     # PMIx launchers
    ({"SLURM_STEP_ID": "0", "SLURM_PROCID": "5"}, 5),  # srun
    ({"SLURM_PROCID": "0"}, None),               # an sbatch script itself is no MPI launch
])
def test_launcher_rank(monkeypatch, env, rank):
    for name in ("PMI_RANK", "OMPI_COMM_WORLD_RANK", "PMIX_RANK", "SLURM_STEP_ID",
                 "SLURM_PROCID"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert launcher_rank() == rank


class FakeComm:
    """The collectives ``agree_on_error`` uses, answered from a list of the ranks' errors."""

    def __init__(self, rank, texts):
        self.rank, self.size, self.texts = rank, len(texts), texts

    def allgather(self, value):
        assert value == self.texts[self.rank]
        return self.texts


def _text(exc):
    return None if exc is None else (type(exc).__name__, str(exc), 1)


def test_agree_on_error_passes_when_no_rank_failed():
    from dadao.engines.mpi import agree_on_error

    agree_on_error(FakeComm(0, [None, None, None]), None)


def test_agree_on_error_raises_another_ranks_error_on_every_rank():
    """Rank 2 alone could not read its data: ranks 0 and 1 must not wait for it forever."""
    from dadao.engines.mpi import RankError, agree_on_error

    exc = FileNotFoundError("data/part2.svm: no such file")
    texts = [None, None, _text(exc)]
    with pytest.raises(RankError, match="^rank 2: data/part2.svm: no such file$"):
        agree_on_error(FakeComm(0, texts), None)
    with pytest.raises(FileNotFoundError):
        agree_on_error(FakeComm(2, texts), exc)


def test_agree_on_error_keeps_an_error_every_rank_met():
    from dadao.engines.mpi import agree_on_error

    exc = ValueError("graph.n: must be at least 2")
    with pytest.raises(ValueError, match="^graph.n: must be at least 2$"):
        agree_on_error(FakeComm(1, [_text(exc)] * 3), exc)


def test_mpi_check_names_the_fields_that_differ():
    from dadao.engines.mpi import differing

    records = [{"dadao": "0.1.0", "numpy": "2.4.6", "host": "a"},
               {"dadao": "0.1.0", "numpy": "2.3.0", "host": "b"}]
    assert differing(records, ["dadao", "numpy"]) == ["numpy"]

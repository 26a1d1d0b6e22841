"""The MPI engine's behaviour that needs no MPI: the message when mpi4py is missing, engine
names, and how a launched process finds its rank."""

import sys

import pytest

from dadao import api, graphs, problems
from dadao.cli import launcher_rank, main

CONFIG = "configs/quickstart.toml"


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
    with pytest.raises(ValueError, match="comm: only the mpi engine"):
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

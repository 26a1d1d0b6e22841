"""The Setup of a run (dadao.setup): every unusable run argument is refused with one line naming
it, before anything runs; the record it describes has one shape and holds each number once."""

import json

import numpy as np
import pytest

import helpers

import dadao
from dadao import graphs, problems, rates
from dadao.algorithms import UnknownAlgorithmError
from dadao.errors import RunArgumentError

N, D = 8, 3


@pytest.fixture(scope="module")
def setup():
    G = graphs.make_graph("cycle", N)
    edges = graphs.edge_array(G)
    return G, edges, rates.theory_rates(edges, N), problems.least_squares(N, D, seed=0)


@pytest.mark.parametrize("kwargs, message", [
    ({"seed": None}, r"^seed: must be an integer >= 0, got None$"),
    ({"seed": 1.5}, r"^seed: must be an integer >= 0, got 1\.5$"),
    ({"seed": -1}, r"^seed: must be an integer >= 0, got -1$"),
    ({"seed": True}, r"^seed: must be an integer >= 0"),
    ({"t_max": "10"}, r"^t_max: must be a number, got '10'$"),
    ({"t_max": 0.0}, r"^t_max: must be a positive finite time, got 0\.0$"),
    ({"t_max": -3}, r"^t_max: must be a positive finite time"),
    ({"t_max": float("inf")}, r"^t_max: must be a positive finite time"),
    ({"log_every": 0}, r"^log_every: must be a positive finite time"),
    ({"t_max": 1e6, "log_every": 1e-3}, r"^log_every: .* at most 1,000,000 are allowed$"),
    ({"grad_rates": np.ones(3)}, r"^grad_rates: expected 8 rates \(one per node\), got shape \(3,\)$"),
    ({"grad_rates": -np.ones(N)}, r"^grad_rates: rates must be finite and >= 0; entry 0"),
    ({"x0": np.ones(2)}, r"^x0: expected shape \(3,\) or \(8, 3\), got \(2,\)$"),
    ({"x0": np.full(D, np.nan)}, r"^x0: must be finite$"),
])
def test_bad_run_arguments_are_named(setup, kwargs, message):
    _, edges, lam, problem = setup
    args = {"t_max": 5.0, **kwargs}
    with pytest.raises(RunArgumentError, match=message):
        dadao.simulate(edges, problem, rates=lam, **args)


def test_edges_and_edge_rates_must_fit_the_problem(setup):
    _, edges, lam, problem = setup
    with pytest.raises(RunArgumentError, match=r"^edge_rates: expected 8 rates \(one per edge\)"):
        dadao.simulate(edges, problem, rates=lam[:3], t_max=1.0)
    bad = edges.copy()
    bad[0, 1] = N
    with pytest.raises(RunArgumentError, match=r"^edges: node ids must lie in 0\.\.7"):
        dadao.simulate(bad, problem, rates=lam, t_max=1.0)
    with pytest.raises(RunArgumentError, match=r"^edges: expected an \(E, 2\) array"):
        dadao.simulate(edges.ravel(), problem, rates=lam, t_max=1.0)


def test_unknown_algorithm_is_refused_with_a_suggestion(setup):
    G, _, _, problem = setup
    with pytest.raises(UnknownAlgorithmError, match=r"unknown algorithm 'dadoa' \(did you mean 'dadao'\?\)"):
        dadao.simulate(G, problem, algorithm="dadoa", t_max=1.0)


def test_rates_given_to_the_one_call_api(setup):
    G, edges, lam, problem = setup
    with pytest.raises(ValueError, match=r"^rates: unknown choice 'fast'"):
        dadao.simulate(G, problem, rates="fast", t_max=1.0)
    # a numpy scalar total is a total rate; 100 per unit time meets the condition on a cycle
    trace = dadao.simulate(G, problem, rates=np.float32(100.0), t_max=1.0)
    assert trace.meta["rates"]["total"] == pytest.approx(100.0)
    with pytest.raises(rates.RateError, match=r"chi_1 chi_2 <= 1/2 is broken"):
        dadao.simulate(G, problem, rates=0.01, t_max=1.0)


# --- the Setup: one record, the same shape for every method, each number once ---------------

def leaf_paths(record, prefix=""):
    """Every key path of a nested record, down to the leaves (the contents of the method's
    constants and options, of versions and of the engine's detail are the method's and the
    engine's own, and stop here)."""
    out = []
    for key, value in record.items():
        path = prefix + key
        if isinstance(value, dict) and key not in ("constants", "options", "versions",
                                                   "engine_detail", "optimal"):
            out += leaf_paths(value, path + ".")
        else:
            out.append(path)
    return out


def method_problem(name):
    from dadao import problems

    if name in ("randomized_gossip", "accelerated_gossip"):
        return problems.averaging(N, D, seed=0)
    return problems.least_squares(N, D, seed=0)


def test_every_method_describes_its_setup_with_the_same_fields(setup):
    from dadao.algorithms import names
    from dadao.setup import prepare

    G = setup[0]
    shapes = {name: sorted(leaf_paths(prepare(G, method_problem(name), algorithm=name,
                                              t_max=5.0).describe()))
              for name in names()}
    first = shapes["dadao"]
    assert all(shape == first for shape in shapes.values()), shapes


def test_the_quick_start_record_holds_each_number_once(tmp_path):
    """The fields the record used to hold twice (constants, chi_1, chi_2, the total rate,
    t_max, n, dim) each live at one path, and the documented fields are all there."""
    from dadao import runs

    result = runs.run_config(str(helpers.ROOT / "configs" / "quickstart.toml"),
                             out=str(tmp_path / "qs"))
    meta = json.loads((tmp_path / "qs" / "meta.json").read_text())
    paths = leaf_paths(meta)
    for name in ("constants", "chi_1", "chi_2", "total", "t_max", "n", "dim", "seed"):
        holders = [p for p in paths if p.split(".")[-1] == name]
        assert len(holders) == 1, (name, holders)
    assert "chi_1" not in meta["algorithm"]["constants"]
    assert "L" not in meta["algorithm"]["constants"]
    values = [v for p, v in flat_values(meta).items() if not p.startswith("algorithm.constants")]
    for v in (meta["rates"]["chi_1"], meta["rates"]["chi_2"], meta["problem"]["L"],
              meta["problem"]["mu"], meta["problem"]["kappa"], meta["graph"]["chi"]):
        assert values.count(v) == 1, v
    assert result.meta == meta


def flat_values(record, prefix=""):
    out = {}
    for key, value in record.items():
        if isinstance(value, dict):
            out.update(flat_values(value, prefix + key + "."))
        else:
            out[prefix + key] = value
    return out


def test_the_documented_fields_are_the_fields_of_the_record(tmp_path):
    """docs/run_directory.md lists every field of meta.json, and nothing else."""
    import re

    from dadao import runs

    doc = (helpers.ROOT / "docs" / "run_directory.md").read_text()
    section = doc.split("## meta.json", 1)[1]
    documented = set()
    for cell in re.findall(r"^\| (`[^|]*`(?:, `[^|]*`)*) \|", section, flags=re.M):
        documented |= set(re.findall(r"`([^`]+)`", cell))
    for config in ("quickstart.toml", "time_varying.toml"):
        for sets in ([], ["algorithm.name=msda"] if config == "quickstart.toml" else []):
            out = tmp_path / f"{config}-{len(sets)}"
            runs.run_config(str(helpers.ROOT / "configs" / config), sets=sets + ["run.t_max=20"],
                            out=str(out))
            meta = json.loads((out / "meta.json").read_text())
            assert set(leaf_paths(meta)) == documented, set(leaf_paths(meta)) ^ documented


def test_per_method_needs_are_computed_once_in_the_setup(tmp_path, monkeypatch):
    """The Continuized method's resistances: once per run, in the setup (not again by the
    engine)."""
    from dadao import graphs, runs, setup as setup_module

    calls = []
    real = graphs.effective_resistances

    def counted(*args, **kw):
        calls.append(1)
        return real(*args, **kw)

    monkeypatch.setattr(setup_module.graphs, "effective_resistances", counted)
    result = runs.run_config(str(helpers.ROOT / "configs" / "quickstart.toml"),
                             sets=["algorithm.name=continuized", "run.t_max=20"],
                             out=str(tmp_path / "c"))
    assert result.status == "completed" and len(calls) == 1

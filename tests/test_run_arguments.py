"""Every unusable run argument is refused with one line naming it, before anything runs."""

import numpy as np
import pytest

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

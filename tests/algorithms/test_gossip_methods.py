"""Gossip averaging against its theory (docs/methods.md): randomized gossip decays like
exp(-t/chi_1), accelerated (A2CiD2) gossip like exp(-c t/sqrt(chi_1 chi_2)); both conserve the
mean exactly, so they converge to x* = mean_i a_i."""

import functools
import math

import numpy as np
import pytest

import dadao
from dadao import graphs, problems, rates
from dadao.algorithms import get_algorithm
from dadao.algorithms.theory import Setting
from dadao.errors import RunArgumentError

N = 32
SEEDS = range(10)


def setting(G, problem, edge_rates):
    edges = graphs.edge_array(G)
    cond = rates.check_rate_condition(edges, edge_rates, G.number_of_nodes())
    return Setting(n=problem.n, edges=len(edges), mu=problem.mu, L=problem.L,
                   chi=graphs.graph_chi(G), chi_1=cond.chi_1, chi_2=cond.chi_2,
                   total_rate=float(edge_rates.sum()))


@functools.lru_cache(maxsize=None)
def fitted_rate(name, family):
    """(fitted exponent of the seed-averaged E||x - xbar||^2 on [1e-5, 1e-1] of its start, the
    declared rate, the traces)."""
    algo = get_algorithm(name)
    G = graphs.make_graph(family, N)
    edges = graphs.edge_array(G)
    problem = problems.averaging(N, 2, seed=0)
    lam = algo.default_rates(edges, N)
    predicted = algo.theory.rate(setting(G, problem, lam))
    t_max = 1.5 * math.log(1e5) / predicted
    traces = [dadao.simulate(edges, problem, rates=lam, algorithm=name, t_max=t_max, seed=seed,
                       log_every=t_max / 300) for seed in SEEDS]
    mean = np.mean([tr["dist_to_opt"] for tr in traces], axis=0)
    t = traces[0]["time"]
    rel = mean / mean[0]
    window = (rel <= 1e-1) & (rel >= 1e-5)
    assert window.sum() >= 20, f"{name}/{family}: only {window.sum()} samples in [1e-5, 1e-1]"
    slope = -np.polyfit(t[window], np.log(mean[window]), 1)[0]
    return slope, predicted, traces, problem


@pytest.mark.parametrize("family", ["cycle", "path"])
@pytest.mark.parametrize("name", ["randomized_gossip", "accelerated_gossip"])
def test_decay_rate_is_within_a_factor_2_of_the_prediction(name, family):
    slope, predicted, traces, problem = fitted_rate(name, family)
    assert 0.5 <= slope / predicted <= 2.0, (
        f"{name}/{family}: fitted {slope:.4g}, predicted {predicted:.4g} "
        f"(ratio {slope / predicted:.3f})")
    # exact mean conservation: every node ends near x* = mean_i a_i, and the mean is a_bar
    for tr in traces:
        assert tr.meta["run"]["gradients"] == 0 and tr.meta["run"]["gradient_events"] == 0
        drift = np.abs(tr.final_x.mean(axis=0) - problem.x_star).max()
        assert drift <= 1e-12 * np.abs(problem.x_star).max()
        assert tr["dist_to_opt"][-1] <= 1e-4 * tr["dist_to_opt"][0]
        # dist_to_opt is the consensus distance, since the mean is x*
        np.testing.assert_allclose(tr["dist_to_opt"], tr["consensus"], rtol=1e-6,
                                   atol=1e-12 * tr["dist_to_opt"][0])


def test_momentum_buys_the_predicted_speed_up_on_the_path():
    """The exponent ratio predicted by the two theories is sqrt(chi_1/chi_2) (14.4 on the path
    n = 32 at equal rates); measured it must be at least a third of that."""
    slow, pred_slow, _, _ = fitted_rate("randomized_gossip", "path")
    fast, pred_fast, _, _ = fitted_rate("accelerated_gossip", "path")
    assert fast / slow >= (pred_fast / pred_slow) / 3.0, (fast, slow, pred_fast, pred_slow)


def test_gossip_refuses_other_problems_and_an_x0():
    G = graphs.make_graph("cycle", 8)
    edges = graphs.edge_array(G)
    lam = rates.uniform_rates(edges, 4.0)
    with pytest.raises(problems.ProblemError,
                       match=r"^problem\.kind: randomized_gossip solves the averaging problem "
                             r"only \(f_i = 1/2 \|\|x - a_i\|\|\^2\); got 'least_squares'$"):
        dadao.simulate(edges, problems.least_squares(8, 2, seed=0), rates=lam,
                 algorithm="randomized_gossip", t_max=1.0)
    with pytest.raises(RunArgumentError, match=r"^x0: accelerated_gossip starts every node at "
                                               r"the minimiser of its own f_i; leave x0 unset$"):
        dadao.simulate(edges, problems.averaging(8, 2, seed=0), rates=lam, algorithm="accelerated_gossip",
                 t_max=1.0, x0=np.ones(2))
    with pytest.raises(RunArgumentError, match=r"^grad_rates: randomized_gossip has no gradient "
                                               r"clocks"):
        dadao.simulate(edges, problems.averaging(8, 2, seed=0), rates=lam, algorithm="randomized_gossip",
                 t_max=1.0, grad_rates=np.ones(8))

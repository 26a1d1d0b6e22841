"""Conservation laws the synchronous methods rely on, checked along real trajectories: gossip
terms (W X, P(W) X, multi-consensus) sum to zero over the nodes, so the dual/tracking variables
keep the sums their analyses need; and time-varying lists for the methods that accept them."""

import numpy as np
import pytest

import dadao
from dadao import gossip, graphs, problems
from dadao.algorithms import get_algorithm
from dadao.algorithms.synchronous import LocalOracle
from dadao.engines import rounds
from dadao.setup import prepare

N = 16


def trajectory(name, problem, G, iterations):
    """States after each iteration (run by hand, with the engine's Mixer)."""
    algo = get_algorithm(name)
    network = gossip.Network(G)
    k = algo.constants(problem, network)
    state = algo.init_state(problem.n, problem.dim, None, k)
    mix = rounds.Mixer(network.matrices(algo.gossip), network.edge_counts)
    local = LocalOracle(problem)
    states = []
    for _ in range(iterations):
        state = algo.step(state, k, local, mix)
        states.append(state)
    return states, problem


def relative_sum(X):
    """|sum_i X_i| relative to the size of the rows."""
    return np.abs(X.sum(axis=0)).max() / max(np.abs(X).max(), 1e-300)


# method -> fields whose sum over the nodes stays 0
ZERO_SUM = {"adom_plus": ("z", "zf"), "adom_plus_mc": ("z", "zf"), "opapc": ("y",),
            "msda": ("x", "y"), "extra": ("u",)}


@pytest.mark.parametrize("name", sorted(ZERO_SUM))
def test_dual_variables_sum_to_zero_over_the_nodes(name):
    problem = problems.least_squares(N, 3, samples_per_node=20, seed=0)
    states, _ = trajectory(name, problem, graphs.make_graph("barbell", N), 200)
    for s in states[::20]:
        for field in ZERO_SUM[name]:
            assert relative_sum(getattr(s, field)) <= 1e-10, (name, field)


def test_diging_tracks_the_sum_of_the_gradients():
    """sum_i y_i = sum_i grad f_i(x_i) at the point of the last gradient (gradient tracking)."""
    problem = problems.logistic(N, 3, samples_per_node=20, seed=0)
    states, _ = trajectory("diging", problem, graphs.make_graph("cycle", N), 100)
    for s in states[::10]:
        np.testing.assert_allclose(s.y.sum(axis=0), s.g.sum(axis=0), rtol=0, atol=1e-12)


@pytest.mark.parametrize("name", ["adom_plus_mc", "diging", "dgd"])
def test_time_varying_lists_are_accepted_by_the_methods_that_support_them(name):
    Gs = [graphs.make_graph("random_geometric", N, seed=k) for k in range(5)]
    problem = problems.least_squares(N, 3, samples_per_node=20, seed=0)
    trace = dadao.simulate(Gs, problem, algorithm=name, t_max=40)
    assert trace.status == "completed" and trace.meta["graph"]["graphs"] == 5
    rounds = trace.meta["run"]["gossip_rounds"]
    counts = gossip.Network(Gs).edge_counts
    assert trace.meta["run"]["communications"] == sum(counts[q % 5] for q in range(rounds))
    assert trace["dist_to_opt"][-1] < trace["dist_to_opt"][0]


def test_adom_plus_with_multi_consensus_converges_on_a_time_varying_list():
    Gs = [graphs.make_graph("random_geometric", N, seed=k) for k in range(10)]
    problem = problems.least_squares(N, 5, samples_per_node=50, seed=0)
    theory = get_algorithm("adom_plus_mc").theory
    setting = prepare(Gs, problem, algorithm="adom_plus_mc", t_max=1.0).setting
    t_max = int(np.ceil(theory.time_to(1e-8, setting)))
    trace = dadao.simulate(Gs, problem, algorithm="adom_plus_mc", t_max=t_max)
    d = trace["dist_to_opt"]
    assert trace.status == "completed" and d[-1] <= 1e-8 * d[0]

"""Time-varying graphs (docs/model.md, Time-varying graphs): the list of graphs, the switching
schedule (engine-independent, one stream per clock), DADAO's convergence on a sequence of random
geometric graphs, reproducibility, and refusal by the methods that do not support it."""

import math

import networkx as nx
import numpy as np
import pytest

import dadao
from dadao import graphs, problems
from dadao.algorithms import dadao as dadao_algo
from dadao.errors import RunArgumentError
from dadao.rates import default_switch_period, sequence_theory_rates, unit_rate_chis
from dadao.events import PoissonClocks, SwitchingClocks

N = 16


@pytest.fixture(scope="module")
def sequence():
    seq = graphs.graph_sequence("random_geometric", N, K=20, seed=5)
    edge_lists = [graphs.edge_array(G) for G in seq]
    return seq, edge_lists, sequence_theory_rates(edge_lists, N)


def test_graph_sequence_properties():
    seq = graphs.graph_sequence(n=N, K=12, seed=3)  # the paper's family by default
    assert len(seq) == 12
    for G in seq:
        assert G.graph["family"] == "random_geometric"
        assert set(G.nodes) == set(range(N)) and nx.is_connected(G)
    edge_sets = [frozenset(G.edges) for G in seq]
    assert len(set(edge_sets)) == 12  # the graphs differ
    again = graphs.graph_sequence("random_geometric", N, K=12, seed=3)
    assert [frozenset(G.edges) for G in again] == edge_sets
    # graph k does not depend on K; another seed gives another list
    assert [frozenset(G.edges) for G in graphs.graph_sequence(n=N, K=5, seed=3)] == edge_sets[:5]
    assert [frozenset(G.edges) for G in graphs.graph_sequence(n=N, K=12, seed=4)] != edge_sets
    # parameters pass through; a deterministic family gives copies
    dense = graphs.graph_sequence("random_geometric", N, K=3, seed=3, radius=0.6)
    assert all(G.number_of_edges() > max(H.number_of_edges() for H in seq) for G in dense)
    cycles = graphs.graph_sequence("cycle", N, K=4)
    assert all(set(G.edges) == set(cycles[0].edges) for G in cycles)
    with pytest.raises(graphs.GraphError, match=r"^K: the number of graphs must be an integer "
                                                r">= 1; got 0$"):
        graphs.graph_sequence("cycle", N, K=0)
    with pytest.raises(graphs.GraphError, match=r"unknown graph family 'cycel'"):
        graphs.graph_sequence("cycel", N, K=2)


def test_switching_schedule(sequence):
    _, edge_lists, lam = sequence
    K = len(edge_lists)
    P = default_switch_period(edge_lists, N)
    chi_1_bar, _ = unit_rate_chis(edge_lists, N)
    assert P == pytest.approx(1.0 / chi_1_bar)  # the authors' graph floor(t chi_1) mod K
    t_end = 3.5 * K * P
    clocks = SwitchingClocks(7, np.ones(N), edge_lists, lam, P)
    times, ids = clocks.until(t_end)
    assert np.all(np.diff(times) >= 0) and times.min() >= 0 and times.max() < t_end
    offsets = clocks.offsets
    gossip = ids >= N
    graph_of = np.searchsorted(offsets, ids[gossip] - N, side="right") - 1
    # every gossip event lies in a period of its own graph
    assert np.array_equal(np.floor(times[gossip] / P).astype(int) % K, graph_of)
    # each graph is active 1/K of the time: its events number ~ its total rate x t_end / K
    counts = np.bincount(graph_of, minlength=K)
    expected = np.array([r.sum() for r in lam]) * t_end / K
    assert np.all(np.abs(counts - expected) < 5 * np.sqrt(expected) + 5)
    # the gradient clocks are those of a static run (same keys (0, i))
    static = PoissonClocks(7, np.ones(N), np.empty((0, 2)), np.empty(0)).until(t_end)
    assert np.array_equal(times[~gossip], static[0]) and np.array_equal(ids[~gossip], static[1])
    # restricting to a subset of clocks (what an MPI rank owns) gives exactly their events
    some = np.concatenate([np.arange(0, N, 3), N + np.arange(0, offsets[-1], 7)])
    sub_t, sub_c = SwitchingClocks(7, np.ones(N), edge_lists, lam, P, clocks=some).until(t_end)
    keep = np.isin(ids, some)
    assert np.array_equal(sub_t, times[keep]) and np.array_equal(sub_c, ids[keep])
    # windows (of any size, with breakpoints) cut the same schedule
    fresh = SwitchingClocks(7, np.ones(N), edge_lists, lam, P)
    parts = list(fresh.windows(t_end, events_per_window=50, breakpoints=[P, 2.5 * P]))
    assert np.array_equal(np.concatenate([p[1] for p in parts]), times)
    assert np.array_equal(np.concatenate([p[2] for p in parts]), ids)
    assert clocks.active_graph(2.5 * P) == 2 and clocks.active_graph((K + 1.5) * P) == 1


def test_dadao_converges_on_a_time_varying_random_geometric_sequence(sequence):
    _, edge_lists, lam = sequence
    problem = problems.least_squares(N, 5, samples_per_node=50, seed=0)
    t_max = 100.0 / dadao_algo.rate_scale(problem.L, problem.mu)
    trace = dadao.simulate(edge_lists, problem, rates=lam, t_max=t_max, seed=3, log_every=t_max / 100)
    assert trace.status == "completed"
    ratio = trace["dist_to_opt"][-1] / trace["dist_to_opt"][0]
    assert ratio <= 1e-8, f"dist ratio {ratio:.2e} after t = {t_max:.0f}"
    meta = trace.meta
    tv = meta["graph"]
    assert tv["graphs"] == len(edge_lists)
    assert tv["switch_period"] == pytest.approx(default_switch_period(edge_lists, N))
    assert tv["edges_per_graph"] == [len(e) for e in edge_lists]
    # worst-case chi's over the list: the sequence theory rates saturate the condition
    assert meta["rates"]["chi_1"] * meta["rates"]["chi_2"] == pytest.approx(0.5, rel=1e-9)
    assert meta["algorithm"]["constants"]["beta_t"] == pytest.approx(
        2 * meta["rates"]["chi_1"] * math.sqrt(problem.L / (problem.mu / 2)))
    expected = meta["rates"]["total"] * t_max
    assert abs(meta["run"]["gossip_events"] - expected) < 5 * math.sqrt(expected)


def test_same_seed_gives_an_identical_time_varying_run(sequence):
    _, edge_lists, lam = sequence
    problem = problems.least_squares(N, 3, samples_per_node=20, seed=1)
    a, b, c = (dadao.simulate(edge_lists, problem, rates=lam, t_max=30.0, seed=s, log_every=1.0)
               for s in (4, 4, 5))
    for col in ("time", "gradients", "communications", "dist_to_opt", "consensus"):
        assert np.array_equal(a[col], b[col]), col
    assert np.array_equal(a.final_x, b.final_x)
    assert not np.array_equal(a.final_x, c.final_x)
    # the switching period is part of the schedule: another period, another run
    d = dadao.simulate(edge_lists, problem, rates=lam, t_max=30.0, seed=4, log_every=1.0,
                 switch_period=0.5)
    assert d.meta["graph"]["switch_period"] == 0.5
    assert not np.array_equal(a.final_x, d.final_x)


def test_randomized_gossip_averages_on_a_sequence(sequence):
    _, edge_lists, _ = sequence
    problem = problems.averaging(N, 2, seed=0)
    lam = [np.full(len(e), N / 2 / len(e)) for e in edge_lists]
    trace = dadao.simulate(edge_lists, problem, rates=lam, algorithm="randomized_gossip", t_max=150.0,
                     seed=0)
    assert trace["dist_to_opt"][-1] <= 1e-6 * trace["dist_to_opt"][0]
    np.testing.assert_allclose(trace.final_x.mean(axis=0), problem.x_star, rtol=1e-12)


@pytest.mark.parametrize("algorithm, problem", [
    ("continuized", problems.least_squares(N, 2, samples_per_node=10, seed=0)),
    ("accelerated_gossip", problems.averaging(N, 2, seed=0)),
])
def test_methods_without_time_varying_support_refuse_a_sequence(sequence, algorithm, problem):
    _, edge_lists, lam = sequence
    with pytest.raises(RunArgumentError,
                       match=rf"^edges: {algorithm} does not support time-varying graphs \(got "
                             rf"a list of {len(edge_lists)} graphs\); give one graph$"):
        dadao.simulate(edge_lists, problem, rates=lam, algorithm=algorithm, t_max=1.0)


def test_sequence_arguments_are_checked(sequence):
    _, edge_lists, lam = sequence
    problem = problems.least_squares(N, 2, samples_per_node=10, seed=0)
    with pytest.raises(RunArgumentError, match=r"^edge_rates: a time-varying graph of 20 edge "
                                               r"arrays needs a list of 20 rate arrays, got 3$"):
        dadao.simulate(edge_lists, problem, rates=lam[:3], t_max=1.0)
    with pytest.raises(RunArgumentError, match=r"^edge_rates\[0\]: expected \d+ rates \(one "
                                               r"per edge of graph 0\)"):
        dadao.simulate(edge_lists, problem, rates=[r[:-1] for r in lam], t_max=1.0)
    with pytest.raises(RunArgumentError, match=r"^switch_period: must be a positive finite time"):
        dadao.simulate(edge_lists, problem, rates=lam, t_max=1.0, switch_period=0.0)
    with pytest.raises(RunArgumentError, match=r"^switch_period: only for a time-varying graph"):
        dadao.simulate(edge_lists[0], problem, rates=lam[0], t_max=1.0, switch_period=1.0)

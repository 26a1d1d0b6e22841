"""Synchronous round times (dadao.timing.rounds), through arrays and through the compute and
link models. Times are in seconds."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from dadao.errors import ConfigError
from dadao.timing.compute import ComputeModel
from dadao.timing.laws import Constant, Exponential, LogNormal
from dadao.timing.links import Links
from dadao.timing.rounds import sync_round_times
from dadao.timing.stragglers import Stragglers

from .common import SEED, assert_one_line, cycle_edges, transient


def complete_edges(n: int) -> np.ndarray:
    return np.array(list(itertools.combinations(range(n), 2)))


def ring_with_chords(n: int, chords: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    pairs = {tuple(e) for e in cycle_edges(n).tolist()}
    while len(pairs) < n + chords:
        u, v = sorted(rng.choice(n, 2, replace=False).tolist())
        pairs.add((u, v))
    return np.array(sorted(pairs))


def one_slow_node(n=6, c=0.25, c_slow=1.5, slow=4) -> np.ndarray:
    # dyadic constants: every sum below is exact, so the checks are ==
    compute = np.full(n, c)
    compute[slow] = c_slow
    return compute


@pytest.mark.parametrize("barrier", ["global", "neighbourhood"])
def test_T_iterations_with_zero_link_time_take_T_c_slow(barrier):
    T, c_slow = 40, 1.5
    times = sync_round_times(one_slow_node(), 0.0, T, 2, barrier, edges=cycle_edges(6))
    assert np.array_equal(times, c_slow * np.arange(1, T + 1))
    assert times[-1] == T * c_slow


@pytest.mark.parametrize("barrier", ["global", "neighbourhood"])
@pytest.mark.parametrize("edges", [cycle_edges(6), np.array([[i, i + 1] for i in range(5)])],
                         ids=["cycle", "path"])
def test_T_iterations_with_latency_l_and_K_rounds_take_T_c_slow_plus_K_l(barrier, edges):
    T, K, l, c_slow = 40, 3, 0.125, 1.5
    times = sync_round_times(one_slow_node(), l, T, K, barrier, edges=edges)
    assert times[-1] == T * (c_slow + K * l)
    assert np.array_equal(times, (c_slow + K * l) * np.arange(1, T + 1))


def test_the_analytic_check_through_the_compute_and_link_models():
    n, T, K, edges = 6, 30, 2, cycle_edges(6)
    factors = np.ones(n)
    factors[1] = 6.0  # 0.25 s * 6 = 1.5 s
    compute = ComputeModel(Constant(0.25), n, SEED, factors=factors).sync_compute(T)
    links = Links(Constant(0.125)).exchange_times(edges, T * K, 80).reshape(T, K, len(edges))
    for barrier in ("global", "neighbourhood"):
        times = sync_round_times(compute, links, T, K, barrier, edges=edges, n=n)
        assert times[-1] == T * (1.5 + K * 0.125)
    persistent = ComputeModel(Constant(0.25), n, SEED, stragglers=Stragglers([2], 4.0))
    times = sync_round_times(persistent.sync_compute(T), 0.125, T, K, edges=edges, n=n)
    assert times[-1] == T * (1.0 + K * 0.125)


def test_neighbourhood_equals_global_on_a_complete_graph():
    n, T, K = 7, 25, 3
    rng = np.random.default_rng(4)
    compute = rng.exponential(1.0, (T, n))
    links = rng.exponential(0.1, (T, K, 1))  # the same on every edge of a round
    edges = complete_edges(n)
    a = sync_round_times(compute, links, T, K, "global", edges=edges)
    b = sync_round_times(compute, links, T, K, "neighbourhood", edges=edges)
    assert np.array_equal(a, b)


def test_neighbourhood_is_never_later_than_global():
    n, T, K = 30, 40, 2
    rng = np.random.default_rng(5)
    edges = ring_with_chords(n, 10, seed=5)
    compute = rng.lognormal(0.0, 1.0, (T, n))
    links = rng.exponential(0.2, (T, K, len(edges)))
    glob = sync_round_times(compute, links, T, K, "global", edges=edges, per_node=True)
    hood = sync_round_times(compute, links, T, K, "neighbourhood", edges=edges, per_node=True)
    assert np.all(hood <= glob) and hood[-1].max() < glob[-1, 0]


def reference_neighbourhood(compute, links, edges, T, K, n):
    """The max-plus recursion node by node, for comparison."""
    t = [0.0] * n
    out = []
    for tau in range(T):
        t = [t[i] + compute[tau, i] for i in range(n)]
        for r in range(K):
            new = list(t)
            for e, (u, v) in enumerate(edges.tolist()):
                done = max(t[u], t[v]) + links[tau, r, e]
                new[u], new[v] = max(new[u], done), max(new[v], done)
            t = new
        out.append(max(t))
    return np.array(out)


def test_the_vectorised_neighbourhood_barrier_matches_the_recursion():
    n, T, K = 12, 15, 3
    rng = np.random.default_rng(6)
    edges = ring_with_chords(n, 4, seed=6)
    compute = rng.exponential(1.0, (T, n))
    links = rng.exponential(0.3, (T, K, len(edges)))
    got = sync_round_times(compute, links, T, K, "neighbourhood", edges=edges)
    assert np.array_equal(got, reference_neighbourhood(compute, links, edges, T, K, n))


def test_a_callable_compute_equals_its_table():
    n, T, K, edges = 8, 20, 2, cycle_edges(8)
    table = np.column_stack([ComputeModel(LogNormal(0.01, 0.5), n, SEED).work(i, T)
                             for i in range(n)])
    call = ComputeModel(LogNormal(0.01, 0.5), n, SEED).sync_compute(T)
    for barrier in ("global", "neighbourhood"):
        assert np.array_equal(sync_round_times(call, 0.001, T, K, barrier, edges=edges, n=n),
                              sync_round_times(table, 0.001, T, K, barrier, edges=edges))


def test_transient_stragglers_only_delay_a_synchronous_run():
    n, T, K, edges = 8, 50, 1, cycle_edges(8)

    def run(barrier, stragglers):
        compute = ComputeModel(Exponential(0.5), n, SEED, stragglers=stragglers)
        return sync_round_times(compute.sync_compute(T), 0.01, T, K, barrier, edges=edges, n=n)

    for barrier in ("global", "neighbourhood"):
        plain = run(barrier, None)
        slowed = run(barrier, transient([0, 5], rate=1.0, mean=0.5))
        assert np.all(slowed >= plain) and slowed[-1] > plain[-1]


def test_round_time_arguments_are_checked():
    with pytest.raises(ConfigError) as info:
        sync_round_times(np.ones(3), 0.0, 2, 1, "local")
    assert_one_line(info.value, "timing.barrier")
    with pytest.raises(ValueError, match="needs the graph's edges"):
        sync_round_times(np.ones(3), 0.0, 2, 1, "neighbourhood")
    with pytest.raises(ValueError, match="finite"):
        sync_round_times(np.ones(3), -1.0, 2, 1)
    assert sync_round_times(np.ones(3), 0.0, 0, 1).shape == (0,)

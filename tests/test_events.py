"""Poisson clocks: one keyed stream per clock, engine-independent schedules, exponential
statistics, the compiled merge, the clocks' state in two arrays."""

import tracemalloc

import numpy as np
import pytest
import scipy.stats

from dadao.counter_rng import exponentials
from dadao.events import (SCHEDULE_VERSION, PoissonClocks, SwitchingClocks, restore, schedule,
                          snapshot, sort_by_time)

EDGES = np.array([[0, 1], [0, 3], [1, 2], [2, 3], [2, 4], [3, 4]])
N = 5


def full(seed=7, t_end=300.0, grad_rates=None, edge_rates=None):
    g = np.ones(N) if grad_rates is None else grad_rates
    lam = np.linspace(0.3, 1.7, len(EDGES)) if edge_rates is None else edge_rates
    return schedule(seed, g, EDGES, lam, t_end)


def test_schedule_is_sorted_and_reproducible():
    t, c = full()
    assert np.all(np.diff(t) >= 0)
    t2, c2 = full()
    assert np.array_equal(t, t2) and np.array_equal(c, c2)
    t3, _ = full(seed=8)
    assert not np.array_equal(t[:50], t3[:50])
    assert t[0] >= 0 and t[-1] < 300.0


@pytest.mark.parametrize("subset", [[0, 2], [1, 5, 7], [3, 4, 8, 9, 10]])
def test_subset_of_clocks_gives_exactly_the_subset_of_the_schedule(subset):
    t, c = full()
    lam = np.linspace(0.3, 1.7, len(EDGES))
    ts, cs = schedule(7, np.ones(N), EDGES, lam, 300.0, clocks=subset)
    keep = np.isin(c, subset)
    assert np.array_equal(ts, t[keep]) and np.array_equal(cs, c[keep])


def test_windows_do_not_change_the_schedule():
    t, c = full()
    lam = np.linspace(0.3, 1.7, len(EDGES))
    clocks = PoissonClocks(7, np.ones(N), EDGES, lam)
    parts = list(clocks.windows(300.0, events_per_window=37, breakpoints=[1.5, 10.0, 299.0]))
    ends = [end for end, _, _ in parts]
    assert {1.5, 10.0, 299.0} <= set(ends) and ends[-1] == 300.0
    tw = np.concatenate([p[1] for p in parts])
    cw = np.concatenate([p[2] for p in parts])
    assert np.array_equal(tw, t) and np.array_equal(cw, c)


def test_a_clock_is_identified_by_its_edge_not_its_position():
    """Edge (2, 4) keeps its stream when other edges are added or removed."""
    lam = np.ones(len(EDGES))
    t_all, c_all = schedule(3, np.zeros(N), EDGES, lam, 100.0)
    e = 4  # edge (2, 4)
    mine = t_all[c_all == N + e]
    t_one, c_one = schedule(3, np.zeros(N), EDGES[[e]], lam[[e]], 100.0)
    assert np.array_equal(t_one, mine)


def test_inter_arrival_times_are_exponential_with_the_clock_rate():
    rates = np.array([0.25, 1.0, 4.0, 1.0, 2.5])
    lam = np.array([0.5, 3.0, 1.0, 0.1, 2.0, 1.0])
    t_end = 4000.0
    t, c = schedule(11, rates, EDGES, lam, t_end)
    all_rates = np.concatenate([rates, lam])
    for clock, rate in enumerate(all_rates):
        times = t[c == clock]
        gaps = np.diff(np.concatenate([[0.0], times]))
        res = scipy.stats.kstest(gaps, "expon", args=(0, 1 / rate))
        assert res.pvalue > 1e-3, (clock, rate, res)
        # counts: Poisson with mean rate * t_end, within 4.5 standard deviations
        mean = rate * t_end
        assert abs(len(times) - mean) < 4.5 * np.sqrt(mean), (clock, len(times), mean)


def test_superposition_is_poisson_with_total_rate_and_picks_clocks_by_rate():
    rates = np.array([1.0, 1.0, 2.0, 0.5, 0.5])
    lam = np.full(len(EDGES), 0.5)
    t, c = schedule(5, rates, EDGES, lam, 3000.0)
    R = rates.sum() + lam.sum()
    gaps = np.diff(np.concatenate([[0.0], t]))
    assert scipy.stats.kstest(gaps, "expon", args=(0, 1 / R)).pvalue > 1e-3
    counts = np.bincount(c, minlength=N + len(EDGES))
    expected = np.concatenate([rates, lam]) / R * len(t)
    chi2 = scipy.stats.chisquare(counts, expected)
    assert chi2.pvalue > 1e-3


def test_zero_rate_clocks_never_fire_and_bad_rates_are_refused():
    t, c = schedule(1, np.array([0.0, 1, 1, 1, 1]), EDGES, np.zeros(len(EDGES)), 50.0)
    assert 0 not in c and np.all(c < N)
    with pytest.raises(ValueError, match="edge rates"):
        schedule(1, np.ones(N), EDGES, -np.ones(len(EDGES)), 1.0)
    with pytest.raises(ValueError, match="gradient rates"):
        schedule(1, np.full(N, np.nan), EDGES, np.ones(len(EDGES)), 1.0)
    with pytest.raises(ValueError, match="edges"):
        schedule(1, np.ones(N), EDGES, np.ones(2), 1.0)


def test_the_jth_arrival_is_the_sum_of_the_clocks_first_j_exponentials():
    """A clock of rate r fires at t_k = t_{k-1} + E_k / r, E_k the k-th exponential of its keyed
    stream: (0, i) for node i, (1, u, v) for edge (u, v); summed one after the other."""
    lam = np.linspace(0.3, 1.7, len(EDGES))
    rates = np.concatenate([np.linspace(0.5, 2.0, N), lam])
    t, c = schedule(7, rates[:N], EDGES, lam, 200.0)
    clocks = PoissonClocks(7, rates[:N], EDGES, lam)
    for clock, rate in enumerate(rates):
        mine = t[c == clock]
        gaps = exponentials(7, clocks.key(clock), 0, len(mine) + 1) / rate
        expected = np.cumsum(gaps)   # sequential, as the clocks accumulate
        assert np.array_equal(mine, expected[:-1]) and expected[-1] >= 200.0
    assert clocks.key(N + 4) == (1, 2, 4) and clocks.key(3) == (0, 3)


def test_graph_clocks_of_a_list_keep_their_identities():
    """Graph k's edge (u, v) draws from (2, k, u, v), whatever else is in the list."""
    lam = np.ones(len(EDGES))
    alone = PoissonClocks(5, np.zeros(N), EDGES, lam, gossip_key=(2, 3))
    t, c = alone.until(50.0)
    mine = t[c == N + 1]
    gaps = exponentials(5, (2, 3, 0, 3), 0, len(mine))
    assert np.array_equal(mine, np.cumsum(gaps)) and alone.key(N + 1) == (2, 3, 0, 3)
    switching = SwitchingClocks(5, np.zeros(N), [EDGES[:2], EDGES], [lam[:2], lam], 1.0)
    assert switching.key(N + 2 + 1) == (2, 1, 0, 3) and switching.key(N + 1) == (2, 0, 0, 3)


def test_random_subsets_give_exactly_their_part_of_the_schedule():
    rng = np.random.default_rng(2)
    lam = np.linspace(0.3, 1.7, len(EDGES))
    t, c = full(seed=4, t_end=80.0)
    for _ in range(5):
        subset = np.flatnonzero(rng.random(N + len(EDGES)) < 0.4)
        ts, cs = schedule(4, np.ones(N), EDGES, lam, 80.0, clocks=subset)
        keep = np.isin(c, subset)
        assert np.array_equal(ts, t[keep]) and np.array_equal(cs, c[keep])


def test_the_compiled_merge_sorts_by_time_then_id():
    """sort_by_time on clock-ordered input equals a lexsort by (time, id), for times spread
    over the window and for times piled on a few instants (a bucket past insertion size)."""
    rng = np.random.default_rng(0)
    cases = []
    for spread in (True, False):
        ids = np.sort(rng.integers(0, 50, 3000))
        times = (rng.uniform(2.0, 5.0, 3000) if spread
                 else rng.choice([2.0, 2.5, np.nextafter(5.0, 0)], 3000))
        order = np.lexsort((times, ids))   # input: by clock, increasing within one
        cases.append((times[order], ids[order]))
    for times, ids in cases:
        got_t, got_c = sort_by_time(times, ids, len(times), 2.0, 5.0)
        ref = np.lexsort((ids, times))
        assert np.array_equal(got_t, times[ref]) and np.array_equal(got_c, ids[ref])
    empty_t, empty_c = sort_by_time(np.empty(4), np.empty(4, dtype=np.int64), 0, 0.0, 1.0)
    assert len(empty_t) == len(empty_c) == 0


def test_a_clock_is_two_numbers_and_a_snapshot_two_arrays():
    """No Python object per clock: 10^5 clocks hold their next arrival and their counter
    (16 bytes each) and nothing grows with them but those two arrays."""
    n = 100_000
    grad = np.ones(n)
    PoissonClocks(1, grad[:3], np.empty((0, 2)), np.empty(0))   # compiled (or loaded) first
    tracemalloc.start()
    clocks = PoissonClocks(1, grad, np.empty((0, 2)), np.empty(0))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 16 * n + 200_000
    clocks.until(2.0)
    header, arrays = snapshot(clocks)
    assert set(arrays) == {"next", "drawn"} and header["schedule"] == SCHEDULE_VERSION
    assert np.all(arrays["next"] >= 2.0)
    # counters: every arrival emitted took one exponential, plus the one drawn ahead
    t, c = PoissonClocks(1, grad, np.empty((0, 2)), np.empty(0)).until(2.0)
    assert np.array_equal(arrays["drawn"], np.bincount(c, minlength=n) + 1)
    with pytest.raises(ValueError, match="schedule version 1"):
        restore(clocks, {**header, "schedule": 1}, arrays)

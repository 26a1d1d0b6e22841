"""Stragglers (dadao.timing.stragglers): the seeded choice, persistent and transient
slowness. Times are in seconds."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dadao.errors import ConfigError
from dadao.timing.stragglers import Stragglers, choose_stragglers

from .common import assert_one_line, transient


def test_the_straggler_choice_is_a_seeded_nested_fraction():
    chosen = choose_stragglers(1000, 0.1, seed=5)
    assert len(chosen) == 100 and np.all(np.diff(chosen) > 0)
    assert np.array_equal(chosen, choose_stragglers(1000, 0.1, seed=5))
    assert not np.array_equal(chosen, choose_stragglers(1000, 0.1, seed=6))
    assert set(chosen) <= set(choose_stragglers(1000, 0.25, seed=5))
    assert len(choose_stragglers(10, 0.0, seed=5)) == 0
    with pytest.raises(ConfigError):
        choose_stragglers(10, 1.5, seed=5)


def test_persistent_stragglers():
    s = Stragglers([2], slowdown=4.0)
    assert np.array_equal(s.compute_factor(2, [0.0, 5.0]), [4.0, 4.0])
    assert np.array_equal(s.compute_factor(1, [0.0, 5.0]), [1.0, 1.0])
    assert s.finish_time(2, 1.0, 0.5) == 3.0 and s.finish_time(1, 1.0, 0.5) == 1.5
    assert np.array_equal(s.episodes(2, 7.0), [[0.0, 7.0]])
    assert s.episodes(1, 7.0).shape == (0, 2)


def test_spell_statistics_match_the_poisson_process_of_spells():
    """Spells start at rate r and last D (mean m): the node is slow a fraction 1 - e^(-r m) of
    the time, in merged slow periods starting at rate r e^(-r m) (an M/G/infinity queue)."""
    r, m, t_end = 0.5, 0.4, 20_000.0
    spells = transient(rate=r, mean=m).episodes(0, t_end)
    assert np.all(spells[:, 1] > spells[:, 0]) and np.all(spells[1:, 0] > spells[:-1, 1])
    slow_fraction = (spells[:, 1] - spells[:, 0]).sum() / t_end
    assert abs(slow_fraction - (1 - math.exp(-r * m))) < 0.01
    expected = r * t_end * math.exp(-r * m)
    assert abs(len(spells) - expected) < 0.05 * expected


def test_spells_do_not_depend_on_the_order_of_the_queries():
    a, b = transient(), transient()
    long_first = a.episodes(0, 1000.0)
    short = b.episodes(0, 100.0)
    assert np.array_equal(short, a.episodes(0, 100.0))
    assert np.array_equal(b.episodes(0, 1000.0), long_first)
    assert len(short) < len(long_first)


def test_compute_factor_is_k_exactly_inside_the_spells():
    s = transient(k=3.0)
    spells = s.episodes(0, 200.0)
    t = np.random.default_rng(1).uniform(0, 200, 5000)
    inside = np.any((t[:, None] >= spells[:, 0]) & (t[:, None] < spells[:, 1]), axis=1)
    assert np.array_equal(s.compute_factor(0, t), np.where(inside, 3.0, 1.0))
    assert 0 < inside.mean() < 1


def test_finish_time_does_the_work_at_speed_one_over_k_while_slow():
    k = 5.0
    s = transient(k=k)
    rng = np.random.default_rng(2)
    start, work = rng.uniform(0, 100, 500), rng.exponential(3.0, 500)
    finish = s.finish_time(0, start, work)
    spells = s.episodes(0, float(finish.max()) + 1)
    overlap = np.clip(np.minimum(finish[:, None], spells[:, 1]) -
                      np.maximum(start[:, None], spells[:, 0]), 0, None).sum(axis=1)
    done = (finish - start) - (1 - 1 / k) * overlap
    assert np.allclose(done, work, rtol=1e-9, atol=1e-9)
    # never sooner than at full speed (up to rounding), later when a spell intervenes
    assert np.all(finish >= start + work - 1e-12 * finish)
    assert np.any(finish > start + work + 1e-6)
    assert np.all(s.finish_time(0, start, 0.0) == start)
    clear = overlap == 0  # off the spells: exactly start + work, no rounding through W
    assert clear.any() and np.array_equal(finish[clear], (start + work)[clear])
    # the same finish times whatever was drawn before, and one at a time (the engine's path)
    assert np.array_equal(transient(k=k).finish_time(0, start, work), finish)
    one_by_one = transient(k=k)
    assert np.array_equal([one_by_one.finish_time(0, a, b) for a, b in zip(start, work)], finish)


def test_transient_stragglers_need_a_spell_law():
    with pytest.raises(ConfigError) as info:
        Stragglers([0], mode="transient", rate=1.0)
    assert_one_line(info.value, "timing.episode")
    with pytest.raises(ConfigError, match="did you mean 'transient'"):
        Stragglers([0], mode="transiant")

"""The keyed streams (dadao.timing.streams): distinct keys, the Poisson clocks reproduced, and
draws that never depend on another node, another link or the order of the queries."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import ndtri

from dadao.counter_rng import exponentials, words
from dadao.events import GOSSIP_KEY, GRADIENT_KEY, SEQUENCE_GOSSIP_KEY, PoissonClocks
from dadao.timing.compute import ComputeModel
from dadao.timing.laws import Exponential, LogNormal
from dadao.timing.links import LinkOverride, Links
from dadao.timing.loss import GilbertElliott, Loss
from dadao.timing.stragglers import Stragglers
from dadao.timing.streams import (
    COMPUTE_KEY, LATENCY_KEY, LOSS_KEY, SPEED_KEY, STRAGGLER_CHOICE_KEY, STRAGGLER_KEY, stream,
)

from .common import SEED, cycle_edges


def test_stream_keys_are_distinct_and_disjoint_from_the_clocks():
    keys = [COMPUTE_KEY, SPEED_KEY, STRAGGLER_KEY, LATENCY_KEY, LOSS_KEY,
            STRAGGLER_CHOICE_KEY]
    assert len(set(keys)) == len(keys)
    assert not set(keys) & {GRADIENT_KEY, GOSSIP_KEY, SEQUENCE_GOSSIP_KEY}
    a = stream(SEED, (COMPUTE_KEY, 0)).random(4)
    assert np.array_equal(a, stream(SEED, (COMPUTE_KEY, 0)).random(4))
    assert not np.array_equal(a, stream(SEED, (GRADIENT_KEY, 0)).random(4))


def test_exponential_compute_on_the_gradient_keys_reproduces_the_poisson_clocks():
    """The engine's exactness mode: rate-1 clocks == back-to-back Exponential(1 s) compute."""
    n = 5
    clocks = PoissonClocks(SEED, np.ones(n), np.empty((0, 2)), np.empty(0))
    times, ids = clocks.until(300.0)
    model = ComputeModel(Exponential(1.0), n, SEED, key_prefix=(GRADIENT_KEY,))
    stepwise = ComputeModel(Exponential(1.0), n, SEED, key_prefix=(GRADIENT_KEY,))
    for i in range(n):
        arrivals = times[ids == i]
        assert np.array_equal(model.back_to_back(i, 0.0, len(arrivals)), arrivals)
        t, ends = 0.0, []
        for _ in range(len(arrivals)):
            t = stepwise.next_finish(i, t)
            ends.append(t)
        assert np.array_equal(np.array(ends), arrivals)


@pytest.mark.parametrize("mode", ["persistent", "transient"])
def test_making_node_3_a_straggler_changes_no_other_draw(mode):
    n = 8

    def model(nodes):
        return ComputeModel(LogNormal(0.01, 0.5), n, SEED, factors=np.linspace(1, 2, n),
                            stragglers=Stragglers(nodes, 4.0, mode, rate=2.0,
                                                  duration=Exponential(0.05), seed=SEED))

    without, with_3 = model([1, 6]), model([1, 3, 6])
    for j in range(n):
        if j != 3:
            assert np.array_equal(without.back_to_back(j, 0.0, 400),
                                  with_3.back_to_back(j, 0.0, 400))
            assert np.array_equal(without.stragglers.episodes(j, 10.0),
                                  with_3.stragglers.episodes(j, 10.0))
    fresh_without, fresh_with = model([1, 6]), model([1, 3, 6])
    assert np.array_equal(fresh_without.work(3, 400), fresh_with.work(3, 400))  # same draws
    assert not np.array_equal(model([1, 6]).back_to_back(3, 0.0, 400),
                              model([1, 3, 6]).back_to_back(3, 0.0, 400))


def test_changing_one_link_changes_no_other_draw():
    edges = cycle_edges(6)
    base = Links(Exponential(0.01), bandwidth=1e8, seed=SEED)
    slow = Links(Exponential(0.01), bandwidth=1e8, seed=SEED,
                 overrides={(2, 3): LinkOverride(latency=0.5, bandwidth=1e6)})
    for u, v in edges.tolist():
        for a, b in ((u, v), (v, u)):
            x, y = base.transfer_times(a, b, 800, 300), slow.transfer_times(a, b, 800, 300)
            assert np.array_equal(x, y) == ((min(a, b), max(a, b)) != (2, 3))
    assert np.array_equal(slow.transfer_times(3, 2, 800, 2), [0.5 + 800 / 1e6] * 2)


def test_draws_do_not_depend_on_the_order_of_links_or_nodes():
    a, b = Links(Exponential(0.01), seed=SEED), Links(Exponential(0.01), seed=SEED)
    first = a.transfer_times(0, 1, 0, 50)
    b.transfer_times(1, 0, 0, 70)
    b.transfer_times(4, 5, 0, 10)
    assert np.array_equal(b.transfer_times(0, 1, 0, 50), first)
    assert not np.array_equal(b.transfer_times(1, 0, 0, 50), first)  # directions differ
    la, lb = Loss(GilbertElliott(0.1, 0.3, 0.0, 0.8), SEED), Loss(GilbertElliott(0.1, 0.3, 0.0,
                                                                                 0.8), SEED)
    lost = la.lost(0, 1, 500)
    lb.lost(1, 2, 100)
    assert np.array_equal(lb.lost(0, 1, 500), lost)


def test_every_law_draws_by_inversion_one_counter_word_per_value():
    """The stream (seed, key) hands out word j of its keyed Philox stream as its j-th value:
    a lognormal by inversion of the normal, an exponential as the clocks draw it, so a law's
    values never depend on how they are blocked, and a stream's position is its draws."""
    key = (LATENCY_KEY, 0, 1)
    rng = stream(SEED, key)
    x = LogNormal(0.01, 0.5).draw(rng, 100)
    top = (words(SEED, key, 0, 150) >> np.uint64(11)).astype(np.float64)
    assert np.array_equal(x, 0.01 * np.exp(0.5 * ndtri((top[:100] + 0.5) * 2.0**-53)))
    y = Exponential(0.2).draw(rng, 50)
    assert np.array_equal(y, exponentials(SEED, key, 100, 50) * 0.2) and rng.position == 150
    blocked = stream(SEED, key)
    parts = [LogNormal(0.01, 0.5).draw(blocked, m) for m in (1, 63, 36)]
    assert np.array_equal(np.concatenate(parts), x)

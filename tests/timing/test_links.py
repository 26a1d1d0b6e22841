"""Links (dadao.timing.links): transfer times, exchanges, per-link overrides. Times are in
seconds, sizes in bytes."""

from __future__ import annotations

import math

import numpy as np
import pytest

from dadao.errors import ConfigError
from dadao.timing.laws import Constant, Exponential
from dadao.timing.links import LinkOverride, Links, load_link_overrides, message_bytes

from .common import SEED, cycle_edges


def test_transfer_time_is_latency_plus_size_over_bandwidth():
    assert message_bytes(10) == 80 and message_bytes(10, vectors=3) == 240
    links = Links(Constant(0.001), bandwidth=1e9)
    nbytes = message_bytes(1000)
    assert np.array_equal(links.transfer_times(0, 1, nbytes, 3), [0.001 + 8000 / 1e9] * 3)
    assert links.mean_transfer_time(0, 1, nbytes) == 0.001 + 8000 / 1e9
    assert np.array_equal(Links().transfer_times(0, 1, nbytes, 2), [0.0, 0.0])  # idealised
    with pytest.raises(ConfigError):
        Links(bandwidth=0.0)


def test_exchange_times_are_the_slower_direction():
    edges = cycle_edges(5)
    got = Links(Exponential(0.01), seed=SEED).exchange_times(edges, 7, 80)
    fresh = Links(Exponential(0.01), seed=SEED)
    assert got.shape == (7, 5)
    for e, (u, v) in enumerate(edges.tolist()):
        assert np.array_equal(got[:, e], np.maximum(fresh.transfer_times(u, v, 80, 7),
                                                    fresh.transfer_times(v, u, 80, 7)))


def test_link_overrides_from_a_csv(tmp_path):
    path = tmp_path / "links.csv"
    path.write_text("u,v,latency,bandwidth\n1,0,0.25,\n2,3,,inf\n")
    over = load_link_overrides(path, cycle_edges(4))
    assert over == {(0, 1): LinkOverride(0.25, None), (2, 3): LinkOverride(None, math.inf)}
    links = Links(Constant(0.01), bandwidth=100.0, overrides=over)
    assert links.mean_transfer_time(0, 1, 50) == 0.25 + 0.5
    assert links.mean_transfer_time(3, 2, 50) == 0.01
    for text, words in [("u,v,latency\n0,1,1\n", "header"), ("u,v,latency,bandwidth\n0,2,1,1\n",
                        "not an edge"), ("u,v,latency,bandwidth\n0,1,1,1\n1,0,1,1\n", "twice"),
                        ("u,v,latency,bandwidth\n0,1,-1,1\n", "latency must be"),
                        ("u,v,latency,bandwidth\n0,1,1,0\n", "bandwidth must be")]:
        path.write_text(text)
        with pytest.raises(ConfigError, match=words) as info:
            load_link_overrides(path, cycle_edges(4))
        assert info.value.field == "timing.links_path" and "\n" not in str(info.value)

"""The keyed counter-based streams (dadao.counter_rng): Philox4x64-10 bit for bit (Random123's
known answers, numpy's Philox), words addressed by (seed, identity, j), draws by inversion."""

from __future__ import annotations

import numba
import numpy as np
import pytest
import scipy.stats
from scipy.special import ndtri

from dadao import counter_rng
from dadao.counter_rng import CounterStream, exponentials, stream_key, words

# Random123's kat_vectors for philox4x64 10: counter (4 words), key (2 words), expected output.
PI = (0x243f6a8885a308d3, 0x13198a2e03707344, 0xa4093822299f31d0, 0x082efa98ec4e6c89)
KAT = [
    ((0, 0, 0, 0), (0, 0),
     (0x16554d9eca36314c, 0xdb20fe9d672d0fdc, 0xd7e772cee186176b, 0x7e68b68aec7ba23b)),
    ((2**64 - 1,) * 4, (2**64 - 1,) * 2,
     (0x87b092c3013fe90b, 0x438c3c67be8d0224, 0x9cc7d7c69cd777b6, 0xa09caebf594f0ba0)),
    (PI, (0x452821e638d01377, 0xbe5466cf34e90c6c),
     (0xa528f45403e61d95, 0x38c72dbd566e9788, 0xa5a1610e72fd18b5, 0x57bd43b5e52b7fe6)),
]


@numba.njit
def _philox(c0, c1, c2, c3, k0, k1):
    return counter_rng.philox4x64(c0, c1, c2, c3, k0, k1)


@pytest.mark.parametrize("counter, key, expected", KAT)
def test_philox_reproduces_the_random123_known_answers(counter, key, expected):
    got = _philox(*(np.uint64(x) for x in counter + key))
    assert tuple(int(x) for x in got) == expected


@pytest.mark.parametrize("identity", [(0, 7), (1, 3, 9), (2, 4, 3, 9), (8,), (5, 2, 1)])
def test_a_stream_is_numpys_philox_under_its_key_and_counter(identity):
    """Word j of a stream is word j mod 4 of Philox4x64-10((j div 4, a, b, c), (seed, k1)):
    numpy's Philox(key, counter) starts at counter + 1, so block m >= 1 is its first."""
    seed = 2**63 + 12345
    key = stream_key(seed, identity)
    assert int(key[0]) == seed and int(key[1]) == identity[0] + (len(identity) << 32)
    mine = words(seed, identity, 4, 40)
    # (numpy reads a list of Python ints >= 2^63 otherwise: uint64 arrays say what is meant)
    ref = np.random.Philox(key=key[:2], counter=np.concatenate([[np.uint64(0)], key[2:]]))
    assert np.array_equal(mine, ref.random_raw(40))


def test_a_word_depends_only_on_seed_identity_and_position():
    whole = words(3, (1, 2, 5), 0, 50)
    assert np.array_equal(words(3, (1, 2, 5), 13, 37), whole[13:])
    assert not np.array_equal(words(4, (1, 2, 5), 0, 50), whole)      # another seed
    assert not np.array_equal(words(3, (1, 2, 6), 0, 50), whole)      # another edge
    assert not np.array_equal(words(3, (1, 2, 5, 0), 0, 50), whole)   # another length
    assert not np.array_equal(words(3, (0, 2), 0, 50), words(3, (0, 2, 0), 0, 50))


def test_draws_take_one_word_each_whatever_the_blocks():
    a, b = CounterStream(9, (7, 1, 2)), CounterStream(9, (7, 1, 2))
    u = a.random(10)
    assert np.array_equal(np.concatenate([b.random(3), b.random(7)]), u)
    assert a.position == b.position == 10
    k = (words(9, (7, 1, 2), 0, 10) >> np.uint64(11)).astype(np.float64)
    assert np.array_equal(u, k * 2.0**-53) and np.all((u >= 0) & (u < 1))
    # the three laws by inversion, each from the next words of the same stream
    e = a.standard_exponential(5)
    z = a.standard_normal((2, 3))
    x = a.random()
    k = (words(9, (7, 1, 2), 10, 12) >> np.uint64(11)).astype(np.float64)
    assert np.array_equal(e, -np.log((k[:5] + 1) * 2.0**-53))
    assert np.array_equal(z, ndtri((k[5:11] + 0.5) * 2.0**-53).reshape(2, 3))
    assert x == k[11] * 2.0**-53 and isinstance(x, float) and a.position == 22
    assert np.array_equal(exponentials(9, (7, 1, 2), 10, 5), e)


def test_the_draws_have_their_laws():
    s = CounterStream(1, (3, 0, 1))
    m = 20_000
    assert scipy.stats.kstest(s.random(m), "uniform").pvalue > 1e-3
    assert scipy.stats.kstest(s.standard_exponential(m), "expon").pvalue > 1e-3
    assert scipy.stats.kstest(s.standard_normal(m), "norm").pvalue > 1e-3
    p = s.permutation(1000)
    assert np.array_equal(np.sort(p), np.arange(1000)) and not np.array_equal(p, np.arange(1000))
    # positions of element 0 over many permutations: uniform on 0..9
    firsts = [int(np.flatnonzero(s.permutation(10) == 0)[0]) for _ in range(2000)]
    assert scipy.stats.chisquare(np.bincount(firsts, minlength=10)).pvalue > 1e-3


def test_bad_seeds_and_identities_are_refused():
    with pytest.raises(ValueError, match="seed"):
        stream_key(2**64, (0, 1))
    with pytest.raises(ValueError, match="seed"):
        stream_key(-1, (0, 1))
    with pytest.raises(ValueError, match="1 to 4"):
        stream_key(0, (2, 1, 2, 3, 4))
    with pytest.raises(ValueError, match=">= 0"):
        stream_key(0, (1, -2, 3))

"""Keyed counter-based random streams: Philox4x64-10, compiled, addressed by (seed, identity, j).

Philox4x64-10 (Salmon, Moraes, Dror, Shaw, "Parallel random numbers: as easy as 1, 2, 3",
SC'11; the Random123 library) maps a 256-bit counter (c0, c1, c2, c3) and a 128-bit key
(k0, k1) to four 64-bit words by ten rounds of

    (c0, c1, c2, c3) <- (hi(M1 c2) ^ c1 ^ k0,  lo(M1 c2),  hi(M0 c0) ^ c3 ^ k1,  lo(M0 c0))

(hi, lo: the upper and lower 64 bits of the 128-bit product; M0 = 0xD2E7470EE14C6C93,
M1 = 0xCA5A826395121157), the key bumped by (0x9E3779B97F4A7C15, 0xBB67AE8584CAA73B) between
rounds. For a fixed key it is a bijection of the counters, and its outputs pass BigCrush; it is
what numpy's ``Philox`` runs (``Philox(key=k, counter=c)`` starts at block c + 1), and the
tests check it against Random123's known-answer vectors and against numpy.

A stream is named by the run seed and an *identity*, a tuple (kind, a, b, c) of one to four
integers (missing ones are 0; ``dadao.events`` and ``dadao.timing.streams`` list the kinds):

    key      (k0, k1) = (seed, kind + 2^32 len(identity))
    block    B_m      = Philox4x64-10((m, a, b, c), key)
    word     w_j      = word j mod 4 of B_{floor(j / 4)}

so word j of a stream is a pure function of (seed, identity, j): no state but the counter j,
and no two streams share a block (their counters or keys differ). Each draw takes exactly one
word (no rejection), so a stream that has made m draws stands at j = m. With k = w >> 11 (the
top 53 bits):

    uniform on [0, 1)   U = k 2^-53                       (``random``, as numpy's)
    exponential         E = -log((k + 1) 2^-53)            (inversion of U' in (0, 1]; E <= 36.8)
    standard normal     Z = Phi^-1((k + 1/2) 2^-53)        (inversion, scipy's ndtri)

``CounterStream`` hands out one stream's draws in order with the methods of a numpy
``Generator`` that the timing model uses; the Poisson clocks of ``dadao.events`` draw their
exponentials in compiled code from the same functions (``exponential_at``).
"""

from __future__ import annotations

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic
from scipy.special import ndtri

_M0 = np.uint64(0xD2E7470EE14C6C93)
_M1 = np.uint64(0xCA5A826395121157)
_W0 = np.uint64(0x9E3779B97F4A7C15)
_W1 = np.uint64(0xBB67AE8584CAA73B)
_SHIFT = np.uint64(11)
_TWO = np.uint64(2)
_THREE = np.uint64(3)
_2M53 = 2.0 ** -53
#: identities are (kind, a, b, c): at most four integers
MAX_IDENTITY = 4
_U64 = 1 << 64


@intrinsic
def _mulhilo(typingctx, a, b):
    """(hi, lo) of the 128-bit product of two uint64: one multiply instruction."""
    sig = types.UniTuple(types.uint64, 2)(types.uint64, types.uint64)

    def codegen(context, builder, signature, args):
        wide = ir.IntType(128)
        product = builder.mul(builder.zext(args[0], wide), builder.zext(args[1], wide))
        hi = builder.trunc(builder.lshr(product, ir.Constant(wide, 64)), ir.IntType(64))
        lo = builder.trunc(product, ir.IntType(64))
        return context.make_tuple(builder, signature.return_type, [hi, lo])

    return sig, codegen


@numba.njit(cache=True, inline="always")
def philox4x64(c0, c1, c2, c3, k0, k1):
    """Philox4x64-10 of the counter (c0, c1, c2, c3) under the key (k0, k1): four uint64."""
    for _ in range(9):
        hi0, lo0 = _mulhilo(_M0, c0)
        hi1, lo1 = _mulhilo(_M1, c2)
        c0, c1, c2, c3 = hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0
        k0 += _W0
        k1 += _W1
    hi0, lo0 = _mulhilo(_M0, c0)
    hi1, lo1 = _mulhilo(_M1, c2)
    return hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0


@numba.njit(cache=True, inline="always")
def block_word(block, j):
    """Word j mod 4 of a block (a 4-tuple of uint64)."""
    r = j & 3
    if r == 0:
        return block[0]
    if r == 1:
        return block[1]
    if r == 2:
        return block[2]
    return block[3]


@numba.njit(cache=True, inline="always")
def stream_block(key, m):
    """Block m of the stream of ``key`` = (k0, k1, a, b, c) (uint64 array)."""
    return philox4x64(np.uint64(m), key[2], key[3], key[4], key[0], key[1])


@numba.njit(cache=True, inline="always")
def exponential_of(w):
    """E = -log((k + 1) 2^-53), k the top 53 bits of the word w: Exp(1) by inversion."""
    return -np.log((np.float64(w >> _SHIFT) + 1.0) * _2M53)


@numba.njit(cache=True, inline="always")
def word_at(key, j, current, block):
    """(word j, its block's index, the block) of the stream of ``key``, reusing ``block``
    (block ``current``) when word j lies in it."""
    if j >> 2 != current:
        current = j >> 2
        block = stream_block(key, current)
    return block_word(block, j), current, block


_NO_BLOCK = (np.uint64(0), np.uint64(0), np.uint64(0), np.uint64(0))


@numba.njit(cache=True)
def fill_words(key, start, out):
    """out[i] = word start + i of the stream of ``key``."""
    current, block = -1, _NO_BLOCK
    for i in range(out.shape[0]):
        out[i], current, block = word_at(key, start + i, current, block)


@numba.njit(cache=True)
def fill_exponentials(key, start, out):
    """out[i] = the exponential of word start + i of the stream of ``key``."""
    current, block = -1, _NO_BLOCK
    for i in range(out.shape[0]):
        w, current, block = word_at(key, start + i, current, block)
        out[i] = exponential_of(w)


@numba.njit(cache=True)
def fill_family_words(key, members, first, out):
    """out[r, i] = word first + i of the stream whose key is ``key`` with its word a set to
    members[r]: the rows of ``out`` are the streams (kind, members[r], b, c) of a family of
    streams that differ in their first identity word (one per node, say)."""
    member_key = key.copy()
    for r in range(out.shape[0]):
        member_key[2] = np.uint64(members[r])
        current, block = -1, _NO_BLOCK
        for i in range(out.shape[1]):
            out[r, i], current, block = word_at(member_key, first + i, current, block)


def uniforms_of(words: np.ndarray) -> np.ndarray:
    """U = k 2^-53 of each word (k its top 53 bits): uniforms on [0, 1), as ``random``."""
    return (words >> _SHIFT).astype(np.float64) * _2M53


def normals_of(words: np.ndarray) -> np.ndarray:
    """Z = Phi^-1((k + 1/2) 2^-53) of each word: standard normals by inversion, as
    ``standard_normal``."""
    return ndtri(((words >> _SHIFT).astype(np.float64) + 0.5) * _2M53)


def permutation_of(words: np.ndarray) -> np.ndarray:
    """The permutation that sorts the words' top 53 bits (stable: a tie keeps the smaller
    index first), along the last axis: uniformly random for independent words."""
    return np.argsort(words >> _SHIFT, axis=-1, kind="stable").astype(np.int64)


def family_words(seed: int, identity, members, count: int) -> np.ndarray:
    """(len(members), count) uint64: row r holds words 0 .. count - 1 of the stream
    ``identity`` with its second integer (the first after the kind) set to members[r]."""
    members = np.asarray(members, dtype=np.int64)
    if members.size and members.min() < 0:
        raise ValueError("a family's members must be integers >= 0")
    out = np.empty((members.shape[0], int(count)), dtype=np.uint64)
    fill_family_words(stream_key(seed, identity), members, 0, out)
    return out


def stream_key(seed: int, identity) -> np.ndarray:
    """The words (k0, k1, a, b, c) that name the stream of ``identity`` under ``seed`` (module
    docstring), as a uint64 array. ValueError for a seed or an identity out of range."""
    seed = int(seed)
    identity = tuple(int(x) for x in identity)
    if not 0 <= seed < _U64:
        raise ValueError(f"a stream's seed must be an integer in [0, 2^64), got {seed}")
    if not 1 <= len(identity) <= MAX_IDENTITY:
        raise ValueError(f"a stream's identity has 1 to {MAX_IDENTITY} integers, got {identity}")
    if not 0 <= identity[0] < 1 << 32 or any(not 0 <= x < _U64 for x in identity[1:]):
        raise ValueError(f"a stream's identity must be integers >= 0 (the first < 2^32, the "
                         f"others < 2^64), got {identity}")
    rest = identity[1:] + (0,) * (MAX_IDENTITY - len(identity))
    return np.array([seed, identity[0] + (len(identity) << 32), *rest], dtype=np.uint64)


def words(seed: int, identity, start: int, count: int) -> np.ndarray:
    """Words start .. start + count - 1 of a stream (uint64 array)."""
    out = np.empty(int(count), dtype=np.uint64)
    fill_words(stream_key(seed, identity), int(start), out)
    return out


def exponentials(seed: int, identity, start: int, count: int) -> np.ndarray:
    """Exponentials start .. start + count - 1 of a stream: the clocks' E_j."""
    out = np.empty(int(count))
    fill_exponentials(stream_key(seed, identity), int(start), out)
    return out


class CounterStream:
    """One stream's draws in order, with the part of numpy's ``Generator`` API that the timing
    model uses: ``random``, ``standard_exponential``, ``standard_normal``, ``permutation``.
    Every value takes one word (``position``: the words taken so far), so blocks of draws do
    not change the values and the j-th exponential of the stream (0, i) is node i's gradient
    clock's E_j."""

    def __init__(self, seed: int, identity, position: int = 0):
        self.identity = tuple(int(x) for x in identity)
        self.key = stream_key(seed, self.identity)
        self.position = int(position)

    def _take(self, size) -> tuple[int, tuple]:
        shape = () if size is None else (tuple(size) if np.iterable(size) else (int(size),))
        count = int(np.prod(shape, dtype=np.int64))
        start, self.position = self.position, self.position + count
        return start, shape

    def _finish(self, out: np.ndarray, shape: tuple):
        return float(out[0]) if shape == () else out.reshape(shape)

    def _next_words(self, size) -> tuple[np.ndarray, tuple]:
        """(the next words, flat uint64; the shape asked for)."""
        start, shape = self._take(size)
        out = np.empty(int(np.prod(shape, dtype=np.int64)), dtype=np.uint64)
        fill_words(self.key, start, out)
        return out, shape

    def words(self, size=None):
        """The next words (uint64)."""
        out, shape = self._next_words(size)
        return int(out[0]) if shape == () else out.reshape(shape)

    def random(self, size=None):
        """Uniforms on [0, 1): k 2^-53 (``uniforms_of``)."""
        out, shape = self._next_words(size)
        return self._finish(uniforms_of(out), shape)

    def standard_exponential(self, size=None):
        """Exp(1) by inversion, -log((k + 1) 2^-53), computed by the clocks' compiled code."""
        start, shape = self._take(size)
        out = np.empty(int(np.prod(shape, dtype=np.int64)))
        fill_exponentials(self.key, start, out)
        return self._finish(out, shape)

    def standard_normal(self, size=None):
        """N(0, 1) by inversion, Phi^-1((k + 1/2) 2^-53) (``normals_of``)."""
        out, shape = self._next_words(size)
        return self._finish(normals_of(out), shape)

    def permutation(self, n: int) -> np.ndarray:
        """A uniformly random permutation of 0..n-1: the order of n uniforms (n words; a tie,
        of probability below n^2 2^-54, keeps the smaller index first)."""
        out, _ = self._next_words(int(n))
        return permutation_of(out)

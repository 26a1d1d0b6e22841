"""Sums over rows that no split of the rows, and no order of adding them, changes.

A sum of n floating-point numbers depends on the order of its additions; an MPI job adds each
rank's partial sum in an order of its own, and a different number of ranks groups the terms
otherwise. These sums are *reproducible* (pre-rounding in FOLDS folds, as in Demmel and Nguyen,
"Fast reproducible floating-point summation", ARITH 2013): with a bound M >= max_i |v_i| agreed
first, let 2^e > M and W = 52 - ceil(log2(n + 1)). Fold k = 1, 2, 3 rounds each value's
remainder r to the grid g_k = 2^(e - k W) by (r + s_k) - s_k, s_k = 1.5 2^52 g_k, which is exact,
and adds the rounded part q to S_k. Every q of fold k is an integer multiple of g_k of magnitude
at most (2^W + 1) g_k, so S_k, a sum of n of them, stays below 2^53 g_k: it is exact whatever the
order and grouping of the additions. The sum is fl(fl(S_1 + S_2) + S_3), a function of the
multiset of values alone, within n 2^(e - 3W) + 2 eps |sum| of the exact sum.

So each process computes its rows' bounds and folds, the processes combine them (``sums``: a
maximum, then a sum, across processes: ``LocalSums`` in one process, ``RankSums`` of
``dadao.engines.mpi`` across ranks), and every process gets the bits one process holding every
row computes. A value that is not finite makes its bound infinite; the sum is then the plain sum
of the values, whose inf or NaN does not depend on the order either. (Values must stay below
2^1023 / n: the folds must not overflow.)
"""

from __future__ import annotations

import math

import numba
import numpy as np

#: folds of the reproducible sums (module docstring)
FOLDS = 3


class LocalSums:
    """The reductions of one process that holds every row: the identity."""

    @staticmethod
    def max(values: np.ndarray) -> np.ndarray:
        return values

    @staticmethod
    def sum(values: np.ndarray) -> np.ndarray:
        return values


LOCAL = LocalSums()


def fold_width(n: int) -> int:
    """W = 52 - ceil(log2(n + 1)): the bits of a fold for sums of n values."""
    return 52 - math.ceil(math.log2(n + 1))


@numba.njit(cache=True, inline="always")
def bound_of(v):
    """|v|, or inf when v is NaN (a bound must mark every value that is not finite)."""
    a = abs(v)
    return a if a == a else math.inf


@numba.njit(cache=True)
def column_bounds(X, out):
    """out[j] = max_i |X[i, j]| (NaN counted as inf; 0 without rows)."""
    m, k = X.shape
    for j in range(k):
        out[j] = 0.0
    for i in range(m):
        for j in range(k):
            b = bound_of(X[i, j])
            if b > out[j]:
                out[j] = b


@numba.njit(cache=True, inline="always")
def fold_value(v, bound, width, folds, column):
    """Add v to the FOLDS folds folds[:, column] of a sum whose values are bounded by
    ``bound`` (module docstring); a non-finite bound: the plain sum, in folds[0]."""
    if not math.isfinite(bound):
        folds[0, column] += v
        return
    if bound == 0.0:
        return
    _, e = math.frexp(bound)  # bound < 2^e
    r = v
    for k in range(folds.shape[0]):
        s = math.ldexp(1.5, e - (k + 1) * width + 52)
        q = (r + s) - s
        folds[k, column] += q
        r -= q


@numba.njit(cache=True)
def fold_columns(X, bounds, width, folds):
    """folds[:, j] += the folds of column j of X (bounded by bounds[j])."""
    m, k = X.shape
    for i in range(m):
        for j in range(k):
            fold_value(X[i, j], bounds[j], width, folds, j)


def column_sums(blocks, count: int, sums=LOCAL) -> np.ndarray:
    """The reproducible sums over rows of every column of the 2-D arrays ``blocks`` (each
    (m, k_b): this process's rows), concatenated; ``count``: the number of rows over all
    processes (the same for every block). Collective across the processes of ``sums``: one
    maximum and one sum of about FOLDS sum_b k_b numbers."""
    blocks = [np.ascontiguousarray(X, dtype=np.float64) for X in blocks]
    widths = [X.shape[1] for X in blocks]
    ends = np.cumsum([0] + widths)
    bounds = np.empty(ends[-1])
    for X, a, b in zip(blocks, ends[:-1], ends[1:]):
        column_bounds(X, bounds[a:b])
    bounds = sums.max(bounds)
    width = fold_width(count)
    folds = np.zeros((FOLDS, ends[-1]))
    for X, a, b in zip(blocks, ends[:-1], ends[1:]):
        fold_columns(X, bounds[a:b], width, folds[:, a:b])
    folds = sums.sum(folds)
    out = folds[0].copy()
    for k in range(1, FOLDS):
        out += folds[k]
    return out


def streamed_column_sums(blocks, width: int, count: int, sums=LOCAL) -> np.ndarray:
    """``column_sums`` of rows that are made a block at a time and never held together:
    ``blocks()`` yields this process's rows as 2-D arrays of ``width`` columns, the same ones
    each time it is called (twice: once for the bounds, once for the folds). Memory: one
    block, plus FOLDS + 1 numbers per column. The same bits as ``column_sums`` of the
    concatenated rows."""
    bounds = np.zeros(width)
    block_bounds = np.empty(width)
    for X in blocks():
        column_bounds(np.ascontiguousarray(X, dtype=np.float64), block_bounds)
        np.maximum(bounds, block_bounds, out=bounds)
    bounds = sums.max(bounds)
    folds = np.zeros((FOLDS, width))
    fold = fold_width(count)
    for X in blocks():
        fold_columns(np.ascontiguousarray(X, dtype=np.float64), bounds, fold, folds)
    folds = sums.sum(folds)
    out = folds[0].copy()
    for k in range(1, FOLDS):
        out += folds[k]
    return out

"""Sparse matrices of a graph built straight from its canonical edge array, in one compiled pass.

For edges in the canonical order (rows u < v, sorted: ``dadao.graphs.edge_array``) the rows of
the symmetric matrix come out sorted without a sort: row i holds first the lower neighbours w
(from the edges (w, i), met in increasing w), then, for a Laplacian, the diagonal, then the upper
neighbours v (from the edges (i, v), met after every edge of a smaller first node, in increasing
v). The result is the canonical CSR matrix (sorted indices, no duplicates, explicit zeros kept),
entry for entry what scipy's COO-to-CSR conversion builds from the same triples, in O(E) time and
memory instead of a sort of 2E + n triples (about a tenth of the time at E = 10^7).
"""

from __future__ import annotations

import numba
import numpy as np
import scipy.sparse as sp


#: graphs of at least this many edges take the compiled pass
COMPILED_MIN_EDGES = 1 << 16


@numba.njit(cache=True)
def is_canonical(edges) -> bool:
    """Rows u < v, strictly increasing in (u, v)."""
    for e in range(edges.shape[0]):
        u, v = edges[e, 0], edges[e, 1]
        if u >= v:
            return False
        if e and (edges[e - 1, 0] > u or (edges[e - 1, 0] == u and edges[e - 1, 1] >= v)):
            return False
    return True


@numba.njit(cache=True)
def _symmetric(edges, off, diagonal, n, with_diagonal):
    """(indptr, indices, data) of the symmetric matrix with ``off[e]`` at (u, v) and (v, u) and,
    with_diagonal, ``diagonal[i]`` at (i, i)."""
    lower = np.zeros(n, np.int64)
    upper = np.zeros(n, np.int64)
    for e in range(edges.shape[0]):
        upper[edges[e, 0]] += 1
        lower[edges[e, 1]] += 1
    extra = 1 if with_diagonal else 0
    indptr = np.empty(n + 1, np.int64)
    indptr[0] = 0
    for i in range(n):
        indptr[i + 1] = indptr[i] + lower[i] + upper[i] + extra
    nnz = indptr[n]
    indices = np.empty(nnz, np.int64)
    data = np.empty(nnz)
    low = indptr[:n].copy()           # next slot of a lower neighbour of row i
    high = np.empty(n, np.int64)      # next slot of an upper neighbour
    for i in range(n):
        high[i] = indptr[i] + lower[i] + extra
        if with_diagonal:
            slot = indptr[i] + lower[i]
            indices[slot] = i
            data[slot] = diagonal[i]
    for e in range(edges.shape[0]):
        u, v = edges[e, 0], edges[e, 1]
        indices[high[u]] = v
        data[high[u]] = off[e]
        high[u] += 1
        indices[low[v]] = u
        data[low[v]] = off[e]
        low[v] += 1
    return indptr, indices, data


def symmetric_csr(edges: np.ndarray, off: np.ndarray, n: int,
                  diagonal: np.ndarray | None = None) -> sp.csr_matrix:
    """The n x n CSR matrix with ``off[e]`` at (u, v) and (v, u) for every edge e = (u, v) and
    ``diagonal`` on the diagonal (None: no diagonal entries). Canonical edges take the compiled
    pass; any other order goes through scipy (same matrix)."""
    edges = np.ascontiguousarray(edges, dtype=np.int64)
    off = np.ascontiguousarray(off, dtype=np.float64)
    # below COMPILED_MIN_EDGES scipy is as quick, and a process need not load compiled code
    if len(edges) >= COMPILED_MIN_EDGES and is_canonical(edges):
        with_diagonal = diagonal is not None
        diag = (np.ascontiguousarray(diagonal, dtype=np.float64) if with_diagonal
                else np.zeros(0))
        indptr, indices, data = _symmetric(edges, off, diag, n, with_diagonal)
        if indptr[-1] < np.iinfo(np.int32).max:  # the index type scipy itself would choose
            indptr, indices = indptr.astype(np.int32), indices.astype(np.int32)
        A = sp.csr_matrix((data, indices, indptr), shape=(n, n))
        A.has_sorted_indices = True
        A.has_canonical_format = True
        return A
    u, v = edges[:, 0], edges[:, 1]
    rows, cols, data = [u, v], [v, u], [off, off]
    if diagonal is not None:
        nodes = np.arange(n, dtype=np.int64)
        rows.append(nodes)
        cols.append(nodes)
        data.append(np.asarray(diagonal, dtype=np.float64))
    A = sp.csr_matrix((np.concatenate(data), (np.concatenate(rows), np.concatenate(cols))),
                      shape=(n, n))
    A.sort_indices()
    return A


@numba.njit(cache=True)
def _permuted(indptr, indices, data, perm, inverse):
    n = perm.shape[0]
    out_ptr = np.empty(n + 1, np.int64)
    out_ptr[0] = 0
    for i in range(n):
        r = perm[i]
        out_ptr[i + 1] = out_ptr[i] + indptr[r + 1] - indptr[r]
    out_idx = np.empty(out_ptr[n], np.int64)
    out_val = np.empty(out_ptr[n])
    for i in range(n):
        r = perm[i]
        base = out_ptr[i]
        for k in range(indptr[r + 1] - indptr[r]):
            # insertion sort of the row by its new column index (rows have tens of entries)
            j = inverse[indices[indptr[r] + k]]
            x = data[indptr[r] + k]
            p = base + k
            while p > base and out_idx[p - 1] > j:
                out_idx[p] = out_idx[p - 1]
                out_val[p] = out_val[p - 1]
                p -= 1
            out_idx[p] = j
            out_val[p] = x
    return out_ptr, out_idx, out_val


def symmetric_permutation(A: sp.csr_matrix, perm: np.ndarray) -> sp.csr_matrix:
    """P A P^T for the permutation ``perm`` (new row i is old row perm[i]), canonical CSR: the
    matrix ``A[perm][:, perm]`` with its indices sorted, without scipy's two fancy-indexing
    copies and sort (A must have sorted indices and no duplicates)."""
    perm = np.ascontiguousarray(perm, dtype=np.int64)
    inverse = np.empty_like(perm)
    inverse[perm] = np.arange(len(perm), dtype=np.int64)
    indptr, indices, data = _permuted(A.indptr.astype(np.int64), A.indices.astype(np.int64),
                                      np.ascontiguousarray(A.data, dtype=np.float64), perm,
                                      inverse)
    if indptr[-1] < np.iinfo(np.int32).max:
        indptr, indices = indptr.astype(np.int32), indices.astype(np.int32)
    B = sp.csr_matrix((data, indices, indptr), shape=A.shape)
    B.has_sorted_indices = True
    B.has_canonical_format = True
    return B

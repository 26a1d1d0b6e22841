"""Problems from a LIBSVM / svmlight data file, its samples split across the n nodes.

Format, one sample per line: `<label> <index>:<value> <index>:<value> ... [# comment]`. Indices
are one-based by default in LIBSVM; zero_based="auto" treats the file as zero-based when an index
0 occurs (the heuristic of sklearn.datasets.load_svmlight_file). `qid:` tokens are ignored.
Blank lines and lines starting with '#' are skipped. Features are stored densely. The file is
UTF-8 text, with or without a byte order mark.

The file is read in two passes, by every process the same way. Pass 1 (``scan_libsvm``) reads
every line and checks it, and keeps only each sample's label and the smallest and largest
feature index: the number of samples M, the dimension d and the convention of the indices are
then known, and a bad file is refused with the same error by every process, before any of them
waits for another. The shuffle and the split of the samples over the nodes are functions of
(seed, the labels) alone. Pass 2 (``read_rows``) parses into dense rows the lines of the
samples asked for, and skips the others: the whole problem asks for every sample, an MPI rank
building its own nodes' data (``shard``) for its nodes' samples only.

Errors name the config keys: ``problem.path`` for the file, ``graph.n`` for the number of nodes
the samples are split over (a libsvm problem has no n of its own).
"""

from __future__ import annotations

import math
import numbers
from array import array
from dataclasses import dataclass
from pathlib import Path

import numba
import numpy as np

from dadao import memory
from dadao.input_files import regular_file
# the folds of dadao.reproducible, applied to the nonzero products only (``sample_gram``)
from dadao.reproducible import FOLDS, LOCAL, fold_value, bound_of, fold_width

from ._checks import check_choice, resolve_seed
from .streams import shared_stream
from . import base
from .base import ProblemError
from .shards import everywhere, held_nodes
from .synthetic import LOGISTIC_REG_FACTOR, stacked_rows_problem

#: the most matrix entries a process holds densely (its samples x d)
MAX_DENSE_ENTRIES = 200_000_000


@dataclass(frozen=True)
class LibsvmFile:
    """What pass 1 keeps of a LIBSVM file: ``labels`` (M,) float64 (sample s is the s-th sample
    line), the dimension ``dim`` and whether the indices are ``zero_based``."""

    path: Path
    labels: np.ndarray
    dim: int
    zero_based: bool

    @property
    def samples(self) -> int:
        return self.labels.shape[0]


def _sample_tokens(line: str):
    """The tokens of a sample line, or None for a blank or comment line."""
    line = line.split("#", 1)[0].strip()
    return line.split() if line else None


def _parse_line(tokens, path, lineno):
    """(label, indices, values) of a sample line's tokens, checked; ProblemError naming the
    line otherwise. Pass 1 calls it on every sample line, pass 2 on those of the samples
    read."""
    try:
        label = float(tokens[0])
    except ValueError:
        raise ProblemError(f"{path}, line {lineno}: label {tokens[0]!r} is not a number",
                           field="problem.path") from None
    if not math.isfinite(label):
        raise ProblemError(f"{path}, line {lineno}: label {tokens[0]!r} is not finite",
                           field="problem.path")
    indices, values = [], []
    for tok in tokens[1:]:
        if tok.startswith("qid:"):
            continue
        idx, sep, val = tok.partition(":")
        try:
            if not sep:
                raise ValueError
            j = int(idx)
            v = float(val)
        except ValueError:
            raise ProblemError(f"{path}, line {lineno}: expected <index>:<value>, got {tok!r}",
                               field="problem.path") from None
        if j < 0 or not math.isfinite(v):
            raise ProblemError(f"{path}, line {lineno}: bad feature {tok!r}",
                               field="problem.path")
        indices.append(j)
        values.append(v)
    return label, indices, values


def _lines(path: Path):
    """(line number, tokens) of the sample lines of the file; the file's read errors as
    ProblemError."""
    try:
        with open(path, encoding="utf-8-sig") as fh:
            for lineno, line in enumerate(fh, start=1):
                tokens = _sample_tokens(line)
                if tokens is not None:
                    yield lineno, tokens
    except UnicodeDecodeError:
        raise ProblemError(f"{path} is not a text LIBSVM file", field="problem.path") from None
    except OSError as e:
        raise ProblemError(f"cannot read {path}: {e.strerror}", field="problem.path") from None


def scan_libsvm(path, *, zero_based="auto") -> LibsvmFile:
    """Pass 1: check every line of a LIBSVM file, and keep its labels, dimension and index
    convention (O(M) memory: no feature is kept)."""
    path = Path(regular_file(path, "data file", ProblemError, missing="no such data file",
                             field="problem.path"))
    labels = array("d")  # 8 bytes a sample
    low, high = math.inf, -1
    for lineno, tokens in _lines(path):
        label, indices, _ = _parse_line(tokens, path, lineno)
        labels.append(label)
        if indices:
            low, high = min(low, min(indices)), max(high, max(indices))
    if not labels:
        raise ProblemError(f"{path} contains no samples", field="problem.path")
    if zero_based == "auto":
        zero_based = low == 0
    if not zero_based and low == 0:
        raise ProblemError(f"{path} has feature index 0 but zero_based=False",
                           field="problem.path")
    d = 0 if high < 0 else high + (1 if zero_based else 0)
    if d == 0:
        raise ProblemError(f"{path} has no features", field="problem.path")
    return LibsvmFile(path, np.frombuffer(labels, dtype=np.float64).copy(), int(d),
                      bool(zero_based))


def read_rows(data: LibsvmFile, samples) -> np.ndarray:
    """Pass 2: (len(samples), d) C-contiguous float64, row k the features of sample
    ``samples[k]`` (distinct sample numbers), parsed from those samples' lines only; the file
    is read up to the last of them."""
    samples = np.asarray(samples, dtype=np.int64)
    X = np.zeros((len(samples), data.dim))
    if not len(samples):
        return X
    by_line = np.argsort(samples, kind="stable")
    wanted = samples[by_line].tolist()  # the samples to parse, in the file's order
    slots = by_line.tolist()            # and their rows in X
    shift = 0 if data.zero_based else 1
    rows, cols, vals = [], [], []
    k, sample = 0, -1
    for lineno, tokens in _lines(data.path):
        sample += 1
        if sample != wanted[k]:
            continue
        _, indices, values = _parse_line(tokens, data.path, lineno)
        rows.extend([slots[k]] * len(indices))
        cols.extend(indices)
        vals.extend(values)
        k += 1
        if k == len(wanted):
            break
    if k < len(wanted):
        raise ProblemError(f"{data.path} changed while it was read ({sample + 1} samples, "
                           f"{data.samples} before)", field="problem.path")
    X[np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64) - shift] = vals
    return X


def read_libsvm(path, *, zero_based="auto"):
    """(X (M, d) float64 dense, y (M,) float64, zero_based: bool) from a LIBSVM file."""
    data = scan_libsvm(path, zero_based=zero_based)
    X = _held_rows(data, np.arange(data.samples, dtype=np.int64), None)
    return X, data.labels, data.zero_based


def _held_rows(data: LibsvmFile, samples, shard) -> np.ndarray:
    """``read_rows`` of the samples this process holds, once every process of ``shard`` has
    room for its own (checked together: a process that alone refused would leave the others
    waiting for it in the sums that follow)."""
    M, d, held = data.samples, data.dim, len(samples)
    what = (f"{data.path} ({M:,} samples x {d:,} features" if held == M else
            f"this process's {held:,} of the {M:,} samples of {data.path} (x {d:,} features")
    refusal = None
    if held * d > MAX_DENSE_ENTRIES:
        refusal = ProblemError(
            f"{data.path} is too large to store densely ({M} samples x {d} features)"
            if held == M else f"{what}) are too many to store densely",
            field="problem.path")
    else:
        try:
            memory.require(memory.dense_data_bytes(held, d), f"{what}, stored densely)",
                           ProblemError, field="problem.path")
        except ProblemError as exc:
            refusal = exc
    if not everywhere(refusal is None, shard):
        raise refusal or ProblemError(
            f"{data.path}: another process has no room for the rows of its nodes (it says "
            f"why); use more processes or fewer samples", field="problem.path")
    return read_rows(data, samples)


@numba.njit(cache=True, inline="always")
def _upper_index(p, q, d):
    """The place of entry (p, q), p <= q, of a d x d upper triangle stored row after row."""
    return p * d - p * (p - 1) // 2 + q - p


@numba.njit(cache=True)
def _nonzeros(A, s, nz):
    """The columns of the nonzero entries of row s of A into nz (increasing); their count."""
    k = 0
    for p in range(A.shape[1]):
        if A[s, p] != 0.0:
            nz[k] = p
            k += 1
    return k


@numba.njit(cache=True)
def _gram_pass(A, bounds, width, folds):
    """One pass over the products a_p a_q of the nonzero entries of each row a of A, t = (p, q)
    of the upper triangle. ``width`` 0 (the first pass): bounds[t] = max(bounds[t], |a_p a_q|)
    (``column_bounds`` of the per-sample outer products, whose zeros change no maximum); else
    folds[:, t] += the folds of a_p a_q under the agreed bounds (``fold_columns``; a zero adds
    nothing to a fold). The same bits as the dense outer products, M nnz^2 / 2 work instead of
    M d^2 / 2; each product is one rounding, wherever the rows lie in memory."""
    d = A.shape[1]
    nz = np.empty(d, dtype=np.int64)
    for s in range(A.shape[0]):
        k = _nonzeros(A, s, nz)
        for u in range(k):
            p = nz[u]
            ap = A[s, p]
            for v in range(u, k):
                q = nz[v]
                t = _upper_index(p, q, d)
                product = ap * A[s, q]
                if width == 0:
                    b = bound_of(product)
                    if b > bounds[t]:
                        bounds[t] = b
                else:
                    fold_value(product, bounds[t], width, folds, t)


def sample_gram(A: np.ndarray, count: int, sums=LOCAL) -> np.ndarray:
    """G = sum_s a_s a_s^T (d, d), symmetric, over the ``count`` samples of every process (this
    process's rows A (m, d), the others' through ``sums``): a reproducible sum over samples,
    the bits of ``streamed_column_sums`` of the per-sample outer products' upper triangles
    (``dadao.reproducible``: one maximum and one sum across the processes), so no split of the
    samples over nodes or processes, and no order of them, changes a bit of it. The products
    of zero entries are skipped (sparse files cost their nonzeros only). Memory: G and the
    folds of its upper triangle, (FOLDS + 2) d (d + 1) / 2 numbers."""
    A = np.ascontiguousarray(A, dtype=np.float64)
    d = A.shape[1]
    width = d * (d + 1) // 2
    bounds = np.zeros(width)
    folds = np.zeros((FOLDS, width))
    _gram_pass(A, bounds, 0, folds)
    bounds = sums.max(bounds)
    _gram_pass(A, bounds, fold_width(count), folds)
    folds = sums.sum(folds)
    upper = folds[0].copy()  # combined as streamed_column_sums combines them
    for k in range(1, FOLDS):
        upper += folds[k]
    G = np.empty((d, d))
    i, j = np.triu_indices(d)
    G[i, j] = upper
    G[j, i] = upper
    return G


def default_logistic_reg(A: np.ndarray, count: int, shard=None) -> float:
    """reg = LOGISTIC_REG_FACTOR lambda_max(G) / (4 M), G = sum_s a_s a_s^T = X^T X over the M =
    ``count`` samples of the file (``sample_gram``; lambda_max by ``numpy.linalg.eigvalsh``):
    the same bits at any split, iid or by label, of the samples, on every process. Above
    CURVATURE_MAX_DIM (the whole problem only: d x d does not fit) lambda_max = ||X||_2^2 of
    the rows as held, by numpy's spectral norm."""
    d = A.shape[1]
    if d > base.CURVATURE_MAX_DIM and shard is None:
        lmax = float(np.linalg.norm(A, 2) ** 2)
    else:
        G = sample_gram(A, count, LOCAL if shard is None else shard.sums)
        lmax = float(np.linalg.eigvalsh(G)[-1])
    return LOGISTIC_REG_FACTOR * lmax / (4.0 * count)


def libsvm(
    path, n, *, loss="logistic", split="iid", reg=None, seed=None, zero_based="auto",
    form="auto", shard=None
):
    """The samples of a LIBSVM file split over n nodes, with a logistic or least-squares loss.

    split="iid": random shuffle, then n near-equal contiguous chunks. split="label": shuffle, sort
    by label (stable), then n near-equal contiguous chunks, so most nodes see a single label
    (non-iid). loss="logistic" maps the two distinct labels to -1 (smaller) and +1 (larger).
    reg=None: 0 for least squares; for logistic 0.1 lambda_max(G)/(4 M), G = sum_s a_s a_s^T
    over all M samples a_s (``default_logistic_reg``), so that the iid and label splits of a
    file solve the same problem. form: oracle representation of least squares (see
    rows_problem). ``shard``: build the nodes of a ``Shard`` only (``dadao.problems.shards``):
    every process reads the whole file once to check it (pass 1, module docstring) and
    parses the lines of its nodes' samples only; a logistic loss needs d <= CURVATURE_MAX_DIM
    there. Name: "libsvm:<file name>:<loss>".

    The shuffle is the shared stream 0 of the seed (``shared_stream(seed, 0).permutation(M)``),
    node i's samples the i-th of the n chunks (``numpy.array_split``), its rows in that order.
    """
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
        raise ProblemError(f"the number of nodes must be an integer >= 1, got {n!r}",
                           field="graph.n")
    loss = check_choice("loss", loss, ("logistic", "least_squares"))
    split = check_choice("split", split, ("iid", "label"))
    check_choice("zero_based", zero_based, ("auto", True, False))
    seed = resolve_seed(seed)
    nodes = held_nodes(n, shard)
    # every check up to the rows is a function of the file and the arguments: each process
    # refuses the same file with the same error, before any of them waits for the others
    data = scan_libsvm(path, zero_based=zero_based)
    M, d, y = data.samples, data.dim, data.labels
    if M < n:
        raise ProblemError(f"{path} has {M} samples, fewer than n = {n} nodes (the graph's; "
                           f"every node needs one)", field="graph.n")
    if loss == "logistic":
        values = np.unique(y)
        if values.size != 2:
            shown = ", ".join(f"{v:g}" for v in values[:5]) + (", ..." if values.size > 5 else "")
            raise ProblemError(
                f"{path}: logistic loss needs exactly two distinct labels,"
                f" found {values.size} ({shown})", field="problem.path")
        y = np.where(y == values[1], 1.0, -1.0)
        if shard is not None and d > base.CURVATURE_MAX_DIM:
            raise ProblemError(
                f"{path} has {d:,} features: a logistic problem above dim = "
                f"{base.CURVATURE_MAX_DIM:,} is built whole (Newton's method for its x* "
                f"needs the d x d Hessian); set mpi.data = \"whole\"",
                field="mpi.data")
    order = shared_stream(seed, 0).permutation(M)  # the shuffle: a pure function of (seed, M)
    if split == "label":
        order = order[np.argsort(y[order], kind="stable")]
    chunks = np.array_split(order, n)
    counts = np.array([len(c) for c in chunks], dtype=np.int64)
    # every process knows every chunk: the fewest samples of a node is the same everywhere
    if loss == "least_squares" and (reg is None or reg == 0) and counts.min() < d:
        raise ProblemError(
            f"least squares on {path} with {M} samples over n = {n} nodes leaves"
            f" {counts.min()} samples on a node for dim = {d}: not strongly convex;"
            " set reg > 0 or use fewer nodes", field="problem.reg")
    samples = (np.concatenate([chunks[i] for i in nodes]) if len(nodes)
               else np.zeros(0, dtype=np.int64))
    offsets = np.concatenate([[0], np.cumsum(counts[nodes])]).astype(np.int64)
    A = _held_rows(data, samples, shard)
    b = y[samples]
    if loss == "logistic" and reg is None:
        reg = default_logistic_reg(A, M, shard)
        if reg == 0.0:
            raise ProblemError(f"{path}: every feature is zero; set reg > 0",
                               field="problem.reg")
    params = {
        "kind": "libsvm", "path": str(path), "n": n, "loss": loss, "split": split,
        "zero_based": data.zero_based, "seed": seed,
    }
    return stacked_rows_problem(
        f"libsvm:{Path(path).name}:{loss}", A, b, offsets, loss=loss, reg=reg, params=params,
        form=form, shard=shard)

"""Problems from a LIBSVM / svmlight data file, its samples split across the n nodes.

Format, one sample per line: `<label> <index>:<value> <index>:<value> ... [# comment]`. Indices
are one-based by default in LIBSVM; zero_based="auto" treats the file as zero-based when an index
0 occurs (the heuristic of sklearn.datasets.load_svmlight_file). `qid:` tokens are ignored.
Blank lines and lines starting with '#' are skipped. Features are stored densely. The file is
UTF-8 text, with or without a byte order mark.

Errors name the config keys: ``problem.path`` for the file, ``graph.n`` for the number of nodes
the samples are split over (a libsvm problem has no n of its own).
"""

import math
import numbers
from pathlib import Path

import numpy as np

from dadao import memory
from dadao.input_files import regular_file

from ._checks import check_choice, resolve_seed
from .streams import shared_stream
from .base import ProblemError
from .synthetic import LOGISTIC_REG_FACTOR, rows_problem

MAX_DENSE_ENTRIES = 200_000_000


def read_libsvm(path, *, zero_based="auto"):
    """(X (M, d) float64 dense, y (M,) float64, zero_based: bool) from a LIBSVM file."""
    path = Path(regular_file(path, "data file", ProblemError, missing="no such data file",
                             field="problem.path"))
    labels, rows, cols, vals = [], [], [], []
    try:
        with open(path, encoding="utf-8-sig") as fh:
            for lineno, line in enumerate(fh, start=1):
                line = line.split("#", 1)[0].strip()
                if not line:
                    continue
                tokens = line.split()
                where = f"{path}, line {lineno}"
                try:
                    label = float(tokens[0])
                except ValueError:
                    raise ProblemError(f"{where}: label {tokens[0]!r} is not a number",
                                       field="problem.path") from None
                if not math.isfinite(label):
                    raise ProblemError(f"{where}: label {tokens[0]!r} is not finite",
                                       field="problem.path")
                r = len(labels)
                labels.append(label)
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
                        raise ProblemError(
                            f"{where}: expected <index>:<value>, got {tok!r}",
                            field="problem.path") from None
                    if j < 0 or not math.isfinite(v):
                        raise ProblemError(f"{where}: bad feature {tok!r}", field="problem.path")
                    rows.append(r)
                    cols.append(j)
                    vals.append(v)
    except UnicodeDecodeError:
        raise ProblemError(f"{path} is not a text LIBSVM file", field="problem.path") from None
    except OSError as e:
        raise ProblemError(f"cannot read {path}: {e.strerror}", field="problem.path") from None
    if not labels:
        raise ProblemError(f"{path} contains no samples", field="problem.path")
    cols = np.asarray(cols, dtype=np.int64)
    if zero_based == "auto":
        zero_based = bool(cols.size and cols.min() == 0)
    if not zero_based:
        if cols.size and cols.min() == 0:
            raise ProblemError(f"{path} has feature index 0 but zero_based=False",
                               field="problem.path")
        cols = cols - 1
    M = len(labels)
    d = int(cols.max()) + 1 if cols.size else 0
    if d == 0:
        raise ProblemError(f"{path} has no features", field="problem.path")
    if M * d > MAX_DENSE_ENTRIES:
        raise ProblemError(
            f"{path} is too large to store densely ({M} samples x {d} features)",
                           field="problem.path")
    memory.require(memory.dense_data_bytes(M, d), f"{path} ({M:,} samples x {d:,} features, "
                   f"stored densely)", ProblemError, field="problem.path")
    X = np.zeros((M, d))
    X[np.asarray(rows, dtype=np.int64), cols] = vals
    return X, np.asarray(labels), zero_based


def libsvm(
    path, n, *, loss="logistic", split="iid", reg=None, seed=None, zero_based="auto", form="auto"
):
    """The samples of a LIBSVM file split over n nodes, with a logistic or least-squares loss.

    split="iid": random shuffle, then n near-equal contiguous chunks. split="label": shuffle, sort
    by label (stable), then n near-equal contiguous chunks, so most nodes see a single label
    (non-iid). loss="logistic" maps the two distinct labels to -1 (smaller) and +1 (larger).
    reg=None: 0 for least squares; for logistic 0.1 lambda_max(A^T A)/(4 M) of the whole data
    set (A all M samples), so that the iid and label splits of a file solve the same problem.
    form: oracle representation of least squares (see rows_problem). Name:
    "libsvm:<file name>:<loss>".
    """
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
        raise ProblemError(f"the number of nodes must be an integer >= 1, got {n!r}",
                           field="graph.n")
    loss = check_choice("loss", loss, ("logistic", "least_squares"))
    split = check_choice("split", split, ("iid", "label"))
    check_choice("zero_based", zero_based, ("auto", True, False))
    seed = resolve_seed(seed)
    X, y, zero_based = read_libsvm(path, zero_based=zero_based)
    M, d = X.shape
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
        if reg is None:
            reg = LOGISTIC_REG_FACTOR * np.linalg.norm(X, 2) ** 2 / (4.0 * M)
            if reg == 0.0:
                raise ProblemError(f"{path}: every feature is zero; set reg > 0",
                                   field="problem.reg")
    order = shared_stream(seed, 0).permutation(M)  # the shuffle: a pure function of (seed, M)
    if split == "label":
        order = order[np.argsort(y[order], kind="stable")]
    chunks = np.array_split(order, n)
    if loss == "least_squares" and (reg is None or reg == 0) and min(map(len, chunks)) < d:
        raise ProblemError(
            f"least squares on {path} with {M} samples over n = {n} nodes leaves"
            f" {min(map(len, chunks))} samples on a node for dim = {d}: not strongly convex;"
            " set reg > 0 or use fewer nodes", field="problem.reg")
    params = {
        "kind": "libsvm", "path": str(path), "n": n, "loss": loss, "split": split,
        "zero_based": zero_based, "seed": seed,
    }
    return rows_problem(
        f"libsvm:{Path(path).name}:{loss}",
        [X[c] for c in chunks],
        [y[c] for c in chunks],
        loss=loss,
        reg=reg,
        params=params,
        form=form,
    )

"""A LIBSVM problem built in shards, one per rank, is the whole problem: the same constants, x*,
f*, default reg and curvature root bit for bit on every rank, each rank holding the rows of its
own nodes' samples only (bit for bit the whole problem's), and parsing no other line.

The ranks are threads (tests/helpers/thread_ranks.py) combining their sums in an arbitrary
order, as MPI may; tests/engines/test_mpi.py runs a LIBSVM problem under mpiexec.
"""

import importlib
import threading

import numpy as np
import pytest

from dadao import memory
from dadao.errors import ProblemError
from dadao.problems import libsvm
from dadao.problems.oracle import QUADRATIC
from dadao.problems.shards import Shard
from dadao.problems.streams import shared_stream
from dadao.reproducible import streamed_column_sums
from helpers.thread_ranks import on_thread_ranks

from .test_problems import write_libsvm
from .test_shards import (assert_the_whole_problems_gradients,
                          assert_the_whole_problems_numbers, each_shard)

# the module (the package's attribute of that name is the constructor)
libsvm_module = importlib.import_module("dadao.problems.libsvm")

#: a file of 103 samples: over 7 nodes, five of 15 samples and two of 14
SAMPLES = 103


def write_file(path, n_samples=SAMPLES, dim=5, **options):
    """``write_libsvm`` of 103 samples x 5 features by default (so the nodes' chunks differ)."""
    return write_libsvm(path, n_samples, dim, **options)


CASES = {
    "logistic_iid": dict(n=7, loss="logistic", split="iid", seed=2),
    "logistic_label": dict(n=7, loss="logistic", split="label", seed=2),
    "logistic_zero_based_reg": dict(n=6, loss="logistic", split="label", seed=4, reg=0.05,
                                    file=dict(zero_based=True, labels=(1, 2), seed=5)),
    "least_squares_iid_hessian_form": dict(n=7, loss="least_squares", split="iid", seed=3),
    "least_squares_label_hessian_form": dict(n=9, loss="least_squares", split="label", seed=1,
                                             file=dict(comments=True, seed=2)),
    "least_squares_rows": dict(n=8, loss="least_squares", split="label", seed=6, reg=0.2,
                               file=dict(dim=30, seed=7)),
}


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("libsvm")
    out = {}
    for name, case in CASES.items():
        out[name] = folder / f"{name}.svm"
        write_file(out[name], **case.get("file", {}))
    return out


def maker(path, case):
    args = {k: v for k, v in case.items() if k not in ("file", "n")}
    return lambda shard=None: libsvm(path, case["n"], shard=shard, **args)


def node_rows(o, r):
    """(A, b) of the node in row r of a rows oracle."""
    lo, hi = o.offsets[r], o.offsets[r + 1]
    return o.A[lo:hi], o.b[lo:hi]


@pytest.mark.parametrize("name", list(CASES))
def test_shards_of_a_libsvm_file_build_the_whole_problem_on_every_rank(name, files):
    make = maker(files[name], CASES[name])
    whole = make()
    rows_form = whole.oracle.kind != QUADRATIC
    assert rows_form == (name.startswith("logistic") or name == "least_squares_rows")
    m = np.diff(whole.oracle.offsets) if rows_form else None
    if rows_form:
        assert m.max() - m.min() == 1  # unequal chunks
    for part, P in each_shard(make, whole.n):
        assert np.array_equal(P.nodes, part)
        assert_the_whole_problems_numbers(P, whole)
        o, w = P.oracle, whole.oracle
        if rows_form:  # exactly the rows of its nodes, the whole problem's bits
            assert o.offsets.shape == (len(part) + 1,) and o.A.shape[0] == m[part].sum()
            for r, i in enumerate(part):
                A, b = node_rows(o, r)
                A_whole, b_whole = node_rows(w, i)
                assert np.array_equal(A, A_whole) and np.array_equal(b, b_whole)
        else:
            assert o.H.shape[0] == len(part)
            assert np.array_equal(o.H, w.H[part]) and np.array_equal(o.c, w.c[part])
        assert_the_whole_problems_gradients(P, whole, part)


def test_the_default_reg_is_the_spectral_norm_of_every_sample_at_any_split(tmp_path):
    """reg = 0.1 lambda_max(sum_s a_s a_s^T) / (4 M): numpy's 0.1 ||X||_2^2 / (4 M) up to
    rounding, and the same bits whatever the split (iid, by label), the seed of the shuffle
    and the number of nodes, since the sum is over samples, reproducibly."""
    path = tmp_path / "d.svm"
    X, _ = write_file(path, n_samples=150, dim=6, seed=9)
    regs = {libsvm(path, n, split=split, seed=seed).params["reg"]
            for n in (3, 7) for split in ("iid", "label") for seed in (0, 1)}
    assert len(regs) == 1
    [reg] = regs
    assert reg == pytest.approx(0.1 * np.linalg.norm(X, 2) ** 2 / (4 * 150), rel=1e-12)
    # G: the reproducible sum over samples of their outer products (zeros skipped, the same
    # bits), in any order of the samples
    G = libsvm_module.sample_gram(np.ascontiguousarray(X[::-1]), 150)
    np.testing.assert_allclose(G, X.T @ X, rtol=1e-13, atol=1e-13)
    assert reg == 0.1 * np.linalg.eigvalsh(G)[-1] / (4 * 150)
    i, j = np.triu_indices(6)
    upper = streamed_column_sums(lambda: [X[:, i] * X[:, j]], len(i), 150)
    assert np.array_equal(G[i, j], upper) and np.array_equal(G[j, i], upper)


def _errors_on_ranks(make, P):
    """The one-line message of the ProblemError each of P thread ranks raises."""
    def work(r, sums):
        with pytest.raises(ProblemError) as info:
            make(Shard(7, np.array_split(np.arange(7), P)[r], sums))
        return info.value.field, str(info.value)

    return on_thread_ranks(P, list(range(P)), work)


@pytest.mark.parametrize("text, words", [
    ("{good}-1 1:0.5 2:abc\n{good}", ["line 104", "'2:abc'"]),
    ("{good}# a comment\n1 1:0.5 -3:1\n", ["line 105", "'-3:1'"]),
    ("{good}yes 1:0.5\n", ["line 104", "label 'yes'"]),
    ("{good}2 1:0.5\n", ["two distinct labels, found 3"]),
    ("1 1:1 2:0.5\n-1 1:2\n" * 3, ["6 samples, fewer than n = 7"]),
])
def test_a_bad_file_raises_the_same_error_on_every_rank(tmp_path, text, words):
    """Pass 1 reads and checks the whole file on every rank before any rank waits for
    another: each raises the error of the whole problem, none hangs."""
    good_path = tmp_path / "good.svm"
    write_file(good_path)
    path = tmp_path / "bad.svm"
    path.write_text(text.replace("{good}", good_path.read_text()))
    with pytest.raises(ProblemError) as info:
        libsvm(path, 7)
    expected = (info.value.field, str(info.value))
    assert "\n" not in expected[1] and all(w in expected[1] for w in words), expected
    for P in (2, 3):
        assert _errors_on_ranks(lambda shard: libsvm(path, 7, shard=shard), P) == [expected] * P


def test_pass_2_parses_the_lines_of_the_nodes_samples_only(tmp_path, monkeypatch):
    """Each rank checks every sample line once (pass 1), then parses again the lines of its own
    nodes' samples, and no other (pass 2)."""
    path = tmp_path / "d.svm"
    write_file(path, comments=True)
    lines = [k for k, line in enumerate(path.read_text().splitlines(), start=1)
             if line and not line.startswith("#")]  # the line of each sample
    parse = libsvm_module._parse_line
    calls = {}

    def counting(tokens, path, lineno):
        calls.setdefault(threading.current_thread().name, []).append(lineno)
        return parse(tokens, path, lineno)

    monkeypatch.setattr(libsvm_module, "_parse_line", counting)
    whole = libsvm(path, 7, loss="least_squares", form="rows", seed=3)
    [everything] = calls.values()
    assert sorted(everything) == sorted(lines + lines)  # the whole problem parses every line
    calls.clear()
    parts = [np.array([0, 4, 5]), np.array([1, 2, 3, 6])]
    names = on_thread_ranks(2, [0, 1], lambda r, sums: (
        libsvm(path, 7, loss="least_squares", form="rows", seed=3,
               shard=Shard(7, parts[r], sums)), threading.current_thread().name)[1])
    chunks = np.array_split(shared_stream(3, 0).permutation(SAMPLES), 7)  # node i's samples
    assert np.array_equal(np.diff(whole.oracle.offsets), [len(c) for c in chunks])
    for part, name in zip(parts, names):
        first, second = calls[name][:SAMPLES], calls[name][SAMPLES:]
        assert first == lines  # pass 1: every sample line, in order
        held = np.sort(np.concatenate([chunks[i] for i in part]))
        assert second == [lines[s] for s in held]  # pass 2: the nodes' samples' lines only
    assert sum(len(calls[name]) - SAMPLES for name in names) == SAMPLES


def test_a_shard_holds_and_checks_the_memory_of_its_own_rows(tmp_path, monkeypatch):
    """The memory check is of the rows a process holds: shards of a file too large for one
    process build; where one process has no room, every process refuses (the others say
    so), none waits for it."""
    path = tmp_path / "d.svm"
    write_file(path)  # 103 samples x 5 features: 24 bytes an entry while read
    monkeypatch.setattr(memory, "available_bytes", lambda: 24.0 * 5 * 70)
    with pytest.raises(ProblemError, match=r"^problem\.path: .*d\.svm \(103 samples x 5 "
                                           r"features, stored densely\) needs about"):
        libsvm(path, 7)
    parts = np.array_split(np.arange(7), 2)  # 60 and 43 samples
    shards = on_thread_ranks(2, [1, 0], lambda r, sums: libsvm(path, 7, seed=0, shard=Shard(
        7, parts[r], sums)))
    assert [P.oracle.A.shape[0] for P in shards] == [60, 43]
    monkeypatch.setattr(memory, "available_bytes", lambda: 24.0 * 5 * 50)
    [(_, first), (_, second)] = _errors_on_ranks(
        lambda shard: libsvm(path, 7, seed=0, shard=shard), 2)
    assert "this process's 60 of the 103 samples" in first and "needs about" in first
    assert "another process has no room for the rows of its nodes" in second


def test_a_shard_of_a_logistic_file_above_the_root_dimension_is_refused(tmp_path, monkeypatch):
    """Above CURVATURE_MAX_DIM (lowered here to 4) Newton's method for a logistic x* needs
    every node's rows: a shard is refused on every rank, naming mpi.data; the whole problem
    builds (its reg from numpy's spectral norm), and least squares in shards too."""
    import dadao.problems.base as base

    path = tmp_path / "d.svm"
    X, _ = write_file(path)
    monkeypatch.setattr(base, "CURVATURE_MAX_DIM", 4)
    whole = libsvm(path, 7)
    assert whole.params["reg"] == pytest.approx(
        0.1 * np.linalg.norm(X, 2) ** 2 / (4 * SAMPLES), rel=1e-12)
    for field, line in _errors_on_ranks(lambda shard: libsvm(path, 7, shard=shard), 2):
        assert field == "mpi.data" and "\n" not in line
        assert "has 5 features: a logistic problem above dim = 4 is built whole" in line
        assert 'set mpi.data = "whole"' in line
    ls = libsvm(path, 7, loss="least_squares", form="rows", seed=1)
    shards = on_thread_ranks(2, [1, 0], lambda r, sums: libsvm(
        path, 7, loss="least_squares", form="rows", seed=1,
        shard=Shard(7, np.array_split(np.arange(7), 2)[r], sums)))
    assert ls.curvature_root is None
    assert all(np.array_equal(P.x_star, ls.x_star) and P.f_star == ls.f_star for P in shards)


def test_shards_with_the_known_numbers_read_their_rows_and_solve_nothing(tmp_path):
    """What each MPI rank builds once the partition is known: its nodes' rows, with the
    numbers of the summary built before (the reg the config then holds)."""
    from dadao.problems.shards import summary_of

    path = tmp_path / "d.svm"
    write_file(path)
    whole = libsvm(path, 7, seed=5)
    summary = summary_of(whole)
    parts = [np.array([1, 4, 5]), np.array([0, 2, 3, 6])]
    shards = on_thread_ranks(2, [1, 0], lambda r, sums: libsvm(
        path, 7, seed=5, reg=whole.params["reg"], shard=Shard(7, parts[r], sums,
                                                             numbers=summary)))
    for part, P in zip(parts, shards):
        assert P.x_star is summary.x_star and P.params == whole.params
        for r, i in enumerate(part):
            assert np.array_equal(node_rows(P.oracle, r)[0], node_rows(whole.oracle, i)[0])

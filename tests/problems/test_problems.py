"""Tests of dadao.problems: oracles, constants, x*, constructors, errors, LIBSVM files."""

import warnings

import numba
import numpy as np
import pytest
import scipy.optimize

from dadao.problems import (
    LEAST_SQUARES,
    LOGISTIC,
    QUADRATIC,
    Oracle,
    Problem,
    ProblemError,
    averaging,
    least_squares,
    libsvm,
    local_conjugate_gradient,
    local_gradient,
    local_value,
    logistic,
    make_problem,
    quadratic,
    read_libsvm,
)

# ---------------------------------------------------------------------------------------------
# fixtures

LIBSVM_TEXT = """\
# a small two-class data set, one-based indices
1 1:0.5 2:-1.0 3:2.0
-1 1:1.5 3:-0.5   # trailing comment
1 2:0.25 3:1.0 4:-2.0
-1 1:-1.0 2:0.5 4:1.0

1 qid:3 1:0.1 2:0.2 3:0.3 4:0.4
-1 1:2.0 2:-0.3
"""


def write_libsvm(path, n_samples=120, dim=4, zero_based=False, labels=(0, 1), seed=0,
                 comments=False):
    """A random LIBSVM file (about 20% zeros, left out) with the given label values, with
    ``comments`` a comment and a blank line before every tenth sample from the fourth;
    returns (X, y) written, in the file's order."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_samples, dim))
    X[rng.uniform(size=X.shape) < 0.2] = 0.0
    w = rng.standard_normal(dim)
    y = np.where(X @ w + 0.3 * rng.standard_normal(n_samples) > 0, labels[1], labels[0])
    shift = 0 if zero_based else 1
    with open(path, "w") as fh:
        for k, (xi, yi) in enumerate(zip(X, y)):
            if comments and k % 10 == 3:
                fh.write("# a comment\n\n")
            feats = " ".join(f"{j + shift}:{float(v)!r}" for j, v in enumerate(xi) if v != 0.0)
            fh.write(f"{yi} {feats}\n")
    return X, y


_CACHE = {}


def problem(key, tmp_path_factory=None):
    """Small problems of every kind, built once per test session."""
    if key not in _CACHE:
        if key == "quadratic":
            P = quadratic(6, 5, kappa=50.0, seed=1)
        elif key == "averaging":
            P = averaging(7, 3, seed=2)
        elif key == "ls_quadratic":
            P = least_squares(8, 4, samples_per_node=30, seed=3)
        elif key == "ls_rows":
            P = least_squares(8, 4, samples_per_node=30, seed=3, form="rows")
        elif key == "ls_rows_reg":
            P = least_squares(5, 12, samples_per_node=4, reg=0.5, seed=4)
        elif key == "logistic":
            P = logistic(9, 4, samples_per_node=40, seed=5)
        elif key == "libsvm_logistic":
            path = tmp_path_factory.mktemp("svm") / "data.svm"
            write_libsvm(path, seed=6)
            P = libsvm(path, 5, loss="logistic", seed=6)
        elif key == "libsvm_ls":
            path = tmp_path_factory.mktemp("svm") / "data.svm"
            write_libsvm(path, seed=7)
            P = libsvm(path, 5, loss="least_squares", seed=7)
        _CACHE[key] = P
    return _CACHE[key]


ALL = [
    "quadratic", "averaging", "ls_quadratic", "ls_rows", "ls_rows_reg", "logistic",
    "libsvm_logistic", "libsvm_ls",
]
CONJUGATE = ["quadratic", "averaging", "ls_quadratic", "ls_rows", "ls_rows_reg", "libsvm_ls"]


@pytest.fixture(params=ALL)
def any_problem(request, tmp_path_factory):
    return problem(request.param, tmp_path_factory)


def points(P, seed=0, scale=None):
    rng = np.random.default_rng(seed)
    scale = 1.0 + np.linalg.norm(P.x_star) if scale is None else scale
    return P.x_star + scale * rng.standard_normal((P.n, P.dim))


def numba_gradients(P, X):
    out = np.empty(P.dim)
    G = np.empty_like(X)
    for i in range(P.n):
        local_gradient(P.oracle, i, np.ascontiguousarray(X[i]), out)
        G[i] = out
    return G


def rel(a, b):
    return np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-300)


# ---------------------------------------------------------------------------------------------
# the oracle contract


def test_oracle_fields_are_contiguous_typed_and_complete(any_problem):
    o = any_problem.oracle
    assert isinstance(o, Oracle) and o._fields == (
        "kind", "H", "c", "A", "b", "offsets", "reg", "Hinv", "rows",
    )
    ndims = dict(H=3, c=2, A=2, b=1, offsets=1, reg=1, Hinv=3, rows=1)
    for name, ndim in ndims.items():
        a = getattr(o, name)
        assert a.ndim == ndim and a.flags.c_contiguous and not a.flags.writeable, name
        assert a.dtype == (np.int64 if name in ("offsets", "rows") else np.float64), name
    assert o.rows.size == 0  # a whole problem: row i is node i
    if o.kind == QUADRATIC:
        assert o.H.shape == (any_problem.n, any_problem.dim, any_problem.dim)
        assert o.A.size == o.b.size == o.offsets.size == o.reg.size == 0
    else:
        assert o.H.size == 0
        assert o.offsets[0] == 0 and o.offsets[-1] == o.A.shape[0] == o.b.shape[0]
        assert o.offsets.shape == (any_problem.n + 1,) and o.reg.shape == (any_problem.n,)
    assert (o.Hinv.size > 0) == any_problem.has_conjugate


def test_every_problem_has_the_same_numba_type(tmp_path_factory):
    """One compilation of the event loop serves every problem."""
    types = {numba.typeof(problem(k, tmp_path_factory).oracle) for k in ALL}
    assert len(types) == 1


def test_numba_gradient_equals_numpy(any_problem):
    P = any_problem
    X = points(P)
    assert rel(numba_gradients(P, X), P.local_gradients(X)) <= 1e-13


def test_numba_value_equals_numpy(any_problem):
    P = any_problem
    X = points(P, seed=1)
    V = np.array([local_value(P.oracle, i, X[i]) for i in range(P.n)])
    const = P.const if P.oracle.kind == QUADRATIC else 0.0
    np.testing.assert_allclose(V + const, P.local_values(X), rtol=1e-11)
    assert P.f(X[0]) == pytest.approx(P.local_values(np.tile(X[0], (P.n, 1))).sum(), rel=1e-14)


@pytest.mark.parametrize("key", ["logistic", "ls_rows_reg", "quadratic"])
def test_gradient_matches_finite_differences(key):
    P = problem(key)
    X = points(P, seed=2, scale=1.0)
    G = P.local_gradients(X)
    h = 1e-5
    for p in range(P.dim):
        E = np.zeros_like(X)
        E[:, p] = h
        fd = (P.local_values(X + E) - P.local_values(X - E)) / (2 * h)
        scale = np.abs(G).max(axis=1) + 1.0
        assert np.all(np.abs(fd - G[:, p]) <= 1e-6 * scale), (p, fd, G[:, p])


def test_least_squares_representations_agree():
    Pq, Pr = problem("ls_quadratic"), problem("ls_rows")
    assert Pq.oracle.kind == QUADRATIC and Pr.oracle.kind == LEAST_SQUARES
    for seed in range(3):
        X = points(Pq, seed=seed)
        Gq, Gr = Pq.local_gradients(X), Pr.local_gradients(X)
        norms = np.linalg.norm(Gr, axis=1)
        assert np.all(np.linalg.norm(Gq - Gr, axis=1) <= 1e-12 * norms)
        assert np.all(np.abs(numba_gradients(Pq, X) - numba_gradients(Pr, X)).max(1) <= 1e-12 * norms)
        np.testing.assert_allclose(Pq.local_values(X), Pr.local_values(X), rtol=1e-10)
    np.testing.assert_allclose(Pq.L_local, Pr.L_local, rtol=1e-12)
    np.testing.assert_allclose(Pq.mu_local, Pr.mu_local, rtol=1e-12)
    assert rel(Pq.x_star, Pr.x_star) <= 1e-10
    assert Pq.f_star == pytest.approx(Pr.f_star, rel=1e-10)


def test_least_squares_form_auto_follows_dimension():
    assert least_squares(3, 2, samples_per_node=100, seed=0).oracle.kind == QUADRATIC
    assert least_squares(3, 20, samples_per_node=10, reg=0.1, seed=0).oracle.kind == QUADRATIC
    wide = least_squares(3, 21, samples_per_node=10, reg=0.1, seed=0)
    assert wide.oracle.kind == LEAST_SQUARES and wide.params["form"] == "rows"


# ---------------------------------------------------------------------------------------------
# conjugates


@pytest.mark.parametrize("key", CONJUGATE)
def test_conjugate_inverts_the_gradient_map(key):
    P = problem(key)
    assert P.has_conjugate
    Y = points(P, seed=3, scale=10.0) - P.x_star
    Xc = P.conjugate_gradients(Y)
    assert rel(P.local_gradients(Xc), Y) <= 1e-10
    X = points(P, seed=4)
    assert rel(P.conjugate_gradients(P.local_gradients(X)), X) <= 1e-10
    out = np.empty(P.dim)
    for i in range(P.n):
        local_conjugate_gradient(P.oracle, i, np.ascontiguousarray(Y[i]), out)
        assert rel(out, Xc[i]) <= 1e-13


@pytest.mark.parametrize("key", ["logistic", "libsvm_logistic"])
def test_logistic_has_no_conjugate(key, tmp_path_factory):
    P = problem(key, tmp_path_factory)
    assert not P.has_conjugate
    with pytest.raises(NotImplementedError):
        P.conjugate_gradients(np.zeros((P.n, P.dim)))
    with pytest.raises(ValueError, match="no conjugate"):
        local_conjugate_gradient(P.oracle, 0, np.zeros(P.dim), np.empty(P.dim))


# ---------------------------------------------------------------------------------------------
# constants


@pytest.mark.parametrize("key", ["quadratic", "averaging", "ls_quadratic", "ls_rows", "ls_rows_reg"])
def test_local_constants_are_hessian_eigenvalues(key):
    P = problem(key)
    H = P.local_hessians(points(P))
    if P.oracle.kind == LEAST_SQUARES:  # independent: from the rows themselves
        o = P.oracle
        H = np.stack([
            (2 / (o.offsets[i + 1] - o.offsets[i])) * o.A[o.offsets[i]:o.offsets[i + 1]].T
            @ o.A[o.offsets[i]:o.offsets[i + 1]] + o.reg[i] * np.eye(P.dim)
            for i in range(P.n)
        ])
    ev = np.linalg.eigvalsh(H)
    np.testing.assert_allclose(P.L_local, ev[:, -1], rtol=1e-10)
    np.testing.assert_allclose(P.mu_local, ev[:, 0], rtol=1e-8)
    assert P.L == P.L_local.max() and P.mu == P.mu_local.min() and P.kappa == P.L / P.mu


@pytest.mark.parametrize("key", ["logistic", "libsvm_logistic"])
def test_logistic_hessians_lie_within_local_constants(key, tmp_path_factory):
    P = problem(key, tmp_path_factory)
    o = P.oracle
    for seed in range(5):
        X = points(P, seed=seed, scale=3.0 * seed)
        ev = np.linalg.eigvalsh(P.local_hessians(X))
        assert np.all(ev[:, 0] >= P.mu_local * (1 - 1e-12))
        assert np.all(ev[:, -1] <= P.L_local * (1 + 1e-12))
    # and L_i is the stated bound lambda_max(A_i^T A_i) / (4 m_i) + reg_i, mu_i = reg_i
    for i in range(P.n):
        Ai = o.A[o.offsets[i]:o.offsets[i + 1]]
        lmax = np.linalg.eigvalsh(Ai.T @ Ai)[-1]
        assert P.L_local[i] == pytest.approx(lmax / (4 * len(Ai)) + o.reg[i], rel=1e-12)
    np.testing.assert_array_equal(P.mu_local, o.reg)
    # a Hessian at x = 0 (all weights 1/4) attains L_i: the bound is tight
    ev0 = np.linalg.eigvalsh(P.local_hessians(np.zeros((P.n, P.dim))))[:, -1]
    np.testing.assert_allclose(ev0, P.L_local, rtol=1e-12)


@pytest.mark.parametrize("n,dim,kappa", [(6, 5, 50.0), (3, 2, 1.0), (4, 1, 1234.5), (2, 8, 1e4)])
def test_quadratic_kappa_is_exact(n, dim, kappa):
    P = quadratic(n, dim, kappa=kappa, seed=11)
    assert P.kappa == pytest.approx(kappa, rel=1e-12)
    assert P.mu == pytest.approx(1.0, rel=1e-12)
    if dim >= 2:  # every node spans the whole range
        np.testing.assert_allclose(P.L_local / P.mu_local, kappa, rtol=1e-12)
    assert np.linalg.norm(P.x_star) > 3 * np.sqrt(dim)


def test_quadratic_nodes_are_heterogeneous():
    P = problem("quadratic")
    local_opt = P.conjugate_gradients(np.zeros((P.n, P.dim)))  # argmin f_i
    spread = np.linalg.norm(local_opt - P.x_star, axis=1)
    assert spread.min() > 1.0


@pytest.mark.parametrize("seed", [0, 1])
def test_paper_reference_least_squares_constants(seed):
    """n = 300, 100 samples per node, d = 2: the authors report mu ~ 1.2 and L ~ 3."""
    P = least_squares(300, 2, samples_per_node=100, seed=seed)
    assert 0.8 <= P.mu <= 1.6
    assert 2.4 <= P.L <= 3.8
    assert P.oracle.kind == QUADRATIC
    slopes = np.linalg.norm(P.oracle.c, axis=1)
    assert slopes.max() / slopes.min() > 10  # per-node scales differ


def test_logistic_default_regularisation_gives_moderate_kappa():
    P = problem("logistic")
    assert P.oracle.kind == LOGISTIC
    loss_L = P.L_local - P.mu_local
    assert P.params["reg"] == pytest.approx(0.1 * loss_L.mean(), rel=1e-10)
    assert 5 < P.kappa < 200
    assert loss_L.max() / loss_L.min() > 2  # heterogeneous feature scales


# ---------------------------------------------------------------------------------------------
# x*


def certified_rel_error(P, x):
    """||x - x*|| / ||x*|| <= ||grad f(x)|| / (sum_i mu_i) / ||x||, computed independently."""
    g = P.local_gradients(np.tile(x, (P.n, 1))).sum(axis=0)
    return np.linalg.norm(g) / P.mu_local.sum() / np.linalg.norm(x)


def test_x_star_is_accurate(any_problem):
    P = any_problem
    assert certified_rel_error(P, P.x_star) <= 1e-10
    assert P.x_star_error_bound <= 1e-10
    assert P.f_star == pytest.approx(P.f(P.x_star), rel=1e-15)
    assert P.f_star <= P.f(P.x_star + 1e-3) and P.f_star <= P.f(P.x_star - 1e-3)


@pytest.mark.parametrize("key", ["ls_rows", "ls_rows_reg", "ls_quadratic", "libsvm_ls"])
def test_least_squares_x_star_matches_numpy_lstsq(key, tmp_path_factory):
    P = problem(key, tmp_path_factory)
    ref = P
    if P.oracle.kind == QUADRATIC:  # the same data as rows
        ref = make_problem(**dict(P.params, form="rows"))
        assert ref.oracle.kind == LEAST_SQUARES
    o = ref.oracle
    m = np.diff(o.offsets)
    w = np.repeat(1 / np.sqrt(m), m)
    A = np.vstack([o.A * w[:, None], np.sqrt(o.reg.sum() / 2) * np.eye(P.dim)])
    b = np.concatenate([o.b * w, np.zeros(P.dim)])
    x = np.linalg.lstsq(A, b, rcond=None)[0]
    assert rel(P.x_star, x) <= 1e-10


def test_quadratic_x_star_matches_normal_equations():
    P = problem("quadratic")
    x = np.linalg.solve(P.oracle.H.sum(0), P.oracle.c.sum(0))
    assert rel(P.x_star, x) <= 1e-12


def test_averaging_x_star_is_the_mean():
    P = problem("averaging")
    assert rel(P.x_star, P.oracle.c.mean(axis=0)) <= 1e-14
    np.testing.assert_array_equal(P.oracle.H, np.broadcast_to(np.eye(P.dim), P.oracle.H.shape))


@pytest.mark.parametrize("key", ["logistic", "libsvm_logistic"])
def test_logistic_x_star_matches_scipy(key, tmp_path_factory):
    P = problem(key, tmp_path_factory)

    def grad(x):
        return P.local_gradients(np.tile(x, (P.n, 1))).sum(axis=0)

    def hess(x):
        return P.local_hessians(np.tile(x, (P.n, 1))).sum(axis=0)

    res = scipy.optimize.minimize(
        P.f, np.zeros(P.dim), jac=grad, hess=hess, method="trust-exact", options={"gtol": 1e-13}
    )
    assert rel(res.x, P.x_star) <= 1e-10
    root = scipy.optimize.root(grad, np.zeros(P.dim), jac=hess, method="hybr", options={"xtol": 1e-15})
    assert rel(root.x, P.x_star) <= 1e-10
    assert certified_rel_error(P, P.x_star) <= 1e-10


def test_logistic_is_stable_for_huge_margins():
    P = problem("logistic")
    X = 1e4 * points(P, seed=9, scale=1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        G = P.local_gradients(X)
        V = P.local_values(X)
    assert np.all(np.isfinite(G)) and np.all(np.isfinite(V))
    assert rel(numba_gradients(P, X), G) <= 1e-13
    Vn = np.array([local_value(P.oracle, i, X[i]) for i in range(P.n)])
    np.testing.assert_allclose(Vn, V, rtol=1e-12)


# ---------------------------------------------------------------------------------------------
# seeds, metadata, dispatcher

CONSTRUCTOR_CALLS = {
    "quadratic": lambda seed: quadratic(4, 3, seed=seed),
    "least_squares": lambda seed: least_squares(4, 3, samples_per_node=10, seed=seed),
    "logistic": lambda seed: logistic(4, 3, samples_per_node=10, seed=seed),
    "averaging": lambda seed: averaging(4, 3, seed=seed),
}


@pytest.mark.parametrize("kind", list(CONSTRUCTOR_CALLS))
def test_seeds_are_reproducible_and_distinct(kind):
    make = CONSTRUCTOR_CALLS[kind]
    a, b, c = make(5), make(5), make(6)
    for name in Oracle._fields[1:]:
        np.testing.assert_array_equal(getattr(a.oracle, name), getattr(b.oracle, name))
    np.testing.assert_array_equal(a.x_star, b.x_star)
    assert not np.array_equal(a.x_star, c.x_star)
    fresh1, fresh2 = make(None), make(None)
    assert fresh1.params["seed"] != fresh2.params["seed"]
    again = make(fresh1.params["seed"])
    np.testing.assert_array_equal(again.x_star, fresh1.x_star)


def test_libsvm_seeds(tmp_path):
    path = tmp_path / "d.svm"
    write_libsvm(path)
    a, b, c = (libsvm(path, 4, seed=s) for s in (1, 1, 2))
    np.testing.assert_array_equal(a.oracle.A, b.oracle.A)
    assert not np.array_equal(a.oracle.A, c.oracle.A)
    np.testing.assert_allclose(a.x_star, c.x_star, rtol=1e-9)  # same data, other split


def test_make_problem_rebuilds_from_params(any_problem):
    P = any_problem
    Q = make_problem(**P.params)
    assert Q.name == P.name and Q.n == P.n and Q.dim == P.dim
    np.testing.assert_array_equal(Q.x_star, P.x_star)
    assert Q.L == P.L and Q.mu == P.mu


def test_describe(any_problem):
    d = any_problem.describe()
    for key in ("name", "n", "dim", "L", "mu", "kappa", "params", "x_star_norm", "f_star"):
        assert key in d
    assert d["x_star_norm"] == pytest.approx(np.linalg.norm(any_problem.x_star))
    assert d["kappa"] == any_problem.kappa
    assert isinstance(any_problem, Problem)


def test_problem_is_read_only():
    P = problem("quadratic")
    with pytest.raises(AttributeError):
        P.L = 3.0
    with pytest.raises(ValueError):
        P.x_star[0] = 0.0
    with pytest.raises(ValueError):
        P.oracle.H[0, 0, 0] = 0.0


def test_names():
    assert problem("quadratic").name == "quadratic"
    assert problem("ls_rows").name == "least_squares"
    assert problem("logistic").name == "logistic"
    assert problem("libsvm_ls").name == "libsvm:data.svm:least_squares"


# ---------------------------------------------------------------------------------------------
# errors: one line naming the field (or the file)

ERRORS = [
    (lambda: make_problem("quadratc", 4, dim=2), ["problem.kind", "did you mean 'quadratic'"]),
    (lambda: make_problem("quadratic", 4, dim=2, kapa=3), ["problem.kapa", "did you mean 'kappa'"]),
    (lambda: make_problem("logistic", 4, dim=2, samples=3), ["problem.samples", "samples_per_node"]),
    (lambda: make_problem("quadratic", 4), ["problem.dim", "required"]),
    (lambda: make_problem("libsvm", 4), ["problem.path", "required"]),
    (lambda: quadratic(0, 2), ["problem.n", ">= 1"]),
    (lambda: quadratic(2.5, 2), ["problem.n", "integer"]),
    (lambda: quadratic(3, True), ["problem.dim", "integer"]),
    (lambda: quadratic(3, 2, kappa=0.5), ["problem.kappa", ">= 1"]),
    (lambda: quadratic(3, 2, kappa=float("inf")), ["problem.kappa", "finite"]),
    (lambda: quadratic(3, 2, kappa=1e13), ["problem.kappa", "<= 1e+12"]),
    (lambda: quadratic(1, 1, kappa=10.0), ["problem.kappa", "dim = 1"]),
    (lambda: quadratic(3, 2, seed=-1), ["problem.seed"]),
    (lambda: least_squares(3, 50, samples_per_node=20),
     ["problem.dim", "dim = 50 >= samples_per_node = 20", "not strongly convex", "reg > 0"]),
    (lambda: least_squares(3, 2, reg=-1.0), ["problem.reg", ">= 0"]),
    (lambda: least_squares(3, 2, form="dense"), ["problem.form", "'rows'"]),
    (lambda: least_squares(3, 2, samples_per_node=0), ["problem.samples_per_node"]),
    (lambda: logistic(3, 2, reg=0.0), ["problem.reg", "> 0"]),
]


@pytest.mark.parametrize("call,words", ERRORS)
def test_error_messages(call, words):
    with pytest.raises(ProblemError) as info:
        call()
    msg = str(info.value)
    assert "\n" not in msg
    for w in words:
        assert w in msg, (w, msg)


def test_rank_deficient_least_squares_is_refused(tmp_path):
    path = tmp_path / "flat.svm"
    path.write_text("".join(f"{i % 3} 1:{i} 2:{2 * i}\n" for i in range(1, 41)))  # column 2 = 2 x column 1
    with pytest.raises(ProblemError, match=r"^problem\.reg: .*not strongly convex"):
        libsvm(path, 2, loss="least_squares")
    P = libsvm(path, 2, loss="least_squares", reg=0.1)
    assert P.mu == pytest.approx(0.1, rel=1e-6)


# ---------------------------------------------------------------------------------------------
# LIBSVM files


def test_libsvm_parser_one_based(tmp_path):
    path = tmp_path / "small.svm"
    path.write_text(LIBSVM_TEXT)
    X, y, zero_based = read_libsvm(path)
    assert not zero_based
    np.testing.assert_array_equal(y, [1, -1, 1, -1, 1, -1])
    expected = np.array([
        [0.5, -1.0, 2.0, 0.0],
        [1.5, 0.0, -0.5, 0.0],
        [0.0, 0.25, 1.0, -2.0],
        [-1.0, 0.5, 0.0, 1.0],
        [0.1, 0.2, 0.3, 0.4],
        [2.0, -0.3, 0.0, 0.0],
    ])
    np.testing.assert_array_equal(X, expected)


def test_libsvm_parser_zero_based(tmp_path):
    one, zero = tmp_path / "one.svm", tmp_path / "zero.svm"
    X1, y1 = write_libsvm(one, zero_based=False, seed=3)
    X0, y0 = write_libsvm(zero, zero_based=True, seed=3)
    A1, b1, z1 = read_libsvm(one)
    A0, b0, z0 = read_libsvm(zero)
    assert (z1, z0) == (False, True)
    np.testing.assert_array_equal(A1, X1)
    np.testing.assert_array_equal(A0, X0)
    np.testing.assert_array_equal(b0, y0)
    # forcing the convention
    A, _, _ = read_libsvm(one, zero_based=True)
    assert A.shape[1] == X1.shape[1] + 1 and np.all(A[:, 0] == 0)
    with pytest.raises(ProblemError, match="zero_based=False"):
        read_libsvm(zero, zero_based=False)


def test_libsvm_splits(tmp_path):
    path = tmp_path / "labels.svm"
    _, y = write_libsvm(path, n_samples=200, labels=(1, 2), seed=8)
    n = 8
    iid = libsvm(path, n, split="iid", seed=0)
    lab = libsvm(path, n, split="label", seed=0)
    for P in (iid, lab):
        m = np.diff(P.oracle.offsets)
        assert m.sum() == 200 and m.max() - m.min() <= 1
        assert set(np.unique(P.oracle.b)) == {-1.0, 1.0}
        # the data are the same samples, just distributed differently
        assert sorted(map(tuple, P.oracle.A)) == sorted(map(tuple, iid.oracle.A))
    frac = lambda P: np.array([  # noqa: E731  fraction of the majority label at each node
        max(np.mean(P.oracle.b[s:e] > 0), np.mean(P.oracle.b[s:e] < 0))
        for s, e in zip(P.oracle.offsets[:-1], P.oracle.offsets[1:])
    ])
    assert np.sum(frac(lab) == 1.0) >= n - 1  # at most one node straddles the two labels
    assert frac(iid).mean() < 0.85
    # both splits solve the same global problem
    assert rel(iid.x_star, lab.x_star) <= 1e-9
    # the label values 1 and 2 became -1 and +1, sorted: first node -1 only, last node +1 only
    o = lab.oracle
    assert np.all(o.b[: o.offsets[1]] == -1.0) and np.all(o.b[o.offsets[-2]:] == 1.0)
    assert np.sum(o.b == -1.0) == np.sum(y == 1)


LIBSVM_ERRORS = [
    ("1 1:0.5\n-1 1:abc\n", "line 2", "1:abc"),
    ("1 1:0.5\nfoo 1:1\n", "line 2", "label 'foo'"),
    ("# header\n\n1 1:0.5 2\n", "line 3", "'2'"),
    ("1 1:0.5\n1 -3:1\n", "line 2", "'-3:1'"),
]


@pytest.mark.parametrize("text,where,what", LIBSVM_ERRORS)
def test_libsvm_malformed_lines(tmp_path, text, where, what):
    path = tmp_path / "bad.svm"
    path.write_text(text)
    with pytest.raises(ProblemError) as info:
        libsvm(path, 1)
    msg = str(info.value)
    assert msg.startswith("problem.path: ") and str(path) in msg and where in msg and what in msg


def test_libsvm_file_errors(tmp_path):
    missing = tmp_path / "nowhere.svm"
    with pytest.raises(ProblemError, match=r"^problem\.path: no such data file: .*nowhere\.svm"):
        libsvm(missing, 2)
    with pytest.raises(ProblemError, match=r"^problem\.path: .*nowhere\.svm"):
        make_problem("libsvm", 2, path=str(missing))
    empty = tmp_path / "empty.svm"
    empty.write_text("# nothing\n\n")
    with pytest.raises(ProblemError, match="empty.svm contains no samples"):
        libsvm(empty, 1)
    one_label = tmp_path / "one.svm"
    one_label.write_text("1 1:1 2:3\n1 1:2 2:1\n1 1:-1 2:1\n")
    with pytest.raises(ProblemError) as info:
        libsvm(one_label, 1)
    assert "one.svm" in str(info.value) and "two distinct labels, found 1" in str(info.value)
    three = tmp_path / "three.svm"
    three.write_text("1 1:1\n2 1:2\n3 1:3\n")
    with pytest.raises(ProblemError, match="three.svm.*found 3"):
        libsvm(three, 1)
    few = tmp_path / "few.svm"
    write_libsvm(few, n_samples=5)
    with pytest.raises(ProblemError, match=r"^graph\.n: .*few\.svm has 5 samples, fewer than n = 6"):
        libsvm(few, 6)
    with pytest.raises(ProblemError, match=r"^problem\.reg: least squares on .*leaves 2 samples"):
        libsvm(few, 2, loss="least_squares")
    with pytest.raises(ProblemError, match=r"^problem\.loss"):
        libsvm(few, 1, loss="hinge")
    with pytest.raises(ProblemError, match=r"^problem\.split"):
        libsvm(few, 1, split="random")
    with pytest.raises(ProblemError, match=r"^problem\.zero_based"):
        libsvm(few, 1, zero_based="yes")
    zeros = tmp_path / "zeros.svm"
    zeros.write_text("1 1:0\n-1 2:0\n")
    with pytest.raises(ProblemError, match=r"^problem\.reg: .*zeros\.svm: every feature is zero"):
        libsvm(zeros, 1)
    binary = tmp_path / "binary.svm"
    binary.write_bytes(b"\xff\xfe\x00\x81 1:2\n")
    with pytest.raises(ProblemError, match=r"^problem\.path: .*binary\.svm is not a text LIBSVM file"):
        libsvm(binary, 1)
    no_features = tmp_path / "nofeat.svm"
    no_features.write_text("1\n-1\n")
    with pytest.raises(ProblemError, match=r"^problem\.path: .*nofeat\.svm has no features"):
        libsvm(no_features, 1)


@pytest.mark.parametrize("make", [
    lambda: quadratic(8, 4, kappa=50.0, seed=3),
    lambda: least_squares(8, 3, samples_per_node=30, seed=3),
    lambda: least_squares(8, 3, samples_per_node=30, seed=3, form="rows", reg=0.01),
    lambda: logistic(8, 3, samples_per_node=30, seed=3),
])
def test_suboptimality_is_accurate_near_the_optimum(make):
    """f(x* + t d) - f* scales as t^2; computed as f(x) - f* it would stall at ~1e-16 |f*|."""
    P = make()
    direction = np.random.default_rng(0).normal(size=P.dim)
    big = P.suboptimality(P.x_star + 1e-2 * direction)
    np.testing.assert_allclose(big, P.f(P.x_star + 1e-2 * direction) - P.f_star, rtol=1e-6)
    assert big > 0
    if P.oracle.kind != 2:  # exact quadratic: the t^2 law holds to rounding far below |f*| eps
        # x* + t d rounds e = x - x* to ~eps |x*| / t relative: 2e-8 here
        tiny = P.suboptimality(P.x_star + 1e-6 * direction)
        np.testing.assert_allclose(tiny, 1e-8 * big, rtol=1e-6)


@pytest.mark.parametrize("make", [
    lambda: quadratic(8, 4, kappa=50.0, seed=3),
    lambda: least_squares(8, 3, samples_per_node=30, seed=3),
    lambda: least_squares(8, 3, samples_per_node=30, seed=3, form="rows", reg=0.01),
])
def test_suboptimality_through_the_total_hessian_equals_the_node_by_node_sum(make):
    """1/2 ||R e||^2 with R^T R = sum_i H_i, computed once, is the sum over nodes of
    1/2 e^T H_i e (least squares: (1/m_i) ||A_i e||^2 + reg_i/2 ||e||^2) at every scale of e."""
    P = make()
    o = P.oracle
    assert P._curvature_root is not None
    rng = np.random.default_rng(1)
    for scale in (1.0, 1e-4, 1e-9, 1e-14):
        x = P.x_star + scale * rng.normal(size=P.dim)
        e = x - P.x_star  # what the method sees: x* + e rounds e
        if o.kind == 0:
            by_node = 0.5 * sum(e @ H @ e for H in o.H)
        else:
            m = np.diff(o.offsets)
            by_node = sum(np.sum((o.A[o.offsets[i]:o.offsets[i + 1]] @ e) ** 2) / m[i]
                          for i in range(P.n)) + 0.5 * o.reg.sum() * (e @ e)
        np.testing.assert_allclose(P.suboptimality(x), by_node, rtol=1e-10)


def test_suboptimality_of_a_logistic_problem_is_not_taken_from_a_hessian():
    """The logistic Hessian depends on x: no constant root, f(x) - f* as before."""
    P = logistic(8, 3, samples_per_node=30, seed=3)
    assert P._curvature_root is None


def test_a_config_keeps_the_inverses_only_for_methods_that_use_them():
    """H_i^{-1} (n d^2 numbers) is built for the methods evaluating grad f_i^* only; the data,
    x* and constants are the same either way."""
    from dadao import config, experiment

    base = {"graph": {"family": "cycle", "n": 8}, "problem": {"kind": "quadratic", "dim": 3},
            "run": {"t_max": 2.0}}
    built = {}
    for name in ("dadao", "continuized", "msda"):
        cfg = config.validate(dict(base, algorithm={"name": name}))
        built[name] = experiment.from_config(cfg).problem
    assert not built["dadao"].has_conjugate and built["dadao"].oracle.Hinv.size == 0
    assert built["continuized"].has_conjugate and built["msda"].has_conjugate
    assert np.array_equal(built["dadao"].oracle.H, built["msda"].oracle.H)
    assert np.array_equal(built["dadao"].x_star, built["msda"].x_star)
    assert built["dadao"].L == built["msda"].L and built["dadao"].mu == built["msda"].mu

"""Synthetic problems: quadratic, least squares, logistic regression, averaging.

Every constructor takes `seed` and draws everything from numpy.random.default_rng(seed): the same
seed gives the same problem, different seeds different data. seed=None draws a fresh seed, which
is recorded in Problem.params so the problem can be rebuilt.
"""

import numba
import numpy as np

from dadao import memory

from ._checks import check_choice, check_float, check_int, resolve_seed
from .base import KAPPA_MAX, ProblemError, build_problem
from .oracle import LEAST_SQUARES, LOGISTIC, QUADRATIC, make_oracle

# Largest n d^2 for which a rows-form least-squares oracle also stores Hinv (the conjugate).
HINV_MAX_ENTRIES = 10_000_000
# Default logistic regularisation: reg = LOGISTIC_REG_FACTOR * mean_i lambda_max(A_i^T A_i)/(4 m_i),
# so kappa = L/mu = 1 + max_i L_loss_i / reg ~ 1/LOGISTIC_REG_FACTOR (x heterogeneity of scales).
LOGISTIC_REG_FACTOR = 0.1


def _require_memory(kind, n, dim, samples_per_node=1, form="auto"):
    """Refuse, before drawing anything, data that cannot fit in memory (``dadao.memory``),
    naming the parameter that makes it large."""
    need = memory.problem_bytes(kind, n, dim, samples_per_node, form)
    many = samples_per_node > dim
    memory.require(need, f"the {kind} problem of n = {n:,} nodes in dimension {dim:,}"
                   + (f" with {samples_per_node:,} samples per node" if many else ""),
                   ProblemError, field="problem.samples_per_node" if many else "problem.dim")


#: matrix entries per block of nodes when building per-node matrices: the temporaries of a
#: block (1 MB each) stay in the processor's cache, which makes numpy's stacked QR and products
#: several times faster at 10^6 nodes than on blocks of tens of megabytes
BLOCK_ENTRIES = 1 << 17
#: above this dimension one QR per node is faster than numpy's stacked QR
STACKED_QR_MAX_DIM = 32


def _blocks(n: int, d: int):
    """Slices of consecutive nodes, each of about BLOCK_ENTRIES matrix entries."""
    step = max(1, BLOCK_ENTRIES // max(d * d, 1))
    return [slice(a, min(n, a + step)) for a in range(0, n, step)]


def _rotated_hessians(rng, E, inverses=True):
    """(H, Hinv): H_i = Q_i diag(E_i) Q_i^T and its inverse Q_i diag(1/E_i) Q_i^T, (n, d, d)
    each (Hinv None without ``inverses``), Q_i Haar-distributed rotations (QR of a Gaussian
    matrix with the sign fix), drawn node after node from ``rng`` (blocks of nodes drawn at
    once consume the stream in the same order, so the matrices do not depend on the block)."""
    n, d = E.shape
    H = np.empty((n, d, d))
    Hinv = np.empty((n, d, d) if inverses else (0, d, d))
    for block in _blocks(n, d):
        G = rng.standard_normal((block.stop - block.start, d, d))
        if d <= STACKED_QR_MAX_DIM:
            Q, R = np.linalg.qr(G)
            Q *= np.sign(np.diagonal(R, axis1=1, axis2=2))[:, None, :]
            _congruences(Q, E[block], H[block], Hinv[block] if inverses else Hinv)
        else:
            for k, i in enumerate(range(block.start, block.stop)):
                Q, R = np.linalg.qr(G[k])
                Q *= np.sign(np.diag(R))
                H[i] = (Q * E[i]) @ Q.T
                if inverses:
                    Hinv[i] = (Q / E[i]) @ Q.T
    return H, (Hinv if inverses else None)


@numba.njit(cache=True)
def _congruences(Q, E, H, Hinv):
    """H[i] = Q[i] diag(E[i]) Q[i]^T and Hinv[i] = Q[i] diag(1/E[i]) Q[i]^T, each entry summed
    over the eigenvalues in order and written to both triangles (exactly symmetric); Hinv of
    zero rows: H only. numpy's stacked matmul calls BLAS once per 10 x 10 product: microseconds
    of overhead each."""
    inverses = Hinv.shape[0] > 0
    d = Q.shape[1]
    inverse = np.empty(d)
    for i in range(Q.shape[0]):
        for m in range(d):
            inverse[m] = 1.0 / E[i, m]
        for j in range(d):
            for k in range(j, d):
                h = 0.0
                g = 0.0
                for m in range(d):
                    q = Q[i, j, m] * Q[i, k, m]
                    h += q * E[i, m]
                    g += q * inverse[m]
                H[i, j, k] = h
                H[i, k, j] = h
                if inverses:
                    Hinv[i, j, k] = g
                    Hinv[i, k, j] = g


def _symmetrise(H):
    """H <- (H + H^T) / 2 in place, block by block (no full-size temporary)."""
    n, d, _ = H.shape
    for block in _blocks(n, d):
        H[block] = 0.5 * (H[block] + np.swapaxes(H[block], 1, 2))
    return H


def _spd_inverse(H):
    """Inverses of a stack of symmetric matrices (n, d, d), or None if one is not positive
    definite; block by block, so the eigenvectors never exist for every node at once."""
    n, d, _ = H.shape
    Hinv = np.empty_like(H)
    for block in _blocks(n, d):
        e, V = np.linalg.eigh(H[block])
        if not np.all(e > 0):
            return None
        Hinv[block] = np.einsum("nij,nj,nkj->nik", V, 1.0 / e, V)
    return Hinv


def _quadratic_problem(name, H, c, const, params, *, Hinv=None, local=None, conjugate=True):
    """The QUADRATIC problem of H (n, d, d) (symmetrised in place) and c. ``Hinv`` and
    ``local`` = (L_local, mu_local): the inverses and the extreme eigenvalues when the
    constructor knows them from how it built H (else computed from H). ``conjugate`` False:
    no inverses at all (the problem has no conjugate)."""
    H = _symmetrise(H)
    if not conjugate:
        Hinv = None
    elif Hinv is None:
        Hinv = _spd_inverse(H)
    else:
        Hinv = _symmetrise(Hinv)
    # H and Hinv were built for this problem alone
    oracle = make_oracle(QUADRATIC, H=H, c=c, Hinv=Hinv, take=("H", "Hinv"))
    return build_problem(name, oracle, params=params, const=const, local=local)


def quadratic(n, dim, *, kappa=10.0, seed=None, conjugate=True):
    """f_i(x) = 1/2 (x - x_i)^T H_i (x - x_i), H_i = Q_i diag(e_i) Q_i^T with Q_i a random rotation.

    Each node's eigenvalues e_i lie in [1, kappa] (log-uniform), with 1 and kappa both attained at
    every node when dim >= 2 (dim = 1: at node 0 and node 1), so the global L/mu is exactly kappa.
    Local optima x_i = x_c + 5 N(0, I) around a common centre x_c = 10 N(0, I): the nodes disagree,
    and ||x*|| ~ 10 sqrt(dim). ``conjugate`` False: no H_i^{-1} (n d^2 numbers fewer; the
    methods that evaluate grad f_i^* refuse the problem).
    """
    n = check_int("n", n)
    dim = check_int("dim", dim)
    kappa = check_float("kappa", kappa, minimum=1.0)
    if kappa > KAPPA_MAX:
        raise ProblemError(f"must be <= {KAPPA_MAX:g} in double precision, got {kappa:g}",
                           field="problem.kappa")
    if dim == 1 and n == 1 and kappa != 1.0:
        raise ProblemError(
            f"a single node with dim = 1 has kappa = 1, got kappa = {kappa:g}",
                           field="problem.kappa")
    _require_memory("quadratic", n, dim)
    seed = resolve_seed(seed)
    rng = np.random.default_rng(seed)
    logk = np.log(kappa)
    E = np.exp(rng.uniform(0.0, logk, size=(n, dim)))
    if dim >= 2:
        E[:, 0], E[:, 1] = 1.0, kappa
    else:
        E[0, 0] = 1.0
        if n > 1:
            E[1, 0] = kappa
    H, Hinv = _rotated_hessians(rng, E, inverses=conjugate)
    centre = 10.0 * rng.standard_normal(dim)
    X_loc = centre + 5.0 * rng.standard_normal((n, dim))
    c = np.einsum("nij,nj->ni", H, X_loc)
    const = 0.5 * np.einsum("ni,ni->n", X_loc, c)
    params = {"kind": "quadratic", "n": n, "dim": dim, "kappa": kappa, "seed": seed}
    # the eigenvalues of H_i are E_i by construction: L_i = max E_i, mu_i = min E_i exactly
    return _quadratic_problem("quadratic", H, c, const, params, Hinv=Hinv,
                              local=(E.max(axis=1), E.min(axis=1)), conjugate=conjugate)


def averaging(n, dim, *, seed=None):
    """f_i(x) = 1/2 ||x - a_i||^2 (H_i = I), x* = mean_i a_i; a_i = x_c + N(0, I), x_c = 10 N(0, I)."""
    n = check_int("n", n)
    dim = check_int("dim", dim)
    _require_memory("averaging", n, dim)
    seed = resolve_seed(seed)
    rng = np.random.default_rng(seed)
    a = 10.0 * rng.standard_normal(dim) + rng.standard_normal((n, dim))
    H = np.broadcast_to(np.eye(dim), (n, dim, dim)).copy()
    params = {"kind": "averaging", "n": n, "dim": dim, "seed": seed}
    return _quadratic_problem("averaging", H, a, 0.5 * np.einsum("ni,ni->n", a, a), params)


def rows_problem(name, A_list, b_list, *, loss, reg, params, form="auto"):
    """A least-squares or logistic problem from per-node data (A_i (m_i, d), b_i (m_i,)).

    Least squares with form="auto" is built as a QUADRATIC oracle (H_i = (2/m_i) A_i^T A_i + reg I,
    c_i = (2/m_i) A_i^T b_i, const_i = ||b_i||^2/m_i) when d <= 2 min_i m_i (a d x d mat-vec is
    cheaper than two passes over the rows), otherwise as LEAST_SQUARES rows. reg=None: 0 for least
    squares, LOGISTIC_REG_FACTOR * mean_i lambda_max(A_i^T A_i)/(4 m_i) for logistic.
    params["reg"] records the value used.
    """
    m = np.array([Ai.shape[0] for Ai in A_list])
    offsets = np.concatenate([[0], np.cumsum(m)])
    A = np.ascontiguousarray(np.concatenate(A_list, axis=0), dtype=np.float64)
    b = np.concatenate(b_list)
    return _stacked_rows_problem(
        name, A, b, offsets, loss=loss, reg=reg, params=params, form=form
    )


def _stacked_rows_problem(name, A, b, offsets, *, loss, reg, params, form, conjugate=True):
    """rows_problem of the stacked data: node i holds the rows offsets[i]:offsets[i+1] of A, b.

    A (M, d) must be C-contiguous float64 and owned by the caller, who gives it up: a rows-form
    oracle keeps A itself, frozen, instead of make_oracle's copy (at d = 1e5 that copy would
    double the peak memory of building the problem).
    """
    if not (A.dtype == np.float64 and A.ndim == 2 and A.flags.c_contiguous):
        raise ValueError("rows data must be a C-contiguous float64 matrix")
    n = offsets.shape[0] - 1
    d = A.shape[1]
    m = np.diff(offsets)
    A_list = [A[offsets[i] : offsets[i + 1]] for i in range(n)]
    b_list = [b[offsets[i] : offsets[i + 1]] for i in range(n)]
    if loss == "logistic" and reg is None:
        lmax = np.array([np.linalg.norm(Ai, 2) ** 2 for Ai in A_list])
        reg = LOGISTIC_REG_FACTOR * float(np.mean(lmax / (4.0 * m)))
        if reg == 0.0:
            raise ProblemError(f"{name}: every feature is zero; set reg > 0", field="problem.reg")
    elif reg is None:
        reg = 0.0
    reg = check_float("reg", reg, minimum=0.0)
    params = dict(params, reg=reg)
    form = check_choice("form", form, ("auto", "quadratic", "rows"))
    if loss == "least_squares":
        if form == "quadratic" or (form == "auto" and d <= 2 * m.min()):
            params["form"] = "quadratic"
            H = np.stack([(2.0 / mi) * (Ai.T @ Ai) for Ai, mi in zip(A_list, m)])
            H += reg * np.eye(d)
            c = np.stack([(2.0 / mi) * (Ai.T @ bi) for Ai, bi, mi in zip(A_list, b_list, m)])
            const = np.array([bi @ bi / mi for bi, mi in zip(b_list, m)])
            return _quadratic_problem(name, H, c, const, params, conjugate=conjugate)
        params["form"] = "rows"
        kind = LEAST_SQUARES
    else:
        kind = LOGISTIC
    extra = {}
    if kind == LEAST_SQUARES and conjugate and n * d * d <= HINV_MAX_ENTRIES:
        H = np.stack([(2.0 / mi) * (Ai.T @ Ai) for Ai, mi in zip(A_list, m)]) + reg * np.eye(d)
        Hinv = _spd_inverse(0.5 * (H + np.swapaxes(H, 1, 2)))
        if Hinv is not None:
            c = np.stack([(2.0 / mi) * (Ai.T @ bi) for Ai, bi, mi in zip(A_list, b_list, m)])
            extra = {"c": c, "Hinv": Hinv}
    del A_list, b_list
    oracle = make_oracle(
        kind, A=np.zeros((0, d)), b=b, offsets=offsets, reg=np.full(n, reg), **extra
    )
    A.flags.writeable = False
    oracle = oracle._replace(A=A)
    return build_problem(name, oracle, params=params)


def least_squares(n, dim, *, samples_per_node=100, reg=0.0, seed=None, form="auto",
                  conjugate=True):
    """Linear regression, f_i(x) = (1/m) ||A_i x - b_i||^2 + (reg/2) ||x||^2, m = samples_per_node.

    Heterogeneous data as in the DADAO authors' code (sklearn.make_regression per node, without
    sklearn): A_i ~ N(0, I); ground truth w_i = 100 U(0, 1) on min(10, dim) random coordinates
    (0 elsewhere); b_i = s_i (A_i w_i + 10 N(0, 1)) with a per-node slope s_i ~ U(0.01, 5).
    With n = 300, m = 100, dim = 2 (the paper's reference run) mu ~ 1.2 and L ~ 3.
    form: "auto" | "quadratic" | "rows", the oracle representation (see rows_problem).
    ``conjugate`` False: no H_i^{-1} (see ``quadratic``).
    """
    n = check_int("n", n)
    dim = check_int("dim", dim)
    m = check_int("samples_per_node", samples_per_node)
    reg = check_float("reg", reg, minimum=0.0)
    if reg == 0.0 and dim >= m:
        raise ProblemError(
            f"least squares with dim = {dim} >= samples_per_node = {m} is not strongly"
            " convex; set reg > 0 or samples_per_node > dim", field="problem.dim")
    _require_memory("least_squares", n, dim, m, form if isinstance(form, str) else "auto")
    seed = resolve_seed(seed)
    rng = np.random.default_rng(seed)
    # The rows of all nodes are drawn straight into one matrix (the oracle's A, never copied).
    A = np.empty((n * m, dim))
    b = np.empty(n * m)
    k = min(10, dim)
    for i in range(n):
        Ai = A[i * m : (i + 1) * m]
        rng.standard_normal(out=Ai)
        w = np.zeros(dim)
        w[rng.choice(dim, size=k, replace=False)] = 100.0 * rng.uniform(size=k)
        bi = Ai @ w + 10.0 * rng.standard_normal(m)
        bi *= rng.uniform(0.01, 5.0)
        b[i * m : (i + 1) * m] = bi
    offsets = np.arange(n + 1, dtype=np.int64) * m
    params = {"kind": "least_squares", "n": n, "dim": dim, "samples_per_node": m, "seed": seed}
    return _stacked_rows_problem(
        "least_squares", A, b, offsets, loss="least_squares", reg=reg, params=params, form=form,
        conjugate=conjugate)


def logistic(n, dim, *, samples_per_node=100, reg=None, seed=None):
    """Logistic regression with heterogeneous nodes, labels in {-1, +1}.

    Node i: features A_i = s_i (N(0, I) + 0.5 u_i) with a feature scale s_i log-uniform in
    [0.5, 2] and a node-specific mean shift u_i ~ N(0, I); its true direction w_i = w_0 + 0.5 v_i
    (||w_0|| = 3, v_i ~ N(0, I)); labels drawn from the logistic model P(b = 1) =
    sigmoid(a^T w_i), then 5% flipped. reg=None: reg = 0.1 * mean_i lambda_max(A_i^T A_i)/(4 m)
    (kappa typically 15-40). L_i = lambda_max(A_i^T A_i)/(4 m) + reg, mu_i = reg.
    """
    n = check_int("n", n)
    dim = check_int("dim", dim)
    m = check_int("samples_per_node", samples_per_node)
    if reg is not None:
        reg = check_float("reg", reg, minimum=0.0, strict=True)
    _require_memory("logistic", n, dim, m)
    seed = resolve_seed(seed)
    rng = np.random.default_rng(seed)
    w0 = rng.standard_normal(dim)
    w0 *= 3.0 / np.linalg.norm(w0)
    A_list, b_list = [], []
    for _ in range(n):
        s = np.exp(rng.uniform(np.log(0.5), np.log(2.0)))
        A = s * (rng.standard_normal((m, dim)) + 0.5 * rng.standard_normal(dim))
        w = w0 + 0.5 * rng.standard_normal(dim)
        p = 1.0 / (1.0 + np.exp(-np.clip(A @ w, -500, 500)))
        b = np.where(rng.uniform(size=m) < p, 1.0, -1.0)
        b[rng.uniform(size=m) < 0.05] *= -1.0
        A_list.append(A)
        b_list.append(b)
    params = {"kind": "logistic", "n": n, "dim": dim, "samples_per_node": m, "seed": seed}
    return rows_problem("logistic", A_list, b_list, loss="logistic", reg=reg, params=params)

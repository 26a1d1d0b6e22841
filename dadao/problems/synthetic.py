"""Synthetic problems: quadratic, least squares, logistic regression, averaging.

Every constructor takes ``seed`` and draws node i's data from its own keyed streams
(``dadao.problems.streams``: a pure function of (seed, i)), and what all nodes share from the
shared streams: the same seed gives the same problem, and node i's data is the same whichever
other nodes are built with it (``nodes``: the nodes a rank of an MPI run builds). Each
constructor numbers its fields in its docstring. seed=None draws a fresh seed, which is recorded
in Problem.params so the problem can be rebuilt.
"""

import numba
import numpy as np

from dadao import memory

from ._checks import check_choice, check_float, check_int, resolve_seed
from .base import KAPPA_MAX, ProblemError, build_problem
from .oracle import LEAST_SQUARES, LOGISTIC, QUADRATIC, make_oracle
from .shards import every_node, everywhere, fewest, held_nodes, shard_arguments
from .streams import (node_normals, node_subsets, node_uniforms,
                      shared_stream)

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


def _rotated_hessians(seed, field, nodes, E, inverses=True):
    """(H, Hinv): H_i = Q_i diag(E_i) Q_i^T and its inverse Q_i diag(1/E_i) Q_i^T, (len(nodes),
    d, d) each (Hinv None without ``inverses``), Q_i a Haar-distributed rotation: the QR of the
    d x d Gaussian matrix of node i's stream ``field`` with the sign fix."""
    n, d = E.shape
    H = np.empty((n, d, d))
    Hinv = np.empty((n, d, d) if inverses else (0, d, d))
    for block in _blocks(n, d):
        G = node_normals(seed, field, nodes[block], d * d).reshape(-1, d, d)
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


def _quadratic_problem(name, H, c, const, params, *, Hinv=None, local=None, conjugate=True,
                       shard=None):
    """The QUADRATIC problem of H (n, d, d) (symmetrised in place) and c. ``Hinv`` and
    ``local`` = (L_local, mu_local): the inverses and the extreme eigenvalues when the
    constructor knows them from how it built H (else computed from H). ``conjugate`` False:
    no inverses at all (the problem has no conjugate). ``shard``: a ``Shard`` when the arrays
    are those of its nodes only."""
    H = _symmetrise(H)
    if not conjugate:
        Hinv = None
    elif Hinv is None:
        Hinv = _spd_inverse(H)
    else:
        Hinv = _symmetrise(Hinv)
    # H and Hinv were built for this problem alone
    oracle = make_oracle(QUADRATIC, H=H, c=c, Hinv=Hinv, take=("H", "Hinv"),
                         rows=None if shard is None else shard.rows())
    return build_problem(name, oracle, params=params, const=const, local=local,
                         **shard_arguments(shard))


def quadratic(n, dim, *, kappa=10.0, seed=None, conjugate=True, shard=None):
    """f_i(x) = 1/2 (x - x_i)^T H_i (x - x_i), H_i = Q_i diag(e_i) Q_i^T with Q_i a random rotation.

    Each node's eigenvalues e_i lie in [1, kappa] (log-uniform), with 1 and kappa both attained at
    every node when dim >= 2 (dim = 1: at node 0 and node 1), so the global L/mu is exactly kappa.
    Local optima x_i = x_c + 5 N(0, I) around a common centre x_c = 10 N(0, I): the nodes disagree,
    and ||x*|| ~ 10 sqrt(dim). ``conjugate`` False: no H_i^{-1} (n d^2 numbers fewer; the
    methods that evaluate grad f_i^* refuse the problem). ``shard``: build the nodes of a
    ``Shard`` only (``dadao.problems.shards``).

    Streams: node i's field 0 gives the exponents of e_i (dim uniforms), field 1 the Gaussian
    matrix of Q_i (dim^2 normals, row-major), field 2 the offset of x_i (dim normals); the
    shared field 0 gives x_c.
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
    nodes = held_nodes(n, shard)
    _require_memory("quadratic", len(nodes), dim)
    seed = resolve_seed(seed)
    H, Hinv, c, const, E = quadratic_nodes(nodes, n, dim, kappa=kappa, seed=seed,
                                           conjugate=conjugate)
    params = {"kind": "quadratic", "n": n, "dim": dim, "kappa": kappa, "seed": seed}
    # the eigenvalues of H_i are E_i by construction: L_i = max E_i, mu_i = min E_i exactly
    return _quadratic_problem("quadratic", H, c, const, params, Hinv=Hinv,
                              local=(E.max(axis=1), E.min(axis=1)), conjugate=conjugate,
                              shard=shard)


def quadratic_nodes(nodes, n, dim, *, kappa, seed, conjugate=True):
    """(H, Hinv, c, const, E) of the given nodes of ``quadratic`` (Hinv None without
    ``conjugate``; E the eigenvalues), row r for node nodes[r]."""
    nodes = np.asarray(nodes, dtype=np.int64)
    E = np.exp(np.log(kappa) * node_uniforms(seed, 0, nodes, dim))
    if dim >= 2:
        E[:, 0], E[:, 1] = 1.0, kappa
    else:
        E[nodes == 0, 0] = 1.0
        if n > 1:
            E[nodes == 1, 0] = kappa
    H, Hinv = _rotated_hessians(seed, 1, nodes, E, inverses=conjugate)
    centre = 10.0 * shared_stream(seed, 0).standard_normal(dim)
    X_loc = centre + 5.0 * node_normals(seed, 2, nodes, dim)
    c = np.einsum("nij,nj->ni", H, X_loc)
    const = 0.5 * np.einsum("ni,ni->n", X_loc, c)
    return H, Hinv, c, const, E


def averaging(n, dim, *, seed=None, shard=None):
    """f_i(x) = 1/2 ||x - a_i||^2 (H_i = I), x* = mean_i a_i; a_i = x_c + N(0, I), x_c = 10 N(0, I).

    Streams: the shared field 0 gives x_c, node i's field 0 gives a_i - x_c. ``shard``: as for
    ``quadratic``."""
    n = check_int("n", n)
    dim = check_int("dim", dim)
    nodes = held_nodes(n, shard)
    _require_memory("averaging", len(nodes), dim)
    seed = resolve_seed(seed)
    a = 10.0 * shared_stream(seed, 0).standard_normal(dim) + node_normals(seed, 0, nodes, dim)
    H = np.broadcast_to(np.eye(dim), (len(nodes), dim, dim)).copy()
    params = {"kind": "averaging", "n": n, "dim": dim, "seed": seed}
    return _quadratic_problem("averaging", H, a, 0.5 * np.einsum("ni,ni->n", a, a), params,
                              shard=shard)


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
    return stacked_rows_problem(
        name, A, b, offsets, loss=loss, reg=reg, params=params, form=form
    )


def stacked_rows_problem(name, A, b, offsets, *, loss, reg, params, form, conjugate=True,
                          shard=None):
    """rows_problem of the stacked data: node i holds the rows offsets[i]:offsets[i+1] of A, b
    (``shard``: the r-th node of the shard holds the r-th block of rows).

    A (M, d) must be C-contiguous float64 and owned by the caller, who gives it up: a rows-form
    oracle keeps A itself, frozen, instead of make_oracle's copy (at d = 1e5 that copy would
    double the peak memory of building the problem).
    """
    if not (A.dtype == np.float64 and A.ndim == 2 and A.flags.c_contiguous):
        raise ValueError("rows data must be a C-contiguous float64 matrix")
    held = offsets.shape[0] - 1
    n = held if shard is None else shard.n
    d = A.shape[1]
    m = np.diff(offsets)
    A_list = [A[offsets[i] : offsets[i + 1]] for i in range(held)]
    b_list = [b[offsets[i] : offsets[i + 1]] for i in range(held)]
    if loss == "logistic" and reg is None:
        lmax = np.array([np.linalg.norm(Ai, 2) ** 2 for Ai in A_list])
        reg = LOGISTIC_REG_FACTOR * float(np.mean(every_node(lmax / (4.0 * m), shard)))
        if reg == 0.0:
            raise ProblemError(f"{name}: every feature is zero; set reg > 0", field="problem.reg")
    elif reg is None:
        reg = 0.0
    reg = check_float("reg", reg, minimum=0.0)
    params = dict(params, reg=reg)
    form = check_choice("form", form, ("auto", "quadratic", "rows"))
    if loss == "least_squares":
        if form == "quadratic" or (form == "auto" and d <= 2 * fewest(m, shard)):
            params["form"] = "quadratic"
            H = np.stack([(2.0 / mi) * (Ai.T @ Ai) for Ai, mi in zip(A_list, m)])
            H += reg * np.eye(d)
            c = np.stack([(2.0 / mi) * (Ai.T @ bi) for Ai, bi, mi in zip(A_list, b_list, m)])
            const = np.array([bi @ bi / mi for bi, mi in zip(b_list, m)])
            return _quadratic_problem(name, H, c, const, params, conjugate=conjugate,
                                      shard=shard)
        params["form"] = "rows"
        kind = LEAST_SQUARES
    else:
        kind = LOGISTIC
    extra = {}
    if kind == LEAST_SQUARES and conjugate and n * d * d <= HINV_MAX_ENTRIES:
        H = np.stack([(2.0 / mi) * (Ai.T @ Ai) for Ai, mi in zip(A_list, m)]) + reg * np.eye(d)
        Hinv = _spd_inverse(0.5 * (H + np.swapaxes(H, 1, 2)))
        if not everywhere(Hinv is not None, shard):
            Hinv = None  # a node held elsewhere has none: no node has a conjugate
        if Hinv is not None:
            c = np.stack([(2.0 / mi) * (Ai.T @ bi) for Ai, bi, mi in zip(A_list, b_list, m)])
            extra = {"c": c, "Hinv": Hinv}
    del A_list, b_list
    oracle = make_oracle(kind, A=np.zeros((0, d)), b=b, offsets=offsets, reg=np.full(held, reg),
                         rows=None if shard is None else shard.rows(), **extra)
    A.flags.writeable = False
    oracle = oracle._replace(A=A)
    return build_problem(name, oracle, params=params, **shard_arguments(shard))


def least_squares(n, dim, *, samples_per_node=100, reg=0.0, seed=None, form="auto",
                  conjugate=True, shard=None):
    """Linear regression, f_i(x) = (1/m) ||A_i x - b_i||^2 + (reg/2) ||x||^2, m = samples_per_node.

    Heterogeneous data as in the DADAO authors' code (sklearn.make_regression per node, without
    sklearn): A_i ~ N(0, I); ground truth w_i = 100 U(0, 1) on min(10, dim) random coordinates
    (0 elsewhere); b_i = s_i (A_i w_i + 10 N(0, 1)) with a per-node slope s_i ~ U(0.01, 5).
    With n = 300, m = 100, dim = 2 (the paper's reference run) mu ~ 1.2 and L ~ 3.
    form: "auto" | "quadratic" | "rows", the oracle representation (see rows_problem).
    ``conjugate`` False: no H_i^{-1} (see ``quadratic``). ``shard``: build the nodes of a
    ``Shard`` only (rows form: d <= CURVATURE_MAX_DIM).

    Streams of node i: field 0 the rows A_i (m dim normals, row-major), field 1 the support of
    w_i (the first min(10, dim) of a permutation of dim words), field 2 its values (uniforms),
    field 3 the noise (m normals), field 4 the slope s_i (one uniform).
    """
    n = check_int("n", n)
    dim = check_int("dim", dim)
    m = check_int("samples_per_node", samples_per_node)
    reg = check_float("reg", reg, minimum=0.0)
    if reg == 0.0 and dim >= m:
        raise ProblemError(
            f"least squares with dim = {dim} >= samples_per_node = {m} is not strongly"
            " convex; set reg > 0 or samples_per_node > dim", field="problem.dim")
    nodes = held_nodes(n, shard)
    _require_memory("least_squares", len(nodes), dim, m,
                    form if isinstance(form, str) else "auto")
    seed = resolve_seed(seed)
    A, b = least_squares_rows(nodes, dim, samples_per_node=m, seed=seed)
    offsets = np.arange(len(nodes) + 1, dtype=np.int64) * m
    params = {"kind": "least_squares", "n": n, "dim": dim, "samples_per_node": m, "seed": seed}
    return stacked_rows_problem(
        "least_squares", A, b, offsets, loss="least_squares", reg=reg, params=params, form=form,
        conjugate=conjugate, shard=shard)


def least_squares_rows(nodes, dim, *, samples_per_node, seed):
    """(A, b): the rows of the given nodes of ``least_squares``, stacked node after node
    (A (len(nodes) m, dim), C-contiguous, drawn straight into place a block of nodes at a time)."""
    nodes = np.asarray(nodes, dtype=np.int64)
    m = samples_per_node
    A = np.empty((len(nodes) * m, dim))
    b = np.empty(len(nodes) * m)
    k = min(10, dim)
    for block in _row_blocks(len(nodes), m * dim):
        ids = nodes[block]
        count = len(ids)
        rows = slice(block.start * m, block.stop * m)
        A[rows] = node_normals(seed, 0, ids, m * dim).reshape(count * m, dim)
        w = np.zeros((count, dim))
        np.put_along_axis(w, node_subsets(seed, 1, ids, dim, k),
                          100.0 * node_uniforms(seed, 2, ids, k), axis=1)
        Ai = A[rows].reshape(count, m, dim)
        bi = np.einsum("nkd,nd->nk", Ai, w) + 10.0 * node_normals(seed, 3, ids, m)
        bi *= 0.01 + 4.99 * node_uniforms(seed, 4, ids, 1)
        b[rows] = bi.ravel()
    return A, b


def _row_blocks(count: int, entries_per_node: int):
    """Slices of consecutive nodes of about BLOCK_ENTRIES entries of rows each (one node at
    least)."""
    step = max(1, BLOCK_ENTRIES // max(entries_per_node, 1))
    return [slice(a, min(count, a + step)) for a in range(0, count, step)]


def logistic(n, dim, *, samples_per_node=100, reg=None, seed=None, shard=None):
    """Logistic regression with heterogeneous nodes, labels in {-1, +1}.

    Node i: features A_i = s_i (N(0, I) + 0.5 u_i) with a feature scale s_i log-uniform in
    [0.5, 2] and a node-specific mean shift u_i ~ N(0, I); its true direction w_i = w_0 + 0.5 v_i
    (||w_0|| = 3, v_i ~ N(0, I)); labels drawn from the logistic model P(b = 1) =
    sigmoid(a^T w_i), then 5% flipped. reg=None: reg = 0.1 * mean_i lambda_max(A_i^T A_i)/(4 m)
    (kappa typically 15-40). L_i = lambda_max(A_i^T A_i)/(4 m) + reg, mu_i = reg.
    ``shard``: build the nodes of a ``Shard`` only (d <= CURVATURE_MAX_DIM).

    Streams of node i: field 0 the scale s_i (one uniform), field 1 the Gaussian part of A_i
    (m dim normals), field 2 the shift u_i, field 3 v_i (dim normals each), field 4 the
    label draws, field 5 the flips (m uniforms each); the shared field 0 gives w_0.
    """
    n = check_int("n", n)
    dim = check_int("dim", dim)
    m = check_int("samples_per_node", samples_per_node)
    if reg is not None:
        reg = check_float("reg", reg, minimum=0.0, strict=True)
    nodes = held_nodes(n, shard)
    _require_memory("logistic", len(nodes), dim, m)
    seed = resolve_seed(seed)
    A, b = logistic_rows(nodes, dim, samples_per_node=m, seed=seed)
    params = {"kind": "logistic", "n": n, "dim": dim, "samples_per_node": m, "seed": seed}
    offsets = np.arange(len(nodes) + 1, dtype=np.int64) * m
    return stacked_rows_problem("logistic", A, b, offsets, loss="logistic", reg=reg,
                                 params=params, form="auto", shard=shard)


def logistic_rows(nodes, dim, *, samples_per_node, seed):
    """(A, b): the rows and labels of the given nodes of ``logistic``, stacked node after node."""
    nodes = np.asarray(nodes, dtype=np.int64)
    m = samples_per_node
    w0 = shared_stream(seed, 0).standard_normal(dim)
    w0 *= 3.0 / np.linalg.norm(w0)
    A = np.empty((len(nodes) * m, dim))
    b = np.empty(len(nodes) * m)
    for block in _row_blocks(len(nodes), m * dim):
        ids = nodes[block]
        count = len(ids)
        rows = slice(block.start * m, block.stop * m)
        scale = np.exp(np.log(0.5) + np.log(4.0) * node_uniforms(seed, 0, ids, 1))
        Ai = (node_normals(seed, 1, ids, m * dim).reshape(count, m, dim)
              + 0.5 * node_normals(seed, 2, ids, dim)[:, None, :])
        Ai *= scale[:, :, None]
        w = w0 + 0.5 * node_normals(seed, 3, ids, dim)
        p = 1.0 / (1.0 + np.exp(-np.clip(np.einsum("nkd,nd->nk", Ai, w), -500, 500)))
        labels = np.where(node_uniforms(seed, 4, ids, m) < p, 1.0, -1.0)
        labels[node_uniforms(seed, 5, ids, m) < 0.05] *= -1.0
        A[rows] = Ai.reshape(count * m, dim)
        b[rows] = labels.ravel()
    return A, b

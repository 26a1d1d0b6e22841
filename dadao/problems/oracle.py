"""The compiled node-local oracle: plain arrays in a named tuple, read by numba-compiled loops.

An :class:`Oracle` describes the n local functions f_i: R^d -> R of a problem. Every field is
always present; a field that a kind does not use is an empty array of the right ndim, so that
every problem gives numba the same type and the event loop is compiled once.

kind = QUADRATIC (0)
    f_i(x) = 1/2 x^T H_i x - c_i^T x (+ a constant kept by the Problem),
    grad f_i(x) = H_i x - c_i,      grad f_i^*(y) = H_i^{-1} (y + c_i) = Hinv_i (y + c_i).
    Uses H (n, d, d), c (n, d), Hinv (n, d, d).
kind = LEAST_SQUARES (1)
    f_i(x) = (1/m_i) ||A_i x - b_i||^2 + (reg_i/2) ||x||^2,   A_i = A[offsets[i]:offsets[i+1]],
    grad f_i(x) = (2/m_i) A_i^T (A_i x - b_i) + reg_i x.
    The (1/m) sum of squares without a 1/2 is the normalisation of the DADAO authors' code: it
    gives L_i = (2/m_i) lambda_max(A_i^T A_i) + reg_i. Uses A, b, offsets, reg; when the conjugate
    is available, also c_i = (2/m_i) A_i^T b_i and Hinv_i = ((2/m_i) A_i^T A_i + reg_i I)^{-1}, so
    grad f_i^*(y) = Hinv_i (y + c_i) exactly as for QUADRATIC.
kind = LOGISTIC (2)
    f_i(x) = (1/m_i) sum_k log(1 + exp(-b_k a_k^T x)) + (reg_i/2) ||x||^2,  b_k in {-1, +1},
    grad f_i(x) = -(1/m_i) A_i^T (b * sigmoid(-b * A_i x)) + reg_i x. No conjugate in closed form.

An oracle may hold some nodes only (an MPI rank's, ``oracle_of_nodes``): ``rows`` (n,) int64
then maps node i to its row of the arrays (-1 for a node held elsewhere), and every function
here reads node i's row ``node_row(oracle, i)``; an empty ``rows`` means row i is node i.

All arrays are C-contiguous float64 (offsets, rows: int64).
"""

import collections
import math

import numba
import numpy as np

QUADRATIC = 0
LEAST_SQUARES = 1
LOGISTIC = 2
KIND_NAMES = {QUADRATIC: "quadratic", LEAST_SQUARES: "least_squares", LOGISTIC: "logistic"}

Oracle = collections.namedtuple("Oracle", "kind H c A b offsets reg Hinv rows")
Oracle.__doc__ = """Node-local oracle arrays (see the module docstring for each kind's formulas).

kind: int (QUADRATIC, LEAST_SQUARES or LOGISTIC); H (n, d, d); c (n, d); A (M, d); b (M,);
offsets (n + 1,) int64; reg (n,); Hinv (n, d, d); rows (n,) int64 or empty (every node). Unused
fields are empty arrays; n counts the rows held.
"""


def _f64(a, ndim):
    a = np.ascontiguousarray(a, dtype=np.float64)
    if a.ndim != ndim:
        raise ValueError(f"oracle array has ndim {a.ndim}, expected {ndim}")
    return a


def make_oracle(kind, *, H=None, c=None, A=None, b=None, offsets=None, reg=None, Hinv=None,
                rows=None, take=()):
    """Build an Oracle with every field present, contiguous and of the right dtype and ndim.

    Missing fields become empty arrays. The arrays are made read-only, so a Problem cannot be
    changed behind the back of the constants computed from it: copies of the caller's arrays,
    except the fields named in ``take``, which the caller gives away (built for this oracle and
    referenced nowhere else) and which are frozen in place when already contiguous float64 (a
    million nodes' Hessians are 800 MB at d = 10: a copy would double the peak).
    """
    fields = dict(
        H=_f64(np.zeros((0, 0, 0)) if H is None else H, 3),
        c=_f64(np.zeros((0, 0)) if c is None else c, 2),
        A=_f64(np.zeros((0, 0)) if A is None else A, 2),
        b=_f64(np.zeros(0) if b is None else b, 1),
        offsets=np.ascontiguousarray(np.zeros(0) if offsets is None else offsets, dtype=np.int64),
        reg=_f64(np.zeros(0) if reg is None else reg, 1),
        Hinv=_f64(np.zeros((0, 0, 0)) if Hinv is None else Hinv, 3),
        rows=np.ascontiguousarray(np.zeros(0) if rows is None else rows, dtype=np.int64),
    )
    given = dict(H=H, c=c, A=A, b=b, offsets=offsets, reg=reg, Hinv=Hinv, rows=rows)
    for name, value in fields.items():
        if not (name in take and value is given[name]):
            value = value.copy()  # never freeze (or alias) an array the caller still holds
        value.flags.writeable = False
        fields[name] = value
    return Oracle(kind=int(kind), **fields)


@numba.njit(cache=True, inline="always")
def _log1pexp_neg(z):
    """log(1 + exp(-z)) without overflow."""
    if z > 0.0:
        return math.log1p(math.exp(-z))
    return -z + math.log1p(math.exp(z))


@numba.njit(cache=True, inline="always")
def sigmoid_neg(z):
    """sigmoid(-z) = 1 / (1 + exp(z)) without overflow."""
    if z > 0.0:
        e = math.exp(-z)
        return e / (1.0 + e)
    return 1.0 / (1.0 + math.exp(z))


@numba.njit(cache=True, inline="always")
def node_row(oracle, i):
    """The row of node i in the oracle's arrays: i, or rows[i] for an oracle of some nodes."""
    if oracle.rows.shape[0] == 0:
        return i
    return oracle.rows[i]


@numba.njit(cache=True)
def local_gradient(oracle, i, x, out):
    """Write grad f_i(x) into out (d,). No allocation."""
    i = node_row(oracle, i)
    d = x.shape[0]
    if oracle.kind == 0:  # QUADRATIC
        H = oracle.H
        c = oracle.c
        for p in range(d):
            s = -c[i, p]
            for q in range(d):
                s += H[i, p, q] * x[q]
            out[p] = s
        return
    A = oracle.A
    b = oracle.b
    lo = oracle.offsets[i]
    hi = oracle.offsets[i + 1]
    r = oracle.reg[i]
    if oracle.kind == 1 and d == 2:
        # The same sums in the same order as the general loop below, held in two scalars: numba
        # cannot prove that ``out`` does not alias A, so the general loop stores both sums to
        # memory at every sample, which costs most of a gradient at d = 2 (the paper's workload)
        g0 = 0.0
        g1 = 0.0
        x0 = x[0]
        x1 = x[1]
        for k in range(lo, hi):
            a0 = A[k, 0]
            a1 = A[k, 1]
            res = -b[k]
            res += a0 * x0
            res += a1 * x1
            g0 += res * a0
            g1 += res * a1
        scale = 2.0 / (hi - lo)
        out[0] = scale * g0 + r * x0
        out[1] = scale * g1 + r * x1
        return
    for p in range(d):
        out[p] = 0.0
    if oracle.kind == 1:  # LEAST_SQUARES
        for k in range(lo, hi):
            res = -b[k]
            for p in range(d):
                res += A[k, p] * x[p]
            for p in range(d):
                out[p] += res * A[k, p]
        scale = 2.0 / (hi - lo)
    else:  # LOGISTIC
        for k in range(lo, hi):
            z = 0.0
            for p in range(d):
                z += A[k, p] * x[p]
            w = -b[k] * sigmoid_neg(b[k] * z)
            for p in range(d):
                out[p] += w * A[k, p]
        scale = 1.0 / (hi - lo)
    for p in range(d):
        out[p] = scale * out[p] + r * x[p]


@numba.njit(cache=True)
def local_conjugate_gradient(oracle, i, y, out):
    """Write grad f_i^*(y) = argmin_x f_i(x) - y^T x = Hinv_i (y + c_i) into out (d,).

    Valid when the problem has a conjugate (Problem.has_conjugate): QUADRATIC oracles, and
    LEAST_SQUARES oracles whose Hinv is filled; raises ValueError otherwise.
    """
    i = node_row(oracle, i)
    if oracle.Hinv.shape[0] <= i:
        raise ValueError("local_conjugate_gradient: this problem has no conjugate oracle")
    d = y.shape[0]
    Hinv = oracle.Hinv
    c = oracle.c
    for p in range(d):
        s = 0.0
        for q in range(d):
            s += Hinv[i, p, q] * (y[q] + c[i, q])
        out[p] = s


@numba.njit(cache=True)
def local_value(oracle, i, x):
    """f_i(x), without the constant term of QUADRATIC oracles (see Problem.local_values)."""
    i = node_row(oracle, i)
    d = x.shape[0]
    if oracle.kind == 0:
        H = oracle.H
        c = oracle.c
        v = 0.0
        for p in range(d):
            hx = 0.0
            for q in range(d):
                hx += H[i, p, q] * x[q]
            v += 0.5 * x[p] * hx - c[i, p] * x[p]
        return v
    A = oracle.A
    b = oracle.b
    lo = oracle.offsets[i]
    hi = oracle.offsets[i + 1]
    v = 0.0
    for k in range(lo, hi):
        z = 0.0
        for p in range(d):
            z += A[k, p] * x[p]
        if oracle.kind == 1:
            v += (z - b[k]) ** 2
        else:
            v += _log1pexp_neg(b[k] * z)
    sq = 0.0
    for p in range(d):
        sq += x[p] * x[p]
    return v / (hi - lo) + 0.5 * oracle.reg[i] * sq


def oracle_rows(oracle: Oracle, nodes) -> Oracle:
    """The oracle of the nodes ``nodes`` only, renumbered 0..len(nodes)-1 in that order.

    Node r of the result is node nodes[r] of ``oracle``, with the same arrays bit for bit (an MPI
    rank of a synchronous run holds the rows of its own nodes and calls the oracles by row).
    """
    nodes = np.asarray(nodes, dtype=np.int64)
    o = oracle
    if o.rows.size:  # an oracle of some nodes: their rows
        nodes = o.rows[nodes]
        if np.any(nodes < 0):
            raise ValueError("oracle_rows: a node this oracle does not hold")

    def per_node(a):
        return a[nodes] if a.shape[0] else a

    fields = dict(H=per_node(o.H), c=per_node(o.c), Hinv=per_node(o.Hinv))
    if o.offsets.shape[0]:
        lo, hi = o.offsets[nodes], o.offsets[nodes + 1]
        rows = (np.concatenate([np.arange(a, b) for a, b in zip(lo, hi)]) if len(nodes)
                else np.zeros(0, dtype=np.int64))
        fields.update(A=o.A[rows], b=o.b[rows], reg=o.reg[nodes],
                      offsets=np.concatenate([[0], np.cumsum(hi - lo)]))
    return make_oracle(o.kind, **fields)


def oracle_of_nodes(oracle: Oracle, nodes, n: int) -> Oracle:
    """The oracle of the nodes ``nodes`` (increasing) of an n-node oracle, still called by node
    id: the rows of ``oracle_rows`` and the map ``rows`` (node -> row, -1 elsewhere). What an MPI
    rank holds of a problem; node i's numbers are bit for bit the whole oracle's."""
    nodes = np.asarray(nodes, dtype=np.int64)
    rows = np.full(int(n), -1, dtype=np.int64)
    rows[nodes] = np.arange(len(nodes))
    return oracle_rows(oracle, nodes)._replace(rows=_frozen(rows))


def _frozen(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a

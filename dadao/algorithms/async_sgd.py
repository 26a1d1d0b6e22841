"""Asynchronous gossip SGD, AD-PSGD style (Lian, Zhang, Zhang, Liu, "Asynchronous Decentralized
Parallel Stochastic Gradient Descent", ICML 2018): the non-accelerated reference.

Node i's gradient clock (rate 1) fires:   x_i -= step grad f_i(x_i).
Edge (i, j)'s gossip clock fires:         x_i, x_j <- (x_i + x_j) / 2.

No flow between events. With heterogeneous f_i and a constant step the method does NOT converge
to x*: x* is not a fixed point (grad f_i(x*) != 0 for some i, so a gradient event moves x_i away
from it), and the iterates settle in a stationary distribution around x*. For quadratic f_i
(grad f_i(x) = H_i x - c_i) every event is an affine map X <- A_k X + b_k of the stacked
iterates, so the stationary first and second moments solve two linear systems
(``stationary_error``): that is this module's prediction of the neighbourhood,
lim E dist_to_opt = (1/n) E||X - X*||^2, exact up to the linear solve. The size of the
neighbourhood shrinks with the step (the bias of the mean is O(step) for small steps) and with
faster gossip.

Default step 1/(2L) (tunable ``step``; stable up to 2/L); default rates uniform of total n/2, so
every node averages once per gradient step on average, as an AD-PSGD worker alternates the two.
"""

from __future__ import annotations

from collections import namedtuple

import numba
import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg

from dadao.algorithms.base import AsyncAlgorithm, OptionError, apply_overrides
from dadao.algorithms.common import copy_x, gossip_average, gossip_difference, half_n_rates, no_flow, start_state
from dadao.algorithms.theory import Theory, async_gossip_counts
from dadao.problems import ProblemError
from dadao.problems.oracle import QUADRATIC, local_gradient

STATE_NAMES = ("x",)
TUNABLES = ("step",)
#: stationary_error solves a system in (n d)^2 unknowns: keep it to small problems
STATIONARY_MAX_ND = 96

AsyncSgdConstants = namedtuple("AsyncSgdConstants", ["L", "mu", "step"])


def constants(problem, chi_1: float, chi_2: float, overrides: dict | None = None,
              **_) -> AsyncSgdConstants:
    """step = 1/(2L) unless overridden; a step outside (0, 2/L) is refused (it diverges)."""
    v = apply_overrides("async_sgd", {"L": problem.L, "mu": problem.mu,
                                      "step": 0.5 / problem.L}, overrides, TUNABLES)
    if not 0.0 < v["step"] < 2.0 / problem.L:
        raise OptionError(f"must lie in (0, 2/L) = (0, {2.0 / problem.L:.4g}) "
                          f"for the local gradient steps to be stable; got {v['step']!r}",
                          field="algorithm.step")
    return AsyncSgdConstants(**v)


#: nothing moves between events
flow = no_flow


@numba.njit(cache=True)
def apply_gradient(s, k, i, grad):
    """x_i -= step grad, grad = grad f_i at some point."""
    for m in range(s.shape[1]):
        s[0, m] -= k.step * grad[m]


@numba.njit(cache=True)
def on_gradient(s, k, oracle, i, work):
    """x_i -= step grad f_i(x_i): ``apply_gradient`` at x_i."""
    local_gradient(oracle, i, s[0], work)
    apply_gradient(s, k, i, work)


# the message and the estimate are x_i; a gossip event averages: x <- (x_own + x_peer) / 2
message = primal = copy_x
on_message = gossip_average


def init_state(n: int, d: int, x0=None, problem=None, nodes=None) -> np.ndarray:
    """x = x0 (zero by default)."""
    return start_state(n, 1, d, x0)


#: uniform rates of total n/2: one averaging per node per unit time, on average
default_rates = half_n_rates


def stationary_error(problem, edges, edge_rates, step: float, grad_rates=None) -> dict:
    """The stationary neighbourhood of x* for quadratic f_i, from the exact moment equations.

    Stack X = (x_1, ..., x_n) in R^{nd}. Clock k (rate r_k) maps X <- A_k X + b_k with
    A_k = I + D_k: gradient clock of i: D = -step E_i H_i E_i^T, b = step E_i c_i; gossip on
    (i, j): D = -(1/2) (b_ij b_ij^T) (x) I_d, b = 0. In the stationary regime
        sum_k r_k (D_k m + b_k) = 0                                     (mean m)
        sum_k r_k (D_k M + M D_k^T + D_k M D_k^T + A_k m b_k^T + b_k m^T A_k^T + b_k b_k^T) = 0
    for the second moment M = E X X^T. Returns {"dist_to_opt": (1/n) E||X - X*||^2,
    "bias": (1/n) ||m - X*||^2, "variance": (1/n) tr Cov X}. Refuses problems that are not
    quadratic or have n d > STATIONARY_MAX_ND.
    """
    o = problem.oracle
    n, d = problem.n, problem.dim
    N = n * d
    if o.kind != QUADRATIC:
        kind = problem.params.get("kind", problem.name)
        raise ProblemError(f"the stationary error of async_sgd is computed for "
                           f"quadratic f_i only; got {kind!r}", field="problem.kind")
    if N > STATIONARY_MAX_ND:
        raise ValueError(f"stationary_error: n d = {N} > {STATIONARY_MAX_ND} (the system has "
                         f"(n d)^2 unknowns)")
    g = np.ones(n) if grad_rates is None else np.asarray(grad_rates, dtype=np.float64)
    edges = np.asarray(edges, dtype=np.int64)
    lam = np.asarray(edge_rates, dtype=np.float64)
    I = np.eye(N)
    clocks = []  # (rate, D, b)
    for i in range(n):
        D = np.zeros((N, N))
        D[i * d:(i + 1) * d, i * d:(i + 1) * d] = -step * o.H[i]
        b = np.zeros(N)
        b[i * d:(i + 1) * d] = step * o.c[i]
        clocks.append((g[i], D, b))
    for (i, j), rate in zip(edges, lam):
        bij = np.zeros(n)
        bij[i], bij[j] = 1.0, -1.0
        clocks.append((rate, -0.5 * np.kron(np.outer(bij, bij), np.eye(d)), np.zeros(N)))
    mean_op = sum(r * D for r, D, _ in clocks)
    m = np.linalg.solve(mean_op, -sum(r * b for r, _, b in clocks))
    # row-major vec: vec(A M B) = (A kron B^T) vec(M)
    T = sp.csr_matrix((N * N, N * N))
    C = np.zeros((N, N))
    for r, D, b in clocks:
        Ds = sp.csr_matrix(D)
        Is = sp.identity(N, format="csr")
        T = T + r * (sp.kron(Ds, Is) + sp.kron(Is, Ds) + sp.kron(Ds, Ds))
        Am = (I + D) @ m
        C += r * (np.outer(Am, b) + np.outer(b, Am) + np.outer(b, b))
    M = scipy.sparse.linalg.spsolve(T.tocsc(), -C.ravel()).reshape(N, N)
    xs = np.tile(problem.x_star, n)
    second = np.trace(M) - 2.0 * m @ xs + xs @ xs
    bias = float(np.sum((m - xs) ** 2))
    return {"dist_to_opt": float(second) / n, "bias": bias / n,
            "variance": float(second - bias) / n, "mean": m.reshape(n, d)}


ALGORITHM = AsyncAlgorithm(
    name="async_sgd",
    state_names=STATE_NAMES,
    constants=constants,
    init_state=init_state,
    flow=flow,
    on_gradient=on_gradient,
    apply_gradient=apply_gradient,
    message=message,
    on_message=on_message,
    on_delayed_message=gossip_difference,
    primal=primal,
    reference="Lian, Zhang, Zhang, Liu, Asynchronous Decentralized Parallel Stochastic Gradient "
              "Descent, ICML 2018",
    theory=Theory(
        *async_gossip_counts(),
        rate=None,
        gradients="no convergence to x* with a constant step",
        communications="no convergence to x* with a constant step",
        note="constant step: converges to a neighbourhood of x* "
             "(dadao.algorithms.async_sgd.stationary_error predicts it for quadratics)",
    ),
    tunables=TUNABLES,
    supports_time_varying=True,
    default_rates=default_rates,
)

"""DGD: decentralized (sub)gradient descent with a constant step (Nedic & Ozdaglar, IEEE TAC 54(1),
2009). Synchronous, primal; static or time-varying graphs.

    x^{k+1} = M x^k - alpha grad F(x^k),      M = I - W (Metropolis weights),

one gradient per node and one gossip round per iteration. With a constant step DGD does NOT
converge to x*: it converges (linearly, for alpha < (1 + lambda_min(M))/L) to the fixed point
x^inf of W x + alpha grad F(x) = 0, at distance O(alpha) from 1 x* (Yuan, Ling, Yin, SIAM J.
Optim. 2016). ``predicted_neighbourhood`` gives the first-order size of that distance.

Default step alpha = (1 + lambda_min(M)) / (2 L), half the stability limit.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from dadao.algorithms.synchronous import (SyncAlgorithm, make_constants, metropolis_lambda_min,
                                          primal_x, zeros_state)
from dadao.algorithms.theory import Theory, sync_counts

STATE_NAMES = ("x",)
DgdState = namedtuple("DgdState", STATE_NAMES)
DgdConstants = namedtuple("DgdConstants", ["L", "mu", "alpha"])
TUNABLES = ("alpha",)


def constants(problem, network, overrides=None) -> DgdConstants:
    # (1 + lambda_min(M)) / (2L) = lambda_min((I + M)/2) / L
    values = dict(L=float(problem.L), mu=float(problem.mu),
                  alpha=metropolis_lambda_min(network) / problem.L)
    return make_constants(DgdConstants, "dgd", values, overrides, TUNABLES)


def init_state(n: int, d: int, x0, k) -> DgdState:
    return zeros_state(DgdState, n, d, x0)


def step(s: DgdState, k: DgdConstants, local, mix) -> DgdState:
    g = local.gradient(s.x)
    return DgdState(x=s.x - mix(s.x) - k.alpha * g)


primal = primal_x


def predicted_neighbourhood(problem, W, alpha: float) -> float:
    """First-order prediction of DGD's limit dist_to_opt = (1/n) sum_i ||x_i^inf - x*||^2.

    W: the (n, n) Metropolis gossip matrix (Laplacian form, ``dadao.gossip.metropolis_gossip``).
    Writing x^inf = 1 x* + e in W x + alpha grad F(x) = 0 and linearising grad f_i at x*
    (G*_i = grad f_i(x*), H_i its Hessian; sum_i G*_i = 0):
        e = e_perp + 1 ebar,  e_perp = -alpha W^+ G*  (W^+ on 1^perp, coordinate-wise),
        ebar = -(sum_i H_i)^{-1} sum_i H_i e_perp_i    (the mean part: sum_i grad f_i(x_i^inf) = 0),
    both O(alpha); the error of the prediction is O(alpha^2) relative.
    """
    n, d = problem.n, problem.dim
    X_star = np.broadcast_to(problem.x_star, (n, d))
    G = problem.local_gradients(X_star)
    H = problem.local_hessians(X_star)
    Wd = W.toarray() if hasattr(W, "toarray") else np.asarray(W)
    e_perp = -alpha * (np.linalg.pinv(Wd, hermitian=True) @ G)
    ebar = -np.linalg.solve(H.sum(axis=0), np.einsum("nij,nj->i", H, e_perp))
    e = e_perp + ebar
    return float(np.mean(np.sum(e * e, axis=1)))


def quadratic_fixed_point(problem, W, alpha: float) -> np.ndarray:
    """DGD's exact limit x^inf (n, d) on a quadratic or least-squares problem: the solution of
    W x + alpha grad F(x) = 0, i.e. (W (x) I_d + alpha blockdiag(H_i)) vec(x) = -alpha vec(grad F(0)).
    (Dense, n d unknowns: for tests and small analyses.)"""
    n, d = problem.n, problem.dim
    zero = np.zeros((n, d))
    H = problem.local_hessians(zero)  # constant for these problems
    G0 = problem.local_gradients(zero)
    Wd = W.toarray() if hasattr(W, "toarray") else np.asarray(W)
    A = np.kron(Wd, np.eye(d))
    for i in range(n):
        A[i * d:(i + 1) * d, i * d:(i + 1) * d] += alpha * H[i]
    return np.linalg.solve(A, -alpha * G0.ravel()).reshape(n, d)


ALGORITHM = SyncAlgorithm(
    name="dgd",
    state_names=STATE_NAMES,
    constants=constants,
    init_state=init_state,
    step=step,
    primal=primal,
    tunables=TUNABLES,
    gossip="metropolis",
    supports_time_varying=True,
    reference="Nedic & Ozdaglar, IEEE TAC 2009 (constant step: Yuan, Ling, Yin, SIOPT 2016)",
    theory=Theory(
        *sync_counts(),
        rate=None,
        gradients="does not reach x*: converges to an O(alpha) neighbourhood",
        communications="one round of |E| per iteration",
        note="constant step; see predicted_neighbourhood",
    ),
)

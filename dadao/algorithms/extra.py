"""EXTRA: exact first-order algorithm for decentralized consensus optimization (Shi, Ling, Wu,
Yin, SIAM J. Optim. 25(2), 2015, arXiv 1404.6264). Synchronous, primal, one fixed graph.

Mixing matrix M = I - W with Metropolis weights (``dadao.gossip.metropolis_gossip``), and
Mt = (I + M)/2. The paper's recursion

    x^1 = M x^0 - alpha grad F(x^0),
    x^{k+1} = (I + M) x^k - Mt x^{k-1} - alpha (grad F(x^k) - grad F(x^{k-1}))

is run in the equivalent one-step form (Shi et al. eq. 3.5, summed): with u^0 = 0,

    x^{k+1} = x^k - W x^k - alpha grad F(x^k) - u^k,     u^{k+1} = u^k + (1/2) W x^k,

(since Mt - M = W/2), so one iteration is one gradient per node and one gossip round (W x^k).
u is the running sum of (Mt - M) x^t, node-local.

Step size: alpha = lambda_min(Mt)/L, half the paper's convergence limit 2 lambda_min(Mt)/L
(Theorem 3.3), with lambda_min(Mt) = 1 - lambda_max(W)/2 >= 0 for Metropolis weights.
"""

from __future__ import annotations

from collections import namedtuple

from dadao.algorithms.synchronous import (SyncAlgorithm, make_constants, metropolis_lambda_min,
                                          primal_x, zeros_state)
from dadao.algorithms.theory import Theory, sync_counts

STATE_NAMES = ("x", "u")
ExtraState = namedtuple("ExtraState", STATE_NAMES)
ExtraConstants = namedtuple("ExtraConstants", ["L", "mu", "lambda_min_Mt", "alpha"])
TUNABLES = ("alpha",)


def constants(problem, network, overrides=None) -> ExtraConstants:
    lam = metropolis_lambda_min(network)
    values = dict(L=float(problem.L), mu=float(problem.mu), lambda_min_Mt=lam,
                  alpha=lam / problem.L)
    return make_constants(ExtraConstants, "extra", values, overrides, TUNABLES)


def init_state(n: int, d: int, x0, k) -> ExtraState:
    return zeros_state(ExtraState, n, d, x0)


def step(s: ExtraState, k: ExtraConstants, local, mix) -> ExtraState:
    g = local.gradient(s.x)
    Wx = mix(s.x)
    return ExtraState(x=s.x - Wx - k.alpha * g - s.u, u=s.u + 0.5 * Wx)


primal = primal_x


ALGORITHM = SyncAlgorithm(
    name="extra",
    state_names=STATE_NAMES,
    constants=constants,
    init_state=init_state,
    step=step,
    primal=primal,
    tunables=TUNABLES,
    gossip="metropolis",
    reference="Shi, Ling, Wu, Yin, EXTRA, SIAM J. Optim. 2015 (arXiv 1404.6264)",
    theory=Theory(
        *sync_counts(),
        rate=None,  # linear convergence is proven, without a closed-form rate in (kappa, chi)
        gradients="O(kappa chi log(1/eps)) rounds of n gradients (linear; no closed-form constant)",
        communications="O(kappa chi log(1/eps)) rounds of |E|",
        note="Metropolis mixing; one gossip round per iteration",
    ),
)

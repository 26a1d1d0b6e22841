"""MSDA: multi-step dual accelerated method (Scaman, Bach, Bubeck, Lee, Massoulie, ICML 2017,
arXiv 1702.08704, Algorithm 2): Nesterov's accelerated gradient on the dual problem, with
Chebyshev-accelerated gossip. Synchronous, dual: needs grad f_i^* (least squares, quadratics).

Gossip matrix W = L_G / lambda_max(L_G) (the spectrum ratio gamma_W = lambda_2/lambda_max = 1/chi
is what matters; the authors' W = L_G/|E| gives the same operator). Constants (docs/methods.md,
MSDA; ``dadao.gossip.chebyshev_constants``): K = floor(1/sqrt(gamma_W)),
c1 = (1 - sqrt g)/(1 + sqrt g), c2 = (1 + g)/(1 - g), c3 = 2/((1 + g) lambda_max(W)),

    eta = mu (1 + c1^2K)/(1 + c1^K)^2 = mu / lambda_max(P_K(W)),
    mom = ((1 + c1^K) sqrt(kappa) - 1 + c1^K) / ((1 + c1^K) sqrt(kappa) + 1 - c1^K).

One iteration (n conjugate gradients, K gossip rounds), duals x = y = 0 at start:

    theta = grad F^*(x);   y+ = x - eta AccGossip(theta);   x+ = (1 + mom) y+ - mom y,

AccGossip = P_K(W) (``dadao.gossip.chebyshev_gossip``). The primal estimate of node i is
grad f_i^*(x_i). On the complete graph gamma_W = 1, K = 1 and AccGossip = W (exact averaging).

Theory: Nesterov's method on the dual, which is (1/L)-strongly convex and (lambda_max(P)/mu)-smooth
on the range of P, i.e. of condition kappa_P = kappa chi_P with chi_P = ((1 + c1^K)/(1 - c1^K))^2:
the dual gap, hence dist_to_opt, decays like (1 - 1/sqrt(kappa_P))^t.
"""

from __future__ import annotations

import math
from collections import namedtuple

import numpy as np

from dadao import gossip
from dadao.algorithms.synchronous import (SyncAlgorithm, chebyshev_mix, chebyshev_values,
                                          conjugate_gradients, make_constants, zeros_state)
from dadao.algorithms.theory import Theory, sync_counts

STATE_NAMES = ("x", "y")
MsdaState = namedtuple("MsdaState", STATE_NAMES)
MsdaConstants = namedtuple("MsdaConstants",
                           ["L", "mu", "chi", "K", "gamma_W", "c1", "c2", "c3", "eta", "mom"])
TUNABLES = ("eta", "mom")
#: kappa chi_P within this relative distance of 1 counts as 1 (exact in one iteration): L/mu
#: and chi_P come out of eigenvalue computations a few ulps off
RATE_RTOL = 1e-12


def theory_values(L: float, mu: float, chi: float) -> dict:
    cheb = gossip.chebyshev_constants(chi)
    c1K = cheb.c1 ** cheb.K
    sk = math.sqrt(L / mu)
    return dict(L=float(L), mu=float(mu), chi=float(chi), **chebyshev_values(cheb, "K"),
                eta=mu * (1.0 + c1K ** 2) / (1.0 + c1K) ** 2,
                mom=((1.0 + c1K) * sk - 1.0 + c1K) / ((1.0 + c1K) * sk + 1.0 - c1K))


def constants(problem, network, overrides=None) -> MsdaConstants:
    # mom = 0 is Nesterov without momentum (plain dual gradient), as the theory gives when
    # kappa chi_P = 1: it may be set to 0; eta must stay > 0
    return make_constants(MsdaConstants, "msda", theory_values(problem.L, problem.mu, network.chi),
                          overrides, TUNABLES, may_be_zero=("mom",))


def init_state(n: int, d: int, x0, k) -> MsdaState:
    return zeros_state(MsdaState, n, d, None)


def step(s: MsdaState, k: MsdaConstants, local, mix) -> MsdaState:
    theta = local.conjugate_gradient(s.x)
    y = s.x - k.eta * chebyshev_mix(mix, theta, k, k.K)
    return MsdaState(x=(1.0 + k.mom) * y - k.mom * s.y, y=y)


def primal(s: MsdaState, k, problem) -> np.ndarray:
    out = np.empty_like(s.x)
    conjugate_gradients(problem.oracle, s.x, out)
    return out


def theory_rate(s) -> float:
    """-ln(1 - 1/sqrt(kappa chi_P)) per iteration (Nesterov's rate on the dual).

    At kappa chi_P = 1 (averaging on the complete graph: f_i = ||x - a_i||^2 / 2, P = W the
    exact averaging) the dual is perfectly conditioned and one step of size eta = 1/L_dual with
    mom = 0 lands on the dual optimum: the error is 0 after one iteration, the limit
    -ln(1 - 1/sqrt(q)) -> +inf as q -> 1+, so the rate is +inf. Rounding can put q a few ulps
    below 1 (where the formula would take the log of a negative number): the same limit.
    """
    cheb = gossip.chebyshev_constants(s.chi)
    q = s.kappa * cheb.chi
    if q <= 1.0 + RATE_RTOL:
        return math.inf
    return -math.log1p(-1.0 / math.sqrt(q))


ALGORITHM = SyncAlgorithm(
    name="msda",
    state_names=STATE_NAMES,
    constants=constants,
    init_state=init_state,
    step=step,
    primal=primal,
    tunables=TUNABLES,
    gossip="laplacian",
    oracle="conjugate",
    accepts_x0=False,
    reference="Scaman et al., MSDA, ICML 2017 (arXiv 1702.08704), Algorithm 2",
    theory=Theory(
        *sync_counts(gossip.chebyshev_order),
        rate=theory_rate,
        gradients="O(sqrt(kappa) log(1/eps)) rounds of n conjugate gradients",
        communications="O(sqrt(kappa chi) log(1/eps)) rounds of |E|",
        note="K = floor(sqrt(chi)) gossip rounds per iteration (Chebyshev)",
    ),
)

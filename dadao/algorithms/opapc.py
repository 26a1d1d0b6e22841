"""OPAPC: optimal accelerated primal method with Chebyshev gossip (Kovalev, Salim, Richtarik,
"Optimal and Practical Algorithms for Smooth and Strongly Convex Decentralized Optimization",
NeurIPS 2020, arXiv 2006.11773; APAPC run with the gossip polynomial P = P_T(W)).

W = L_G / lambda_max(L_G); P = P_T(W) the Chebyshev polynomial of ``dadao.gossip`` (MSDA's
AccGossip) with T = floor(sqrt(chi)); chi_P = lambda_max(P)/lambda_min+(P) = ((1+c1^T)/(1-c1^T))^2.
Constants (docs/methods.md, OPAPC): alpha = mu, tau = min(1, sqrt(chi_P/kappa)/2),
eta = 1/(4 tau L), theta = 1/(eta lambda_max(P)). One iteration (n gradients, T gossip rounds):

    xg = tau x + (1 - tau) xf;   g = grad F(xg);
    xh = (x - eta (g - alpha xg + y)) / (1 + eta alpha);   y+ = y + theta P xh;
    x+ = (x - eta (g - alpha xg + y+)) / (1 + eta alpha);   xf+ = xg + (2 tau/(2 - tau)) (x+ - x).

Init x = xf = x0, y = 0 (y stays in the range of P: sum_i y_i = 0). Primal estimate: x.
"""

from __future__ import annotations

import math
from collections import namedtuple

from dadao import gossip
from dadao.algorithms.synchronous import (SyncAlgorithm, chebyshev_mix, chebyshev_values,
                                          make_constants, primal_x, zeros_state)
from dadao.algorithms.theory import Theory, sync_counts

STATE_NAMES = ("x", "xf", "y")
OpapcState = namedtuple("OpapcState", STATE_NAMES)
OpapcConstants = namedtuple("OpapcConstants", [
    "L", "mu", "chi", "T", "gamma_W", "c1", "c2", "c3", "chi_P", "lambda_max_P",
    "alpha", "tau", "eta", "theta", "xf_step"])
TUNABLES = ("alpha", "tau", "eta", "theta")

#: dist_to_opt decays like exp(-RATE_CONSTANT t / sqrt(kappa chi_P)): the paper proves this
#: (optimal) order; the constant is a conservative one, held against the runs by the tests
#: (docs/methods.md, OPAPC)
RATE_CONSTANT = 0.5


def theory_values(L: float, mu: float, chi: float) -> dict:
    cheb = gossip.chebyshev_constants(chi)
    lam_max_P = cheb.spectrum[1]
    tau = min(1.0, math.sqrt(cheb.chi * mu / L) / 2.0)
    eta = 1.0 / (4.0 * tau * L)
    return dict(L=float(L), mu=float(mu), chi=float(chi), **chebyshev_values(cheb, "T"),
                chi_P=cheb.chi, lambda_max_P=lam_max_P,
                alpha=float(mu), tau=tau, eta=eta, theta=1.0 / (eta * lam_max_P))


def constants(problem, network, overrides=None) -> OpapcConstants:
    return make_constants(OpapcConstants, "opapc",
                          theory_values(problem.L, problem.mu, network.chi), overrides, TUNABLES,
                          lambda v: {"xf_step": 2.0 * v["tau"] / (2.0 - v["tau"])})


def init_state(n: int, d: int, x0, k) -> OpapcState:
    return zeros_state(OpapcState, n, d, x0, x_fields=("x", "xf"))


def step(s: OpapcState, k: OpapcConstants, local, mix) -> OpapcState:
    xg = k.tau * s.x + (1.0 - k.tau) * s.xf
    g = local.gradient(xg) - k.alpha * xg
    shrink = 1.0 / (1.0 + k.eta * k.alpha)
    xh = (s.x - k.eta * (g + s.y)) * shrink
    y = s.y + k.theta * chebyshev_mix(mix, xh, k, k.T)
    x = (s.x - k.eta * (g + y)) * shrink
    return OpapcState(x=x, xf=xg + k.xf_step * (x - s.x), y=y)


primal = primal_x


def theory_rate(s) -> float:
    """RATE_CONSTANT / sqrt(kappa chi_P) per iteration: the paper's optimal order."""
    return RATE_CONSTANT / math.sqrt(s.kappa * gossip.chebyshev_constants(s.chi).chi)


ALGORITHM = SyncAlgorithm(
    name="opapc",
    state_names=STATE_NAMES,
    constants=constants,
    init_state=init_state,
    step=step,
    primal=primal,
    tunables=TUNABLES,
    gossip="laplacian",
    reference="Kovalev, Salim, Richtarik, OPAPC, NeurIPS 2020 (arXiv 2006.11773)",
    theory=Theory(
        *sync_counts(gossip.chebyshev_order),
        rate=theory_rate,
        gradients="O(sqrt(kappa) log(1/eps)) rounds of n gradients",
        communications="O(sqrt(kappa chi) log(1/eps)) rounds of |E|",
        note="T = floor(sqrt(chi)) gossip rounds per iteration (Chebyshev)",
    ),
)

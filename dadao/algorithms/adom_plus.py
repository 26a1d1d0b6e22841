"""ADOM+, with and without multi-consensus (Kovalev, Gasanov, Richtarik, Gasnikov, NeurIPS 2021,
arXiv 2106.04469, Algorithm 1): optimal synchronous primal method, static or time-varying graphs.

Gossip matrix W = L_G / lambda_max(L_G) (round q: graph q mod K), chi = lambda_max / lambda_2
(worst over a time-varying list). Constants (docs/methods.md, ADOM+):

    tau2 = sqrt(mu/L), tau1 = 1/(1/tau2 + 1/2), eta = 1/(L tau2), alpha = nu = mu/2,
    sigma2 = sqrt(mu/L)/(16 chi), sigma1 = 1/(1/sigma2 + 1/2), beta = 1/(2L), delta = 1/(17L),
    gamma = nu/(14 sigma2 chi^2), theta = nu/(4 sigma2), zeta = 1/2.

One iteration (one gradient per node, one gossip round carrying two vectors per node):

    xg = tau1 x + (1-tau1) xf;  g = grad F(xg);  yg = sigma1 y + (1-sigma1) yf;
    zg = sigma1 z + (1-sigma1) zf;  c5 = 1/(1 + eta alpha);
    c1 = (1 + eta alpha)/((1 + theta beta)(1 + eta alpha) + theta eta);
    y+ = c1 (y + theta (beta + eta c5) g - theta (beta nu + eta c5 (nu + alpha)) xg - theta c5 x
             - (theta/nu)(yg + zg));
    x+ = c5 (x + eta alpha xg - eta (g - nu xg - y+));
    v = (gamma/nu)(yg + zg) + m;  [W v, W (yg + zg)] in one round;
    z+ = z + gamma delta (zg - z) - W v;  m+ = v - W v;  zf+ = zg - zeta W (yg + zg);
    xf+ = xg + tau2 (x+ - x);  yf+ = yg + sigma2 (y+ - y).

(c1 and c5 solve the paper's implicit x and y updates in closed form.) Multi-consensus replaces W
by I - prod_{q=1..T} (I - W_q), T = ceil(chi ln 2) rounds, whose spectrum on 1^perp lies in
[1/2, 1], so the constants use chi = 2 (when T > 1). Init: x = x0, xf = x, y = yf = z = zf = m = 0
(sum_i z_i = 0, as the method needs).

The primal estimate is x. Time unit: one iteration.
"""

from __future__ import annotations

import math
from collections import namedtuple

import numpy as np

from dadao import gossip
from dadao.algorithms.synchronous import SyncAlgorithm, make_constants, primal_x, zeros_state
from dadao.algorithms.theory import Theory, sync_counts

STATE_NAMES = ("x", "xf", "y", "yf", "z", "zf", "m")
AdomState = namedtuple("AdomState", STATE_NAMES)

AdomConstants = namedtuple("AdomConstants", [
    "L", "mu", "chi", "rounds",
    "tau2", "eta", "alpha", "nu", "sigma2", "beta", "delta", "gamma", "theta", "zeta",
    "tau1", "sigma1", "c1", "c5",
])

TUNABLES = ("tau2", "eta", "alpha", "nu", "sigma2", "beta", "delta", "gamma", "theta", "zeta")


def constants_chi(chi: float, multi_consensus: bool) -> tuple[float, int]:
    """(chi used in the step sizes, gossip rounds per iteration)."""
    if not multi_consensus:
        return chi, 1
    T = gossip.multi_consensus_rounds(chi)
    return (2.0 if T > 1 else chi), T


def relaxation_rate(L: float, mu: float, chi: float) -> float:
    """sigma2 = sqrt(mu/L) / (16 chi): the step of yf, zf, and the declared rate per iteration."""
    return math.sqrt(mu / L) / (16.0 * chi)


def theory_values(L: float, mu: float, chi: float) -> dict:
    tau2 = math.sqrt(mu / L)
    sigma2 = relaxation_rate(L, mu, chi)
    nu = mu / 2.0
    return dict(tau2=tau2, eta=1.0 / (L * tau2), alpha=mu / 2.0, nu=nu, sigma2=sigma2,
                beta=1.0 / (2.0 * L), delta=1.0 / (17.0 * L),
                gamma=nu / (14.0 * sigma2 * chi ** 2), theta=nu / (4.0 * sigma2), zeta=0.5)


def derived(v: dict) -> dict:
    eta, alpha, theta, beta = v["eta"], v["alpha"], v["theta"], v["beta"]
    return dict(tau1=1.0 / (1.0 / v["tau2"] + 0.5), sigma1=1.0 / (1.0 / v["sigma2"] + 0.5),
                c5=1.0 / (1.0 + eta * alpha),
                c1=(1.0 + eta * alpha) / ((1.0 + theta * beta) * (1.0 + eta * alpha)
                                          + theta * eta))


def make_constants_fn(name: str, multi: bool):
    def constants(problem, network, overrides=None) -> AdomConstants:
        chi, rounds = constants_chi(network.chi, multi)
        values = dict(theory_values(problem.L, problem.mu, chi), L=float(problem.L),
                      mu=float(problem.mu), chi=float(chi), rounds=rounds)
        return make_constants(AdomConstants, name, values, overrides, TUNABLES, derived)
    return constants


def init_state(n: int, d: int, x0, k) -> AdomState:
    return zeros_state(AdomState, n, d, x0, x_fields=("x", "xf"))


def make_step(multi: bool):
    def step(s: AdomState, k: AdomConstants, local, mix) -> AdomState:
        xg = k.tau1 * s.x + (1.0 - k.tau1) * s.xf
        g = local.gradient(xg)
        yg = k.sigma1 * s.y + (1.0 - k.sigma1) * s.yf
        zg = k.sigma1 * s.z + (1.0 - k.sigma1) * s.zf
        w = yg + zg
        y = k.c1 * (s.y + k.theta * (k.beta + k.eta * k.c5) * g
                    - k.theta * (k.beta * k.nu + k.eta * k.c5 * (k.nu + k.alpha)) * xg
                    - k.theta * k.c5 * s.x - (k.theta / k.nu) * w)
        x = k.c5 * (s.x + k.eta * k.alpha * xg - k.eta * (g - k.nu * xg - y))
        v = (k.gamma / k.nu) * w + s.m
        stacked = np.stack((v, w), axis=1)  # (n, 2, d): both vectors travel in the same round
        mixed = (gossip.multi_consensus(mix, stacked, k.rounds) if multi else mix(stacked))
        Wv, Ww = mixed[:, 0], mixed[:, 1]
        return AdomState(
            x=x, xf=xg + k.tau2 * (x - s.x),
            y=y, yf=yg + k.sigma2 * (y - s.y),
            z=s.z + k.gamma * k.delta * (zg - s.z) - Wv, zf=zg - k.zeta * Ww,
            m=v - Wv)
    return step


primal = primal_x


def theory_rate(s) -> float:
    """sigma2 = sqrt(mu/L) / (16 chi) per iteration.

    The paper proves linear convergence at the order sqrt(mu/L)/chi per iteration; sigma2, the
    relaxation rate of the method's slowest sequences (yf, zf), is the declared rate (a lower
    bound of the measured decay, which the tests check).
    """
    return relaxation_rate(s.L, s.mu, s.chi)


def _multi_rate(s) -> float:
    """sigma2 with the multi-consensus chi (2 when T > 1)."""
    chi, _ = constants_chi(s.chi, True)
    return relaxation_rate(s.L, s.mu, chi)


def declare(name: str, multi: bool, reference: str, theory: Theory) -> SyncAlgorithm:
    """ADOM+ (``multi`` False: one gossip round per iteration) or ADOM+ with multi-consensus
    (True): the same state, start, estimate and tunables; the constants and step differ."""
    return SyncAlgorithm(
        name=name,
        state_names=STATE_NAMES,
        constants=make_constants_fn(name, multi),
        init_state=init_state,
        step=make_step(multi),
        primal=primal,
        tunables=TUNABLES,
        gossip="laplacian",
        supports_time_varying=True,
        reference=reference,
        theory=theory,
    )


ALGORITHM = declare(
    "adom_plus", False,
    reference="Kovalev, Gasanov, Richtarik, Gasnikov, ADOM+, NeurIPS 2021 (arXiv 2106.04469)",
    theory=Theory(
        *sync_counts(),
        rate=theory_rate,
        gradients="O(chi sqrt(kappa) log(1/eps)) rounds of n gradients",
        communications="O(chi sqrt(kappa) log(1/eps)) rounds of |E|",
        note="one gossip round (two vectors per edge) per iteration",
    ),
)

MULTI_CONSENSUS = declare(
    "adom_plus_mc", True,
    reference="Kovalev et al. 2021 (arXiv 2106.04469), ADOM+ with multi-consensus",
    theory=Theory(
        *sync_counts(gossip.multi_consensus_rounds),
        rate=_multi_rate,
        gradients="O(sqrt(kappa) log(1/eps)) rounds of n gradients",
        communications="O(chi sqrt(kappa) log(1/eps)) rounds of |E|",
        note="T = ceil(chi ln 2) gossip rounds per iteration; constants with chi = 2",
    ),
)

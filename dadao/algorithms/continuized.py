"""Continuized accelerated gossip: the dual method of Even, Berthier, Bach, Flammarion, Hendrikx,
Raja, Massoulie (NeurIPS 2021, arXiv 2106.07644), as run in the DADAO paper (docs/methods.md,
Continuized accelerated gossip).

It works on the dual of min sum_i f_i(x_i) s.t. consensus, so it needs grad f_i^*: quadratic,
least-squares (with their conjugate oracle) and averaging problems only. Each node holds two dual
vectors y_i, z_i in R^d (zero at start, so sum_i y_i = sum_i z_i = 0 for ever). Between events

    y' = eta (z - y),    z' = eta (y - z).

On an activation of edge (i, j), each side computes one conjugate gradient and sends it
(1 communication, 2 gradients); with G = grad f_i^*(y_i) - grad f_j^*(y_j),

    y_i -= gamma R_ij G,  y_j += gamma R_ij G,  z_i -= gamma' G,  z_j += gamma' G,

and node i's primal estimate is x_i = grad f_i^*(z_i). There are no gradient clocks.

Constants, for the rate Laplacian Lambda = sum_e lambda_e b_e b_e^T of the actual rates (the
authors' code has one process of total rate 1, Lambda = L_G/|E|; any total rate is valid here):
R_ij = b_ij^T Lambda^+ b_ij (computed once per run, not per event as in the authors' code),
mu_g = lambda_2(Lambda) = 1/chi_1, RP = max_e R_e = 2 chi_2, and

    eta = sqrt(mu_g / RP) sqrt(mu / L),  gamma = mu / (2 RP),  gamma' = sqrt(L mu / (2 mu_g RP)).

Under Lambda -> c Lambda, eta scales like c while gamma R_e and gamma' do not change: the jumps
are the same per event, and events come c times faster. With chi_1 chi_2 = 1/2 (DADAO's theory
rates) eta = sqrt(mu/L), vs. DADAO's measured 0.2 sqrt(mu/(2L)).

Default rates (``default_rates``): uniform with total rate n/2, i.e. n gradients per unit time,
as DADAO with rate-1 gradient clocks: the two methods share the gradients axis, and the
communications per n gradients are n/2 (150 on the star n = 300).
"""

from __future__ import annotations

import math
from collections import namedtuple

import numba
import numpy as np

from dadao.algorithms.base import AsyncAlgorithm, apply_overrides
from dadao.algorithms.common import exchange_flow, half_n_rates, no_gradient
from dadao.algorithms.theory import Theory, async_gossip_counts
from dadao.problems import ProblemError
from dadao.problems.oracle import local_conjugate_gradient

Y, Z = range(2)
STATE_NAMES = ("y", "z")
TUNABLES = ("eta", "gamma", "gamma_p")

ContinuizedConstants = namedtuple(
    "ContinuizedConstants", ["L", "mu", "mu_g", "RP", "eta", "gamma", "gamma_p", "R"])


def theory_values(L: float, mu: float, chi_1: float, chi_2: float) -> dict:
    """eta, gamma, gamma' (``gamma_p``) for the chi's of the actual rates (docs/methods.md)."""
    mu_g, RP = 1.0 / chi_1, 2.0 * chi_2
    return {
        "L": float(L), "mu": float(mu), "mu_g": mu_g, "RP": RP,
        "eta": math.sqrt(mu_g / RP) * math.sqrt(mu / L),
        "gamma": mu / (2.0 * RP),
        "gamma_p": math.sqrt(L * mu / (2.0 * mu_g * RP)),
    }


def constants(problem, chi_1: float, chi_2: float, overrides: dict | None = None, *,
              resistances=None) -> ContinuizedConstants:
    """The constants above; ``resistances`` are the R_e of the run's rate Laplacian, by edge id
    (the engine passes ``dadao.graphs.effective_resistances(edges, rates, n)``)."""
    if not problem.has_conjugate:
        kind = problem.params.get("kind", problem.name)
        raise ProblemError(f"continuized needs the conjugate gradient grad f_i^* "
                           f"(quadratic, least_squares or averaging); got {kind!r}",
                           field="problem.kind")
    if resistances is None:
        raise ValueError("continuized: constants need the per-edge resistances R_e "
                         "(resistances=dadao.graphs.effective_resistances(edges, rates, n))")
    v = apply_overrides("continuized", theory_values(problem.L, problem.mu, chi_1, chi_2),
                        overrides, TUNABLES)
    R = np.ascontiguousarray(resistances, dtype=np.float64)
    return ContinuizedConstants(**v, R=R)


@numba.njit(cache=True)
def flow(s, dt, k):
    """(y, z) <- expm([[-eta, eta], [eta, -eta]] dt) (y, z): the gap y - z shrinks by e^{-2 eta dt}."""
    exchange_flow(s, Y, Z, k.eta, dt)


#: no gradient clocks: the engine runs this method with every gradient rate at 0
on_gradient = no_gradient


@numba.njit(cache=True)
def message(s, k, oracle, i, out):
    """grad f_i^*(y_i): node i's one conjugate gradient of the event, sent to its peer."""
    local_conjugate_gradient(oracle, i, s[0], out)


@numba.njit(cache=True)
def on_message(s, k, own, peer, e):
    """G = own - peer; y -= gamma R_e G; z -= gamma' G."""
    step = k.gamma * k.R[e]
    for m in range(s.shape[1]):
        g = own[m] - peer[m]
        s[0, m] -= step * g
        s[1, m] -= k.gamma_p * g


@numba.njit(cache=True)
def primal(s, k, oracle, i, out):
    """x_i = grad f_i^*(z_i)."""
    local_conjugate_gradient(oracle, i, s[1], out)


def init_state(n: int, d: int, x0=None, problem=None, nodes=None) -> np.ndarray:
    """y = z = 0 (the dual start; sum_i y_i = sum_i z_i = 0 is then kept by every update).

    x0 is not used: the primal start is x_i = grad f_i^*(0), node i's own minimiser.
    """
    return np.zeros((n, 2, d))


#: uniform rates of total n/2: n conjugate gradients per unit time, like DADAO's n
default_rates = half_n_rates


ALGORITHM = AsyncAlgorithm(
    name="continuized",
    state_names=STATE_NAMES,
    constants=constants,
    init_state=init_state,
    flow=flow,
    on_gradient=on_gradient,
    message=message,
    on_message=on_message,
    primal=primal,
    gradients_per_gradient_event=0,
    gradients_per_gossip_event=2,
    reference="Even et al., Continuized accelerations of deterministic and stochastic gradient "
              "descents, and of gossip algorithms, NeurIPS 2021 (arXiv 2106.07644)",
    theory=Theory(
        *async_gossip_counts(gradients_per_gossip_event=2),
        # the continuized Lyapunov function decays like exp(-eta t)
        rate=lambda s: math.sqrt(1.0 / (2.0 * s.chi_1 * s.chi_2)) * math.sqrt(s.mu / s.L),
        # time to eps is ln(1/eps)/eta and eta grows like the total rate T, so the counts do not
        # depend on T: 2 T ln(1/eps)/eta = 2 sqrt(2 chi_1 chi_2) sqrt(kappa) ln(1/eps), chi's of Lbar
        gradients="2 sqrt(2 chi_1[Lbar] chi_2[Lbar]) sqrt(kappa) ln(1/eps), at any total rate",
        communications="sqrt(2 chi_1[Lbar] chi_2[Lbar]) sqrt(kappa) ln(1/eps), at any total rate",
        note="dual method: quadratic and least-squares problems only; no gradient clocks",
    ),
    tunables=TUNABLES,
    gradient_clocks=False,
    accepts_x0=False,
    needs_resistances=True,
    needs_conjugate=True,
    default_rates=default_rates,
)

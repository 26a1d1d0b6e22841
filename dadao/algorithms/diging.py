"""DIGing: distributed inexact gradient tracking (Nedic, Olshevsky, Shi, SIAM J. Optim. 27(4),
2017, arXiv 1607.03218). Synchronous, primal; static or time-varying graphs.

Mixing matrix M_q = I - W_q with Metropolis weights on graph q mod K. The paper's recursion

    x^{k+1} = M x^k - alpha y^k,    y^{k+1} = M y^k + grad F(x^{k+1}) - grad F(x^k),
    y^0 = grad F(x^0),

is run with one gradient per iteration by storing the last gradient g: with y^{-1} = g^{-1} = 0,
iteration k computes g^k = grad F(x^k), y^k = M y^{k-1} + g^k - g^{k-1} (so y^0 = g^0) and
x^{k+1} = M x^k - alpha y^k. M x^k and M y^{k-1} travel in one gossip round (two vectors per
edge). y tracks the average gradient: sum_i y_i = sum_i grad f_i(x_i) at every iteration.

Step size: alpha = STEP_CONSTANT (1 - sigma) / L with STEP_CONSTANT = 1/2; sigma is the largest
modulus of M's eigenvalues other than 1 (worst over the list). The paper's guaranteed step is far
smaller; this practical choice is checked by the convergence tests (tunable: ``alpha``). With
STEP_CONSTANT = 1, least squares on the complete graph (sigma = 0) diverges.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from dadao.algorithms.synchronous import SyncAlgorithm, make_constants, primal_x, zeros_state
from dadao.algorithms.theory import Theory, sync_counts

STATE_NAMES = ("x", "y", "g")
DigingState = namedtuple("DigingState", STATE_NAMES)
DigingConstants = namedtuple("DigingConstants", ["L", "mu", "sigma", "alpha"])
TUNABLES = ("alpha",)

#: alpha = STEP_CONSTANT (1 - sigma) / L
STEP_CONSTANT = 0.5


def mixing_modulus(network) -> float:
    """sigma = max(|1 - lambda_2(W)|, |1 - lambda_max(W)|) over the list, M = I - W Metropolis."""
    w_2, w_max = network.metropolis_spectrum
    return max(abs(1.0 - w_2), abs(1.0 - w_max))


def constants(problem, network, overrides=None) -> DigingConstants:
    sigma = mixing_modulus(network)
    values = dict(L=float(problem.L), mu=float(problem.mu), sigma=sigma,
                  alpha=STEP_CONSTANT * (1.0 - sigma) / problem.L)
    return make_constants(DigingConstants, "diging", values, overrides, TUNABLES)


def init_state(n: int, d: int, x0, k) -> DigingState:
    return zeros_state(DigingState, n, d, x0)


def step(s: DigingState, k: DigingConstants, local, mix) -> DigingState:
    g = local.gradient(s.x)
    mixed = np.stack((s.x, s.y), axis=1)
    mixed = mixed - mix(mixed)  # M [x, y] in one round
    y = mixed[:, 1] + g - s.g
    return DigingState(x=mixed[:, 0] - k.alpha * y, y=y, g=g)


primal = primal_x


ALGORITHM = SyncAlgorithm(
    name="diging",
    state_names=STATE_NAMES,
    constants=constants,
    init_state=init_state,
    step=step,
    primal=primal,
    tunables=TUNABLES,
    gossip="metropolis",
    supports_time_varying=True,
    reference="Nedic, Olshevsky, Shi, DIGing, SIAM J. Optim. 2017 (arXiv 1607.03218)",
    theory=Theory(
        *sync_counts(),
        rate=None,  # linear convergence is proven, without a closed-form rate in (kappa, chi)
        gradients="linear (geometric) convergence; no closed-form constant",
        communications="one round of |E| (two vectors per edge) per iteration",
        note="Metropolis mixing",
    ),
)

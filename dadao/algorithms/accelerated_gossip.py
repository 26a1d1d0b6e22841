"""Accelerated gossip averaging with A2CiD2 momentum (Nabli, Belilovsky, Oyallon, "A2CiD2:
Accelerating Asynchronous Communication in Decentralized Deep Learning", NeurIPS 2023).

The averaging problem (``dadao.problems.averaging``), as ``randomized_gossip``, with a second
vector xt_i per node (started at xt_i = x_i = a_i). Between events

    x' = eta (xt - x),   xt' = eta (x - xt),     eta = 1 / (2 sqrt(chi_1 chi_2)),

and on an activation of edge (i, j), first xt_i += alpha_t (x_j - x_i) (and symmetrically at j),
then x_i, x_j <- (x_i + x_j)/2, with alpha_t = (1/2) sqrt(chi_1 / chi_2); chi_1, chi_2 of the
actual rate Laplacian. Both sum_i x_i and sum_i xt_i are conserved (the flow conserves
sum (x + xt) and, since they start equal, keeps sum x = sum xt), so x* = xbar(0) for ever.

E||x - xbar||^2 decays like exp(-c t / sqrt(chi_1 chi_2)) with c of order 1, against
exp(-t/chi_1) without momentum: a gain of sqrt(chi_1/chi_2) (docs/methods.md, Accelerated
gossip, says where c comes from). The declared rate is 1/sqrt(chi_1 chi_2). Default rates:
uniform, total n/2.
"""

from __future__ import annotations

import math
from collections import namedtuple

import numba
import numpy as np

from dadao.algorithms.base import AsyncAlgorithm, apply_overrides
from dadao.algorithms.common import (copy_x, exchange_flow, half_n_rates, local_minimisers,
                                     no_gradient, require_averaging, start_state)
from dadao.algorithms.theory import Theory, async_gossip_counts

X, XT = range(2)
STATE_NAMES = ("x", "xt")
TUNABLES = ("eta", "alpha_t")

AcceleratedGossipConstants = namedtuple("AcceleratedGossipConstants",
                                        ["chi_1", "chi_2", "eta", "alpha_t"])


def constants(problem, chi_1: float, chi_2: float, overrides: dict | None = None,
              **_) -> AcceleratedGossipConstants:
    """eta = 1/(2 sqrt(chi_1 chi_2)), alpha_t = (1/2) sqrt(chi_1/chi_2)."""
    require_averaging(problem, "accelerated_gossip")
    v = {"chi_1": float(chi_1), "chi_2": float(chi_2),
         "eta": 0.5 / math.sqrt(chi_1 * chi_2), "alpha_t": 0.5 * math.sqrt(chi_1 / chi_2)}
    return AcceleratedGossipConstants(**apply_overrides("accelerated_gossip", v, overrides,
                                                        TUNABLES))


@numba.njit(cache=True)
def flow(s, dt, k):
    """(x, xt) <- expm([[-eta, eta], [eta, -eta]] dt) (x, xt)."""
    exchange_flow(s, X, XT, k.eta, dt)


# no gradient clocks (every gradient rate is 0); the message and the estimate are x_i
on_gradient = no_gradient
message = primal = copy_x


@numba.njit(cache=True)
def on_message(s, k, own, peer, e):
    """xt += alpha_t (x_peer - x_own); then x <- (x_own + x_peer)/2."""
    for m in range(s.shape[1]):
        s[1, m] += k.alpha_t * (peer[m] - own[m])
        s[0, m] = 0.5 * (own[m] + peer[m])


@numba.njit(cache=True)
def on_delayed_message(s, k, own, peer, e):
    """``on_message`` in difference form, for messages sent earlier: xt += alpha_t (x_peer -
    x_own); x += (x_peer - x_own)/2 (both ends change by opposite amounts)."""
    for m in range(s.shape[1]):
        s[1, m] += k.alpha_t * (peer[m] - own[m])
        s[0, m] += 0.5 * (peer[m] - own[m])


def init_state(n: int, d: int, x0=None, problem=None, nodes=None) -> np.ndarray:
    """x_i = xt_i = a_i (xt = x, else the mean of x is not conserved); x0 is refused."""
    return start_state(n, 2, d, local_minimisers(problem, nodes), rows=(X, XT))


#: uniform rates of total n/2, as randomized gossip
default_rates = half_n_rates


ALGORITHM = AsyncAlgorithm(
    name="accelerated_gossip",
    state_names=STATE_NAMES,
    constants=constants,
    init_state=init_state,
    flow=flow,
    on_gradient=on_gradient,
    message=message,
    on_message=on_message,
    on_delayed_message=on_delayed_message,
    primal=primal,
    gradients_per_gradient_event=0,
    reference="Nabli, Belilovsky, Oyallon, A2CiD2: Accelerating Asynchronous Communication in "
              "Decentralized Deep Learning, NeurIPS 2023",
    theory=Theory(
        *async_gossip_counts(gradient_clocks=False),
        rate=lambda s: 1.0 / math.sqrt(s.chi_1 * s.chi_2),
        gradients="none",
        communications="O(sqrt(chi_1 chi_2) log(1/eps)) time units at total rate sum(lambda)",
        note="averaging problem only; E||x - xbar||^2 ~ exp(-0.8 t/sqrt(chi_1 chi_2)) measured",
    ),
    tunables=TUNABLES,
    gradient_clocks=False,
    accepts_x0=False,
    default_rates=default_rates,
)

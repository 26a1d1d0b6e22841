"""Randomized gossip averaging (Boyd, Ghosh, Prabhakar, Shah, IEEE Trans. Inf. Theory 2006).

The averaging problem (``dadao.problems.averaging``: f_i(x) = 1/2 ||x - a_i||^2, x* = mean_i a_i)
solved by gossip alone: node i starts at x_i = a_i, the minimiser of its own f_i, and on every
activation of edge (i, j)

    x_i, x_j <- (x_i + x_j) / 2.

No gradients, no flow. The sum of the x_i is conserved exactly, so x* = xbar(0) for ever and
dist_to_opt = consensus = V = (1/n) sum_i ||x_i - xbar||^2. An activation of (i, j) lowers n V by
||x_i - x_j||^2 / 2, so d/dt E V = -(1/2n) E x^T Lambda x <= -E V / (2 chi_1): the guaranteed
rate is 1/(2 chi_1), and in practice V decays like exp(-t/chi_1), chi_1 = 1/lambda_2 of the rate
Laplacian in the time unit of the rates (docs/methods.md, Randomized gossip). The declared rate
is 1/chi_1.

There are no gradient clocks: time is simply the time of the edge clocks. Default rates:
uniform, total n/2 (every node takes part in one averaging per unit time on average).
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from dadao.algorithms.base import AsyncAlgorithm, apply_overrides
from dadao.algorithms.common import (copy_x, gossip_average, gossip_difference, half_n_rates, local_minimisers,
                                     no_flow, no_gradient, require_averaging, start_state)
from dadao.algorithms.theory import Theory, async_gossip_counts

STATE_NAMES = ("x",)

GossipConstants = namedtuple("GossipConstants", ["chi_1", "chi_2"])


def constants(problem, chi_1: float, chi_2: float, overrides: dict | None = None,
              **_) -> GossipConstants:
    """No step constants: only chi_1, chi_2 of the rates, kept for the record."""
    require_averaging(problem, "randomized_gossip")
    v = apply_overrides("randomized_gossip", {"chi_1": float(chi_1), "chi_2": float(chi_2)},
                        overrides, ())
    return GossipConstants(**v)


# nothing moves between events; no gradient clocks (every gradient rate is 0); the message and
# the estimate are x_i; a gossip event averages: x <- (x_own + x_peer) / 2
flow, on_gradient = no_flow, no_gradient
message = primal = copy_x
on_message = gossip_average


def init_state(n: int, d: int, x0=None, problem=None, nodes=None) -> np.ndarray:
    """x_i = a_i (node i's minimiser of f_i); x0 is refused by the engine."""
    return start_state(n, 1, d, local_minimisers(problem, nodes))


#: uniform rates of total n/2: each node averages once per unit time on average
default_rates = half_n_rates


ALGORITHM = AsyncAlgorithm(
    name="randomized_gossip",
    state_names=STATE_NAMES,
    constants=constants,
    init_state=init_state,
    flow=flow,
    on_gradient=on_gradient,
    message=message,
    on_message=on_message,
    on_delayed_message=gossip_difference,
    primal=primal,
    gradients_per_gradient_event=0,
    reference="Boyd, Ghosh, Prabhakar, Shah, Randomized gossip algorithms, IEEE Trans. Inf. "
              "Theory 52(6), 2006",
    theory=Theory(
        *async_gossip_counts(gradient_clocks=False),
        rate=lambda s: 1.0 / s.chi_1,
        gradients="none",
        communications="O(chi_1 log(1/eps)) time units at total rate sum(lambda)",
        note="averaging problem only; E||x - xbar||^2 ~ exp(-t/chi_1) (guaranteed 1/(2 chi_1))",
    ),
    gradient_clocks=False,
    accepts_x0=False,
    supports_time_varying=True,
    default_rates=default_rates,
)

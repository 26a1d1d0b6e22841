"""What each algorithm's theory predicts, in one place (the PEPit lesson: tests, tables and report
overlays hold a simulation against its declared rate).

Time is in expected gradient steps per node; for synchronous methods one round (n gradients, one
per node) is one time unit, so both kinds share the x axes "gradients" and "communications".

A ``Theory`` is a set of functions of a ``Setting`` (problem and graph constants). Its ``rate`` is
the predicted exponent of the decay of dist_to_opt, exp(-rate t); ``gradients_per_time`` and
``communications_per_time`` are the expected counts per time unit of the whole network.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class Setting:
    """Constants a theoretical rate may depend on.

    chi = lambda_max(L_G) / lambda_2(L_G) of the graph Laplacian; chi_1 and chi_2 those of the rate
    Laplacian in use (so they scale as 1/total_rate); total_rate = sum of edge rates (expected
    communications per time unit of an asynchronous gossip method).
    """

    n: int
    edges: int
    mu: float
    L: float
    chi: float
    chi_1: float
    chi_2: float
    total_rate: float

    @property
    def kappa(self) -> float:
        return self.L / self.mu


@dataclass(frozen=True)
class Theory:
    """Predictions of one method; ``rate`` may be None when no linear rate is claimed."""

    gradients_per_time: Callable[[Setting], float]
    communications_per_time: Callable[[Setting], float]
    rate: Callable[[Setting], float] | None = None
    #: the claimed complexities, as printed in the paper
    gradients: str = ""
    communications: str = ""
    note: str = ""

    def communications_per_round(self, s: Setting) -> float:
        """Expected communications while the network computes n gradients (the authors' table);
        inf for methods that compute no gradients (gossip averaging)."""
        grads = self.gradients_per_time(s)
        if grads == 0:
            return math.inf
        return self.communications_per_time(s) * s.n / grads

    def time_to(self, eps: float, s: Setting) -> float:
        """Predicted time for dist_to_opt to fall to eps x its start: ln(1/eps) / rate."""
        if self.rate is None:
            return math.inf
        return math.log(1.0 / eps) / self.rate(s)

    def gradients_to(self, eps: float, s: Setting) -> float:
        return self.time_to(eps, s) * self.gradients_per_time(s)

    def communications_to(self, eps: float, s: Setting) -> float:
        return self.time_to(eps, s) * self.communications_per_time(s)


def async_gossip_counts(gradients_per_gossip_event: int = 0, gradient_clocks: bool = True):
    """(gradients_per_time, communications_per_time) of a method driven by rate-1 gradient clocks
    (none when ``gradient_clocks`` is False, e.g. gossip averaging, or when
    ``gradients_per_gossip_event`` > 0: gradients come with gossip events) and edge clocks of
    total rate ``total_rate``."""
    if gradients_per_gossip_event:
        return (lambda s: float(gradients_per_gossip_event * s.total_rate)), (lambda s: s.total_rate)
    if not gradient_clocks:
        return (lambda s: 0.0), (lambda s: s.total_rate)
    return (lambda s: float(s.n)), (lambda s: s.total_rate)


def sync_counts(rounds: Callable[[float], int] | None = None):
    """(gradients_per_time, communications_per_time) of a synchronous method: one iteration per
    time unit, n gradients (one per node) and ``rounds(chi)`` gossip rounds of |E|
    communications each (one round when ``rounds`` is None)."""
    if rounds is None:
        return (lambda s: float(s.n)), (lambda s: float(s.edges))
    return (lambda s: float(s.n)), (lambda s: rounds(s.chi) * float(s.edges))

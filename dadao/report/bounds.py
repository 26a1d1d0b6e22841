"""The lower bounds of the setting, as the papers state them (orders; no constant is given, and
none is invented here), and their value at a run's kappa and chi, for comparison with the
counts measured.

Smooth (L), strongly convex (mu) decentralized optimization, kappa = L / mu, on a graph whose
unweighted Laplacian L_G has chi = lambda_max(L_G) / lambda_2(L_G) (docs/model.md: "the chi of
Scaman et al. 2017 and of ADOM+"); eps: the accuracy reached.
"""

from __future__ import annotations

import math

#: (what is bounded, the formula, its reference); the formulas are the orders docs/methods.md
#: quotes for MSDA and ADOM+, the methods that reach them
BOUNDS = (
    ("gradient computations per node (static graph)", "Omega(sqrt(kappa) log(1/eps))",
     "K. Scaman, F. Bach, S. Bubeck, Y. T. Lee, L. Massoulie, \"Optimal Algorithms for Smooth "
     "and Strongly Convex Distributed Optimization in Networks\", ICML 2017, arXiv 1702.08704"),
    ("communication rounds (static graph)", "Omega(sqrt(kappa chi) log(1/eps))",
     "Scaman et al. 2017 (as above); chi = lambda_max / lambda_2 of the Laplacian"),
    ("communication rounds (time-varying graphs)", "Omega(chi sqrt(kappa) log(1/eps))",
     "D. Kovalev, E. Gasanov, A. Gasnikov, P. Richtarik, \"Lower Bounds and Optimal Algorithms "
     "for Smooth and Strongly Convex Decentralized Optimization Over Time-Varying Networks\", "
     "NeurIPS 2021, arXiv 2106.04469"),
)

NOTE = ("Orders only: the papers give no constant, and the values below are the expressions "
        "inside Omega(.) with eps the relative accuracy of dist_to_opt. A gradient bound per node "
        "is shown times n (gradients of the whole network) and a bound in rounds times |E| (a "
        "round activates every edge once): the units of the counts table.")


def bound_values(n: int, edges: float, kappa: float, chi: float, eps: float,
                 time_varying: bool = False) -> dict:
    """{"gradients": n sqrt(kappa) ln(1/eps), "communications": |E| sqrt(kappa chi) ln(1/eps)
    (time-varying: |E| chi sqrt(kappa) ln(1/eps))}: the bounds' expressions, without constants,
    in the units of the counts (whole network, edge activations)."""
    log = math.log(1.0 / eps)
    rounds = (chi * math.sqrt(kappa) if time_varying else math.sqrt(kappa * chi)) * log
    return {"gradients": n * math.sqrt(kappa) * log, "communications": edges * rounds}

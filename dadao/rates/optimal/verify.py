"""Verification of rate vectors, independent of any solver.

:func:`verify_rates` refuses negative rates (round-off below 1e-6 of the largest rate is set to
0), recomputes chi_1 and chi_2 exactly (:func:`dadao.graphs.rate_constants`), rescales the rates
by sqrt(2 chi_1 chi_2) (1 + 1e-9) so that chi_1 chi_2 = 1/2 just inside DADAO's run-time check
(the factor is <= 1 for rates that meet the condition, so caps still hold), and checks the
condition again from the final rates to CONDITION_TOL and the node caps to CAP_TOL.

The objective is recomputed from the final rates too, never taken from a solver or a cache
entry: the total rate sum(lambda) (``RateCondition.total``) and, with per-edge costs c_e
(seconds a link is busy per activation), the weighted total :func:`weighted_total` c @ lambda
(seconds of link busy time per unit time). For an exact method (no caps) it may not exceed the
theory-uniform rates' (:func:`dadao.rates.optimal.chain.worse_than_uniform`).
"""

from __future__ import annotations

import math

import numpy as np

from dadao import graphs
from dadao.errors import OptimalRatesError
from dadao.rates import condition as rate_condition
from dadao.rates.optimal.arguments import check_caps, check_edges

# The condition must hold to this relative tolerance after the final rescaling.
CONDITION_TOL = 1e-6
# Node caps hold to this relative tolerance (the solver meets them to its own accuracy).
CAP_TOL = 1e-4


def node_load(edges, rates, n) -> np.ndarray:
    """sum_{e at i} lambda_e for every node i (communications per unit time at node i)."""
    e = np.asarray(edges)
    lam = np.asarray(rates, dtype=np.float64)
    return np.bincount(e[:, 0], lam, minlength=n) + np.bincount(e[:, 1], lam, minlength=n)


def weighted_total(costs, rates) -> float:
    """sum_e c_e lambda_e: with costs in seconds per activation and rates in activations per
    unit time, the expected seconds of link busy time per unit time; sum(lambda) (the total
    rate, communications per unit time) for costs None."""
    lam = np.asarray(rates, dtype=np.float64)
    return float(lam.sum() if costs is None else np.asarray(costs, dtype=np.float64) @ lam)


def verify_rates(edges, rates, n: int, *, node_caps=None, rescale: bool = True):
    """Check and rescale rates; return (rates, RateCondition) meeting chi_1 chi_2 <= 1/2.

    rescale=False checks final rates (from the cache) as they are. Raises OptimalRatesError
    (field "rates", or "node_caps" for a cap that does not hold); see the module docstring. The
    messages name no solver: the rates may come from a solver or from the cache.
    """
    e = check_edges(edges, n)
    lam = np.array(rates, dtype=np.float64).ravel()
    if lam.shape != (len(e),):
        raise OptimalRatesError(f"expected {len(e)} values (one per edge); got {lam.size}",
                                field="rates")
    if not np.all(np.isfinite(lam)):
        raise OptimalRatesError("non-finite rates", field="rates")
    top = float(lam.max())
    if top <= 0:
        raise OptimalRatesError("no positive rate", field="rates")
    if lam.min() < -1e-6 * top:
        k = int(np.argmin(lam))
        raise OptimalRatesError(f"edge ({e[k, 0]}, {e[k, 1]}) has negative rate {lam[k]:.3g} "
                                f"(largest rate {top:.3g})", field="rates")
    lam = np.maximum(lam, 0.0)
    try:
        if rescale:
            c = graphs.rate_constants(e, lam, n)
            lam = lam * (math.sqrt(2.0 * c["chi_1"] * c["chi_2"]) * (1.0 + 1e-9))
        cond = rate_condition.check_rate_condition(e, lam, n)
    except ValueError as exc:
        message = getattr(exc, "message", None) or str(exc).splitlines()[0]
        raise OptimalRatesError(f"verification failed: {message}", field="rates") from None
    if not (lam.min() >= 0 and cond.product <= 0.5 * (1.0 + CONDITION_TOL) and cond.satisfied):
        after = " after rescaling" if rescale else ""
        raise OptimalRatesError(f"verification failed{after}: {cond.describe()}", field="rates")
    if node_caps is not None:
        caps = check_caps(node_caps, n, "sdp")
        load = node_load(e, lam, n)
        over = load > caps * (1.0 + CAP_TOL)
        if over.any():
            i = int(np.argmax(load / caps))
            raise OptimalRatesError(f"node {i} communicates at rate {load[i]:.6g} above its "
                                    f"cap {caps[i]:.6g} after verification", field="node_caps")
    return lam, cond

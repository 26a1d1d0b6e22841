"""Argument checks of :func:`dadao.rates.optimal.optimal_rates`.

Each check returns the argument in canonical form or raises :class:`OptimalRatesError` (an input
error, exit code 2) whose ``field`` names the argument, so that a caller can relabel it to its
own config key or flag with ``located``.
"""

from __future__ import annotations

import numpy as np

from dadao import graphs
from dadao.errors import GraphError, OptimalRatesError
from dadao.rates.optimal.solvers import SOLVERS, available_solvers

METHODS = ("sdp", "sdp-search", "relaxed", "max-connectivity", "first-order")
# The exact program (its optimum is the least total rate); the others give upper bounds.
EXACT_METHODS = ("sdp", "sdp-search")
# Methods whose rescaling step can raise any rate, so they cannot honour node caps.
UNCAPPED_METHODS = ("max-connectivity", "first-order")
# Spellings of "no solver given": the default chain (config value "auto").
AUTO = "auto"


def check_edges(edges, n) -> np.ndarray:
    """edges as an (E, 2) int64 array with endpoints in 0..n-1, n an integer >= 2."""
    try:
        graphs.check_n(n, "n")
        return graphs.as_edges(edges, n)
    except GraphError as exc:
        raise OptimalRatesError(exc.message, field=exc.field or "edges") from None


def check_method(method) -> str:
    if method not in METHODS:
        raise OptimalRatesError(f"unknown method {method!r}; allowed: {', '.join(METHODS)}",
                                field="method")
    return method


def check_solver(solver, method) -> str:
    """The solver request: "auto" (None, the default chain), a name in SOLVERS, or "none"
    for "first-order" (which uses no cone solver)."""
    if method == "first-order":
        if solver not in (None, "none", AUTO):
            raise OptimalRatesError(f"method 'first-order' uses no cone solver; got solver "
                                    f"{solver!r} (leave it unset)", field="solver")
        return "none"
    if solver is None:
        return AUTO
    solver = str(solver).lower()
    if solver == AUTO:
        return AUTO
    if solver not in SOLVERS:
        raise OptimalRatesError(f"unknown solver {solver!r}; allowed: {', '.join(SOLVERS)} "
                                f"or unset (auto)", field="solver")
    if solver not in available_solvers():
        raise OptimalRatesError(f"{solver} is not installed (available: "
                                f"{', '.join(available_solvers()) or 'none'})", field="solver")
    return solver


def check_caps(node_caps, n, method):
    """None, or an (n,) float64 array of caps > 0 on every node's total rate."""
    if node_caps is None:
        return None
    if method in UNCAPPED_METHODS:
        raise OptimalRatesError(f"not supported by method {method!r} (use 'sdp', 'sdp-search' "
                                f"or 'relaxed')", field="node_caps")
    caps = np.asarray(node_caps, dtype=np.float64)
    if caps.ndim == 0:
        caps = np.full(n, float(caps))
    if caps.shape != (n,) or not np.all(np.isfinite(caps)) or caps.min() <= 0:
        raise OptimalRatesError(f"expected a number > 0 or {n} finite numbers > 0",
                                field="node_caps")
    return caps


def check_costs(costs, e):
    """None, or the (E,) float64 array of per-edge costs c_e > 0 of the edges e (edge_array
    order): seconds a link is busy per activation. Every method takes them."""
    if costs is None:
        return None
    try:
        c = np.asarray(costs, dtype=np.float64)
    except (TypeError, ValueError):
        raise OptimalRatesError(f"expected {len(e)} finite numbers > 0 (one per edge, in "
                                f"edge_array order); got {costs!r:.60}", field="costs") from None
    if c.shape != (len(e),):
        raise OptimalRatesError(f"expected {len(e)} values (one per edge, in edge_array "
                                f"order); got shape {c.shape}", field="costs")
    bad = ~(np.isfinite(c) & (c > 0))
    if bad.any():
        k = int(np.argmax(bad))
        raise OptimalRatesError(f"edge ({e[k, 0]}, {e[k, 1]}) has cost {float(c[k])!r}; costs "
                                f"must be finite numbers > 0 (seconds per activation)",
                                field="costs")
    return c


def objective_weights(costs):
    """The weights w of the programs' objective w @ lambda: None (sum(lambda), today's program)
    for no costs or equal costs, else w = c / mean(c).

    The optimal rates do not change when every cost is multiplied by the same factor, so the
    programs see costs of mean 1: an objective of the size of sum(lambda), whatever the unit of
    the costs, keeps the solvers' absolute tolerances meaningful."""
    if costs is None or np.all(costs == costs[0]):
        return None
    return costs / costs.mean()


def check_limits(max_iter, time_limit_s, method):
    """(max_iter, time_limit_s): max_iter for "first-order" only, time_limit_s for any method;
    each None or a number > 0."""
    for name, value in (("max_iter", max_iter), ("time_limit_s", time_limit_s)):
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer,
                                                             np.floating)) or not value > 0:
            raise OptimalRatesError(f"must be a number > 0; got {value!r}", field=name)
    if max_iter is not None and method != "first-order":
        raise OptimalRatesError(f"applies to method 'first-order' only; got method {method!r}",
                                field="max_iter")
    return (None if max_iter is None else int(max_iter),
            None if time_limit_s is None else float(time_limit_s))

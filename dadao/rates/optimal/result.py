"""The result of :func:`dadao.rates.optimal.optimal_rates` and its human-readable labels.

Statuses of a result (``OptimalRates.status``):

- "optimal": a cone solver solved the program of ``method`` to its tolerances. For "sdp" and
  "sdp-search" that is the least total rate (``exact`` is True); "relaxed" and
  "max-connectivity" solve other programs, so their totals are upper bounds on it.
- "converged", "max_iter", "time_limit": the first-order method stopped on its tolerances, at
  its iteration limit, or at its time limit. Its rates are verified like any others, but the
  total is an upper bound on the least total, not the optimum; ``info["gap"]`` bounds how far
  above it (a certified relative gap, also in the label).

Statuses of an attempt (``info["attempts"]`` rows (solver, method, status, seconds)): the above
for the attempt that produced the rates, and for those that did not: a cvxpy status
("optimal_inaccurate", "infeasible", "infeasible_inaccurate", "unbounded", "user_limit", ...),
"solver_error", "time_limit", "search_failed" (sdp-search), "verification_failed" (the rates
fail :func:`verify_rates`) or "worse_than_uniform" (an exact-program total above the
theory-uniform total, which is feasible: an inaccurate solve).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

FIRST_ORDER_STATUSES = ("converged", "max_iter", "time_limit")
_UPPER_BOUND = "an upper bound on the least total {}"


@dataclass(frozen=True)
class OptimalRates:
    """A verified rate vector and how it was obtained.

    rates: float64 (E,), edge_array order, rescaled so that chi_1 chi_2 = 1/2 (to rounding).
    total (also ``total_rate``): sum of rates (communications per unit time). uniform_total: the
    same for DADAO's theory-scaled uniform rates. saving = 1 - total / uniform_total.
    total_cost: with per-edge costs c_e (seconds a link is busy per activation), sum_e c_e
    lambda_e, the objective that was minimised (seconds of link busy time per unit time);
    uniform_total_cost: the same for the theory-uniform rates; both None without costs, and
    recomputed from the rates, never read from the cache. chi_1, chi_2, product:
    recomputed from the final rates by eigendecomposition; uniform_chi_1, uniform_chi_2: those
    of the theory-uniform rates (their product is 1/2 too).
    method, solver: what produced the rates ("none" for "first-order"); requested_method,
    requested_solver: what was asked ("auto": the default chain). They differ after a fallback.
    status: see the module docstring; label: the same for a person, e.g. "optimal (clarabel)" or
    "stopped at its iteration limit (400 iterations); an upper bound on the least total rate,
    certified within 2.1% of it".
    exact: True when total (total_cost with costs) is the optimum of the exact program (method
    "sdp" or "sdp-search" solved to "optimal"); else it is an upper bound on it.
    solve_time_s: wall time of all attempts (of the first solve, for a cached result).
    verified: True (unverified results are never returned). from_cache: read from the cache.
    info: method-specific numbers (s, objective, iterations, search points, ...) and
    "attempts": [(solver, method, status, seconds), ...] in the order tried.
    """

    rates: np.ndarray
    total: float
    chi_1: float
    chi_2: float
    product: float
    uniform_total: float
    saving: float
    method: str
    solver: str
    status: str
    solve_time_s: float
    verified: bool
    uniform_chi_1: float = math.nan
    uniform_chi_2: float = math.nan
    from_cache: bool = False
    info: dict | None = None
    requested_method: str = ""
    requested_solver: str = ""
    exact: bool = False
    label: str = ""
    total_cost: float | None = None
    uniform_total_cost: float | None = None

    @property
    def total_rate(self) -> float:
        """sum of rates, communications per unit time (the same as ``total``)."""
        return self.total

    @property
    def cost_saving(self) -> float | None:
        """1 - total_cost / uniform_total_cost (None without costs)."""
        if self.total_cost is None:
            return None
        return 1.0 - self.total_cost / self.uniform_total_cost

    def summary(self) -> dict:
        """Everything but the rate vector, as JSON-ready numbers and strings (with costs, also
        total_cost, uniform_total_cost and cost_saving)."""
        d = asdict(self)
        d.pop("rates")
        d["n_edges"] = len(self.rates)
        if self.total_cost is None:  # no costs: the summary of before costs existed
            d.pop("total_cost")
            d.pop("uniform_total_cost")
        else:
            d["cost_saving"] = self.cost_saving
        return d


def _percent(x: float) -> str:
    """A relative gap for a person: two significant digits, e.g. "0.42%"."""
    return f"{100.0 * max(x, 0.0):.2g}%"


def attempt_phrase(solver: str, method: str, status: str, seconds: float,
                   detail: str = "") -> str:
    """One attempt in a few words, e.g. "clarabel: optimal_inaccurate after 2.10 s"."""
    who = "first-order" if method == "first-order" else solver
    words = {"time_limit": "stopped at its time limit",
             "user_limit": "stopped at its iteration limit (user_limit)",
             "solver_error": "failed",
             "verification_failed": "returned rates that fail verification",
             "worse_than_uniform": "returned a total above theory-uniform rates' (inaccurate)",
             "search_failed": "found no minimum"}.get(status, status)
    text = f"{who}: {words} after {seconds:.2f} s"
    if detail and status in ("solver_error", "verification_failed", "search_failed"):
        text += f" ({detail})"
    return text


def status_label(method: str, solver: str, status: str, info: dict,
                 requested_method: str, failed: list, weighted: bool = False) -> str:
    """The human label of a result; failed: the attempt records (solver, method, status, ...)
    tried before the one that produced it; weighted: the objective was a total cost."""
    bound = _UPPER_BOUND.format("cost" if weighted else "rate")
    if method == "first-order":
        it = info.get("iterations")
        max_iter = info.get("max_iter")
        if status == "max_iter":
            done = f"{it} iterations" if it is None or max_iter is None or it >= max_iter \
                else f"{it} iterations, max_iter {max_iter}"
            label = f"stopped at its iteration limit ({done})"
        elif status == "time_limit":
            label = f"stopped at its time limit ({info.get('time_limit_s', math.nan):g} s, " \
                    f"{it} iterations)"
        else:
            label = f"{status} ({it} iterations)"
        label += f"; {bound}"
        gap = info.get("gap")
        if isinstance(gap, (int, float)) and math.isfinite(gap):
            label += f", certified within {_percent(gap)} of it"
    else:
        label = f"{status} ({solver})"
        if method in ("relaxed", "max-connectivity"):
            label += f" for the {method} program; {bound}"
    tried = ", ".join(f"{'first-order' if m == 'first-order' else s}: {st}"
                      for s, m, st, *_ in failed)
    if method != requested_method:
        label += f"; {method} fallback for method {requested_method!r}"
        if tried:
            label += f" after {tried}"
    elif tried:
        label += f", after {tried}"
    return label

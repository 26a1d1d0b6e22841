"""The attempts behind one optimal_rates call: which (solver, method) pairs to try, running and
verifying one, and the errors when none gives usable rates.

An explicitly requested solver is strict: one attempt, and its failure is a SolverError that
names the alternatives. solver "auto" (None) tries the installed solvers of
solvers.DEFAULT_CHAIN in order and, for method "sdp" without node caps, the first-order method
last; the first attempt whose rates pass verification is used.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from dadao.errors import OptimalRatesError, SolverError
from dadao.rates.optimal import first_order as first_order_method
from dadao.rates.optimal import programs
from dadao.rates.optimal.arguments import AUTO, EXACT_METHODS
from dadao.rates.optimal.first_order import FIRST_ORDER_MAX_ITER, FIRST_ORDER_TIME_LIMIT_S
from dadao.rates.optimal.result import FIRST_ORDER_STATUSES, attempt_phrase
from dadao.rates.optimal.solvers import DEFAULT_CHAIN, available_solvers
from dadao.rates.optimal.verify import verify_rates, weighted_total

# A solution of the exact program may not be worse than theory-uniform rates by more than this
# (uniform rates are feasible, so a worse "optimum" means an inaccurate solve).
UNIFORM_TOL = 1e-3


@dataclass
class Attempt:
    """One (solver, method) tried: its status and wall time; rates and condition once verified."""

    solver: str
    method: str
    status: str
    seconds: float
    rates: np.ndarray | None = None
    condition: object = None
    info: dict = field(default_factory=dict)
    detail: str = ""

    @property
    def usable(self) -> bool:
        return self.rates is not None

    def record(self) -> tuple:
        """(solver, method, status, seconds): a row of OptimalRates.info["attempts"]."""
        return (self.solver, self.method, self.status, round(float(self.seconds), 4))

    def phrase(self) -> str:
        return attempt_phrase(self.solver, self.method, self.status, self.seconds, self.detail)


def plan_attempts(method: str, solver: str, caps) -> list:
    """The (solver, method) pairs to try in order, for a checked method and solver request."""
    if method == "first-order":
        return [("none", "first-order")]
    if solver != AUTO:
        return [(solver, method)]
    steps = [(s, method) for s in DEFAULT_CHAIN if s in available_solvers()]
    if method == "sdp" and caps is None:
        steps.append(("none", "first-order"))
    return steps


def run_attempt(e, n, solver, method, caps, *, uniform_total, max_iter=None,
                time_limit_s=None, weights=None) -> Attempt:
    """Solve once and verify; the Attempt is usable only if the rates passed verification.

    weights: w of the objective w @ lambda (None: sum(lambda));
    uniform_total: w @ u of the theory-uniform rates u (their total rate without weights)."""
    t0 = time.perf_counter()
    if method == "first-order":
        try:
            raw, status, info = first_order_method.first_order(
                e, n, max_iter=FIRST_ORDER_MAX_ITER if max_iter is None else max_iter,
                time_limit_s=FIRST_ORDER_TIME_LIMIT_S if time_limit_s is None else time_limit_s,
                weights=weights)
            detail = ""
        except np.linalg.LinAlgError as exc:  # a factorisation that broke down
            raw, status, info, detail = None, "solver_error", {}, str(exc).splitlines()[0]
        usable = status in FIRST_ORDER_STATUSES
    else:
        if method == "sdp-search":
            sol = programs.sdp_search(e, n, solver, caps, time_limit_s=time_limit_s,
                                      weights=weights)
        else:
            sol = programs.solve_program(e, n, method, solver, caps, time_limit_s=time_limit_s,
                                         weights=weights)
        raw, status, info, detail = sol.rates, sol.status, dict(sol.info), sol.detail
        usable = status == "optimal"
    attempt = Attempt(solver, method, status, time.perf_counter() - t0, info=info, detail=detail)
    if not usable or raw is None:
        return attempt
    try:
        lam, cond = verify_rates(e, raw, n, node_caps=caps)
    except OptimalRatesError as exc:
        attempt.status, attempt.detail = "verification_failed", str(exc)
        return attempt
    objective = weighted_total(weights, lam)
    if worse_than_uniform(method, caps, objective, uniform_total):
        attempt.status = "worse_than_uniform"
        attempt.detail = f"verified total {objective:.6g} > {uniform_total:.6g}"
        return attempt
    attempt.rates, attempt.condition = lam, cond
    return attempt


def worse_than_uniform(method: str, caps, total: float, uniform_total: float) -> bool:
    """True when ``method`` claims the exact program's optimum (no caps) with an objective
    (total rate, or weighted total w @ lambda with costs) above the theory-uniform rates' (by
    more than UNIFORM_TOL): uniform rates are feasible, so that is an inaccurate solve, or a
    cache entry that is not what it claims."""
    return method in EXACT_METHODS and caps is None and total > uniform_total * (1 + UNIFORM_TOL)


def infeasible_error(attempt: Attempt, n: int, n_edges: int) -> OptimalRatesError:
    """The node caps are too low: an input error (field node_caps)."""
    return OptimalRatesError(
        f"infeasible: the caps are too low to meet chi_1 chi_2 <= 1/2 ({attempt.solver} on "
        f"method {attempt.method!r}, n = {n}, E = {n_edges}); raise them", field="node_caps")


def no_solution_error(method: str, solver: str, caps, attempts: list, n: int, n_edges: int,
                      time_limit_s=None) -> SolverError:
    """Every attempt failed on valid input: a one-line SolverError (exit code 3) that says what
    was tried and what to change; field "solver" or "method", whichever the advice changes."""
    advice = []
    if time_limit_s is not None and any(a.status == "time_limit" for a in attempts):
        advice.append(f"raise time_limit_s (now {time_limit_s:g} s)")
    installed = available_solvers()
    tried_methods = {a.method for a in attempts}
    if solver not in (AUTO, "none"):
        fld = "solver"
        others = [repr(s) for s in installed if s != solver]
        if others:
            advice.append(f"try solver {' or '.join(others)}")
        advice.append("leave the solver unset (auto) to fall back automatically")
    elif method == "first-order":
        fld = "method"
        advice.append("try method 'sdp' (cone solvers, graphs of up to about 64 nodes)")
    elif caps is None and "first-order" not in tried_methods:
        fld = "method"
        advice.append("try method 'first-order' (no cone solver; its total is an upper bound)")
    elif "mosek" not in installed:
        fld = "solver"
        advice.append("install MOSEK and use solver 'mosek'")
        if caps is not None:
            advice.append("raise the node caps")
    else:
        fld = "method"
        advice.append("try method 'relaxed' (an upper bound)")
    tried = ", ".join(a.phrase() for a in attempts) or "no cone solver is installed"
    message = (f"no usable rates for method {method!r} (n = {n}, E = {n_edges}): {tried}; "
               + _or(advice))
    return SolverError(" ".join(message.split()), field=fld)


def _or(items: list) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]

"""Optimal per-edge gossip rates: the least total rate that meets DADAO's rate condition.

Problem (docs/methods.md, Optimal rates). Over rates lambda_e >= 0 (edge_array order), with
Lambda = sum_e lambda_e b_e b_e^T,

    minimise  sum_e lambda_e   (expected communications per unit time; time in expected
                                gradient steps per node)
    subject to chi_1[Lambda] chi_2[Lambda] <= 1/2,
               optionally sum_{e at i} lambda_e <= cap_i at every node i.

With per-edge costs c_e > 0 (seconds a link is busy per activation: latency + message bytes /
bandwidth, :mod:`.costs`) the objective is sum_e c_e lambda_e instead (expected seconds of link
busy time per unit time), under the same constraints: slow links gossip less. The optimal rates
do not change when every cost is multiplied by one factor, so the programs see the costs
normalised to mean 1 (:func:`.arguments.objective_weights`); equal costs are the unweighted
program itself, with the same cache entry.

chi_1 chi_2 <= 1/2 holds iff some s > 0 has chi_1 <= 1/s and chi_2 <= s/2 (take s = 1/chi_1), i.e.

    lambda_2(Lambda) >= s                      (LMI 1)
    b_e^T Lambda^+ b_e <= s  for every edge    (LMI 2, with one auxiliary matrix X)

Both are linear in (lambda, s) jointly, so the two-LMI program with a one-dimensional search over
s is one SDP with s as a variable ("sdp"). The search itself is kept as "sdp-search" (golden
section over s of the program at fixed s, which is convex in s): it checks the joint program and
shows the objective as a function of the chi_1/chi_2 split.

Slater's condition. The textbook form Lambda + (s/n) 11^T >= s I is singular along the all-ones
vector for every feasible point, so it has no strictly feasible point and interior-point solvers
stop at "optimal_inaccurate". Here every LMI lives on 1-perp: with U an n x (n-1) orthonormal
basis of 1-perp, M = U^T Lambda U, c_e = U^T b_e,

    M >= s I                                   (lambda_2(Lambda) >= s)
    [[X, I], [I, M]] >= 0,  c_e^T X c_e <= s   (X >= M^{-1}, so b_e^T Lambda^+ b_e <= s)

and both have strictly feasible points. One 2(n-1) x 2(n-1) LMI with |E| linear constraints
replaces |E| separate (n x n) LMIs. U is a Haar basis (:func:`programs.haar_basis`): orthonormal
and sparse, so each c_e has at most 2 log2(n) entries and M(lambda) is cheap to write down.

Other methods, for comparison:

- "relaxed": the single SDP with chi_1 + chi_2 <= sqrt(2) (AM-GM gives chi_1 chi_2 <= 1/2), with
  epigraph variables u <= lambda_2 and t >= chi_2, 1/u + t <= sqrt(2). It fixes the split
  chi_1 = chi_2 the AM-GM bound favours, while chi_2 <= chi_1 always, so it is not optimal.
- "max-connectivity": Boyd-Diaconis-Parrilo-Xiao's classical problem, maximise lambda_2(Lambda)
  at total rate 1, then rescale to meet the condition.
- "first-order": no cone solver; L-BFGS-B on the rates of the smoothed, scale-invariant total
  rate sum(lambda) sqrt(2 chi_1 chi_2) (:mod:`.first_order`). Its total is an upper bound, and
  ``info["lower_bound"]`` (a dual certificate) a lower bound, on the least total.

Solvers. ``solver=None`` ("auto") tries Clarabel, then MOSEK (when installed), then SCS with
fixed scaling, and for "sdp" without caps the first-order method last; an inaccurate or failed
attempt falls back to the next. An explicitly named solver is strict: it is the only attempt
(:mod:`.chain`). The result says what produced it (``method``, ``solver``, ``status``, ``label``,
``exact``, ``info["attempts"]``; :mod:`.result`). Measurements behind the chain:
docs/sdp_solvers.md; savings against uniform rates: docs/optimal_rates.md; by cost:
docs/cost_rates.md.

Every result is verified independently of the solver (:func:`verify_rates`, :mod:`.verify`):
chi_1 and chi_2 are recomputed exactly, the rates are rescaled so the condition holds exactly and
checked again. Errors: bad arguments, infeasible node caps and rates that fail verification are
:class:`OptimalRatesError` (input, exit code 2, ``field`` names the argument); no usable rates
from any attempt is :class:`dadao.errors.SolverError` (exit code 3, ``field`` "solver" or
"method": what to change).

Modules: arguments (checks), solvers (settings, chain order), programs (the SDPs), first_order,
verify, chain (attempts and fallback), result (OptimalRates, labels), cache, costs (the costs
CSV, costs from a link model).
"""

from __future__ import annotations

import math
import time
import warnings

from dadao.errors import DadaoWarning, OptimalRatesError, SolverError
from dadao.rates import condition as rate_condition
from dadao.rates.choices import theory_rates
from dadao.rates.optimal import cache as rates_cache
from dadao.rates.optimal.arguments import (EXACT_METHODS, METHODS, check_caps, check_costs,
                                           check_edges, check_limits, check_method, check_solver,
                                           objective_weights)
from dadao.rates.optimal.cache import rates_cache_dir
from dadao.rates.optimal.chain import (infeasible_error, no_solution_error, plan_attempts,
                                       run_attempt, worse_than_uniform)
from dadao.rates.optimal.result import OptimalRates, status_label
from dadao.rates.optimal.solvers import DEFAULT_CHAIN, SOLVERS, available_solvers
from dadao.rates.optimal.verify import CONDITION_TOL, verify_rates, weighted_total

__all__ = [
    "OptimalRatesError",
    "SolverError",
    "OptimalRates",
    "METHODS",
    "SOLVERS",
    "DEFAULT_CHAIN",
    "optimal_rates",
    "verify_rates",
    "available_solvers",
    "rates_cache_dir",
]


def optimal_rates(edges, n: int, *, method: str = "sdp", solver: str | None = None,
                  node_caps=None, cache: bool = True, max_iter: int | None = None,
                  time_limit_s: float | None = None, costs=None) -> OptimalRates:
    """Rates of least total (least total cost with costs) meeting chi_1 chi_2 <= 1/2 (and node
    caps), verified; see module doc.

    edges: (E, 2) array in dadao.graphs.edge_array order; n: number of nodes.
    method: one of METHODS. solver: None or "auto" (the default chain, with fallback), or one of
    SOLVERS ("clarabel", "scs", "mosek"; strict, no fallback); None for "first-order".
    node_caps: None, a number (same cap at every node) or an (n,) array of per-node caps on
    sum_{e at i} lambda_e, in communications per unit time; not supported by "max-connectivity"
    and "first-order" (their rescaling step can raise any rate), and they keep "sdp" from
    falling back to "first-order". cache: reuse a result stored under :func:`rates_cache_dir`
    for the same (n, edges, method, solver request, caps, limits, normalised costs) and store
    new ones; a cached result is checked to be what it claims (:func:`_cached_result`), and an
    entry that is not, or cannot be read, is solved again and replaced, with one DadaoWarning.
    max_iter: iteration limit of the "first-order" method (default 3000, a safety net: it stops
    on its own rules first; "first-order" only).
    time_limit_s: wall-clock limit of each attempt (default: none for a cone solver, 600 s for
    "first-order"). costs: None (minimise the total rate), or an (E,) array of per-edge costs
    c_e > 0 in edge_array order, seconds a link is busy per activation (:mod:`.costs` reads
    them from a CSV file or a link model): every method then minimises sum_e c_e lambda_e
    instead ("max-connectivity" fixes sum_e c_e lambda_e where it fixed the total), and the
    result reports it as ``total_cost`` (seconds of link busy time per unit time).

    Raises OptimalRatesError (exit code 2) for a bad argument or infeasible node caps, and
    dadao.errors.SolverError (exit code 3) when no attempt gave rates that pass verification.
    """
    e = check_edges(edges, n)
    method = check_method(method)
    solver = check_solver(solver, method)
    caps = check_caps(node_caps, n, method)
    max_iter, time_limit_s = check_limits(max_iter, time_limit_s, method)
    costs = check_costs(costs, e)
    weights = objective_weights(costs)
    key = rates_cache.cache_key(e, n, method, solver, caps, (max_iter, time_limit_s), weights)
    unusable = None  # why the entry under key, if there is one, could not be used
    if cache:
        hit, unusable = _from_cache(key, e, n, method, solver, caps, costs, weights)
        if hit is not None:
            return hit

    uniform = theory_rates(e, n)
    uniform_cond = rate_condition.check_rate_condition(e, uniform, n)  # remembered by theory_rates
    uniform_total = float(uniform.sum())
    uniform_objective = weighted_total(weights, uniform)
    t0 = time.perf_counter()
    attempts = []
    for step_solver, step_method in plan_attempts(method, solver, caps):
        attempt = run_attempt(e, n, step_solver, step_method, caps,
                              uniform_total=uniform_objective, max_iter=max_iter,
                              time_limit_s=time_limit_s, weights=weights)
        attempts.append(attempt)
        if attempt.usable:
            break
        if attempt.status == "infeasible" and caps is not None:
            raise infeasible_error(attempt, n, len(e))
    else:
        raise no_solution_error(method, solver, caps, attempts, n, len(e), time_limit_s)
    solve_time = time.perf_counter() - t0

    cond = attempt.condition
    info = {k: v for k, v in attempt.info.items() if k != "seconds"}
    info["attempts"] = [a.record() for a in attempts]
    result = OptimalRates(
        rates=attempt.rates, total=cond.total, chi_1=cond.chi_1, chi_2=cond.chi_2,
        product=cond.product, uniform_total=uniform_total,
        saving=1.0 - cond.total / uniform_total, method=attempt.method, solver=attempt.solver,
        status=attempt.status, solve_time_s=solve_time, verified=True,
        uniform_chi_1=uniform_cond.chi_1, uniform_chi_2=uniform_cond.chi_2, info=info,
        requested_method=method, requested_solver=solver,
        exact=attempt.method in EXACT_METHODS and attempt.status == "optimal",
        label=status_label(attempt.method, attempt.solver, attempt.status, info, method,
                           [a.record() for a in attempts[:-1]], weights is not None),
        **_costs_of(costs, attempt.rates, uniform))
    if cache:
        stored = rates_cache.store(key, result.rates, {k: v for k, v in result.summary().items()
                                                       if k in _CACHED_FIELDS})
        if unusable is not None:
            _warn_replaced(key, unusable, stored)
    return result


# What the cache stores besides the rates. Every one is checked on load against what can be
# recomputed (the total, the theory-uniform constants) or against its type.
_CACHED_FIELDS = ("total", "uniform_total", "uniform_chi_1", "uniform_chi_2", "method", "solver",
                  "status", "solve_time_s", "info", "requested_method", "requested_solver",
                  "exact", "label")
_NUMBERS = ("total", "uniform_total", "uniform_chi_1", "uniform_chi_2", "solve_time_s")
_TEXTS = ("method", "solver", "status", "requested_method", "requested_solver", "label")
# A cached total (and theory-uniform total) must be the recomputed one to this relative
# tolerance: the digest already guarantees the bytes, this catches a claim that was not theirs.
CLAIM_TOL = 1e-6


def _costs_of(costs, rates, uniform) -> dict:
    """total_cost and uniform_total_cost of OptimalRates: recomputed from the rates and the
    request's costs (none without costs)."""
    if costs is None:
        return {}
    return {"total_cost": weighted_total(costs, rates),
            "uniform_total_cost": weighted_total(costs, uniform)}


def _from_cache(key, e, n, method, solver, caps, costs, weights):
    """(the cached result under key, checked to be what it claims, None) when it is usable;
    (None, None) when there is no entry; (None, why) when the entry cannot be used (then the
    rates are solved again and the entry overwritten)."""
    try:
        hit = rates_cache.load(key)
        if hit is None:
            return None, None
        return _cached_result(e, n, method, solver, caps, costs, weights, *hit), None
    except rates_cache.UnusableEntry as exc:
        return None, exc.reason


def _cached_result(e, n, method, solver, caps, costs, weights, lam, meta) -> OptimalRates:
    """The OptimalRates of a cache entry's rates and metadata; UnusableEntry unless the rates
    pass verification as they are (chi_1 chi_2 <= 1/2, caps), are tight (chi_1 chi_2 = 1/2 to
    CONDITION_TOL: rates that meet the condition with room to spare gossip more than needed),
    have the total they claim, and, for a method that claims the least objective, an objective
    (total, or weighted total with costs) not above the theory-uniform one recomputed here
    (saving >= 0 to UNIFORM_TOL)."""
    _check_fields(meta)
    if (meta["requested_method"], meta["requested_solver"]) != (method, solver):
        raise rates_cache.UnusableEntry(
            f"it answers method {meta['requested_method']!r}, solver "
            f"{meta['requested_solver']!r}, not {method!r}, {solver!r}")
    made_by = meta["method"]
    if made_by not in METHODS:
        raise rates_cache.UnusableEntry(f"unknown method {made_by!r}")
    if meta["exact"] != (made_by in EXACT_METHODS and meta["status"] == "optimal"):
        raise rates_cache.UnusableEntry(f"it claims exact = {meta['exact']} for method "
                                        f"{made_by!r}, status {meta['status']!r}")
    try:
        lam, cond = verify_rates(e, lam, n, node_caps=caps, rescale=False)
    except OptimalRatesError as exc:
        detail = exc.message.removeprefix("verification failed: ")
        raise rates_cache.UnusableEntry(f"its rates fail verification: {detail}") from None
    if cond.product < 0.5 * (1.0 - CONDITION_TOL):
        raise rates_cache.UnusableEntry(
            f"its rates are not tight: chi_1 chi_2 = {cond.product:.4g}, not 1/2, so they gossip "
            f"{1.0 / cond.scale_needed:.4g} times more than needed")
    if not math.isclose(cond.total, meta["total"], rel_tol=CLAIM_TOL):
        raise rates_cache.UnusableEntry(f"its rates total {cond.total:.6g}, not the "
                                        f"{meta['total']:.6g} it claims")
    uniform = theory_rates(e, n)
    uniform_cond = rate_condition.check_rate_condition(e, uniform, n)  # remembered by theory_rates
    uniform_total = float(uniform.sum())
    if not math.isclose(meta["uniform_total"], uniform_total, rel_tol=CLAIM_TOL):
        raise rates_cache.UnusableEntry(f"its theory-uniform total {meta['uniform_total']:.6g} "
                                        f"is not this graph's {uniform_total:.6g}")
    objective, uniform_objective = weighted_total(weights, lam), weighted_total(weights, uniform)
    if worse_than_uniform(made_by, caps, objective, uniform_objective):
        what = "total" if weights is None else "weighted total"
        raise rates_cache.UnusableEntry(
            f"its {what} {objective:.6g} is above the theory-uniform {what} "
            f"{uniform_objective:.6g}, though method {made_by!r} claims the least {what}")
    info = dict(meta["info"])
    info["attempts"] = [tuple(a) for a in info.get("attempts", [])]
    return OptimalRates(
        rates=lam, total=cond.total, chi_1=cond.chi_1, chi_2=cond.chi_2, product=cond.product,
        uniform_total=uniform_total, saving=1.0 - cond.total / uniform_total, method=made_by,
        solver=meta["solver"], status=meta["status"], solve_time_s=meta["solve_time_s"],
        verified=True, uniform_chi_1=uniform_cond.chi_1, uniform_chi_2=uniform_cond.chi_2,
        from_cache=True, info=info, requested_method=method, requested_solver=solver,
        exact=meta["exact"], label=meta["label"], **_costs_of(costs, lam, uniform))


def _check_fields(meta: dict) -> None:
    """Every field of _CACHED_FIELDS present with its JSON type; UnusableEntry otherwise."""
    def bad(name, what):
        return rates_cache.UnusableEntry(f"its metadata field {name!r} is {what}")

    for name in _CACHED_FIELDS:
        if name not in meta:
            raise bad(name, "missing")
    for name in _NUMBERS:
        v = meta[name]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise bad(name, f"{v!r}, not a finite number")
    for name in _TEXTS:
        if not isinstance(meta[name], str):
            raise bad(name, f"{meta[name]!r}, not a text")
    if not isinstance(meta["exact"], bool):
        raise bad("exact", f"{meta['exact']!r}, not true or false")
    info = meta["info"]
    if not isinstance(info, dict) or not isinstance(info.get("attempts", []), list) or \
            not all(isinstance(a, list) for a in info.get("attempts", [])):
        raise bad("info", "not an object with a list of attempts")


def _warn_replaced(key, reason: str, stored: bool) -> None:
    """The one line that says a cache entry was not used, and why."""
    done = "solved again and replaced it" if stored else \
        "solved again (the cache folder is not writable: it stays)"
    warnings.warn(f"cache entry {rates_cache.entry_path(key)} was unusable ({reason}); {done}",
                  DadaoWarning, stacklevel=3)

"""DADAO's rate condition chi_1[Lambda] chi_2[Lambda] <= 1/2, and the rate theory of a run.

The rate Laplacian of rates lambda (edge_array order) is Lambda = sum_e lambda_e b_e b_e^T, and

    chi_1 = 1 / lambda_2(Lambda),   chi_2 = (1/2) max_e b_e^T Lambda^+ b_e.

Both scale as 1/c under lambda -> c lambda, so any rates meet the condition once every rate is
multiplied by sqrt(2 chi_1 chi_2). A time-varying graph (a list of K graphs used in turn) takes
the worst case over the list: max_k chi_1[Lambda_k] and max_k chi_2[Lambda_k], as the DADAO
authors' code does (docs/model.md, Time-varying graphs).
"""

from __future__ import annotations

import hashlib
import math
import warnings
from dataclasses import dataclass

import numpy as np

from dadao.errors import RateError
from dadao.graphs import as_edges, rate_constants

#: relative slack on "chi_1 chi_2 <= 1/2": theory rates saturate the condition, and rounding in
#: chi_1 and chi_2 must not turn them into a violation
SLACK = 1e-9


@dataclass(frozen=True)
class RateCondition:
    """DADAO's rate condition chi_1 chi_2 <= 1/2 evaluated for one rate vector.

    scale_needed = sqrt(2 chi_1 chi_2) is the factor by which every rate must be multiplied to
    meet the condition exactly (<= 1 when it is met: the rates could be scaled down by it).
    """

    chi_1: float
    chi_2: float
    product: float
    total: float
    satisfied: bool
    scale_needed: float

    def describe(self) -> str:
        values = (f"chi_1 chi_2 = {self.product:.4g} (chi_1 = {self.chi_1:.4g}, "
                  f"chi_2 = {self.chi_2:.4g}, total rate {self.total:.4g})")
        if self.satisfied:
            return (f"DADAO's rate condition chi_1 chi_2 <= 1/2 holds: {values}; every rate "
                    f"could be multiplied by {self.scale_needed:.4g} and still meet it")
        return (f"DADAO's rate condition chi_1 chi_2 <= 1/2 is broken: {values}; "
                f"multiply every rate by at least {self.scale_needed:.4g}")


def condition_from_chis(chi_1: float, chi_2: float, total: float) -> RateCondition:
    """The condition of rates whose rate Laplacian has these chi's and this total rate."""
    product = chi_1 * chi_2
    return RateCondition(chi_1=chi_1, chi_2=chi_2, product=product, total=total,
                         satisfied=bool(product <= 0.5 * (1.0 + SLACK)),
                         scale_needed=math.sqrt(2.0 * product))


# Conditions already computed, by (n, method, edges, rates) digest: the chi's of a large graph
# cost seconds, and every run, report and sweep asks for the same few rate vectors again.
_KNOWN: dict[bytes, RateCondition] = {}
_KNOWN_MAX = 256


def _key(edges: np.ndarray, lam: np.ndarray, n: int, method: str) -> bytes:
    h = hashlib.blake2b(digest_size=20)
    h.update(f"{n}:{method}:".encode())
    h.update(np.ascontiguousarray(edges, dtype=np.int64).tobytes())
    h.update(np.ascontiguousarray(lam, dtype=np.float64).tobytes())
    return h.digest()


def remember_condition(edges, lam, n, method, condition: RateCondition) -> None:
    """Store a condition known without factorising (``theory_rates`` knows its own)."""
    if len(_KNOWN) >= _KNOWN_MAX:
        _KNOWN.pop(next(iter(_KNOWN)))
    _KNOWN[_key(edges, lam, n, method)] = condition


def check_rate_condition(edges, rates, n: int, *, method: str = "auto") -> RateCondition:
    """Evaluate chi_1 chi_2 <= 1/2 for the rate Laplacian of ``rates`` (see RateCondition).

    Results are remembered by the exact bytes of (n, method, edges, rates), so asking again is
    free.
    """
    e = as_edges(edges)
    lam = np.asarray(rates, dtype=np.float64)
    key = _key(e, lam, n, method)
    if key not in _KNOWN:
        c = rate_constants(e, lam, n, method=method)
        remember_condition(e, lam, n, method,
                           condition_from_chis(c["chi_1"], c["chi_2"], float(lam.sum())))
    return _KNOWN[key]


def require_rate_condition(edges, rates, n: int, *, force: bool = False,
                           method: str = "auto") -> RateCondition:
    """Refuse rates that break chi_1 chi_2 <= 1/2 (RateError), or warn when ``force`` is set.

    DADAO is mean-square unstable not far below the condition (docs/methods.md, DADAO), so a
    forced run gets a RuntimeWarning with the same text and should watch for divergence.
    """
    cond = check_rate_condition(edges, rates, n, method=method)
    _enforce(cond, cond.describe(), force)
    return cond


def _enforce(cond: RateCondition, text: str, force: bool) -> None:
    if not cond.satisfied:
        if not force:
            raise RateError(text, field="rates")
        warnings.warn(text, RuntimeWarning, stacklevel=3)


def worst_case_condition(edge_lists, rate_lists, n: int) -> RateCondition:
    """The condition of a time-varying graph: max_k chi_1 and max_k chi_2 over its graphs, and
    the mean total rate (each graph is in use a fraction 1/K of the time)."""
    conds = [check_rate_condition(e, r, n) for e, r in zip(edge_lists, rate_lists)]
    return condition_from_chis(max(c.chi_1 for c in conds), max(c.chi_2 for c in conds),
                               float(np.mean([c.total for c in conds])))


def run_condition(edge_lists, rate_lists, n: int, *, enforce: bool,
                  force: bool = False) -> RateCondition:
    """The condition of a run's rates (one graph, or the worst case over a time-varying list).

    With ``enforce`` (a method whose theory needs chi_1 chi_2 <= 1/2), rates that break it are
    refused with RateError, or, when ``force`` is set, run with a RuntimeWarning of the same text.
    """
    if len(edge_lists) == 1:
        cond = check_rate_condition(edge_lists[0], rate_lists[0], n)
        text = cond.describe()
    else:
        cond = worst_case_condition(edge_lists, rate_lists, n)
        text = f"time-varying graph, worst case over {len(edge_lists)} graphs: {cond.describe()}"
    if enforce:
        _enforce(cond, text, force)
    return cond


def unit_rate_chis(edge_lists, n: int) -> tuple[float, float]:
    """Worst-case (max over the list) chi_1[Lbar_k] and chi_2[Lbar_k], Lbar_k = L_{G_k} / |E_k|
    the unit-total-rate Laplacian of each graph."""
    conds = [check_rate_condition(e, np.full(len(e), 1.0 / len(e)), n) for e in edge_lists]
    return max(c.chi_1 for c in conds), max(c.chi_2 for c in conds)


def default_switch_period(edge_lists, n: int) -> float:
    """P = 1 / max_k chi_1[Lbar_k]: the DADAO authors' code uses graph floor(t chi_1) mod K."""
    return 1.0 / unit_rate_chis(edge_lists, n)[0]

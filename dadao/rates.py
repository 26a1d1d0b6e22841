"""Edge gossip rates and DADAO's rate condition.

A rate vector is a float64 array of shape (E,), indexed by the canonical edge order of
:func:`dadao.graphs.edge_array`: lambda_e is the rate of the Poisson gossip clock of edge e. Time is
measured in expected gradient steps per node (every node's gradient clock has rate 1), so
sum_e lambda_e is the expected number of communications per unit time.

The rate Laplacian is Lambda = sum_e lambda_e b_e b_e^T (b_ij = e_i - e_j). DADAO's rate condition
(algorithms.md, section 1, from the authors' code) is

    chi_1[Lambda] * chi_2[Lambda] <= 1/2,
    chi_1 = 1 / lambda_2(Lambda),  chi_2 = (1/2) max_e b_e^T Lambda^+ b_e.

Both chi's scale as 1/c under lambda -> c lambda, so any rates can be made to satisfy it by scaling
them all by sqrt(2 chi_1 chi_2).
"""

from __future__ import annotations

import csv
import hashlib
import math
import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from dadao import graphs

__all__ = [
    "RateError",
    "uniform_rates",
    "theory_rates",
    "explicit_rates",
    "load_rates_csv",
    "RateCondition",
    "check_rate_condition",
    "require_rate_condition",
]

# Relative slack on "chi_1 chi_2 <= 1/2": theory_rates saturate the condition, and rounding in
# chi_1 and chi_2 must not turn them into a violation.
_SLACK = 1e-9


class RateError(ValueError):
    """Edge rates the user gave cannot be used (message: one line, printable as is)."""


def _edges(edges) -> np.ndarray:
    e = np.asarray(edges)
    if e.ndim != 2 or e.shape[1] != 2 or len(e) == 0:
        raise RateError(f"edges must be a non-empty (E, 2) array as returned by "
                        f"dadao.graphs.edge_array; got shape {e.shape}")
    return e.astype(np.int64, copy=False)


def uniform_rates(edges, total) -> np.ndarray:
    """The same rate total/|E| on every edge (total = expected communications per unit time)."""
    e = _edges(edges)
    if isinstance(total, bool) or not isinstance(total, (int, float, np.integer, np.floating)) \
            or not math.isfinite(total) or total <= 0:
        raise RateError(f"total rate must be a finite number > 0; got {total!r}")
    return np.full(len(e), float(total) / len(e))


def theory_rates(edges, n: int, *, method: str = "auto") -> np.ndarray:
    """DADAO's theory rates: lambda_e = lambda_com / |E| with lambda_com = sqrt(2 chi_1 chi_2).

    The chi's are those of Lbar = (1/|E|) sum_e b_e b_e^T (unit total rate). Since both chi's
    scale as 1/c, the result has chi_1 chi_2 = 1/2 exactly: the condition is saturated. The
    condition of the result is known without another factorisation and is remembered for
    ``check_rate_condition``.
    """
    e = _edges(edges)
    unit = np.full(len(e), 1.0 / len(e))
    unit_condition = check_rate_condition(e, unit, n, method=method)
    lambda_com = unit_condition.scale_needed
    lam = unit * lambda_com
    _remember(e, lam, n, method, _condition(unit_condition.chi_1 / lambda_com,
                                     unit_condition.chi_2 / lambda_com, float(lam.sum())))
    return lam


def explicit_rates(edges, values) -> np.ndarray:
    """Rates given by the user: a sequence of length E (edge_array order) or a {(u, v): rate} map.

    In a mapping either orientation of an edge is accepted, every edge must appear exactly once,
    and pairs that are not edges are refused. Rates must be finite and >= 0 (0 switches an edge
    off; the remaining edges must still connect the graph, which the constants check).
    """
    e = _edges(edges)
    if isinstance(values, Mapping):
        index = {(int(u), int(v)): k for k, (u, v) in enumerate(e)}
        lam = np.full(len(e), np.nan)
        seen = np.zeros(len(e), dtype=bool)
        for key, rate in values.items():
            try:
                u, v = (int(x) for x in key)
            except (TypeError, ValueError):
                raise RateError(f"rate keys must be node pairs (u, v); got {key!r}") from None
            k = index.get((min(u, v), max(u, v)))
            if k is None:
                raise RateError(f"rate given for ({u}, {v}), which is not an edge of the graph")
            if seen[k]:
                raise RateError(f"edge ({e[k, 0]}, {e[k, 1]}) is given a rate twice")
            seen[k] = True
            lam[k] = _rate_value(rate, e[k])
        if not seen.all():
            missing = np.flatnonzero(~seen)
            k = missing[0]
            raise RateError(f"no rate given for edge ({e[k, 0]}, {e[k, 1]}) "
                            f"({len(missing)} of {len(e)} edges missing); every edge needs one")
        return lam
    seq = list(values) if not isinstance(values, np.ndarray) else values.ravel().tolist()
    if len(seq) != len(e):
        raise RateError(f"expected {len(e)} rates (one per edge, in edge_array order); "
                        f"got {len(seq)}")
    return np.array([_rate_value(r, e[k]) for k, r in enumerate(seq)], dtype=np.float64)


def _rate_value(rate, edge) -> float:
    try:
        x = float(rate)
    except (TypeError, ValueError):
        x = math.nan
    if not (math.isfinite(x) and x >= 0):
        raise RateError(f"rate of edge ({edge[0]}, {edge[1]}) must be a finite number >= 0; "
                        f"got {rate!r}")
    return x


def load_rates_csv(path, edges) -> np.ndarray:
    """Read rates from a CSV file with header ``u,v,rate`` and one row per edge.

    Errors name the file and, for a bad row, its line number.
    """
    path = os.fspath(path)
    e = _edges(edges)
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
    except FileNotFoundError:
        raise RateError(f"rates file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RateError(f"cannot read rates file {path}: {exc}") from None
    if not rows or [c.strip().lower() for c in rows[0]] != ["u", "v", "rate"]:
        got = ",".join(rows[0]) if rows else "an empty file"
        raise RateError(f"{path}, line 1: expected the header 'u,v,rate'; got {got!r}")
    values = {}
    for lineno, row in enumerate(rows[1:], start=2):
        if not row or all(not c.strip() for c in row):
            continue
        if len(row) != 3:
            raise RateError(f"{path}, line {lineno}: expected 3 fields u,v,rate; "
                            f"got {','.join(row)!r}")
        try:
            u, v = int(row[0]), int(row[1])
        except ValueError:
            raise RateError(f"{path}, line {lineno}: u and v must be integer node ids; "
                            f"got {row[0].strip()!r}, {row[1].strip()!r}") from None
        key = (min(u, v), max(u, v))
        if key in values:
            raise RateError(f"{path}, line {lineno}: edge ({u}, {v}) is given a rate twice")
        values[key] = (row[2].strip(), lineno)
    rates = {}
    for key, (text, lineno) in values.items():
        try:
            rates[key] = _rate_value(text, key)
        except RateError as exc:
            raise RateError(f"{path}, line {lineno}: {exc}") from None
    try:
        return explicit_rates(e, rates)
    except RateError as exc:
        raise RateError(f"{path}: {exc}") from None


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


def _condition(chi_1: float, chi_2: float, total: float) -> RateCondition:
    product = chi_1 * chi_2
    return RateCondition(chi_1=chi_1, chi_2=chi_2, product=product, total=total,
                         satisfied=bool(product <= 0.5 * (1.0 + _SLACK)),
                         scale_needed=math.sqrt(2.0 * product))


# Conditions already computed, by (n, method, edges, rates) digest: the chi's of a 20k-node graph cost
# seconds, and every run, report and sweep asks for the same few rate vectors again.
_KNOWN: dict[bytes, RateCondition] = {}
_KNOWN_MAX = 256


def _key(edges: np.ndarray, lam: np.ndarray, n: int, method: str) -> bytes:
    h = hashlib.blake2b(digest_size=20)
    h.update(f"{n}:{method}:".encode())
    h.update(np.ascontiguousarray(edges, dtype=np.int64).tobytes())
    h.update(np.ascontiguousarray(lam, dtype=np.float64).tobytes())
    return h.digest()


def _remember(edges, lam, n, method, condition: RateCondition) -> None:
    if len(_KNOWN) >= _KNOWN_MAX:
        _KNOWN.pop(next(iter(_KNOWN)))
    _KNOWN[_key(edges, lam, n, method)] = condition


def check_rate_condition(edges, rates, n: int, *, method: str = "auto") -> RateCondition:
    """Evaluate chi_1 chi_2 <= 1/2 for the rate Laplacian of ``rates`` (see RateCondition).

    Results are remembered by the exact bytes of (n, method, edges, rates), so asking again is
    free.
    """
    e = _edges(edges)
    lam = np.asarray(rates, dtype=np.float64)
    key = _key(e, lam, n, method)
    if key not in _KNOWN:
        c = graphs.rate_constants(e, lam, n, method=method)
        _remember(e, lam, n, method, _condition(c["chi_1"], c["chi_2"], float(lam.sum())))
    return _KNOWN[key]


def require_rate_condition(edges, rates, n: int, *, force: bool = False,
                           method: str = "auto") -> RateCondition:
    """Refuse rates that break chi_1 chi_2 <= 1/2 (RateError), or warn when ``force`` is set.

    DADAO is mean-square unstable not far below the condition (algorithms.md, section 1), so a
    forced run gets a RuntimeWarning with the same text and should watch for divergence.
    """
    cond = check_rate_condition(edges, rates, n, method=method)
    if not cond.satisfied:
        if not force:
            raise RateError(cond.describe())
        warnings.warn(cond.describe(), RuntimeWarning, stacklevel=2)
    return cond


# Also importable from here: dadao.rates.optimal_rates etc. (not in __all__: resolved lazily).
_OPTIMAL = ("OptimalRates", "OptimalRatesError", "optimal_rates", "verify_rates", "write_rates_csv")


def __getattr__(name):
    # SDP-optimal rates live in dadao.optimal_rates, which imports this module; importing it
    # here at first use (PEP 562) avoids the import cycle and keeps cvxpy out of plain runs.
    if name in _OPTIMAL:
        from dadao import optimal_rates

        return getattr(optimal_rates, name)
    raise AttributeError(f"module 'dadao.rates' has no attribute {name!r}")

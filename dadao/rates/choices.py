"""Edge gossip rates: the choices a run can make, and rate files.

A rate vector is a float64 array of shape (E,), indexed by the canonical edge order of
:func:`dadao.graphs.edge_array`: lambda_e is the rate of the Poisson gossip clock of edge e, in
activations per unit time. Time is in expected gradient steps per node (every gradient clock has
rate 1), so sum_e lambda_e is the expected number of communications per unit time.

Choices: ``uniform_rates`` (a given total), ``theory_rates`` (DADAO's: uniform, scaled to meet
chi_1 chi_2 = 1/2 exactly; ``sequence_theory_rates`` on a time-varying graph), ``explicit_rates``
(given per edge) and ``load_rates_csv`` / ``write_rates_csv`` (files ``u,v,rate``). Optimal
rates are in :mod:`dadao.rates.optimal`.
"""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Mapping

import numpy as np

from dadao.atomic import write_atomic
from dadao.errors import RateError
from dadao.graphs import as_edges
from dadao.input_files import read_text
from dadao.rates.condition import (check_rate_condition, condition_from_chis,
                                   remember_condition, unit_rate_chis)


def uniform_rates(edges, total) -> np.ndarray:
    """The same rate total/|E| on every edge (total = expected communications per unit time)."""
    e = as_edges(edges)
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
    e = as_edges(edges)
    unit = np.full(len(e), 1.0 / len(e))
    unit_condition = check_rate_condition(e, unit, n, method=method)
    lambda_com = unit_condition.scale_needed
    lam = unit * lambda_com
    remember_condition(e, lam, n, method,
                       condition_from_chis(unit_condition.chi_1 / lambda_com,
                                           unit_condition.chi_2 / lambda_com, float(lam.sum())))
    return lam


def explicit_rates(edges, values) -> np.ndarray:
    """Rates given by the user: a sequence of length E (edge_array order) or a {(u, v): rate} map.

    In a mapping either orientation of an edge is accepted, every edge must appear exactly once,
    and pairs that are not edges are refused. Rates must be finite and >= 0 (0 switches an edge
    off; the remaining edges must still connect the graph, which the constants check).
    """
    e = as_edges(edges)
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

    The file is UTF-8 text, with or without a byte order mark. Errors name the file and, for a
    bad row, its line number.
    """
    path = os.fspath(path)
    e = as_edges(edges)
    text = read_text(path, "rates file", RateError)
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise RateError(f"{path}: not a CSV file: {exc}") from None
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


def write_rates_csv(path, edges, rates) -> None:
    """Write ``u,v,rate`` rows (edge_array order), readable by :func:`load_rates_csv`.

    Rates are written with repr (exact round trip); the file is replaced atomically.
    """
    e = np.asarray(edges, dtype=np.int64)
    lam = np.asarray(rates, dtype=np.float64)
    if lam.shape != (len(e),):
        raise RateError(f"expected {len(e)} values (one per edge); got shape {lam.shape}",
                        field="rates")
    buf = io.StringIO(newline="")
    writer = csv.writer(buf)
    writer.writerow(["u", "v", "rate"])
    for (u, v), r in zip(e.tolist(), lam.tolist()):
        writer.writerow([u, v, repr(float(r))])
    write_atomic(path, buf.getvalue())


def sequence_theory_rates(edge_lists, n: int) -> list[np.ndarray]:
    """DADAO's theory rates on a time-varying graph: lambda_e = lambda_com / |E_k| on graph k,
    lambda_com = sqrt(2 chi_1 chi_2) with the worst-case chi's of the Lbar_k. Every graph then
    has total rate lambda_com and the worst-case chi's of the rate Laplacians satisfy
    chi_1 chi_2 = 1/2 (both scale as 1/lambda_com)."""
    chi_1, chi_2 = unit_rate_chis(edge_lists, n)
    lambda_com = math.sqrt(2.0 * chi_1 * chi_2)
    return [np.full(len(e), lambda_com / len(e)) for e in edge_lists]

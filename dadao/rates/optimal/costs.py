"""Per-edge costs of the weighted optimal-rate program, read from a CSV file or a link model.

The cost c_e of edge e is the time its link is busy per activation, in seconds: an exchange of
``nbytes`` each way takes latency + nbytes / bandwidth on each direction, so

    c_e = max(E[latency_uv] + nbytes / bandwidth_uv,  E[latency_vu] + nbytes / bandwidth_vu),

and sum_e c_e lambda_e, with rates lambda_e in activations per unit time, is the expected link
busy time (seconds) per unit time that ``optimal_rates(..., costs=c)`` minimises.

A costs file has the header ``u,v,cost`` and one row per edge, either orientation, the cost in
seconds (a finite number > 0). Every edge of the graph must be listed exactly once: a cost has a
unit, so there is no default an unlisted edge could fall back to. Errors are one ConfigError
naming the field (the config key or flag of the file), the file and the line.
"""

from __future__ import annotations

import math

import numpy as np

from dadao.errors import ConfigError, OptimalRatesError
from dadao.timing.csv_files import csv_int, csv_number, csv_rows

HEADER = ("u", "v", "cost")


def load_costs_csv(path, edges, field: str = "rates.costs_path") -> np.ndarray:
    """The (E,) costs, seconds per activation, of the edges (an (E, 2) array in edge_array
    order) from a CSV file ``u,v,cost`` (module docstring); ``field`` names the file's key."""
    e = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    index = {(min(u, v), max(u, v)): k for k, (u, v) in enumerate(e.tolist())}
    costs = np.full(len(e), math.nan)
    for lineno, (u_text, v_text, cost_text) in csv_rows(path, HEADER, "costs file", field):
        u = csv_int(u_text, "u", lineno, path, field)
        v = csv_int(v_text, "v", lineno, path, field)
        k = index.get((min(u, v), max(u, v)))
        if k is None:
            raise ConfigError(f"line {lineno}: ({u}, {v}) is not an edge of the graph",
                              field=field, file=str(path))
        if not math.isnan(costs[k]):
            raise ConfigError(f"line {lineno}: edge ({u}, {v}) is given a cost twice",
                              field=field, file=str(path))
        costs[k] = csv_number(cost_text, "cost", lineno, path, field, zero_ok=False)
    missing = np.flatnonzero(np.isnan(costs))
    if missing.size:
        k = int(missing[0])
        raise ConfigError(f"no cost given for edge ({e[k, 0]}, {e[k, 1]}) ({missing.size} of "
                          f"{len(e)} edges missing); every edge needs one", field=field,
                          file=str(path))
    return costs


def costs_from_links(links, edges, nbytes) -> np.ndarray:
    """The (E,) mean transfer times, seconds, of a message of ``nbytes`` bytes over each edge
    (u, v): the slower of its two directions under ``links`` (a dadao.timing.links.Links).

    An edge whose link costs nothing (no latency, unlimited bandwidth) is an OptimalRatesError
    (field "costs"): the weighted program needs costs > 0."""
    if isinstance(nbytes, bool) or not isinstance(nbytes, (int, float, np.integer, np.floating)) \
            or not math.isfinite(nbytes) or nbytes < 0:
        raise OptimalRatesError(f"message size must be a finite number of bytes >= 0; got "
                                f"{nbytes!r}", field="nbytes")
    e = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    costs = np.array([max(links.mean_transfer_time(u, v, nbytes),
                          links.mean_transfer_time(v, u, nbytes)) for u, v in e.tolist()],
                     dtype=np.float64)
    free = ~(costs > 0)
    if free.any():
        k = int(np.argmax(free))
        raise OptimalRatesError(f"edge ({e[k, 0]}, {e[k, 1]}) costs {float(costs[k])!r} s per "
                                f"activation (no latency and unlimited bandwidth?); the "
                                f"weighted program needs every cost > 0", field="costs")
    return costs

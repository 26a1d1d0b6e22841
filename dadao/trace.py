"""The results format every engine returns: a Trace.

A Trace is a table sampled on a time grid (time in expected gradient steps per node) with the
cumulative numbers of gradient computations and of communications (edge activations) at each
sample, and one column per metric:

    dist_to_opt   = (1/n) sum_i ||x_i - x*||^2
    suboptimality = f(xbar) - f*,  xbar = (1/n) sum_i x_i,  f = sum_i f_i
    consensus     = (1/n) sum_i ||x_i - xbar||^2

plus a metadata dict (status, seed, constants, event counts, timings) and the final iterates.
Whatever engine ran it, the fields are the same (the scipy ``OptimizeResult`` lesson).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

import numpy as np

from dadao.atomic import write_atomic

COLUMNS = ("time", "gradients", "communications", "dist_to_opt", "suboptimality", "consensus")


def metrics(X: np.ndarray, problem) -> tuple[float, float, float]:
    """(dist_to_opt, suboptimality, consensus) of the iterates X (n, d); see module docstring."""
    xbar = X.mean(axis=0)
    dist = float(np.mean(np.sum((X - problem.x_star) ** 2, axis=1)))
    consensus = float(np.mean(np.sum((X - xbar) ** 2, axis=1)))
    subopt = problem.suboptimality(xbar) if np.all(np.isfinite(xbar)) else float("nan")
    return dist, subopt, consensus


def events_of(meta: dict) -> int:
    """What the engine of a run processed, from its record: clock events (gradient and gossip)
    of an asynchronous method, iterations of a synchronous one."""
    run = meta["run"]
    if run.get("iterations") is not None:
        return run["iterations"]
    return run["gradient_events"] + run["gossip_events"]


@dataclass
class Trace:
    """Samples of a run. ``columns[name]`` is a float array per column of ``COLUMNS``."""

    columns: dict
    meta: dict = field(default_factory=dict)
    final_x: np.ndarray | None = None

    def __getitem__(self, name: str) -> np.ndarray:
        return self.columns[name]

    def __len__(self) -> int:
        return len(self.columns["time"])

    @property
    def status(self) -> str:
        """How the run ended: "completed", "diverged" (stopped early) or "interrupted"."""
        return self.meta.get("status", "completed")

    def first_time_below(self, column: str, fraction: float, x: str = "time") -> float:
        """The first sample of ``x`` at which ``column`` <= fraction x its value at time 0.

        Returns inf when never reached. Resolution is the sampling grid.
        """
        values = self.columns[column]
        hit = np.nonzero(values <= fraction * values[0])[0]
        return float(self.columns[x][hit[0]]) if len(hit) else float("inf")

    def write_csv(self, path) -> None:
        """Write the table to ``path`` atomically (temporary file in the same folder, then rename)."""
        buf = io.StringIO(newline="")
        writer = csv.writer(buf)
        names = list(self.columns)
        writer.writerow(names)
        for row in zip(*(self.columns[c] for c in names)):
            writer.writerow([repr(float(v)) for v in row])
        write_atomic(path, buf.getvalue())

    @classmethod
    def read_csv(cls, path) -> "Trace":
        with open(path, newline="") as fh:
            rows = list(csv.reader(fh))
        names, body = rows[0], np.array(rows[1:], dtype=np.float64).reshape(-1, len(rows[0]))
        return cls({name: body[:, j].copy() for j, name in enumerate(names)})


class TraceRecorder:
    """Accumulates samples; engines call ``add`` at every point of the time grid."""

    def __init__(self):
        self._rows = []

    def add(self, time, gradients, communications, dist, subopt, consensus):
        self._rows.append((time, gradients, communications, dist, subopt, consensus))

    def last(self, column: str) -> float:
        return self._rows[-1][COLUMNS.index(column)]

    def first(self, column: str) -> float:
        return self._rows[0][COLUMNS.index(column)]

    def trace(self, meta: dict, final_x=None) -> Trace:
        table = np.array(self._rows, dtype=np.float64).reshape(-1, len(COLUMNS))
        return Trace({c: table[:, j].copy() for j, c in enumerate(COLUMNS)}, meta, final_x)
